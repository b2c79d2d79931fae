"""`gridledger demo`: the main job of `make demo`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def _demo(args: argparse.Namespace) -> int:
    from node.demo import run

    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {message}", file=sys.stderr, flush=True)

    results, market = run(args.out, progress)
    print()
    print("FED-MGDT E1-E4, read back from the chain (17:00-20:00 window, lambda 1/kWh, beta 0.5)")
    print(f"{'cap kW':>7} {'E_viol kWh':>11} {'R_comp':>8} {'penalty':>9} {'trust':>8}")
    for r in results:
        print(
            f"{r.cap_kw:>7g} {r.violation_kwh:>11.3f} {r.compliance:>8.4f} "
            f"{r.penalty:>9.3f} {r.trust:>8.4f}"
        )
    print()
    print(
        f"market interval {market.interval}: {market.orders} orders, cleared "
        f"{market.volume_kwh:.3f} kWh at {market.price_per_kwh:.4f} tokens/kWh"
    )
    print(f"\nwrote {args.out / 'results.csv'} and the plots in {args.out}/")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def register(commands: Any) -> None:
    """Add `demo` to the CLI."""
    demo = commands.add_parser(
        "demo", help="FED-MGDT experiments E1-E4 and a market interval on an in-process chain"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("out/demo"), help="output folder (default out/demo)"
    )
    demo.set_defaults(handler=_demo)
