#!/usr/bin/env bash
# Runs the README's first command as a newcomer would, waits for the shop to
# answer, logs in through it with curl and checks the session cookie comes
# back, then stops it. No key is configured, so the shop must generate a
# development key and say so.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The shop is a nested module (it links the Redis revocation backend), so
# the README's `go test -race ./...` does not reach its tests: run them
# here, with a real redis-server for the two-server sign-out test.
(cd examples/shop && go vet ./... && go test -race -count=1 ./...)
log=$(mktemp)
go build -o /dev/null ./examples/shop # compile first so the wait below is short
# In its own process group, so that stopping it also stops the binary that
# go run started.
setsid go run ./examples/shop >"$log" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
	curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null && break
	sleep 1
done
jar=$(mktemp)
curl -fsS -o /dev/null -c "$jar" -b "$jar" http://127.0.0.1:8080/
code=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" -d name=ci-user http://127.0.0.1:8080/login)
case "$code" in 2*|3*) ;; *) echo "login answered $code"; cat "$log"; exit 1 ;; esac
grep -q '__Host-session' "$jar" || { echo "no __Host-session cookie after login"; cat "$jar"; cat "$log"; exit 1; }
# Read the whole page before searching it: piping curl into `grep -q` lets
# grep exit at the first match, curl then fails writing the rest (exit 23),
# and pipefail turns a greeting that was there into a failure.
page=$(curl -fsS -c "$jar" -b "$jar" http://127.0.0.1:8080/)
grep -q 'ci-user' <<<"$page" || { echo "shop did not greet the logged-in user"; echo "$page"; cat "$log"; exit 1; }
grep -qi 'development key' "$log" || { echo "shop did not say it generated a development key"; cat "$log"; exit 1; }
echo "demo: go run ./examples/shop served, logged in and kept the session"
