#!/usr/bin/env bash
# The JSON depth scan of every request body against json.loads of the same body, timed in the
# same run (BENCHMARKS.md, "HTTP body limits"); figures kept in bench/results/http_limits.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
.venv/bin/python -m gridledger.node.benchmarks.http_limits "$@" >bench/results/http_limits.json
cat bench/results/http_limits.json
