"""Read vLLM server arguments out of a compose ``command`` (list or string).

``--flag=value``, ``--flag value`` and bare ``--flag`` are all accepted, as vLLM's own
argument parser accepts them. The positional model of ``vllm serve MODEL`` counts as
``--model``. Shared by the index, profiles, drift and the site.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

# Programs whose first argument is not a model: a shell, a test server. A command that
# starts with one of them is not `vllm serve` and has no vLLM arguments.
NOT_VLLM = {"sh", "bash", "ash", "dash", "env", "httpd", "busybox", "sleep", "true", "echo"}


@dataclass(frozen=True)
class VllmArg:
    flag: str  # always with its leading dashes, e.g. "--max-num-seqs"
    value: str | None  # None for a bare switch
    index: int  # position in the command list (for line lookup)


def command_tokens(command: Any) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError:
            return command.split()
    if isinstance(command, list):
        return [str(item) for item in command]
    return [str(command)]


def parse_vllm_args(command: Any) -> list[VllmArg]:
    """The flags in ``command``, in order, with their values."""
    tokens = command_tokens(command)
    if tokens and tokens[0].rsplit("/", 1)[-1] in NOT_VLLM:
        return []
    args: list[VllmArg] = []
    i = 0
    # Skip a leading program name such as "vllm serve" or "python -m ...".
    if tokens[:2] == ["vllm", "serve"] and len(tokens) > 2 and not tokens[2].startswith("-"):
        args.append(VllmArg("--model", tokens[2], 2))
        i = 3
    elif tokens and not tokens[0].startswith("-") and tokens[0] not in ("vllm", "python", "python3"):
        # "command: Qwen/Qwen3-8B --flag" (the image's entrypoint is `vllm serve`).
        args.append(VllmArg("--model", tokens[0], 0))
        i = 1
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            if "=" in token:
                flag, value = token.split("=", 1)
                args.append(VllmArg(flag, value, i))
            elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                args.append(VllmArg(token, tokens[i + 1], i))
                i += 1
            else:
                args.append(VllmArg(token, None, i))
        i += 1
    return args


def args_dict(command: Any) -> dict[str, str | None]:
    """Flags to values; the last occurrence wins, as in argparse."""
    return {arg.flag: arg.value for arg in parse_vllm_args(command)}
