#!/usr/bin/env bash
# Finalized signed readings per second and confirmation latency on 1, 3 and 4-node testnets
# (separate processes on loopback, 1 s blocks), the same workload for each. Recorded in
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
export GRIDLEDGER_PASSPHRASE="${GRIDLEDGER_PASSPHRASE:-bench}"
time .venv/bin/gridledger bench testnet --json > bench/results/testnet.json
cat bench/results/testnet.json
