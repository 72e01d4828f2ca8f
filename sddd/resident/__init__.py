"""The models and the index kept warm in a long-lived process, and `sddd serve`: a local socket
that answers the CLI's searches and checks with them.

``warm.py`` holds one repository's config, models and open index, brought up to date when a file
changed (``watch.py`` says when, with a stat per file and folder); `sddd mcp` serves its tools
from it too. ``server.py`` is `sddd serve`'s loop on a Unix socket in the index folder;
``client.py`` is what `sddd search` and `sddd check` use to ask it, importing nothing heavy, and
falling back to in-process work when no server runs.
"""
