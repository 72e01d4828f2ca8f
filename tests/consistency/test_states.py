"""Sentences that say a feature is on or off, and who runs which model, read as claims."""

from __future__ import annotations

import pytest

from sddd.consistency.extract import extract_claims

PROFILES = ["micro", "mini", "medium"]


def states(text: str) -> list[tuple[int, str, str | None]]:
    doc = extract_claims("# Medium\n\n" + text, "docs/g.md", PROFILES)
    return [(c.line - 2, c.key, c.value) for c in doc.claims
            if c.kind == "flag" and c.key in ("--enable-prefix-caching", "--enable-chunked-prefill")]


@pytest.mark.parametrize(("text", "value"), [
    ("Prefix caching is disabled.", "false"),
    ("Le prefix caching est désactivé sur medium.", "false"),
    ("**SANS prefix-caching**, il n'y a pas de réutilisation du cache.", "false"),
    ("La configuration optimale **disable `prefix-caching`** intentionnellement.", "false"),
    ("- **enable-prefix-caching** : ❌ false (RETIRÉ intentionnellement)", "false"),
    ("5. **Prefix-Caching Désactivé = Limitation Long Terme**", "false"),
    ("Automatic prefix caching is enabled.", "true"),
])
def test_a_stated_state_is_a_claim(text: str, value: str):
    assert ("--enable-prefix-caching", value) in [(k, v) for _l, k, v in states(text + "\n")]


@pytest.mark.parametrize("text", [
    "If prefix caching were disabled, the first turn would be slower.",
    "Si le prefix caching était désactivé, TTFT augmenterait.",
    "Do not disable prefix caching.",
    'The champion was described as "prefix caching disabled" in the records.',
    "The team concluded that disabling prefix caching was the key.",
    "To measure without prefix caching, deploy a test copy.",
    "Prefix caching on medium saves the system prompt.",
    "Is prefix caching off?",
])
def test_hypotheses_negations_quotes_and_questions_claim_nothing(text: str):
    assert states(text + "\n") == []


def test_a_list_item_is_its_own_sentence():
    text = "- **Prefix caching désactivé**\n- Re-évaluer si le cas d'usage change\n"
    assert states(text) == [(1, "--enable-prefix-caching", "false")]


def test_a_feature_row_of_a_table_and_a_commented_flag_in_code():
    text = ("| Paramètre | Valeur |\n|---|---|\n| Prefix caching | ❌ désactivé |\n"
            "| Chunked prefill | ✅ |\n\n"
            "```yaml\n# enable-prefix-caching: false   # Désactivé (optimal)\n```\n")
    assert states(text) == [(3, "--enable-prefix-caching", "false"),
                            (4, "--enable-chunked-prefill", "true"), (7, "--enable-prefix-caching", "false")]


def test_no_form_in_a_command_is_off_and_in_a_sentence_only_names_the_flag():
    text = ("```bash\nvllm serve Qwen/Qwen3-32B-AWQ --no-enable-prefix-caching\n```\n\n"
            "Only `--no-enable-prefix-caching` turns it off.\n")
    doc = extract_claims("# Medium\n\n" + text, "docs/g.md", PROFILES)
    flags = [(c.line, c.key, c.value) for c in doc.claims if c.kind == "flag"]
    assert (4, "--enable-prefix-caching", "false") in flags
    assert (7, "--no-enable-prefix-caching", None) in flags


def test_another_programs_continued_command_is_not_vllm():
    text = ("```bash\npython bench.py \\\n  --endpoint http://localhost:5002 \\\n  --num-prompts 100\n```\n\n"
            "```bash\nvllm serve Qwen/Qwen3-32B-AWQ \\\n  --max-num-seqs 32\n```\n")
    doc = extract_claims("# Medium\n\n" + text, "docs/g.md", PROFILES)
    assert [(c.key, c.value) for c in doc.claims if c.kind == "flag" and c.key != "--model"] == [
        ("--max-num-seqs", "32")]


def test_runs_names_the_model_of_the_profile():
    doc = extract_claims("# Services\n\nThe medium service runs Qwen/Qwen3-32B-AWQ behind port 5002, "
                         "built on vllm/vllm-openai:v0.11.0.\n", "docs/g.md", PROFILES)
    models = [(c.value, c.profiles) for c in doc.claims if c.kind == "model"]
    assert models == [("Qwen/Qwen3-32B-AWQ", ["medium"])]
