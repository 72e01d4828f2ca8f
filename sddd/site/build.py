"""`sddd site build` / `sddd site serve` as a library: MkDocs' own build and server, with the
``sddd`` plugin (``sddd.site.plugin``) generating the pages that come from the configuration.

A build never leaves a half-written site: MkDocs writes into a fresh folder next to the output,
which replaces the output only when the build succeeded (and, with ``strict``, produced no
warning). A failed build leaves the previous site as it was. Every MkDocs warning is collected
into the result; ``strict`` turns any of them into a failure, as ``mkdocs build --strict`` does.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sddd.core.config import Config
from sddd.core.errors import ConfigError, ConflictError, SdddError

MKDOCS_FILE = "mkdocs.yml"
# Material prints a banner about its successor on import; a build log is not the place for it.
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


@dataclass
class SiteReport:
    output: str
    strict: bool
    passed: bool
    pages: int = 0
    generated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Collector(logging.Handler):
    """Keeps every MkDocs warning (and passes INFO lines to ``notice`` when one is given)."""

    def __init__(self, notice: Callable[[str], None] | None):
        super().__init__(logging.INFO)
        self.warnings: list[str] = []
        self.notice = notice

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.warnings.append(message)
        elif self.notice:
            self.notice(message)


def mkdocs_path(config: Config) -> Path:
    path = config.root / MKDOCS_FILE
    if not path.is_file():
        raise ConfigError(f"no {MKDOCS_FILE} next to sddd.yaml; create one with `theme: material` and "
                          "`plugins: [search, sddd]` (see sddd's manual, manual/concepts/site.md)",
                          path=config.relpath(path))
    return path


def load_site_config(config: Config, *, strict: bool = False, site_dir: Path | None = None,
                     related: int | None = None, **overrides: Any) -> Any:
    """mkdocs.yml, validated, with the sddd plugin bound to ``config``."""
    from mkdocs.config import load_config as load_mkdocs
    from mkdocs.exceptions import Abort, ConfigurationError

    path = mkdocs_path(config)
    if site_dir is not None:
        overrides["site_dir"] = str(site_dir)
    errors = _Collector(None)  # MkDocs logs what is wrong with the config, then aborts
    logger = logging.getLogger("mkdocs")
    logger.addHandler(errors)
    try:
        mk = load_mkdocs(config_file=str(path), strict=strict, **overrides)
    except (ConfigurationError, Abort) as exc:
        logged = [m.split("\n")[-1] for m in errors.warnings if m.strip()]
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        message = "; ".join(logged) or text.replace(f'"{path}"', "").replace(" in , ", " at ")
        fix = (f"fix {MKDOCS_FILE}" if "is not installed" not in message else
               "install sddd again (pip install -e .) to register its MkDocs plugin and mkdocs-material")
        line = re.search(r"\bline (\d+)", message)
        raise ConfigError(f"{message}; {fix}", path=config.relpath(path),
                          line=int(line.group(1)) if line else None) from None
    finally:
        logger.removeHandler(errors)
    plugin = mk.plugins.get("sddd")
    if plugin is None:
        raise ConfigError("the sddd plugin is not enabled; add `- sddd` under `plugins:` (generated "
                          "profile, archive and discoverability pages need it)", path=config.relpath(path))
    plugin.sddd_config = config
    if related is not None:
        plugin.config.related = related
    return mk


def _check_output(config: Config, output: Path, docs_dir: Path) -> None:
    """Refuse to replace a folder that is not a site (the repository, the docs, someone's files)."""
    resolved = output.resolve()
    if resolved == config.root.resolve() or resolved in config.root.resolve().parents:
        raise ConflictError("refusing to build the site over the repository; pick another --output",
                            path=str(output))
    if resolved == docs_dir or docs_dir.is_relative_to(resolved) or resolved.is_relative_to(docs_dir):
        raise ConflictError("the site cannot be built in or around docs_dir; pick another --output",
                            path=str(output))
    if resolved.exists() and not resolved.is_dir():
        raise ConflictError("exists and is not a folder; pick another --output", path=str(output))
    if resolved.is_dir() and any(resolved.iterdir()) and not (resolved / "index.html").is_file():
        raise ConflictError("exists, is not empty and holds no built site (no index.html); refusing to "
                            "replace it: remove it or pick another --output", path=str(output))


def build_site(config: Config, *, strict: bool = False, output: Path | None = None,
               related: int | None = None, notice: Callable[[str], None] | None = None) -> SiteReport:
    """Build the site into ``output`` (default: mkdocs.yml's site_dir, ``site/``)."""
    from mkdocs.commands.build import build
    from mkdocs.exceptions import Abort, MkDocsException

    started = time.monotonic()
    collector = _Collector(notice)
    logger = logging.getLogger("mkdocs")
    old_level = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    try:
        probe = load_site_config(config, strict=strict, related=related)
        final = Path(output).resolve() if output else Path(probe.site_dir).resolve()
        _check_output(config, final, Path(probe.docs_dir).resolve())
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
        try:
            mk = load_site_config(config, strict=strict, site_dir=staging, related=related)
            plugin = mk.plugins["sddd"]
            try:
                mk.plugins.on_startup(command="build", dirty=False)
                build(mk)
                mk.plugins.on_shutdown()
            except (Abort, MkDocsException) as exc:
                if plugin.error is not None:
                    raise plugin.error from None
                if not (strict and collector.warnings):
                    raise SdddError(f"mkdocs build failed: {exc}") from None
            report = SiteReport(
                output=config.relpath(final), strict=strict, passed=not (strict and collector.warnings),
                pages=sum(1 for _ in staging.rglob("*.html")), generated=_generated(mk),
                warnings=list(collector.warnings))
            if report.passed:
                _replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _generated(mk: Any) -> list[str]:
    """The pages the plugins generated: sddd's, and the manual's reference when it is enabled."""
    return [page for name in ("sddd", "sddd-manual") if name in mk.plugins
            for page in getattr(mk.plugins[name], "generated", [])]


def _replace(staging: Path, final: Path) -> None:
    """Put the new site in place: one rename, plus one for the old site when there was one."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(final)


def serve_site(config: Config, *, dev_addr: str = "127.0.0.1:8000", related: int | None = None,
               open_browser: bool = False) -> None:
    """MkDocs' live-reloading server (blocks until Ctrl-C). Rebuilds when docs, profiles, manifests,
    the check report or sddd.yaml change."""
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import Abort, MkDocsException

    host, _, port = dev_addr.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"must be HOST:PORT, e.g. 127.0.0.1:8000; got {dev_addr!r}", option="addr")
    mkdocs_path(config)
    load_site_config(config, related=related)  # fail here, in one line, on a bad mkdocs.yml
    if config.path:
        os.environ["SDDD_CONFIG"] = str(config.path)  # the server loads mkdocs.yml itself
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    if related is not None:  # the server reloads mkdocs.yml on changes: pass it by environment
        os.environ["SDDD_SITE_RELATED"] = str(related)
    try:
        serve(config_file=str(config.root / MKDOCS_FILE), dev_addr=dev_addr, livereload=True,
              open_in_browser=open_browser)
    except (Abort, MkDocsException) as exc:
        raise SdddError(f"mkdocs serve failed: {exc}") from None
    finally:
        logger.removeHandler(handler)
