"""`gridledger sim run SCENARIO --ledger embedded|testnet`: the run's uniform-auction books
settled on a ledger after the off-chain market (node/demo/lem_runs.py), each household's money
read back and compared to the token unit, the delivery obligations audited."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

LEDGER_CHOICES = ("none", "embedded", "testnet")


def add_ledger_arguments(run: Any) -> None:
    """`--ledger` and `--keep` on `sim run`."""
    run.add_argument(
        "--ledger",
        choices=LEDGER_CHOICES,
        default="none",
        help="also settle the uniform auction's books on a ledger: 'embedded' (the node's "
        "chain in this process) or 'testnet' (3 node processes on loopback, simulation clock; "
        "needs GRIDLEDGER_PASSPHRASE); per-household money compared with the off-chain run",
    )
    run.add_argument(
        "--keep", action="store_true", help="leave the --ledger testnet running (OUT/testnet)"
    )


def settle_run_on_ledger(
    scenario: Any, outputs: Any, args: argparse.Namespace, out_dir: Path
) -> int:
    """Settle the first run's uniform books on `args.ledger`; 0 when every household's money
    matches and the audit is clean, 1 otherwise."""
    import pandas as pd

    from gridledger.node.demo.lem_runs import settle_day
    from gridledger.node.errors import NodeError
    from gridledger.sim.market_loop import feeder_of, tariffs_of, uniform_books

    spec = scenario.market
    if spec is None or outputs.market is None or "uniform" not in spec.mechanisms:
        print(f"error: --ledger needs a market in the loop with the uniform auction "
              f"(scenario {scenario.name!r})", file=sys.stderr)  # fmt: skip
        return 2
    run = str(outputs.ticks["run"].iloc[0])
    books = uniform_books(scenario, outputs.ticks[outputs.ticks["run"] == run])
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        day = settle_day(
            args.ledger, books, tariffs_of(spec), feeder_of(spec), scenario.start_ts,
            spec.interval_s, progress, out_dir / "testnet", args.keep,
        )  # fmt: skip
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = []
    for name, (paid, received) in day.reference.items():
        m = day.money[name]
        difference = (m.received_units - m.paid_units) - (received - paid)
        rows.append((name, paid, m.paid_units, received, m.received_units,
                     m.balance_change_units, difference))  # fmt: skip
    columns = ["microgrid", "offchain_paid_units", "chain_paid_units",
               "offchain_received_units", "chain_received_units",
               "chain_balance_change_units", "difference_units"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table.to_csv(out_dir / "market_ledger.csv", index=False)
    gas = day.gas
    seconds = [iv.market_s for iv in day.intervals if iv.orders]
    print(f"\nthe uniform auction of run {run!r} on the {day.ledger} ledger: {len(day.intervals)} "
          f"intervals, {gas.orders} orders")  # fmt: skip
    print(table.to_string(index=False))
    print(f"gas per order: {gas.per_order('place'):,.0f} placing, {gas.per_order('clear'):,.0f} "
          f"clearing, {gas.per_order('settle'):,.0f} settlement; readings "
          f"{gas.by_kind['readings']:,} and grid transfers {gas.by_kind['grid']:,} gas in all"
          )  # fmt: skip
    if seconds:
        print(f"seconds per interval (orders -> cleared -> settled): mean "
              f"{sum(seconds) / len(seconds):.2f}, max {max(seconds):.2f}")  # fmt: skip
    report = day.audit
    print(f"audit: {len(report.contracts)} delivery obligations recomputed from the readings, "
          f"{len(report.mismatches())} mismatches")  # fmt: skip
    for line in list(day.mismatches) + [str(m) for m in report.mismatches()]:
        print(f"MISMATCH {line}")
    verdict = "equal to the token unit" if day.matches else "NOT equal"
    print(f"per-household money on chain vs off-chain: {verdict}")
    print(f"wrote {out_dir}/market_ledger.csv")
    return 0 if day.matches else 1
