"""The README's first command on a fresh machine: a clone, no pip cache, no local wheels.

Prints a table and writes bench/results/install.json. Run from the repository root:

    .venv/bin/python bench/install_bench.py

It clones this repository's HEAD into a temporary folder and runs the README's first command
there, `bash scripts/setup.sh && .venv/bin/sddd index && .venv/bin/sddd search "..."`, with
pip's configuration files ignored (no local index, no /opt/wheels find-links: every package from
PyPI) and its cache off, and a model cache of its own (the ONNX graph is built, not reused).
It records each step's wall and CPU time, the size of .venv on disk, its largest packages, and
whether torch, sentence-transformers or transformers got in. The network is part of the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import REPO, run_facts

RESULTS = Path(__file__).resolve().parent / "results"
QUERY = "chunked prefill medium"
TORCH = ("torch", "sentence_transformers", "transformers")
VERSIONS = ("import json\nfrom importlib.metadata import distributions\n"
            "print(json.dumps({d.metadata['Name']: d.version for d in distributions()}))")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def step(name: str, command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, object]:
    cpu, start = children_cpu(), time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"step": name, "wall_s": round(wall, 2), "cpu_s": round(children_cpu() - cpu, 2),
            "stdout_tail": proc.stdout.strip().splitlines()[-3:]}


def size_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())
    return total / 1e6


def fresh_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHONPATH", "SDDD_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               XDG_CACHE_HOME=str(work / "cache"), PYTHON=sys._base_executable)
    if "PIP_CERT" in os.environ:  # this machine's CA bundle: needed to reach PyPI, not a package source
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sddd-install-"))
    clone = work / "sddd"
    try:
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        env = fresh_env(work)
        steps = [step("bash scripts/setup.sh", ["bash", "scripts/setup.sh"], clone, env)]
        venv_mb = size_mb(clone / ".venv")
        site = next((clone / ".venv" / "lib").glob("python*/site-packages"))
        packages = sorted(((p.name, size_mb(p)) for p in site.iterdir() if p.is_dir()),
                          key=lambda item: -item[1])
        steps.append(step("sddd index", [".venv/bin/sddd", "index"], clone, env))
        steps.append(step(f'sddd search "{QUERY}"', [".venv/bin/sddd", "search", QUERY, "-f", "plain"],
                          clone, env))
        torch_in = [p for p in TORCH if (site / p).exists()]
        versions = json.loads(subprocess.run(  # the fresh environment's, not this interpreter's
            [str(clone / ".venv/bin/python"), "-c", VERSIONS], capture_output=True, text=True,
            check=True).stdout)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("| step (fresh clone, no pip cache, PyPI only) | wall | CPU |")
    print("| --- | --- | --- |")
    for s in steps:
        print(f"| `{s['step']}` | {s['wall_s']:.1f} s | {s['cpu_s']:.1f} s |")
    print(f"\n.venv on disk: {venv_mb:.0f} MB (target <= 700 MB); torch-like packages: {torch_in or 'none'}")
    print("largest: " + ", ".join(f"{n} {mb:.0f} MB" for n, mb in packages[:8]))
    RESULTS.mkdir(exist_ok=True)
    result = {**run_facts(), "versions": versions, "steps": steps, "venv_mb": round(venv_mb, 1),
              "torch_packages": torch_in,
              "largest_packages_mb": {n: round(mb, 1) for n, mb in packages[:15]}}
    (RESULTS / "install.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
