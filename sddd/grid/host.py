"""Facts about the machine a grid ran on, kept with every result: figures from another host,
or another engine version, are not comparable, and the report says where they come from."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sddd.deploy.docker import compose_command


def _first(path: str, key: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return None


def _gpus() -> list[str]:
    """``name, memory`` of each NVIDIA GPU, when nvidia-smi is there (empty on a CPU host)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        done = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def _compose_version() -> str | None:
    argv = compose_command()
    if argv is None:
        return None
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        done = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=10,
                              check=False)
        return done.stdout.strip() or None
    return None


def host_facts(client: Any) -> dict[str, Any]:
    memory = _first("/proc/meminfo", "MemTotal")  # "24567890 kB"
    facts: dict[str, Any] = {
        "hostname": platform.node(), "os": platform.platform(terse=True), "machine": platform.machine(),
        "cpus": os.cpu_count(), "cpu_model": _first("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(memory.split()[0]) / 1024 / 1024, 1) if memory else None,
        "gpus": _gpus(), "compose": _compose_version(),
    }
    try:
        facts["docker"] = str(client.version().get("Version"))
    except Exception:  # the engine answered a ping a moment ago; a version is a nicety
        facts["docker"] = None
    return facts
