#!/usr/bin/env bash
# Router integrations: the session middleware in net/http's ServeMux, chi,
# echo and gin, each app served over TLS on loopback and driven by a real
# client with a cookie jar, plus the gin adapter (integrations/, a nested
# module, so the routers never reach satchel's own go.mod). The last line
# is the command the README shows.
set -euo pipefail
cd "$(dirname "$0")/../.."

(cd integrations && go vet ./...)
cd integrations && go test -race ./...
