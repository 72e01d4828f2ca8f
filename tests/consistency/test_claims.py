"""Claims extracted from Markdown: where they come from and which rule ties them to a profile."""

from __future__ import annotations

from sddd.consistency.claims import is_vllm_flag, names_in
from sddd.consistency.extract import extract_claims

PROFILES = ["micro", "mini", "medium"]


def claims(text: str, kind: str | None = None):
    doc = extract_claims(text, "docs/guide.md", PROFILES)
    return [c for c in doc.claims if kind is None or c.kind == kind]


def one(text: str, kind: str, key: str | None = None):
    found = [c for c in claims(text, kind) if key is None or c.key == key]
    assert len(found) == 1, found
    return found[0]


def test_flag_table_with_value_column_and_underscored_flag():
    text = ("# Medium\n\n| Paramètre | Valeur | Justification |\n|---|---|---|\n"
            "| `--gpu-memory-utilization` | 0.95 | Optimal |\n| `--kv_cache_dtype` | fp8 | 8-bit |\n"
            "| `--enable-prefix-caching` | `on` | reuse |\n")
    gpu = one(text, "flag", "--gpu-memory-utilization")
    assert (gpu.value, gpu.line, gpu.where) == ("0.95", 5, "table")
    assert (gpu.profiles, gpu.rule) == (["medium"], "heading")
    assert one(text, "flag", "--kv-cache-dtype").value == "fp8"
    assert one(text, "flag", "--enable-prefix-caching").value == "true"  # `on`: the switch is on


def test_profile_columns_and_row_profiles():
    text = ("| Setting | micro | mini | medium |\n|---|---|---|---|\n"
            "| `image` | `vllm/vllm-openai:v0.11.0` | `vllm/vllm-openai:v0.10.0` "
            "| `vllm/vllm-openai:v0.11.0` |\n"
            "| `--max-num-seqs` | 16 | 16 | 32 |\n\n"
            "| Profile | Model | GPUs | Host port |\n|---|---|---|---|\n"
            "| `profiles/mini.yml` | `Qwen/Qwen3-8B-AWQ` | 2 (shared with micro) | 5001 |\n")
    images = {c.profiles[0]: (c.value, c.rule) for c in claims(text, "image")}
    assert images["mini"] == ("vllm/vllm-openai:v0.10.0", "column")
    seqs = {c.profiles[0]: c.value for c in claims(text, "flag")}
    assert seqs == {"micro": "16", "mini": "16", "medium": "32"}
    row = [c for c in claims(text) if c.line == 8]
    assert {(c.kind, c.value, c.rule) for c in row} >= {("model", "Qwen/Qwen3-8B-AWQ", "row"),
                                                      ("gpu", "2", "row"), ("port", "5001", "row")}
    assert all(c.profiles == ["mini"] for c in row)


def test_inline_code_forms_and_other_programs_flags():
    text = ("---\nprofiles: [medium]\n---\n\n"
            "Run with `--gpu-memory-utilization 0.85` and `--max-model-len=131072`.\n"
            "The scheduler takes `max-num-seqs: 32`; the parser is `--tool-call-parser` set to `hermes`.\n"
            "Always pass `--env-file .env` to Compose and never `--enforce-eager`.\n")
    got = {(c.key, c.value, c.line) for c in claims(text, "flag")}
    assert ("--gpu-memory-utilization", "0.85", 5) in got
    assert ("--max-model-len", "131072", 5) in got
    assert ("--max-num-seqs", "32", 6) in got
    assert ("--tool-call-parser", "hermes", 6) in got
    assert ("--enforce-eager", None, 7) in got  # mentioned, no value
    assert not any(k == "--env-file" for k, _, _ in got)  # Compose's flag, not vLLM's
    assert all(c.rule == "front-matter" for c in claims(text))


def test_code_blocks_compose_items_and_vllm_serve_continuations():
    text = ("## Medium service\n\n```yaml\nservices:\n  vllm-medium:\n    image: vllm/vllm-openai:v0.9.2\n"
            "    command:\n      - \"--model=Qwen/Qwen2-32B-Instruct-AWQ\"\n"
            "      - --max-num-seqs=48\n```\n\n"
            "```bash\nvllm serve Qwen/Qwen3-8B-AWQ \\\n  --gpu-memory-utilisation 0.9 \\\n  --port 8000\n"
            "docker logs --tail 20 vllm-medium\n```\n")
    assert one(text, "image").value == "vllm/vllm-openai:v0.9.2"
    assert {c.value for c in claims(text, "model")} == {"Qwen/Qwen2-32B-Instruct-AWQ", "Qwen/Qwen3-8B-AWQ"}
    flags = {c.key: (c.value, c.line) for c in claims(text, "flag")}
    assert flags["--max-num-seqs"] == ("48", 9)
    assert flags["--gpu-memory-utilisation"] == ("0.9", 14)  # typo kept: drift reports it
    assert flags["--port"] == ("8000", 15)
    assert "--tail" not in flags


