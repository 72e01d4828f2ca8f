"""A repository like the seeds' (../shared/seeds/, French): their real contradictions, in small.

``build_seed_repo(root)`` writes it under ``root`` (a git work tree with everything committed,
``.env`` included, as the seeds feared) and returns a ``SeedRepo`` whose ``line(rel, text)``
gives the line a test expects a finding on. What it reproduces, and from which seed:

- profiles/medium.yml: gpu-memory-utilization 0.85, host port 5002, vllm/vllm-openai:v0.11.0,
  Qwen/Qwen3-32B-AWQ on GPUs 0 and 1 (the profile the team validated, seeds 001/004);
- docs/docker/ARCHITECTURE.md (seed 003, a guide): 0.95 in its flag table, ``Port: 8002`` and
  ``curl http://localhost:8002/health``; ``--kv_cache_dtype`` (underscores) agrees;
- docs/reports/2025-10-16-redeploiement-medium.md (seed 002, a report): the "Qwen3 medium"
  service that served Qwen/Qwen2.5-32B-Instruct-AWQ at 0.90;
- docs/RESTORATION_PLAN_V2.md (seed 000, read as a guide): image v0.9.2, the model ids that do
  not exist (Qwen2-32B-Instruct-AWQ, Qwen2-1.7B-Instruct-fp8) and Qwen1.5-0.5B-Chat for mini,
  a "source of truth" that does not exist, a compose variant since archived;
- budgets of seed 000: 8 scripts, 3 compose files (outside profiles/), 10 documents; the repo
  has 10 scripts, 5 root compose variants, 12 documents;
- a tracked .env with a token, .env.example missing VLLM_API_KEY_MINI and keeping an unused
  GPU_MEMORY_UTILIZATION; micro on ``runtime: nvidia`` (seed 002's "fix"), mini without
  healthcheck (seed 000's compose files).
"""

from __future__ import annotations

import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

FAKE_HF_TOKEN = "hf_" + "SeedRepoFakeToken0123456789abcdef"

CONFIG = """\
docs: ["docs/**/*.md"]
profiles: ["profiles/*.yml"]
canonical_profile: medium
audit:
  max_compose_outside_profiles: 3
  max_scripts: 8
  max_docs: {total: 10}
"""

BASE = """\
volumes:
  hf-cache: {}
"""

MEDIUM = """\
name: vllm-medium
services:
  vllm-medium:
    image: vllm/vllm-openai:v0.11.0
    command:
      - --model=Qwen/Qwen3-32B-AWQ
      - --port=8000
      - --tensor-parallel-size=2
      - --quantization=awq_marlin
      - --kv-cache-dtype=fp8
      - --gpu-memory-utilization=0.85
      - --max-model-len=131072
      - --max-num-seqs=32
      - --enable-auto-tool-choice
      - --tool-call-parser=hermes
    environment:
      HF_TOKEN: ${HUGGING_FACE_HUB_TOKEN}
      VLLM_API_KEY: ${VLLM_API_KEY_MEDIUM}
    ports:
      - "${VLLM_PORT_MEDIUM:-5002}:8000"
    ipc: host
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ['0', '1']
              capabilities: [gpu]
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"]
      start_period: 900s
"""

MINI = """\
name: vllm-mini
services:
  vllm-mini:
    image: vllm/vllm-openai:v0.11.0
    command:
      - --model=Qwen/Qwen3-8B-AWQ
      - --quantization=awq_marlin
      - --gpu-memory-utilization=0.55
    environment:
      VLLM_API_KEY: ${VLLM_API_KEY_MINI}
    ports:
      - "${VLLM_PORT_MINI:-5001}:8000"
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ['2']
              capabilities: [gpu]
"""

MICRO = """\
name: vllm-micro
services:
  vllm-micro:
    image: vllm/vllm-openai:v0.11.0
    runtime: nvidia
    command:
      - --model=Qwen/Qwen3-1.7B-FP8
      - --gpu-memory-utilization=0.30
    environment:
      - NVIDIA_VISIBLE_DEVICES=2
      - VLLM_API_KEY=${VLLM_API_KEY_MICRO}
    ports:
      - "${VLLM_PORT_MICRO:-5000}:8000"
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8000/health"]
"""

