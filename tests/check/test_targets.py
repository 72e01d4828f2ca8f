"""sddd.targets: loading and validating targets, with file and line in every error."""

from __future__ import annotations

import pytest

from sddd.check.targets import Expected, load_targets, resolve_expected, select
from sddd.core.errors import ConfigError, UsageError
from tests.helpers import write

DOC = "# Ports\n\n## Which port\n\nport 5002\n\n## Firewall rules\n\nufw\n"
COMPOSE = "services:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.11.0\n"


def config_with(make_repo, targets_yaml: str, files: dict[str, str] | None = None):
    text = ("docs: ['docs/**/*.md']\nprofiles: ['profiles/*.yml']\nmin_score: 0.4\ntop_k: 4\n"
            + targets_yaml)
    return make_repo({"docs/ports.md": DOC, "profiles/medium.yml": COMPOSE, **(files or {})}, text)


def test_targets_from_sddd_yaml_with_defaults(make_repo):
    config = config_with(make_repo, """\
targets:
  - query: which port does medium use
    expect: docs/ports.md
  - id: fw
    query: firewall
    expect: [docs/ports.md#firewall-rules, profiles/medium.yml]
    min_score: 0.6
    top_k: 1
    tags: [net, fr]
""")
    first, second = load_targets(config)
    assert first.id == "which-port-does-medium-use" and first.expect == [Expected("docs/ports.md")]
    assert (first.min_score, first.top_k, first.tags) == (0.4, 4, [])
    assert first.source == "sddd.yaml" and first.line == 6
    assert second.id == "fw" and (second.min_score, second.top_k) == (0.6, 1)
    assert [str(e) for e in second.expect] == ["docs/ports.md#firewall-rules", "profiles/medium.yml"]
    assert second.tags == ["net", "fr"] and second.line == 8
    assert [x.id for x in select([first, second], ["fr"])] == ["fw"]
    with pytest.raises(UsageError, match="no target has tag nope; known tags: fr, net"):
        select([first, second], ["nope"])


def test_targets_file_list_or_mapping(make_repo, tmp_path):
    config = config_with(make_repo, "")
    write(tmp_path, "list.yaml", "- query: a\n  expect: docs/ports.md\n")
    write(tmp_path, "map.yaml", "targets:\n  - query: b\n    expect: docs/ports.md\n")
    assert [x.query for x in load_targets(config, tmp_path / "list.yaml")] == ["a"]
    (b,) = load_targets(config, tmp_path / "map.yaml")
    assert b.query == "b" and b.source.endswith("map.yaml") and b.line == 2


@pytest.mark.parametrize(("entry", "line", "message"), [
    ("  - expect: docs/ports.md\n", 2, "target 1: query is required"),
    ("  - query: q\n", 2, "target 1: expect is required"),
    ("  - query: q\n    expect: docs/ports.md\n    min_score: 2\n", 4, "min_score must be a number between"),
    # the range of sddd.yaml's min_score (0 to 1): a score is a probability, never negative
    ("  - query: q\n    expect: docs/ports.md\n    min_score: -0.5\n", 4,
     "min_score must be a number between 0.0 and 1.0; got -0.5"),
    ("  - query: q\n    expect: docs/ports.md\n    top_k: 0\n", 4, "top_k must be an integer at least 1"),
    ("  - query: q\n    expect: docs/ports.md\n    top_k: 2.5\n", 4, "top_k must be an integer"),
    ("  - query: q\n    expect: [docs/ports.md, 3]\n", 3, "expect must be a path"),
    ("  - query: q\n    expect: docs/ports.md#\n", 3, "is not a path or path#anchor"),
    ("  - query: q\n    expect: docs/ports.md\n    weight: 2\n", 4, "unknown key 'weight'"),
    ("  - query: q\n    expect: docs/ports.md\n    tags: {a: 1}\n", 4, "tags must be a list"),
    ("  - query: q\n    expect: docs/ports.md\n    id: x\n  - query: r\n    expect: docs/ports.md\n"
     "    id: x\n", 7, "id 'x' is already used by target 1"),
    ("  - just a string\n", 2, "target 1 must be a mapping"),
])
def test_invalid_entries_name_file_and_line(make_repo, tmp_path, entry, line, message):
    config = config_with(make_repo, "")
    write(tmp_path, "t.yaml", "targets:\n" + entry)
    with pytest.raises(ConfigError) as caught:
        load_targets(config, tmp_path / "t.yaml")
    assert message in caught.value.message
    assert caught.value.path.endswith("t.yaml") and caught.value.line == line


def test_invalid_entry_in_sddd_yaml_names_its_line(make_repo):
    config = config_with(make_repo, "targets:\n  - query: q\n    expect: docs/ports.md\n  - query: 3\n"
                                    "    expect: docs/ports.md\n")
    with pytest.raises(ConfigError) as caught:
        load_targets(config)
    assert caught.value.path == "sddd.yaml" and caught.value.line == 8
    assert "target 2: query is required" in str(caught.value)


def test_malformed_targets_file_names_file_and_line(make_repo, tmp_path):
    config = config_with(make_repo, "")
    write(tmp_path, "bad.yaml", "targets:\n  - query: ok\n    expect: [docs/ports.md\n  - query: x\n")
    with pytest.raises(ConfigError) as caught:
        load_targets(config, tmp_path / "bad.yaml")
    assert "malformed YAML" in caught.value.message
    assert caught.value.path.endswith("bad.yaml") and caught.value.line == 4
    with pytest.raises(UsageError, match="targets file not found"):
        load_targets(config, tmp_path / "missing.yaml")
    write(tmp_path, "extra.yaml", "targets: []\nthresholds: 1\n")
    with pytest.raises(ConfigError, match="unknown key 'thresholds'"):
        load_targets(config, tmp_path / "extra.yaml")


def test_resolve_checks_paths_and_anchors(make_repo):
    config = config_with(make_repo, """\
targets:
  - query: a
    expect: [docs/ports.md#firewall-rules, profiles/medium.yml#vllm-medium]
""", {"notes/outside.md": "# Outside\n\ntext\n"})
    indexed = {"docs/ports.md": None, "profiles/medium.yml": None}
    (resolved,) = resolve_expected(config, load_targets(config), indexed)
    assert [(e.anchor, e.line) for e in resolved.expect] == [("firewall-rules", 7), ("vllm-medium", 2)]

    def fails(expect: str, files=indexed) -> str:
        targets = load_targets(config)
        targets[0].expect = [Expected(*expect.split("#", 1)) if "#" in expect else Expected(expect)]
        with pytest.raises(UsageError) as caught:
            resolve_expected(config, targets, files)
        return str(caught.value)

    message = fails("docs/nope.md")
    assert "sddd.yaml:6: target 'a' expects docs/nope.md, which does not exist" in message
    assert "does not cover" in fails("notes/outside.md")
    message = fails("docs/ports.md#firewall")
    assert "has no heading #firewall" in message and "which-port, firewall-rules" in message
    assert "no heading #vllm-mini" in fails("profiles/medium.yml#vllm-mini")
    assert "could not be indexed (binary file" in fails(
        "docs/ports.md", {"docs/ports.md": "0\tbinary file, not text; skipped"})
