#!/usr/bin/env bash
# Create (once) an isolated virtualenv with TimeTagger for the peer benchmark.
#   bench/peers/timetagger_setup.sh            -> bench/.venvs/timetagger
# Idempotent: does nothing when the pinned version is already installed.
# Override the version with TIMETAGGER_VERSION=... (default: 26.1.3, the latest 26.1.x,
# i.e. the "TimeTagger 26.1" of BASELINES.md).
set -euo pipefail

TIMETAGGER_VERSION="${TIMETAGGER_VERSION:-26.1.3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_DIR="$(dirname "$HERE")"
VENV="${BENCH_DIR}/.venvs/timetagger"
PY="${VENV}/bin/python"

if [ -x "$PY" ] && "$PY" - "$TIMETAGGER_VERSION" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("timetagger") == sys.argv[1] else 1)
PYEOF
then
    echo "timetagger ${TIMETAGGER_VERSION} already installed in ${VENV}"
    exit 0
fi

if [ ! -x "$PY" ]; then
    BASE_PY=""
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1; then BASE_PY="$cand"; break; fi
    done
    if [ -z "$BASE_PY" ]; then
        echo "error: need python3.11 or python3 on PATH" >&2
        exit 1
    fi
    echo "creating venv ${VENV} with $("$BASE_PY" --version 2>&1)"
    mkdir -p "$(dirname "$VENV")"
    "$BASE_PY" -m venv "$VENV"
fi

"$PY" -m pip install --quiet --disable-pip-version-check "timetagger==${TIMETAGGER_VERSION}"
"$PY" -c "from importlib.metadata import version; print('installed timetagger', version('timetagger'))"
