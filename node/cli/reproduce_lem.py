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
            ("Table 4: clearing time of one interval [s]", rep.table4),
        )
        for title, table in sections:
            print(f"\n{title}\n{table.to_string(float_format=lambda v: f'{v:.4g}')}")
    if args.out is not None:
        files = write(rep, args.out)
        print(f"\nwrote {len(files)} files to {args.out}/")
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
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
    cmd.set_defaults(handler=_reproduce_lem_cdt)
