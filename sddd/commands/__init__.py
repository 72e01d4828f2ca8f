"""The CLI's commands: one small module per command, each with ``register(app)``.

A command parses its options, calls one core function, renders the result (a table, or
JSON with ``--json``) and exits with the code the result calls for.
"""
