#!/usr/bin/env bash
# The embedded chain against anvil on one workload (JSON-RPC on loopback), plus receipt and log
# query latency with 100,000 transactions in the chain. Recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
export GRIDLEDGER_PASSPHRASE="${GRIDLEDGER_PASSPHRASE:-bench}"
time .venv/bin/gridledger bench ledger --json > bench/results/ledger.json
cat bench/results/ledger.json
