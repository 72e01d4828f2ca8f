"""Hostile text through the tokenizer, the chunkers and the redaction, with a time bound per input.

A run of 3,000 letters once took `sddd index` 82 s (the camelCase pattern backtracked) and 2,000
letters in a query 48 s; a base64 blob or a minified line in a guide is enough. Hypothesis feeds
random and adversarial text (long runs, mixed scripts, control characters, huge lines); each
input must finish well inside its bound, which a quadratic or worse path would blow.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sddd.core.secrets import redact
from sddd.index.chunking import Window
from sddd.index.lexical import identifiers, index_text, match_expression
from sddd.index.markdown_chunks import markdown_chunks

BOUND_S = 5.0  # per input of up to ~100 kB, on a loaded 2-core machine; linear code needs < 0.5 s

LETTERS = st.sampled_from(["x", "aB", "é", "Я", "中", "-", ".", "_", "/", ":", " ", "\n", "`", "#",
                           "\x00", "\t"])
RUNS = st.builds(lambda piece, n: piece * n, LETTERS, st.integers(1, 40_000))
TEXT = st.lists(st.one_of(RUNS, st.text(max_size=200)), min_size=1, max_size=8).map("".join)


def bounded(fn, *args):
    started = time.perf_counter()
    out = fn(*args)
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{fn.__name__} took {elapsed:.1f} s on {len(args[0])} characters"
    return out


@pytest.fixture(scope="module")
def window(encoder):
    primary = encoder.members[0]
    return Window(primary.count_tokens, primary.max_tokens, count_many=primary.count_tokens_many)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_lexical_side_is_fast_on_any_text(text):
    for fn in (identifiers, index_text, match_expression, redact):
        bounded(fn, text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(TEXT)
def test_markdown_chunks_are_fast_and_lose_no_word(window, text):
    chunks = bounded(lambda t: markdown_chunks(t, "docs/x.md", "guide", window), text)
    indexed = " ".join(c.text for c in chunks)
    for word in set(redact(text).split()[:200]):
        if not word.startswith(("#", "`")) and "***" not in word:
            assert word in indexed or word.strip("#`") in indexed, word


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30),
                min_size=1, max_size=40))
def test_word_pieces_add_up_over_whitespace(encoder, words):
    """What the chunker's packing relies on: the pieces of texts joined by whitespace are the sum
    of theirs, for the bundled MiniLM's tokenizer."""
    primary = encoder.members[0]
    words = [w for w in (w.strip() for w in words) if w and not any(c.isspace() for c in w)]
    if words:
        assert primary.count_tokens(" ".join(words)) == sum(primary.count_tokens_many(words))


def test_a_huge_line_and_a_long_query_stay_fast(window):
    blob = "QUJD" * 250_000  # 1 MB of base64 on one line
    bounded(index_text, blob)
    bounded(lambda t: markdown_chunks(t, "docs/x.md", "guide", window), f"# T\n\n{blob}\n")
    query = "why " + "x" * 100_000
    assert bounded(match_expression, query)