def test_heading_naming_one_profile_beats_the_line():
    text = "## The mini profile\n\nKernels for AWQ, as on medium: `--quantization awq_marlin`.\n"
    c = one(text, "flag")
    assert (c.profiles, c.rule) == (["mini"], "heading")


def test_nearest_uses_the_sentence_across_wrapped_lines():
    text = ("---\nprofiles: [micro, mini, medium]\n---\n\n"
            "The medium service keeps its share. Micro runs with\n`--gpu-memory-utilization` set to `0.30` "
            "on the shared card.\n")
    c = one(text, "flag")
    assert (c.value, c.profiles, c.rule, c.line) == ("0.30", ["micro"], "nearest", 6)


def test_heading_with_several_profiles_limits_the_candidates():
    text = ("---\nprofiles: [micro, mini, medium]\n---\n\n## Why micro and mini share GPU 2\n\n"
            "Check GPU 2 before changing the share, as on medium.\n")
    c = one(text, "gpu")
    assert (c.value, c.profiles, c.rule) == ("2", ["micro", "mini"], "heading-any")


def test_front_matter_any_and_no_clue():
    many = one("---\nprofiles: [micro, medium]\n---\n\nServed on `localhost:5002`.\n", "port")
    assert (many.profiles, many.rule) == (["micro", "medium"], "front-matter-any")
    none = one("Image: `vllm/vllm-openai:v0.11.0`.\n", "image")
    assert (none.profiles, none.rule) == (PROFILES, "any")


def test_code_block_takes_the_profile_of_the_paragraph_before_it():
    text = ("**Fichier 3 : docker-compose-qwen3-mini.yml**\n```yaml\n    command:\n"
            "      - --quantization=awq\n```\n")
    c = one(text, "flag")
    assert (c.profiles, c.rule, c.line) == (["mini"], "nearest", 4)


def test_ports_models_gpus_in_prose():
    text = ("# Medium\n\nHealth: `curl http://localhost:8002/health`; the **Port** : 5002 (local).\n"
            "GPUs 0 and 1 with CUDA_VISIBLE_DEVICES=0,1 serve Qwen3-32B-AWQ. 2 GPUs, 24 GB each.\n")
    assert sorted(c.value for c in claims(text, "port")) == ["5002", "8002"]
    assert {c.value for c in claims(text, "gpu")} == {"0,1"}
    model = one(text, "model")
    assert (model.value, model.explicit) == ("Qwen3-32B-AWQ", False)


def test_prose_key_values_but_not_definitions():
    text = ("# Medium\n\n- **gpu-memory-utilization** : 0.85 (vs 0.95 baseline)\n"
            "- **enable-prefix-caching** : ❌ false (RETIRÉ)\n"
            "- `--trust-remote-code`: Qwen3 is supported natively by vLLM.\n")
    got = {(c.key, c.value) for c in claims(text, "flag")}
    assert ("--gpu-memory-utilization", "0.85") in got
    assert ("--enable-prefix-caching", "false") in got
    assert ("--trust-remote-code", None) in got and ("--trust-remote-code", "Qwen3") not in got


def test_references_links_paths_front_matter_and_examples():
    text = ("---\nprofiles: [medium, large]\n---\n\n"
            "See the [guide](../guides/x.md#a) and `profiles/medium.yml`.\n"
            "Never keep copies such as\n`medium-fixed.yml` next to the profiles.\n"
            "Deploy with `docker compose -f docker-compose-medium-qwen3-fixed.yml up -d`.\n\n"
            "## Archived files\n\n| `docker-compose-old.yml` | gone |\n")
    refs = {(r.how, r.target, r.line) for r in extract_claims(text, "docs/g/a.md", PROFILES).references}
    assert ("front-matter", "large", 2) in refs and ("front-matter", "medium", 2) in refs
    assert ("link", "../guides/x.md#a", 5) in refs
    assert ("inline", "profiles/medium.yml", 5) in refs
    assert ("inline", "docker-compose-medium-qwen3-fixed.yml", 8) in refs
    targets = {t for _, t, _ in refs}
    assert "medium-fixed.yml" not in targets  # an example of what not to do
    assert "docker-compose-old.yml" not in targets  # under a heading about archives


def test_kind_helpers():
    assert extract_claims("# R\n", "docs/reports/2025-01-01-x.md", PROFILES).kind == "report"
    assert extract_claims("---\nkind: report\n---\n# R\n", "docs/x.md", PROFILES).kind == "report"
    assert is_vllm_flag("--kv_cache_dtype") and is_vllm_flag("--no-enable-prefix-caching")
    assert not is_vllm_flag("--gpu-memory-utilisation")
    assert names_in("vllm-medium and mini-batch", PROFILES) == ["mini", "medium"]
