#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one command: the Go benchmarks (5 counts, summarised by
# benchstat when it can be had), then every mode of the load test.
#
#   scripts/bench.sh                 # all of it, about 6 minutes on 2 cores
#   BENCH_OUT=dir scripts/bench.sh   # keep the raw output in dir (default: a temporary dir)
#   BENCH_COUNT=1 scripts/bench.sh   # fewer benchmark counts, for a quick look
#
# Exits non-zero when the benchmarks fail or when the load test's correctness checks fail
# (a wait lost, the upstream rate above --max-qps, a task polled more than one caller would).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:${PATH}"

out="${BENCH_OUT:-$(mktemp -d -t video-task-mcp-bench-XXXXXX)}"
mkdir -p "${out}"
count="${BENCH_COUNT:-5}"
status=0

echo "==> machine"
echo "nproc: $(nproc)"
go version
grep -m1 'model name' /proc/cpuinfo || true
echo "raw output: ${out}"

echo
echo "==> go test -run='^\$' -bench=. -benchmem -count=${count} ./..."
if ! go test -run='^$' -bench=. -benchmem -count="${count}" ./... | tee "${out}/bench.txt"; then
	echo "benchmarks failed" >&2
	status=1
fi

echo
echo "==> benchstat"
if command -v benchstat >/dev/null; then
	benchstat "${out}/bench.txt" | tee "${out}/benchstat.txt"
elif go run golang.org/x/perf/cmd/benchstat@latest "${out}/bench.txt" > "${out}/benchstat.txt" 2> "${out}/benchstat.err"; then
	cat "${out}/benchstat.txt"
else
	echo "benchstat unavailable ($(tail -n1 "${out}/benchstat.err")); the raw figures are above"
fi

echo
echo "==> go run ./loadtest -mode all"
# One build of the load test, so that its own compilation does not land in any figure.
if go build -o "${out}/loadtest" ./loadtest; then
	if ! "${out}/loadtest" -mode all 2>&1 | tee "${out}/loadtest.txt"; then
		status=1
	fi
else
	status=1
fi

echo
if [[ ${status} -eq 0 ]]; then
	echo "bench: done; raw output in ${out}"
else
	echo "bench: FAILED (see above); raw output in ${out}"
fi
exit "${status}"
