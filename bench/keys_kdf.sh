#!/usr/bin/env bash
# What a key file costs at each scrypt setting (node/keys/kdf.py): encrypting (creating) and
# decrypting (a node starting) one role keystore, r = 8, p = 1, in one run on this machine.
# n = 2^18 is geth's standard (and the node's), 2^14 the node's setting before, 2^12 the
# tests' (GRIDLEDGER_TEST_WEAK_KDF). Recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
.venv/bin/python - <<'PY'
import json, time
from eth_account import Account

account = Account.create()
out = {}
for exponent in (12, 14, 18):
    started = time.perf_counter()
    keystore = Account.encrypt(account.key, "bench", kdf="scrypt", iterations=2**exponent)
    encrypted = time.perf_counter()
    Account.decrypt(keystore, "bench")
    out[f"2^{exponent}"] = {
        "encrypt_s": round(encrypted - started, 3),
        "decrypt_s": round(time.perf_counter() - encrypted, 3),
    }
print(json.dumps(out))
PY
