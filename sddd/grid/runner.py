"""``grid run``: each variant deployed, health-waited, measured, recorded and brought down.

Every variant goes through ``sddd deploy``'s own path (the compose target's ``up``, with its
override file): resolve, lint, pre-flight, ``docker compose up``, the wait with fatal-log
detection. A variant that fails lint, does not start, crashes, runs out of memory, is not healthy
in time or fails its requests is *rejected*: its result says why, with the offending log lines,
and the grid goes on. Errors that are not the variant's (the engine gone, the host port taken by
something else) stop the grid with that error; nothing is recorded for the variant then.

Safe to kill: a variant's result is written atomically once it is done (sddd.grid.store), and
``running.json`` names the variant in flight. A run that finds it (or any container of the
grid's project) takes that project down first, so a SIGKILL leaves no orphan container behind
the next run; variants with a result are skipped. Ctrl-C (KeyboardInterrupt, and SIGTERM through
the command) brings the current variant down before the run stops.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sddd import __version__
from sddd.core.config import Config
from sddd.core.errors import EngineError, SdddError
from sddd.core.faults import crash_point
from sddd.core.secrets import redact
from sddd.deploy import docker as engine
from sddd.deploy.compose import down_project, preflight
from sddd.deploy.report import DeployResult
from sddd.deploy.rootcause import exit_meaning, root_cause
from sddd.deploy.steps import troubleshooting_hint
from sddd.deploy.target import target
from sddd.deploy.wait import WaitState, container_api_key
from sddd.endpoint import bench_history
from sddd.grid.host import host_facts
from sddd.grid.measure import endpoint_for, measure
from sddd.grid.plan import TARGET, GridPlan, VariantPlan, plan_grid
from sddd.grid.spec import GridSpec
from sddd.grid.store import GridStore, project_lock

EXCERPT_LINES = 12
LOG_TAIL = 2000  # lines of a variant's container log kept in logs/


@dataclass
class Event:
    kind: str  # cleanup, skip, start, bench, measured, rejected, confirm, done
    index: int = 0  # the variant's place in the grid (1-based)
    total: int = 0
    label: str = ""
    message: str = ""
    elapsed: float = 0.0  # seconds since the run started
    eta: float | None = None  # seconds left, from the variants measured so far
    record: dict[str, Any] | None = None


@dataclass
class RunSummary:
    grid: str
    project: str
    total: int
    skipped: int = 0
    measured: int = 0
    rejected: int = 0
    cleaned: str = ""
    confirmed: bool | None = None  # --confirm: the leader's second measurement held (None: not run)
    seconds: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"grid": self.grid, "project": self.project, "variants": self.total,
                "skipped": self.skipped, "measured": self.measured, "rejected": self.rejected,
                "cleaned_up": self.cleaned or None, "confirmed": self.confirmed,
                "seconds": round(self.seconds, 1)}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def finished(record: dict[str, Any] | None, bench_key: str) -> bool:
    """A variant with a result measured with these scenario sizes is not run again."""
    return record is not None and record.get("bench_key") == bench_key


def cleanup(config: Config, store: GridStore, plan: GridPlan, client: Any,
            before: Callable[[str], None] | None = None) -> str:
    """Take down what a killed run left: the variant of ``running.json``, any container of the
    grid's project. Returns what was done ("" when there was nothing); ``before`` hears what is
    about to be done (stopping a container takes seconds: the person should not wait in silence)."""
    marker = store.running()
    left = [c.name for c in engine.project_containers(client, plan.project)]
    if marker is None and not left:
        return ""
    what = f"variant {marker.get('label')!r} of a run that stopped (pid {marker.get('pid', '?')})" \
        if marker else f"project {plan.project}"
    if before is not None:
        before(f"taking down {what}")
    down_project(config, plan.project, profile=plan.spec.profile, service=plan.base.service.name,
                 grid=plan.spec.name)
    store.clear_running()
    return f"took down {what}: removed {', '.join(left) or 'no container (none was created yet)'}"


def repair_bench_history(config: Config, results: dict[str, dict[str, Any]]) -> None:
    """Bench runs are saved right after their result: a kill in between is finished here."""
    folder = bench_history.bench_dir(config)
    for record in results.values():
        for run in record.get("runs") or []:
            if not (folder / f"{run['id']}.json").is_file():
                bench_history.save_run(config, run)


class Runner:
    def __init__(self, config: Config, plan: GridPlan, store: GridStore, client: Any,
                 on_event: Callable[[Event], None] | None,
                 on_wait: Callable[[WaitState], None] | None):
        self.config, self.plan, self.store, self.client = config, plan, store, client
        self.on_event, self.on_wait = on_event, on_wait
        self.started = time.monotonic()
        self.durations: list[float] = []
        self.host = host_facts(client)
        self.save: Callable[[dict[str, Any]], Any] = store.save  # a confirmation saves elsewhere

    @property
    def spec(self) -> GridSpec:
        return self.plan.spec

    def emit(self, kind: str, vp: VariantPlan | None = None, message: str = "", left: int = 0,
             record: dict[str, Any] | None = None) -> None:
        if self.on_event is None:
            return
        mean = sum(self.durations) / len(self.durations) if self.durations else None
        self.on_event(Event(kind, vp.variant.index if vp else 0, len(self.plan.variants),
                            vp.variant.label if vp else "", message, time.monotonic() - self.started,
                            mean * left if mean is not None and left > 0 else None, record))

    def base_record(self, vp: VariantPlan, started: str) -> dict[str, Any]:
        spec = self.spec
        return {"grid": spec.name, "grid_file": spec.rel, "profile": spec.profile,
                "profile_hash": self.plan.profile_hash, "project": self.plan.project,
                "variant": vp.variant.to_json(), "config_hash": vp.config_hash,
                "bench_key": self.plan.bench_key, "bench": spec.bench_json(), "vllm_args": vp.flags(),
                "override": vp.text, "started": started, "host": self.host,
                "versions": {"sddd": __version__, "vllm": None}}

    def run_variant(self, vp: VariantPlan, left: int) -> dict[str, Any]:
        started, clock = now(), time.monotonic()
        record = self.base_record(vp, started)
        if vp.errors:
            return self.rejected(record, clock, "lint", str(vp.errors[0]), [str(f) for f in vp.errors])
        self.store.mark_running({"config_hash": vp.config_hash, "label": vp.variant.label,
                                 "project": self.plan.project, "started": started})
        self.emit("start", vp, "deploying", left)
        try:
            record = self.attempt(vp, record, clock, left)
            crash_point("grid-recorded")
        except BaseException:
            with contextlib.suppress(SdddError):
                self.down()
                self.store.clear_running()
            raise
        self.down()
        self.store.clear_running()
        return record

    def down(self) -> None:
        down_project(self.config, self.plan.project, profile=self.spec.profile,
                     service=self.plan.base.service.name, grid=self.spec.name)

    def attempt(self, vp: VariantPlan, record: dict[str, Any], clock: float, left: int) -> dict[str, Any]:
        try:
            result = target(TARGET).up(self.config, self.spec.profile, self.plan.env_file,
                                       timeout=self.spec.timeout, on_state=self.on_wait,
                                       overrides=[vp.override], grid=self.spec.name)
        except EngineError as exc:
            engine.connect()  # the engine itself gone: that stops the grid (exit 5), not the variant
            return self.rejected(record, clock, "start", exc.message, [])
        crash_point("grid-deployed")
        container = self.container(result)
        record["container"] = result.container
        record["seconds_to_healthy"] = round(result.seconds, 1) if result.outcome == "healthy" else None
        if result.outcome != "healthy":
            log = self.keep_log(vp, container, record)
            return self.diagnosed(record, clock, "health", result.message, result.lines, log,
                                  known=(result.cause, result.hint))
        self.emit("bench", vp, f"healthy in {result.seconds:.0f} s; measuring", left)
        profile = {"name": self.spec.profile, "config_hash": vp.config_hash,
                   "files": result.plan.profile.files, "vllm_flags": vp.flags(), "inferred": False,
                   "grid": self.spec.name, "variant": vp.variant.label}
        key = container_api_key(container) if container is not None else None
        try:
            measured = measure(self.spec, endpoint_for(result.plan.url, key), profile)
        except SdddError as exc:
            log = self.keep_log(vp, container, record)
            return self.diagnosed(record, clock, "bench", f"{exc.message} ({self.state(container)})",
                                  log[-EXCERPT_LINES:], log)
        record.update(runs=measured.runs, metrics=measured.metrics, spread=measured.spread,
                      server=measured.server)
        record["versions"]["vllm"] = measured.server.get("version")
        log = self.keep_log(vp, container, record)
        if measured.failure:
            return self.diagnosed(record, clock, "bench", f"{measured.failure} ({self.state(container)})",
                                  log[-EXCERPT_LINES:], log)
        return self.done(record, clock, "measured")

    def diagnosed(self, record: dict[str, Any], clock: float, stage: str, message: str, lines: list[str],
                  log: list[str], known: tuple[str, dict[str, Any] | None] = ("", None)) -> dict[str, Any]:
        """Rejected with the first decisive error of the variant's whole log (the wait saw only its
        last lines), the lines around it and the troubleshooting hint searched with that line."""
        cause = root_cause(log) if log else None
        reason, query = message, message
        if cause is not None:
            record["cause"] = cause.to_json()
            reason, lines, query = cause.message[:300], cause.excerpt, cause.line
            if stage == "health" and message.startswith("the container"):
                reason += f" ({message})"
        elif stage == "health" and known[0]:  # the log was not kept (the container is gone)
            query = known[0]
        found = known[1] if known[1] and known[0] == query else None  # the deploy searched it already
        return self.rejected(record, clock, stage, reason, lines, self.hint(lines, query, found))

    def hint(self, lines: list[str], query: str,
             found: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The troubleshooting section found with ``query`` (searched now unless ``found``)."""
        note = ""
        if found is None:
            found, note = troubleshooting_hint(self.config, lines, query)
        if found is None:
            return {"ref": None, "note": note, "query": query[:300]} if note else None
        return {"ref": found["ref"], "heading": found["heading"], "score": found["score"],
                "query": query[:300]}

    def done(self, record: dict[str, Any], clock: float, status: str) -> dict[str, Any]:
        seconds = time.monotonic() - clock
        record.update(status=status, finished=now(), seconds=round(seconds, 1))
        self.save(record)
        for run in record.get("runs") or []:
            bench_history.save_run(self.config, run)
        if record.get("container"):
            self.durations.append(seconds)  # lint rejections take no time: not a pace
        return record

    def rejected(self, record: dict[str, Any], clock: float, stage: str, reason: str, lines: list[str],
                 hint: dict[str, Any] | None = None) -> dict[str, Any]:
        excerpt = [line.rstrip()[:300] for line in lines if line.strip()][-EXCERPT_LINES:]
        record.update(stage=stage, reason=reason, excerpt=excerpt, hint=hint)
        return self.done(record, clock, "rejected")

    def container(self, result: DeployResult) -> Any:
        with contextlib.suppress(Exception):  # removed behind our back: the log is lost, not the run
            return self.client.containers.get(result.container)
        return None

    def state(self, container: Any) -> str:
        with contextlib.suppress(Exception):
            container.reload()
            state = container.attrs.get("State") or {}
            if state.get("OOMKilled"):
                return "the container was killed for running out of memory (OOMKilled)"
            if state.get("Status") in ("exited", "dead"):
                meaning = exit_meaning(state.get("ExitCode"))
                return f"the container exited with code {state.get('ExitCode')}" + (
                    f" ({meaning})" if meaning else "")
            return f"the container is {state.get('Status')}"
        return "the container is gone"

    def tail(self, container: Any, lines: int = EXCERPT_LINES) -> list[str]:
        with contextlib.suppress(Exception):
            text = container.logs(stdout=True, stderr=True, tail=lines).decode("utf-8", "replace")
            return [str(line) for line in text.splitlines()]
        return []

    def keep_log(self, vp: VariantPlan, container: Any, record: dict[str, Any]) -> list[str]:
        """The container's log (its last LOG_TAIL lines, redacted) saved under logs/, and returned."""
        lines = [redact(line) for line in self.tail(container, LOG_TAIL)]
        if lines:
            record["log"] = self.config.relpath(self.store.save_log(vp.config_hash, lines))
        return lines


