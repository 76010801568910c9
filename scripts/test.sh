#!/usr/bin/env bash
# The one test command (README): set up what the tests need on this machine, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npm run build
exec npx vitest run "$@"
