#!/usr/bin/env bash
# Federation bus speed against HELICS, and the standalone fedmgdt day: writes
# bench/results/federation.json and prints the machine it ran on. Recorded in BENCHMARKS.md.
# Needs the HELICS baseline: .venv/bin/pip install helics (or '.[bench]').
set -euo pipefail
source "$(dirname "$0")/run_bench.sh"
run_bench federation sim bench federation
