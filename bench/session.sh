#!/usr/bin/env bash
# Warm sessions against cold starts and bubblewrap, in one run (see
# bench/session/main.go). Installs bubblewrap when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Static, as cordon is built: the init is this binary re-executed.
CGO_ENABLED=0 go build -o "$out/session-bench" ./bench/session
CGO_ENABLED=0 go build -o "$out/cordon" ./cmd/cordon
echo "$(uname -r), $(nproc) cores, $(bwrap --version), $(go version | cut -d' ' -f3), $(date -u +%F)"
"$out/session-bench" -cordon "$out/cordon" "$@"
