"""Check a live vLLM OpenAI server: health, models, chat, reasoning, tool calling, streaming, auth.

Each check is a ``CheckResult``: pass, fail or skip, the reason in one sentence, and on failure
the knowledge-base section that explains it (``sddd.search`` over the index, ``k=1``). What to
expect of the server (its model, whether it has a reasoning or tool-call parser) comes from an
``Expectations``, built from a profile's vLLM flags or from the user's switches.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sddd.core.config import Config
from sddd.core.errors import EndpointUnreachable, SdddError
from sddd.endpoint.client import Endpoint, Response
from sddd.endpoint.target import ProfileRef

PASS, FAIL, SKIP = "pass", "fail", "skip"
REASONING_FIELDS = ("reasoning", "reasoning_content")  # renamed across vLLM versions
MAX_TOKENS = 96

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
        },
    },
}
WEATHER_PARAMETERS: dict[str, Any] = WEATHER_TOOL["function"]["parameters"]  # type: ignore[index]


@dataclass
class Expectations:
    """What the server should do; ``None`` for reasoning/tools means "check it anyway"."""

    models: list[str] = field(default_factory=list)  # served names or model ids; any one will do
    reasoning_parser: str | None = None
    tool_call_parser: str | None = None
    auto_tool_choice: bool = False
    check_reasoning: bool = True
    check_tools: bool = True
    source: str = "none"  # "profile NAME", "flags" or "none"

    @classmethod
    def from_flags(cls, flags: dict[str, str | None], *, source: str) -> Expectations:
        """From a profile's vLLM flags (``sddd.vllm_args.args_dict``)."""
        models = [v for k in ("--served-model-name", "--model") if (v := flags.get(k))]
        reasoning = flags.get("--reasoning-parser")
        tools = flags.get("--tool-call-parser")
        return cls(models=models, reasoning_parser=reasoning, tool_call_parser=tools,
                   auto_tool_choice="--enable-auto-tool-choice" in flags,
                   check_reasoning=bool(reasoning), check_tools=bool(tools), source=source)


def expectations(ref: ProfileRef | None, reasoning: bool | None = None,
                 tools: bool | None = None) -> Expectations:
    """What to expect of a server: its profile's flags (everything, without a profile), with the
    reasoning and tool checks forced on or off when asked."""
    if ref is not None:
        source = f"profile {ref.name}" + (" (matched by its model)" if ref.inferred else "")
        expect = Expectations.from_flags(ref.vllm_flags, source=source)
    else:
        expect = Expectations()  # no profile: every check runs
    if reasoning is not None:
        expect.check_reasoning = reasoning
    if tools is not None:
        expect.check_tools = tools
    return expect


@dataclass
class Hint:
    path: str
    anchor: str | None
    heading: str
    score: float

    @property
    def where(self) -> str:
        return f"{self.path}#{self.anchor}" if self.anchor else self.path


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | skip
    reason: str
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    hint: Hint | None = None
    note: str | None = None  # e.g. why there is no hint

    @property
    def passed(self) -> bool:
        return self.status != FAIL


@dataclass
class ValidateReport:
    endpoint: str
    expectations: Expectations
    model: str | None
    version: str | None
    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint, "passed": self.passed, "model": self.model,
            "version": self.version, "expectations": asdict(self.expectations),
            "checks": [{**asdict(c), "hint": asdict(c.hint) | {"where": c.hint.where} if c.hint else None,
                        "seconds": round(c.seconds, 4)} for c in self.checks],
        }



class _Run:
    """State shared by the checks of one validation."""

    def __init__(self, endpoint: Endpoint, expect: Expectations):
        self.endpoint = endpoint
        self.expect = expect
        self.model: str | None = None
        self.version: str | None = None
        self.authorized = True
        self.chat: dict[str, Any] | None = None
        self.models_response: Response | None = None


def _timed(name: str, fn: Callable[[], CheckResult]) -> CheckResult:
    start = time.perf_counter()
    result = fn()
    result.name = name
    result.seconds = time.perf_counter() - start
    return result


def check_health(run: _Run) -> CheckResult:
    resp = run.endpoint.probe("/health", auth=False)  # a hung server costs seconds, not minutes
    if resp.status == 200:
        body = ("an empty body, which is vLLM's normal answer" if not resp.body.strip()
                else repr(resp.text[:80]))
        return CheckResult("", PASS, f"/health answered 200 with {body}")
    return CheckResult("", FAIL, f"/health answered {resp.status}: the engine is not healthy "
                                 f"({resp.error_message()})")


def _unauthorized(run: _Run, resp: Response) -> str:
    if run.endpoint.api_key:
        return (f"401 Unauthorized: the key in ${run.endpoint.api_key_env} is not this server's "
                "--api-key (VLLM_API_KEY); send the key of the service you call")
    return ("401 Unauthorized: the server requires an API key; pass --api-key-env VAR naming the "
            "variable that holds it")


