"""A resolved profile as plain Kubernetes manifests: Deployment, Service, model cache claim.

``export_kubernetes(config, profile)`` writes, for ``cluster.kubernetes_version``:

- a Deployment of one replica (``Recreate``: the model cache claim is ReadWriteOnce and a GPU
  cannot hold the old and the new pod) whose container runs the profile's image and command,
  asks for its GPUs as ``nvidia.com/gpu`` limits, takes its tokens and API keys from a Secret
  (``secretKeyRef``, never a value), mounts the model cache claim where the profile mounts its
  named volume, and a memory-backed volume at ``/dev/shm`` where the profile asks for shared
  memory (``ipc: host``, ``shm_size`` or tensor parallelism); readiness, liveness and
  start-up probes come from the Compose health check (``start_period`` is the start-up
  probe's budget); ``cluster.node_labels`` is its nodeSelector;
- a Service (ClusterIP) on the profile's host port;
- a PersistentVolumeClaim per named volume (``cluster.model_cache_size``,
  ``cluster.storage_class``).

No Secret object is written: the export says which keys the Secret needs and the `kubectl
create secret` line that fills it. Applying is the user's `kubectl apply` step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sddd.compose.lint import WARNING
from sddd.core.config import Config
from sddd.export.source import Export, Health, Source, kube_name, read_source, secret_keys

# Compose keys a cluster has its own way for, left out without a word: the pod network and the
# Service (networks), the cluster's log pipeline (logging), the Deployment that always restarts
# (restart), the Deployment's name (container_name), container labels and an init process.
SILENT = ("networks", "logging", "restart", "container_name", "labels", "init")
HANDLED = ("image", "command", "entrypoint", "environment", "ports", "volumes", "healthcheck", "deploy",
           "ipc", "shm_size", "working_dir", "stop_grace_period", "runtime", "gpus", "tty", "stdin_open")


def export_kubernetes(config: Config, profile: str | None = None,
                      env_file: Path | str | None = None) -> Export:
    source = read_source(config, profile, env_file)
    svc = source.svc
    for key in svc.spec:
        if key not in HANDLED and key not in SILENT:
            where = svc.source_of(key)
            source.findings.append(_no_meaning(source, key, where.path if where else None,
                                               where.line if where else None))
    claims = _claims(config, source)
    documents = [_deployment(source, claims), _service(source), *(c for _, _, c in claims)]
    return Export(profile=source.profile.name, format="manifests", documents=documents,
                  findings=source.findings, secret=source.secret, secret_keys=secret_keys(source),
                  kubernetes_version=config.section("cluster")["kubernetes_version"],
                  files=source.profile.files)


def _no_meaning(source: Source, key: str, path: str | None, line: int | None) -> Any:
    from sddd.compose.lint import Finding

    return Finding("kubernetes-no-meaning", WARNING, f"{key} has no Kubernetes meaning for this export; "
                   "it is left out of the manifests", source.svc.profile, source.svc.name, path, line)


def labels(source: Source) -> dict[str, str]:
    return {"app.kubernetes.io/name": source.name,
            "app.kubernetes.io/instance": kube_name(source.profile.name),
            "app.kubernetes.io/managed-by": "sddd"}


def selector(source: Source) -> dict[str, str]:
    """The labels that pick the pods (managed-by aside: it says who wrote them, not which)."""
    return {k: v for k, v in labels(source).items() if k != "app.kubernetes.io/managed-by"}


def _metadata(source: Source, name: str) -> dict[str, Any]:
    svc = source.svc
    return {"name": name, "labels": labels(source),
            "annotations": {"sddd.profile": source.profile.name, "sddd.config-hash": svc.config_hash,
                            "sddd.model": svc.model or "", "sddd.source": " + ".join(source.profile.files)}}


def _claims(config: Config, source: Source) -> list[tuple[str, str, dict[str, Any]]]:
    """(volume name, mount path, claim) of each named volume the service mounts."""
    cluster = config.section("cluster")
    declared = source.profile.top.get("volumes") or {}
    out = []
    for entry in source.svc.spec.get("volumes") or []:
        volume, target = (entry.get("source"), entry.get("target")) if isinstance(entry, dict) else \
            (str(entry).split(":")[0], str(entry).split(":")[1] if ":" in str(entry) else "")
        if not volume or volume not in declared or not target:
            continue
        name = kube_name(f"{source.name}-{volume}")
        spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": cluster["model_cache_size"]}}}
        if cluster["storage_class"]:
            spec["storageClassName"] = cluster["storage_class"]
        out.append((kube_name(volume), target, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                "metadata": _metadata(source, name), "spec": spec}))
    return out


def probe(health: Health, port_name: str = "http") -> dict[str, Any]:
    action: dict[str, Any] = (
        {"httpGet": {"path": health.http_path, "port": port_name if health.http_port is None else
                     health.http_port}} if health.http_path else {"exec": {"command": health.command}})
    return {**action, "periodSeconds": health.period_s, "timeoutSeconds": health.timeout_s,
            "failureThreshold": health.failures}


def _container(source: Source, claims: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    svc = source.svc
    env: list[dict[str, Any]] = []
    for e in source.env:
        ref = {"secretKeyRef": {"name": source.secret, "key": e.secret_key}}
        env.append({"name": e.name, "valueFrom": ref} if e.secret_key else {"name": e.name, "value": e.value})
    container: dict[str, Any] = {"name": source.name, "image": svc.image or "", "args": source.args,
                                 "ports": [{"name": "http", "containerPort": source.container_port,
                                            "protocol": "TCP"}]}
    if svc.spec.get("entrypoint"):
        from sddd.compose.vllm_args import command_tokens

        container["command"] = command_tokens(svc.spec["entrypoint"])
    if env:
        container["env"] = env
    if source.gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": source.gpus}}
    mounts = [{"name": volume, "mountPath": target} for volume, target, _ in claims]
    if source.shm:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
    if mounts:
        container["volumeMounts"] = mounts
    if svc.spec.get("working_dir"):
        container["workingDir"] = str(svc.spec["working_dir"])
    if source.health:
        container["readinessProbe"] = probe(source.health)
        container["livenessProbe"] = probe(source.health)
        if source.health.start_s:
            startup = probe(source.health)
            startup["failureThreshold"] = max(1, -(-source.health.start_s // source.health.period_s))
            container["startupProbe"] = startup
    return container


def _deployment(source: Source, claims: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [
        {"name": volume, "persistentVolumeClaim": {"claimName": c["metadata"]["name"]}}
        for volume, _, c in claims]
    if source.shm:
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": source.shm}})
    pod: dict[str, Any] = {"containers": [_container(source, claims)]}
    if volumes:
        pod["volumes"] = volumes
    if source.node_labels:
        pod["nodeSelector"] = dict(source.node_labels)
    grace = source.svc.spec.get("stop_grace_period")
    if grace:
        from sddd.deploy.stack import duration_s

        pod["terminationGracePeriodSeconds"] = max(0, round(duration_s(str(grace), 30.0)))
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _metadata(source, source.name),
            "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                     "selector": {"matchLabels": selector(source)},
                     "template": {"metadata": {"labels": labels(source),
                                               "annotations": {"sddd.config-hash": source.svc.config_hash}},
                                  "spec": pod}}}


def _service(source: Source) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(source, source.name),
            "spec": {"type": "ClusterIP",
                     "selector": selector(source),
                     "ports": [{"name": "http", "port": source.service_port, "targetPort": "http",
                                "protocol": "TCP"}]}}
