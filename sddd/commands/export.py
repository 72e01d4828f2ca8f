"""`sddd export kubernetes`: a resolved profile as Kubernetes manifests or Helm values."""

from __future__ import annotations

from pathlib import Path

import typer

from sddd.commands.common import JSON_HELP, SdddCommand, get_config, output_path
from sddd.core.config import Config
from sddd.core.errors import EXIT_OK, UsageError
from sddd.output.console import print_json

FORMATS = ("manifests", "helm-values")
PROFILE_HELP = "Profile name (a file stem under profiles/), default: canonical_profile in sddd.yaml."

export_app = typer.Typer(
    name="export", no_args_is_help=True,
    help="The resolved profiles for engines sddd does not drive itself. Applying the result to a "
         "cluster is your kubectl or helm step: sddd talks to no cluster.",
)


def export_kubernetes(config: Config, profile: str | None = None, *, fmt: str = "manifests",
                      output: Path | None = None, env_file: Path | None = None,
                      as_json: bool = False) -> int:
    """Export ``profile``; errors in the profile (exit 2) write nothing."""
    output = output_path(output, config.root)
    from sddd.compose.lint import LintFailed
    from sddd.export.helm import export_helm_values
    from sddd.export.kubernetes import export_kubernetes as manifests
    from sddd.export.source import write_export
    from sddd.output.export import render_export

    if fmt not in FORMATS:
        raise UsageError(f"must be one of {', '.join(FORMATS)}; got {fmt!r}", option="fmt")
    export = (export_helm_values if fmt == "helm-values" else manifests)(config, profile, env_file)
    if export.errors:
        raise LintFailed(export.errors)
    written = write_export(export, output) if output is not None else None
    if as_json:
        print_json({**export.to_json(), "written": str(written) if written else None})
    else:
        render_export(export, written, str(output / written.name) if written and output and
                      output != written else str(written or ""))
    return EXIT_OK


@export_app.command("kubernetes", cls=SdddCommand,  # short_help: not cut with "..." in --help
                    short_help="Write PROFILE as Kubernetes manifests or production-stack Helm values.")
def kubernetes_command(
    ctx: typer.Context,
    profile: str | None = typer.Argument(None, help=PROFILE_HELP, show_default=False),
    fmt: str = typer.Option("manifests", "--format", "-f",
                            help="manifests: plain Deployment, Service and PersistentVolumeClaim; "
                                 "helm-values: values for vLLM's production-stack chart."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (or "
                                       "PROFILE.yaml in this folder) instead of stdout."),
    env_file: Path | None = typer.Option(None, "--env-file", help="Variables for ${VAR} (default: "
                                         ".env at the repository root); secrets need not be set."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write PROFILE as Kubernetes manifests (or production-stack Helm values).

    The same resolved profile that `sddd deploy` starts: GPUs as nvidia.com/gpu limits, the
    model cache as a PersistentVolumeClaim, tokens and API keys as references to a Secret
    (never their values), probes from the Compose health check, shared memory for tensor
    parallelism as a memory-backed volume instead of ipc: host, cluster.node_labels as the
    nodeSelector. Written for cluster.kubernetes_version in sddd.yaml.

    Exit codes: 0 written, 2 bad profile / unset variable / a GPU count the cluster cannot
    schedule, 4 a file that cannot be read or written.
    """
    raise typer.Exit(export_kubernetes(get_config(ctx), profile, fmt=fmt, output=output,
                                       env_file=env_file, as_json=as_json))


def register(app: typer.Typer) -> None:
    app.add_typer(export_app)
