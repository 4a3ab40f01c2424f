#!/usr/bin/env bash
# Create the baseline venv (azureml-inference-server-http + the project's ML stack, same versions)
# in bench/.venv-infsrv and install wrk if it is missing. Idempotent. Run from anywhere.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PROJECT_PY=${PROJECT_PY:-$ROOT/.venv/bin/python}
VENV=${INFSRV_VENV:-$HERE/.venv-infsrv}

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update && apt-get install -y wrk
  else
    echo "wrk is missing: install it (Debian: apt-get install -y wrk)" >&2; exit 1
  fi
fi

# pin numpy / pandas / scikit-learn to the versions of the project venv
PINS=$("$PROJECT_PY" -c 'import numpy, pandas, sklearn; print(f"numpy=={numpy.__version__} pandas=={pandas.__version__} scikit-learn=={sklearn.__version__}")')
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check azureml-inference-server-http $PINS
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
for p in ("azureml-inference-server-http", "gunicorn", "flask", "inference-schema", "scikit-learn", "pandas", "numpy"):
    try:
        print(f"{p}=={md.version(p)}")
    except md.PackageNotFoundError:
        print(f"{p} MISSING")
PY
echo "baseline venv ready: $VENV"
