# Sourced by run_all.sh and run_tests.sh: make .venv if it is missing and install
# requirements.txt into it whenever the file changes. Leaves $PY pointing at its python.
set -euo pipefail
if [ ! -x .venv/bin/python ]; then
  base=${PYTHON:-python3}
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "error: Python 3.11 or newer is needed ($base is $("$base" --version 2>&1))" >&2; exit 2; }
  echo "creating .venv with $("$base" --version)"
  "$base" -m venv .venv
fi
PY=.venv/bin/python
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing requirements.txt into .venv (first time: a few minutes)"
  "$PY" -m pip install --quiet --upgrade pip
  "$PY" -m pip install --quiet -r requirements.txt
  # the package itself, editable: `descan` on the PATH of .venv, notebooks import it as is
  "$PY" -m pip install --quiet --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
