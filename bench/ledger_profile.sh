#!/usr/bin/env bash
# Where the embedded chain's time goes on the readings workload: in-process, block building
# timed per reading, then under cProfile (BENCHMARKS.md, "Ledger"). Arguments are passed on
# (--batches N, --top K).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
.venv/bin/python -m node.benchmarks.ledger_profile "$@"
