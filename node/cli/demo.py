"""`gridledger demo`: the main job of `make demo`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

STRATEGIES = ("persistence", "planned")
"""node.agents.strategies.STRATEGIES (not imported: the CLI loads modules lazily)."""
TABLE_HEADER = f"{'cap kW':>7} {'E_viol kWh':>11} {'R_comp':>8} {'penalty':>9} {'trust':>8}"


def _print_table(results: Any) -> None:
    print("FED-MGDT E1-E4, read back from the chain (17:00-20:00 window, lambda 1/kWh, beta 0.5)")
    print(TABLE_HEADER)
    for r in results:
        print(
            f"{r.cap_kw:>7g} {r.violation_kwh:>11.3f} {r.compliance:>8.4f} "
            f"{r.penalty:>9.3f} {r.trust:>8.4f}"
        )


def _demo(args: argparse.Namespace) -> int:
    from gridledger.node.errors import NodeError

    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {message}", file=sys.stderr, flush=True)

    if args.in_process and args.strategy != "persistence":
        print("error: --strategy applies to the testnet demo, not --in-process", file=sys.stderr)
        return 2
    print()
    if args.in_process:
        from gridledger.node.demo.inprocess import run as run_in_process

        results, market = run_in_process(args.out, progress)
        print()
        _print_table(results)
        print(
            f"\nmarket interval {market.interval}: {market.orders} orders, cleared "
            f"{market.volume_kwh:.3f} kWh at {market.price_per_kwh:.4f} tokens/kWh"
        )
    else:
        from gridledger.node.demo.testnet import run

        try:
            outcome = run(args.out, args.keep, progress, strategy=args.strategy)
        except NodeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print()
        _print_table(outcome.results)
        print(
            f"\n{outcome.readings} signed readings relayed, {outcome.orders} orders placed, "
            f"{outcome.cleared_intervals} market intervals cleared and settled by the operator"
        )
        from gridledger.node.demo.delivery import format_rows

        print(f"\nprosumers bid by {args.strategy}")
        print(format_rows(outcome.deliveries))
        if args.keep:
            status = f"gridledger testnet status --data-dir {outcome.testnet_dir}"
            print(f"\nthe testnet is still up: {status}")
            print(f"audit it: gridledger audit --rpc {outcome.rpc_url}")
            dashboard = outcome.rpc_url.removesuffix("rpc")
            print(f"watch it live: the dashboard at {dashboard} (every node serves one at /)")
        else:
            print(
                f"\ntestnet stopped; its data is in {outcome.testnet_dir} (testnet up resumes it)"
            )
    print(f"wrote {args.out / 'results.csv'} and the plots in {args.out}/")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def register(commands: Any) -> None:
    """Add `demo` to the CLI."""
    demo = commands.add_parser(
        "demo",
        help="FED-MGDT E1-E4 on a 3-node testnet with the simulator, operator and prosumers",
    )
    demo.add_argument(
        "--out", type=Path, default=Path("out/demo"), help="output folder (default out/demo)"
    )
    demo.add_argument(
        "--keep", action="store_true", help="leave the testnet running (data in OUT/testnet)"
    )
    demo.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="persistence",
        help="the prosumers' bidding strategy (default persistence; planned: from each "
        "meter's forecast, trained on the simulated week before the demo day)",
    )
    demo.add_argument(
        "--in-process",
        action="store_true",
        help="the contract-level demo on one in-process chain instead (no testnet)",
    )
    demo.set_defaults(handler=_demo)
