"""A resolved profile as values for vLLM's production-stack Helm chart (``--format helm-values``).

The values follow the chart's own ``values.schema.json`` (``servingEngineSpec``): one
``modelSpec`` entry with the image, the model, the GPUs (``requestGPU``), the model cache
claim (``pvcStorage``), shared memory (``shmSize``), the vLLM flags the chart names
(``vllmConfig``: tensor parallelism, max model length, GPU memory share, max sequences,
chunked prefill, prefix caching, dtype) and every other flag in ``extraArgs``; the Hugging
Face token and the API key as references to a Secret (``hf_token`` / ``vllmApiKey`` with
``secretName`` and ``secretKey``), never values; probes from the Compose health check (an
HTTP GET only: the chart's probes have no other form); node labels as ``nodeSelectorTerms``.
Applying is the user's `helm install` step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sddd.compose.lint import WARNING, Finding
from sddd.core.config import Config
from sddd.export.source import Export, Health, Source, kube_name, read_source, secret_keys

# --flag -> (vllmConfig key, type); the rest of the command goes to extraArgs.
VLLM_CONFIG = {
    "--tensor-parallel-size": ("tensorParallelSize", int), "--max-model-len": ("maxModelLen", int),
    "--gpu-memory-utilization": ("gpuMemoryUtilization", float), "--max-num-seqs": ("maxNumSeqs", int),
    "--enable-chunked-prefill": ("enableChunkedPrefill", bool),
    "--enable-prefix-caching": ("enablePrefixCaching", bool), "--dtype": ("dtype", str),
}
# Set by the chart's own fields: the model (modelURL), the address and port (containerPort).
OWN_FIELDS = ("--model", "--host", "--port")
HF_TOKENS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def export_helm_values(config: Config, profile: str | None = None,
                       env_file: Path | str | None = None) -> Export:
    source = read_source(config, profile, env_file)
    cluster = config.section("cluster")
    spec: dict[str, Any] = {"containerPort": source.container_port, "servicePort": source.service_port,
                            "strategy": {"type": "Recreate"}, "modelSpec": [_model(source, cluster)]}
    api_key = next((e for e in source.env if e.secret_key and e.name == "VLLM_API_KEY"), None)
    if api_key:
        spec["vllmApiKey"] = {"secretName": source.secret, "secretKey": api_key.secret_key}
    if source.health and source.health.http_path:
        spec |= _probes(source.health, source.container_port)
    elif source.health:
        where = source.svc.source_of("healthcheck")
        source.findings.append(Finding(
            "helm-probe", WARNING, "the health check is not an HTTP GET of the container, and the "
            "chart's probes only take one: the values keep the chart's own probes",
            source.svc.profile, source.svc.name, where.path if where else None,
            where.line if where else None))
    return Export(profile=source.profile.name, format="helm-values",
                  documents=[{"servingEngineSpec": spec}], findings=source.findings, secret=source.secret,
                  secret_keys=secret_keys(source), kubernetes_version=cluster["kubernetes_version"],
                  files=source.profile.files)


def _model(source: Source, cluster: dict[str, Any]) -> dict[str, Any]:
    svc = source.svc
    repository, _, tag = (svc.image or "").rpartition(":") if ":" in (svc.image or "").rsplit("/", 1)[-1] \
        else (svc.image or "", "", "latest")
    model: dict[str, Any] = {"name": kube_name(source.profile.name), "repository": repository, "tag": tag,
                             "modelURL": svc.model or "", "replicaCount": 1,
                             "requestGPU": source.gpus, "pvcStorage": cluster["model_cache_size"],
                             "pvcAccessMode": ["ReadWriteOnce"], "vllmConfig": _vllm_config(source)}
    if cluster["storage_class"]:
        model["storageClass"] = cluster["storage_class"]
    reservations = ((svc.spec.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    if reservations.get("cpus"):
        model["requestCPU"] = max(1, round(float(reservations["cpus"])))
    if reservations.get("memory"):
        model["requestMemory"] = str(reservations["memory"])
    if source.shm:
        model["shmSize"] = source.shm
    hf = next((e for e in source.env if e.secret_key and e.name in HF_TOKENS), None)
    if hf:
        model["hf_token"] = {"secretName": source.secret, "secretKey": hf.secret_key}
    env = [_env(e, source) for e in source.env if e is not hf and e.name != "VLLM_API_KEY"]
    if env:
        model["env"] = env
    if source.node_labels:
        model["nodeSelectorTerms"] = [{"matchExpressions": [
            {"key": k, "operator": "In", "values": [v]} for k, v in source.node_labels.items()]}]
    return model


def _env(e: Any, source: Source) -> dict[str, Any]:
    if e.secret_key:
        return {"name": e.name, "valueFrom": {"secretKeyRef": {"name": source.secret, "key": e.secret_key}}}
    return {"name": e.name, "value": e.value}


def _vllm_config(source: Source) -> dict[str, Any]:
    out: dict[str, Any] = {}
    extra: list[str] = []
    for arg in source.svc.args:
        if arg.flag in OWN_FIELDS or arg.flag in source.secret_flags:
            continue  # the chart sets these; a secret flag is the vllmApiKey reference
        known = VLLM_CONFIG.get(arg.flag)
        if known:
            key, kind = known
            out[key] = True if kind is bool else kind(arg.value)
            continue
        token = source.args[arg.index] if arg.index < len(source.args) else arg.flag
        extra.append(token if arg.value is None or "=" in token else f"{arg.flag}={arg.value}")
    if extra:
        out["extraArgs"] = extra
    return out


def _probes(health: Health, port: int) -> dict[str, Any]:
    def one(failures: int, delay: int = 0) -> dict[str, Any]:
        probe: dict[str, Any] = {"httpGet": {"path": health.http_path, "port": health.http_port or port},
                                 "periodSeconds": health.period_s, "failureThreshold": failures}
        if delay:
            probe["initialDelaySeconds"] = delay
        return probe

    probes = {"readinessProbe": one(health.failures), "livenessProbe": one(health.failures)}
    if health.start_s:
        probes["startupProbe"] = one(max(1, -(-health.start_s // health.period_s)))
    return probes
