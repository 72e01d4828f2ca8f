"""Compatibility shim: the MkDocs plugin lives in :mod:`sddd.site.plugin`.

Kept so a ``mkdocs.yml`` or an entry point written for sddd 0.1 (``sddd.site_plugin:SdddPlugin``)
still loads the plugin.
"""

from sddd.site.plugin import SdddPlugin

__all__ = ["SdddPlugin"]
