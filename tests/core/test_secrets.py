"""sddd.core.secrets on the shapes a serving team writes: vLLM's --api-key in every way a
Compose command spells it, and prose that must come through untouched."""

from __future__ import annotations

import pytest

from sddd.core.secrets import find_secrets, redact
from tests.helpers import PLANTED_SECRETS, PLANTED_URL_PASSWORD, planted_in, planted_shapes

KEY = "abcdefgh12345678"


@pytest.mark.parametrize("text", [
    f"vllm serve Qwen/Qwen3-8B --api-key {KEY} --port 8000",
    f"--api-key={KEY}",
    f'command: ["--api-key", "{KEY}", "--port", "8000"]',
    f"command:\n  - --api-key\n  - {KEY}\n  - --port\n",
    f"VLLM_API_KEY: {KEY}",
    f'"HF_TOKEN": "{KEY}"',
])
def test_a_key_is_redacted_however_the_command_spells_it(text: str):
    assert KEY not in redact(text) and "***" in redact(text)


@pytest.mark.parametrize("text", [
    "--api-key ${VLLM_API_KEY} --port 8000",
    "--api-key --port 8000",
    "--max-num-batched-tokens 8192 --gpu-memory-utilization 0.9",
    "set the key with --api-key and restart the server",
    "max_tokens: 512",
    "profile mini uses ${VLLM_API_KEY_MINI}; add VLLM_API_KEY_MINI= with a comment",
    "echoes `--url http://u:TOKEN@host` or https://user:password@example.com in the docs",
])
def test_references_flags_and_settings_are_not_secrets(text: str):
    assert find_secrets(text) == [] and redact(text) == text


@pytest.mark.parametrize("token", PLANTED_SECRETS)
@pytest.mark.parametrize("shape", range(len(planted_shapes("x"))))
def test_a_token_touched_by_word_characters_is_redacted_whole(token: str, shape: int):
    """``\\b`` around the patterns let `hf_…_old`, `_hf_…_`, `MYhf_…` and `éhf_…é` through: the
    token stayed in clear in the index, snippets and MCP resources."""
    text = f"Rotate {planted_shapes(token)[shape]} every month"
    assert planted_in(redact(text)) == [], redact(text)
    assert redact(text).startswith("Rotate ") and redact(text).endswith(" every month")


@pytest.mark.parametrize("text", [
    "set disk-utilization-threshold-value and task-manager-for-everything",  # "sk-" inside words
    "a shelf_abcdefghijklmnopqrst and a bookshelf_0123456789abcdefghij",  # "hf_" inside words
    "--gpu-memory-utilization 0.9 --max-num-seqs 256",
])
def test_a_prefix_inside_an_ordinary_word_is_not_a_token(text: str):
    assert find_secrets(text) == [] and redact(text) == text


@pytest.mark.parametrize("url", [
    f"http://u:{PLANTED_URL_PASSWORD}@127.0.0.1:1/v1",
    f"https://{PLANTED_URL_PASSWORD}@example.com/x",
    f"cannot reach 'http://admin:{PLANTED_URL_PASSWORD}@host:8000' (refused)",
])
def test_credentials_in_a_url_are_redacted(url: str):
    assert PLANTED_URL_PASSWORD not in redact(url) and "://***@" in redact(url)
