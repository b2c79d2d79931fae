#!/usr/bin/env bash
# Exact gas figures of the contracts (deterministic): writes bench/results/gas.json and prints
# the machine it ran on. Recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
time .venv/bin/gridledger bench gas --json > bench/results/gas.json
cat bench/results/gas.json
