"""The bundled MiniLM's ONNX graph, built from its safetensors without torch, embeds as
sentence-transformers does: the reference runs where the torch extra is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from sddd.core.models import DEFAULT_MODEL
from tests.helpers import require

TEXTS = ["How is chunked prefill configured on the medium service?",  # English
         "Pourquoi la mémoire GPU est-elle réglée à 0,85 ? Ça marche : l'élève a réussi.",  # French
         "services:\n  vllm-medium:\n    command: --gpu-memory-utilization 0.85 --max-num-seqs 32",
         "def chunk(text: str) -> list[str]:\n    return [t for t in text.split('\\n\\n') if t]",
         "Qwen3-32B-AWQ 🚀🔥 déploiement ✅ 日本語のテキスト",  # emoji and other scripts
         " ".join(["the medium host keeps its KV cache on two cards"] * 40),  # truncated at 256 tokens
         "", "   ", "x"]


def test_graph_built_without_torch_embeds_as_sentence_transformers(tmp_path, monkeypatch):
    require(importlib.util.find_spec("sentence_transformers") is not None,
            "sentence-transformers is not installed (the torch extra): no reference to compare with")
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from sddd.index.encoders.models import bundled_model_dir, load_encoder

    monkeypatch.setenv("SDDD_CACHE_DIR", str(tmp_path))  # a graph built by this test, not a cached one
    encoder = load_encoder(DEFAULT_MODEL, engine="onnx")
    assert list(tmp_path.glob("onnx/*/model.onnx")), "the graph was not built in the cache"
    ours = encoder.encode(TEXTS)
    ours /= np.maximum(np.linalg.norm(ours, axis=1, keepdims=True), 1e-12)
    folder = bundled_model_dir()
    assert folder is not None
    reference = SentenceTransformer(str(folder), device="cpu").encode(TEXTS, normalize_embeddings=True)
    cosines = np.sum(ours * reference, axis=1)
    assert np.all(cosines >= 0.9999), dict(zip(TEXTS, cosines.round(6).tolist(), strict=True))


def test_building_the_graph_imports_no_torch(tmp_path):
    code = ("import sys\nfrom sddd.core.models import DEFAULT_MODEL\n"
            "from sddd.index.encoders.models import load_encoder\n"
            "load_encoder(DEFAULT_MODEL, engine='onnx').encode(['chunked prefill'])\n"
            "heavy = ('torch', 'transformers', 'sentence_transformers')\n"
            "print(','.join(m for m in heavy if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={"SDDD_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.glob("onnx/*/model.onnx")), "the graph was not built in a fresh cache"
    assert proc.stdout.strip() == "", f"building and running the graph imported {proc.stdout.strip()}"
