#!/usr/bin/env bash
# Secret scanning throughput: cordon's verify.Secrets against the
# gitleaks binary built from the module version in go.mod, on the same
# inputs (a generated build log and random printable text, 4 MiB each),
# runs interleaved. Prints medians of RUNS runs and the ratio
# cordon/gitleaks.
#
# gitleaks is timed twice: as `gitleaks stdin` runs by default
# (--max-decode-depth 5: it also decodes base64, hex and percent
# encodings and scans the result, which cordon does not), and with
# --max-decode-depth 0, the same work as cordon. Its process start
# (measured on empty input) is subtracted, to compare scanning only.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin" "$work/empty"

ver=$(go list -m -f '{{.Version}}' github.com/zricethezav/gitleaks/v8)
GOBIN="$work/bin" go install "github.com/zricethezav/gitleaks/v8@$ver"
go test -c -o "$work/verify.test" ./verify
CORDON_SECRETS_BENCH_DIR="$work" "$work/verify.test" -test.run '^TestWriteSecretsBenchInputs$' >/dev/null
: >"$work/none.txt"

echo "$(uname -r), $(nproc) cores, gitleaks $ver, $(go version | cut -d' ' -f3), $(date -u +%F), $runs runs"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# gitleaks_secs file [flags]: wall seconds of one gitleaks run, run in
# an empty directory so that no .gitleaks.toml or ignore file applies.
gitleaks_secs() {
  local f=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  (cd "$work/empty" && "$work/bin/gitleaks" stdin --no-banner --log-level error --exit-code 0 "$@" <"$f" >/dev/null)
  t1=$(date +%s%N)
  echo "scale=4; ($t1 - $t0) / 1000000000" | bc
}

for i in $(seq "$runs"); do
  gitleaks_secs "$work/none.txt" >>"$work/start"
done
start=$(median <"$work/start")
printf 'gitleaks start on empty input: %.3f s (median)\n' "$start"
printf '%-9s %12s %14s %14s %10s %10s\n' input "cordon MB/s" "gitleaks MB/s" "gl depth0" ratio "ratio d0"

for input in buildlog random; do
  f="$work/$input.txt"
  size=$(stat -c %s "$f")
  bench=BuildLog
  [ "$input" = random ] && bench=Random
  : >"$work/c" ; : >"$work/g" ; : >"$work/g0"
  for i in $(seq "$runs"); do
    "$work/verify.test" -test.run '^$' -test.bench "^BenchmarkSecrets$bench\$" -test.benchtime 3x |
      awk '/MB\/s/ {for (i = 1; i < NF; i++) if ($(i+1) == "MB/s") print $i}' >>"$work/c"
    s=$(gitleaks_secs "$f")
    echo "scale=4; $size / 1000000 / ($s - $start)" | bc >>"$work/g"
    s=$(gitleaks_secs "$f" --max-decode-depth 0)
    echo "scale=4; $size / 1000000 / ($s - $start)" | bc >>"$work/g0"
  done
  c=$(median <"$work/c"); g=$(median <"$work/g"); g0=$(median <"$work/g0")
  printf '%-9s %12.2f %14.2f %14.2f %9.1fx %9.1fx\n' "$input" "$c" "$g" "$g0" \
    "$(echo "scale=4; $c / $g" | bc)" "$(echo "scale=4; $c / $g0" | bc)"
done
