#!/usr/bin/env bash
# Runs the CLI command the README shows and checks its output's shape: a
# k4.local key that ParseKey accepts (the CLI's own keyring init reads it
# back through SATCHEL_KEYS), then its k4.lid id.
set -euo pipefail
out=$(go run ./cmd/satchel keygen -id)
key=$(sed -n 1p <<<"$out")
id=$(sed -n 2p <<<"$out")
[[ $key =~ ^k4\.local\.[A-Za-z0-9_-]{43}$ ]] || { echo "keygen printed no k4.local key"; exit 1; }
[[ $id =~ ^k4\.lid\.[A-Za-z0-9_-]{44}$ ]] || { echo "keygen -id printed no k4.lid id"; exit 1; }
shown=$(SATCHEL_KEYS="$key" go run ./cmd/satchel keyring show)
grep -q "$id" <<<"$shown" || { echo "keyring show does not list the generated key's id"; echo "$shown"; exit 1; }
if grep -q "${key#k4.local.}" <<<"$shown"; then echo "keyring show printed the secret"; exit 1; fi
echo "cli: keygen -id and keyring show agree on the key id, no secret shown"
