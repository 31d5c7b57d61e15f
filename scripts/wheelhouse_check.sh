#!/usr/bin/env bash
# The offline install of the README ("离线安装"), end to end on this machine: build a
# wheelhouse (this needs the network, once), then in a fresh venv install from the wheelhouse
# alone (--no-index, no other source of packages) and run one search.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Build from a copy of the sources, so that nothing (build/, *.egg-info) lands in the tree.
mkdir -p "$work/src"
cp pyproject.toml README.md "$work/src/"
cp -r src "$work/src/src"
find "$work/src" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

# Step 1, on a connected machine of the court PC's platform and Python version.
"$PY" -m pip wheel --quiet --disable-pip-version-check "$work/src" -w "$work/wheelhouse"
ls "$work/wheelhouse" | grep -qi '^jieba-.*\.whl$' || { echo "wheelhouse: no jieba wheel was built" >&2; exit 1; }

# Step 2, on the court PC: nothing but the wheelhouse.
"$PY" -m venv "$work/venv"
env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
  "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --no-index --find-links "$work/wheelhouse" qabase

# One search on a copy of the shipped knowledge base (its index goes to a scratch directory).
mkdir -p "$work/kb-copy/kb"
cp -r qa_entries "$work/kb-copy/"
find kb -maxdepth 1 -type f -exec cp {} "$work/kb-copy/kb/" \;
QABASE_NO_LOG=1 QABASE_INDEX_DIR="$work/index" PYTHONIOENCODING=utf-8 \
  "$work/venv/bin/qabase" --root "$work/kb-copy" search "交叉执行案件怎么结案" --json > "$work/out.json"
"$work/venv/bin/python" - "$work/out.json" "$work/wheelhouse" <<'EOF'
import json, pathlib, sys

data = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
assert data["results"], data
wheels = sorted(p.name for p in pathlib.Path(sys.argv[2]).glob("*.whl"))
print(f"wheelhouse: {len(wheels)} wheels; offline install works; first result {data['results'][0]['id']}")
EOF