def check_auth(run: _Run) -> CheckResult:
    resp = run.endpoint.probe("/v1/models")
    run.models_response = resp
    if resp.status == 401:
        run.authorized = False
        return CheckResult("", FAIL, _unauthorized(run, resp))
    if resp.status != 200:  # only an answer to a request without a key says none is needed
        return CheckResult("", FAIL, f"cannot tell: /v1/models answered {resp.status} "
                                     f"({resp.error_message()}); is this a vLLM OpenAI server?")
    if run.endpoint.api_key:
        return CheckResult("", PASS, f"requests carry the key from ${run.endpoint.api_key_env}; accepted")
    return CheckResult("", PASS, "the server accepts requests without a key (no --api-key set)")


def check_models(run: _Run) -> CheckResult:
    resp = run.models_response
    if resp is None or resp.status != 200:
        if resp is None:
            return CheckResult("", FAIL, "/v1/models was not asked")
        return CheckResult("", FAIL, f"/v1/models answered {resp.status}: {resp.error_message()}")
    data = resp.obj()
    listed = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]
    roots = {str(m.get("id")): str(m.get("root") or "") for m in data.get("data", []) if isinstance(m, dict)}
    if not listed:
        return CheckResult("", FAIL, "/v1/models lists no model")
    wanted = run.expect.models
    if wanted:
        found = next((m for m in listed if m in wanted or roots.get(m) in wanted), None)
        if found is None:
            return CheckResult("", FAIL, f"/v1/models lists {', '.join(listed)}, not the model the "
                                         f"profile serves ({' or '.join(wanted)})",
                               detail={"listed": listed})
        run.model = found
    else:
        run.model = listed[0]
    version = run.endpoint.probe("/version", auth=False)
    if version.status == 200 and isinstance(version.json(), dict):
        run.version = str(version.json().get("version"))
    extra = f"; vLLM {run.version}" if run.version else "; /version not served"
    return CheckResult("", PASS, f"/v1/models lists {run.model}{extra}",
                       detail={"listed": listed, "version": run.version})


def _chat_body(run: _Run, **extra: Any) -> dict[str, Any]:
    return {"model": run.model, "max_tokens": MAX_TOKENS, "temperature": 0,
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}], **extra}


def _reasoning_of(message: dict[str, Any]) -> tuple[str | None, str | None]:
    for name in REASONING_FIELDS:
        if message.get(name):
            return name, str(message[name])
    return None, None


def check_chat(run: _Run) -> CheckResult:
    resp = run.endpoint.post("/v1/chat/completions", _chat_body(run))
    if resp.status != 200:
        return CheckResult("", FAIL, f"chat completion answered {resp.status}: {resp.error_message()}")
    choice = (resp.obj().get("choices") or [{}])[0]
    message = choice.get("message") or {}
    run.chat = message
    content = message.get("content") or ""
    usage = resp.obj().get("usage") or {}
    detail = {"finish_reason": choice.get("finish_reason"), "usage": usage}
    if content.strip():
        return CheckResult("", PASS, f"a chat completion returned {len(content)} characters of content "
                                     f"({usage.get('completion_tokens', '?')} tokens)", detail=detail)
    field_name, reasoning = _reasoning_of(message)
    if reasoning:
        return CheckResult("", PASS, f"a chat completion returned only {field_name} (no content within "
                                     f"{MAX_TOKENS} tokens)", detail=detail)
    return CheckResult("", FAIL, "a chat completion returned no content", detail=detail)


def check_reasoning(run: _Run) -> CheckResult:
    if run.chat is None:
        return CheckResult("", SKIP, "no chat reply to inspect")
    field_name, reasoning = _reasoning_of(run.chat)
    content = run.chat.get("content") or ""
    if reasoning and "</think>" not in content:
        return CheckResult("", PASS, f"the reply carries `{field_name}` ({len(reasoning)} characters) "
                                     "apart from the content", detail={"field": field_name})
    if "<think>" in content or "</think>" in content:
        return CheckResult("", FAIL, "the reasoning came back inside content (<think> tags in the text, no "
                                     "reasoning field): the server runs without --reasoning-parser "
                                     "(qwen3 for Qwen3 models)")
    return CheckResult("", FAIL, "the reply has no reasoning field (reasoning or reasoning_content): check "
                                 "--reasoning-parser and that the model thinks (enable_thinking)")


def _schema_errors(value: Any, schema: dict[str, Any], where: str = "arguments") -> list[str]:
    """The few JSON Schema rules tool parameters use: type, required, properties, enum."""
    kinds: dict[str, type | tuple[type, ...]] = {"object": dict, "array": list, "string": str,
                                                 "boolean": bool, "integer": int, "number": (int, float)}
    expected = schema.get("type")
    if isinstance(expected, str) and expected in kinds:
        ok = isinstance(value, kinds[expected]) and not (
            expected in ("integer", "number") and isinstance(value, bool))
        if not ok:
            return [f"{where} should be {expected}, got {type(value).__name__}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where} is not one of {schema['enum']}")
    if isinstance(value, dict):
        errors += [f"{where} misses required {name!r}" for name in schema.get("required", [])
                   if name not in value]
        for name, sub in (schema.get("properties") or {}).items():
            if name in value and isinstance(sub, dict):
                errors += _schema_errors(value[name], sub, f"{where}.{name}")
    return errors


