#!/usr/bin/env bash
# From data to submission in one command:
#   bash run_all.sh                              the demo: builds data/demo, trains, submits
#   bash run_all.sh data.root=/path/to/dataset   a competition folder (train/scan, train/clean, test/scan):
#                                                prepare, then `auto` (the ladder, a few candidates,
#                                                the choice by nested CV) with configs/descan.yaml
#                                                (descan_gpu.yaml on CUDA)
#   bash run_all.sh configs/other.yaml key=value another experiment, with overrides
set -euo pipefail
cd "$(dirname "$0")"
config=""
procedure=""
if [ $# -gt 0 ] && [[ "$1" == *.yaml || "$1" == *.yml ]]; then
  config=$1
  shift
fi
source scripts/venv.sh
if [ -z "$config" ]; then
  # The demo's settings are for the demo; a competition folder gets the settings meant for it.
  config=configs/demo.yaml
  for arg in "$@"; do
    if [[ "$arg" == data.root=* && "${arg#data.root=}" != data/demo ]]; then
      config=configs/descan.yaml
      if "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        config=configs/descan_gpu.yaml
      fi
      procedure=auto
      echo "== a competition folder: $config, the auto procedure (give a config first to run one experiment)"
    fi
  done
fi
export PYTHONUNBUFFERED=1
stage() {
  echo "== $1"
  "$PY" -m "pipeline.$1" --config "$config" "${@:2}"
}
start=$SECONDS
stage make_demo --if-needed "$@"
stage prepare "$@"
if [ -n "$procedure" ]; then
  stage auto "$@"
  echo "== done in $((SECONDS - start)) s"
  exit 0
fi
stage train train.resume=auto "$@"
stage infer "$@"
stage export "$@"
stage score "$@"
echo "== done in $((SECONDS - start)) s"
