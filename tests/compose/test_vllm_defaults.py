"""vLLM's defaults per version, and how a resolved service runs a flag it may leave out."""

from __future__ import annotations

from pathlib import Path

from sddd.compose.profiles import load_profile
from sddd.compose.vllm_args import args_dict, parse_vllm_args
from sddd.compose.vllm_defaults import default_for, effective, image_version, parse_version, table
from sddd.core.config import load_config
from tests.helpers import write


def test_every_row_says_where_vllm_defines_it():
    rows = [row for rows in table().values() for row in rows]
    assert len(rows) >= 10 and all(row.source for row in rows)
    assert all("vllm/" in row.source for row in rows)  # a file of vLLM's own source


def test_versions_from_image_tags():
    assert image_version("vllm/vllm-openai:v0.11.0") == (0, 11, 0)
    assert image_version("vllm/vllm-openai:v0.10.1.1") == (0, 10, 1)
    assert image_version("vllm/vllm-openai:0.9.2") == (0, 9, 2)
    assert image_version("vllm/vllm-openai:latest") is None and image_version("vllm/vllm-openai") is None
    assert parse_version("nightly") is None


def test_prefix_caching_is_on_by_default_from_v1():
    assert default_for("--enable-prefix-caching", (0, 11, 0)).value == "true"
    assert default_for("--enable-prefix-caching", (0, 8, 0)).value == "true"
    assert default_for("--enable-prefix-caching", (0, 7, 3), "v0").value == "false"
    assert default_for("--enable-chunked-prefill", (0, 9, 2)).value == "true"
    assert default_for("--enable-chunked-prefill", (0, 7, 3), "v0").value is None  # it depends
    # Unknown version: only what every V1 version agrees on.
    assert default_for("--enable-prefix-caching", None).value == "true"
    assert default_for("--gpu-memory-utilization", None) is None  # 0.9 then 0.92
    assert default_for("--gpu-memory-utilization", (0, 11, 0)).value == "0.9"


def test_flags_are_normalised_as_vllm_reads_them():
    args = args_dict(["--max_num_seqs=16", "-tp", "2", "--Enable-Prefix-Caching", "--kv-cache-dtype", "fp8"])
    assert args == {"--max-num-seqs": "16", "--tensor-parallel-size": "2", "--enable-prefix-caching": None,
                    "--kv-cache-dtype": "fp8"}
    assert [a.written for a in parse_vllm_args("vllm serve m --max_num_seqs 4")] == ["", "--max_num_seqs"]


def test_effective_value_of_a_service(tmp_path: Path):
    write(tmp_path, "sddd.yaml", "profiles: ['profiles/*.yml']\n")
    write(tmp_path, "profiles/base.yml", "volumes: {}\n")
    write(tmp_path, "profiles/medium.yml", """
        services:
          vllm-medium:
            image: vllm/vllm-openai:v0.11.0
            command: [--model=Qwen/Qwen3-32B-AWQ, --no-enable-prefix-caching, --max_num_seqs=16]
        """)
    svc = load_profile(load_config(tmp_path / "sddd.yaml"), "medium").service
    assert effective(svc, "--enable-prefix-caching").how == "off"
    assert effective(svc, "--enable-prefix-caching").value == "false"
    assert (effective(svc, "--max-num-seqs").value, effective(svc, "--max-num-seqs").how) == ("16", "set")
    chunked = effective(svc, "--enable-chunked-prefill")
    assert (chunked.value, chunked.how, chunked.version) == ("true", "default", "0.11.0")
    assert effective(svc, "--max-model-len") is None  # read from the model: nothing to compare
