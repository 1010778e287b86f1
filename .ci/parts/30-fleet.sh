#!/usr/bin/env bash
# The long multi-process suites that `go test -race ./...` skips to stay
# within a minute: they run only with SATCHEL_LONG_TESTS=1, which this
# sets. TestFleet runs verbosely so every CI log shows its figures:
# requests, rotations, rejections and lost updates (the last two must be
# zero). Three server processes on 127.0.0.1 share one keyring file while a
# rotator turns keys every 2 s; about 25 s. The rotate package's crash
# test kills writer processes mid-write; about 4 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SATCHEL_LONG_TESTS=1
go test -race -count=1 -run '^TestFleet$' -v ./rotate/internal/fleet
go test -race -count=1 ./rotate/...
