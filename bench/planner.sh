#!/usr/bin/env bash
# Forecast + plan per decision instant on the EnergyTwin campus, with the myopic rule as the
# same-run baseline, and training time per retrain: writes bench/results/planner.json and
# prints the machine it ran on. Recorded in BENCHMARKS.md ("Planner").
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
time .venv/bin/python -m gridledger.sim.reproduce.planner_bench --json "$@" >bench/results/planner.json
cat bench/results/planner.json
