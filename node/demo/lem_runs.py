"""The two runs of a local energy market on a ledger (node/demo/lem_chain.py does the work):

- `settle_day`: a day of a community's positions (`gridledger sim run lem27 --ledger ...`),
  every interval through Market.sol and the grid's part in tokens, each household's money read
  back and compared with the off-chain settlement to the token unit, the delivery obligations
  audited (node/audit/);
- `clearing_rows`: the extra rows of the LEM-CDT study's Table 4 (`gridledger reproduce lem-cdt
  --ledger ...`): one interval of N random households per row, its gas per order (placing,
  clearing, settlement, as measured) and its seconds from the first order to the last
  settlement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gridledger.market.clearing import UniformPriceAuction
from gridledger.market.community import Feeder, Position, Tariffs, clear_community
from gridledger.node.audit.chain import open_reader
from gridledger.node.audit.locate import Located
from gridledger.node.audit.replay import AuditReport, audit
from gridledger.node.demo.lem_chain import (
    OPEN_WINDOW_S,
    ChainMoney,
    GasTally,
    IntervalOnChain,
    LedgerMarket,
    Progress,
)
from gridledger.node.demo.lem_ledgers import LemLedger, open_ledger
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.deploy import MarketTiming

GATE_CLOSURE_LEAD_S = 1_800
"""Orders close 30 min before their interval; the operator clears in between."""
SETUP_LEAD_S = 6 * 3_600
"""The chain starts this long before the first interval: time to admit and fund everyone."""
DAY_S = 86_400


def money_mismatches(
    chain: dict[str, ChainMoney], reference: dict[str, tuple[int, int]]
) -> list[str]:
    """Every difference between the chain's money and the off-chain (paid, received) [units],
    and every household whose balance change or withdrawals disagree with its own events."""
    out = []
    for name, (paid, received) in sorted(reference.items()):
        m = chain.get(name, ChainMoney())
        if (m.paid_units, m.received_units) != (paid, received):
            out.append(f"{name}: chain paid/received {m.paid_units}/{m.received_units} units, "
                       f"off-chain {paid}/{received}")  # fmt: skip
        net_units = m.received_units - m.paid_units - m.delivery_penalty_units
        if m.balance_change_units != net_units:
            out.append(f"{name}: balance changed by {m.balance_change_units} units, its events "
                       f"say {net_units}")  # fmt: skip
        credits = m.buy_credit_units + m.sell_credit_units - m.delivery_penalty_units
        if m.withdrawn_units != credits:
            out.append(f"{name}: withdrew {m.withdrawn_units} units of {credits} credited")
    return out


def reference_money(
    intervals: Sequence[Sequence[Position]], tariffs: Tariffs, feeder: Feeder | None
) -> tuple[dict[str, tuple[int, int]], list[int]]:
    """Off-chain (paid, received) per household [units] over `intervals` by the uniform
    auction, and each interval's price [units/kWh] (0 if nothing traded)."""
    money: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    prices = []
    for positions in intervals:
        ci = clear_community(positions, UniformPriceAuction(), tariffs, feeder)
        prices.append(ci.price_per_kwh)
        for h in ci.households:
            money[h.owner][0] += h.paid_units
            money[h.owner][1] += h.received_units
    return {k: (v[0], v[1]) for k, v in money.items()}, prices


@dataclass(frozen=True, slots=True)
class LedgerDay:
    """A day settled on a ledger and read back (see the module docstring)."""

    ledger: str
    intervals: tuple[IntervalOnChain, ...]
    money: dict[str, ChainMoney]
    reference: dict[str, tuple[int, int]]
    mismatches: tuple[str, ...]
    gas: GasTally
    filled_sells: int
    audit: AuditReport

    @property
    def matches(self) -> bool:
        """Money equal to the token unit, prices equal, and the audit clean."""
        return not self.mismatches and not self.audit.mismatches()


def _timing(genesis_ts: int, interval_s: int) -> MarketTiming:
    # A testnet's market epoch is its genesis day's midnight (node/testnet.py): the same here.
    return MarketTiming(genesis_ts - genesis_ts % DAY_S, interval_s, GATE_CLOSURE_LEAD_S)


def _audit(ledger: LemLedger) -> AuditReport:
    a = ledger.deployment.addresses
    located = Located(a["ImportCap"], a["Metering"], a["Trust"], f"the {ledger.name} run")
    return audit(open_reader(ledger.w3, located, None))


