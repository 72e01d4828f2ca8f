from __future__ import annotations

from pathlib import Path

import pytest

from sddd.core.config import find_config, find_git_root, load_config
from sddd.core.errors import ConfigError
from tests.helpers import sddd_here


def test_found_by_walking_up(tmp_path: Path):
    (tmp_path / "sddd.yaml").write_text("model: all-MiniLM-L6-v2\ntop_k: 3\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == tmp_path / "sddd.yaml"
    config = load_config(start=deep)
    assert config.root == tmp_path.resolve() and config.top_k == 3
    assert config.docs == ["docs/**/*.md"] and config.index_dir == tmp_path.resolve() / ".sddd"


def test_unknown_key_names_key_file_and_line(tmp_path: Path):
    path = tmp_path / "sddd.yaml"
    path.write_text("docs: ['docs/**/*.md']\nmodle: x\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "'modle'" in message and f"{path}:2" in message and "known keys" in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("top_k: many\n", "top_k: expected a number"),
        ("top_k: 0\n", "top_k: must be at least 1"),
        ("docs: 3\n", "docs: expected a list of strings"),
        ("min_score: 2\n", "min_score: must be at most 1"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "sddd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_malformed_yaml_gives_line(tmp_path: Path):
    path = tmp_path / "sddd.yaml"
    path.write_text("docs:\n  - a\n  b: [\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line is not None and str(path) in str(caught.value)


def test_explicit_path_that_does_not_exist(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_models_and_the_one_default_threshold(tmp_path):
    """Scores are shares of the best fused rank whatever the models: one default threshold for all."""
    (tmp_path / "sddd.yaml").write_text("docs: [docs]\n")
    config = load_config(tmp_path / "sddd.yaml")
    assert config.model == ["all-MiniLM-L6-v2", "use-multilingual-v3"] and config.min_score == 0.5
    (tmp_path / "sddd.yaml").write_text("model: use-multilingual-v3\n")
    config = load_config(tmp_path / "sddd.yaml")
    assert config.model == ["use-multilingual-v3"] and config.min_score == 0.5
    # A value in the file always wins; a threshold is a probability, 0 to 1.
    (tmp_path / "sddd.yaml").write_text("model: use-multilingual-v3\nmin_score: 0.6\n")
    assert load_config(tmp_path / "sddd.yaml").min_score == 0.6
    (tmp_path / "sddd.yaml").write_text("min_score: -0.2\n")
    with pytest.raises(ConfigError, match="min_score"):
        load_config(tmp_path / "sddd.yaml")


def test_a_key_written_twice_is_an_error_naming_both_lines(tmp_path: Path):
    """PyYAML keeps the last of two `targets:` silently: 41 targets became 1 and check passed."""
    path = tmp_path / "sddd.yaml"
    path.write_text("docs: ['docs/**/*.md']\ntargets:\n  - query: a\n    expect: docs/a.md\n"
                    "top_k: 3\ntargets: []\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_code == 2 and caught.value.line == 6
    assert "duplicate key 'targets', already at line 2" in str(caught.value)
    # Nested mappings too, and a targets file is held to the same rule (through the CLI).
    path.write_text("archive:\n  category: old\n  category: new\n")
    with pytest.raises(ConfigError, match=r"sddd.yaml:3: duplicate key 'category', already at line 2"):
        load_config(path)
    path.write_text("docs: ['docs/**/*.md']\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nport 5002\n")
    (tmp_path / "targets.yaml").write_text("- query: port\n  expect: docs/a.md\n  query: other\n")
    proc = sddd_here("check", "--targets", "targets.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "targets.yaml:3: duplicate key 'query', already at line 1" in proc.stderr


@pytest.mark.parametrize(("text", "line", "expected"), [
    ("docs: ['a/*.md']\narchive:\n  category: x\n  retention_months: many\n", 4, "archive: retention_months"),
    ("audit:\n  fail_on: error\n  max_docs:\n    guide: 3\n    reprot: 2\n", 5, "unknown key 'reprot'"),
    ("drift:\n  severity:\n    value_mismatch: fatal\n", 3, "drift: severity: value_mismatch"),
    ("docs:\n  - docs/*.md\n  - 3\n", 3, "item 2 is an integer"),
    ("audit: {max_scripts: 3,\n  max_docs: {total: -1}}\n", 2, "audit: max_docs: total: must be at least"),
])
def test_nested_errors_point_at_the_offending_key(tmp_path: Path, text: str, line: int, expected: str):
    path = tmp_path / "sddd.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == line and expected in str(caught.value), str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_without_sddd_yaml_the_git_top_is_the_root_and_it_says_so(tmp_path: Path):
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    deep = tmp_path / "repo" / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(start=deep)
    assert config.path is None and config.root == (tmp_path / "repo").resolve()
    assert config.discovery and "no sddd.yaml" in config.discovery and "git work tree" in config.discovery
    assert str(tmp_path / "repo") in config.discovery
    # Outside git: the folder itself, and the sentence says that too.
    if find_git_root(tmp_path.resolve()) is None:
        config = load_config(start=tmp_path)
        assert config.root == tmp_path.resolve() and "not in a git work tree" in (config.discovery or "")
    # With a sddd.yaml nothing is said.
    (tmp_path / "repo" / "sddd.yaml").write_text("top_k: 3\n")
    assert load_config(start=deep).discovery is None


@pytest.mark.parametrize(("key", "value", "says"), [
    ("archives", ".git", "inside .git/"),  # files were moved into git's own folder
    ("archives", ".git/objects/x", "inside .git/"),
    ("index", "/", "outside the repository"),  # a /lock file was written at the root
    ("index", "../elsewhere", "outside the repository"),
    ("index", ".", "the repository itself"),
    ("archives", "link/archives", "outside the repository"),  # through a symbolic link
])
def test_archives_and_index_must_be_inside_the_repository_and_outside_git(
        tmp_path: Path, key: str, value: str, says: str):
    (tmp_path / ".git").mkdir()
    (tmp_path / "link").symlink_to(tmp_path.parent)
    (tmp_path / "sddd.yaml").write_text(f"docs: ['docs/*.md']\n{key}: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "sddd.yaml")
    assert caught.value.line == 2 and caught.value.exit_code == 2
    assert caught.value.message.startswith(f"{key}: ") and says in caught.value.message


def test_nested_archives_and_index_folders_are_fine(tmp_path: Path):
    (tmp_path / "sddd.yaml").write_text("archives: ops/archives\nindex: build/.sddd\n")
    config = load_config(tmp_path / "sddd.yaml")
    assert config.index_dir == tmp_path / "build/.sddd"


def test_nested_groups_left_out_keep_their_defaults_and_severities_are_among_them(tmp_path: Path):
    (tmp_path / "sddd.yaml").write_text("drift:\n  severity: {undocumented: error}\n")
    config = load_config(tmp_path / "sddd.yaml")
    drift = config.section("drift")["severity"]
    assert (drift["undocumented"], drift["stale_reference"], drift["unknown_flag_not_in_profile"]) == (
        "error", "warning", "info")  # one set, the others the schema's defaults
    audit = config.section("audit")  # no audit section at all: its nested groups are still filled
    assert (audit["severity"]["env_unused"], audit["severity"]["secret"]) == ("info", "error")
    assert audit["max_docs"] == {"guide": None, "report": None, "total": None}
