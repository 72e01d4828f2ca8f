"""`deploy` and `down`, declared once: the command line's arguments and the MCP write tools'
schemas are made from ``DEPLOY`` and ``DOWN`` (``sddd.core.operations``). The env file and the
target are the command line's only: an agent deploys on the local engine, with its .env."""

from __future__ import annotations

from pathlib import Path

from sddd.core.operations import CLI, MCP, Operation, Param, View
from sddd.deploy.target import DEFAULT, help_text

BOTH = frozenset((CLI, MCP))
CLI_ONLY = frozenset((CLI,))

PROFILE = Param("profile", str, "Profile name (a file stem under profiles/), default: canonical_profile in "
                "sddd.yaml.", on=BOTH,
                views={MCP: View("Profile name; default: the canonical profile of sddd.yaml.")})
TARGET_OPTION = Param("target", str, help_text(), default=DEFAULT, flags=("--target",), on=CLI_ONLY)

DEPLOY = Operation(
    "deploy",
    """Bring PROFILE up on the local Docker engine and wait until it is healthy.

Resolves base + profile as Docker Compose does, lints it, checks the engine (reachable,
NVIDIA runtime when GPUs are reserved, port free, image present), records what ran
before, starts it and waits with a live status line until /health and /v1/models
answer. A fatal log line (CUDA out of memory, no GPU platform, ...) stops the wait at
once with the lines and the matching troubleshooting guide.

With --target swarm the same profile becomes a stack (docker stack deploy): GPUs as
the generic resource the nodes advertise, placement by the node labels sddd.yaml maps
to the profile (cluster.node_labels), rolling updates that wait for the health check.
Pre-flight: the engine manages an active swarm, a node has the labels and the GPUs.

Exit codes: 0 healthy, 1 the service failed, 2 bad profile / lint error / missing
variable, 5 engine unreachable / no GPU runtime / no swarm / no node with the GPUs /
image unavailable, 6 port in use, 7 not healthy before --timeout.""",
    (
        PROFILE,
        Param("env_file", Path, "Variables for ${VAR} (default: .env at the repository root).",
              flags=("--env-file",), on=CLI_ONLY),
        Param("dry_run", bool, "Print the resolved plan (secrets masked) and the equivalent command; "
              "start nothing.", default=False, flags=("--dry-run",), on=BOTH,
              views={MCP: View("Resolve, lint and show the plan; start nothing.")}),
        Param("timeout", float, "Seconds to wait for healthy.", default=900.0, minimum=1,
              flags=("--timeout",), cli_range=True, on=BOTH),
        Param("no_wait", bool, "Start and return without waiting.", default=False, flags=("--no-wait",),
              on=BOTH, views={MCP: View("Start and return without waiting for healthy.")}),
        TARGET_OPTION,
    ),
    title="Deploy a profile",
    agent_help="Bring a profile up on the local Docker engine and wait until it is healthy (lint and "
    "pre-flight first, history recorded), as `sddd deploy`. dry_run shows the plan only.",
)

DOWN = Operation(
    "down",
    "Stop and remove the profile's containers, or its stack (the model cache volume is kept).",
    (PROFILE, TARGET_OPTION),
    title="Stop a profile",
    agent_help="Stop and remove the profile's containers (the model cache volume is kept), as "
    "`sddd down`.",
)
