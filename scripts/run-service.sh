#!/usr/bin/env bash
# Set up everything (virtualenv, packages, model files) and run the service with local Ray,
# SQLite and CPU models on 127.0.0.1:5090 (LUNA_HOST / LUNA_PORT to change it).
# Extra arguments go to the launcher, e.g. --config serve_config.gpu.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "${LUNA_EXTRAS:-cpu}"
exec .venv/bin/python -m serve_app.launch "$@"
