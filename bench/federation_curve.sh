#!/usr/bin/env bash
# The federation bus with CurveZMQ (this checkout) against the same bus in the clear (BASE,
# default 37420a8: the last commit before the bus was authenticated), alternating in one run
# on the same machine: `sim bench federation --no-helics` (fedmgdt E2, 1,440 ticks, 4 federate
# processes, median of 3 runs each), ROUNDS times each side. Prints the lockstep step [us] of
# each run and the ratio of the medians (curve / clear). Recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${BASE:-37420a8}"
ROUNDS="${ROUNDS:-3}"
base_dir="$(mktemp -d)"
trap 'rm -rf "$base_dir"' EXIT
git archive "$BASE" | tar -x -C "$base_dir"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
mkdir -p bench/results
out=bench/results/federation_curve.json
echo "[" >"$out"
for round in $(seq "$ROUNDS"); do
  for side in clear curve; do
    root="$PWD"
    [ "$side" = clear ] && root="$base_dir"
    step_us=$(cd /tmp && PYTHONPATH="$root" "$OLDPWD/.venv/bin/python" -m gridledger.node.cli \
      sim bench federation --no-helics --json --steps 1440 --repeats 3 |
      "$OLDPWD/.venv/bin/python" -c 'import json,sys; d=json.load(sys.stdin); print(d["step_us.gridledger"])')
    echo "round $round $side: step $step_us us" >&2
    echo "{\"round\": $round, \"side\": \"$side\", \"step_us\": $step_us}," >>"$out"
  done
done
.venv/bin/python - "$out" <<'PY'
import json, statistics, sys
path = sys.argv[1]
text = open(path).read().rstrip().rstrip(",") + "]"
runs = json.loads(text)
open(path, "w").write(json.dumps(runs, indent=1) + "\n")
med = {s: statistics.median(r["step_us"] for r in runs if r["side"] == s) for s in ("clear", "curve")}
print(json.dumps({"step_us_median": med, "ratio_curve_to_clear": round(med["curve"] / med["clear"], 3)}))
PY
