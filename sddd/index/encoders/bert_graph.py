"""A BERT encoder as an ONNX graph, built from safetensors weights without torch.

``build_bert_onnx`` reads ``config.json`` and ``model.safetensors`` of a Hugging Face BERT
folder and writes the graph that ``torch.onnx.export`` of ``BertModel`` would give for
``last_hidden_state``: inputs ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64,
[batch, sequence]) and output ``last_hidden_state`` (float32, [batch, sequence, hidden]).
Pooling and normalisation stay outside the graph, in the caller.

It needs numpy and onnx only: the safetensors file is parsed by hand (an 8-byte
little-endian header length, a JSON header, then the raw tensors), so the ``safetensors``
package is not needed either.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # the first opset with LayerNormalization; Gelu only comes in opset 20
IR_VERSION = 8  # the IR of opset 17; onnx's default (the newest) is too new for older onnxruntime
WEIGHTS_FILE = "model.weights"  # one external-data file beside the graph, memory-mapped by onnxruntime
INLINE_LIMIT = 1024  # smaller tensors (scalars, shapes) stay inside the graph, as onnx's own default
Config = dict[str, Any]  # the parsed config.json
# safetensors dtype names -> little-endian numpy dtypes (BF16 is widened by hand below).
_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8", "I64": "<i8"}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file, as read-only views of a memory map.

    A leading ``bert.`` (checkpoints of ``BertFor...`` heads) is stripped from the names.
    """
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (length,) = struct.unpack("<Q", raw[:8].tobytes())
    header = json.loads(raw[8 : 8 + length].tobytes())
    header.pop("__metadata__", None)
    base = 8 + length
    tensors: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if meta["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        start, end = meta["data_offsets"]
        data = raw[base + start : base + end].view(_DTYPES[meta["dtype"]])
        if meta["dtype"] == "BF16":  # bfloat16 is the top half of a float32
            data = (data.astype(np.uint32) << 16).view(np.float32)
        tensors[name.removeprefix("bert.")] = data.reshape(meta["shape"])
    return tensors


class _Graph:
    """Collects nodes and initialisers; every op returns the name of its (single) output.

    Initialisers of INLINE_LIMIT bytes or more are written straight to ``weights_file`` and
    referenced as external data, so no copy of the weights is ever held in protobuf messages.
    """

    def __init__(self, weights: dict[str, np.ndarray], weights_file: BinaryIO):
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self._file = weights_file
        self._names: set[str] = set()

    def const(self, name: str, value: np.ndarray | float | list[int]) -> str:
        """An initialiser (float scalars become float32, int lists int64), added once."""
        if name in self._names:
            return name
        if isinstance(value, float):
            array = np.array(value, dtype=np.float32)
        elif isinstance(value, list):
            array = np.array(value, dtype=np.int64)
        else:
            array = np.ascontiguousarray(value)
        if array.nbytes < INLINE_LIMIT:
            tensor = numpy_helper.from_array(array, name)
        else:
            tensor = TensorProto(name=name, dims=array.shape,
                                 data_type=helper.np_dtype_to_tensor_dtype(array.dtype))
            tensor.data_location = TensorProto.EXTERNAL
            offset = self._file.tell()
            self._file.write(array.data)  # the array's own buffer: no intermediate bytes copy
            for key, entry in (("location", WEIGHTS_FILE), ("offset", offset), ("length", array.nbytes)):
                tensor.external_data.add(key=key, value=str(entry))
        self.initializers.append(tensor)
        self._names.add(name)
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        """The checkpoint tensor ``key`` as a float32 initialiser (named after it)."""
        array = np.asarray(self.weights[key], dtype="<f4")  # a view of the map when already float32
        return self.const(key, array.T if transpose else array)

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        out = f"{op_type}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T + b, with W stored pre-transposed ([in, out]) so no Transpose runs."""
        product = self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True))
        return self.op("Add", product, self.weight(f"{prefix}.bias"))

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        scale, bias = self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=eps)


WORDS_INPUT = "word_embeddings"  # the graph input that replaces the word table (words_input=True)


def _embeddings(g: _Graph, eps: float, words_input: bool) -> str:
    """Word + position + token-type embeddings, then LayerNorm: [batch, sequence, hidden].

    With ``words_input`` the caller looks the words up itself and feeds their rows as the input
    WORDS_INPUT: multilingual-e5-small's table (250,037 x 384) is 384 MB in float32, while its
    4-bit rows, dequantised where a text points, cost a few kB per text (e5_encoder.py).
    """
    if words_input:
        words = WORDS_INPUT
    else:
        words = g.op("Gather", g.weight("embeddings.word_embeddings.weight"), "input_ids")
    types = g.op("Gather", g.weight("embeddings.token_type_embeddings.weight"), "token_type_ids")
    # Positions are 0..sequence-1 for every row: the first `sequence` rows of the table,
    # broadcast over the batch (no position_ids input, as in the torch export).
    length = g.op("Slice", g.op("Shape", "input_ids"), g.const("one_i", [1]), g.const("two_i", [2]))
    table = g.weight("embeddings.position_embeddings.weight")
    positions = g.op("Slice", table, g.const("zero_i", [0]), length, g.const("zero_i", [0]))
    total = g.op("Add", g.op("Add", words, types), positions)
    return g.layer_norm(total, "embeddings.LayerNorm", eps)


def _mask_bias(g: _Graph) -> str:
    """BERT's additive mask: 0 where attention_mask is 1, float32's lowest where it is 0.

    Shaped [batch, 1, 1, sequence] to broadcast over heads and query positions; it is
    computed once and shared by all layers.
    """
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    inverted = g.op("Sub", g.const("one_f", 1.0), mask)
    bias = g.op("Mul", inverted, g.const("mask_min", float(np.finfo(np.float32).min)))
    return g.op("Unsqueeze", bias, g.const("axes_1_2", [1, 2]))


