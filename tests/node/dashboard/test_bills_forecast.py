"""The bill and forecast-against-actual functions of the dashboard against hand-computed
numbers (no browser, no chain)."""

from __future__ import annotations

from gridledger.contracts.enums import Phase, Side
from gridledger.node.agents.auto_bid import OrderedForecast
from gridledger.node.dashboard.bills import ClearedPrice, bill_of
from gridledger.node.dashboard.forecast import forecast_points
from gridledger.node.views.chain import MarketGrid
from gridledger.node.views.records import OrderOut, ReadingOut

ME = "0x00000000000000000000000000000000000000Aa"
OTHER = "0x00000000000000000000000000000000000000bB"


def _order(
    interval: int,
    index: int,
    owner: str,
    side: Side,
    quantity_wh: int,
    limit: int,
    filled_wh: int,
    credited: int | None = None,
    held: int | None = None,
) -> OrderOut:
    escrow = -(-quantity_wh * limit // 1000) if side is Side.BUY else 0
    return OrderOut(
        order_id=(interval << 32) | index,
        interval=interval,
        index=index,
        owner=owner,
        side=side,
        quantity_wh=quantity_wh,
        limit_price_per_kwh=limit,
        escrow_units=escrow,
        phase=Phase.CLEARED,
        filled_wh=filled_wh,
        settled=credited is not None,
        credited_units=credited,
        held_units=held,
        delivery_contract_id=None,
    )


def test_a_bill_sums_fills_at_the_clearing_price_less_charges_and_penalties() -> None:
    cleared = {7: ClearedPrice(123_457, 10_001), 8: ClearedPrice(150_000, 0)}
    sell_id = (8 << 32) | 1
    orders = [
        # interval 7: a buy of 2,000 Wh at most 210,000/kWh filled 1,500 Wh:
        # escrow 420,000; cost ceil(1,500 * 123,457 / 1,000) = ceil(185,185.5) = 185,186;
        # refunded 420,000 - 185,186 = 234,814
        _order(7, 0, ME.lower(), Side.BUY, 2_000, 210_000, 1_500, credited=234_814),
        # interval 8: a sale filled 1,333 Wh: floor(1,333 * 150,000 / 1,000) = 199,950,
        # no network charge; held 199,950 until metered
        _order(8, 1, ME, Side.SELL, 2_000, 100_000, 1_333, credited=0, held=199_950),
        # interval 7: a sale of 1,000 Wh at 123,457: 123,457; charge floor(10,001) = 10,001
        _order(7, 2, ME, Side.SELL, 1_000, 100_000, 1_000, credited=0, held=0),
        _order(7, 3, OTHER, Side.BUY, 5_000, 200_000, 5_000, credited=0),  # not ME
        _order(9, 0, ME, Side.BUY, 9_000, 200_000, 0),  # interval 9 not cleared
    ]
    bill = bill_of(ME, orders, cleared, {sell_id: 5_000}, cap_penalty_units=7_000)
    assert bill.intervals == 2
    assert (bill.bought_wh, bill.bought_units, bill.escrow_refunded_units) == (
        1_500,
        185_186,
        234_814,
    )
    assert (bill.sold_wh, bill.sold_units, bill.network_charge_units) == (
        2_333,
        199_950 + 123_457,
        10_001,
    )
    assert bill.held_units == 199_950
    assert (bill.delivery_penalty_units, bill.cap_penalty_units) == (5_000, 7_000)
    # 323,407 - 10,001 - 185,186 - 5,000 - 7,000
    assert bill.net_units == 116_220


def test_a_participant_without_orders_pays_only_its_cap_penalties() -> None:
    bill = bill_of(OTHER, [], {}, {}, cap_penalty_units=42)
    assert (bill.intervals, bill.bought_units, bill.sold_units, bill.net_units) == (0, 0, 0, -42)


def _reading(start_ts: int, import_wh: int, export_wh: int) -> ReadingOut:
    return ReadingOut(
        participant=ME,
        seq=start_ts,
        interval_start_ts=start_ts,
        duration_s=60,
        import_wh=import_wh,
        export_wh=export_wh,
        block_number=1,
        tx_hash="0x" + "00" * 32,
    )


def test_forecasts_of_past_intervals_meet_the_readings_inside_them() -> None:
    grid = MarketGrid(epoch_start_ts=1_000, interval_length_s=900, gate_lead_s=300)
    forecasts = [
        OrderedForecast(2, -120.0, Side.SELL, 100),  # 2,800 .. 3,700
        OrderedForecast(1, 35.5, None, 0),  # 1,900 .. 2,800: no order below the minimum
        OrderedForecast(3, 80.0, Side.BUY, 80),  # 3,700 .. 4,600: no readings
        OrderedForecast(4, 10.0, Side.BUY, 60),  # ends after the head: left out
    ]
    readings = [
        _reading(1_900, 30, 0),
        _reading(2_740, 10, 2),  # still interval 1
        _reading(2_800, 0, 70),
        _reading(3_640, 5, 50),
        _reading(4_600, 1, 0),  # interval 4
    ]
    points = forecast_points(forecasts, readings, grid, head_ts=4_700)
    assert [(p.interval, p.forecast_net_wh, p.actual_net_wh, p.readings) for p in points] == [
        (1, 35.5, 38, 2),
        (2, -120.0, -115, 2),
        (3, 80.0, None, 0),
    ]
    assert (points[1].start_ts, points[1].end_ts, points[1].side) == (2_800, 3_700, "sell")