def settle_day(
    kind: str,
    intervals: Sequence[Sequence[Position]],
    tariffs: Tariffs,
    feeder: Feeder | None,
    start_ts: int,
    interval_s: int,
    progress: Progress,
    data_dir: Path | None = None,
    keep: bool = False,
) -> LedgerDay:
    """Settle `intervals` (each a list of positions, the first starting at `start_ts` [unix s],
    `interval_s` [s] apart) on a fresh ledger `kind` (lem_ledgers.LEDGERS)."""
    if not intervals:
        raise LedgerError("no interval to settle")
    genesis_ts = start_ts - SETUP_LEAD_S
    timing = _timing(genesis_ts, interval_s)
    ledger = open_ledger(kind, genesis_ts, timing, progress, data_dir, keep)
    try:
        lm = LedgerMarket(ledger, tariffs, progress)
        first = lm.clock.interval_at(start_ts)
        if lm.clock.start_ts(first) != start_ts or lm.clock.interval_length_s != interval_s:
            raise LedgerError(
                f"the ledger's market intervals ({lm.clock.interval_length_s} s from "
                f"{lm.clock.epoch_start_ts}) do not fit the run's ({interval_s} s from {start_ts})"
            )
        names = [p.owner for p in intervals[0]]
        lm.join(names, lm.clock.gate_closure_ts(first) - OPEN_WINDOW_S - 1)
        for h, positions in enumerate(intervals):
            row = lm.settle_interval(first + h, positions, feeder)
            progress(f"interval {h + 1}/{len(intervals)}: {row.orders} orders, "
                     f"{row.volume_wh} Wh at {row.price_per_kwh} units/kWh")  # fmt: skip
        lm.finish(lm.clock.start_ts(first + len(intervals)) + ledger.block_step_s)
        reference, prices = reference_money(intervals, tariffs, feeder)
        mismatches = money_mismatches(lm.money, reference)
        for h, (row, price) in enumerate(zip(lm.intervals, prices, strict=True)):
            if row.price_per_kwh != price:
                mismatches.append(
                    f"interval {h}: chain price {row.price_per_kwh}, off-chain {price}"
                )
        progress("auditing the delivery obligations from the readings on chain")
        report = _audit(ledger)
        return LedgerDay(
            ledger.name, tuple(lm.intervals), dict(lm.money), reference, tuple(mismatches),
            lm.gas, lm.filled_sells, report,
        )  # fmt: skip
    finally:
        ledger.close()


@dataclass(frozen=True, slots=True)
class ClearingRow:
    """One row of Table 4's on-chain part: N households in one interval."""

    n: int
    orders: int
    place_gas_per_order: float
    clear_gas_per_order: float
    settle_gas_per_order: float
    interval_s: float
    price_matches: bool

    @property
    def gas_per_order(self) -> float:
        return self.place_gas_per_order + self.clear_gas_per_order + self.settle_gas_per_order


def clearing_rows(
    kind: str,
    books: Mapping[int, Sequence[Position]],
    tariffs: Tariffs,
    progress: Progress,
    data_dir: Path | None = None,
) -> list[ClearingRow]:
    """Clear and settle each book (N -> positions) on one ledger `kind`, one interval each."""
    now_ts = 1_800_000_000
    genesis_ts = now_ts - now_ts % DAY_S
    ledger = open_ledger(kind, genesis_ts, _timing(genesis_ts, 3_600), progress, data_dir)
    try:
        lm = LedgerMarket(ledger, tariffs, progress)
        rows = []
        for n, book in books.items():
            progress(f"N = {n}: admitting the households")
            lm.join([p.owner for p in book], ledger.now_ts() + 30 * DAY_S)
            interval = lm.clock.interval_at(ledger.now_ts() + OPEN_WINDOW_S) + 2
            before = dict(lm.gas.by_kind)
            row = lm.settle_interval(interval, book, grid=False, readings=False)
            used = {k: lm.gas.by_kind[k] - before.get(k, 0) for k in ("place", "clear", "settle")}
            orders = max(row.orders, 1)
            price = clear_community(book, UniformPriceAuction(), tariffs).price_per_kwh
            rows.append(
                ClearingRow(
                    n, row.orders, used["place"] / orders, used["clear"] / orders,
                    used["settle"] / orders, row.market_s, price == row.price_per_kwh,
                )
            )  # fmt: skip
            progress(f"N = {n}: {row.orders} orders, {rows[-1].gas_per_order:,.0f} gas per "
                     f"order, {row.market_s:.2f} s")  # fmt: skip
        return rows
    finally:
        ledger.close()
