#!/usr/bin/env bash
# REST and JSON-RPC reads per second and their p99 latency on one node process (loopback),
# alone and while one client sends the heaviest eth_calls the node allows (BLAKE2F to the
# gas cap, each stopped by the EVM timeout); the p99 ratio. Recorded in BENCHMARKS.md.
set -euo pipefail
source "$(dirname "$0")/run_bench.sh"
run_bench load bench load "$@"
