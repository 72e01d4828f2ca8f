"""`sddd bench` for people: a run's figures, the saved runs, two runs side by side."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from sddd.endpoint import bench_history as history
from sddd.output.console import out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def render_run(run: dict[str, Any], path: str | None) -> None:
    m, profile, server = run["metrics"], run.get("profile") or {}, run.get("server") or {}
    who = f"profile {profile['name']} ({profile['config_hash']})" if profile else "no profile"
    caching = (server.get("cache_config") or {}).get("enable_prefix_caching", "not reported")
    out.print(f"[bold]sddd bench --scenario {run['scenario']}[/bold] {escape(run['endpoint'])}: "
              f"{escape(who)}; model {escape(run['model'])}; vLLM {server.get('version') or '?'}; "
              f"prefix caching (server): {caching}")
    if run["scenario"] == "prefix":
        title = f"time to first token over {m['rounds']} rounds, prompt ~{_fmt(m['prompt_tokens'])} tokens"
        table = Table(title=title, title_justify="left")
        for col in ("", "p50 ms", "p95 ms", "mean ms"):
            table.add_column(col, justify="right" if col else "left")
        for kind in ("cold", "warm"):
            table.add_row(kind, *(_fmt(m[f"{s}_{kind}_ttft_ms"]) for s in ("p50", "p95", "mean")))
        out.print(table)
        out.print(f"speedup (cold p50 / warm p50): [bold]x{_fmt(m['speedup_p50'])}[/bold]; "
                  f"cache hits reported by the server: {_fmt(m['prefix_cache_hit_tokens'])} of "
                  f"{_fmt(m['prefix_cache_query_tokens'])} prompt tokens")
    else:
        table = Table(title=f"{m['completed']} requests, concurrency {run['params']['concurrency']}, "
                      f"{run['params']['input_tokens']} in / {run['params']['output_tokens']} out tokens",
                      title_justify="left")
        for col in ("", "mean ms", "p50 ms", "p95 ms", "p99 ms"):
            table.add_column(col, justify="right" if col else "left")
        for name, label in (("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2el", "E2EL")):
            table.add_row(label, *(_fmt(m[f"{s}_{name}_ms"]) for s in ("mean", "p50", "p95", "p99")))
        out.print(table)
        out.print(f"output {_fmt(m['output_throughput'])} tok/s, {_fmt(m['request_throughput'])} req/s "
                  f"over {_fmt(m['duration_s'])} s; failed: {m['failed']}")
    failed = m.get("failed") or 0
    if failed:
        errors = escape("; ".join(m.get("errors") or []))
        out.print(f"[bold red]{failed} request(s) failed[/bold red]: {errors}")
    if path:
        out.print(f"[dim]saved as {run['id']} ({escape(path)})[/dim]")


def _headline(run: dict[str, Any]) -> str:
    m = run.get("metrics") or {}
    if run.get("scenario") == "prefix":
        return (f"x{_fmt(m.get('speedup_p50'))} (cold {_fmt(m.get('p50_cold_ttft_ms'))} / "
                f"warm {_fmt(m.get('p50_warm_ttft_ms'))} ms)")
    return f"{_fmt(m.get('output_throughput'))} tok/s, TTFT p50 {_fmt(m.get('p50_ttft_ms'))} ms"


def render_history(runs: list[dict[str, Any]]) -> None:
    if not runs:
        out.print("No benchmark results yet; run `sddd bench`.")
        return
    table = Table(title="sddd bench --history", title_justify="left")
    table.add_column("id", no_wrap=True)
    for col in ("profile", "vLLM", "prefix caching", "result"):
        table.add_column(col)
    for run in runs:
        profile = run.get("profile") or {}
        server = run.get("server") or {}
        caching = (server.get("cache_config") or {}).get("enable_prefix_caching", "-")
        who = f"{profile['name']} {profile.get('config_hash', '')}" if profile else "-"
        table.add_row(run["id"], who, server.get("version") or "-", caching, _headline(run))
    out.print(table)


def render_compare(cmp: history.Comparison) -> None:
    table = Table(title=f"A = {cmp.a['id']}   B = {cmp.b['id']}", title_justify="left")
    for col in ("", "", "A", "B", "B/A"):
        table.add_column(col, overflow="fold")
    for row in cmp.rows:
        ratio = ""
        numbers = isinstance(row.a, int | float) and isinstance(row.b, int | float)
        if row.section == "metrics" and numbers and row.a:
            ratio = f"{row.b / row.a:.2f}"
        style = "bold yellow" if row.differs and row.section in ("flags", "server") else ""
        table.add_row(row.section, row.key, escape(_fmt(row.a)), escape(_fmt(row.b)), ratio, style=style)
    out.print(table)
