"""`gridledger testnet up|down|status`: a local multi-node testnet on loopback."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path("testnet")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _up(args: argparse.Namespace) -> int:
    from gridledger.node import testnet
    from gridledger.node.errors import NodeError

    try:
        spec = testnet.TestnetSpec(
            args.nodes,
            args.base_port,
            args.period,
            args.clock,
            gate_closure_lead_s=args.gate_lead_s,
            interval_length_s=args.interval_s,
            operator_service=not args.no_operator,
            auto_bid=args.auto_bid,
        )
        entries = testnet.up(args.data_dir, spec, _say)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    code = _status(args)
    # on stderr, so that `up --json` stays one JSON document on stdout
    for entry in entries:
        _say(f"dashboard of {entry.name}: {entry.url}/")
    return code


def _down(args: argparse.Namespace) -> int:
    from gridledger.node import testnet
    from gridledger.node.errors import NodeError

    try:
        stopped = testnet.down(args.data_dir, _say)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stopped {stopped} node(s); data kept in {args.data_dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from gridledger.node import testnet
    from gridledger.node.errors import NodeError

    try:
        doc = testnet.status(args.data_dir)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(doc, indent=1) if args.json else testnet.format_status(doc))
    return 0


def register(commands: Any) -> None:
    net = commands.add_parser("testnet", help="a local multi-node testnet on loopback")
    kinds = net.add_subparsers(dest="testnet_command", required=True)
    up = kinds.add_parser(
        "up", help="create (keys, shared genesis) or resume the testnet; start missing nodes"
    )
    up.add_argument("--nodes", type=int, default=4, help="number of nodes (default 4)")
    up.add_argument("--base-port", type=int, default=8545, help="HTTP port of node1")
    up.add_argument("--period", type=int, default=1, help="block period [s] (default 1)")
    up.add_argument(
        "--clock",
        choices=("wall", "sim"),
        default="wall",
        help="seal on the wall clock, or at simulation ticks (POST /v1/admin/clock)",
    )
    up.add_argument(
        "--interval-s", type=int, default=900, help="market interval length [s] (default 900)"
    )
    up.add_argument(
        "--gate-lead-s",
        type=int,
        default=300,
        help="orders close this long before their interval starts [s] (default 300)",
    )
    up.add_argument(
        "--no-operator",
        action="store_true",
        help="node1 runs no operator service (nobody admits, funds, clears or settles)",
    )
    up.add_argument(
        "--auto-bid",
        action="store_true",
        help="every node's prosumer bids by itself from its metered readings (persistence)",
    )
    up.set_defaults(handler=_up)
    down = kinds.add_parser("down", help="stop the nodes, keep their data")
    down.set_defaults(handler=_down)
    status = kinds.add_parser("status", help="nodes, URLs, pids, heads, finality, contracts")
    status.set_defaults(handler=_status)
    for sub in (up, down, status):
        sub.add_argument(
            "--data-dir", type=Path, default=DEFAULT_DIR, help="testnet folder (default ./testnet)"
        )
    for sub in (up, status):
        sub.add_argument("--json", action="store_true", help="machine-readable status")
