#!/usr/bin/env bash
# LEM-CDT Table 4 with its on-chain rows, measured in one run: the off-chain clearing times
# (optimal P2P matching, P2P mid-price, bid-free) and the same books cleared and settled on a
# 3-node testnet (gas per order, seconds per interval). Keeps the two tables in bench/results/
# and prints the machine and its load. Recorded in BENCHMARKS.md. Needs GRIDLEDGER_PASSPHRASE.
# Usage: bench/lem_ledger.sh [testnet|embedded]
set -euo pipefail
cd "$(dirname "$0")/.."
ledger="${1:-testnet}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(.venv/bin/python --version)" >&2
uptime >&2
time .venv/bin/gridledger reproduce lem-cdt --out "$out" --sizes 10,20,50,100,1000 \
  --ledger "$ledger" --ledger-sizes 10,20,50,100,1000
cp "$out/table4.csv" bench/results/lem_table4.csv
cp "$out/table4_ledger.csv" "bench/results/lem_table4_$ledger.csv"
uptime >&2
