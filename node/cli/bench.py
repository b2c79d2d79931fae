"""`gridledger bench ...`: benchmarks whose figures BENCHMARKS.md records."""

from __future__ import annotations

import argparse
from typing import Any

from gridledger.node.cli.figures import flatten, print_figures, progress_printer


def _bench_gas(args: argparse.Namespace) -> int:
    from gridledger.node.benchmarks.gas import CLEARING_SIZES, measure

    sizes = tuple(args.orders) if args.orders else CLEARING_SIZES
    print_figures(measure(sizes, progress_printer("gas")), args.json, sort=True, decimals=1)
    return 0


def _bench_ledger(args: argparse.Namespace) -> int:
    from gridledger.node.benchmarks.ledger import measure

    progress = progress_printer("ledger")
    print_figures(measure(args.calls, args.reading_batches, args.history_txs, progress), args.json)
    return 0


def _bench_testnet(args: argparse.Namespace) -> int:
    from gridledger.node.benchmarks.testnet import measure

    progress = progress_printer("testnet")
    figures = measure(tuple(args.nodes), args.batches, args.paced_batches_per_s, progress)
    print_figures(figures, args.json)
    return 0


def _bench_load(args: argparse.Namespace) -> int:
    from gridledger.node.benchmarks.load import measure

    progress = progress_printer("load")
    figures = measure(args.requests, args.clients, args.max_s, args.rounds, progress)
    print_figures(flatten(figures), args.json, decimals=2)
    return 0


def register(commands: Any) -> None:
    """Add `bench` and its subcommands to the CLI."""
    bench = commands.add_parser("bench", help="measure gas and speed (see BENCHMARKS.md)")
    kinds = bench.add_subparsers(dest="bench_command", required=True)
    from gridledger.node.cli.sim import register_bench_federation

    register_bench_federation(kinds)  # `gridledger bench federation` = `sim bench federation`
    gas = kinds.add_parser("gas", help="exact gas per reading, per order, per order cleared")
    gas.add_argument("--json", action="store_true", help="print the figures as JSON")
    gas.add_argument(
        "--orders",
        type=int,
        nargs="+",
        metavar="N",
        help="clearing sizes to measure (default: 10 100 1000)",
    )
    gas.set_defaults(handler=_bench_gas)
    ledger = kinds.add_parser(
        "ledger", help="embedded chain vs anvil: calls/s, signed readings/s, query latency"
    )
    ledger.add_argument("--json", action="store_true", help="print the figures as JSON")
    ledger.add_argument("--calls", type=int, default=2_000, help="token transfers (default 2000)")
    ledger.add_argument(
        "--reading-batches", type=int, default=100, help="batches of 60 readings (default 100)"
    )
    ledger.add_argument(
        "--history-txs",
        type=int,
        default=100_000,
        help="transactions in the chain for the query latencies (default 100000; 0 skips)",
    )
    ledger.set_defaults(handler=_bench_ledger)
    net = kinds.add_parser(
        "testnet",
        help="finalized signed readings/s, finality latency and vote costs on 4, 7, 10 nodes",
    )
    net.add_argument("--json", action="store_true", help="print the figures as JSON")
    net.add_argument(
        "--nodes", type=int, nargs="+", default=[4, 7, 10], help="testnet sizes (default 4 7 10)"
    )
    net.add_argument(
        "--batches", type=int, default=120, help="batches of 60 readings per run (default 120)"
    )
    net.add_argument(
        "--paced-batches-per-s",
        type=float,
        default=5.0,
        help="offered load of the latency run [batches/s] (default 5: 300 readings/s)",
    )
    net.set_defaults(handler=_bench_testnet)
    load = kinds.add_parser(
        "load",
        help="REST and JSON-RPC reads/s and p99 latency, alone and under the heaviest eth_calls",
    )
    load.add_argument("--json", action="store_true", help="print the figures as JSON")
    load.add_argument(
        "--requests", type=int, default=1_000, help="requests of each kind per phase (default 1000)"
    )
    load.add_argument("--clients", type=int, default=2, help="reading clients (default 2)")
    load.add_argument("--rounds", type=int, default=3, help="turns of the two phases (default 3)")
    load.add_argument(
        "--max-s", type=float, default=60.0, help="at most this long per kind and phase [s]"
    )
    load.set_defaults(handler=_bench_load)