ARCHITECTURE = """\
# Architecture Docker - Service vLLM

**Date de création**: 2025-10-16
**Statut**: ✅ Active

## Fichiers Actifs

### 1. `configs/docker/profiles/medium.yml`

**Statut** : ✅ ACTIF
**Rôle** : Configuration du service medium (Qwen3-32B-AWQ)

```yaml
Service: myia-vllm-medium-qwen3
Modèle: Qwen/Qwen3-32B-AWQ
GPUs: 2 (CUDA_VISIBLE_DEVICES=0,1)
Context Max: 131072 tokens (128k) ✅ OPTIMAL
Memory Util: 0.95
Tensor Parallel: 2
Port: 8002
```

#### Paramètres Critiques

| Paramètre | Valeur | Justification |
|-----------|--------|---------------|
| `--max-model-len` | 131072 | Taille maximale supportée par Qwen3-32B (128k tokens) |
| `--tensor-parallel-size` | 2 | Requis pour AWQ sur 2 GPUs |
| `--gpu-memory-utilization` | 0.95 | Optimal pour production (balance performance/stabilité) |
| `--quantization` | awq_marlin | Activation-aware Weight Quantization optimisée |
| `--kv_cache_dtype` | fp8 | 8-bit float pour optimisation mémoire cache |

### Vérification de Santé

```bash
# Status du conteneur
docker ps --filter "name=myia-vllm-medium-qwen3"

# Endpoint de santé
curl http://localhost:8002/health
```

## Fichiers Archivés

| Fichier | Raison de l'archivage | Notes |
|---------|----------------------|-------|
| `docker-compose-medium-qwen3-fixed.yml` | Redondant - Version "fixed" | Remplacé par `profiles/medium.yml` |
"""

PLAN = """\
# PLAN DE RESTAURATION DÉTAILLÉ V2 - Projet myia_vllm

**Date de Création :** 23 septembre 2025

### Artefacts Stables de Référence

**Configuration Technique Validée (Score Sémantique 0.913) :**
- **Source de Vérité :** `00_MASTER_CONFIGURATION_GUIDE.md` (document maître consolidé)
- **Architecture Docker :** 3 profils modulaires (Micro 1.7B, Mini 8B, Medium 32B)
- **Image Officielle :** `vllm/vllm-openai:v0.9.2`

### 2.1 Architecture Cible Selon Artefacts Stables

```yaml
myia_vllm/
├── docker-compose-qwen3-medium.yml   # 🎯 Qwen2-32B-Instruct-AWQ (2 GPU)
├── docker-compose-qwen3-micro.yml    # 🎯 Qwen2-1.7B-Instruct-fp8 (1 GPU)
├── docker-compose-qwen3-mini.yml     # 🎯 Qwen1.5-0.5B-Chat (1 GPU)
└── .env                               # 🎯 Configuration centralisée
```

**Fichier 1 : docker-compose-qwen3-medium.yml**
```yaml
services:
  vllm-medium:
    image: vllm/vllm-openai:v0.9.2
    ports:
      - "${VLLM_PORT_MEDIUM:-5002}:8000"
    command:
      - "--model=Qwen/Qwen2-32B-Instruct-AWQ"
      - "--quantization=awq_marlin"
      - "--tensor-parallel-size=2"
```

#### Plan de Rollback

1. **Restauration Docker :** relancer `docker-compose-medium-qwen3-fixed.yml` depuis la racine du projet
"""

README_QWEN3 = """\
---
profiles: [medium, large]
---

# Documentation Qwen3

Le [document maître](00_MASTER_CONFIGURATION_GUIDE.md) est la source de vérité.
"""