TOOL_CAUSES = ("usual causes: the server was started without --enable-auto-tool-choice, or its "
               "--tool-call-parser does not match the model (Qwen3 writes Hermes tool calls: hermes)")


def check_tools(run: _Run) -> CheckResult:
    body = _chat_body(run, tools=[WEATHER_TOOL], tool_choice="auto")
    resp = run.endpoint.post("/v1/chat/completions", body)
    if resp.status != 200:
        return CheckResult("", FAIL, f"a request with tools and tool_choice \"auto\" answered {resp.status}: "
                                     f"{resp.error_message()}; {TOOL_CAUSES}")
    message = ((resp.obj().get("choices") or [{}])[0]).get("message") or {}
    calls = message.get("tool_calls") or []
    if not calls:
        text = (message.get("content") or "").strip()
        seen = (" (the content holds a <tool_call> tag that no parser extracted)"
                if "<tool_call>" in text else "")
        return CheckResult("", FAIL, f"no tool_calls in the reply{seen}; {TOOL_CAUSES}")
    problems: list[str] = []
    names = []
    for call in calls:
        function = call.get("function") or {}
        names.append(function.get("name"))
        if function.get("name") != "get_weather":
            problems.append(f"called an undeclared tool {function.get('name')!r}")
            continue
        try:
            args = json.loads(function.get("arguments") or "")
        except ValueError:
            problems.append(f"arguments are not valid JSON: {str(function.get('arguments'))[:80]!r}")
            continue
        problems += _schema_errors(args, WEATHER_PARAMETERS)
    if problems:
        return CheckResult("", FAIL, "tool_calls came back but " + "; ".join(problems))
    return CheckResult("", PASS, f"tool_calls: {', '.join(map(str, names))} with arguments valid for "
                                 "the schema", detail={"tool_calls": calls})


def check_streaming(run: _Run) -> CheckResult:
    stream = run.endpoint.stream("/v1/chat/completions", _chat_body(run))
    if stream.status != 200:
        return CheckResult("", FAIL, f"a streamed chat completion answered {stream.status}: {stream.error}")
    first: float | None = None
    chunks = 0
    for event in stream.events:
        delta = ((event.data.get("choices") or [{}])[0]).get("delta") or {}
        if any(delta.get(k) for k in ("content", *REASONING_FIELDS, "tool_calls")):
            chunks += 1
            if first is None:
                first = event.at - stream.started
    if first is None:
        return CheckResult("", FAIL, "the stream ended without a single token")
    return CheckResult("", PASS, f"first token after {first * 1000:.0f} ms; {chunks} chunks streamed",
                       detail={"ttft_s": first, "chunks": chunks})


def attach_hint(config: Config | None, check: CheckResult) -> None:
    """The knowledge-base section closest to the failure, or a note why there is none."""
    if config is None:
        check.note = "no sddd.yaml: no knowledge base to point to"
        return
    from sddd.index.search import search

    try:
        found = search(config, f"{check.name}: {check.reason}", 1, refresh=False)
    except SdddError as exc:
        check.note = f"no hint: {exc.message}"
        return
    if found.results:
        hit = found.results[0]
        check.hint = Hint(hit.path, hit.anchor, hit.heading, hit.score)


def validate(endpoint: Endpoint, expect: Expectations, *, config: Config | None = None) -> ValidateReport:
    """Run every check in order; later checks are skipped when the server cannot answer them.

    Raises ``EndpointUnreachable`` when nothing answers at all (the first request fails), or
    ``EndpointTimeout`` when the server takes the connection and never answers.
    """
    run = _Run(endpoint, expect)
    checks = [_timed("health", lambda: check_health(run))]  # unreachable: raises, exit 5 (7: hung)
    plan: list[tuple[str, Callable[[_Run], CheckResult], str | None]] = [
        ("auth", check_auth, None),
        ("models", check_models, None),
        ("chat", check_chat, None),
        ("reasoning", check_reasoning,
         None if expect.check_reasoning else "the profile sets no --reasoning-parser"),
        ("tools", check_tools, None if expect.check_tools else "the profile sets no --tool-call-parser"),
        ("streaming", check_streaming, None),
    ]
    for name, fn, skip_reason in plan:
        if skip_reason:
            checks.append(CheckResult(name, SKIP, skip_reason))
        elif name != "auth" and not run.authorized:
            checks.append(CheckResult(name, SKIP, "skipped: the server refused the key (see auth)"))
        elif name not in ("auth", "models") and run.model is None:
            checks.append(CheckResult(name, SKIP, "skipped: no model to talk to (see models)"))
        else:
            try:
                checks.append(_timed(name, functools.partial(fn, run)))
            except EndpointUnreachable as exc:  # the server died or hung mid-way: a failure, not exit 5
                checks.append(CheckResult(name, FAIL, exc.message))
    for check in checks:
        if check.status == FAIL:
            attach_hint(config, check)
    return ValidateReport(endpoint.base_url, expect, run.model, run.version, checks)
