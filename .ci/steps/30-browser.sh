#!/usr/bin/env bash
# A real headless browser for tests/test_site_browser.py: Debian's chromium and its matching
# chromedriver (Selenium drives it through /usr/bin/chromedriver; no browser download, no
# Selenium Manager). fonts-liberation gives the screenshots readable text. The Python side
# (mkdocs, mkdocs-material, selenium) comes from pyproject.toml into .venv.
# Idempotent: installs only what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in chromium chromium-driver fonts-liberation; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
        || apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
chromium --version 2>/dev/null | head -1
chromedriver --version | head -1
