#!/usr/bin/env bash
# Router integrations: the session middleware in net/http's ServeMux, chi,
# echo and gin, each app served over TLS on loopback and driven by a real
# client with a cookie jar (integrations/, a nested module, so the routers
# never reach satchel's own go.mod).
set -euo pipefail
cd "$(dirname "$0")/../../integrations"

go vet ./...
go test -race -count=1 ./...
