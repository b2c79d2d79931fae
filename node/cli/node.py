"""`gridledger node run`: one node with its embedded chain and HTTP server."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any


def with_roles(config: Any, operator: bool, auto_bid: bool) -> Any:
    """`config` with the operator service (--operator) and the auto-bidder (--auto-bid) on,
    with their defaults, unless its [operator] / [prosumer] tables set them already."""
    import dataclasses

    from gridledger.node.config import AutoBidConfig, OperatorConfig

    if operator and config.operator is None:
        config = dataclasses.replace(config, operator=OperatorConfig())
    if auto_bid and config.auto_bid is None:
        config = dataclasses.replace(config, auto_bid=AutoBidConfig())
    return config


def _node_run(args: argparse.Namespace) -> int:
    import uvicorn

    from gridledger.node.app import create_app
    from gridledger.node.config import load_config
    from gridledger.node.errors import NodeError
    from gridledger.node.service import start

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.ledger == "rpc" and not args.rpc_url:
            print("error: --ledger rpc needs --rpc-url URL", file=sys.stderr)
            return 2
        config = load_config(args.config, args.port)
        config = with_roles(config, args.operator, args.auto_bid)
        service = start(args.data_dir, config, args.rpc_url if args.ledger == "rpc" else None)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        uvicorn.run(
            create_app(service, args.data_dir),
            host=config.host,
            port=config.port,
            log_level="warning",
        )
    finally:
        service.stop()
    return 0


def register(commands: Any) -> None:
    node = commands.add_parser("node", help="run a node")
    kinds = node.add_subparsers(dest="node_command", required=True)
    run = kinds.add_parser(
        "run", help="run one node: embedded chain, HTTP API and JSON-RPC on /rpc"
    )
    run.add_argument("--data-dir", type=Path, required=True, help="chain, keys and contracts")
    run.add_argument("--port", type=int, default=None, help="HTTP port (default 8545)")
    run.add_argument("--config", type=Path, default=None, help="TOML node config")
    run.add_argument(
        "--ledger",
        choices=("embedded", "rpc"),
        default="embedded",
        help="embedded py-evm chain (default) or an external Ethereum JSON-RPC network",
    )
    run.add_argument("--rpc-url", default=None, help="the external network's JSON-RPC URL")
    run.add_argument(
        "--operator",
        action="store_true",
        help="run the operator service (the node's operator account must hold the role: a "
        "lone node that deployed the contracts, or node1 of a testnet); [operator] in the "
        "config sets its members and faucet",
    )
    run.add_argument(
        "--auto-bid",
        action="store_true",
        help="the node's prosumer bids by itself every interval from its metered readings "
        "(persistence; prices and window in the config's [prosumer] table)",
    )
    run.set_defaults(handler=_node_run)
