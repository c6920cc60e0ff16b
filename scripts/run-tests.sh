#!/usr/bin/env bash
# Set up everything the tests need (virtualenv, packages, model files, test photos) and run
# them: unit tests (no Ray), API tests (in-process estimators), end-to-end tests (a real
# `serve run` of serve_config.yaml). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "cpu,dev"
.venv/bin/python -m models.provision --config serve_config.yaml
.venv/bin/python -m tests.data.fetch
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