def confirm_leader(config: Config, spec: GridSpec, env_file: Any, runner: Runner,
                   summary: RunSummary) -> None:
    """The leading variant deployed and measured again, saved apart (``confirm/``): the report
    crowns it only if this second measurement still beats the runner-up."""
    from sddd.grid.report import build_report  # the report reads this module's results

    report = build_report(config, spec, env_file)
    leader = report.champion
    if leader is None:
        runner.emit("confirm", message="nothing to confirm: no variant was measured within the caps")
        return
    # the run's own plan of that variant: the report's was written to a folder it has removed
    vp = next(v for v in runner.plan.variants if v.config_hash == leader.plan.config_hash)
    runner.emit("start", vp, "deploying again to confirm the lead", 1)
    runner.save = runner.store.save_confirmation
    try:
        record = runner.run_variant(vp, 1)
    finally:
        runner.save = runner.store.save
    summary.confirmed = build_report(config, spec, env_file).confirmed
    runner.emit("confirm", vp, f"{'confirmed' if summary.confirmed else 'NOT confirmed'}: "
                f"{record.get('reason') or 'measured again'}", 0, record)


def run_grid(config: Config, spec: GridSpec, *, env_file: Any = None,
             on_event: Callable[[Event], None] | None = None,
             on_wait: Callable[[WaitState], None] | None = None,
             retry_rejected: bool = False, confirm: bool = False) -> RunSummary:
    store = GridStore(config, spec.name)
    with store.lock(spec.name), contextlib.ExitStack() as stack:
        plan = plan_grid(config, spec, store.overrides_dir, env_file)
        stack.enter_context(project_lock(plan.project, spec.rel, config.root))
        client = engine.connect()
        summary = RunSummary(spec.name, plan.project, len(plan.variants))
        runner = Runner(config, plan, store, client, on_event, on_wait)  # its clock counts the cleanup
        summary.cleaned = cleanup(config, store, plan, client,
                                  before=lambda what: runner.emit("cleanup", message=what))
        if summary.cleaned:
            runner.emit("cleanup", message=summary.cleaned)
        results = store.results()
        repair_bench_history(config, results)
        todo = [vp for vp in plan.variants if not finished(results.get(vp.config_hash), plan.bench_key)
                or (retry_rejected and results[vp.config_hash].get("status") == "rejected")]
        runner.durations = [float(r["seconds"]) for r in results.values() if r.get("container")
                            and r.get("seconds")]  # the pace of earlier runs, for the ETA
        for vp in plan.variants:
            if vp not in todo:
                runner.emit("skip", vp, f"already {results[vp.config_hash]['status']}")
        summary.skipped = len(plan.variants) - len(todo)
        startable = next((vp for vp in todo if not vp.errors), None)
        if startable is not None:
            preflight(startable.deploy, client)  # engine, port, image: the grid's, not a variant's
        for i, vp in enumerate(todo):
            record = runner.run_variant(vp, len(todo) - i)
            summary.results.append(record)
            summary.measured += record["status"] == "measured"
            summary.rejected += record["status"] == "rejected"
            runner.emit(record["status"], vp, record.get("reason", ""), len(todo) - i - 1, record)
        if confirm:
            confirm_leader(config, spec, env_file, runner, summary)
        summary.seconds = time.monotonic() - runner.started
        runner.emit("done", message=f"{summary.measured} measured, {summary.rejected} rejected, "
                    f"{summary.skipped} already done")
    return summary
