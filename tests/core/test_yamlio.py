"""Every YAML document is bounded before a value is built from it (issue 31): its size, its nesting
and the values its aliases expand to, each limit named in the one error line with its setting."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from sddd.core.config import load_config
from sddd.core.errors import EXIT_INPUT, EXIT_USAGE, ConfigError, InputError
from sddd.core.yamlio import DEFAULT_LIMITS, active_limits, parse_yaml, use_limits
from tests.fixtures.hostile_yaml import COMPOSE, alias_bomb, merge_bomb, nested
from tests.helpers import write


@pytest.fixture(autouse=True)
def default_limits():
    use_limits(DEFAULT_LIMITS)
    yield
    use_limits(DEFAULT_LIMITS)


@pytest.mark.parametrize("text, setting", [
    (alias_bomb(levels=5), "limits.yaml_nodes"),  # 10^6 values: before, built and walked whole
    (merge_bomb(levels=17), "limits.yaml_nodes"),  # merge keys: 2^17 copies (took 5 s, 2^20: 44 s)
    (nested(150), "limits.yaml_depth"),
])
def test_a_document_over_a_limit_is_refused_naming_the_setting(text: str, setting: str):
    with pytest.raises(InputError) as caught:
        parse_yaml(COMPOSE + text, "profiles/medium.yml")
    assert caught.value.path == "profiles/medium.yml" and caught.value.line is not None
    assert setting in caught.value.message and caught.value.exit_code == EXIT_INPUT


def test_a_recursive_alias_is_refused_not_walked_forever():
    with pytest.raises(InputError, match="recursive alias") as caught:
        parse_yaml("x-a: &a [1, *a]\n", "g.yml")
    assert caught.value.line == 1


def test_a_document_larger_than_yaml_kb_is_refused():
    use_limits(active_limits().__class__(kb=1, nodes=DEFAULT_LIMITS.nodes, depth=DEFAULT_LIMITS.depth))
    with pytest.raises(InputError, match=r"larger than 1 KB.*limits\.yaml_kb"):
        parse_yaml("a: " + "x" * 2000, "big.yml")


def test_ordinary_anchors_still_work():
    doc = parse_yaml("x-env: &env {A: 1}\nservices:\n  s:\n    environment: *env\n"
                     "  t:\n    environment:\n      <<: *env\n      B: 2\n", "p.yml")
    assert doc.data["services"]["t"]["environment"] == {"A": 1, "B": 2}
    assert doc.line_of("services", "t", "environment", "B") == 8


def test_limits_set_in_sddd_yaml_hold_for_the_files_read_after_it(tmp_path: Path):
    write(tmp_path, "sddd.yaml", "limits:\n  yaml_nodes: 100\n")
    load_config(tmp_path / "sddd.yaml")
    assert active_limits().nodes == 100
    with pytest.raises(InputError, match="more than 100 values"):
        parse_yaml("items: [" + ", ".join(["1"] * 200) + "]\n", "targets.yml")


def test_an_alias_bomb_in_sddd_yaml_is_a_config_error(tmp_path: Path):
    write(tmp_path, "sddd.yaml", alias_bomb() + "docs: ['docs/*.md']\n")
    with pytest.raises(ConfigError, match=r"limits\.yaml_nodes") as caught:
        load_config(tmp_path / "sddd.yaml")
    assert caught.value.exit_code == EXIT_USAGE and caught.value.line


def _capped(memory_mb: int):  # type: ignore[no-untyped-def]
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    return limit


@pytest.mark.parametrize("where", ["profile", "sddd.yaml"])
def test_the_probes_alias_bomb_is_one_line_under_a_memory_cap(tmp_path: Path, where: str):
    """The probe's bomb (1.7 KB, 10^8 values): exit 70 after 55 s under an 8 GB cap as a profile,
    18 GB then killed as sddd.yaml. Now the table's exit code and one line, under 1.5 GB."""
    bomb = alias_bomb()
    write(tmp_path, "sddd.yaml", bomb if where == "sddd.yaml" else "canonical_profile: medium\n")
    write(tmp_path, "profiles/base.yml", COMPOSE)
    write(tmp_path, "profiles/medium.yml", (bomb if where == "profile" else "") + COMPOSE)
    proc = subprocess.run([sys.executable, "-m", "sddd.cli", "deploy", "medium", "--dry-run"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          preexec_fn=_capped(1536))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == (EXIT_USAGE if where == "sddd.yaml" else EXIT_INPUT), proc.stderr
    assert len(lines) == 1 and "limits.yaml_nodes" in lines[0], lines
    assert ("sddd.yaml:" if where == "sddd.yaml" else "profiles/medium.yml:") in lines[0]
