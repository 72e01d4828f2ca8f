"""Reference pages read from sddd's own tables at build time: every sddd.yaml key (the schema),
every lint, drift and audit rule with its default severity, the exit codes (``errors.py``) and
the MCP tools and resources (their specs). A key, rule or code added in code is in the next
build's manual with no edit to it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from sddd.core import errors
from sddd.core import options as opt
from sddd.core.schema import SCHEMA
from sddd.manual.commands import cell

NOTE = ("!!! info \"Generated page\"\n    Read from {source} on every `sddd site build`; a {what} "
        "added there appears here with no edit to this page.\n")

# What each drift and audit finding type means: the types and their default severities come from
# the schema's own tables (DRIFT_SEVERITY, AUDIT_SEVERITY); this only adds the sentence a reader needs.
MEANINGS = {
    "value_mismatch": "a guide states a value (flag, port, image, model, GPUs) the resolved profile "
                      "does not have, or a switch against vLLM's default the profile leaves in place",
    "unknown_flag": "a flag vLLM does not have (sddd/data/vllm_flags.txt, `drift.known_flags`)",
    "unknown_flag_not_in_profile": "a real vLLM flag the profile does not set (reported as "
                                   "`unknown_flag.not_in_profile`)",
    "unknown_model": "a model id that does not exist (a size its generation never had, an invented id)",
    "undocumented": "a flag a profile sets that no guide mentions",
    "stale_reference": "a link, inline-code path or front-matter profile that does not exist (an "
                       "archived file is named with its archive path)",
    "budget": "more compose files, scripts or documents than `audit.max_*` allows",
    "naming": "a profile file or service not named as `audit.profile_name` / `audit.service_name` say",
    "variant": "a superseded-looking copy (`-fixed`, `.old`, a dated copy...) outside the archives",
    "env_tracked": "a `.env` file tracked by git",
    "secret": "a token or key written in a tracked file (`audit.secrets_allow` lists exceptions)",
    "env_missing": "a variable a profile uses that the env template does not list",
    "env_unused": "a variable of the env template no profile uses",
    "profile": "a profile that cannot be resolved",
    "link_outside": "a symbolic link that takes a file out of the repository",
}


def _type(option: opt.Option) -> str:
    if isinstance(option, opt.Str):
        return "one of " + ", ".join(f"`{c}`" for c in option.choices) if option.choices else "string"
    if isinstance(option, opt.Number):
        kind = "integer" if option.integer else "number"
        low, high = option.minimum, option.maximum
        bounds = f" {low} to {high}" if high is not None else (f" ≥ {low}" if low is not None else "")
        return kind + bounds
    names = {opt.StrList: "list of strings (or one string)",
             opt.Mapping: "mapping", opt.LabelMap: "mapping: name → {label: value}",
             opt.ListOf: "list"}
    return names.get(type(option), type(option).__name__)


def _default(option: opt.Option) -> str:
    if isinstance(option, opt.Mapping) or option.default in (None, [], {}):
        return "" if isinstance(option, opt.Mapping) else "(unset)" if option.default is None else "`[]`"
    value = option.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def _rows(schema: dict[str, opt.Option], prefix: str = "") -> list[str]:
    rows = []
    for key, option in schema.items():
        path = f"{prefix}{key}"
        rows.append(f"| `{path}` | {_type(option)} | {_default(option)} | {cell(option.help)} |")
        if isinstance(option, opt.Mapping) and option.schema:
            rows += _rows(option.schema, f"{path}.")
    return rows


def configuration_page() -> str:
    return "\n".join([
        "# sddd.yaml keys", "", NOTE.format(source="`sddd/core/schema.py`", what="key"),
        "Every key is optional. A nested key is written under its section "
        "(`drift.fail_on` is `fail_on:` under `drift:`). An unknown key, a value of the wrong type or "
        "a key written twice is an error naming the file, the line and the key (exit 2).", "",
        "| key | type | default | meaning |", "| --- | --- | --- | --- |", *_rows(SCHEMA), ""])


def _severity_rows(table: dict[str, str]) -> list[str]:
    return [f"| `{name}` | {level} | {cell(MEANINGS.get(name, ''))} |" for name, level in table.items()]


def rules_page() -> str:
    from sddd.compose.lint import RULES
    from sddd.core.schema import AUDIT_SEVERITY, DRIFT_SEVERITY

    return "\n".join([
        "# Rules", "", NOTE.format(source="the rule table of `sddd/compose/lint.py` and the severities "
                                          "`sddd.core.schema.DRIFT_SEVERITY` and `AUDIT_SEVERITY`",
                                   what="rule"),
        "## Compose lint", "",
        "Run by `sddd deploy` before anything starts (exit 2), by `sddd audit` over every profile, "
        "and by `sddd grid` on each variant.", "",
        "| rule | default severity | checks |", "| --- | --- | --- |",
        *[f"| `{rule.id}` | {rule.severity} | {cell(rule.summary)} |" for rule in RULES], "",
        "## Drift findings", "",
        "`sddd drift`; set a level per type with `drift.severity` in sddd.yaml, and the level that "
        "fails with `drift.fail_on`.", "",
        "| finding | default severity | means |", "| --- | --- | --- |",
        *_severity_rows(DRIFT_SEVERITY), "",
        "## Audit findings", "",
        "`sddd audit`; `audit.severity` and `audit.fail_on` as for drift. Lint findings appear as "
        "`lint:RULE` with the lint rule's own severity.", "",
        "| finding | default severity | means |", "| --- | --- | --- |",
        *_severity_rows(AUDIT_SEVERITY), ""])


def _exit_comments() -> dict[str, str]:
    """Each EXIT_* constant's comment in errors.py: the table's own words."""
    source = inspect.getsource(errors)
    return {m.group(1): m.group(3).strip()
            for m in re.finditer(r"^(EXIT_\w+) = (\d+)\s*#\s*(.*)$", source, re.MULTILINE)}


def _carriers(code: int) -> list[str]:
    found, todo = [], [errors.SdddError]
    while todo:
        cls = todo.pop(0)
        if cls is not errors.SdddError and cls.exit_code == code:
            found.append(cls.__name__)
        todo += cls.__subclasses__()
    return sorted(set(found))


def exit_codes_page() -> str:
    comments = _exit_comments()
    rows = []
    for name, value in vars(errors).items():
        if name.startswith("EXIT_") and isinstance(value, int):
            carriers = ", ".join(f"`{c}`" for c in _carriers(value)) or ""
            rows.append(f"| {value} | `{name}` | {cell(comments.get(name, ''))} | {carriers} |")
    return "\n".join([
        "# Exit codes", "", NOTE.format(source="`sddd/core/errors.py` (the one exit-code table)",
                                        what="code"),
        "Every command exits with one of these. An error is one line on stderr naming the file "
        "(and line, where known) and what to do, never a traceback (`SDDD_DEBUG=1` shows one for "
        "a bug). A command that finds problems (a target missed, drift) exits 1.", "",
        "| code | constant | meaning | raised as |", "| --- | --- | --- | --- |", *rows, ""])


def _param_rows(params: tuple[Any, ...]) -> list[str]:
    rows = []
    for param in params:
        schema = param.schema
        kind = schema["type"] + (" of strings" if schema["type"] == "array" else "")
        if "enum" in schema:
            kind += ": " + ", ".join(f"`{v}`" for v in schema["enum"])
        default = f"`{schema['default']}`" if "default" in schema else ""
        required = "yes" if param.required else ""
        rows.append(f"| `{param.name}` | {kind} | {required} | {default} | {cell(schema['description'])} |")
    return rows


def mcp_page() -> str:
    from sddd.mcp.resources import DOC_TEMPLATE, PROFILE_TEMPLATE
    from sddd.mcp.tools import READ_TOOLS
    from sddd.mcp.writes import WRITE_TOOLS

    lines = ["# MCP tools and resources", "",
             NOTE.format(source="the tool specs of `sddd/mcp/tools.py` and `sddd/mcp/writes.py`",
                         what="tool or parameter"),
             "`sddd mcp` serves these over stdio (or `--http`). Write tools exist only with "
             "`--allow-writes`.", ""]
    for spec in (*READ_TOOLS, *WRITE_TOOLS):
        writes = " (with `--allow-writes`)" if spec.writes else ""
        lines += [f"## `{spec.name}`{writes}", "", f"**{spec.title}.** {spec.description}", ""]
        if spec.params:
            lines += ["| argument | type | required | default | meaning |",
                      "| --- | --- | --- | --- | --- |", *_param_rows(spec.params), ""]
        else:
            lines += ["No argument.", ""]
    lines += ["## Resources", "",
              f"- `{DOC_TEMPLATE}`: every indexed document (with `manual: true`, this manual's pages "
              "as `sddd://docs/manual/...`), and `#anchor` for one section;",
              f"- `{PROFILE_TEMPLATE}`: every profile, resolved (the `profile` tool's JSON).", ""]
    return "\n".join(lines)
