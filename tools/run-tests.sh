#!/usr/bin/env bash
# The body of `make test`: every check, in one run, with one summary at the end.
#   lint      ruff, ansible-lint, the generated docs are current
#   sanity    ansible-test sanity on the collection
#   pytest    unit, policy (opa check/test/fmt, Regal), integration (real sshd,
#             OPA server, podman, dockerd), hostile and faults suites
# Runs every stage even when one fails; exits non-zero if any failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
venv="$repo/.venv"
export PATH="$venv/bin:$repo/.tools/bin:$PATH"
export ANSIBLE_CONFIG="$repo/ansible.cfg"
mkdir -p tests/output

only=""
if [ "${1:-}" = "--only" ]; then only="$2"; shift 2; fi

failed=()
stage() {  # stage NAME COMMAND...
  local name=$1; shift
  # --only NAME runs the stages named NAME or NAME-* (`--only lint` runs the three lint stages)
  if [ -n "$only" ] && [ "$only" != "$name" ] && [ "${name#"$only"-}" = "$name" ]; then return 0; fi
  echo "=== $name: $*"
  local start=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - start))s)"
  else
    echo "=== $name: FAILED ($((SECONDS - start))s)"
    failed+=("$name")
  fi
}

stage lint-python ruff check plugins tests tools bench
stage lint-ansible ansible-lint --offline --profile production roles playbooks
stage lint-awx ansible-lint --offline -c awx/ansible-lint.yml awx/
stage sanity bash tools/sanity.sh
stage pytest python -m pytest tests -p no:cacheprovider --timeout=900 \
  --junitxml=tests/output/pytest.junit.xml "$@"

# after pytest: the hostile/fault case table is checked against this run's results
stage docs-current python tools/check_generated.py

if [ -z "$only" ] || [ "$only" = pytest ]; then python tools/suite_summary.py tests/output/pytest.junit.xml || true; fi

if [ "${#failed[@]}" -ne 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "all stages passed"
