#!/usr/bin/env bash
# The second MCP client of tests/mcp/test_node_client.py: the official TypeScript SDK
# (@modelcontextprotocol/sdk, pinned in tests/mcp/js/package-lock.json) run with node.
# node and npm come from Debian's nodejs and npm packages when the machine has no node (the
# SDK needs node >= 18; bookworm ships 18.20); `npm ci` installs exactly the lock file into
# tests/mcp/js/node_modules (git-ignored). Idempotent: an install matching the lock is kept.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "node $(node --version), npm $(npm --version)"
cd "$(dirname "$0")/../../tests/mcp/js"
# npm ci removes node_modules first: skip it when the tree was installed from this very lock.
if ! cmp -s package-lock.json node_modules/.sddd-installed-lock 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.sddd-installed-lock
fi
node -e "import('@modelcontextprotocol/sdk/client/index.js').then(() => console.log('TypeScript MCP SDK ready'))"
