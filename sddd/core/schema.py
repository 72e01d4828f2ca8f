"""The schema of sddd.yaml: one typed option per key, each the one source of its default.

Top-level keys become fields of ``Config``; nested sections (``archive:``, ``drift:``,
``audit:``) are read with ``config.section(name)``, which returns the validated values with
every default filled in, whether or not sddd.yaml has the section (or exists at all).
"""

from __future__ import annotations

from sddd.core import options as opt
from sddd.core.models import DEFAULT_MODELS

# The score every ranking reports is the file's share of the most a file can get in the fusion of
# its rankings (sddd.index.scoring): 1.0 = first by every ranking. The same scale whatever the
# models, so one default threshold. 0.5: about what a file gets that one ranking puts first, or
# that every ranking puts near rank 28; the rank (top_k) is the main test of a target.
DEFAULT_MIN_SCORE = 0.5
LEVELS = ("error", "warning", "info")
# The level of each finding type, declared once here; sddd.yaml's drift.severity and
# audit.severity override them one by one.
DRIFT_SEVERITY = {"value_mismatch": "error", "unknown_flag": "error", "unknown_flag_not_in_profile": "info",
                  "unknown_model": "error", "undocumented": "warning", "stale_reference": "warning"}
AUDIT_SEVERITY = {"budget": "error", "naming": "warning", "variant": "warning", "env_tracked": "error",
                  "secret": "error", "env_missing": "warning", "env_unused": "info", "link_outside": "error"}


def _levels(defaults: dict[str, str]) -> dict[str, opt.Option]:
    return {name: opt.Str(default=level, choices=LEVELS, help=f"level of {name} (default {level})")
            for name, level in defaults.items()}


