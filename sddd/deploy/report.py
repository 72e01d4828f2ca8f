"""What every deploy target returns, the same dataclasses whatever the engine (sddd.deploy.target):
the plan (``DeployPlan``, over the resolved ``Plan`` Compose would run, with the ``PlanPart``\\ s a
target adds), the outcome of a deploy (``DeployResult``), a service that runs
(``ServiceStatus``) and what a down removed (``DownResult``). Their ``to_json`` is the
``--json`` document of `sddd deploy` / `status` / `down` and of the MCP tools."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sddd.compose.lint import ERROR, Finding
from sddd.compose.profiles import ResolvedProfile
from sddd.compose.service import ResolvedService


@dataclass
class Plan:
    """The resolved profile as Compose runs it: what every target starts from."""

    profile: ResolvedProfile
    service: ResolvedService
    findings: list[Finding]
    command: list[str]  # the equivalent `docker compose ... up` (no secret in it)
    container_port: int
    host_port: int | None
    host: str = "127.0.0.1"  # where the published port listens (a Swarm task: its node)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile.name, "project": self.profile.project,
                "files": self.profile.files, "env_file": self.profile.env_file,
                "service": self.service.to_json(), "spec": self.service.spec,
                "command": " ".join(self.command), "url": self.url,
                "findings": [f.to_json() for f in self.findings]}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.host_port}" if self.host_port else ""


@dataclass
class PlanPart:
    """What a target adds to the plan, shown after it (a swarm's stack file): a headline of
    facts, the text it will write, and the findings of what it cannot carry over."""

    kind: str  # "stack"
    name: str
    facts: list[tuple[str, str]]  # (label, value), in the order shown
    text: str
    findings: list[Finding]


@dataclass
class DeployPlan:
    """What `sddd deploy --dry-run` shows: the resolved ``plan``, the equivalent ``command`` and,
    for a target that adds something to the plan, its ``parts``. A target with more to say
    subclasses it (sddd.deploy.swarm.SwarmPlan)."""

    plan: Plan
    command: list[str]  # the equivalent command line (no secret in it)

    @property
    def parts(self) -> list[PlanPart]:
        return []

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings + [f for part in self.parts for f in part.findings]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    def to_json(self) -> dict[str, Any]:
        return self.plan.to_json()


@dataclass
class DeployResult:
    plan: Plan
    outcome: str  # "healthy", "started" (--no-wait), "failed", "timeout"
    container: str = ""
    seconds: float = 0.0
    message: str = ""
    lines: list[str] = field(default_factory=list)  # offending log lines
    hint: dict[str, Any] | None = None  # best troubleshooting section (searched with ``cause``)
    hint_note: str = ""  # why there is no hint
    cause: str = ""  # the log's first decisive error line (sddd.deploy.rootcause), if found
    previous: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    target: str = "compose"  # the target's name; on a swarm ``container`` is the Swarm service

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "target": self.target, "profile": self.plan.profile.name,
                "project": self.plan.profile.project, "service": self.plan.service.name,
                "container": self.container, "url": self.plan.url, "seconds": round(self.seconds, 2),
                "config_hash": self.plan.service.config_hash, "message": self.message,
                "lines": self.lines, "cause": self.cause or None, "hint": self.hint,
                "hint_note": self.hint_note, "previous": self.previous, "notes": self.notes}


@dataclass
class ServiceStatus:
    profile: str
    project: str
    service: str
    container: str
    state: str
    health: str
    uptime_s: float | None
    port: int | None
    image: str
    model: str
    config_hash: str
    target: str = "compose"  # the target's name; on a swarm ``container`` is the task (SERVICE.SLOT)
    node: str = ""  # the swarm node that runs the task

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DownResult:
    profile: str
    project: str
    removed: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
