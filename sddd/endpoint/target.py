"""Which server a command talks to, and what it should serve: a profile's published port and
vLLM flags, an explicit ``--url``, or the profile whose model a server at that URL serves."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from sddd.core.config import Config
from sddd.core.errors import EngineError, SdddError, UsageError
from sddd.endpoint.client import DEFAULT_TIMEOUT, Endpoint, ServerInfo, normalize_url, resolve_endpoint

KEY_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
SECRET_FLAGS = ("--api-key", "--hf-token")


@dataclass
class ProfileRef:
    """The resolved profile a validation or a benchmark ran against (secrets masked)."""

    name: str
    config_hash: str
    files: list[str]
    vllm_flags: dict[str, str | None]
    models: list[str]  # served names first, then the model id: any one identifies it
    host_port: int | None
    api_key_env: str | None  # the variable the profile's VLLM_API_KEY / --api-key reads
    inferred: bool = False  # matched from /v1/models rather than named by the user

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "config_hash": self.config_hash, "files": self.files,
                "vllm_flags": self.vllm_flags, "inferred": self.inferred}


def profile_ref(config: Config, name: str) -> ProfileRef:
    from sddd.compose.profiles import load_profile

    svc = load_profile(config, name, strict=False).service
    flags = {k: ("***" if k in SECRET_FLAGS and v else v) for k, v in svc.vllm.items()}
    container_port = int(svc.vllm.get("--port") or 8000)
    host_port = next((p.host for p in svc.ports if p.container == container_port and p.host), None)
    served = (svc.vllm.get("--served-model-name") or "").split()
    key_source = svc.source_of("environment", "VLLM_API_KEY") if "VLLM_API_KEY" in svc.environment \
        else (svc.flag_source("--api-key") if "--api-key" in svc.vllm else None)
    return ProfileRef(name=svc.profile, config_hash=svc.config_hash, files=svc.files, vllm_flags=flags,
                      models=[*served, *([svc.model] if svc.model else [])], host_port=host_port,
                      api_key_env=_variable_at(config, key_source))


def _variable_at(config: Config, source: Any) -> str | None:
    """The ``${NAME}`` written on the line a key comes from (the profile never holds the key)."""
    if source is None or not source.line:
        return None
    try:
        lines = config.resolve(source.path).read_text(encoding="utf-8").splitlines()
        match = KEY_VARIABLE.search(lines[source.line - 1].split(":", 1)[-1])
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    return match.group(1) if match else None


def infer_profile(config: Config, info: ServerInfo, port: int) -> ProfileRef | None:
    """The profile whose model the server lists (the one on this port when several match)."""
    from sddd.compose.profiles import profile_names

    served = set(info.models) | {r for r in info.roots.values() if r}
    matches = []
    for name in profile_names(config):
        try:
            ref = profile_ref(config, name)
        except SdddError:
            continue  # a broken profile is another command's finding, not this one's
        if served & set(ref.models):
            matches.append(ref)
    if len(matches) > 1:
        matches = [m for m in matches if m.host_port == port] or []
    if len(matches) != 1:
        return None
    matches[0].inferred = True
    return matches[0]


def resolve_target(config: Config, profile: str | None, url: str | None, *,
                   api_key_env: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                   infer: bool = True) -> tuple[Endpoint, ProfileRef | None]:
    """The endpoint to talk to and the profile behind it.

    - ``PROFILE``: its published host port on 127.0.0.1, its API key variable;
    - ``PROFILE --url URL``: the profile's expectations, the server at URL;
    - ``--url URL`` alone: the profile whose model ``/v1/models`` lists, if exactly one does;
    - neither: the canonical profile of sddd.yaml.
    """
    ref: ProfileRef | None = None
    if url is not None:
        normalize_url(url)  # `--url ''` is a mistake to say, not a reason to use the profile's port
    if profile or url is None:
        ref = profile_ref(config, profile or config.canonical_profile)
        if not url:
            if ref.host_port is None:
                raise UsageError(f"profile {ref.name!r} publishes no host port for vLLM; pass --url")
            url = f"http://127.0.0.1:{ref.host_port}"
    env_var = api_key_env or (ref.api_key_env if ref else None)
    endpoint = resolve_endpoint(url, api_key_env=env_var, timeout=timeout,
                                required_key=api_key_env is not None, env=_environment(config))
    if ref is None and infer:
        ref = infer_profile(config, endpoint.server_info(), endpoint.port)
        if ref and not endpoint.api_key and ref.api_key_env and api_key_env is None:
            endpoint = resolve_endpoint(url, api_key_env=ref.api_key_env, timeout=timeout,
                                        env=_environment(config))
    return endpoint, ref


def _environment(config: Config) -> dict[str, str]:
    """Process environment over the repository's .env, as Compose reads them."""
    from sddd.compose.interpolation import environment

    path = config.root / ".env"
    try:
        return environment(path if path.is_file() else None)
    except SdddError:
        return dict(os.environ)


def served_model(endpoint: Endpoint, ref: ProfileRef | None,
                 wanted: str | None) -> tuple[str, dict[str, Any]]:
    """The served model to measure (``wanted``, else the profile's) and the server's facts."""
    info = endpoint.server_info()
    if info.error:
        raise (EngineError if info.not_openai else UsageError)(f"{endpoint.base_url}: {info.error}")
    if wanted:
        if wanted not in info.models:
            raise UsageError(f"{wanted!r} is not served here; /v1/models lists "
                             f"{', '.join(info.models)}", option="model")
        return wanted, info.to_json()
    expected = ref.models if ref else []
    found = next((m for m in info.models if m in expected or info.roots.get(m) in expected), None)
    if expected and found is None:
        raise UsageError(f"{endpoint.base_url} serves {', '.join(info.models)}, not the model of profile "
                         f"{ref.name if ref else '?'} ({' or '.join(expected)}); pass --model or --url")
    if not info.models:
        raise UsageError(f"{endpoint.base_url}: /v1/models lists no model")
    return found or info.models[0], info.to_json()
