#!/usr/bin/env bash
# Create .venv and install the project with the given extras (default: cpu).
# Usage: bash scripts/setup.sh [extras]     e.g. "cpu,dev" or "gpu,postgres"
# Re-running is cheap: nothing is reinstalled while pyproject.toml and the extras are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-cpu}"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "Python 3.10 or newer is required ($python is $("$python" --version 2>&1))" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "creating virtualenv .venv"
    "$python" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${extras//,/-}"
if [ ! -f "$stamp" ]; then
    echo "installing luna-serve[$extras] into .venv"
    .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
    .venv/bin/python -m pip install --disable-pip-version-check -q -e ".[$extras]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
