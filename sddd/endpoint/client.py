"""A small HTTP client for a vLLM OpenAI-compatible server (standard library only).

``resolve_endpoint`` turns a URL (``http://host:port``, ``host:port``, with or without
``/v1``) and the name of an environment variable holding the API key into an ``Endpoint``.
The key is sent as ``Authorization: Bearer ...`` and never appears in a repr, a message
or a saved result. Streaming responses (server-sent events) are read line by line with
``perf_counter`` timestamps, so callers can measure time to first token honestly.

An endpoint that cannot be reached raises ``EndpointUnreachable`` (exit 5, one line); one that
takes the connection but does not answer in time raises ``EndpointTimeout`` (exit 7). The first
request to a server (``probe``) waits at most ``PROBE_TIMEOUT`` seconds: a server that is up
answers ``/health`` at once, so a hanging one costs seconds, not the generation timeout. A
stream that ends before ``data: [DONE]`` is broken, never complete. An error page (a web
server that is not vLLM) is summed up in one line, never pasted.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sddd.core.errors import EndpointTimeout, EndpointUnreachable, UsageError

DEFAULT_TIMEOUT = 60.0  # a generation on a loaded server may take this long
PROBE_TIMEOUT = 5.0  # /health, /v1/models, /version: instant on a server that is up
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SHOWN_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # env names are upper case; a key seldom is
HOST = re.compile(r"[A-Za-z0-9._~%-]+|[0-9a-f:.]+")  # a name, an IPv4 or an IPv6 address
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def obj(self) -> dict[str, Any]:
        """The body as a JSON object; {} for anything else (an error page, a list, garbage)."""
        data = self.json()
        return data if isinstance(data, dict) else {}

    def error_message(self) -> str:
        """The server's error text (OpenAI shape ``{"error": {"message"}}`` or vLLM's), on one
        line; an HTML page (a server that is not vLLM) is named by its title, not pasted."""
        data = self.json()
        if isinstance(data, dict):
            err = data.get("error", data)
            if isinstance(err, dict) and err.get("message"):
                return _one_line(str(err["message"]))
            if isinstance(data.get("detail"), str):
                return _one_line(str(data["detail"]))
            if isinstance(err, str):
                return _one_line(err)
        if self.is_html:
            title = TITLE.search(self.body)
            named = f" titled {_one_line(title.group(1).decode('utf-8', 'replace'))!r}" if title else ""
            return f"an HTML page{named}, not an OpenAI API answer"
        return _one_line(self.text) or f"HTTP {self.status}"

    @property
    def is_html(self) -> bool:
        kind = self.headers.get("content-type", "")
        return "html" in kind or self.body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


@dataclass
class StreamEvent:
    at: float  # perf_counter() when the line arrived
    data: dict[str, Any]


@dataclass
class Stream:
    """A streamed response: status first, then events as they arrive (``events``)."""

    status: int
    started: float  # perf_counter() just before the request was sent
    events: Iterator[StreamEvent]
    error: str | None = None  # the server's message when status != 200


@dataclass
class Endpoint:
    base_url: str  # scheme://host:port with no trailing slash and no /v1
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def prefix(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")

    def headers(self, *, auth: bool = True) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        cls = (http.client.HTTPSConnection if urlsplit(self.base_url).scheme == "https"
               else http.client.HTTPConnection)
        return cls(self.host, self.port, timeout=timeout or self.timeout)

    def _send(self, conn: http.client.HTTPConnection, method: str, path: str,
              body: Any, auth: bool) -> http.client.HTTPResponse:
        payload = None if body is None else json.dumps(body).encode("utf-8")
        try:
            conn.request(method, self.prefix + path, body=payload, headers=self.headers(auth=auth))
            return conn.getresponse()
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            if isinstance(exc, TimeoutError):
                raise self.timed_out(method, path, conn.timeout) from None
            if isinstance(exc, http.client.HTTPException):  # something answered, not in HTTP
                raise EndpointUnreachable(f"{self.base_url} answered {method} {path} with something "
                                          f"that is not HTTP ({_reason(exc)}); is this the server's "
                                          "port?") from None
            raise EndpointUnreachable(f"cannot reach {self.base_url} ({_reason(exc)}); start the "
                                      "server or pass the right --url") from None

    def timed_out(self, method: str, path: str, seconds: float | None) -> EndpointTimeout:
        waited = seconds or self.timeout
        why = ("a vLLM server that is up answers it at once: is it hung, or is another program on "
               "this port?" if waited < self.timeout else "is it overloaded? --timeout waits longer")
        return EndpointTimeout(f"{self.base_url} took the connection but did not answer {method} "
                               f"{path} within {waited:g} s; {why}")

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True,
                timeout: float | None = None) -> Response:
        conn = self._connection(timeout)
        start = time.perf_counter()
        try:
            resp = self._send(conn, method, path, body, auth)
            data = resp.read()
            return Response(resp.status, data, {k.lower(): v for k, v in resp.getheaders()},
                            time.perf_counter() - start)
        except TimeoutError:
            raise self.timed_out(method, path, conn.timeout) from None
        except (http.client.HTTPException, OSError) as exc:
            raise EndpointUnreachable(
                f"{self.base_url} dropped the connection during {method} {path} ({_reason(exc)})"
            ) from None
        finally:
            conn.close()

    def probe(self, path: str, **kwargs: Any) -> Response:
        """A GET that a server which is up answers at once: waits ``PROBE_TIMEOUT`` at most."""
        return self.request("GET", path, timeout=min(self.timeout, PROBE_TIMEOUT), **kwargs)

    def ready(self) -> str | None:
        """None when ``/health`` and ``/v1/models`` (with the key) answer 200; else what is still
        missing, in a few words. The one readiness probe: deploy's wait asks it too."""
        for path in ("/health", "/v1/models"):
            try:
                status = self.probe(path, auth=path.startswith("/v1")).status
            except (EndpointUnreachable, EndpointTimeout):
                return f"waiting for {path}"
            if status != 200:
                return f"{path} answered {status}"
        return None

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Response:
        return self.request("POST", path, body, **kwargs)

    def metrics(self) -> dict[str, float]:
        """Prometheus ``/metrics`` summed by metric name ({} when not served)."""
        try:
            resp = self.get("/metrics", auth=False)
        except EndpointUnreachable:
            return {}
        return parse_metrics(resp.text)[0] if resp.status == 200 else {}

    def server_info(self) -> ServerInfo:
        """``/version``, the models listed and the cache configuration the server reports."""
        version = self.probe("/version", auth=False)
        models = self.probe("/v1/models")
        info = ServerInfo(status=models.status)
        if version.status == 200 and isinstance(version.json(), dict):
            info.version = str(version.json().get("version"))
        if models.status == 200:
            for item in models.obj().get("data", []):
                if isinstance(item, dict) and item.get("id"):
                    info.models.append(str(item["id"]))
                    info.roots[str(item["id"])] = str(item.get("root") or "")
        elif models.status == 401:
            info.error = ("401 Unauthorized: pass --api-key-env VAR naming the variable that holds "
                          "the server's key" if not self.api_key else
                          f"401 Unauthorized: the key in ${self.api_key_env} is not this server's key")
        else:
            info.not_openai = True
            info.error = (f"/v1/models answered {models.status} ({models.error_message()}): this is not "
                          "a vLLM OpenAI server; pass its address with --url")
        try:
            text = self.probe("/metrics", auth=False)
            if text.status == 200:
                info.cache_config = parse_metrics(text.text)[1].get("vllm:cache_config_info", {})
        except EndpointUnreachable:
            pass
        return info

    def stream(self, path: str, body: dict[str, Any], *, timeout: float | None = None) -> Stream:
        """POST with ``stream: true``; events are parsed ``data:`` lines until ``[DONE]``."""
        conn = self._connection(timeout)
        started = time.perf_counter()
        resp = self._send(conn, "POST", path, {**body, "stream": True}, True)
        if resp.status != 200:
            data = resp.read()
            conn.close()
            message = Response(resp.status, data, {}, 0.0).error_message()
            return Stream(resp.status, started, iter(()), error=message)
        return Stream(200, started, _sse_events(self, conn, resp, path))


