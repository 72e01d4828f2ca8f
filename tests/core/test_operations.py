"""An operation is declared once (``sddd.core.operations``): the command line's options, the MCP
tool's input schema and the `sddd serve` request of a converted operation are all made from that
declaration, and each edge checks arguments with its one ``validate``.

The surfaces are read from what users and clients meet: the click command the CLI registers, the
tool list the MCP server offers, and the replies of the server's request handler. A changed
declaration shows up in every surface at once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from sddd.check.operation import CHECK
from sddd.commands.common import SdddCommand
from sddd.commands.operation import cli_command
from sddd.core.errors import SdddError, UsageError
from sddd.core.operations import CLI, MCP, SOCKET, Operation
from sddd.deploy.operation import DEPLOY, DOWN
from sddd.index.operation import SEARCH
from sddd.mcp.spec import ToolSpec
from sddd.mcp.tools import READ_TOOLS
from tests.helpers import sddd_here, write

SEARCH_DEFAULTS = {"query": None, "k": 5, "kind": None, "path": None, "mode": "hybrid", "explain": False,
                   "also": None}
SEARCH_FLAGS = {"k": ["-k", "--top"], "kind": ["--kind"], "path": ["--path"], "mode": ["--mode"],
                "explain": ["--explain"], "also": ["--also"]}


def cli_params(name: str, module: str | None = None) -> dict[str, Any]:
    """The parameters of the click command `sddd <name>` is (the CLI's own, as registered)."""
    from sddd.cli import module_commands

    command = module_commands(module or name)[name]
    return {p.name: p for p in command.params if p.name not in ("config", "help")}


def mcp_tool(name: str) -> ToolSpec:
    return next(t for t in READ_TOOLS if t.name == name)


def test_search_on_the_command_line_and_for_an_agent_has_the_declared_parameters_and_defaults():
    cli = cli_params("search")
    assert {n: p.default for n, p in cli.items() if n not in ("fmt", "as_json")} == {
        **SEARCH_DEFAULTS, "also": None}
    assert {n: list(p.opts) for n, p in cli.items() if n not in ("query", "fmt", "as_json")} == SEARCH_FLAGS
    assert cli["query"].required and cli["query"].param_type_name == "argument"
    schema = mcp_tool("search").input_schema()
    assert {n: s.get("default") for n, s in schema["properties"].items()} == SEARCH_DEFAULTS
    assert schema["required"] == ["query"] and schema["properties"]["k"]["maximum"] == 50
    # The help differs where an agent is told more (or less): the command's is the declaration's.
    assert cli["kind"].help == SEARCH.params[2].help
    assert schema["properties"]["kind"]["description"].startswith("Only this kind of document")


def test_check_on_the_command_line_for_an_agent_and_on_the_socket_has_the_declared_parameters(tmp_path):
    cli = cli_params("check")
    assert [n for n in cli if n in ("targets_file", "tags")] == ["targets_file", "tags"]
    assert list(cli["targets_file"].opts) == ["--targets"] and list(cli["tags"].opts) == ["--tag"]
    assert cli["tags"].multiple and "ids" not in cli and "gates" not in cli
    schema = mcp_tool("check").input_schema()
    assert list(schema["properties"]) == ["tags", "ids"] and schema["required"] == []
    assert schema["properties"]["tags"]["description"] == "Only targets with any of these tags."
    assert CHECK.request({"targets_file": "/x.yaml", "tags": ["a"]}) == {
        "targets_file": "/x.yaml", "tags": ["a"], "gates": None}
    checked = CHECK.validate({"targets_file": "/x.yaml", "tags": [], "gates": {"mrr_at_k": 1}}, SOCKET,
                             complete=True)
    assert checked == {"targets_file": Path("/x.yaml"), "tags": [], "gates": {"mrr_at_k": 1}}
    with pytest.raises(UsageError, match="must be a mapping of names to numbers"):
        CHECK.validate({"targets_file": None, "tags": [], "gates": {"hit@1": "high"}}, SOCKET)
    with pytest.raises(UsageError, match="unknown argument 'targets_file' for check; it takes tags, ids"):
        mcp_tool("check").check({"targets_file": "/etc/passwd"})  # an agent checks sddd.yaml's targets


def test_restore_on_the_command_line_and_for_an_agent_has_the_declared_parameters():
    from sddd.mcp.writes import WRITE_TOOLS

    cli = cli_params("restore", "archive")
    assert {n: (p.param_type_name, p.required, p.default) for n, p in cli.items()} == {
        "path": ("argument", True, None), "to": ("option", False, None),
        "dry_run": ("option", False, False), "as_json": ("option", False, False)}
    schema = next(t for t in WRITE_TOOLS if t.name == "restore").input_schema()
    assert {n: s.get("default") for n, s in schema["properties"].items()} == {
        "path": None, "to": None, "dry_run": False}
    assert schema["required"] == ["path"]
    assert [cli[n].help for n in ("path", "to", "dry_run")] == [
        schema["properties"][n]["description"] for n in ("path", "to", "dry_run")]


def test_archive_offers_an_agent_the_declared_parameters_and_the_command_line_its_own_too():
    from sddd.mcp.writes import WRITE_TOOLS

    cli = cli_params("archive")
    schema = next(t for t in WRITE_TOOLS if t.name == "archive").input_schema()
    assert list(schema["properties"]) == ["paths", "reason", "detect", "yes", "category", "date", "dry_run"]
    assert set(schema["properties"]) < set(cli)  # --apply, --list, --due, --format, --json: the CLI's
    assert list(cli["yes"].opts) == ["--yes", "-y"] and cli["paths"].param_type_name == "argument"
    assert schema["properties"]["detect"]["description"] == "Archive the candidates archive_detect lists."
    assert cli["detect"].help == "Propose candidates; moves nothing."


def test_drift_include_reports_is_all_on_the_command_line_and_include_reports_for_an_agent():
    cli = cli_params("drift")
    assert list(cli["include_reports"].opts) == ["--all"] and cli["include_reports"].default is False
    schema = mcp_tool("drift").input_schema()
    assert schema["properties"] == {"include_reports": {
        "type": "boolean", "description": "Also check reports (history, skipped by default).",
        "default": False}}


def test_the_socket_request_is_the_declared_one(tmp_path):
    """The client sends the declaration's wire names; the server takes exactly those."""
    from sddd.core.config import load_config
    from sddd.resident.client import PROTOCOL, identity
    from sddd.resident.server import Resident

    write(tmp_path, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    config = load_config(tmp_path / "sddd.yaml")
    sent = SEARCH.request({"query": "port", "k": 3, "kind": "nonsense", "path": None, "mode": "hybrid"})
    assert sent == {"query": "port", "k": 3, "kind": "nonsense", "path_glob": None, "mode": "hybrid"}
    resident = Resident(config, lambda _line: None)

    def reply(args: dict[str, Any]) -> dict[str, Any]:
        answer = resident.answer({"protocol": PROTOCOL, "op": "search", "args": args, **identity(config)})
        error: dict[str, Any] = answer["error"]
        return error

    assert reply(sent)["message"].startswith("must be one of guide, report, profile, archive, manual, all")
    assert reply(sent)["option"] == "kind"  # the CLI that sent it names its own flag: --kind
    unknown = reply({**sent, "kind": None, "explain": True})  # the caller renders explain itself
    assert unknown["message"] == ("unknown argument 'explain' for search; it takes query, k, kind, "
                                  "path_glob, mode")
    missing = reply({k: v for k, v in sent.items() if k != "k"})
    assert missing["message"].startswith("search needs 'k'")
    assert reply({**sent, "kind": None, "k": 1001})["message"] == "must be from 1 to 1000; got 1001"


def test_a_changed_declaration_changes_every_surface():
    """The surfaces are made, not written: a new default and a new bound reach all three."""
    k = dataclasses.replace(SEARCH.params[1], default=7, minimum=2)
    changed = dataclasses.replace(SEARCH, params=(SEARCH.params[0], k, *SEARCH.params[2:]))
    app = typer.Typer()

    @app.command("search", cls=SdddCommand)
    @cli_command(changed)
    def search_command(ctx: typer.Context, args: dict[str, Any]) -> None:
        typer.echo(repr(sorted(args.items())))

    app.command("other")(lambda: None)  # two commands: typer keeps `search` as a subcommand
    runner = CliRunner()
    shown = runner.invoke(app, ["search", "--help"], env={"COLUMNS": "200"})
    assert "[default: 7]" in shown.output
    ran = runner.invoke(app, ["search", "port"])
    assert "('k', 7)" in ran.output and "('mode', 'hybrid')" in ran.output
    refused = runner.invoke(app, ["search", "port", "-k", "1"])
    assert isinstance(refused.exception, SdddError) and refused.exception.exit_code == 2
    assert str(refused.exception) == "-k must be at least 2; got 1"
    assert ToolSpec(changed, mcp_tool("search").run).input_schema()["properties"]["k"]["default"] == 7
    assert changed.request({"query": "q"})["k"] == 7
    with pytest.raises(UsageError, match="must be from 2 to 1000; got 1"):
        changed.validate({**changed.request({"query": "q"}), "k": 1}, SOCKET, complete=True)


def test_every_edge_gives_the_same_one_line_errors(tmp_path):
    """The command line names its flag (or 'the query'), an agent the argument; same exit code 2."""
    write(tmp_path, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    env = {"SDDD_SERVE": "0"}
    cases = [(["   "], "error: the query is empty; say what you are looking for"),
             (["port", "--kind", "novel"],
              "error: --kind must be one of guide, report, profile, archive, manual, all; got 'novel'"),
             (["port", "--mode", "fuzzy"],
              "error: --mode must be one of hybrid, dense, lexical; got 'fuzzy'"),
             (["port", "-k", "0"], "error: -k must be at least 1; got 0")]
    for args, line in cases:
        proc = sddd_here("search", *args, cwd=tmp_path, env=env)
        assert proc.returncode == 2 and proc.stderr.strip() == line, (args, proc.stderr)
        assert not (tmp_path / ".sddd").exists()  # refused before any index is built
    from sddd.mcp.server import error_text  # the line an agent reads

    tool = mcp_tool("search")
    novel = "kind must be one of guide, report, profile, archive, manual, all; got 'novel'"
    for arguments, text in [({"query": "   "}, "query is empty; say what you are looking for"),
                            ({"query": "port", "kind": "novel"}, novel)]:
        with pytest.raises(UsageError) as caught:
            tool.check(arguments)
        assert error_text(caught.value) == text


@pytest.mark.parametrize("surface", [CLI, MCP, SOCKET])
def test_validation_types_and_fills_defaults_on_every_surface(surface):
    op = Operation("demo", "Demo.", (dataclasses.replace(SEARCH.params[0], blank=None),
                                     *SEARCH.params[1:5]))
    names = {p.name: p.view(surface).name for p in op.params}
    given = {names["query"]: "q", names["k"]: 3.0}
    assert op.validate(given, surface) == {"query": "q", "k": 3, "kind": None, "path": None,
                                           "mode": "hybrid"}
    assert isinstance(op.validate(given, surface)["k"], int)
    assert Path("x") == dataclasses.replace(op.params[3], type=Path).check("x")


def write_tool(name: str) -> ToolSpec:
    from sddd.mcp.writes import WRITE_TOOLS

    return next(t for t in WRITE_TOOLS if t.name == name)


def test_deploy_offers_an_agent_the_declared_parameters_and_the_command_line_its_own_too():
    from sddd.cli import module_commands

    assert module_commands("deploy")["deploy"].help == DEPLOY.help  # the command made from DEPLOY
    cli = cli_params("deploy")
    assert {n: (list(p.opts), p.default) for n, p in cli.items() if n != "profile"} == {
        "env_file": (["--env-file"], None), "dry_run": (["--dry-run"], False),
        "timeout": (["--timeout"], 900.0), "no_wait": (["--no-wait"], False),
        "target": (["--target"], "compose"), "as_json": (["--json"], False),
        "quiet": (["--quiet", "-q"], False)}
    assert cli["profile"].param_type_name == "argument" and not cli["profile"].required
    assert cli["timeout"].type.min == 1  # click refuses --timeout 0.5 while parsing, as it always has
    tool = write_tool("deploy")
    assert tool.operation is DEPLOY and write_tool("down").operation is DOWN
    schema = tool.input_schema()
    assert {n: s.get("default") for n, s in schema["properties"].items()} == {
        "profile": None, "dry_run": False, "timeout": 900.0, "no_wait": False}
    assert schema["properties"]["timeout"]["minimum"] == 1 and schema["required"] == []
    assert cli["timeout"].help == schema["properties"]["timeout"]["description"]
    assert schema["properties"]["no_wait"]["description"] == "Start and return without waiting for healthy."
    assert cli["no_wait"].help == "Start and return without waiting."
    with pytest.raises(UsageError, match=r"must be at least 1; got 0\.5"):
        tool.check({"timeout": 0.5})
    with pytest.raises(UsageError, match="unknown argument 'target' for deploy; it takes profile, "
                                         "dry_run, timeout, no_wait"):
        tool.check({"target": "swarm"})  # an agent deploys on the local engine only
    assert tool.check({"timeout": 60}) == {"profile": None, "dry_run": False, "timeout": 60,
                                           "no_wait": False}


def test_down_on_the_command_line_and_for_an_agent_shares_deploys_profile():
    cli = cli_params("down", "deploy")
    assert {n: (p.param_type_name, p.default) for n, p in cli.items()} == {
        "profile": ("argument", None), "target": ("option", "compose"), "as_json": ("option", False)}
    assert cli["profile"].help == cli_params("deploy")["profile"].help
    schema = write_tool("down").input_schema()
    assert schema["properties"] == {"profile": {
        "type": "string", "description": "Profile name; default: the canonical profile of sddd.yaml."}}
    assert schema["properties"]["profile"] == write_tool("deploy").input_schema()["properties"]["profile"]
