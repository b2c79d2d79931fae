#!/usr/bin/env bash
# Finalized signed readings per second and confirmation latency on 1, 3 and 4-node testnets
# (separate processes on loopback, 1 s blocks), the same workload for each. Recorded in
# BENCHMARKS.md.
set -euo pipefail
source "$(dirname "$0")/run_bench.sh"
run_bench testnet bench testnet
