#!/usr/bin/env bash
# Cross-language tests, each against the real peer:
# - interop/: a Node script (paseto-ts from npm) opens cookies the
#   middleware wrote and writes cookies it accepts, following FORMAT.md;
# - importer/starlette: cookies minted by Python's itsdangerous, as
#   Starlette's SessionMiddleware writes them (Debian python3-itsdangerous);
# - importer/gorilla: the nested module, with the real gorilla/sessions.
#
# With CI=true the first two FAIL when their peer is missing, and they are
# in the main module, so `go test -race ./...` needs the peers too: run
# `bash .ci/parts/35-interop.sh --install-only` before it. Then this part
# runs them again with -count=1 (the unit run may have used its cache)
# next to the nested gorilla module's tests.
set -euo pipefail
cd "$(dirname "$0")/../.."

install() {
	if ! /usr/bin/python3 -c 'import itsdangerous' 2>/dev/null; then
		echo "installing python3-itsdangerous from Debian"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq python3-itsdangerous >/dev/null
	fi
	# Exactly the versions in interop/package-lock.json.
	(cd interop && npm ci --no-audit --no-fund)
}

install
if [ "${1:-}" = "--install-only" ]; then
	exit 0
fi

export CI="${CI:-true}"
go test -race -count=1 ./interop/... ./importer/...
(cd importer/gorilla && go test -race -count=1 ./...)
echo "interop: Node and Python peers agree with satchel; gorilla importer passes"
