#!/usr/bin/env bash
# Install everything including test extras and test models (idempotent), then run the whole test suite.
# Extra arguments go to pytest (e.g. -k engine, -x).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$REPO/scripts/setup.sh" --test
cd "$REPO"
exec "${ARENA_VENV:-$REPO/.venv}/bin/python" -m pytest "$@"
