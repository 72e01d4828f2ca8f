"""sddd: Semantic Documentation Driven Design.

The package is a library first: each module under ``sddd/`` does one job and returns
dataclasses; ``sddd.cli`` and ``sddd.commands`` only parse arguments and render results.
"""

__version__ = "0.1.0"
