"""The manual's reference pages are generated from the code at build time: an option, a key, a
rule or a code added in code is in the next build's manual with nothing else edited."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sddd.core.config import load_config
from sddd.manual.commands import commands_page
from sddd.manual.plugin import reference_pages
from sddd.manual.tables import configuration_page, exit_codes_page, mcp_page, rules_page
from tests.helpers import REPO


def row(page: str, first_cell: str) -> str:
    """The table row whose first cell is ``first_cell`` (a failure names it when absent)."""
    found = [line for line in page.splitlines() if line.startswith(f"| {first_cell} |")]
    assert found, f"no row for {first_cell}"
    return found[0]


def test_an_option_added_to_a_command_appears_with_no_other_edit(tmp_path):
    package = shutil.copytree(REPO / "sddd", tmp_path / "sddd",
                              ignore=shutil.ignore_patterns("__pycache__"))
    search = package / "index" / "operation.py"  # the search's one declaration (core/operations.py)
    text = search.read_text(encoding="utf-8")
    anchor = '              views={SOCKET: View(name="path_glob")}),  # the wire\'s name since protocol 1\n'
    assert anchor in text, "the search command changed shape; pick another line to add after"
    search.write_text(text.replace(anchor, anchor + (
        '        Param("fresh", bool, "An option no page mentions.", default=False, '
        'flags=("--brand-new-option",), on=frozenset((CLI,))),\n')), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", "from sddd.manual.plugin import reference_pages; "
                           "print(reference_pages()['reference/commands.md']())"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert row(proc.stdout, "`--brand-new-option`").endswith("| An option no page mentions. |")
    assert "--brand-new-option" not in commands_page()  # the real package does not have it


def test_every_command_and_subcommand_has_its_options():
    page = commands_page()
    for heading in ("`sddd index`", "`sddd search`", "`sddd check`", "`sddd site build`",
                    "`sddd grid run`", "`sddd export kubernetes`", "`sddd mcp`", "`sddd restore`"):
        assert f"## {heading}" in page or f"### {heading}" in page, heading
    assert "| `--fail-under-mrr X` |" in page
    assert row(page, "`-k INT`, `--top INT`").startswith("| `-k INT`, `--top INT` | `5` |")
    assert "`--allow-writes`" in page and "`--target" in page


def test_every_sddd_yaml_key_with_its_type_and_default():
    page = configuration_page()
    assert row(page, "`top_k`") == "| `top_k` | integer ≥ 1 | `5` | default target rank |"
    assert "| integer 0 to 120 | `6` |" in row(page, "`archive.retention_months`")
    assert "| one of `error`, `warning`, `info` | `error` |" in row(page, "`drift.fail_on`")
    assert "`cluster.kubernetes_version`" in page and "`audit.severity.link_outside`" in page


def test_every_rule_with_its_default_severity():
    page = rules_page()
    assert row(page, "`gpu-reservation`").startswith("| `gpu-reservation` | error |")
    assert row(page, "`undocumented`").startswith("| `undocumented` | warning |")
    assert row(page, "`env_unused`").startswith("| `env_unused` | info |")
    # keyed as sddd.yaml's drift.severity spells it (a finding shows it as unknown_flag.not_in_profile)
    assert row(page, "`unknown_flag_not_in_profile`").startswith("| `unknown_flag_not_in_profile` | info |")


def test_exit_codes_come_from_errors_py():
    page = exit_codes_page()
    assert row(page, "3").startswith("| 3 | `EXIT_INDEX` | the index is missing")
    assert "`IndexMissing`" in row(page, "3") and "`NotWritable`" in row(page, "4")
    assert row(page, "130").startswith("| 130 | `EXIT_INTERRUPTED` |")


def test_mcp_tools_and_their_arguments():
    page = mcp_page()
    assert "## `search`" in page and "## `deploy` (with `--allow-writes`)" in page
    assert "`manual`" in row(page, "`kind`")
    assert "sddd://docs/{+path}" in page


def test_the_plugin_generates_every_reference_page():
    assert set(reference_pages()) == {"reference/commands.md", "reference/configuration.md",
                                      "reference/rules.md", "reference/exit-codes.md", "reference/mcp.md"}


def test_mcp_serves_the_manual_as_resources():
    from sddd.mcp.resources import listings, read
    from sddd.resident.warm import Workspace

    workspace = Workspace(load_config(REPO / "sddd.yaml"), lambda message: None)
    try:
        uris = {listing.uri for listing in listings(workspace)}
        assert "sddd://docs/manual/how-to/write-targets.md" in uris
        text, mime = read(workspace, "sddd://docs/manual/how-to/write-targets.md#anatomy-of-a-target")
        assert mime == "text/markdown" and text.startswith("## Anatomy of a target")
    finally:
        workspace.close()


def test_pages_ship_in_the_package():
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"manual/*.md", "manual/**/*.md"' in pyproject
    assert 'sddd-manual = "sddd.manual.plugin:ManualPlugin"' in pyproject
    assert Path(REPO / "sddd" / "manual" / "index.md").is_file()
