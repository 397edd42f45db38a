#!/usr/bin/env bash
# Create (once) an isolated virtualenv with ActivityWatch's server for the heartbeat benchmark.
#   bench/peers/aw_setup.sh            -> bench/.venvs/aw-server
# aw-server 0.12 runs only with peewee<4 and flask<2.3 (BASELINES.md: newer ones answer 500s).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$(dirname "$HERE")/.venvs/aw-server"
PY="${VENV}/bin/python"

if [ -x "$PY" ] && "$PY" -c "import aw_server" 2>/dev/null; then
    echo "aw-server already installed in ${VENV}"
    exit 0
fi
BASE_PY="$(command -v python3.11 || command -v python3)"
mkdir -p "$(dirname "$VENV")"
"$BASE_PY" -m venv "$VENV"
"$PY" -m pip install --quiet --disable-pip-version-check "aw-server==0.12.0" "peewee<4" "flask<2.3"
"$PY" -c "from importlib.metadata import version; print('installed aw-server', version('aw-server'))"
