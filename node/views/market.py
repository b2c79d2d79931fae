"""Reading orders and market intervals from the Market contract and its events.

An order's fill is derived from the interval's stored clearing result the way
MarketClearing._fillOf derives it (tests compare with the contract's fillOf for every order),
so an interval with n orders costs a handful of queries instead of n calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from gridledger.contracts.enums import Phase, Side
from gridledger.market.orders import Order
from gridledger.node.views import events
from gridledger.node.views.chain import ChainView
from gridledger.node.views.records import (
    IntervalOut,
    OrderOut,
    SettlementOut,
    TradeOut,
)

DELIVERY_FLAG = 1 << 255
INDEX_BITS = 32
# An interval chosen by the node closes to orders at least this long after now [s].
GATE_MARGIN_S = 30


def default_interval(chain: ChainView) -> int:
    """The first interval whose gate closes at least GATE_MARGIN_S from now: where the node
    puts an order that names none, and the layer table's next open interval."""
    return chain.grid().first_open_after(chain.now_ts() + GATE_MARGIN_S)


@dataclass(frozen=True, slots=True)
class Result:
    """Market.sol's `Result` of an interval (all zero before clearing)."""

    cleared: bool
    price_per_kwh: int
    volume_wh: int
    network_charge_per_kwh: int
    marginal_buy_index: int
    marginal_buy_price_per_kwh: int
    marginal_buy_fill_wh: int
    marginal_sell_index: int
    marginal_sell_price_per_kwh: int
    marginal_sell_fill_wh: int

    @classmethod
    def of(cls, raw: Iterable[Any]) -> Result:
        values = tuple(raw)
        return cls(bool(values[0]), *(int(v) for v in values[1:10]))

    def fill_wh(self, order: Order) -> int:
        """The fill of `order` [Wh]: ahead of its side's marginal order fully, the marginal
        order by its stored fill, behind it nothing (MarketClearing._fillOf)."""
        if not self.cleared or self.volume_wh == 0:
            return 0
        if order.side is Side.BUY:
            index, price = self.marginal_buy_index, self.marginal_buy_price_per_kwh
            if order.index == index:
                return self.marginal_buy_fill_wh
            ahead = order.limit_price_per_kwh > price or (
                order.limit_price_per_kwh == price and order.index < index
            )
            return order.quantity_wh if ahead else 0
        index, price = self.marginal_sell_index, self.marginal_sell_price_per_kwh
        if order.index == index:
            return self.marginal_sell_fill_wh
        ahead = order.limit_price_per_kwh < price or (
            order.limit_price_per_kwh == price and order.index < index
        )
        return order.quantity_wh if ahead else 0


def split_order_id(order_id: int) -> tuple[int, int]:
    """(interval, index) of an order id (interval << 32) | index."""
    return order_id >> INDEX_BITS, order_id & (2**INDEX_BITS - 1)


def delivery_id(seller: str, interval: int) -> int:
    """ImportCap's id of `seller`'s delivery obligation for `interval`
    (DeliveryObligations.deliveryId: 2^255 | interval << 160 | seller)."""
    return DELIVERY_FLAG | (interval << 160) | int(seller, 16)


