"""The lexical side of search: what goes into the SQLite FTS5 table, and how a query matches it.

People paste identifiers (``--gpu-memory-utilization``, ``Qwen3-32B-AWQ``, ``libcuda.so.1``)
and a dense model blurs them. FTS5's ``unicode61`` tokenizer splits them into their parts
(``gpu memory utilization``), which finds the parts but not the identifier as one thing.
So the indexed text gets, after the chunk's own text, one extra line holding each
identifier *joined* (``gpumemoryutilization``, ``qwen332bawq``, ``libcudaso1``) and the
parts of camelCase names (``maxModelLen`` -> ``max model len``). A query asks for each of its
identifiers joined OR as the phrase of its parts, and for each other word alone, all OR-ed:
BM25 then weighs a rare exact identifier far above common words.

The tokenizer is ``porter unicode61 remove_diacritics 2``, on both the index and the query:
accents fold (``déploiement`` = ``deploiement``) and the Porter suffix stripper also
merges most French inflections (``optimisation``, ``optimisés`` -> ``optimis``).
"""

from __future__ import annotations

import functools
import re
import unicodedata

LEXICAL_VERSION = "4"  # bump when the indexed text or the tokenizer changes: re-tokenise, no re-embed
TOKENIZER = "porter unicode61 remove_diacritics 2"
# Two tables. Passages: a word of the page's title, of the section's heading path or of the file's
# path says more about a passage than a word of its body. Documents: one row per file, its title,
# its sections' headings, its path and every section, for the questions whose words are spread
# over a page's sections (the file list of the ranking, sddd.index.scoring). The field weights
# are set a priori, not fitted: a title word 4, a heading 2, a path word 1.5-2, the body 1 (qmd
# weighs title 4 and path 1.5 over whole files).
PASSAGE_COLUMNS = ("title", "heading", "path", "body")
PASSAGE_WEIGHTS = (4.0, 2.0, 2.0, 1.0)
DOCUMENT_COLUMNS = ("title", "headings", "path", "body")
DOCUMENT_WEIGHTS = (4.0, 2.0, 1.5, 1.0)

# A run of word pieces joined by - . _ / :. Written so the engine reads each character once:
# "at least one joiner" and "camelCase" are decided in Python afterwards, because a pattern that
# demands them backtracks over a long run of letters (cubic: 13 s for 800 letters, and a base64
# blob or a minified line in a guide is such a run).
RUN = re.compile(r"[^\W_]+(?:[-._/:]+[^\W_]+)*", re.UNICODE)
JOINER = re.compile(r"[-._/:]")
WORD = re.compile(r"[^\W_]+", re.UNICODE)
CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Words that say nothing of what a page is about, in English and French: question words,
# pronouns, articles, auxiliaries and the verbs every how-to question wears ("how do I turn on",
# "quel port utilise", "comment faire"). One of them alone must not carry a page, and BM25's IDF
# does not stop it where a small corpus happens to hold it in few files.
STOPWORDS = frozenset(
    "a about an and any are as at be been being but by can could did do does doing done for from "
    "get gets getting got has have having he her here his how i if in into is it its just like "
    "me might more most much must my need needs now of on only or our "
    "she should so some such than that the their them then there these they this those "
    "through to too turn turning us use used uses using very via want was way we were what when "
    "where whether which while who whom why will with within without would yes you your "
    "ait as au aux avec avoir ce cela celle celui ces cet cette ceux chaque chez comme comment "
    "dans de des doit doivent dois du elle elles en est et etre ete fait faire faut fais il ils "
    "je la le les leur leurs lui ma mais me meme mes moi mon ne nos notre nous on ont ou par pas "
    "peut peuvent peux plus pour pourquoi puis qu quand que quel quelle quelles quels qui sa sans "
    "se ses si son sont sur ta te tes toi ton tous tout toute toutes tu un une utilise utilisee "
    "utilisees utilises utiliser utilisent vais veux vont vos votre vous y".split()
)


# A query with more distinct terms than this is a pasted page, not a question: the rest are
# dropped (the model reads only its first 256 word pieces too), so every BM25 call stays a few
# dozen clauses whatever the query's length.
MAX_CLAUSES = 64


