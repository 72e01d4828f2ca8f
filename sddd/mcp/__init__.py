"""The MCP server (`sddd mcp`): search, check, drift, audit, profiles, variants and flags as Model
Context Protocol tools and resources for coding agents, over stdio or streamable HTTP.

``sddd.resident.warm`` (shared with `sddd serve`) keeps the models and the index warm between
calls and brings the index up to date when files changed; ``tools.py`` (read-only) and
``writes.py`` (``--allow-writes``) hold the tools, each a JSON schema and a function over the
same library calls as the CLI; ``resources.py`` serves documents and resolved profiles;
``server.py`` wires them into the SDK's server.
"""