class MarketView:
    """Orders and intervals as the Market contract holds them."""

    def __init__(self, chain: ChainView) -> None:
        self.chain = chain

    def _market(self) -> Any:
        return self.chain.contract("Market")

    def phase(self, interval: int) -> Phase:
        return Phase(int(self.chain.call(self._market().functions.phaseOf(interval))))

    def result(self, interval: int) -> Result:
        return Result.of(self.chain.call(self._market().functions.resultOf(interval)))

    def voided(self, interval: int, head: int) -> bool:
        """Whether `interval` was voided (IntervalVoided up to block `head`)."""
        market = self._market()
        return bool(events.by_values(market, "IntervalVoided", "interval", [interval], head))

    def order(self, order_id: int) -> OrderOut:
        """Order `order_id`; MarketUnknownOrder (404) if there is none."""
        (out,) = self._orders([order_id])
        return out

    def orders_of(self, owner: str, limit: int) -> list[OrderOut]:
        """The `limit` most recent orders of `owner` (OrderPlaced events), oldest first."""
        head = int(self.chain.w3.eth.block_number)
        owner_filter = {"owner": Web3.to_checksum_address(owner)}
        get = events.getter(self._market(), "OrderPlaced", owner_filter)
        return self._orders([int(e["args"]["orderId"]) for e in events.recent(get, head, limit)])

    def orders_in(self, intervals: list[int]) -> list[OrderOut]:
        """Every order of `intervals` (OrderPlaced events), with fills and settlement."""
        head = int(self.chain.w3.eth.block_number)
        placed = events.by_values(self._market(), "OrderPlaced", "interval", intervals, head)
        return self._orders([int(e["args"]["orderId"]) for e in placed])

    def _orders(self, order_ids: list[int]) -> list[OrderOut]:
        """`order_ids` with fills and settlement: one credits and one held-proceeds query for
        all, one phase and result read per interval."""
        m = self._market().functions
        credits = self._credits(order_ids)
        held = self._held(order_ids)
        by_interval: dict[int, tuple[Phase, Result]] = {}
        outs = []
        for order_id in order_ids:
            owner, side, quantity_wh, price = self.chain.call(m.orderOf(order_id))
            interval, index = split_order_id(order_id)
            if interval not in by_interval:
                by_interval[interval] = (self.phase(interval), self.result(interval))
            phase, result = by_interval[interval]
            order = Order(index, str(owner), Side(int(side)), int(quantity_wh), int(price))
            outs.append(self._order_out(interval, order, phase, result, credits, held))
        return outs

    def interval(self, interval: int) -> IntervalOut:
        """Interval `interval`: timing, phase, result, every order, fills and settlement."""
        market = self._market()
        head = int(self.chain.w3.eth.block_number)
        placed = events.by_values(market, "OrderPlaced", "interval", [interval], head)
        orders = [
            Order(
                split_order_id(int(e["args"]["orderId"]))[1],
                str(e["args"]["owner"]),
                Side(int(e["args"]["side"])),
                int(e["args"]["quantityWh"]),
                int(e["args"]["limitPricePerKwh"]),
            )
            for e in placed
        ]
        phase = self.phase(interval)
        result = self.result(interval)
        ids = [(interval << INDEX_BITS) | o.index for o in orders]
        credits = self._credits(ids)
        held = self._held(ids)
        outs = [self._order_out(interval, o, phase, result, credits, held) for o in orders]
        grid = self.chain.grid()
        book = self.chain.call(market.functions.bookOf(interval))
        settled_count = int(book[2])
        dust = events.by_values(market, "IntervalSettled", "interval", [interval], head)
        voided = self.voided(interval, head)
        priced = result.cleared
        return IntervalOut(
            interval=interval,
            phase=phase,
            start_ts=grid.start_ts(interval),
            gate_closure_ts=grid.gate_closure_ts(interval),
            cleared=result.cleared,
            voided=voided,
            price_per_kwh=result.price_per_kwh if priced else None,
            volume_wh=result.volume_wh if priced else None,
            network_charge_per_kwh=result.network_charge_per_kwh if priced else None,
            orders=outs,
            trades=[
                TradeOut(
                    order_id=o.order_id,
                    owner=o.owner,
                    side=o.side,
                    filled_wh=o.filled_wh,
                    price_per_kwh=result.price_per_kwh,
                )
                for o in outs
                if o.filled_wh > 0
            ],
            settlement=SettlementOut(
                order_count=len(orders),
                settled_count=settled_count,
                complete=bool(orders) and settled_count == len(orders),
                dust_units=int(dust[0]["args"]["dustUnits"]) if dust else None,
            ),
        )

    def _credits(self, order_ids: list[int]) -> dict[int, int]:
        """order id -> credited units, from the OrderSettled events of `order_ids`."""
        head = int(self.chain.w3.eth.block_number)
        settled = events.by_values(self._market(), "OrderSettled", "orderId", order_ids, head)
        return {int(e["args"]["orderId"]): int(e["args"]["creditedUnits"]) for e in settled}

    def _held(self, order_ids: list[int]) -> dict[int, int]:
        """sell order id -> units the Market still holds for it (ProceedsHeld; 0 once a
        ProceedsReleased paid them out), for the settled, filled sells among `order_ids`."""
        head = int(self.chain.w3.eth.block_number)
        market = self._market()
        held = events.by_values(market, "ProceedsHeld", "orderId", order_ids, head)
        out = {int(e["args"]["orderId"]): int(e["args"]["heldUnits"]) for e in held}
        if out:
            released = events.by_values(market, "ProceedsReleased", "orderId", list(out), head)
            out |= {int(e["args"]["orderId"]): 0 for e in released}
        return out

    @staticmethod
    def _order_out(
        interval: int,
        order: Order,
        phase: Phase,
        result: Result,
        credits: Mapping[int, int],
        held: Mapping[int, int],
    ) -> OrderOut:
        order_id = (interval << INDEX_BITS) | order.index
        credited = credits.get(order_id)
        return OrderOut(
            order_id=order_id,
            interval=interval,
            index=order.index,
            owner=order.owner,
            side=order.side,
            quantity_wh=order.quantity_wh,
            limit_price_per_kwh=order.limit_price_per_kwh,
            escrow_units=order.escrow_units,
            phase=phase,
            filled_wh=result.fill_wh(order),
            settled=credited is not None,
            credited_units=credited,
            held_units=held.get(order_id),
            delivery_contract_id=(
                delivery_id(order.owner, interval) if order.side is Side.SELL else None
            ),
        )
