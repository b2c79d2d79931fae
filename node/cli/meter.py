"""`gridledger meter ...`: a meter's side of a node. `key` creates (or opens) a meter's
encrypted keystore and prints its address; `replay` signs a measured CSV with that key and
posts it to a node's POST /v1/readings, paced; `sample` writes FED-MGDT's MG1 day as such a
CSV. docs/meters.md."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

SAMPLE_DAY_TS = 1_795_996_800
"""2026-11-30 00:00 UTC: the day of the sample CSV (a past day: Metering takes no reading
that ends after the chain's clock)."""


def _key(args: argparse.Namespace) -> int:
    from gridledger.node.errors import ConfigError
    from gridledger.node.keys import load_or_create_key

    try:
        account = load_or_create_key(args.keystore)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(account.address)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from eth_utils.address import is_hex_address, to_checksum_address

    from gridledger.node.meters.replay import (
        MeterReplayError,
        NodeClient,
        load_meter_key,
        read_csv,
        replay,
    )

    api_key = args.api_key or os.environ.get("GRIDLEDGER_API_KEY")
    if not api_key:
        print(
            "error: give the node's API key in GRIDLEDGER_API_KEY (or --api-key)", file=sys.stderr
        )
        return 2
    if not is_hex_address(args.participant):
        print(f"error: --participant {args.participant!r} is not an address", file=sys.stderr)
        return 2
    try:
        rows = read_csv(args.file)
        if args.start_ts is not None:
            shift = args.start_ts - rows[0].interval_start_ts
            rows = [
                type(r)(r.interval_start_ts + shift, r.duration_s, r.import_wh, r.export_wh)
                for r in rows
            ]
        key = load_meter_key(args.keystore)
        outcome = replay(
            rows,
            key,
            to_checksum_address(args.participant),
            NodeClient(args.node, api_key),
            args.speed,
            args.batch,
        )
    except MeterReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"posted {outcome.posted} readings (seq {outcome.first_seq}..{outcome.last_seq}), "
        f"{outcome.accepted} accepted on chain, {outcome.skipped} rows skipped"
    )
    return 0


def _sample(args: argparse.Namespace) -> int:
    from gridledger.node.meters.replay import Row, write_csv
    from gridledger.sim.fedmgdt import simulate_mg1_day

    day = simulate_mg1_day(args.cap_kw * 1000)
    rows = [
        Row(args.day_ts + int(t_s), day.dt_s, int(imp), int(exp_))
        for t_s, imp, exp_ in zip(day.t_s, day.import_wh, day.export_wh, strict=True)
    ]
    write_csv(rows, args.out)
    print(f"wrote {len(rows)} rows of MG1 under a {args.cap_kw:g} kW cap to {args.out}")
    return 0


def register(commands: Any) -> None:
    """Add `meter` to the CLI."""
    meter = commands.add_parser("meter", help="a meter: its key, CSV replay to a node")
    sub = meter.add_subparsers(dest="meter_command", required=True)

    key = sub.add_parser("key", help="create (or open) a meter's encrypted keystore")
    key.add_argument("keystore", type=Path, help="the keystore file (GRIDLEDGER_PASSPHRASE)")
    key.set_defaults(handler=_key)

    replay = sub.add_parser(
        "replay", help="sign a measured CSV with the meter's key and post it to a node"
    )
    replay.add_argument("file", type=Path, help="CSV: interval_start_ts,duration_s,import_wh,...")
    replay.add_argument("--node", required=True, help="the node's HTTP URL")
    replay.add_argument(
        "--key",
        dest="keystore",
        type=Path,
        required=True,
        help="the meter's encrypted keystore file (`gridledger meter key`)",
    )
    replay.add_argument("--participant", required=True, help="the participant the meter meters")
    replay.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="simulated seconds per wall second (0: as fast as possible)",
    )
    replay.add_argument("--batch", type=int, default=60, help="readings per request (1..128)")
    replay.add_argument(
        "--start-ts",
        type=int,
        default=None,
        help="shift the rows so the first starts at this time [unix s]",
    )
    replay.add_argument(
        "--api-key", default=None, help="the node's API key (better: set GRIDLEDGER_API_KEY)"
    )
    replay.set_defaults(handler=_replay)

    sample = sub.add_parser("sample", help="write FED-MGDT's MG1 day as a meter CSV")
    sample.add_argument("out", type=Path)
    sample.add_argument("--cap-kw", type=float, default=4.0, help="MG1's import cap [kW]")
    sample.add_argument("--day-ts", type=int, default=SAMPLE_DAY_TS, help="the day [unix s]")
    sample.set_defaults(handler=_sample)
