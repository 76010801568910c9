#!/usr/bin/env bash
# Runs every benchmark once and collects their one-line results in bench/out/latest.txt.
# Each line: `name figure unit baseline=<x> ratio=<y>` (see bench/README.md).
# Benchmarks that need Elasticsearch use ES_URL, or start the Maven node (.ci/es/start).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
out=bench/out/latest.txt
: > "$out"
if [ -z "${ES_URL:-}" ]; then
  ES_URL=$(bash .ci/es/start | sed -n 's/^ES_URL=//p' | tail -n 1) && export ES_URL
fi
for b in parse ingest-cpu sqlite-write es-bulk scan; do
  [ -f "bench/$b.ts" ] || continue
  echo "== $b" >&2
  npx tsx "bench/$b.ts" 2>>bench/out/stderr.log | tee -a "$out"
done
# The long ones only when asked: memory (10 minutes), detection quality and latency.
if [ "${BENCH_ALL:-}" = 1 ]; then
  for b in ingest-es memory detect-throughput detect-quality detect-latency respond-alert respond-latency; do
    [ -f "bench/$b.ts" ] && npx tsx "bench/$b.ts" 2>>bench/out/stderr.log | tee -a "$out"
  done
fi
echo "results in $out" >&2
