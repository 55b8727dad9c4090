#!/usr/bin/env bash
# Installs the npm packages of package-lock.json (DuckDB, uPlot, playwright-core) into
# node_modules, only when they are missing or the lockfile changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.sluice-lock-stamp
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
