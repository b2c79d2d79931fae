"""Market: orders, verifiable clearing against the Python reference, settlement, delivery."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.contracts.enums import BoundKind, Side
from gridledger.contracts.typed import MeterReading
from gridledger.market.settlement import RELEASE_GRACE_S, release, settle
from gridledger.market.witness import Witness, witness_for
from gridledger.node.accounting import (
    Accumulators,
    ContractTerms,
    delivery_penalty_due_units,
)
from gridledger.node.ledger.deploy import ROLE_OPERATOR, ROLE_PROSUMER
from tests.contracts.harness import DAY0_TS, Stack, expect_revert
from tests.contracts.market_helpers import (
    INTERVAL_S,
    Placed,
    clear_on_chain,
    close_gate,
    fund_all,
    open_interval,
    order_id,
    place,
    reference,
)
from tests.contracts.test_import_cap import PAST, create, terms_for

OPEN, GATE_CLOSED, CLEARING, CLEARED = 0, 1, 2, 3
FLOOR, CEILING = 80_000, 300_000


@pytest.fixture
def funded(stack: Stack) -> Stack:
    fund_all(stack)
    return stack


def test_place_order_escrows_and_reports(funded: Stack) -> None:
    s = funded
    p = s.participants[0]
    n = open_interval(s)
    before = s.token.functions.balanceOf(p.address).call()
    placed = place(s, p, n, Side.BUY, 1_500, 210_001)
    assert placed.order_id == order_id(n, 0)
    escrow = -(-1_500 * 210_001 // 1000)
    assert s.token.functions.balanceOf(p.address).call() == before - escrow
    assert s.market.functions.escrowFor(1_500, 210_001).call() == escrow
    assert list(s.market.functions.orderOf(placed.order_id).call()) == [
        p.address,
        0,
        1_500,
        210_001,
    ]
    assert s.market.functions.phaseOf(n).call() == OPEN


def test_order_rules(funded: Stack) -> None:
    s = funded
    p, q = s.participants[0], s.participants[1]
    n = open_interval(s)
    m = s.market.functions
    with expect_revert("MarketZeroQuantity"):
        s.transact(m.placeOrder(n, 0, 0, 100_000), p.address)
    with expect_revert("MarketPriceOutsideBand", FLOOR - 1, FLOOR, CEILING):
        s.transact(m.placeOrder(n, 0, 10, FLOOR - 1), p.address)
    with expect_revert("MarketPriceOutsideBand", CEILING + 1, FLOOR, CEILING):
        s.transact(m.placeOrder(n, 1, 10, CEILING + 1), p.address)
    first = place(s, q, n, Side.SELL, 100, 90_000)
    with expect_revert("MarketDuplicateSell", n, q.address, first.order_id):
        place(s, q, n, Side.SELL, 50, 95_000)
    outsider = s.roles.treasury
    with expect_revert("AccessControlUnauthorizedAccount", outsider, ROLE_PROSUMER):
        s.transact(m.placeOrder(n, 0, 10, 100_000), outsider)


def test_orders_after_gate_closure_are_refused(funded: Stack) -> None:
    s = funded
    n = open_interval(s)
    close_gate(s, n)
    assert s.market.functions.phaseOf(n).call() == GATE_CLOSED
    with expect_revert("MarketUnexpectedPhase", n, GATE_CLOSED):
        place(s, s.participants[0], n, Side.BUY, 10, 100_000)


def test_low_trust_cannot_trade(funded: Stack) -> None:
    s = funded
    p = s.participants[0]
    create(s, terms_for(s, p, window=(0, 0), beta_wad_per_kwh=10**18))
    s.submit_readings([MeterReading(p.meter, p.address, PAST, 3600, 5000, 0, 1)], [p.meter_key])
    trust = s.trust.functions.trustOf(p.address).call()  # exp(-1)
    s.transact(s.regulation.functions.setMinTrust(5 * 10**17), s.roles.regulator)
    with expect_revert("MarketTrustTooLow", p.address, trust, 5 * 10**17):
        place(s, p, open_interval(s), Side.BUY, 10, 100_000)


# ---------------------------------------------------------------- clearing vs reference


@st.composite
def books(draw: st.DrawFn) -> list[tuple[int, Side, int, int]]:
    """(participant, side, quantity, price) rows; at most one sell per participant."""
    n_sells = draw(st.integers(0, 6))
    sellers = draw(st.permutations(range(6)))[:n_sells]
    rows = [
        (p, Side.SELL, draw(st.integers(1, 5_000)), draw(st.integers(FLOOR, CEILING)))
        for p in sellers
    ]
    for _ in range(draw(st.integers(0, 8))):
        rows.append(
            (
                draw(st.integers(0, 5)),
                Side.BUY,
                draw(st.integers(1, 5_000)),
                draw(st.integers(FLOOR, CEILING)),
            )
        )
    # Ties on price are frequent on purpose: ranking breaks them by index.
    if rows and draw(st.booleans()):
        tie = draw(st.integers(FLOOR, CEILING))
        rows = [(p, side, q, tie if draw(st.booleans()) else price) for p, side, q, price in rows]
    return draw(st.permutations(rows))


@pytest.mark.distinct_evms
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=books(), chunk=st.sampled_from([None, 1, 3]))
def test_clearing_and_settlement_match_the_reference(
    funded: Stack, rows: list[tuple[int, Side, int, int]], chunk: int | None
) -> None:
    s = funded
    snapshot = s.engine.snapshot()
    try:
        n = open_interval(s)
        placed = [place(s, s.participants[p], n, side, q, price) for p, side, q, price in rows]
        close_gate(s, n)
        ref = reference(s, placed)
        witness = witness_for([p.order for p in placed])
        receipt = clear_on_chain(s, n, witness, chunk)
        (event,) = s.events(s.market, "IntervalCleared", receipt)
        assert (event["args"]["priceUnitsPerKwh"], event["args"]["volumeWh"]) == (
            ref.price_per_kwh,
            ref.volume_wh,
        )
        result = tuple(s.market.functions.resultOf(n).call())
        assert result[:10] == ref.as_onchain_result()
        # Delivery terms are fixed when the interval clears.
        r = s.regulation.functions
        assert result[10:] == (r.deliveryPenaltyPerKwh().call(), r.deliveryBetaWadPerKwh().call())
        for pl in placed:
            assert s.market.functions.fillOf(pl.order_id).call() == ref.fills[pl.order.index]

        token_before = s.token.functions.balanceOf(s.deployment.addresses["Market"]).call()
        ref_settlement = settle([p.order for p in placed], ref)
        if placed:
            r = s.transact(
                s.market.functions.settleOrders([pl.order_id for pl in placed]), s.roles.operator
            )
            settled = s.events(s.market, "OrderSettled", r)
            assert [(e["args"]["filledWh"], e["args"]["creditedUnits"]) for e in settled] == [
                (o.fill_wh, o.credit_units) for o in ref_settlement.orders
            ]
            held = s.events(s.market, "ProceedsHeld", r)
            assert [(e["args"]["orderId"] & 0xFFFFFFFF, e["args"]["heldUnits"]) for e in held] == [
                (o.index, o.held_units)
                for o in ref_settlement.orders
                if o.side == Side.SELL and o.fill_wh
            ]
        for pl in placed:
            if pl.order.side == Side.SELL and ref.fills[pl.order.index]:
                did = s.import_cap.functions.deliveryId(pl.participant.address, n).call()
                terms = s.import_cap.functions.contractTerms(did).call()
                assert terms[0] == pl.participant.address
                assert terms[8] == -(ref.fills[pl.order.index] * 3600 // INTERVAL_S)
        claim = s.market.functions.claimableOf
        assert claim(s.roles.treasury).call() == ref_settlement.treasury_units
        for pl in placed:
            assert s.market.functions.heldOf(pl.order_id).call() == (
                ref_settlement.orders[pl.order.index].held_units
            )
        # Money: every unit held by the market is someone's claim or a seller's held proceeds
        # once all orders settle.
        credited = sum(claim(p.address).call() for p in s.participants)
        held_units = ref_settlement.held_total_units
        assert credited + held_units + ref_settlement.treasury_units == token_before
    finally:
        s.engine.revert(snapshot)


def _three_by_three(s: Stack) -> tuple[int, list[Placed]]:
    n = open_interval(s)
    p = s.participants
    placed = [
        place(s, p[0], n, Side.BUY, 1_000, 250_000),
        place(s, p[1], n, Side.BUY, 2_000, 200_000),
        place(s, p[2], n, Side.BUY, 1_000, 100_000),
        place(s, p[3], n, Side.SELL, 1_500, 90_000),
        place(s, p[4], n, Side.SELL, 1_000, 150_000),
        place(s, p[5], n, Side.SELL, 2_000, 220_000),
    ]
    close_gate(s, n)
    return n, placed


def test_wrong_witnesses_are_refused(funded: Stack) -> None:
    s = funded
    n, placed = _three_by_three(s)
    good = witness_for([p.order for p in placed])
    assert good.buy_ranking == (0, 1, 2) and good.sell_ranking == (3, 4, 5)
    assert good.volume_wh == 2_500
    m = s.market.functions
    op = s.roles.operator

    def attempt(w: Witness) -> None:
        clear_on_chain(s, n, w)

    with expect_revert("MarketWitnessNotSorted", n, 1, 0):
        attempt(Witness((1, 0, 2), good.sell_ranking, good.volume_wh))
    with expect_revert("MarketWitnessDuplicate", n, 0):
        attempt(Witness((0, 0, 1, 2), good.sell_ranking, good.volume_wh))
    with expect_revert("MarketWitnessWrongSide", n, 3, 0):
        attempt(Witness((0, 1, 3), good.sell_ranking, good.volume_wh))
    with expect_revert("MarketWitnessIndexOutOfRange", n, 9, 6):
        attempt(Witness((0, 1, 9), good.sell_ranking, good.volume_wh))
    with expect_revert("MarketWitnessIncomplete", n, 2, 3, 3, 3):
        attempt(Witness((0, 1), good.sell_ranking, good.volume_wh))
    with expect_revert("MarketVolumeNotMaximal", n, 2_499, 200_000, 150_000):
        attempt(Witness(good.buy_ranking, good.sell_ranking, 2_499))
    with expect_revert("MarketWitnessNotCrossing", n, 3_000, 200_000, 220_000):
        attempt(Witness(good.buy_ranking, good.sell_ranking, 3_000))
    with expect_revert("MarketVolumeInfeasible", n, 10_000, 4_000, 4_500):
        attempt(Witness(good.buy_ranking, good.sell_ranking, 10_000))
    # After all that, the honest witness clears, and the interval cannot be cleared twice.
    clear_on_chain(s, n, good)
    assert s.market.functions.phaseOf(n).call() == CLEARED
    with expect_revert("MarketUnexpectedPhase", n, CLEARED):
        clear_on_chain(s, n, good)
    with expect_revert("MarketUnexpectedPhase", n, CLEARED):
        s.transact(m.beginClearing(n, 0), op)


def test_a_stranger_cannot_start_delay_or_void_an_interval(funded: Stack) -> None:
    s = funded
    n = open_interval(s)
    m = s.market.functions
    op, stranger = s.roles.operator, s.participants[1].address
    with expect_revert("MarketUnexpectedPhase", n, OPEN):
        s.transact(m.beginClearing(n, 0), op)
    close_gate(s, n)
    # Only the operator clears: a stranger can neither start a clearing (and let it go stale)
    # nor clear in one call.
    with expect_revert("AccessControlUnauthorizedAccount", stranger, ROLE_OPERATOR):
        s.transact(m.beginClearing(n, 0), stranger)
    with expect_revert("AccessControlUnauthorizedAccount", stranger, ROLE_OPERATOR):
        s.transact(m.clear(n, 0, [], []), stranger)
    s.transact(m.beginClearing(n, 0), op)
    assert s.market.functions.phaseOf(n).call() == CLEARING
    with expect_revert("MarketNotClearer", n, stranger, op):
        s.transact(m.finalizeClearing(n), stranger)
    with expect_revert("MarketClearingNotStale"):
        s.transact(m.abortClearing(n), stranger)
    with expect_revert("MarketDeliveryNotStarted", n, DAY0_TS + n * INTERVAL_S):
        s.transact(m.voidInterval(n), stranger)
    s.transact(m.abortClearing(n), op)  # the operator may always abort
    assert s.market.functions.phaseOf(n).call() == GATE_CLOSED
    s.transact(m.clear(n, 0, [], []), op)
    assert s.market.functions.resultOf(n).call()[0] is True


def test_orders_of_the_last_interval_index_are_not_settled_before_clearing(
    funded: Stack,
) -> None:
    # Interval 2^64 - 1 once stood for "no interval loaded yet" in settleOrders, so its orders
    # skipped the cleared check and a buyer got its escrow back while its order stayed live.
    s = funded
    last = 2**64 - 1
    buyer = s.participants[0]
    placed = place(s, buyer, last, Side.BUY, 1_000, FLOOR)
    with expect_revert("MarketUnexpectedPhase", last, OPEN):
        s.transact(s.market.functions.settleOrders([placed.order_id]), buyer.address)
    assert s.market.functions.claimableOf(buyer.address).call() == 0


def test_settlement_rules_and_withdrawal(funded: Stack) -> None:
    s = funded
    n, placed = _three_by_three(s)
    m = s.market.functions
    first = placed[0].order_id
    with expect_revert("MarketUnexpectedPhase", n, GATE_CLOSED):
        s.transact(m.settleOrders([first]), s.roles.operator)
    clear_on_chain(s, n, witness_for([p.order for p in placed]))
    with expect_revert("MarketBatchSize", 0, 512):
        s.transact(m.settleOrders([]), s.roles.operator)
    s.transact(m.settleOrders([first]), s.roles.operator)
    assert m.isSettled(first).call()
    with expect_revert("MarketOrderAlreadySettled", first):
        s.transact(m.settleOrders([placed[1].order_id, first]), s.roles.operator)
    assert not m.isSettled(placed[1].order_id).call(), "the rejected batch changed nothing"
    with expect_revert("MarketUnknownOrder", order_id(n, 6)):
        s.transact(m.settleOrders([order_id(n, 6)]), s.roles.operator)
    buyer = placed[0].participant.address
    owed = m.claimableOf(buyer).call()
    before = s.token.functions.balanceOf(buyer).call()
    s.transact(m.withdraw(), buyer)
    assert s.token.functions.balanceOf(buyer).call() == before + owed
    with expect_revert("MarketNothingToWithdraw", buyer):
        s.transact(m.withdraw(), buyer)


def test_a_shortfall_in_delivery_is_a_violation_with_penalty_and_trust(funded: Stack) -> None:
    s = funded
    n, placed = _three_by_three(s)
    clear_on_chain(s, n, witness_for([p.order for p in placed]))
    seller = placed[3]  # sells 1500 Wh at 90_000: fully filled
    p = seller.participant
    did = s.import_cap.functions.deliveryId(p.address, n).call()
    assert did >> 255 == 1
    required_w = 1_500 * 3600 // INTERVAL_S  # 6000 W of export for 15 minutes
    start = DAY0_TS + n * INTERVAL_S
    terms = s.import_cap.functions.contractTerms(did).call()
    assert list(terms[5:9]) == [start, start + INTERVAL_S, 0, -required_w]
    assert terms[4] == s.roles.treasury
    s.at_time(start + INTERVAL_S + 60)
    # Exports 4 kW instead of 6 kW for the whole interval: 2 kW * 900 s = 500 Wh short.
    readings = [
        MeterReading(p.meter, p.address, start + 60 * k, 60, 0, 4000 * 60 // 3600, k + 1)
        for k in range(15)
    ]
    receipt = s.submit_readings(readings, [p.meter_key] * 15)
    events = [
        e
        for e in s.events(s.import_cap, "ViolationRecorded", receipt)
        if e["args"]["contractId"] == did
    ]
    assert len(events) == 15
    violation_wh, total_wh, _, penalty, trust = s.import_cap.functions.contractStatus(did).call()
    shortfall_j = sum((required_w * 60 - r.export_wh * 3600) for r in readings)
    assert violation_wh == shortfall_j // 3600
    assert total_wh == sum(r.export_wh for r in readings)
    lam = s.regulation.functions.deliveryPenaltyPerKwh().call()
    assert penalty == lam * shortfall_j // 3_600_000
    assert trust < 10**18
    assert s.trust.functions.trustOf(p.address).call() == trust
    # The treasury pulls the penalty like any import-cap penalty.
    s.transact(s.import_cap.functions.collectPenalty(did), s.roles.treasury)
    assert s.import_cap.functions.penaltyPaidUnits(did).call() == penalty


def test_unfilled_and_buy_orders_owe_no_delivery(funded: Stack) -> None:
    s = funded
    n, placed = _three_by_three(s)
    clear_on_chain(s, n, witness_for([p.order for p in placed]))
    unfilled = placed[5].participant  # sells at 220_000: above the crossing
    start = DAY0_TS + n * INTERVAL_S
    s.at_time(start + INTERVAL_S + 60)
    s.submit_readings(
        [MeterReading(unfilled.meter, unfilled.address, start, INTERVAL_S, 500, 0, 1)],
        [unfilled.meter_key],
    )
    did = s.import_cap.functions.deliveryId(unfilled.address, n).call()
    assert s.import_cap.functions.contractStatus(did).call()[0] == 0
    buyer = placed[0].participant.address
    with expect_revert("ImportCapUnknownContract"):
        s.call(
            s.import_cap.functions.contractTerms(s.import_cap.functions.deliveryId(buyer, n).call())
        )


def test_clearing_after_delivery_started_is_refused_and_the_interval_voided(
    funded: Stack,
) -> None:
    s = funded
    n, placed = _three_by_three(s)
    m = s.market.functions
    start = DAY0_TS + n * INTERVAL_S
    with expect_revert("MarketDeliveryNotStarted", n, start):
        s.transact(m.voidInterval(n), s.roles.operator)
    s.at_time(start)
    with expect_revert("MarketDeliveryStarted", n, start):
        clear_on_chain(s, n, witness_for([p.order for p in placed]))
    receipt = s.transact(m.voidInterval(n), s.participants[0].address)
    assert s.events(s.market, "IntervalVoided", receipt)
    assert m.phaseOf(n).call() == CLEARED
    escrows = {p.participant.address: 0 for p in placed}
    for p in placed:
        escrows[p.participant.address] += p.order.escrow_units
    s.transact(m.settleOrders([p.order_id for p in placed]), s.roles.operator)
    for address, escrow in escrows.items():
        assert m.claimableOf(address).call() == escrow


def test_proceeds_are_held_until_delivery_is_metered_and_released_once(funded: Stack) -> None:
    s = funded
    n, placed = _three_by_three(s)
    m = s.market.functions
    clear_on_chain(s, n, witness_for([p.order for p in placed]))
    sell, unfilled, buy = placed[3], placed[5], placed[0]
    seller = sell.participant
    with expect_revert("MarketOrderNotSettled", sell.order_id):
        s.transact(m.release([sell.order_id]), seller.address)
    receipt = s.transact(m.settleOrders([p.order_id for p in placed]), s.roles.operator)
    ref = settle([p.order for p in placed], reference(s, placed))
    held = ref.orders[sell.order.index].held_units
    assert held > 0
    (event,) = [
        e
        for e in s.events(s.market, "ProceedsHeld", receipt)
        if e["args"]["orderId"] == sell.order_id
    ]
    assert (event["args"]["seller"], event["args"]["heldUnits"]) == (seller.address, held)
    # Settlement credits the seller nothing: its proceeds are held.
    assert m.claimableOf(seller.address).call() == 0
    assert m.heldOf(sell.order_id).call() == held
    with expect_revert("MarketNoProceedsHeld", buy.order_id):
        s.transact(m.release([buy.order_id]), seller.address)
    with expect_revert("MarketNoProceedsHeld", unfilled.order_id):
        s.transact(m.release([unfilled.order_id]), seller.address)
    start = DAY0_TS + n * INTERVAL_S
    end = start + INTERVAL_S
    grace_end = end + RELEASE_GRACE_S
    s.at_time(end + 60)
    with expect_revert("MarketDeliveryNotMetered", sell.order_id, 0, end, grace_end):
        s.transact(m.release([sell.order_id]), s.participants[1].address)
    # 14 of the interval's 15 minutes metered, exporting 4 kW of the 6 kW sold: not yet.
    required_w = 1_500 * 3600 // INTERVAL_S
    readings = [
        MeterReading(seller.meter, seller.address, start + 60 * k, 60, 0, 4000 * 60 // 3600, k + 1)
        for k in range(15)
    ]
    s.submit_readings(readings[:14], [seller.meter_key] * 14)
    with expect_revert("MarketDeliveryNotMetered", sell.order_id, end - 60, end, grace_end):
        s.transact(m.release([sell.order_id]), s.participants[1].address)
    s.submit_readings(readings[14:], [seller.meter_key])
    did = s.import_cap.functions.deliveryId(seller.address, n).call()
    terms = s.import_cap.functions.contractTerms(did).call()
    assert terms[8] == -required_w
    violation_j, total_j = s.import_cap.functions.accumulatorsJ(did).call()
    lam = s.regulation.functions.deliveryPenaltyPerKwh().call()
    ref_terms = _terms_of(terms)
    due = delivery_penalty_due_units(ref_terms, Accumulators(violation_j, total_j), 0)
    assert due == lam * violation_j // 3_600_000 > 0
    expected = release(held, due, last_reading_end_ts=end, interval_end_ts=end, now_ts=end + 60)
    treasury_before = m.claimableOf(s.roles.treasury).call()
    # Anyone may release; the batch may repeat an order only once.
    with expect_revert("MarketProceedsAlreadyReleased", sell.order_id):
        s.transact(m.release([sell.order_id, sell.order_id]), s.participants[1].address)
    receipt = s.transact(m.release([sell.order_id]), s.participants[1].address)
    (event,) = s.events(s.market, "ProceedsReleased", receipt)
    assert dict(event["args"]) == {
        "orderId": sell.order_id,
        "seller": seller.address,
        "sellerUnits": expected.seller_units,
        "treasuryUnits": expected.treasury_units,
        "metered": True,
    }
    assert m.claimableOf(seller.address).call() == expected.seller_units
    assert m.claimableOf(s.roles.treasury).call() == treasury_before + expected.treasury_units
    assert m.heldOf(sell.order_id).call() == 0 and m.isReleased(sell.order_id).call()
    # The penalty paid from the held proceeds is recorded: collectPenalty finds nothing due.
    assert s.import_cap.functions.penaltyPaidUnits(did).call() == expected.treasury_units
    if expected.treasury_units == due:
        with expect_revert("ImportCapNothingDue", did):
            s.transact(s.import_cap.functions.collectPenalty(did), s.roles.treasury)
    with expect_revert("MarketProceedsAlreadyReleased", sell.order_id):
        s.transact(m.release([sell.order_id]), seller.address)


def test_unmetered_proceeds_go_to_the_treasury_after_the_grace_period(funded: Stack) -> None:
    s = funded
    n, placed = _three_by_three(s)
    m = s.market.functions
    clear_on_chain(s, n, witness_for([p.order for p in placed]))
    s.transact(m.settleOrders([p.order_id for p in placed]), s.roles.operator)
    sell = placed[4]  # the marginal seller, partly filled
    held = m.heldOf(sell.order_id).call()
    assert held > 0
    end = DAY0_TS + (n + 1) * INTERVAL_S
    s.at_time(end + RELEASE_GRACE_S - 1)
    with expect_revert("MarketDeliveryNotMetered", sell.order_id, 0, end, end + RELEASE_GRACE_S):
        s.transact(m.release([sell.order_id]), s.roles.operator)
    s.at_time(end + RELEASE_GRACE_S)
    treasury_before = m.claimableOf(s.roles.treasury).call()
    receipt = s.transact(m.release([sell.order_id]), s.roles.operator)
    (event,) = s.events(s.market, "ProceedsReleased", receipt)
    assert (event["args"]["sellerUnits"], event["args"]["treasuryUnits"]) == (0, held)
    assert event["args"]["metered"] is False
    assert m.claimableOf(s.roles.treasury).call() == treasury_before + held
    assert m.claimableOf(sell.participant.address).call() == 0
    with expect_revert("MarketBatchSize", 0, 512):
        s.transact(m.release([]), s.roles.operator)


def _terms_of(raw: list[object]) -> ContractTerms:
    return ContractTerms(*raw[:1], BoundKind(raw[1]), *raw[2:])  # type: ignore[arg-type]