def fold(text: str) -> str:
    """Lower case without accents, as FTS5's remove_diacritics folds them."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def is_camel(word: str) -> bool:
    """A lower-case letter followed, somewhere later, by an upper-case one (``maxModelLen``)."""
    # Most words are lower case, upper case or Capitalised: answered by str's C methods, without
    # the loop below (it was half the files phase of a large index).
    if word.islower() or word.isupper() or word[1:].islower():
        return False
    first_lower = next((i for i, ch in enumerate(word) if ch.islower()), None)
    return first_lower is not None and any(ch.isupper() for ch in word[first_lower + 1:])


def identifiers(text: str) -> list[str]:
    """Identifiers in ``text`` as written: words joined by - . _ / : (``--x`` and trailing dots
    stripped), or camelCase words. Linear in the length of ``text``."""
    # A run without a joiner is all letters and digits (RUN's pieces are \w less "_", which is
    # what str.isalnum accepts): one C call decides most runs.
    return [token for token in RUN.findall(text) if not token.isalnum() or is_camel(token)]


def parts(identifier: str) -> list[str]:
    """The words of an identifier: split at joiners and at camelCase boundaries."""
    out: list[str] = []
    for piece in WORD.findall(identifier):
        split = CAMEL.findall(piece)
        out.extend(split if len(split) > 1 else [piece])
    return [p.lower() for p in out]


def joined(identifier: str) -> str:
    return "".join(WORD.findall(identifier)).lower()


def index_text(text: str) -> str:
    """``text`` plus a line of its identifiers joined and its camelCase parts."""
    extra: list[str] = []
    seen: set[str] = set()
    for ident in dict.fromkeys(identifiers(text)):  # minified code repeats its names: once each
        pieces = parts(ident)
        if len(pieces) < 2:
            continue
        forms = [joined(ident)]
        if not re.search(r"[-._/:]", ident):  # camelCase: its parts are not in the text yet
            forms.extend(pieces)
        for form in forms:
            if form not in seen:
                seen.add(form)
                extra.append(form)
    return f"{text}\n{' '.join(extra)}" if extra else text


def path_words(path: str) -> str:
    """A file's path as words: ``docs/guides/kv-cache.md`` -> ``docs guides kv cache``."""
    return re.sub(r"[/_.\-]+", " ", re.sub(r"\.(md|ya?ml)$", "", path)).strip()


def passage_row(title: str, heading: str, path: str, text: str) -> tuple[str, str, str, str]:
    """What the passages table holds for one passage (PASSAGE_COLUMNS)."""
    return _short_index_text(title), _short_index_text(heading), _short_index_text(path_words(path)), \
        index_text(text)


@functools.lru_cache(maxsize=4096)
def _short_index_text(text: str) -> str:
    """``index_text`` of a title, heading path or file path: the same for every passage of a file
    or section, so made once."""
    return index_text(text)


def document_row(title: str, headings: list[str], path: str,
                 sections: list[str]) -> tuple[str, str, str, str]:
    """What the documents table holds for one file (DOCUMENT_COLUMNS): its title, the heading paths
    of its sections (each once), its path and its sections' text."""
    return (index_text(title), index_text("\n".join(dict.fromkeys(h for h in headings if h))),
            index_text(path_words(path)), index_text("\n".join(sections)))


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match_expression(query: str, stop: bool = True) -> str | None:
    """The FTS5 MATCH expression for a query typed by a person, or None when it has no words.

    Every term is quoted, so FTS5 operators typed by the user (AND, NEAR, *, :) are plain words.
    """
    clauses = query_clauses(query, stop)
    return " OR ".join(clauses) if clauses else None


@functools.lru_cache(maxsize=16)  # one search asks for them per table and per ideal score
def query_clauses(query: str, stop: bool = True) -> tuple[str, ...]:
    """One FTS5 clause per identifier (whole OR phrase of parts) and per other word, each once,
    in the query's order, at most MAX_CLAUSES of them; STOPWORDS left out unless ``stop`` is False
    (bench/retrieval.py's peers' baselines, which have none).

    One pass over the query's runs, stopped at the last clause kept: linear in its length,
    whatever is pasted into it."""
    clauses: list[str] = []
    seen: set[str] = set()
    tokens: set[str] = set()  # a pasted page repeats its words: each is looked at once
    for match in RUN.finditer(query):
        token = match.group(0)
        if token in tokens:
            continue
        tokens.add(token)
        pieces = parts(token) if JOINER.search(token) or is_camel(token) else []
        if len(pieces) >= 2:
            found = [(f"({_quote(joined(token))} OR {_quote(' '.join(pieces))})", "")]
        else:
            found = [(_quote(word.lower()), fold(word)) for word in WORD.findall(token)]
        for clause, key in found:
            if (stop and key in STOPWORDS) or (key or clause) in seen:
                continue
            seen.add(key or clause)
            clauses.append(clause)
            if len(clauses) == MAX_CLAUSES:
                return tuple(clauses)
    return tuple(clauses)
