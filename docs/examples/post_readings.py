"""Post EIP-712 signed meter readings to a gridledger node: the example of docs/rest.md.

A meter (here: this script, holding the meter's key) signs each reading as the EIP-712 typed
data ``MeterReading`` under the Metering contract's domain, with eth-account alone; the node
checks and relays. Needs only ``eth-account`` and ``requests``.

    export GRIDLEDGER_API_KEY=$(cat DATA_DIR/api-key)   # the node's (prosumer's) API key
    export METER_KEY=0x...                              # the meter's private key
    python docs/examples/post_readings.py --node http://127.0.0.1:8545 \
        --participant 0xPARTICIPANT --count 3 --import-wh 120 --export-wh 0

It asks the node where the meter stands (``GET /v1/meters/{meter}``: next seq, earliest
start), signs ``--count`` one-minute readings from there (ending in the past), posts them with
``?wait=30`` and prints each reading's fate. Exit 0 when every reading was taken.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import requests
from eth_account import Account

READING_TYPES = {
    "MeterReading": [
        {"name": "meter", "type": "address"},
        {"name": "participant", "type": "address"},
        {"name": "intervalStartTs", "type": "uint64"},
        {"name": "durationS", "type": "uint32"},
        {"name": "importWh", "type": "uint64"},
        {"name": "exportWh", "type": "uint64"},
        {"name": "seq", "type": "uint64"},
    ]
}


def metering_domain(node: str) -> dict[str, Any]:
    """The EIP-712 domain of the node's Metering contract."""
    addresses = requests.get(f"{node}/v1/contracts/addresses", timeout=10).json()
    reply = requests.post(
        f"{node}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        timeout=10,
    ).json()
    return {
        "name": "gridledger.Metering",
        "version": "1",
        "chainId": int(reply["result"], 16),
        "verifyingContract": addresses["Metering"],
    }


def signed_reading(
    meter_key: str, domain: dict[str, Any], message: dict[str, Any]
) -> dict[str, Any]:
    """One reading as POST /v1/readings takes it: the struct's fields and the signature."""
    signed = Account.sign_typed_data(meter_key, domain, READING_TYPES, message)
    return {
        "meter": message["meter"],
        "participant": message["participant"],
        "interval_start_ts": message["intervalStartTs"],
        "duration_s": message["durationS"],
        "import_wh": message["importWh"],
        "export_wh": message["exportWh"],
        "seq": message["seq"],
        "signature": {"v": signed.v, "r": f"0x{signed.r:064x}", "s": f"0x{signed.s:064x}"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", required=True, help="the node's HTTP URL")
    parser.add_argument("--participant", required=True, help="the meter's participant")
    parser.add_argument("--count", type=int, default=3, help="readings to sign (one minute each)")
    parser.add_argument("--import-wh", type=int, default=120, help="import per reading [Wh]")
    parser.add_argument("--export-wh", type=int, default=0, help="export per reading [Wh]")
    args = parser.parse_args()
    meter_key = os.environ["METER_KEY"]
    api_key = os.environ["GRIDLEDGER_API_KEY"]
    meter = Account.from_key(meter_key).address
    domain = metering_domain(args.node)
    state = requests.get(f"{args.node}/v1/meters/{meter}", timeout=10).json()
    duration_s = 60
    now_ts = int(time.time())
    start_ts = max(state["next_start_min_ts"], now_ts - now_ts % 60 - args.count * duration_s)
    readings = [
        signed_reading(
            meter_key,
            domain,
            {
                "meter": meter,
                "participant": args.participant,
                "intervalStartTs": start_ts + k * duration_s,
                "durationS": duration_s,
                "importWh": args.import_wh,
                "exportWh": args.export_wh,
                "seq": state["next_seq"] + k,
            },
        )
        for k in range(args.count)
    ]
    reply = requests.post(
        f"{args.node}/v1/readings",
        params={"wait": 30},
        json={"readings": readings},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=60,
    )
    answer = reply.json()
    print(f"HTTP {reply.status_code}")
    for fate in answer.get("readings", []):
        reason = f" ({fate['refusal']['error']})" if fate.get("refusal") else ""
        print(f"seq {fate['seq']}: {fate['fate']}{reason} {fate.get('tx_hash') or ''}".rstrip())
    if reply.status_code != 202:
        print(json.dumps({k: answer[k] for k in ("error", "message")}), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
