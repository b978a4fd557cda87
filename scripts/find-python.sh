#!/usr/bin/env bash
# Print the path of a Python 3.12 interpreter, or say how to get one.
# pyenv shims answer `python3.12` even when that version is not selected, so
# every candidate is asked for its real version.
set -u
candidates=("${PYTHON:-}" python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12)
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin; do candidates+=("$dir/python3.12"); done
for candidate in "${candidates[@]}"; do
  [ -n "$candidate" ] || continue
  if out=$("$candidate" -c 'import sys; print(sys.executable if sys.version_info[:2] == (3, 12) else "")' 2>/dev/null) && [ -n "$out" ]; then
    echo "$out"
    exit 0
  fi
done
echo "churnlens needs Python 3.12 (3.11 gets only old shap/xgboost releases)." >&2
echo "Install it, e.g. 'sudo apt-get install python3.12 python3.12-venv' or 'pyenv install 3.12', or set PYTHON=/path/to/python3.12." >&2
exit 1
