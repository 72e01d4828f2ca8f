"""Saved benchmark runs: `--compare -2 -1`, the README's example, is the last two runs."""

from __future__ import annotations

import json

from sddd.core.config import load_config
from sddd.endpoint.bench_history import new_run, save_run
from tests.helpers import sddd_here, write


def test_negative_keys_count_from_the_latest_run(tmp_path):
    write(tmp_path, "sddd.yaml", "docs: ['docs/**/*.md']\n")
    config = load_config(tmp_path / "sddd.yaml")
    ids = []
    for day, ttft in ((1, 300.0), (2, 200.0), (3, 100.0)):  # oldest first
        run = new_run("prefix", {"rounds": 1}, "http://127.0.0.1:1", "m", None, {},
                      {"p50_cold_ttft_ms": ttft})
        run["date"] = f"2026-01-0{day}T00:00:00+00:00"
        run["id"] = f"2026010{day}-000000-prefix-{day:04x}"
        save_run(config, run)
        ids.append(run["id"])
    proc = sddd_here("bench", "--compare", "-2", "-1", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cmp = json.loads(proc.stdout)
    assert (cmp["a"]["id"], cmp["b"]["id"]) == (ids[1], ids[2])  # the newest is never skipped
    latest = json.loads(sddd_here("bench", "--compare", "-3", "latest", "--json", cwd=tmp_path).stdout)
    assert (latest["a"]["id"], latest["b"]["id"]) == (ids[0], ids[2])
    for key in ("-4", "-0"):
        bad = sddd_here("bench", "--compare", key, "-1", cwd=tmp_path)
        assert bad.returncode == 2 and "only 3 run(s) are saved" in bad.stderr, bad.stderr