@dataclass
class ServerInfo:
    status: int = 0  # of /v1/models
    version: str | None = None
    models: list[str] = field(default_factory=list)
    roots: dict[str, str] = field(default_factory=dict)  # served name -> model path or id
    cache_config: dict[str, str] = field(default_factory=dict)  # vllm:cache_config_info labels
    error: str | None = None
    not_openai: bool = False  # /v1/models answered neither 200 nor 401

    def to_json(self) -> dict[str, Any]:
        keep = ("enable_prefix_caching", "block_size", "cache_dtype", "gpu_memory_utilization",
                "num_gpu_blocks", "kv_cache_size_tokens")
        return {"version": self.version, "models": self.models,
                "cache_config": {k: v for k, v in self.cache_config.items() if k in keep}}


METRIC_LINE = re.compile(r'^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> tuple[dict[str, float], dict[str, dict[str, str]]]:
    """Prometheus text -> (value per metric name, summed over labels; labels of each *_info)."""
    values: dict[str, float] = {}
    infos: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = METRIC_LINE.match(line)
        if not match or line.startswith("#"):
            continue
        name, labels, raw = match.groups()
        try:
            values[name] = values.get(name, 0.0) + float(raw)
        except ValueError:
            continue
        if name.endswith("_info") and labels:
            infos[name] = dict(LABEL.findall(labels))
    return values, infos


def _sse_events(endpoint: Endpoint, conn: http.client.HTTPConnection,
                resp: http.client.HTTPResponse, path: str) -> Iterator[StreamEvent]:
    """The ``data:`` events of a stream; raises EndpointUnreachable (EndpointTimeout) when the
    stream is cut (or stalls) before ``data: [DONE]``: a cut stream is a failed request."""
    events = 0
    try:
        while True:
            try:
                line = resp.readline()
            except TimeoutError:
                raise endpoint.timed_out("POST", path, conn.timeout) from None
            except (http.client.HTTPException, OSError) as exc:
                raise EndpointUnreachable(f"{endpoint.base_url} broke the stream of POST {path} after "
                                          f"{events} event(s) ({_reason(exc)})") from None
            if not line:
                raise EndpointUnreachable(f"{endpoint.base_url} closed the stream of POST {path} after "
                                          f"{events} event(s), before data: [DONE]")
            at = time.perf_counter()
            text = line.decode("utf-8", errors="replace").strip()
            if not text.startswith("data:"):
                continue  # blank separators, comments, "event:" lines
            payload = text[5:].strip()
            if payload == "[DONE]":
                return
            try:
                data = json.loads(payload)
            except ValueError:
                continue
            if isinstance(data, dict):
                events += 1
                yield StreamEvent(at, data)
    finally:
        conn.close()


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    text = str(exc) or exc.__class__.__name__
    return text.splitlines()[0][:120]


def normalize_url(url: str) -> str:
    """``host:port`` or ``http://host:port/v1/`` -> ``http://host:port``."""
    raw = url.strip()
    if not raw:
        raise UsageError("is empty; pass e.g. http://127.0.0.1:5002", option="url")
    if "://" not in raw:
        raw = "http://" + raw
    try:  # urlsplit raises ValueError on a bracketed host that is no IPv6 address ("[::1", "[zz]")
        parts = urlsplit(raw)
        host = parts.hostname or ""
    except ValueError as exc:
        raise UsageError(f"must look like http://HOST:PORT; got {url!r} ({exc})", option="url") from None
    if parts.scheme not in ("http", "https") or not HOST.fullmatch(host):
        raise UsageError(f"must look like http://HOST:PORT; got {url!r}", option="url")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"has a bad port: {url!r}", option="url") from None
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[:-3]
    # Credentials (http://user:TOKEN@host) are dropped: the client never sends them (the key goes
    # in a header, from --api-key-env), and the URL is shown, written to JSON and saved with bench
    # results.
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{netloc}{path}"


