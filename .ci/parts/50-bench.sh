#!/usr/bin/env bash
# The bench module (nested, with the peer libraries): its correctness tests
# (every peer round-trips every payload), then one very short pass of the
# script that regenerates BENCHMARKS.md, so the README's command is known
# to work. The figures of this pass are thrown away: the committed
# BENCHMARKS.md comes from a full run (COUNT=10).
set -euo pipefail
cd "$(dirname "$0")/../.."
(cd bench && go test -count=1 ./...)
COUNT=1 BENCHTIME=10ms LOADTIME=100ms PROFILETIME=50ms bash bench/run.sh >/dev/null
test -s bench/BENCHMARKS.md && test -s bench/chart.svg
git checkout -- bench/BENCHMARKS.md bench/chart.svg bench/results 2>/dev/null || true
echo "bench: module tests pass and bench/run.sh regenerates BENCHMARKS.md and chart.svg"
