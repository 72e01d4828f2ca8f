"""`sddd export` for people: the YAML on stdout (or where it was written), what has no meaning
there on stderr, and the Secret to create first."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from sddd.export.source import Export
from sddd.output.console import err, out, write_text


def render_export(export: Export, written: Path | None, shown: str = "") -> None:
    for finding in export.findings:
        color = "red" if finding.severity == "error" else "yellow"
        err.print(f"[{color}]{escape(str(finding))}[/{color}]")
    if written is None:
        write_text(export.text())
    else:
        kinds = ", ".join(f"{d['kind']} {d['metadata']['name']}" for d in export.documents if "kind" in d)
        what = kinds or "values for vLLM's production-stack chart (servingEngineSpec)"
        out.print(f"wrote {escape(shown or str(written))}: {escape(what)} "
                  f"(Kubernetes {export.kubernetes_version})")
    if export.secret_keys:
        keys = ", ".join(sorted(export.secret_keys))
        err.print(f"[dim]The Secret {escape(export.secret)} must hold {escape(keys)}; create it first:[/dim]"
                  f"\n  {escape(export.create_secret())}")
    file = shown or (str(written) if written else "-")  # "-": this output, piped in
    # production-stack's chart: helm repo add vllm https://vllm-project.github.io/production-stack
    apply = (f"helm install vllm vllm/vllm-stack -f {file}" if export.format == "helm-values"
             else f"kubectl apply -f {file}")
    err.print(f"[dim]Applying is yours: {escape(apply)} (sddd talks to no cluster).[/dim]")
