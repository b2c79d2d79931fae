"""`gridledger reproduce lem-cdt`: the LEM-CDT study's tables beside ours (sim/lem_cdt.py)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from exc
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"every N must be >= 2, got {text!r}")
    return sizes


def _reproduce_lem_cdt(args: argparse.Namespace) -> int:
    import pandas as pd

    from gridledger.sim.errors import SimError
    from gridledger.sim.lem_cdt import TIMING_SIZES, reproduce, write
    from gridledger.sim.scenarios import resolve

    started = time.perf_counter()
    try:
        rep = reproduce(resolve(args.scenario), args.sizes or TIMING_SIZES)
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        sections = (
            ("Table 1: total daily cost (paper EUR, ours token = EUR)", rep.table1),
            ("Table 2: payment and profit", rep.table2),
            ("Table 3: mean battery SoC [%] at the end of each hour", rep.table3),
            ("Figures 8-9: total cost against the violation probability", rep.figures_8_9),
            (
                "Table 4: clearing time of one interval [s]; the work: the optimal matching's LP "
                "variables (crossing pairs), the bid-free clearing's trades",
                rep.table4,
            ),
        )
        for title, table in sections:
            print(f"\n{title}\n{table.to_string(float_format=lambda v: f'{v:.4g}')}")
    if args.out is not None:
        files = write(rep, args.out)
        print(f"\nwrote {len(files)} files to {args.out}/")
    if args.ledger != "none":
        status = _on_chain_rows(args)
        if status:
            return status
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
    return 0


def _on_chain_rows(args: argparse.Namespace) -> int:
    """Table 4's on-chain rows: the same books cleared and settled on `args.ledger`."""
    import pandas as pd

    from gridledger.node.demo.lem_runs import clearing_rows
    from gridledger.node.errors import NodeError
    from gridledger.sim.lem_cdt import random_book
    from gridledger.sim.market_loop import tariffs_of
    from gridledger.sim.scenarios import resolve

    scenario = resolve(args.scenario)
    if scenario.market is None:
        print(f"error: scenario {scenario.name!r} has no [market] table", file=sys.stderr)
        return 1
    tariffs = tariffs_of(scenario.market)
    books = {n: random_book(n, tariffs, scenario.seed) for n in args.ledger_sizes}
    out_dir = args.out or Path("out/reproduce/lem-cdt")
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        rows = clearing_rows(args.ledger, books, tariffs, progress, out_dir / "testnet")
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = pd.DataFrame(
        [(r.n, r.orders, r.place_gas_per_order, r.clear_gas_per_order, r.settle_gas_per_order,
          r.gas_per_order, r.interval_s, r.price_matches) for r in rows],
        columns=["n", "orders", "place_gas_per_order", "clear_gas_per_order",
                 "settle_gas_per_order", "gas_per_order", "seconds_per_interval",
                 "price_equals_off_chain"],
    ).set_index("n")  # fmt: skip
    print(
        f"\nTable 4, on chain ({args.ledger}): the same books as orders to Market.sol, cleared "
        "by the operator's witness and settled; gas per order and seconds per interval"
    )
    print(table.to_string(float_format=lambda v: f"{v:,.2f}" if v < 1000 else f"{v:,.0f}"))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "table4_ledger.csv")
    if not all(r.price_matches for r in rows):
        print("MISMATCH: a price on chain differs from the off-chain clearing", file=sys.stderr)
        return 1
    return 0


def add_lem_cdt(subparsers: Any) -> None:
    """Add `lem-cdt` to the `reproduce` subcommands."""
    cmd = subparsers.add_parser(
        "lem-cdt",
        help="LEM with consumer digital twins (Andriopoulos et al. 2023): Tables 1-4, Figs 8-9",
        description="Schedule the lem27 households day-ahead with and without their digital "
        "twins, clear every hour by the P2P mid-price and the bid-free price, and print the "
        "paper's tables beside ours (docs/reproductions.md).",
    )
    cmd.add_argument("--out", type=Path, default=None, help="write the tables (CSV) and a PNG")
    cmd.add_argument("--scenario", default="lem27", help="a built-in scenario or TOML (lem27)")
    cmd.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        metavar="N,N,...",
        help="participants of the clearing-time table (10,20,50,100,1000,10000)",
    )
    cmd.add_argument(
        "--ledger",
        choices=("none", "embedded", "testnet"),
        default="none",
        help="also clear and settle Table 4's books on a ledger: 'embedded' (the node's chain "
        "in this process) or 'testnet' (3 node processes, simulation clock; needs "
        "GRIDLEDGER_PASSPHRASE): gas per order and seconds per interval",
    )
    cmd.add_argument(
        "--ledger-sizes",
        type=_sizes,
        default=(10, 20, 50, 100),
        metavar="N,N,...",
        help="participants of the on-chain rows (10,20,50,100; 1000 takes ~1 min embedded, "
        "~3 min on the testnet)",
    )
    cmd.set_defaults(handler=_reproduce_lem_cdt)
