#!/usr/bin/env bash
# Install everything (idempotent, fast the second time) and open the arena on the offline demo matchup.
# Extra arguments go to `arena demo` (e.g. --policy whole, --suite all).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$REPO/scripts/setup.sh"
exec "${ARENA_VENV:-$REPO/.venv}/bin/arena" demo "$@"
