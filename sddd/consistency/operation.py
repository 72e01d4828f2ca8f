"""`drift`, declared once: the command line's options and the MCP tool's schema are made from
``DRIFT`` (``sddd.core.operations``)."""

from __future__ import annotations

from sddd.core.operations import CLI, MCP, Operation, Param, View

DRIFT = Operation(
    "drift",
    """Find guides that contradict the profiles: flags, values, ports, images, GPUs, models.

Every claim of a guide (a table row, a code line, inline code such as
`--gpu-memory-utilization 0.85`, a port, a model id, an image tag) is tied to the
profile it speaks of (front matter `profiles:`, a heading, a table column, or the
nearest profile name) and checked against the resolved profile. Findings:
value_mismatch, unknown_flag, unknown_model, undocumented, stale_reference, each with
the document's file:line and the profile's.

A flag the profile leaves out is compared with vLLM's default for the profile's
image (sddd/data/vllm_defaults.yaml): "prefix caching is disabled" next to a profile
without --no-enable-prefix-caching is a value_mismatch on vLLM 0.8 and later.

Exit 0: nothing at or above drift.fail_on (sddd.yaml, default error). 1: drift found.
2: usage or config error. 4: no guide or no profile to compare (--allow-empty: 0).""",
    (
        Param("include_reports", bool, "Also check reports (kind: report), which are history and skipped "
              "by default.", default=False, flags=("--all",), on=frozenset((CLI, MCP)),
              views={MCP: View("Also check reports (history, skipped by default).")}),
    ),
    result={"type": "object", "required": ["passed", "findings"]},
    title="Find guides that contradict the profiles",
    agent_help="Every claim of a guide (a flag value, a port, a model id, an image tag, GPUs) checked "
    "against the resolved compose profiles; each finding gives the guide's file:line and the profile's.",
)
