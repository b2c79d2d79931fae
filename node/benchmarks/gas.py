"""Exact gas figures of the contracts: per reading, per order, per order cleared and settled.

Deterministic (same code, same inputs, same gas), so they may also be asserted in tests.
Measured on the embedded chain in-process (node/ledger/embedded/engine.py): py-evm's Cancun
rules, the same gas as eth-tester or anvil give (the contract tests run on all three).
Workloads:
- readings: one participant, steady state (its meter has reported before), one-minute
  readings inside the 17:00-20:00 window of one import-cap contract; variants with every
  reading in violation and with no contract at all. gas per reading = receipt gasUsed / n,
  the 21,000 base cost included.
- orders: placeOrder for a buy (escrow transfer included) and a sell.
- clearing: n orders (half buys, half sells, one sell per participant, uniform random prices
  in the band), the witness submitted in chunks of at most CHUNK_ORDERS indices per
  transaction, then every order settled in batches of SETTLE_BATCH. Measured over two
  intervals with the same participants: the unsuffixed keys are the second (steady state:
  every account has been credited before), `_first_interval` the first (every credit writes a
  fresh storage slot, a once-per-account cost).
- release: after settlement, the clock jumps past the grace period (RELEASE_GRACE_S) and
  every filled sell's held proceeds are released in batches of SETTLE_BATCH (the unmetered
  path: no penalty call into ImportCap); gas per released order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gridledger.contracts.enums import BoundKind, Side
from gridledger.contracts.typed import MeterReading
from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.market.orders import Order
from gridledger.market.settlement import RELEASE_GRACE_S
from gridledger.market.witness import chunks, witness_for
from gridledger.node.accounting import ContractTerms
from gridledger.node.ledger.embedded.engine import EmbeddedEngine
from gridledger.node.ledger.stack import DAY0_TS, Participant, Stack, build_stack

CHUNK_ORDERS = 250
SETTLE_BATCH = 250
READING_BATCHES = (1, 15, 60)
CLEARING_SIZES = (10, 100, 1000)

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class GasFigure:
    """One named figure [gas]."""

    key: str
    gas: float


def _quiet(_: str) -> None:
    return None


def _reading_figures(stack: Stack, progress: Progress) -> list[GasFigure]:
    figures: list[GasFigure] = []
    day = DAY0_TS - 86400
    with_contract, violating, bare = (
        stack.participants[0],
        stack.participants[1],
        stack.participants[2],
    )
    for p in (with_contract, violating):
        terms = ContractTerms(
            p.address,
            BoundKind.UPPER,
            0,
            0,
            stack.roles.operator,
            day,
            DAY0_TS,
            0,
            4000,
            TOKEN_UNITS,
            WAD // 2,
        )
        stack.transact(
            stack.import_cap.functions.createContract(
                terms.as_abi(), stack.consent(terms.as_abi())
            ),
            stack.roles.operator,
        )
    cases = (
        ("gas_per_reading", with_contract, 40),
        ("gas_per_reading_violating", violating, 150),
        ("gas_per_reading_no_contract", bare, 40),
    )
    for key, p, wh in cases:
        progress(f"readings: {key}")
        seq, ts = 1, day
        # Warm-up batch: the meter's and the contract's state slots exist afterwards.
        ts, seq = _submit(stack, p, ts, seq, 1, wh)
        for n in READING_BATCHES:
            before = seq
            ts, seq = _submit(stack, p, ts, seq, n, wh, key=key, figures=figures)
            assert seq == before + n
    return figures


def _submit(
    stack: Stack,
    p: Participant,
    ts: int,
    seq: int,
    n: int,
    wh: int,
    key: str | None = None,
    figures: list[GasFigure] | None = None,
) -> tuple[int, int]:
    batch = [MeterReading(p.meter, p.address, ts + 60 * k, 60, wh, 0, seq + k) for k in range(n)]
    receipt = stack.submit_readings(batch, [p.meter_key] * n)
    if key is not None and figures is not None:
        figures.append(GasFigure(f"{key}.batch_{n}", receipt["gasUsed"] / n))
    return ts + 60 * n, seq + n


def _order_rows(n: int, rng: random.Random) -> list[tuple[Side, int, int]]:
    rows = []
    for i in range(n):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        rows.append((side, rng.randint(100, 5_000), rng.randint(80_000, 300_000)))
    return rows


@dataclass(frozen=True, slots=True)
class _IntervalGas:
    order_gas: dict[Side, list[int]]
    clearing_gas: int
    max_tx_gas: int
    settlement_gas: int
    release_gas_per_order: float


def _open_interval(stack: Stack, n: int) -> int:
    """An interval whose gate stays open while n orders are placed (each transaction mines a
    block, and blocks advance the clock)."""
    m = stack.market.functions
    length, lead = int(m.intervalLengthS().call()), int(m.gateClosureLeadS().call())
    latest_placement_ts = stack.engine.now() + 2 * n + 60
    return (latest_placement_ts - DAY0_TS + lead) // length + 1


def _run_interval(
    stack: Stack, interval: int, n: int, rng: random.Random, progress: Progress
) -> _IntervalGas:
    sellers = len(stack.participants)
    orders: list[Order] = []
    ids: list[int] = []
    order_gas: dict[Side, list[int]] = {Side.BUY: [], Side.SELL: []}
    progress(f"clearing n={n}, interval {interval}: placing orders")
    for i, (side, qty, price) in enumerate(_order_rows(n, rng)):
        who = stack.participants[i // 2] if side == Side.SELL else stack.participants[i % sellers]
        receipt = stack.transact(
            stack.market.functions.placeOrder(interval, int(side), qty, price), who.address
        )
        order_gas[side].append(receipt["gasUsed"])
        orders.append(Order(i, who.address, side, qty, price))
        ids.append((interval << 32) | i)
    stack.at_time(stack.market.functions.gateClosureTs(interval).call())
    witness = witness_for(orders)
    progress(f"clearing n={n}, interval {interval}: witness in chunks of {CHUNK_ORDERS}")
    m = stack.market.functions
    op = stack.roles.operator
    clearing_gas = stack.transact(m.beginClearing(interval, witness.volume_wh), op)["gasUsed"]
    max_tx = clearing_gas
    for chunk in chunks(witness, CHUNK_ORDERS):
        call = m.submitWitness(interval, int(chunk.side), list(chunk.indices))
        gas = stack.transact(call, op)["gasUsed"]
        clearing_gas += gas
        max_tx = max(max_tx, gas)
    clearing_gas += stack.transact(m.finalizeClearing(interval), op)["gasUsed"]
    progress(f"clearing n={n}, interval {interval}: settling in batches of {SETTLE_BATCH}")
    settlement_gas = 0
    for i in range(0, len(ids), SETTLE_BATCH):
        receipt = stack.transact(m.settleOrders(ids[i : i + SETTLE_BATCH]), op)
        settlement_gas += receipt["gasUsed"]
        max_tx = max(max_tx, receipt["gasUsed"])
    filled = [i for i in ids if orders[i & 0xFFFFFFFF].side is Side.SELL and m.fillOf(i).call()]
    stack.at_time(int(m.intervalStartTs(interval + 1).call()) + RELEASE_GRACE_S)
    release_gas = 0
    for i in range(0, len(filled), SETTLE_BATCH):
        receipt = stack.transact(m.release(filled[i : i + SETTLE_BATCH]), op)
        release_gas += receipt["gasUsed"]
        max_tx = max(max_tx, receipt["gasUsed"])
    per_release = release_gas / len(filled) if filled else 0.0
    return _IntervalGas(order_gas, clearing_gas, max_tx, settlement_gas, per_release)


def _clearing_figures(n: int, progress: Progress) -> list[GasFigure]:
    """Two intervals with the same participants: the first credits every account for the
    first time (fresh storage slots), the second is the steady state of a running market."""
    with EmbeddedEngine() as engine:
        return _clearing_run(build_stack(engine, n_participants=max((n + 1) // 2, 2)), n, progress)


def _clearing_run(stack: Stack, n: int, progress: Progress) -> list[GasFigure]:
    stack.at_time(DAY0_TS)
    progress(f"clearing n={n}: funding {len(stack.participants)} participants")
    for p in stack.participants:
        stack.fund_tokens(p.address, 10**9 * TOKEN_UNITS)
    rng = random.Random(n)
    cold = _run_interval(stack, _open_interval(stack, n), n, rng, progress)
    steady = _run_interval(stack, _open_interval(stack, n), n, rng, progress)
    figures = []
    for suffix, run in (("", steady), ("_first_interval", cold)):
        figures += [
            GasFigure(f"clearing_gas_per_order{suffix}.n_{n}", run.clearing_gas / n),
            GasFigure(f"settlement_gas_per_order{suffix}.n_{n}", run.settlement_gas / n),
            GasFigure(f"release_gas_per_sell{suffix}.n_{n}", run.release_gas_per_order),
            GasFigure(
                f"clearing_and_settlement_gas_per_order{suffix}.n_{n}",
                (run.clearing_gas + run.settlement_gas) / n,
            ),
        ]
    figures.append(GasFigure(f"max_tx_gas.n_{n}", max(cold.max_tx_gas, steady.max_tx_gas)))
    if n == CLEARING_SIZES[0]:
        for side in Side:
            gas = steady.order_gas[side]
            figures.append(GasFigure(f"gas_per_order.{side.name.lower()}", sum(gas) / len(gas)))
    return figures


def measure(
    clearing_sizes: Sequence[int] = CLEARING_SIZES, progress: Progress = _quiet
) -> dict[str, float]:
    """All gas figures, keyed by name (e.g. `gas_per_reading.batch_60`)."""
    with EmbeddedEngine() as engine:
        stack = build_stack(engine, n_participants=3)
        stack.at_time(DAY0_TS)
        figures = _reading_figures(stack, progress)
    for n in clearing_sizes:
        figures += _clearing_figures(n, progress)
    return {f.key: round(f.gas, 1) for f in figures}
