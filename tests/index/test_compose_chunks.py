from __future__ import annotations

import pytest

from sddd.core.errors import InputError
from sddd.index.chunking import Window
from sddd.index.compose_chunks import compose_chunks

COMPOSE = """services:
  vllm-medium:
    image: vllm/vllm-openai:v0.11.0
    environment:
      - HUGGING_FACE_HUB_TOKEN=hf_realLookingToken1234567890
      - VLLM_API_KEY=super-secret-value-42
      - VLLM_ATTENTION_BACKEND=FLASHINFER
    command:
      - "--model=Qwen/Qwen3-32B-AWQ"
      - "--tensor-parallel-size=2"
      - "--gpu-memory-utilization"
      - "0.85"
      - "--enable-chunked-prefill"
      - "--api-key=sk-abcdefghijklmnopqrstuvwx"
    ports:
      - "${VLLM_PORT_MEDIUM:-5002}:8000"
    ipc: host
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ['0', '1']
              capabilities: [gpu]
  sidecar:
    image: busybox:1.36
volumes:
  hf-cache: {}
"""


@pytest.fixture
def window(encoder) -> Window:
    return Window(encoder.count_tokens, encoder.max_tokens)


def test_one_record_per_service_with_its_line(window):
    chunks = compose_chunks(COMPOSE, "profiles/medium.yml", "profile", window)
    first = {c.anchor: c for c in chunks if c.part == 0}
    assert set(first) == {"vllm-medium", "sidecar"}
    assert first["vllm-medium"].line == 2
    assert first["sidecar"].line == 25
    assert first["vllm-medium"].heading == "medium.yml › vllm-medium"
    assert all(c.kind == "profile" for c in chunks)


def test_readable_text_names_model_flags_gpus_ports_env(window):
    text = "\n".join(c.text for c in compose_chunks(COMPOSE, "profiles/medium.yml", "profile", window)
                     if c.anchor == "vllm-medium")
    assert "model: Qwen/Qwen3-32B-AWQ" in text
    assert "--tensor-parallel-size 2" in text
    assert "--gpu-memory-utilization 0.85" in text
    assert "--enable-chunked-prefill" in text
    assert "device_ids 0, 1" in text
    assert "${VLLM_PORT_MEDIUM:-5002}:8000" in text
    assert "HUGGING_FACE_HUB_TOKEN" in text and "VLLM_ATTENTION_BACKEND=FLASHINFER" in text
    # The raw YAML of the service is there too.
    assert "capabilities: [gpu]" in text


def test_secret_values_never_stored(window):
    text = "\n".join(c.text for c in compose_chunks(COMPOSE, "profiles/medium.yml", "profile", window))
    for secret in ("hf_realLookingToken1234567890", "super-secret-value-42", "sk-abcdefghijklmnop"):
        assert secret not in text


def test_file_without_services_is_one_record(window):
    chunks = compose_chunks("volumes:\n  hf-cache: {}\nnetworks:\n  vllm: {}\n", "profiles/base.yml",
                            "profile", window)
    assert len(chunks) == 1 and "hf-cache" in chunks[0].text and chunks[0].anchor is None


def test_malformed_yaml_names_file_and_line(window):
    with pytest.raises(InputError) as caught:
        compose_chunks("services:\n  a:\n    image: [x\n", "profiles/bad.yml", "profile", window)
    assert caught.value.path == "profiles/bad.yml" and caught.value.line == 4
    assert "profiles/bad.yml:4" in str(caught.value)
