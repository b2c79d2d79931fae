"""Bills: what the market cost or paid each participant over cleared intervals, computed from
the orders and results read from the chain (node/views) the way Market.settleOrders and
release move the tokens (docs/contracts.md, "Market: settlement and delivery"). Money in base
units of the settlement token, energy in Wh, prices in base units per kWh."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gridledger.contracts.enums import Side
from gridledger.contracts.units import WH_PER_KWH
from gridledger.node.dashboard.records import BillOut
from gridledger.node.views.records import OrderOut


@dataclass(frozen=True, slots=True)
class ClearedPrice:
    """A cleared interval's uniform price and network charge [units/kWh]."""

    price_per_kwh: int
    network_charge_per_kwh: int


def cost_units(fill_wh: int, price_per_kwh: int) -> int:
    """What a buy's fill costs: ceil(fill * price / 1000) (settleOrders)."""
    return -(-fill_wh * price_per_kwh // WH_PER_KWH)


def proceeds_units(fill_wh: int, price_per_kwh: int) -> int:
    """What a sell's fill earns (or is charged): floor(fill * price / 1000)."""
    return fill_wh * price_per_kwh // WH_PER_KWH


def bill_of(
    participant: str,
    orders: Iterable[OrderOut],
    cleared: Mapping[int, ClearedPrice],
    delivery_penalty_units: Mapping[int, int],
    cap_penalty_units: int,
) -> BillOut:
    """The bill of `participant` (BillOut) over its `orders` in the `cleared` intervals
    (others are left out); `delivery_penalty_units`: order id of a sale -> the penalty of its
    delivery obligation; `cap_penalty_units`: the penalties of its import caps."""
    who = participant.lower()
    intervals: set[int] = set()
    bought_wh = bought = refunded = sold_wh = sold = charge = held = delivery = 0
    for o in orders:
        price = cleared.get(o.interval)
        if o.owner.lower() != who or price is None:
            continue
        intervals.add(o.interval)
        if o.side is Side.BUY:
            bought_wh += o.filled_wh
            bought += cost_units(o.filled_wh, price.price_per_kwh)
            refunded += o.credited_units or 0
        else:
            sold_wh += o.filled_wh
            sold += proceeds_units(o.filled_wh, price.price_per_kwh)
            charge += proceeds_units(o.filled_wh, price.network_charge_per_kwh)
            held += o.held_units or 0
            delivery += delivery_penalty_units.get(o.order_id, 0)
    return BillOut(
        participant=participant,
        intervals=len(intervals),
        bought_wh=bought_wh,
        bought_units=bought,
        escrow_refunded_units=refunded,
        sold_wh=sold_wh,
        sold_units=sold,
        network_charge_units=charge,
        held_units=held,
        delivery_penalty_units=delivery,
        cap_penalty_units=cap_penalty_units,
        net_units=sold - charge - bought - delivery - cap_penalty_units,
    )
