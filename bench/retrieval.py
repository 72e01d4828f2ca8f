"""Retrieval quality on the eval sets: dense, BM25, naive RRF and sddd's ranking, per corpus and style.

    .venv/bin/python bench/retrieval.py            # evaluate the shipped weights (sddd/data/ranking.json)
    .venv/bin/python bench/retrieval.py --fit      # choose the weights, leaving each corpus out in turn

Corpora: this repository (`repo`), the seed reports (`seeds`, copied from ../shared/seeds) and the
public documentation corpora of bench/eval/corpora.yaml, built under bench/corpora/ by
bench/eval/materialise.py (a missing one is skipped with a line saying so). Query sets:
bench/eval/queries/*.yaml (query, style kw/para/paste/fr, relevant files graded 1-2, `en` beside a
French query). The metric is file-level: a ranking of passages becomes a ranking of files, each at
its best passage, as `sddd check` counts them; MRR@10 over the top 10 files (and hit@1, hit@5,
nDCG@10) by ir-measures, trec_eval's definitions.

Modes: `dense` (the default model's cosine, MiniLM), `bm25` (one BM25 over every field with equal
weights), `rrf` (naive reciprocal rank fusion of those two, k = 60), `sddd` (sddd's ranking: every
model's cosine, field-weighted passage BM25 and document BM25, weighted by query language). All
four read the same candidates, gathered by the product's own code (sddd.index.ranking.candidates).

`--fit`: a grid of weights per language is scored on the public corpora; for each corpus, the
weights best on the *others* give its reported `sddd` figure (leave one corpus out); the weights best
on all public corpora, with their calibration, are written to sddd/data/ranking.json. The repo,
seeds and crosslingual sets are never used to choose anything. Writes bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from _meta import run_facts  # noqa: E402

EVAL = REPO / "bench" / "eval"
CACHE = REPO / "bench" / ".cache"
RESULTS = REPO / "bench" / "results"
MODES = ("dense", "bm25", "rrf", "sddd")
MEASURES = {"hit@1": "Success@1", "hit@5": "Success@5", "mrr@10": "RR@10", "ndcg@10": "nDCG@10"}
STYLES = ("kw", "para", "paste", "fr")
RRF_K = 60


@dataclass
class Query:
    id: str
    text: str
    style: str
    relevant: dict[str, int]  # file -> grade
    en: str | None = None


@dataclass
class Corpus:
    name: str
    sets: list[str]
    queries: list[Query]
    public: bool


@dataclass
class QueryFeatures:
    """The candidates of one query: their files and features (rows aligned)."""

    files: list[str]
    dense: np.ndarray
    passage: np.ndarray
    document: np.ndarray
    plain: np.ndarray  # BM25, every field at weight 1, / its ideal (the bm25 baseline)
    french: bool


def load_queries(path: Path) -> tuple[str, str, list[Query]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    queries = []
    for item in data["queries"]:
        relevant = item["relevant"]
        if isinstance(relevant, str):
            relevant = [relevant]
        if isinstance(relevant, list):
            relevant = {target: 1 for target in relevant}
        graded: dict[str, int] = {}
        for target, grade in relevant.items():
            file = str(target).split("#", 1)[0]
            graded[file] = max(graded.get(file, 0), int(grade))
        style = item.get("style") or ("fr" if item.get("lang") == "fr" else "para")
        queries.append(Query(str(item["id"]), item["query"], style, graded, item.get("en")))
    return data["name"], data.get("corpus", "repo"), queries


def load_corpora(names: list[str] | None) -> list[Corpus]:
    grouped: dict[str, Corpus] = {}
    public = set(yaml.safe_load((EVAL / "corpora.yaml").read_text(encoding="utf-8"))["corpora"])
    for path in sorted((EVAL / "queries").glob("*.yaml")):
        set_name, corpus, queries = load_queries(path)
        if names and corpus not in names:
            continue
        entry = grouped.setdefault(corpus, Corpus(corpus, [], [], corpus in public))
        entry.sets.append(set_name)
        entry.queries += queries
    return list(grouped.values())


def corpus_config(name: str, seeds: Path):
    from sddd.core.config import Config, load_config

    if name == "repo":
        config = load_config(REPO / "sddd.yaml")
    elif name == "seeds":
        root = CACHE / "seeds-corpus"
        if not root.is_dir():
            files = sorted(seeds.glob("*.txt")) + sorted(seeds.glob("*.md"))
            if not files:
                return None
            (root / "docs").mkdir(parents=True)
            for source in files:
                shutil.copyfile(source, root / "docs" / f"{source.stem}.md")
        config = Config(root=root, docs=["docs/**/*.md"], profiles=[])
    else:
        root = REPO / "bench" / "corpora" / name
        if not (root / "corpus.json").is_file():
            return None
        config = Config(root=root, docs=["**/*.md"], profiles=[])
    config.index = str(CACHE / f"{name}-default")
    return config


def features_of(corpus: Corpus, seeds: Path) -> dict[str, QueryFeatures] | None:
    """Index the corpus (incrementally) and read every query's candidates with the product's code."""
    from sddd.index.indexer import build_index
    from sddd.index.ranking import candidates
    from sddd.index.scoring import is_french
    from sddd.index.search import QueryEncoder
    from sddd.index.store import open_store

    config = corpus_config(corpus.name, seeds)
    if config is None:
        return None
    report = build_index(config)
    print(f"{corpus.name}: {report.chunks} passages, {report.embedded} embedded now "
          f"({report.seconds:.0f} s)", file=sys.stderr)
    store = open_store(config.index_dir)
    try:
        texts = list(dict.fromkeys([q.text for q in corpus.queries] + [q.en for q in corpus.queries if q.en]))
        vectors = QueryEncoder(config).encode(texts)
        paths = [c.path for c in store.chunks()]
        out = {}
        for row, text in enumerate(texts):
            found = candidates(store, [v[row] for v in vectors], text, None)
            plain = store.lexical.scaled("passages", text, 200, (1.0, 1.0, 1.0, 1.0))
            out[text] = QueryFeatures([paths[i] for i in found.ids], found.dense, found.passage,
                                      found.document, np.array([plain.get(int(i), 0.0) for i in found.ids]),
                                      is_french(text))
        return out
    finally:
        store.close()


def file_order(files: list[str], scores: np.ndarray) -> list[str]:
    """Files ranked at their best passage; a passage scored -inf is not a result."""
    out: list[str] = []
    seen: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        if scores[i] == -np.inf:
            break
        if files[i] not in seen:
            seen.add(files[i])
            out.append(files[i])
    return out


def rank_files(f: QueryFeatures, mode: str, weights: dict | None = None) -> list[str]:
    if mode == "dense":
        return file_order(f.files, f.dense[:, 0])
    if mode == "bm25":
        return file_order(f.files, np.where(f.plain > 0, f.plain, -np.inf))
    if mode == "rrf":
        fused = np.zeros(len(f.files))
        for scores in (f.dense[:, 0], np.where(f.plain > 0, f.plain, -np.inf)):
            for position, i in enumerate(np.argsort(-scores, kind="stable"), 1):
                if scores[i] > -np.inf:
                    fused[i] += 1 / (RRF_K + position)
        return file_order(f.files, np.where(fused > 0, fused, -np.inf))
    assert weights is not None
    w = weights["fr" if f.french else "en"]
    score = (np.clip(f.dense, 0, None) @ np.array(w["dense"]) + w["passage"] * f.passage
             + w["document"] * f.document)
    return file_order(f.files, score)


def compute_metrics(qrels: dict[str, dict[str, int]], runs: dict[str, list[str]]) -> dict[str, float]:
    """Mean hit@1, hit@5, MRR@10, nDCG@10 of ranked lists against graded qrels (ir-measures)."""
    import ir_measures
    from ir_measures import Qrel, ScoredDoc

    qrel_rows = [Qrel(q, doc, rel) for q, docs in qrels.items() for doc, rel in docs.items()]
    run_rows = [ScoredDoc(q, doc, float(len(docs) - i))
                for q, docs in runs.items() for i, doc in enumerate(docs)]
    measures = {name: ir_measures.parse_measure(m) for name, m in MEASURES.items()}
    per_query = {name: {q: 0.0 for q in qrels} for name in measures}  # no result scores 0
    for metric in ir_measures.iter_calc(list(measures.values()), qrel_rows, run_rows):
        name = next(n for n, m in measures.items() if m == metric.measure)
        per_query[name][metric.query_id] = metric.value
    return {name: sum(v.values()) / len(v) if v else 0.0 for name, v in per_query.items()}


def reciprocal_ranks(corpus: Corpus, feats: dict[str, QueryFeatures], mode: str, weights: dict | None,
                     english: bool = False) -> dict[str, float]:
    out = {}
    for q in corpus.queries:
        text = q.en if english and q.en else q.text
        files = rank_files(feats[text], mode, weights)[:10]
        out[q.id] = next((1 / r for r, f in enumerate(files, 1) if q.relevant.get(f, 0) > 0), 0.0)
    return out


def by_style(corpus: Corpus, rr: dict[str, float]) -> dict[str, float]:
    groups: dict[str, list[float]] = {"all": []}
    for q in corpus.queries:
        groups.setdefault(q.style, []).append(rr[q.id])
        groups["all"].append(rr[q.id])
    return {k: float(np.mean(v)) for k, v in groups.items()}


# --- fitting ----------------------------------------------------------------------------------

GRID_EN = [{"dense": [m, u], "passage": p, "document": d}
           for m, u, p, d in itertools.product((0.3, 0.4, 0.5, 0.6), (0.0, 0.1, 0.2, 0.3),
                                               (0.1, 0.2, 0.3, 0.4), (0.0, 0.1, 0.2, 0.3))]
GRID_FR = [{"dense": [m, u], "passage": p, "document": d}
           for m, u, p, d in itertools.product((0.0, 0.1, 0.2, 0.3), (0.2, 0.3, 0.45, 0.6),
                                               (0.1, 0.2, 0.3), (0.0, 0.1, 0.2, 0.3))]


def mean_rr(corpus: Corpus, feats: dict[str, QueryFeatures], weights: dict, french: bool) -> float:
    values = [rr for q, rr in zip(corpus.queries, reciprocal_ranks(corpus, feats, "sddd", weights).values(),
                                  strict=True) if feats[q.text].french == french]
    return float(np.mean(values)) if values else float("nan")


def choose(train: list[tuple[Corpus, dict]]) -> dict:
    """The grid point of each language with the best mean MRR@10 over ``train`` (corpora weigh equally)."""
    def best(grid: list[dict], french: bool) -> dict:
        def value(row: dict) -> float:
            w = {"en": row, "fr": row}
            scores = [mean_rr(c, f, w, french) for c, f in train]
            return float(np.nanmean(scores))
        return max(grid, key=value)
    return {"en": best(GRID_EN, False), "fr": best(GRID_FR, True)}


def calibrate(train: list[tuple[Corpus, dict]], weights: dict, french: bool) -> tuple[float, float]:
    """Slope and bias of a logistic calibration of one language's queries: P(file relevant | its
    best passage's linear score), over every query's top 20 files, by Newton's method. Each
    language has its own: their weights sum differently, so their linear scores spread differently."""
    xs, ys = [], []
    for corpus, feats in train:
        for q in corpus.queries:
            f = feats[q.text]
            if f.french != french:
                continue
            w = weights["fr" if f.french else "en"]
            score = np.clip(f.dense, 0, None) @ np.array(w["dense"]) + w["passage"] * f.passage \
                + w["document"] * f.document
            best: dict[str, float] = {}
            for file, s in zip(f.files, score, strict=True):
                best[file] = max(best.get(file, -1.0), float(s))
            for file, s in sorted(best.items(), key=lambda kv: -kv[1])[:20]:
                xs.append(s)
                ys.append(1.0 if q.relevant.get(file, 0) > 0 else 0.0)
    x, y = np.array(xs), np.array(ys)
    a, b = 1.0, 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([np.sum((p - y) * x), np.sum(p - y)])
        h = np.array([[np.sum(p * (1 - p) * x * x), np.sum(p * (1 - p) * x)],
                      [np.sum(p * (1 - p) * x), np.sum(p * (1 - p))]]) + 1e-9 * np.eye(2)
        a, b = np.array([a, b]) - np.linalg.solve(h, g)
    return float(a), float(b)


# --- reporting --------------------------------------------------------------------------------

@dataclass
class Row:
    corpus: str
    mode: str
    styles: dict[str, float]
    metrics: dict[str, float] = field(default_factory=dict)
    french_as_english: float | None = None


def evaluate(corpus: Corpus, feats: dict, mode: str, weights: dict | None) -> Row:
    rr = reciprocal_ranks(corpus, feats, mode, weights)
    qrels = {q.id: q.relevant for q in corpus.queries}
    runs = {q.id: rank_files(feats[q.text], mode, weights)[:10] for q in corpus.queries}
    row = Row(corpus.name, mode, by_style(corpus, rr), compute_metrics(qrels, runs))
    french = [q for q in corpus.queries if q.en]
    if french:
        en = reciprocal_ranks(corpus, feats, mode, weights, english=True)
        row.french_as_english = float(np.mean([en[q.id] for q in french]))
    return row


def row_json(r: Row) -> dict:
    en = None if r.french_as_english is None else round(r.french_as_english, 4)
    return {"corpus": r.corpus, "mode": r.mode, **{k: round(v, 4) for k, v in r.styles.items()},
            **{k: round(v, 4) for k, v in r.metrics.items()}, "french_as_english": en}


def print_table(rows: list[Row]) -> None:
    head = f"{'corpus':<10} {'mode':<6} " + "".join(f"{s:>7}" for s in (*STYLES, "all")) + "   fr-as-en"
    print(head)
    print("-" * len(head))
    for r in rows:
        cells = "".join(f"{r.styles[s]:>7.3f}" if s in r.styles else f"{'-':>7}" for s in (*STYLES, "all"))
        en = f"{r.french_as_english:>10.3f}" if r.french_as_english is not None else ""
        print(f"{r.corpus:<10} {r.mode:<6} {cells}{en}")


def shipped() -> dict:
    data = json.loads((REPO / "sddd" / "data" / "ranking.json").read_text(encoding="utf-8"))
    rows = {(tuple(r["models"]), r["language"], r["mode"]): r for r in data["rows"]}
    key = ("all-MiniLM-L6-v2", "use-multilingual-v3")
    return {lang: rows[(key, lang, "hybrid")] for lang in ("en", "fr")}


def write_weights(weights: dict, calibration: dict[str, tuple[float, float]], facts: dict,
                  held_out: dict) -> None:
    """The fitted rows of sddd/data/ranking.json (dense and lexical modes take the hybrid row's
    parts; single-model rows put the missing model's weight on the other)."""
    from sddd.core.models import DEFAULT_MODEL, MULTILINGUAL_NAME

    rows = []
    combos = {(DEFAULT_MODEL, MULTILINGUAL_NAME): lambda d: d, (DEFAULT_MODEL,): lambda d: [sum(d)],
              (MULTILINGUAL_NAME,): lambda d: [sum(d)]}
    for models, dense_of in combos.items():
        for lang in ("en", "fr"):
            w = weights[lang]
            slope, bias = calibration[lang]
            for mode, dense, passage, document in (("hybrid", w["dense"], w["passage"], w["document"]),
                                                   ("dense", w["dense"], 0.0, 0.0),
                                                   ("lexical", [0.0, 0.0], w["passage"], w["document"])):
                rows.append({"models": list(models), "language": lang, "mode": mode, "dense": dense_of(dense),
                             "passage": passage, "document": document, "slope": round(slope, 4),
                             "bias": round(bias, 4)})
    data = {"provenance": {"by": "bench/retrieval.py --fit", "commit": facts.get("commit"),
                           "corpora": held_out, "date": time.strftime("%Y-%m-%d")}, "rows": rows}
    (REPO / "sddd" / "data" / "ranking.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", help="comma-separated corpus names (default: all)")
    parser.add_argument("--fit", action="store_true", help="choose the weights (leave one corpus out)")
    parser.add_argument("--seeds", default=str(REPO.parent / "shared" / "seeds"))
    parser.add_argument("--out", default=str(RESULTS / "retrieval.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    corpora = load_corpora(args.corpora.split(",") if args.corpora else None)
    data: list[tuple[Corpus, dict]] = []
    for corpus in corpora:
        feats = features_of(corpus, Path(args.seeds))
        if feats is None:
            print(f"skipped {corpus.name}: not built; run bench/eval/materialise.py (see bench/README.md)")
            continue
        data.append((corpus, feats))
    public = [(c, f) for c, f in data if c.public]
    weights_of: dict[str, dict] = {}
    if args.fit:
        for corpus, _ in public:
            weights_of[corpus.name] = choose([(c, f) for c, f in public if c.name != corpus.name])
        final = choose(public)
        calibration = {lang: calibrate(public, final, lang == "fr") for lang in ("en", "fr")}
        write_weights(final, calibration, run_facts(), {c.name: weights_of[c.name] for c, _ in public})
    else:
        final = shipped()
    rows = []
    for corpus, feats in data:
        for mode in MODES:
            w = weights_of.get(corpus.name, final) if mode == "sddd" else None
            rows.append(evaluate(corpus, feats, mode, w))
    print_table(rows)
    result = {"facts": run_facts(), "seconds": round(time.perf_counter() - started, 1),
              "fitted": args.fit, "weights": final, "held_out_weights": weights_of,
              "rows": [row_json(r) for r in rows]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
