#!/usr/bin/env bash
# Sourced by the bench/*.sh scripts: `run_bench NAME ARGS...` runs `gridledger ARGS... --json`
# from the repository root, prints the machine it ran on and the time taken, keeps the figures
# in bench/results/NAME.json and prints them.
run_bench() {
  local name="$1"
  shift
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  mkdir -p bench/results
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
  export GRIDLEDGER_PASSPHRASE="${GRIDLEDGER_PASSPHRASE:-bench}"
  time .venv/bin/gridledger "$@" --json >"bench/results/$name.json"
  cat "bench/results/$name.json"
}
