"""Stateful: tokens and energy are conserved through orders, clearing, settlement, held
proceeds and their release, delivery shortfalls and penalty collection, in any order
hypothesis tries."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import MeterReading
from gridledger.market.witness import witness_for
from tests.contracts.harness import DAY0_TS, Stack, expect_revert
from tests.contracts.market_helpers import (
    INTERVAL_S,
    Placed,
    clear_on_chain,
    close_gate,
    fund_all,
    open_interval,
    place,
)


class MarketFlow(RuleBasedStateMachine):
    stack: Stack

    def __init__(self) -> None:
        super().__init__()
        # Every example starts from the same chain state.
        self.snapshot = self.stack.engine.snapshot()

    def teardown(self) -> None:
        self.stack.engine.revert(self.snapshot)

    @initialize()
    def setup(self) -> None:
        s = self.stack
        fund_all(s, 10_000_000_000)
        self.supply = s.token.functions.totalSupply().call()
        self.accounts = [p.address for p in s.participants] + [s.roles.treasury]
        self.interval = open_interval(s)
        self.orders: dict[int, list[Placed]] = {self.interval: []}
        self.cleared: list[int] = []
        self.unsettled: set[int] = set()
        self.deliveries: list[tuple[int, int, int]] = []  # (contract id, participant idx, interval)
        self.delivered: set[int] = set()
        self.held: dict[int, tuple[int, int]] = {}  # sell order id -> (participant idx, interval)
        self.released: set[int] = set()
        self.seq = [0] * len(s.participants)

    @rule(
        p=st.integers(0, 5),
        side=st.sampled_from(Side),
        qty=st.integers(1, 4000),
        price=st.integers(80_000, 300_000),
    )
    def place_order(self, p: int, side: Side, qty: int, price: int) -> None:
        who = self.stack.participants[p]
        book = self.orders[self.interval]
        if side == Side.SELL and any(
            o.participant == who and o.order.side == Side.SELL for o in book
        ):
            return
        placed = place(self.stack, who, self.interval, side, qty, price)
        book.append(placed)
        self.unsettled.add(placed.order_id)

    @rule()
    def clear_interval(self) -> None:
        s, n = self.stack, self.interval
        close_gate(s, n)
        clear_on_chain(s, n, witness_for([o.order for o in self.orders[n]]), chunk_size=2)
        self.cleared.append(n)
        # Energy: what buyers got equals what sellers gave equals the cleared volume. Fills are
        # fixed once cleared, so checking here covers every later step.
        volume = s.market.functions.resultOf(n).call()[2]
        fills = {side: 0 for side in Side}
        for o in self.orders[n]:
            fills[o.order.side] += s.market.functions.fillOf(o.order_id).call()
        assert fills[Side.BUY] == fills[Side.SELL] == volume
        self.interval = open_interval(s)
        self.orders[self.interval] = []

    @precondition(lambda self: bool(self.unsettled) and bool(self.cleared))
    @rule(data=st.data())
    def settle_some(self, data: st.DataObject) -> None:
        s = self.stack
        candidates = sorted(
            o.order_id for n in self.cleared for o in self.orders[n] if o.order_id in self.unsettled
        )
        if not candidates:
            return
        chosen = data.draw(
            st.lists(st.sampled_from(candidates), min_size=1, max_size=4, unique=True)
        )
        receipt = s.transact(s.market.functions.settleOrders(chosen), s.roles.operator)
        self.unsettled.difference_update(chosen)
        for event in s.events(s.market, "OrderSettled", receipt):
            if event["args"]["side"] == int(Side.SELL) and event["args"]["filledWh"]:
                idx = next(
                    i for i, p in enumerate(s.participants) if p.address == event["args"]["owner"]
                )
                n = event["args"]["orderId"] >> 32
                did = s.import_cap.functions.deliveryId(s.participants[idx].address, n).call()
                self.deliveries.append((did, idx, n))
                self.held[event["args"]["orderId"]] = (idx, n)

    @precondition(lambda self: len(self.deliveries) > len(self.delivered))
    @rule(fraction=st.sampled_from([0, 0.5, 1.0, 1.2]))
    def deliver(self, fraction: float) -> None:
        s = self.stack
        cid, idx, n = next(d for d in self.deliveries if d[0] not in self.delivered)
        p = s.participants[idx]
        start = DAY0_TS + n * INTERVAL_S
        if s.engine.now() < start + INTERVAL_S:
            s.at_time(start + INTERVAL_S)
        required_w = -s.import_cap.functions.contractTerms(cid).call()[8]
        self.seq[idx] += 1
        export_wh = int(required_w * fraction * INTERVAL_S / 3600)
        reading = MeterReading(p.meter, p.address, start, INTERVAL_S, 0, export_wh, self.seq[idx])
        s.submit_readings([reading], [p.meter_key])
        self.delivered.add(cid)

    @rule()
    def collect_penalties(self) -> None:
        s = self.stack
        for cid in sorted(self.delivered):
            _, _, _, penalty, _ = s.import_cap.functions.contractStatus(cid).call()
            if penalty > s.import_cap.functions.penaltyPaidUnits(cid).call():
                s.transact(s.import_cap.functions.collectPenalty(cid), s.roles.treasury)

    @precondition(lambda self: len(self.held) > len(self.released))
    @rule(data=st.data())
    def release_one(self, data: st.DataObject) -> None:
        s = self.stack
        m = s.market.functions
        order = data.draw(st.sampled_from(sorted(set(self.held) - self.released)))
        idx, n = self.held[order]
        who = s.participants[idx].address
        end = DAY0_TS + (n + 1) * INTERVAL_S
        last_end = s.import_cap.functions.lastReadingEndOf(who).call()
        if last_end < end:
            # Never before the readings reach the interval's end (the grace is a day away).
            with expect_revert("MarketDeliveryNotMetered", order, last_end, end, end + 86_400):
                s.transact(m.release([order]), s.roles.operator)
            return
        s.transact(m.release([order]), s.roles.operator)
        self.released.add(order)
        with expect_revert("MarketProceedsAlreadyReleased", order):
            s.transact(m.release([order]), s.roles.operator)

    def _has_unsettled(self, n: int) -> bool:
        # Once an interval is fully settled the contract pays its pool to the treasury, so it is
        # counted in `owed`; only intervals still settling hold a pool.
        return any(o.order_id in self.unsettled for o in self.orders[n])

    @rule(p=st.integers(0, 6))
    def withdraw(self, p: int) -> None:
        s = self.stack
        who = self.accounts[p]
        if s.market.functions.claimableOf(who).call():
            s.transact(s.market.functions.withdraw(), who)

    @invariant()
    def tokens_are_conserved(self) -> None:
        if not hasattr(self, "supply"):
            return
        s = self.stack
        t = s.token.functions
        market = s.deployment.addresses["Market"]
        assert t.totalSupply().call() == self.supply
        held = sum(t.balanceOf(a).call() for a in self.accounts) + t.balanceOf(market).call()
        assert held == self.supply, "tokens left the known accounts"
        # The market holds exactly what it owes: credits, unsettled escrow, pools in flight.
        m = s.market.functions
        owed = sum(m.claimableOf(a).call() for a in self.accounts)
        pools = sum(m.bookOf(n).call()[3] for n in self.cleared if self._has_unsettled(n))
        escrow = sum(
            o.order.escrow_units
            for book in self.orders.values()
            for o in book
            if o.order_id in self.unsettled
        )
        held = sum(m.heldOf(o).call() for o in self.held if o not in self.released)
        assert t.balanceOf(market).call() == owed + escrow + pools + held


@pytest.mark.distinct_evms
def test_market_flow_conserves_tokens_and_energy(stack: Stack) -> None:
    MarketFlow.stack = stack
    run_state_machine_as_test(
        MarketFlow,
        settings=settings(
            max_examples=5,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
