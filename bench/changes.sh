#!/bin/sh
# Workspace change report on a tree of 100,000 files in 10,000 directories:
# snapshot, diff, the walk alone by number of workers, and two yardsticks on
# the same tree (filepath.WalkDir with an Lstat per entry, and find(1)).
# Prints the median wall time and CPU time per operation of COUNT runs, for
# each directory given (default: the temporary directory, and /dev/shm if
# it is a tmpfs).
#
#   bench/changes.sh [COUNT] [DIR...]
set -eu
cd "$(dirname "$0")/.."
count=${1:-6}
[ $# -gt 0 ] && shift
dirs="$*"
if [ -z "$dirs" ]; then
	dirs=${TMPDIR:-/tmp}
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
		dirs="$dirs /dev/shm"
	fi
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/verify.test" ./verify
for d in $dirs; do
	echo "== $d ($(stat -f -c %T "$d"))"
	(cd verify && CORDON_BENCH_DIR=$d "$bin/verify.test" -test.run '^$' \
		-test.bench 'Changes|WalkOnly' -test.count "$count" -test.benchmem) |
		awk '
		/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			if (!(name in n)) order[++k] = name
			n[name]++
			wall[name, n[name]] = $3
			for (i = 4; i < NF; i++) {
				if ($(i+1) == "cpu-ns/op") cpu[name, n[name]] = $i
				if ($(i+1) == "kept-B/path") kept[name, n[name]] = $i
			}
		}
		function median(a, name, m,   i, j, t, v) {
			for (i = 1; i <= m; i++) v[i] = a[name, i] + 0
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
		}
		END {
			printf "%-30s %12s %12s %12s\n", "benchmark", "wall ms", "cpu ms", "kept B/path"
			for (i = 1; i <= k; i++) {
				name = order[i]
				c = ((name, 1) in cpu) ? sprintf("%12.1f", median(cpu, name, n[name]) / 1e6) : sprintf("%12s", "-")
				m = ((name, 1) in kept) ? sprintf("%12.0f", median(kept, name, n[name])) : ""
				printf "%-30s %12.1f %s %s\n", name, median(wall, name, n[name]) / 1e6, c, m
			}
		}'
done
