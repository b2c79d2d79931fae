"""The `gridledger` command line: the parser; one module per command (`register` adds it),
printing helpers in figures.py; `python -m gridledger.node.cli` runs it (__main__.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


def _contracts_build(args: argparse.Namespace) -> int:
    from gridledger.contracts.build import BUILD_DIR, build
    from gridledger.contracts.errors import ContractBuildError

    try:
        result = build(out_dir=args.out or BUILD_DIR)
    except ContractBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in result.written:
        print(f"wrote {path}")
    print(f"source hash {result.source_hash}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed so tests and docs can inspect it)."""
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="gridledger",
        description="A distributed-ledger transactive energy node.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    contracts = commands.add_parser("contracts", help="build the Solidity contracts")
    contracts_cmds = contracts.add_subparsers(dest="contracts_command", required=True)
    build_cmd = contracts_cmds.add_parser(
        "build", help="compile with the pinned npm solc into contracts/build/*.json"
    )
    build_cmd.add_argument("--out", type=Path, default=None, help="output folder")
    build_cmd.set_defaults(handler=_contracts_build)

    from gridledger.node.cli import (
        audit,
        bench,
        bid,
        demo,
        market,
        meter,
        node,
        reproduce,
        roles,
        sim,
        testnet,
    )

    for command in (bench, demo, sim, node, bid, testnet, audit, reproduce, meter):
        command.register(commands)
    for command in (roles, market):  # operator, regulator; market, orders, trust
        command.register(commands)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridledger` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