def _attention(g: _Graph, x: str, bias: str, prefix: str, heads: int, hidden: int) -> str:
    """Multi-head self-attention of one layer, before its output projection."""
    size = hidden // heads
    split = g.const("split_heads", [0, 0, heads, size])  # 0 keeps batch and sequence as they are

    def project(name: str, perm: list[int]) -> str:
        return g.op("Transpose", g.op("Reshape", g.linear(x, f"{prefix}.{name}"), split), perm=perm)

    query = project("query", [0, 2, 1, 3])  # [batch, heads, sequence, size]
    key = project("key", [0, 2, 3, 1])  # [batch, heads, size, sequence]: already transposed
    value = project("value", [0, 2, 1, 3])
    scores = g.op("Mul", g.op("MatMul", query, key), g.const("scale", 1.0 / math.sqrt(size)))
    probs = g.op("Softmax", g.op("Add", scores, bias), axis=-1)
    context = g.op("Transpose", g.op("MatMul", probs, value), perm=[0, 2, 1, 3])
    return g.op("Reshape", context, g.const("merge_heads", [0, 0, hidden]))


def _gelu(g: _Graph, x: str) -> str:
    """GELU in BERT's exact erf form: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    erf = g.op("Erf", g.op("Div", x, g.const("sqrt2", math.sqrt(2.0))))
    return g.op("Mul", g.op("Mul", x, g.op("Add", erf, g.const("one_f", 1.0))), g.const("half", 0.5))


def _layer(g: _Graph, x: str, bias: str, index: int, config: Config) -> str:
    """One encoder layer: attention and feed-forward, each with residual + LayerNorm (post-norm)."""
    prefix, eps = f"encoder.layer.{index}", float(config["layer_norm_eps"])
    context = _attention(g, x, bias, f"{prefix}.attention.self",
                         int(config["num_attention_heads"]), int(config["hidden_size"]))
    attended = g.op("Add", g.linear(context, f"{prefix}.attention.output.dense"), x)
    attended = g.layer_norm(attended, f"{prefix}.attention.output.LayerNorm", eps)
    inner = _gelu(g, g.linear(attended, f"{prefix}.intermediate.dense"))
    out = g.op("Add", g.linear(inner, f"{prefix}.output.dense"), attended)
    return g.layer_norm(out, f"{prefix}.output.LayerNorm", eps)


def _check(config: Config, weights: dict[str, np.ndarray]) -> None:
    """Refuse the BERT variants this graph does not reproduce, rather than be silently wrong."""
    if config.get("model_type") != "bert":
        raise ValueError(f"not a BERT model: model_type={config.get('model_type')!r}")
    if config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"unsupported activation {config['hidden_act']!r} (only erf 'gelu')")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"unsupported position embeddings {config['position_embedding_type']!r}")
    hidden = int(config["hidden_size"])
    if hidden % int(config["num_attention_heads"]):
        raise ValueError("hidden_size is not a multiple of num_attention_heads")
    expected = {"word_embeddings": int(config["vocab_size"]),
                "position_embeddings": int(config["max_position_embeddings"])}
    for table, rows in expected.items():
        if f"embeddings.{table}.weight" not in weights and table == "word_embeddings":
            continue  # looked up by the caller (words_input)
        shape = weights[f"embeddings.{table}.weight"].shape
        if shape != (rows, hidden):
            raise ValueError(f"{table} has shape {shape}, config.json says {(rows, hidden)}")


def _io(config: Config, words_input: bool) -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    """Graph inputs and output, with dynamic batch and sequence dimensions."""
    dims: list[str | int] = ["batch", "sequence"]
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, dims)
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    hidden = [*dims, int(config["hidden_size"])]
    if words_input:
        inputs.append(helper.make_tensor_value_info(WORDS_INPUT, TensorProto.FLOAT, hidden))
    return inputs, [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, hidden)]


def build_bert_onnx(model_dir: Path, target: Path) -> None:
    """Write the ONNX graph of ``model_dir``'s BERT at ``target``, weights in WEIGHTS_FILE beside it.

    ``model_dir`` holds ``config.json`` and ``model.safetensors``. Sequences longer than
    the config's ``max_position_embeddings`` fail at run time (the caller truncates).
    Both files are written in place; wrap the call in a temporary folder for atomicity.
    """
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    write_bert_onnx(config, read_safetensors(model_dir / "model.safetensors"), target)


def write_bert_onnx(config: Config, weights: dict[str, np.ndarray], target: Path, *,
                    words_input: bool = False) -> None:
    """The graph of a BERT given its config.json and its tensors under Hugging Face's names
    (``embeddings.*``, ``encoder.layer.N.*``); without the word table when ``words_input``."""
    _check(config, weights)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / WEIGHTS_FILE, "wb") as weights_file:
        g = _Graph(weights, weights_file)
        hidden = _embeddings(g, float(config["layer_norm_eps"]), words_input)
        bias = _mask_bias(g)
        for index in range(int(config["num_hidden_layers"])):
            hidden = _layer(g, hidden, bias, index, config)
    g.nodes.append(helper.make_node("Identity", [hidden], ["last_hidden_state"], name="output"))
    inputs, outputs = _io(config, words_input)
    graph = helper.make_graph(g.nodes, "bert_encoder", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION, producer_name="sddd-onnx-bert")
    onnx.save_model(model, str(target))
    onnx.checker.check_model(str(target))  # from the file: checks the external references too
