#!/usr/bin/env bash
# Cold start of `cordon exec -- /bin/true` against bubblewrap, same run,
# interleaved. Installs bubblewrap when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v bwrap >/dev/null; then
  apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CGO_ENABLED=0 go build -o "$out/cordon" ./cmd/cordon
echo "$(uname -r), $(nproc) cores, $(bwrap --version), $(go version | cut -d' ' -f3), $(date -u +%F)"
# BASE=<git revision> runs cordon as it was at that revision alongside.
base=()
if [ -n "${BASE:-}" ]; then
  git rev-parse --verify -q "$BASE^{commit}" >/dev/null
  src=$(mktemp -d)
  git archive "$BASE" | tar -x -C "$src"
  (cd "$src" && CGO_ENABLED=0 go build -o "$out/cordon-base" ./cmd/cordon)
  rm -rf "$src"
  base=(-base "$out/cordon-base")
fi
# An empty static Go program: what any Go front end pays to start, before
# it does anything (the floor analysis in docs/benchmarks.md).
mkdir -p "$out/empty"
printf 'package main\n\nfunc main() {}\n' > "$out/empty/main.go"
printf 'module empty\n\ngo 1.22\n' > "$out/empty/go.mod"
(cd "$out/empty" && CGO_ENABLED=0 go build -o "$out/empty-go" .)
go run ./bench/coldstart -cordon "$out/cordon" -empty "$out/empty-go" -n "${N:-50}" "${base[@]}"
