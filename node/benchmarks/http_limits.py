"""What node/http_limits.py's depth scan costs against parsing the same body with json.loads,
both timed in this run (BENCHMARKS.md, "HTTP body limits"). Bodies the node accepts pay
scan + parse; refused attack bodies pay the scan only (json.loads is shown for reference)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import time
from collections.abc import Callable

from gridledger.node.http_limits import RPC_LIMITS, check_json_depth, restore_recursion_limit
from gridledger.node.rest.errors import JsonTooDeepError

MIB = 1024 * 1024


def _call(i: int, method: str, params: list[object]) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": i, "method": method, "params": params}


def bodies() -> dict[str, bytes]:
    """Accepted bodies of the sizes clients send, and refused attack bodies of 8 MiB."""
    call = _call(1, "eth_call", [{"to": "0x" + "11" * 20, "data": "0x" + "ab" * 68}, "latest"])
    topics = {"fromBlock": "0x0", "toBlock": "latest", "topics": [["0x" + "22" * 32] * 3, None]}
    logs = [_call(i, "eth_getLogs", [topics]) for i in range(1_000)]
    raw = _call(1, "eth_sendRawTransaction", ["0x" + "cd" * (128 * 1024)])
    strings = [_call(i, "web3_clientVersion", ["x" * 60]) for i in range(58_000)]
    return {
        "eth_call": json.dumps(call).encode(),
        "raw transaction 128 KiB": json.dumps(raw).encode(),
        "batch of 1,000 eth_getLogs with topic lists": json.dumps(logs).encode(),
        "batch of 58,000 small requests (~8 MiB)": json.dumps(strings).encode(),
        "attack: 8 MiB of [": b"[" * (8 * MIB),
        "attack: 70 x [ then 8 MiB of escaped quotes": b"[" * 70 + b'"' + b'\\"' * (4 * MIB),
    }


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with contextlib.suppress(JsonTooDeepError, ValueError, RecursionError):
            fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    restore_recursion_limit()  # as create_app does: at py_ecc's limit json.loads would crash
    rows = []
    for name, body in bodies().items():
        scan_s = _median_s(functools.partial(check_json_depth, body, RPC_LIMITS), args.repeats)
        parse_s = _median_s(functools.partial(json.loads, body), args.repeats)
        rows.append(
            {
                "body": name,
                "bytes": len(body),
                "scan_ms": round(scan_s * 1e3, 3),
                "json_loads_ms": round(parse_s * 1e3, 3),
                "scan_over_parse": round(scan_s / parse_s, 3) if parse_s else None,
            }
        )
    print(json.dumps({"repeats": args.repeats, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
