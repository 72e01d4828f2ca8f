"""`check`, declared once: the command line's options, the MCP tool's schema and the `sddd serve`
request are made from ``CHECK`` (``sddd.core.operations``). Importable without numpy."""

from __future__ import annotations

from pathlib import Path

from sddd.core.operations import CLI, MCP, SOCKET, Operation, Param, View

CHECK = Operation(
    "check",
    """Check that each target's query still finds its expected document.

A target passes when its expected document (or heading, for path#anchor)
ranks within top_k documents with a score of at least min_score (the 0-1
score `sddd search` shows: the file's share of the most a file can get, 1.0 being
first in every ranking).

Exit 0: every target and gate passed. 1: one failed. 2: usage or config error.
4: no target to check (--allow-empty: 0).

Query embeddings are cached in the index: a second run with the same
documents and targets does not load the model.""",
    (
        # An agent checks the targets of sddd.yaml; the server is sent the file's absolute path.
        Param("targets_file", Path, "Read targets from this YAML file instead of `targets:` in "
              "sddd.yaml.", flags=("--targets",), metavar="FILE", on=frozenset((CLI, SOCKET))),
        Param("tags", list, "Only targets with this tag (repeat for several).", flags=("--tag",),
              metavar="TAG", views={MCP: View("Only targets with any of these tags.")}),
        Param("ids", list, "Only the targets with these ids.", on=frozenset((MCP,))),
        # The command line's --fail-under-* flags, as the request carries them.
        Param("gates", dict, "Summary figures that must be reached: mrr_at_k, hit_at_k (0 to 1).",
              on=frozenset((SOCKET,))),
    ),
    result={"type": "object", "required": ["passed", "summary", "targets"]},
    title="Check discoverability targets",
    agent_help="Run the discoverability targets of sddd.yaml (query -> expected document): per target "
    "its rank, score (0-1), margin over the nearest other document and pass/fail, and the summary "
    "(hit@1, hit@k, MRR@k). Use after editing a guide to see that its questions still find it.",
)
