"""Payments of a cleared interval, integer for integer as Market.sol settles them.

Money in settlement-token base units (`_units`), prices in units/kWh, energy in Wh. For an
order trading `fill_wh` at prices p_i on its trades, its value is sum(volume_i * p_i)
[units * Wh / kWh]; for a uniform price that is fill * price. Then:
- buyer:  escrow = ceil(q * limit / 1000), cost = ceil(value / 1000), refund = escrow - cost;
- seller: gross = floor(value / 1000), charge = floor(fill * network_charge / 1000),
          held = gross - charge (credited nothing at settlement);
- treasury: all charges + dust, dust = sum(buyer costs) - sum(seller gross) >= 0.
Buyers round up and sellers down, so the pool never goes negative.

A seller's held proceeds are collateral for its delivery (docs/contracts.md, "Held proceeds"):
`release` pays them out once the seller's accounted readings reach the interval's end (the
outstanding delivery penalty to the treasury first, the rest to the seller), or, without such
readings, once the grace period has run out (everything to the treasury).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gridledger.contracts.enums import Side
from gridledger.contracts.units import WH_PER_KWH
from gridledger.market.clearing import Clearing
from gridledger.market.errors import MarketInputError, MarketInvariantError
from gridledger.market.orders import Order


@dataclass(frozen=True, slots=True)
class OrderSettlement:
    """What one order pays and receives [units].

    escrow_units: locked at placement (buys; 0 for sells). cost_units: a buyer's payment for
    its fill. gross_units and charge_units: a seller's proceeds before the network charge, and
    the charge. credit_units: what the order's owner is credited at settlement, Market.sol's
    `OrderSettled.creditedUnits` (a buyer's refund; 0 for sells). held_units: a seller's net
    proceeds, held until its delivery is metered (`ProceedsHeld.heldUnits`; 0 for buys).
    """

    index: int
    side: Side
    fill_wh: int
    escrow_units: int
    cost_units: int
    gross_units: int
    charge_units: int
    credit_units: int
    held_units: int


@dataclass(frozen=True, slots=True)
class Settlement:
    """The payments of one interval: per order, and the treasury's share.

    orders: one OrderSettlement per order, by index. charges_units: the network charges of
    all sellers. dust_units: buyer costs minus seller gross (rounding and any budget surplus
    of the mechanism). treasury_units = charges_units + dust_units.
    """

    orders: tuple[OrderSettlement, ...]
    charges_units: int
    dust_units: int
    treasury_units: int

    @property
    def credits_units(self) -> Mapping[int, int]:
        """Order index -> units credited to its owner."""
        return MappingProxyType({o.index: o.credit_units for o in self.orders})

    @property
    def costs_units(self) -> Mapping[int, int]:
        """Buy order index -> units it pays for its fill."""
        return MappingProxyType({o.index: o.cost_units for o in self.orders if o.side is Side.BUY})

    @property
    def held_total_units(self) -> int:
        """Everything held for the sellers' deliveries [units]."""
        return sum(o.held_units for o in self.orders)

    @property
    def escrow_total_units(self) -> int:
        """Everything the buyers locked [units]."""
        return sum(o.escrow_units for o in self.orders)

    def check_conservation(self) -> None:
        """Raise MarketInvariantError unless the escrows are paid out exactly:
        sum(escrows) == sum(buyer refunds) + sum(held proceeds) + treasury, with no negative
        amount anywhere."""
        negative = [
            o.index for o in self.orders if min(o.cost_units, o.credit_units, o.held_units) < 0
        ]
        if negative or min(self.dust_units, self.charges_units) < 0:
            raise MarketInvariantError(
                f"negative amount: orders {negative}, dust {self.dust_units} units, "
                f"charges {self.charges_units} units"
            )
        if self.treasury_units != self.charges_units + self.dust_units:
            raise MarketInvariantError(
                f"treasury {self.treasury_units} units != charges {self.charges_units} + dust "
                f"{self.dust_units} units"
            )
        paid_out = (
            sum(o.credit_units for o in self.orders) + self.held_total_units + self.treasury_units
        )
        if paid_out != self.escrow_total_units:
            raise MarketInvariantError(
                f"escrows {self.escrow_total_units} units != credits, held and treasury "
                f"{paid_out} units"
            )


def settle(orders: Iterable[Order], clearing: Clearing) -> Settlement:
    """Settle every order of a cleared interval; `orders` must be exactly the cleared ones."""
    by_index = {o.index: o for o in orders}
    if set(by_index) != set(clearing.fills):
        raise MarketInputError(
            f"orders {sorted(set(by_index) ^ set(clearing.fills))} are not in both the book "
            "and the clearing"
        )
    value = dict.fromkeys(by_index, 0)
    for t in clearing.trades:
        value[t.buy_index] += t.volume_wh * t.buy_price_per_kwh
        value[t.sell_index] += t.volume_wh * t.sell_price_per_kwh
    settled = tuple(
        _settle_order(by_index[i], clearing.fills[i], value[i], clearing.network_charge_per_kwh)
        for i in sorted(by_index)
    )
    charges = sum(o.charge_units for o in settled)
    dust = sum(o.cost_units for o in settled) - sum(o.gross_units for o in settled)
    return Settlement(settled, charges, dust, charges + dust)


def _settle_order(order: Order, fill_wh: int, value: int, charge_per_kwh: int) -> OrderSettlement:
    if order.side is Side.BUY:
        cost = -(-value // WH_PER_KWH)
        escrow = order.escrow_units
        # cost <= escrow: every price paid is <= the limit and fill_wh <= quantity_wh.
        return OrderSettlement(order.index, Side.BUY, fill_wh, escrow, cost, 0, 0, escrow - cost, 0)
    gross = value // WH_PER_KWH
    charge = fill_wh * charge_per_kwh // WH_PER_KWH
    # charge <= gross: the network charge is at most the lowest seller price.
    return OrderSettlement(order.index, Side.SELL, fill_wh, 0, 0, gross, charge, 0, gross - charge)


# Market.sol's RELEASE_GRACE_S: how long after its interval's end a sell's proceeds wait for the
# seller's readings before they go to the treasury [s].
RELEASE_GRACE_S = 86_400


@dataclass(frozen=True, slots=True)
class Release:
    """How one sell order's held proceeds are paid out [units] (Market.sol `ProceedsReleased`).

    metered: the seller's readings reached the interval's end. treasury_units: the delivery
    penalty paid from the held units (metered), or everything held (grace run out).
    seller_units: the rest, credited to the seller. They sum to the held units.
    """

    seller_units: int
    treasury_units: int
    metered: bool


def release(
    held_units: int,
    penalty_due_units: int,
    *,
    last_reading_end_ts: int,
    interval_end_ts: int,
    now_ts: int,
    grace_s: int = RELEASE_GRACE_S,
) -> Release:
    """Release `held_units` of a settled, filled sell order whose delivery penalty outstanding
    is `penalty_due_units` (node.accounting.delivery_penalty_due_units); raises
    MarketInputError when neither the readings nor the grace period allow it yet (Market.sol's
    `MarketDeliveryNotMetered`)."""
    if min(held_units, penalty_due_units) < 0:
        raise MarketInputError(
            f"held {held_units} units and penalty due {penalty_due_units} units must be >= 0"
        )
    metered = last_reading_end_ts >= interval_end_ts
    if not metered and now_ts < interval_end_ts + grace_s:
        raise MarketInputError(
            f"delivery not metered: readings end at {last_reading_end_ts}, the interval at "
            f"{interval_end_ts}, the grace period at {interval_end_ts + grace_s} (now {now_ts})"
        )
    to_treasury = min(penalty_due_units, held_units) if metered else held_units
    return Release(held_units - to_treasury, to_treasury, metered)
