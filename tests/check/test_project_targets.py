"""The project's own CI gate: every target in this repository's sddd.yaml must pass.

A document that becomes unfindable (renamed heading, rewritten section, a new page that
outranks it) fails this test with the targets that broke and the document that won.
"""

from __future__ import annotations

import json

from sddd.check.targets import load_targets
from sddd.core.config import load_config
from tests.helpers import REPO, sddd_here


def test_repository_targets_pass():
    config = load_config(REPO / "sddd.yaml")
    assert load_targets(config), "sddd.yaml has no targets: the project's own docs go unchecked"
    proc = sddd_here("check", "--json", cwd=REPO)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    failed = [
        f"{t['id']}: {t['reason']}"
        + (f" (ranked above: {t['best_wrong']['path']} {t['best_wrong']['score']})" if t["best_wrong"]
           else "")
        for t in report["targets"] if not t["passed"]
    ]
    assert proc.returncode == 0 and not failed, "unfindable documents:\n" + "\n".join(failed)
