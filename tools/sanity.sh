#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection placed at
# build/sanity/ansible_collections/refarch/containers (ansible-test needs that path).
# ansible-test bootstraps pip in its virtualenvs with a script it downloads from a
# host this network does not reach; a local replacement that uses ensurepip is put
# in its cache first (tools/ansible_test_get_pip.py: it calls ensurepip, then installs
# the requested packages without the pip== pin, a release the registry does not have).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"
py="$venv/bin/python"
dest="$repo/build/sanity/ansible_collections/refarch/containers"

pip_version=$("$py" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([^']+)'", src.read_text()).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$repo/tools/ansible_test_get_pip.py" "$cache"

rm -rf "$dest"
mkdir -p "$dest"
(cd "$repo" && git ls-files --cached --others --exclude-standard -z \
  | grep -zv -e '^build/' -e '^\.venv/' -e '^\.tools/' -e '^bench/' -e '^tools/' -e '^\.ci/' \
  | xargs -0 -I{} cp --parents -P {} "$dest/" 2>/dev/null || true)

cd "$dest"
# ansible-test lists the collection's files with git when it is a repository.
git init -q && git add -A >/dev/null 2>&1 || true
"$venv/bin/ansible-test" sanity --local --python 3.11 --requirements --color no "$@"
