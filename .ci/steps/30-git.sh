#!/usr/bin/env bash
# git for tests/test_archive*.py: archiving inside a work tree moves tracked files with
# `git mv` and the tests check git's index afterwards (they also run outside git).
# Idempotent: nothing to do when git is there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v git >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends git >/dev/null
fi
git --version
