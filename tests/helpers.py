"""Helpers shared by the tests."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip with a visible reason when ``condition`` is false, except in CI, where it fails."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}: .ci/steps should have provided it")
    pytest.skip(reason)
