"""`sddd bench`: measure a live vLLM server (prefix cache, load), save and compare the results."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from sddd.commands.common import JSON_HELP, get_config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.endpoint import bench_history as history
from sddd.endpoint.client import DEFAULT_TIMEOUT, Endpoint, ProfileRef, resolve_target
from sddd.output.console import notice, out, print_json

SCENARIOS = ("prefix", "load")


def _model(endpoint: Endpoint, ref: ProfileRef | None, wanted: str | None) -> tuple[str, dict[str, Any]]:
    info = endpoint.server_info()
    if info.error:
        raise UsageError(f"{endpoint.base_url}: {info.error}")
    if wanted:
        if wanted not in info.models:
            raise UsageError(f"--model {wanted!r} is not served here; /v1/models lists "
                             f"{', '.join(info.models)}")
        return wanted, info.to_json()
    expected = ref.models if ref else []
    found = next((m for m in info.models if m in expected or info.roots.get(m) in expected), None)
    if expected and found is None:
        raise UsageError(f"{endpoint.base_url} serves {', '.join(info.models)}, not the model of profile "
                         f"{ref.name if ref else '?'} ({' or '.join(expected)}); pass --model or --url")
    if not info.models:
        raise UsageError(f"{endpoint.base_url}: /v1/models lists no model")
    return found or info.models[0], info.to_json()


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


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench_command(
        ctx: typer.Context,
        profile: str | None = typer.Argument(
            None, help="Profile whose server to measure (default: canonical_profile)."
        ),
        url: str | None = typer.Option(None, "--url", help="Server to measure, e.g. http://127.0.0.1:5002."),
        scenario: str = typer.Option("prefix", "--scenario", help="prefix (cache cold vs warm) or load."),
        rounds: int | None = typer.Option(
            None, "--rounds", help="prefix: cold/warm pairs (default 5); load: requests (default 32)."
        ),
        concurrency: int = typer.Option(4, "--concurrency", help="load: concurrent streams."),
        prefix_tokens: int = typer.Option(
            1200, "--prefix-tokens", help="prefix: length of the shared prefix (tokens)."
        ),
        input_tokens: int = typer.Option(256, "--input-tokens", help="load: prompt length."),
        output_tokens: int = typer.Option(32, "--output-tokens", help="load: tokens generated per request."),
        model: str | None = typer.Option(None, "--model", help="Served model name (default: the profile's)."),
        api_key_env: str | None = typer.Option(
            None, "--api-key-env", metavar="VAR",
            help="Environment variable holding the API key (default: the profile's; never printed).",
        ),
        save: bool = typer.Option(True, "--save/--no-save", help="Keep the result under the index folder."),
        show_history: bool = typer.Option(False, "--history", help="List the saved runs and exit."),
        compare: tuple[str, str] | None = typer.Option(
            None, "--compare", metavar="A B", help="Show two saved runs side by side (ids, id prefixes, "
            "latest, -1 ...), the settings that differ first."
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Measure a running vLLM server and save the result with the profile that produced it.

        prefix: pairs of streamed requests sharing a long new prefix; time to first token cold vs
        warm (the KV-cache speedup, with the server's own cache-hit counters). load: concurrent
        streams; TTFT, TPOT, ITL, E2EL percentiles and throughput as `vllm bench serve` defines them.
        """
        config = get_config(ctx)
        if show_history:
            runs = history.list_runs(config)
            if as_json:
                print_json([{**history.summary(r), "headline": history.headline(r)} for r in runs])
            else:
                render_history(runs)
            raise typer.Exit(EXIT_OK)
        if compare:
            cmp = history.compare(history.find_run(config, compare[0]), history.find_run(config, compare[1]))
            if as_json:
                print_json(cmp.to_json())
            else:
                render_compare(cmp)
            raise typer.Exit(EXIT_OK)
        if scenario not in SCENARIOS:
            raise UsageError(f"--scenario must be one of {', '.join(SCENARIOS)}; got {scenario!r}")
        endpoint, ref = resolve_target(config, profile, url, api_key_env=api_key_env, timeout=DEFAULT_TIMEOUT)
        served, server = _model(endpoint, ref, model)
        # numpy and the scenarios load only when something is measured.
        from sddd.endpoint.loadbench import LoadParams, PrefixParams, run_load, run_prefix

        progress = None if as_json else notice
        params: PrefixParams | LoadParams
        if scenario == "prefix":
            params = PrefixParams(rounds=5 if rounds is None else rounds, prefix_tokens=prefix_tokens)
            params.check()
            metrics = run_prefix(endpoint, served, params, progress)
        else:
            params = LoadParams(requests=32 if rounds is None else rounds, concurrency=concurrency,
                                input_tokens=input_tokens, output_tokens=output_tokens)
            params.check()
            metrics = run_load(endpoint, served, params, progress)
        run = history.new_run(scenario, vars(params), endpoint.base_url, served,
                              ref.to_json() if ref else None, server, metrics)
        path = history.save_run(config, run) if save else None
        if as_json:
            print_json({**run, "saved": config.relpath(path) if path else None})
        else:
            render_run(run, config.relpath(path) if path else None)
        failed = metrics.get("failed") or 0
        raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)
