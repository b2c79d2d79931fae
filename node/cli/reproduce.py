"""`gridledger reproduce energytwin|fedmgdt`: a study's tables beside ours, and its figures."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from gridledger.node.cli import reproduce_lem as cli_reproduce_lem


def _energytwin(args: argparse.Namespace) -> int:
    from gridledger.market.planning.rolling import PlannerKind
    from gridledger.sim.errors import SimError
    from gridledger.sim.reproduce.energytwin import reproduce_energytwin
    from gridledger.sim.reproduce.report import energytwin_report
    from gridledger.sim.scenarios import resolve

    started = time.perf_counter()
    out_dir = args.out or Path("out/reproduce/energytwin")
    try:
        scenario = resolve("energytwin")
        if args.seed is not None:
            scenario = scenario.with_seed(args.seed)
        rep = reproduce_energytwin(
            scenario, args.n_steps, show_progress=not args.quiet, planner=PlannerKind(args.planner)
        )
        report = energytwin_report(rep, out_dir, figures=not args.no_plots)
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.text)
    print(
        f"\nwrote {len(report.files)} files to {out_dir}/ in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _fedmgdt(args: argparse.Namespace) -> int:
    from gridledger.sim.reproduce.report import fedmgdt_report

    started = time.perf_counter()
    out_dir = args.out or Path("out/reproduce/fedmgdt")
    report = fedmgdt_report(out_dir, figures=not args.no_plots)
    print(report.text)
    print(
        f"\nwrote {len(report.files)} files to {out_dir}/ in {time.perf_counter() - started:.1f} s"
    )
    return 0 if "FAIL" not in report.text else 2


def _bidding(args: argparse.Namespace) -> int:
    from gridledger.sim.reproduce.bidding import compare_bidding, format_deliveries
    from gridledger.sim.scenarios import resolve

    started = time.perf_counter()
    out_dir = args.out or Path("out/reproduce/bidding")
    rows = compare_bidding(resolve("lem27"), prosumers=args.prosumers, show_progress=not args.quiet)
    text = format_deliveries(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tables.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nwrote {out_dir}/tables.txt in {time.perf_counter() - started:.1f} s")
    return 0


def register(commands: Any) -> None:
    """Add `reproduce` and its studies to the CLI."""
    reproduce = commands.add_parser(
        "reproduce", help="a published study's tables beside ours, and its figures (PNG)"
    )
    studies = reproduce.add_subparsers(dest="reproduce_command", required=True)
    cli_reproduce_lem.add_lem_cdt(studies)
    et = studies.add_parser(
        "energytwin",
        help="EnergyTwin: myopic vs predictive, nominal / PV outage / load spike (~1 min)",
        description="Tables 1, 2 and the stress cases with the paper's values beside ours; "
        "Figures 6-11 as PNG (docs/reproductions.md).",
    )
    et.add_argument("--out", type=Path, default=None, help="output folder")
    et.add_argument("--seed", type=int, default=None, help="root seed (default: the file's)")
    et.add_argument(
        "--n-steps", type=int, default=None, help="shorten the run to N ticks (> 168; quick checks)"
    )
    et.add_argument(
        "--planner",
        choices=("median", "robust"),
        default="median",
        help="the paper's median planner, or the robust one keeping a q05/q95 reserve",
    )
    et.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    et.add_argument("--quiet", action="store_true", help="no progress bar")
    et.set_defaults(handler=_energytwin)
    fm = studies.add_parser(
        "fedmgdt",
        help="FED-MGDT: E1-E4, Figures 2-4, the paper's qualitative checks as pass/fail",
    )
    fm.add_argument("--out", type=Path, default=None, help="output folder")
    fm.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    fm.set_defaults(handler=_fedmgdt)
    bid = studies.add_parser(
        "bidding",
        help="lem27 prosumers: market delivery shortfall of persistence vs planned bids",
    )
    bid.add_argument("--out", type=Path, default=None, help="output folder")
    bid.add_argument(
        "--prosumers", type=int, default=None, help="the first N prosumers only (default: all 12)"
    )
    bid.add_argument("--quiet", action="store_true", help="no progress bar")
    bid.set_defaults(handler=_bidding)
