"""The findings table keeps every location whole at any width; the plain line is one whole line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from sddd.output.findings import Row, plain_line, plain_lines, table

ROWS = [
    Row("error", "value_mismatch", "docs/guides/architecture-and-deployment.md", 129,
        "--gpu-memory-utilization is 0.95 here but medium has 0.85; update the document",
        "profiles/medium.yml:11", "profile by heading"),
    Row("warning", "stale_reference", "docs/RESTORATION_PLAN_V2.md", 37,
        "docker-compose-medium-qwen3-fixed.yml was archived to "
        "archives/docker_configs_20251016/docker-compose-medium-qwen3-fixed.yml; point to the profile"),
    Row("warning", "undocumented", "profiles/medium.yml", 14, "--enable-auto-tool-choice is set in "
        "profile medium but no guide explains it"),
]


def rendered(width: int, rows: list[Row] = ROWS) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(table(rows, kind="type", where="document", other="profile", width=width))
    return console.export_text()


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160, 220])
def test_no_location_is_cut_at_any_width(width: int):
    text = rendered(width)
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    assert "…" not in text
    for row in ROWS:
        assert any(row.where in line for line in lines), (width, row.where)
        if row.other:
            assert any(row.other in line for line in lines), (width, row.other)
    # Every word of every message is there, none broken across lines (unless longer than a line).
    words = text.split()
    for row in ROWS:
        for word in row.message.split():
            assert word in words or len(word) > width - 4, (width, word)


def test_wide_terminals_get_columns_narrow_ones_blocks():
    wide = rendered(220).splitlines()
    assert wide[0].split()[:5] == ["severity", "type", "document", "profile", "finding"]
    narrow = rendered(80).splitlines()
    assert narrow[0].rstrip() == "error value_mismatch docs/guides/architecture-and-deployment.md:129"
    assert narrow[1].strip() == "profiles/medium.yml:11"  # too long for one line: wrapped, not cut
    assert narrow[2].startswith("    --gpu-memory-utilization is 0.95")


def test_plain_line_is_the_linters_form_whole():
    assert plain_line(ROWS[0]) == (
        "docs/guides/architecture-and-deployment.md:129: error: value_mismatch: --gpu-memory-utilization "
        "is 0.95 here but medium has 0.85; update the document (profiles/medium.yml:11; profile by heading)")
    no_line = Row("error", "env_tracked", ".env", None, "a\nb")
    assert plain_line(no_line) == ".env: error: env_tracked: a b"
    assert plain_lines(ROWS[2:], "sddd drift FAILED")[-1] == "sddd drift FAILED"
