#!/usr/bin/env bash
# The main job on the embedded default: scan the bundled example estate on this
# machine with the scan playbook and print the report.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build/demo-report}
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$repo/ansible.cfg"
mkdir -p "$out"
ansible-playbook refarch.containers.scan -i examples/inventory.yml \
  -e "{\"refarch_scan_paths\": [\"$repo/examples/estate\"], \"refarch_report_dir\": \"$out\"}"
echo
cat "$out/report.txt"
echo
echo "Reports: $out/report.json  report.sarif  report.junit.xml  report.html"
