"""sddd.core.secrets on the shapes a serving team writes: vLLM's --api-key in every way a
Compose command spells it, and prose that must come through untouched."""

from __future__ import annotations

import pytest

from sddd.core.secrets import find_secrets, redact

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
])
def test_references_flags_and_settings_are_not_secrets(text: str):
    assert find_secrets(text) == [] and redact(text) == text