def resolve_endpoint(url: str, *, api_key_env: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                     required_key: bool = False, env: Mapping[str, str] | None = None) -> Endpoint:
    """An ``Endpoint`` for ``url``; the key is read from ``api_key_env`` (never passed inline).

    ``required_key``: the user named the variable explicitly, so an unset one is an error.
    ``env``: where to read it (default: the process environment).
    """
    key = None
    if api_key_env is not None:
        # The value is echoed only when it looks like a variable's name: given the key itself
        # by mistake, the message must not print it.
        if not VARIABLE.fullmatch(api_key_env):
            raise UsageError("takes the NAME of the variable that holds the key (e.g. VLLM_API_KEY), "
                             "not a value; what was given is not shown, in case it is the key itself",
                             option="api_key_env")
        key = (os.environ if env is None else env).get(api_key_env) or None
        if key is None and required_key:
            shown = api_key_env if SHOWN_NAME.fullmatch(api_key_env) else "the variable it names"
            # "names X, ...", not "X: ...": error lines are redacted, and `--api-key-env X` reads
            # as a key flag followed by its value.
            raise UsageError(f"names {shown}, an environment variable that is not set or empty",
                             option="api_key_env")
    return Endpoint(normalize_url(url), api_key=key, api_key_env=api_key_env if key else None,
                    timeout=timeout)
