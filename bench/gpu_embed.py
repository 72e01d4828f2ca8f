"""GPU embedding benchmark: `sddd index --device cuda`'s encoder (sddd.index.encoders.cuda_encoder)
on 150-word passages, against sentence-transformers' own fp16 ``encode`` on the same GPU, and its
vectors against the CPU encoder's.

Run on the GPU machine (the model's files in a folder, no package needed):

    python bench/gpu_embed.py --model-dir DIR --texts texts.json --reference ref/ [--passages 200000]

``--texts`` is a JSON list of real Markdown sections; they are joined and cut into passages of
``--words`` words, so every passage is real prose of the length the target names. Beforehand, on a
machine with the bundled model (the CPU encoder sddd uses), write the CPU vectors the GPU's are
compared with (and the reference tests/index/encoders/test_cuda_encoder.py reads):

    .venv/bin/python bench/gpu_embed.py --write-reference ref/ --texts texts.json

Prints a table and writes bench/results/gpu-embed.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._meta import run_facts

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE_PASSAGES = 1000


def passages(texts_file: Path, count: int, words: int) -> list[str]:
    """``count`` passages of ``words`` words each, cut from the texts in order (cycling)."""
    pool = " ".join(json.loads(texts_file.read_text(encoding="utf-8"))).split()
    out = []
    start = 0
    for _ in range(count):
        if start + words > len(pool):
            start = (start + 7919) % max(1, len(pool) - words)  # another cut on the next cycle
        out.append(" ".join(pool[start : start + words]))
        start += words
    return out


def write_reference(folder: Path, texts_file: Path, words: int) -> None:
    from sddd.core.models import DEFAULT_MODEL
    from sddd.index.encoders.models import load_encoder
    from tests.index.encoders.test_cuda_encoder import TEXTS

    folder.mkdir(parents=True, exist_ok=True)
    encoder = load_encoder(DEFAULT_MODEL)
    np.savez(folder / "tests.npz", texts=json.dumps(TEXTS), vectors=encoder.encode(TEXTS))
    sample = passages(texts_file, REFERENCE_PASSAGES, words)
    np.savez(folder / "passages.npz", texts=json.dumps(sample), vectors=encoder.encode(sample))
    print(f"wrote {folder}/tests.npz and passages.npz ({REFERENCE_PASSAGES} passages of {words} words)")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return result


def measure(args: argparse.Namespace) -> dict[str, object]:
    import torch

    from sddd.index.encoders.cuda_encoder import CudaEncoder
    from sddd.index.encoders.models import model_info

    info = model_info(str(args.model_dir))
    texts = passages(args.texts, args.passages, args.words)
    started = time.perf_counter()
    encoder = CudaEncoder(info)
    encoder.encode(texts[:4096])  # CUDA context, kernels, allocator: once per process
    load_s = time.perf_counter() - started
    torch.cuda.synchronize()
    started = time.perf_counter()
    vectors = encoder.encode(texts)
    sddd_s = time.perf_counter() - started
    tokens = encoder.count_tokens_many(texts[:2000])
    row: dict[str, object] = {
        "passages": len(texts), "words": args.words, "mean_tokens": float(np.mean(tokens)),
        "sddd_cuda_s": round(sddd_s, 2), "sddd_cuda_per_s": round(len(texts) / sddd_s),
        "load_and_warm_s": round(load_s, 2), "dim": int(vectors.shape[1]),
    }
    if args.reference:
        stored = np.load(args.reference / "passages.npz")
        sample = json.loads(str(stored["texts"]))
        found = cosines(encoder.encode(sample), np.asarray(stored["vectors"], dtype=np.float32))
        row.update(cosine_min=round(float(found.min()), 5), cosine_mean=round(float(found.mean()), 5),
                   cosine_passages=len(sample))
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(args.model_dir), device="cuda").half()
    subset = texts[: args.baseline]
    model.encode(subset[:2048], batch_size=512)
    torch.cuda.synchronize()
    started = time.perf_counter()
    model.encode(subset, batch_size=512, normalize_embeddings=True, convert_to_numpy=True)
    st_s = time.perf_counter() - started
    row.update(st_passages=len(subset), st_fp16_per_s=round(len(subset) / st_s),
               gpu=torch.cuda.get_device_name(0), cpu_cores=os.cpu_count())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--passages", type=int, default=200_000)
    parser.add_argument("--baseline", type=int, default=30_000, help="passages for the ST baseline")
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--reference", type=Path, help="folder of --write-reference's files")
    parser.add_argument("--write-reference", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu-embed.json")
    args = parser.parse_args()
    if args.write_reference:
        write_reference(args.write_reference, args.texts, args.words)
        return
    row = measure(args)
    print(f"{'measure':<34} value")
    for key, value in row.items():
        print(f"{key:<34} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"facts": run_facts(), "result": row}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
