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


def _sim_participants(args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    """Node -> microgrids of `--sim SCENARIO`, the prosumer nodes in turn (as the feed
    assigns them): each gets a participant key, and the operator service admits it."""
    if args.sim is None:
        return {}
    from gridledger.node.meters.feed_process import assign_in_turn
    from gridledger.sim.scenarios import resolve

    prosumers = [f"node{k}" for k in range(2, args.nodes + 1)] or ["node1"]
    microgrids = [mg.name for mg in resolve(args.sim).microgrids]
    by_node: dict[str, tuple[str, ...]] = {}
    for mg, node in assign_in_turn(prosumers, microgrids).items():
        by_node[node] = (*by_node.get(node, ()), mg)
    return by_node


def _start_feed(args: argparse.Namespace, participants: dict[str, tuple[str, ...]]) -> None:
    """`--sim`: the scenario's meters report to the nodes from a background process."""
    from gridledger.node import testnet
    from gridledger.node.meters import feed_process

    pid = feed_process.running_feed_pid(args.data_dir)
    if pid is not None:
        _say(f"the simulator's feed already runs (pid {pid}); log {args.data_dir}/sim.log")
        return
    # The operator service admits the microgrids of the scenario the testnet was made with;
    # for any other (or with --no-operator) the feed admits them with the operator's key.
    made_with_it = all(
        testnet.participant_key_path(args.data_dir / node, mg).exists()
        for node, mgs in participants.items()
        for mg in mgs
    ) and "[[operator.members]]" in (args.data_dir / "node1" / "node.toml").read_text(
        encoding="utf-8"
    )
    pid = feed_process.start_feed(
        args.data_dir, args.sim, args.speed, args.steps, admit=not made_with_it
    )
    pace = "as fast as the nodes take them" if args.speed is None else f"x{args.speed:g}"
    _say(
        f"simulator {args.sim}: meters report to the prosumer nodes ({pace}), pid {pid}, "
        f"log {args.data_dir}/sim.log"
    )


def _up(args: argparse.Namespace) -> int:
    from gridledger.node import testnet
    from gridledger.node.errors import NodeError
    from gridledger.sim.errors import SimError

    if args.sim is None and (args.speed is not None or args.steps is not None):
        print("error: --speed and --steps pace the simulator: give --sim SCENARIO", file=sys.stderr)
        return 2
    if (args.speed is not None and not args.speed > 0) or (
        args.steps is not None and args.steps < 1
    ):
        print("error: --speed must be above 0 and --steps at least 1", file=sys.stderr)
        return 2
    try:
        participants = _sim_participants(args)
        spec = testnet.TestnetSpec(
            args.nodes,
            args.base_port,
            args.period,
            args.clock,
            gate_closure_lead_s=args.gate_lead_s,
            interval_length_s=args.interval_s,
            operator_service=not args.no_operator,
            auto_bid=args.auto_bid,
            participants=participants,
        )
        entries = testnet.up(args.data_dir, spec, _say)
        if args.sim is not None:
            _start_feed(args, participants)
    except (NodeError, SimError) as exc:
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
    from gridledger.node.meters.feed_process import stop_feed

    try:
        testnet.load_layout(args.data_dir)  # a missing testnet is named before anything stops
        feed_pid = stop_feed(args.data_dir)  # the simulator's feed (`up --sim`) stops first
        if feed_pid is not None:
            _say(f"stopped the simulator's feed (pid {feed_pid})")
        stopped = testnet.down(args.data_dir, _say)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stopped {stopped} node(s); data kept in {args.data_dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from gridledger.node import testnet
    from gridledger.node.errors import NodeError
    from gridledger.node.meters.feed_process import running_feed_pid

    try:
        doc = {**testnet.status(args.data_dir), "sim_feed_pid": running_feed_pid(args.data_dir)}
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
    up.add_argument(
        "--sim",
        default=None,
        metavar="SCENARIO",
        help="feed the nodes from the simulator: the scenario's microgrids (one participant "
        "and meter each, admitted by the operator) report signed readings to the prosumer "
        "nodes in turn, from a background process (log DIR/sim.log; `down` stops it)",
    )
    up.add_argument(
        "--speed",
        type=float,
        default=None,
        help="--sim pace: simulated seconds per second (1: real time; default: as fast as "
        "the nodes take the readings)",
    )
    up.add_argument("--steps", type=int, default=None, help="--sim: stop after N ticks")
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
