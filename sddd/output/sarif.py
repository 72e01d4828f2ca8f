"""SARIF 2.1.0, the format GitHub code scanning reads: each finding of drift, audit (compose lint
included) and check becomes a result on its file and line, under a rule named by its kind.

Only findings go out: a target that passes is not an alert. A finding without a file of its own
(an entropy budget, a gate) is placed on the file that configures the command, line 1, since
code scanning shows no result without a location. Paths stay relative to the repository
(``%SRCROOT%``), so alerts keep their fingerprints from one run to the next.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sddd import __version__
from sddd.output.findings import Row
from sddd.output.formats import Format, Results, Shape

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}  # pass and skip are no alerts
ROOT = "%SRCROOT%"


def _location(path: str, line: int | None) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": quote(path), "uriBaseId": ROOT},
                                 "region": {"startLine": line if line and line > 0 else 1}}}


def _split(where: str) -> tuple[str, int | None]:
    """``path:line`` (a second location of a finding) back into its parts."""
    path, _, line = where.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (where, None)


def _result(row: Row, rule: int, home: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": row.kind, "ruleIndex": rule, "level": LEVELS[row.severity],
                              "message": {"text": row.full_message}}
    path = row.path or home
    if path:
        result["locations"] = [_location(path, row.line if row.path else None)]
    if row.other:
        result["relatedLocations"] = [{"id": 1, **_location(*_split(row.other)),
                                       "message": {"text": "the profile it contradicts"}}]
    return result


def document(results: Results) -> dict[str, Any]:
    """The SARIF log: one run of the command's tool, its rules, its findings."""
    rows = [r for r in results.rows() if r.severity in LEVELS]
    rules: dict[str, int] = {}
    for row in rows:
        rules.setdefault(row.kind, len(rules))
    tool = results.shape.tool
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sddd", "version": __version__,
                "rules": [{"id": rule, "shortDescription": {"text": f"{tool}: {rule}"}} for rule in rules],
            }},
            # one category per command: drift, audit and check alerts do not close each other's
            "automationDetails": {"id": f"{tool.replace(' ', '-')}/"},
            "originalUriBaseIds": {ROOT: {"description": {"text": "the repository's root"}}},
            "invocations": [{"executionSuccessful": True}],
            "results": [_result(r, rules[r.kind], results.home) for r in rows],
            "properties": {"summary": results.summary},
        }],
    }


def render(results: Results) -> str:
    return json.dumps(document(results), indent=2, ensure_ascii=False) + "\n"


def fits(shape: Shape) -> bool:
    return shape.located


FORMAT = Format("sarif", "sarif (SARIF 2.1.0, for GitHub code scanning)", fits, render)
