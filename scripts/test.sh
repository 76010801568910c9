#!/usr/bin/env bash
# The one test command (README: `npm ci && npm test`): set up the real peers the tests need on
# this machine, build, run every test, and end with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh || { echo "setup failed: install nginx, libnginx-mod-http-js, chromium, java, maven" >&2; exit 2; }
npm run build || { echo "build failed: fix the type errors above" >&2; exit 2; }
mkdir -p test-results
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
code=$?
node scripts/summarize-tests.mjs test-results/vitest.json || code=1
exit $code
