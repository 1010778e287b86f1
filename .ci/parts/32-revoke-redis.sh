#!/usr/bin/env bash
# Fleet-wide revocation over a real redis-server (Debian's redis-server,
# which .ci/run installs): the nested module satchel.dev/revoke/redis. Its
# tests start redis-server themselves on free loopback ports, with AOF on,
# and stop it after. With SATCHEL_LONG_TESTS=1 that includes the fleet test
# (3 app servers, 50+ users, Redis and one server killed and restarted
# mid-run; about 25 s), whose figures (propagation p50/p99, replays,
# lost sessions) are printed below. Then a brief, count-bounded fuzz of the
# stream-entry parser.
set -euo pipefail
cd "$(dirname "$0")/../../revoke/redis"
export SATCHEL_LONG_TESTS=1 CI="${CI:-true}"
go vet ./...
log=$(mktemp)
if ! go test -race -count=1 -v ./... >"$log" 2>&1; then
	cat "$log"
	exit 1
fi
grep -E '^(--- |ok|PASS)|fleet|propagation|replay' "$log" | grep -v '^=== ' || true
go test -run '^$' -fuzz '^FuzzParseEntry$' -fuzztime 20000x .
echo "revoke/redis: fleet revocation over a real redis-server passes"
