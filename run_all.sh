#!/usr/bin/env bash
# From data to submission in one command:
#   bash run_all.sh                              the demo: builds data/demo, trains, submits
#   bash run_all.sh data.root=/path/to/dataset   a competition folder (train/scan, train/clean, test/scan)
#   bash run_all.sh configs/other.yaml key=value another experiment, with overrides
set -euo pipefail
cd "$(dirname "$0")"
config=configs/demo.yaml
if [ $# -gt 0 ] && [[ "$1" == *.yaml || "$1" == *.yml ]]; then
  config=$1
  shift
fi
source scripts/venv.sh
export PYTHONUNBUFFERED=1
stage() {
  echo "== $1"
  "$PY" -m "pipeline.$1" --config "$config" "${@:2}"
}
start=$SECONDS
stage make_demo --if-needed "$@"
stage prepare "$@"
stage train train.resume=auto "$@"
stage infer "$@"
stage export "$@"
stage score "$@"
echo "== done in $((SECONDS - start)) s"