REPORT = """\
# Rapport de Redéploiement - Service Medium Qwen3

**Date** : 2025-10-16

### Configuration Modèle

```yaml
Modèle: Qwen/Qwen2.5-32B-Instruct-AWQ
GPU Memory Utilization: 0.90 (90%)
Tensor Parallel: 2 (GPUs 0,1)
```

### Paramètres vLLM Optimaux

```bash
--model Qwen/Qwen2.5-32B-Instruct-AWQ
--quantization awq
--max-model-len 131072
--gpu-memory-utilization 0.90
--tensor-parallel-size 2
--served-model-name Qwen2.5-32B-Instruct-AWQ
```
"""

ENV = f"""\
HUGGING_FACE_HUB_TOKEN={FAKE_HF_TOKEN}
VLLM_API_KEY_MEDIUM=medium_api_key_here
"""

ENV_EXAMPLE = """\
HUGGING_FACE_HUB_TOKEN=<your token>
VLLM_API_KEY_MICRO=changeme
VLLM_API_KEY_MEDIUM=changeme
VLLM_PORT_MICRO=5000
VLLM_PORT_MINI=5001
VLLM_PORT_MEDIUM=5002
GPU_MEMORY_UTILIZATION=0.9
"""

VARIANTS = ["docker-compose-medium-qwen3-optimized.yml", "docker-compose-medium-qwen3-memory-optimized.yml",
            "docker-compose-micro-qwen3-improved.yml", "docker-compose-micro-qwen3-new.yml",
            "docker-compose-mini-qwen3-optimized.yml"]
SCRIPTS = ["deploy/deploy-qwen3.ps1", "validate/validate-services.ps1", "maintenance/monitor-logs.ps1",
           "powershell/deploy-qwen3-services.ps1", "powershell/start-qwen3-services.ps1",
           "powershell/test-qwen3-services.ps1", "powershell/setup-qwen3-environment.ps1",
           "powershell/validate-qwen3-configurations.ps1", "archive_docker_configs.ps1",
           "setup-qwen3-environment.ps1"]


@dataclass
class SeedRepo:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "sddd.yaml"

    def line(self, rel: str, text: str) -> int:
        """The 1-based line of ``rel`` holding ``text`` (exactly one must)."""
        lines = (self.root / rel).read_text(encoding="utf-8").split("\n")
        hits = [i + 1 for i, line in enumerate(lines) if text in line]
        assert len(hits) == 1, f"{text!r} is on lines {hits} of {rel}"
        return hits[0]


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def build_seed_repo(root: Path, git: bool = True) -> SeedRepo:
    files = {
        "sddd.yaml": CONFIG, "profiles/base.yml": BASE, "profiles/medium.yml": MEDIUM,
        "profiles/mini.yml": MINI, "profiles/micro.yml": MICRO,
        "docs/docker/ARCHITECTURE.md": ARCHITECTURE, "docs/RESTORATION_PLAN_V2.md": PLAN,
        "docs/qwen3/README.md": README_QWEN3, "docs/reports/2025-10-16-redeploiement-medium.md": REPORT,
        ".env": ENV, ".env.example": ENV_EXAMPLE,
        "archives/docker_configs_20251016/docker-compose-medium-qwen3-fixed.yml": MEDIUM,
    }
    for day in range(1, 9):  # the 150 reports, in small: 12 documents against a budget of 10
        files[f"docs/reports/2025-10-0{day}-point-quotidien.md"] = f"# Point du {day} octobre\n\nRAS.\n"
    for i, name in enumerate(VARIANTS):
        files[name] = MEDIUM.replace("--max-num-seqs=32", f"--max-num-seqs={16 + 8 * i}")
    for rel in SCRIPTS:
        files[f"scripts/{rel}"] = "Write-Host 'myia_vllm'\n"
    for rel, text in files.items():
        _write(root, rel, text)
    if git:
        def run(*args: str) -> None:
            subprocess.run(["git", "-c", "user.name=seed", "-c", "user.email=seed@example.org", *args],
                           cwd=root, check=True, capture_output=True)
        run("init", "-q")
        run("add", "-A")
        run("commit", "-q", "-m", "seed repository")
    return SeedRepo(root)
