"""sddd's own manual: its pages (the Markdown files of this folder, shipped in the package) and
the MkDocs plugin ``sddd-manual`` that puts them in the site under ``manual/``, with reference pages
generated from the code at build time: every command and option (from the typer app), every
sddd.yaml key (from the schema), every rule with its default severity, the exit codes and the
MCP tools. Like ``sddd/cli.py``, it sits above every layer: it describes the command line.
"""
