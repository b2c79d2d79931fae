#!/usr/bin/env bash
# Federation bus speed against HELICS, and the standalone fedmgdt day: writes
# bench/results/federation.json and prints the machine it ran on. Recorded in BENCHMARKS.md.
# Needs the HELICS baseline: .venv/bin/pip install helics (or '.[bench]').
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
time .venv/bin/gridledger sim bench federation --json > bench/results/federation.json
cat bench/results/federation.json
