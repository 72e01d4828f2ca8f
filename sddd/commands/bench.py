"""`sddd bench`: measure a live vLLM server (prefix cache, load), save and compare the results."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, get_config
from sddd.core.config import Config
from sddd.core.errors import EXIT_FAILED, EXIT_OK, UsageError
from sddd.endpoint.client import DEFAULT_TIMEOUT
from sddd.output.console import notice, print_json

SCENARIOS = ("prefix", "load")


@dataclass
class Scenario:
    """What to measure, as the user asked for it."""

    name: str = "prefix"
    rounds: int | None = None  # prefix: cold/warm pairs (5); load: requests (32)
    concurrency: int = 4
    prefix_tokens: int = 1200
    input_tokens: int = 256
    output_tokens: int = 32


def history(config: Config, *, as_json: bool = False) -> int:
    from sddd.endpoint import bench_history
    from sddd.output.bench import render_history

    runs = bench_history.list_runs(config)
    if as_json:
        print_json([{**bench_history.summary(r), "headline": bench_history.headline(r)} for r in runs])
    else:
        render_history(runs)
    return EXIT_OK


def compare(config: Config, a: str, b: str, *, as_json: bool = False) -> int:
    from sddd.endpoint import bench_history
    from sddd.output.bench import render_compare

    cmp = bench_history.compare(bench_history.find_run(config, a), bench_history.find_run(config, b))
    if as_json:
        print_json(cmp.to_json())
    else:
        render_compare(cmp)
    return EXIT_OK


def bench(config: Config, profile: str | None = None, *, url: str | None = None,
          scenario: Scenario | None = None, model: str | None = None, api_key_env: str | None = None,
          timeout: float = DEFAULT_TIMEOUT, save: bool = True, as_json: bool = False) -> int:
    """Measure the server; 1 when a request failed."""
    from sddd.endpoint import bench_history
    from sddd.endpoint.loadbench import LoadParams, PrefixParams, run_load, run_prefix
    from sddd.endpoint.target import resolve_target, served_model
    from sddd.output.bench import render_run

    scenario = scenario or Scenario()
    if scenario.name not in SCENARIOS:
        raise UsageError(f"--scenario must be one of {', '.join(SCENARIOS)}; got {scenario.name!r}")
    if timeout <= 0:
        raise UsageError(f"--timeout must be positive; got {timeout}")
    endpoint, ref = resolve_target(config, profile, url, api_key_env=api_key_env, timeout=timeout)
    served, server = served_model(endpoint, ref, model)
    progress = None if as_json else notice
    params: PrefixParams | LoadParams
    if scenario.name == "prefix":
        params = PrefixParams(rounds=5 if scenario.rounds is None else scenario.rounds,
                              prefix_tokens=scenario.prefix_tokens)
        params.check()
        metrics = run_prefix(endpoint, served, params, progress)
    else:
        params = LoadParams(requests=32 if scenario.rounds is None else scenario.rounds,
                            concurrency=scenario.concurrency, input_tokens=scenario.input_tokens,
                            output_tokens=scenario.output_tokens)
        params.check()
        metrics = run_load(endpoint, served, params, progress)
    run = bench_history.new_run(scenario.name, vars(params), endpoint.base_url, served,
                                ref.to_json() if ref else None, server, metrics)
    path = bench_history.save_run(config, run) if save else None
    if as_json:
        print_json({**run, "saved": config.relpath(path) if path else None})
    else:
        render_run(run, config.relpath(path) if path else None)
    return EXIT_FAILED if metrics.get("failed") else EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command("bench", cls=SdddCommand)
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
        timeout: float = typer.Option(
            DEFAULT_TIMEOUT, "--timeout", help="Seconds to wait for each request (a server that takes "
            "the connection and never answers /v1/models is given at most 5 s)."),
        save: bool = typer.Option(True, "--save/--no-save", help="Keep the result under the index folder."),
        show_history: bool = typer.Option(False, "--history", help="List the saved runs and exit."),
        compare_runs: tuple[str, str] | None = typer.Option(
            None, "--compare", metavar="A B", help="Show two saved runs side by side (ids, id prefixes, "
            "latest; -1 the latest, -2 the one before ...), the settings that differ first."
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        """Measure a running vLLM server and save the result with the profile that produced it.

        prefix: pairs of streamed requests sharing a long new prefix; time to first token cold vs
        warm (the KV-cache speedup, with the server's own cache-hit counters). load: concurrent
        streams; TTFT, TPOT, ITL, E2EL percentiles and throughput as `vllm bench serve` defines them.
        Exit 0 measured, 1 a request failed (a stream cut before [DONE] counts), 2 bad usage,
        5 nothing (or no vLLM server) answers at the URL, 7 the server does not answer in time.
        """
        config = get_config(ctx)
        if show_history:
            raise typer.Exit(history(config, as_json=as_json))
        if compare_runs:
            raise typer.Exit(compare(config, *compare_runs, as_json=as_json))
        wanted = Scenario(scenario, rounds, concurrency, prefix_tokens, input_tokens, output_tokens)
        raise typer.Exit(bench(config, profile, url=url, scenario=wanted, model=model,
                               api_key_env=api_key_env, timeout=timeout, save=save, as_json=as_json))
