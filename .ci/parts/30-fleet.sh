#!/usr/bin/env bash
# Fleet test figures. TestFleet already ran (and had to pass) inside
# `go test -race ./...`, which hides the output of passing tests; this
# runs it once more verbosely so every CI log shows the figures: requests,
# rotations, rejections and lost updates (the last two must be zero).
# Three server processes on 127.0.0.1 share one keyring file while a
# rotator turns keys every 2 s; about 25 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -race -count=1 -run '^TestFleet$' -v ./rotate/internal/fleet
