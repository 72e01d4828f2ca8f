from __future__ import annotations

import pytest

from sddd.core.errors import InputError
from sddd.index.chunking import Window
from sddd.index.markdown_chunks import heading_text, markdown_chunks, parse_markdown
from tests.helpers import PLANTED_SECRETS, planted_in

DOC = """---
title: Deployment guide
kind: guide
tags: [deploy]
---
# Deployment guide

Intro paragraph about deploying the medium profile.

## Health checks

How to know the server is up.

### Timeouts

```bash
# this is a comment, not a heading
curl -s localhost:5002/health
```

## Health checks

A second section with the same title.

## Pourquoi 0,85 ? Mémoire GPU 🚀

Le modèle démarre après la capture des graphes CUDA.
"""


def window(encoder, max_tokens: int | None = None) -> Window:
    return Window(encoder.count_tokens, max_tokens or encoder.max_tokens)


def test_sections_carry_heading_path_anchor_title_and_line(encoder):
    chunks = markdown_chunks(DOC, "docs/guides/deploy.md", "guide", window(encoder))
    by_heading = {c.heading: c for c in chunks}
    timeouts = by_heading["Deployment guide › Health checks › Timeouts"]
    assert timeouts.anchor == "timeouts"
    assert timeouts.line == 14
    assert timeouts.title == "Deployment guide"
    assert timeouts.kind == "guide"
    # The code block stays with its section, and its comment did not become a heading.
    assert "# this is a comment, not a heading" in timeouts.text
    assert "curl -s localhost:5002/health" in timeouts.text
    assert not any("this is a comment" in c.heading for c in chunks)


def test_anchors_match_mkdocs_ids_including_duplicates_and_accents(encoder):
    chunks = markdown_chunks(DOC, "docs/guides/deploy.md", "guide", window(encoder))
    anchors = [c.anchor for c in chunks]
    assert anchors == ["deployment-guide", "health-checks", "timeouts", "health-checks_1",
                       "pourquoi-085-memoire-gpu"]
    french = chunks[-1]
    assert "démarre" in french.text and "🚀" in french.heading


def test_heading_text_strips_inline_markup():
    assert heading_text("Why `--gpu-memory-utilization` is **0.85**") == (
        "Why --gpu-memory-utilization is 0.85"
    )
    assert heading_text("See [the guide](x.md) {#custom}") == "See the guide"


def test_custom_ids_and_front_matter_title():
    doc = parse_markdown("---\ntitle: T\n---\n## Heading {#my-id}\ntext\n", "a.md")
    assert doc.title == "T"
    assert doc.sections[1].anchor == "my-id"


def test_title_falls_back_to_first_h1_then_file_name(encoder):
    chunks = markdown_chunks("# Real title\n\nbody\n", "docs/x.md", "guide", window(encoder))
    assert chunks[0].title == "Real title"
    chunks = markdown_chunks("just text\n", "docs/notes.md", "guide", window(encoder))
    assert chunks[0].title == "notes" and chunks[0].anchor is None


def test_long_section_is_split_so_no_text_is_invisible(encoder):
    paragraphs = [f"Paragraph {i} " + " ".join(f"word{i}x{j}" for j in range(60)) for i in range(12)]
    text = "# Long\n\n## Big section\n\n" + "\n\n".join(paragraphs) + "\n"
    w = window(encoder)
    chunks = markdown_chunks(text, "docs/long.md", "guide", w)
    assert len(chunks) > 3
    for chunk in chunks:
        # Each piece fits the window together with its heading path (what is embedded).
        assert encoder.count_tokens(f"{chunk.heading}\n{chunk.text}") <= w.max_tokens
        assert chunk.anchor == "big-section"
    joined = "\n".join(c.text for c in chunks)
    for i in range(12):
        assert f"word{i}x59" in joined and f"Paragraph {i}" in joined
    # Pieces overlap a little: the start of piece 2 repeats the end of piece 1.
    first_words = chunks[1].text.split()[:3]
    assert " ".join(first_words) in chunks[0].text
    assert [c.part for c in chunks] == list(range(len(chunks)))


def test_kind_comes_from_front_matter_then_folder(encoder):
    w = window(encoder)
    assert markdown_chunks("x\n", "docs/reports/a.md", "guide", w)[0].kind == "report"
    assert markdown_chunks("---\nkind: guide\n---\nx\n", "docs/reports/a.md", "guide", w)[0].kind == "guide"
    assert markdown_chunks("x\n", "archives/a/readme.md", "archive", w)[0].kind == "archive"


def test_malformed_front_matter_names_the_line(encoder):
    with pytest.raises(InputError) as caught:
        markdown_chunks("---\ntitle: ok\ntags: [a, b\n---\nbody\n", "docs/bad.md", "guide", window(encoder))
    assert caught.value.path == "docs/bad.md"
    assert caught.value.line in (3, 4)


def test_secrets_in_prose_are_redacted(encoder):
    text = "# T\n\nexport HUGGING_FACE_HUB_TOKEN=hf_abcdefghijklmnopqrstuvwx\n"
    chunk = markdown_chunks(text, "docs/s.md", "guide", window(encoder))[0]
    assert "hf_abc" not in chunk.text and "HUGGING_FACE_HUB_TOKEN=***" in chunk.text


@pytest.mark.parametrize("token", PLANTED_SECRETS)
def test_the_anchor_is_the_slug_of_the_redacted_heading_whatever_touches_the_token(token: str):
    """The probe's heading: its anchor was `italic-and-trailing-hf_…_old`, the whole token
    lowercased, in every search result, MCP answer and site link. Rotating the token must not
    move the anchor either."""
    rotated = token[:-4] + "WXYZ"
    anchors = set()
    for secret in (token, rotated):
        doc = parse_markdown(f"# Guide\n\n## Italic *{secret}* and trailing {secret}_old\n\ntext\n"
                             f"## `{secret}`, MY{secret} and _{secret}_\n\nmore\n", "g.md")
        anchors.add(tuple(s.anchor for s in doc.sections[2:]))
        assert not planted_in(" ".join(f"{s.title} {s.anchor}" for s in doc.sections)), doc.sections
    assert anchors == {("italic-and-trailing", "and")}, anchors
