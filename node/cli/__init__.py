"""The `gridledger` command line."""

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

    from gridledger.node.cli import audit as cli_audit
    from gridledger.node.cli import bench as cli_bench
    from gridledger.node.cli import bid as cli_bid
    from gridledger.node.cli import demo as cli_demo
    from gridledger.node.cli import node as cli_node
    from gridledger.node.cli import sim as cli_sim
    from gridledger.node.cli import testnet as cli_testnet

    cli_bench.register(commands)
    cli_demo.register(commands)
    cli_sim.register(commands)
    cli_node.register(commands)
    cli_bid.register(commands)
    cli_testnet.register(commands)
    cli_audit.register(commands)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridledger` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
