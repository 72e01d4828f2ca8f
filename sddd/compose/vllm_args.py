"""Read vLLM server arguments out of a compose ``command`` (list or string).

``--flag=value``, ``--flag value`` and bare ``--flag`` are all accepted, as vLLM's own
argument parser accepts them, and flag names are normalised as that parser does: underscores
become dashes (``--max_num_seqs`` is ``--max-num-seqs``) and the short aliases are spelled out
(``-tp 2`` is ``--tensor-parallel-size 2``). ``--no-<flag>`` (argparse's
``BooleanOptionalAction``) stays as written; ``switch_state`` reads it. The positional model
of ``vllm serve MODEL`` counts as ``--model``. Shared by the index, profiles, drift and the site.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

# Programs whose first argument is not a model: a shell, a test server. A command that
# starts with one of them is not `vllm serve` and has no vLLM arguments.
NOT_VLLM = {"sh", "bash", "ash", "dash", "env", "httpd", "busybox", "sleep", "true", "echo"}


# vLLM's short aliases (vllm/engine/arg_utils.py, add_cli_args).
SHORT = {"-tp": "--tensor-parallel-size", "-pp": "--pipeline-parallel-size",
         "-dp": "--data-parallel-size", "-q": "--quantization"}


@dataclass(frozen=True)
class VllmArg:
    flag: str  # normalised, with its leading dashes, e.g. "--max-num-seqs"
    value: str | None  # None for a bare switch
    index: int  # position in the command list (for line lookup)
    written: str = ""  # the flag as the command writes it ("--max_num_seqs", "-tp")


def normalize_flag(flag: str) -> str:
    """``--Max_Num_Seqs`` / ``-tp`` -> ``--max-num-seqs`` / ``--tensor-parallel-size``."""
    if flag in SHORT:
        return SHORT[flag]
    return "--" + flag.lstrip("-").lower().replace("_", "-")


def base_flag(flag: str) -> str:
    """The flag a ``--no-`` form turns off: ``--no-enable-prefix-caching`` -> ``--enable-prefix-caching``."""
    flag = normalize_flag(flag)
    return "--" + flag[5:] if flag.startswith("--no-") else flag


def _is_flag(token: str) -> bool:
    return token.startswith("--") or token.split("=", 1)[0] in SHORT


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
        if _is_flag(token):
            if "=" in token:
                flag, value = token.split("=", 1)
                args.append(VllmArg(normalize_flag(flag), value, i, flag))
            elif i + 1 < len(tokens) and not _is_flag(tokens[i + 1]):
                args.append(VllmArg(normalize_flag(token), tokens[i + 1], i, token))
                i += 1
            else:
                args.append(VllmArg(normalize_flag(token), None, i, token))
        i += 1
    return args


def args_dict(command: Any) -> dict[str, str | None]:
    """Flags to values; the last occurrence wins, as in argparse."""
    return {arg.flag: arg.value for arg in parse_vllm_args(command)}
