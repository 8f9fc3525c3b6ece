#!/usr/bin/env bash
# `make bench`: every benchmark, each printing ratios against a named peer measured
# in the same run and ending with one RESULT line. Summary of the RESULT lines at the end.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py="$repo/.venv/bin/python"
out="$repo/tests/output/bench"
mkdir -p "$out"
status=0
for bench in discovery evaluate images remediation estate; do
  script="$repo/bench/$bench/run.py"
  [ -f "$script" ] || continue
  echo "=== bench/$bench"
  if "$py" "$script" 2>&1 | tee "$out/$bench.log"; then :; else status=1; echo "bench/$bench FAILED"; fi
done
echo
echo "=== RESULT lines"
grep -h "^RESULT" "$out"/*.log | sed 's/^/  /'
exit $status
