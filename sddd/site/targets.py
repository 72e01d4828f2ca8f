"""Each profile as the other targets read it, for its site page: the Swarm stack file
(``sddd deploy --target swarm``), the Kubernetes manifests and the production-stack Helm values
(``sddd export kubernetes``). The same resolved profile feeds all of them; a profile a target
cannot take shows why instead of failing the build."""

from __future__ import annotations

from sddd.compose.profiles import ResolvedProfile
from sddd.core.config import Config
from sddd.core.errors import SdddError
from sddd.deploy.stack import render_stack
from sddd.export.helm import export_helm_values
from sddd.export.kubernetes import export_kubernetes
from sddd.site.pages import Rendering


def renderings(config: Config, profile: ResolvedProfile) -> list[Rendering]:
    """The Swarm, Kubernetes and Helm renderings of ``profile``, in the order the page shows them."""
    name = profile.name
    out: list[Rendering] = []
    stack = render_stack(config, profile)
    out.append(Rendering(
        "Docker Swarm", f"What `sddd deploy --target swarm {name}` hands to `docker stack deploy`: "
        "GPUs as the generic resource the nodes advertise, secrets left as `${VAR}` references.",
        stack.text(f".sddd/deploy/{stack.name}.stack.yml"), notes=[str(f) for f in stack.findings]))
    for title, how, export in (("Kubernetes", f"`sddd export kubernetes {name}`", export_kubernetes),
                               ("Helm values (vLLM production-stack)",
                                f"`sddd export kubernetes {name} --format helm-values`", export_helm_values)):
        try:
            result = export(config, name)
            text, notes = result.text(), [str(f) for f in result.findings]
        except SdddError as exc:
            text, notes = f"# not exported: {exc}", []
        note = (f"What {how} writes; applying it is a `kubectl` or `helm` step. "
                "Tokens and API keys are references to a Secret, never values.")
        out.append(Rendering(title, note, text, notes=notes))
    return out
