#!/usr/bin/env bash
# Short, bounded fuzzing of every target in ./fuzz (go test -fuzz takes one
# target per run). Each target first replays its seeds and the committed
# corpus in fuzz/testdata/fuzz, then fuzzes for FUZZTIME (default 200000x,
# a count of inputs: 5 to 40 s per target here; 100000x for
# FuzzSealOpenTyped, whose inputs cost about twice as much: each value is
# encoded and decoded by two libraries and compared field by field),
# minimizing new inputs for at most FUZZMINIMIZETIME (default 2s). A
# FUZZTIME given in the environment applies to every target.
# A failing input is written to fuzz/testdata/fuzz/FuzzX/ and printed here:
# commit it with the fix so that plain `go test ./fuzz` keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/../.."

# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# fail a target at the deadline with a bare "context deadline exceeded" and
# no failing input (golang/go#75804, fixed in Go 1.27). It did so once in
# nine targets in a CI run here. A count sets no deadline, so the race
# cannot happen.
fuzztime="${FUZZTIME:-200000x}"
# countFor prints the fuzz time of target $1.
countFor() {
	if [ -z "${FUZZTIME:-}" ] && [ "$1" = FuzzSealOpenTyped ]; then
		echo 100000x
	else
		echo "$fuzztime"
	fi
}
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
	ft=$(countFor "$t")
	echo "-- $t (fuzztime $ft, minimize $minimize, parallel $parallel)"
	dir="fuzz/testdata/fuzz/$t"
	before=$(ls -1 "$dir" 2>/dev/null || true)
	start=$SECONDS
	if ! go test -run='^$' -fuzz="^${t}\$" -fuzztime="$ft" -fuzzminimizetime="$minimize" -parallel="$parallel" ./fuzz; then
		failed+=("$t")
		written=$(comm -13 <(echo "$before") <(ls -1 "$dir" 2>/dev/null || true))
		if [ -n "$written" ]; then
			sed "s|^|   failing input: $dir/|" <<<"$written"
		else
			echo "   no failing input was written. With a duration FUZZTIME this is likely"
			echo "   Go's fuzz-coordinator race at the deadline (golang/go#75804): rerun, or"
			echo "   give a count (FUZZTIME=1000000x)."
		fi
	fi
	echo "   $t: $((SECONDS - start))s"
done

n=$(echo "$targets" | wc -w)
echo "fuzz: $((n - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "failing targets: ${failed[*]}" >&2
	exit 1
fi
