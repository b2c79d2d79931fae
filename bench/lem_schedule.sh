#!/usr/bin/env bash
# The LEM-CDT day-ahead schedule for 27 and 1,000 households, with the chance constraints and
# without them in the same run: writes bench/results/lem_schedule.json and prints the machine
# it ran on. Recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
time .venv/bin/python -m gridledger.sim.twin.bench "$@" >bench/results/lem_schedule.json
cat bench/results/lem_schedule.json
