#!/usr/bin/env bash
# The test suite: bash run_tests.sh [pytest arguments]. Creates .venv first if needed.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh
"$PY" -m ruff check pipeline tests
WANDB_MODE=disabled "$PY" -m pytest "$@"
