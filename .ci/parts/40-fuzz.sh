#!/usr/bin/env bash
# Short, bounded fuzzing of every target in ./fuzz (go test -fuzz takes one
# target per run). Each target first replays its seeds and the committed
# corpus in fuzz/testdata/fuzz, then fuzzes for FUZZTIME (default 10s),
# minimizing new inputs for at most FUZZMINIMIZETIME (default 2s).
# A failing input is written to fuzz/testdata/fuzz/FuzzX/ and printed here:
# commit it with the fix so that plain `go test ./fuzz` keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/../.."

fuzztime="${FUZZTIME:-10s}"
parallel="${FUZZPARALLEL:-$(nproc)}"
# go test minimizes every new interesting input for up to a minute by
# default and runs no other input meanwhile: in a 10 s run, one such input
# stopped FuzzCookieHeader and FuzzOracleClaims dead (0 execs/sec) for most
# of their time. A short cap keeps the brief CI runs fuzzing; a failing
# input is still minimized, only less thoroughly.
minimize="${FUZZMINIMIZETIME:-2s}"

targets=$(go test -list '^Fuzz' ./fuzz | grep '^Fuzz' || true)
if [ -z "$targets" ]; then
	echo "40-fuzz: no fuzz targets found in ./fuzz" >&2
	exit 1
fi

failed=()
for t in $targets; do
	echo "-- $t (fuzztime $fuzztime, minimize $minimize, parallel $parallel)"
	start=$SECONDS
	if ! go test -run='^$' -fuzz="^${t}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" -parallel="$parallel" ./fuzz; then
		failed+=("$t")
		ls -1 "fuzz/testdata/fuzz/$t" 2>/dev/null | sed "s|^|   new corpus entry: fuzz/testdata/fuzz/$t/|" || true
	fi
	echo "   $t: $((SECONDS - start))s"
done

n=$(echo "$targets" | wc -w)
echo "fuzz: $((n - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "failing targets: ${failed[*]}" >&2
	exit 1
fi
