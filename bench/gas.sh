#!/usr/bin/env bash
# Exact gas figures of the contracts (deterministic): writes bench/results/gas.json and prints
# the machine it ran on. Recorded in BENCHMARKS.md.
set -euo pipefail
source "$(dirname "$0")/run_bench.sh"
run_bench gas bench gas
