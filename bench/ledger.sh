#!/usr/bin/env bash
# The embedded chain against anvil on one workload (JSON-RPC on loopback), plus receipt and log
# query latency with 100,000 transactions in the chain. Recorded in BENCHMARKS.md.
set -euo pipefail
source "$(dirname "$0")/run_bench.sh"
run_bench ledger bench ledger