# One typed option per key. A new section of sddd.yaml is added here (see CONTRIBUTING.md).
SCHEMA: dict[str, opt.Option] = {
    "docs": opt.StrList(default=["docs/**/*.md"], help="globs of Markdown documents"),
    "profiles": opt.StrList(default=["profiles/*.yml"], help="globs of compose profiles"),
    "archives": opt.Str(default="archives", help="root of the dated archive folders"),
    "index": opt.Str(default=".sddd", help="where the index lives (git-ignored)"),
    "model": opt.StrList(default=list(DEFAULT_MODELS),
                         help="embedding model(s), fused when several: bundled names, local folders or "
                              "hub names (default: all-MiniLM-L6-v2 and use-multilingual-v3)"),
    "device": opt.Str(default="cpu", choices=("cpu", "cuda", "auto"),
                      help="where `sddd index` embeds passages: cpu, cuda (a GPU, through torch) or auto "
                           "(a GPU when torch sees one); searches always embed on the CPU"),
    "canonical_profile": opt.Str(default="medium", help="profile deployed by default"),
    "base_profile": opt.Str(default="profiles/base.yml", help="compose file every profile extends"),
    "min_score": opt.Number(default=None, minimum=0.0, maximum=1.0,
                            help="default target score: a file's 0-1 fused-rank share (unset: 0.5)"),
    "top_k": opt.Number(default=5, minimum=1, integer=True, help="default target rank"),
    "targets": opt.ListOf(default=[], help="discoverability targets (see `sddd check`)"),
    # Every bound on what one input may cost, in one place; hitting one is one error line that
    # names the file, the line where known, the limit and this setting.
    "limits": opt.Mapping(schema={
        "yaml_kb": opt.Number(default=1024, minimum=1, integer=True,
                              help="largest YAML document sddd reads, in KB: sddd.yaml, compose "
                                   "profiles, grid and target files, front matter"),
        "yaml_nodes": opt.Number(default=100_000, minimum=100, integer=True,
                                 help="most values a YAML document may hold once its aliases "
                                      "(*name, <<: *name) are expanded: refuses alias bombs"),
        "yaml_depth": opt.Number(default=100, minimum=10, maximum=500, integer=True,
                                 help="deepest nesting of a YAML document"),
        "grid_variants": opt.Number(default=1000, minimum=1, integer=True,
                                    help="most variants a grid file may make, counted before any "
                                         "is built (the product of its axes' sizes)"),
        "query_chars": opt.Number(default=4096, minimum=64, integer=True,
                                  help="longest search query, in characters"),
    }, help="bounds on what one input may cost (memory, time)"),
    "search": opt.Mapping(schema={
        "rerank": opt.Mapping(schema={
            "url": opt.Str(default=None, help="the OpenAI-compatible server that rescores the best files "
                                              "(e.g. http://gpu-box:8000); unset: no reranker"),
            "model": opt.Str(default=None, help="the model it serves for that (a reranker such as "
                                                "Qwen3-Reranker, or a chat model asked yes/no)"),
            "protocol": opt.Str(default="auto", choices=("auto", "rerank", "score", "chat"),
                                help="rerank: POST /v1/rerank; score: POST /v1/score; chat: "
                                     "/v1/chat/completions asked yes or no; auto: the first of those "
                                     "the server answers"),
            "timeout_ms": opt.Number(default=2000, minimum=50, maximum=60_000, integer=True,
                                     help="the most a search waits for it, in ms; slower, down or "
                                          "answering nonsense: the results without it, and one notice"),
            "api_key_env": opt.Str(default=None, pattern=r"[A-Za-z_][A-Za-z0-9_]*",
                                   help="the environment variable holding the server's API key"),
        }, help="an optional reranker of the top 30 files (`sddd search`, MCP search)"),
    }, help="`sddd search` and MCP search: the optional reranker"),
    "indexing": opt.Mapping(schema={
        "max_file_mb": opt.Number(default=10, minimum=0.001,
                                  help="a file larger than this (MB) is skipped with one line"),
        "max_word_chars": opt.Number(default=1024, minimum=16, integer=True,
                                     help="a run without whitespace longer than this is indexed as its "
                                          "first max_word_chars characters (base64, data URIs), with a line"),
        "workers": opt.Number(default=0, minimum=0, integer=True,
                              help="processes that chunk files while indexing (0: one per core)"),
    }, help="`sddd index`: limits on what one file may cost, and the processes that chunk"),
    "archive": opt.Mapping(schema={
        "retention_months": opt.Number(default=6, minimum=0, maximum=120, integer=True,
                                       help="months an archive is kept before its review date"),
        "category": opt.Str(default="docker_configs", pattern=r"[A-Za-z0-9][A-Za-z0-9_-]*",
                            help="default folder prefix: archives/<category>_<YYYYMMDD>/"),
        "variant_markers": opt.StrList(
            default=["fixed", "new", "improved", "optimized", "memory-optimized", "original-parser",
                     "old", "bak", "backup", "orig", "copy"],
            help="name segments that mark a superseded copy (docker-compose-medium-fixed.yml)"),
        "near_duplicate": opt.Number(default=0.6, minimum=0.0, maximum=1.0,
                                     help="share of identical settings that makes a near-duplicate"),
        "agent_globs": opt.StrList(
            default=[], help="files an agent may archive through `sddd mcp --allow-writes` besides "
                             "the superseded copies detection finds (globs from the repository root)"),
    }, help="`sddd archive`: retention, folder naming, variant detection"),
    "drift": opt.Mapping(schema={
        "fail_on": opt.Str(default="error", choices=("error", "warning", "info"),
                           help="lowest severity that makes `sddd drift` exit 1"),
        "severity": opt.Mapping(schema=_levels(DRIFT_SEVERITY), help="severity per finding type"),
        "known_models": opt.StrList(default=[], help="model ids that exist, besides sddd's list"),
        "known_flags": opt.StrList(default=[], help="vLLM flags your version has, besides sddd's list"),
        "vllm_version": opt.Str(default=None, pattern=r"v?\d+\.\d+(?:\.\d+)?\S*",
                                help="the vLLM version whose defaults apply when an image tag names "
                                     "none (latest)"),
    }, help="`sddd drift`: docs that contradict the profiles"),
    "audit": opt.Mapping(schema={
        "fail_on": opt.Str(default="error", choices=("error", "warning", "info"),
                           help="lowest severity that makes `sddd audit` exit 1"),
        "max_compose_outside_profiles": opt.Number(default=None, minimum=0, integer=True,
                                                   help="compose files allowed outside the profiles"),
        "max_scripts": opt.Number(default=None, minimum=0, integer=True, help="scripts allowed"),
        "scripts": opt.StrList(default=["**/*.sh", "**/*.ps1", "**/*.bat", "**/*.cmd"],
                               help="globs of the files that count as scripts"),
        "max_docs": opt.Mapping(schema={
            kind: opt.Number(default=None, minimum=0, integer=True, help=f"{kind} documents allowed")
            for kind in ("guide", "report", "total")
        }, help="documents allowed per kind"),
        "profile_name": opt.Str(default=r"[a-z0-9]+", help="regex a profile's name must match"),
        "service_name": opt.Str(default="vllm-{size}", help="name of the service in profiles/{size}.yml"),
        "env_example": opt.Str(default=".env.example", help="the template of the env file"),
        "secrets_allow": opt.StrList(default=[], help="globs of tracked files with allowed fake secrets"),
        "severity": opt.Mapping(schema=_levels(AUDIT_SEVERITY),
                                help="severity per audit rule (lint rules keep their own)"),
    }, help="`sddd audit`: entropy budget, naming, secret hygiene, compose lint"),
    "cluster": opt.Mapping(schema={
        "node_labels": opt.LabelMap(
            default={}, help="profile -> labels its node must carry: Swarm placement constraints "
                             "(node.labels.K == V) and the Kubernetes nodeSelector"),
        "gpu_resource": opt.Str(default="NVIDIA-GPU", pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
                                help="the Swarm generic resource the daemons advertise for GPUs "
                                     "(node-generic-resources in daemon.json)"),
        "kubernetes_version": opt.Str(default="1.33", pattern=r"1\.\d+",
                                      help="the Kubernetes version the exported manifests are "
                                           "written (and validated) for"),
        "model_cache_size": opt.Str(default="100Gi", pattern=r"\d+(\.\d+)?(Ki|Mi|Gi|Ti)",
                                    help="size of the model cache PersistentVolumeClaim"),
        "storage_class": opt.Str(default=None, help="storageClassName of that claim (unset: the "
                                                    "cluster's default class)"),
        "secret_name": opt.Str(default="{service}-secrets", pattern=r"[a-z0-9{}.-]+",
                               help="the Kubernetes Secret that holds the tokens and API keys"),
        "shm_size": opt.Str(default="16Gi", pattern=r"\d+(\.\d+)?(Ki|Mi|Gi|Ti)",
                            help="shared memory for tensor parallelism where `ipc: host` has no "
                                 "meaning (a tmpfs on Swarm, a memory-backed volume on Kubernetes)"),
    }, help="beyond one host: `sddd deploy --target swarm` and `sddd export kubernetes`"),
    "messages": opt.Mapping(schema={
        "max_kb": opt.Number(default=1024, minimum=1, maximum=1 << 20, integer=True,
                             help="largest message a client may send to `sddd mcp` (one line on "
                                  "stdio) or `sddd serve` (one request on its socket), in KB"),
        "max_depth": opt.Number(default=64, minimum=2, maximum=512, integer=True,
                                help="deepest nesting of JSON arrays and objects in such a message"),
    }, help="`sddd mcp` and `sddd serve`: the bounds of what a client may send"),
}

# The nested sections, read with Config.section(name).
SECTIONS = tuple(key for key, option in SCHEMA.items() if isinstance(option, opt.Mapping))
