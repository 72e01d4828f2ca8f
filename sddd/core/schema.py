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


def default_min_score(models: list[str]) -> float:
    """The default target threshold when sddd.yaml sets no ``min_score`` (any models)."""
    return DEFAULT_MIN_SCORE


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
    }, help="`sddd archive`: retention, folder naming, variant detection"),
    "drift": opt.Mapping(schema={
        "fail_on": opt.Str(default="error", choices=("error", "warning", "info"),
                           help="lowest severity that makes `sddd drift` exit 1"),
        "severity": opt.Mapping(schema={
            name: opt.Str(default=None, choices=("error", "warning", "info"), help=f"level of {name}")
            for name in ("value_mismatch", "unknown_flag", "unknown_flag_not_in_profile",
                         "unknown_model", "undocumented", "stale_reference")
        }, help="severity per finding type (unset: the built-in default)"),
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
        "severity": opt.Mapping(schema={
            name: opt.Str(default=None, choices=("error", "warning", "info"), help=f"level of {name}")
            for name in ("budget", "naming", "variant", "env_tracked", "secret", "env_missing",
                         "env_unused", "link_outside")
        }, help="severity per audit rule (lint rules keep their own)"),
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
}

# The nested sections, read with Config.section(name).
SECTIONS = tuple(key for key, option in SCHEMA.items() if isinstance(option, opt.Mapping))
