"""One interval of a local energy community: local clearing by any mechanism, then the grid.

Each household brings its net position for the interval (need > 0, surplus < 0, [Wh]) and,
for mechanisms that read limits, a limit price. Households with a need become buy orders,
those with a surplus sell orders; the chosen ClearingMechanism (market/mechanisms.py) clears
them under the band [feed-in tariff, retail tariff] and market/settlement.py pays the local
trades. The external grid then takes the rest: residual needs are imported at the retail
tariff, residual surpluses exported at the feed-in tariff.

Grid fees and the feeder limit enter every mechanism the same way:
- the grid fee is the band's network charge, paid by sellers per local kWh; a seller's limit
  is at least feed-in + fee (below that exporting pays more), so fees move prices and can
  leave orders unwilling (less volume);
- the feeder limit caps the community's net exchange with the grid per interval [Wh] (the
  feeder carries the net flow, whatever is traded locally). Net import beyond it is
  unserved, net export beyond it curtailed, shared pro rata by the households' needs or
  surpluses (largest remainder first) before anything trades; every mechanism then sees
  the reduced supply or demand, so the limit moves volumes and, for the bid-free price,
  the price (curtailed PV raises it).
Money in token base units (`_units`), prices in units/kWh, energy in Wh, integers throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from typing_extensions import override

from gridledger.contracts.enums import Side
from gridledger.contracts.units import WH_PER_KWH
from gridledger.market.clearing import ClearingMechanism, Trade
from gridledger.market.errors import MarketInputError, MarketInvariantError
from gridledger.market.orders import Order, PriceBand, RankedBook
from gridledger.market.settlement import settle

UNITS_PER_TOKEN = 1_000_000
"""Settlement-token base units per token (6 decimals, as the ledger's token)."""


def units_per_kwh(tokens_per_kwh: float) -> int:
    """token/kWh -> token base units/kWh, rounded to the nearest unit."""
    return round(tokens_per_kwh * UNITS_PER_TOKEN)


class NoLocalMarket(ClearingMechanism):
    """The baseline without a local market: nothing trades locally, the grid takes it all."""

    name = "none"

    @override
    def _trades(self, book: RankedBook, band: PriceBand) -> tuple[Trade, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Tariffs:
    """The grid's prices [units/kWh]: feed-in paid for export, retail charged for import, and
    the grid fee sellers pay per kWh sold locally (<= feed-in, as Regulation.sol requires)."""

    feed_in_per_kwh: int
    retail_per_kwh: int
    grid_fee_per_kwh: int = 0

    def band(self) -> PriceBand:
        """The local band [feed-in, retail] with the fee as network charge."""
        return PriceBand(self.feed_in_per_kwh, self.retail_per_kwh, self.grid_fee_per_kwh)


@dataclass(frozen=True, slots=True)
class Feeder:
    """The feeder's limits on the community's grid exchange per interval [Wh]; None: none."""

    import_limit_wh: int | None = None
    export_limit_wh: int | None = None

    def __post_init__(self) -> None:
        for name in ("import_limit_wh", "export_limit_wh"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise MarketInputError(f"feeder {name} {value} Wh is negative")


@dataclass(frozen=True, slots=True)
class Position:
    """A household's net need in the interval [Wh] (> 0 buys, < 0 sells, 0 idle) and its
    limit price [units/kWh] (None: the band's edge, i.e. willing at any band price)."""

    owner: str
    net_wh: int
    limit_per_kwh: int | None = None


@dataclass(frozen=True, slots=True)
class HouseholdInterval:
    """What one household bought, sold and paid in the interval.

    paid_units: local purchases plus grid import. received_units: local sales net of the
    grid fee plus grid export. unserved_wh / curtailed_wh: cut by the feeder limit.
    """

    owner: str
    bought_local_wh: int
    sold_local_wh: int
    bought_grid_wh: int
    sold_grid_wh: int
    unserved_wh: int
    curtailed_wh: int
    paid_units: int
    received_units: int

    @property
    def cost_units(self) -> int:
        """paid - received [units] (negative: the household earned money)."""
        return self.paid_units - self.received_units


@dataclass(frozen=True, slots=True)
class CommunityInterval:
    """The outcome of one interval: the local price (0 if nothing traded locally), volumes
    [Wh] (grid import and export are what the grid settles; the feeder carries only their
    difference), the treasury's fees and dust [units], and every household."""

    mechanism: str
    price_per_kwh: int
    local_wh: int
    grid_import_wh: int
    grid_export_wh: int
    unserved_wh: int
    curtailed_wh: int
    treasury_units: int
    households: tuple[HouseholdInterval, ...]


@dataclass(frozen=True, slots=True)
class CommunityBook:
    """One interval's orders after the feeder's cut, as every mechanism (and the ledger) sees
    them. Per position (in the order given): served_wh is the net need (> 0) or surplus (< 0)
    left after the cut [Wh], unserved_wh / curtailed_wh what the feeder cut. The orders carry
    the position's index, so their ranking ties break in the positions' order."""

    orders: tuple[Order, ...]
    served_wh: tuple[int, ...]
    unserved_wh: tuple[int, ...]
    curtailed_wh: tuple[int, ...]


def community_book(
    positions: Sequence[Position], tariffs: Tariffs, feeder: Feeder | None = None
) -> CommunityBook:
    """The orders of `positions` once the feeder carries at most its limits (see the module
    docstring): needs > 0 buy, surpluses sell, with their limits inside the band."""
    feeder = feeder or Feeder()
    owners = [p.owner for p in positions]
    if len(set(owners)) != len(owners):
        raise MarketInputError("a household appears twice among the positions")
    band = tariffs.band()
    needs = [max(p.net_wh, 0) for p in positions]
    surpluses = [max(-p.net_wh, 0) for p in positions]
    demand, supply = sum(needs), sum(surpluses)
    # The feeder carries the community's net exchange: cut it before anything trades.
    imp, exp = feeder.import_limit_wh, feeder.export_limit_wh
    unserved = _cut(needs, None if imp is None else supply + imp)
    curtailed = _cut(surpluses, None if exp is None else demand + exp)
    served = [
        needs[i] - unserved[i] if p.net_wh > 0 else -(surpluses[i] - curtailed[i])
        for i, p in enumerate(positions)
    ]
    orders = tuple(
        _order(i, Position(p.owner, served[i], p.limit_per_kwh), band)
        for i, p in enumerate(positions)
        if served[i] != 0
    )
    return CommunityBook(orders, tuple(served), tuple(unserved), tuple(curtailed))


def grid_import_units(energy_wh: int, tariffs: Tariffs) -> int:
    """What importing `energy_wh` from the grid costs [units], rounded up (as a buyer pays)."""
    return -(-energy_wh * tariffs.retail_per_kwh // WH_PER_KWH)


def grid_export_units(energy_wh: int, tariffs: Tariffs) -> int:
    """What exporting `energy_wh` to the grid earns [units], rounded down (as a seller is paid)."""
    return energy_wh * tariffs.feed_in_per_kwh // WH_PER_KWH


def clear_community(
    positions: Sequence[Position],
    mechanism: ClearingMechanism,
    tariffs: Tariffs,
    feeder: Feeder | None = None,
) -> CommunityInterval:
    """Clear one interval of `positions` locally by `mechanism`, the grid taking the rest."""
    book = community_book(positions, tariffs, feeder)
    served, unserved, curtailed = book.served_wh, book.unserved_wh, book.curtailed_wh
    demand = sum(max(p.net_wh, 0) for p in positions)
    supply = sum(max(-p.net_wh, 0) for p in positions)
    orders = list(book.orders)
    clearing = mechanism.clear(orders, tariffs.band())
    settlement = settle(orders, clearing)
    settlement.check_conservation()
    paid_local = dict.fromkeys(range(len(positions)), 0)
    received_local = dict.fromkeys(range(len(positions)), 0)
    for o in settlement.orders:
        if o.side is Side.BUY:
            paid_local[o.index] = o.cost_units
        else:
            # Delivery is simulated as made: the held proceeds are released in full.
            received_local[o.index] = o.held_units
    fills = clearing.fills
    households = []
    for i, p in enumerate(positions):
        fill = fills.get(i, 0)
        grid_in = max(served[i], 0) - (fill if served[i] > 0 else 0)
        grid_out = max(-served[i], 0) - (fill if served[i] < 0 else 0)
        households.append(
            HouseholdInterval(
                owner=p.owner,
                bought_local_wh=fill if served[i] > 0 else 0,
                sold_local_wh=fill if served[i] < 0 else 0,
                bought_grid_wh=grid_in,
                sold_grid_wh=grid_out,
                unserved_wh=unserved[i],
                curtailed_wh=curtailed[i],
                paid_units=paid_local[i] + grid_import_units(grid_in, tariffs),
                received_units=received_local[i] + grid_export_units(grid_out, tariffs),
            )
        )
    result = CommunityInterval(
        mechanism=mechanism.name,
        price_per_kwh=clearing.price_per_kwh,
        local_wh=clearing.volume_wh,
        grid_import_wh=sum(h.bought_grid_wh for h in households),
        grid_export_wh=sum(h.sold_grid_wh for h in households),
        unserved_wh=sum(unserved),
        curtailed_wh=sum(curtailed),
        treasury_units=settlement.treasury_units,
        households=tuple(households),
    )
    _check_balance(result, demand, supply)
    return result


def _order(index: int, position: Position, band: PriceBand) -> Order:
    if position.net_wh > 0:
        limit = band.ceiling_per_kwh if position.limit_per_kwh is None else position.limit_per_kwh
        return Order(
            index, position.owner, Side.BUY, position.net_wh, min(limit, band.ceiling_per_kwh)
        )
    least = min(band.floor_per_kwh + band.network_charge_per_kwh, band.ceiling_per_kwh)
    limit = least if position.limit_per_kwh is None else max(position.limit_per_kwh, least)
    return Order(
        index, position.owner, Side.SELL, -position.net_wh, min(limit, band.ceiling_per_kwh)
    )


def _cut(residuals: Sequence[int], limit_wh: int | None) -> list[int]:
    """Share the excess of sum(residuals) over `limit_wh` pro rata, largest remainder first."""
    total = sum(residuals)
    if limit_wh is None or total <= limit_wh:
        return [0] * len(residuals)
    excess = total - limit_wh
    cuts = [r * excess // total for r in residuals]
    order = sorted(range(len(residuals)), key=lambda i: (-(residuals[i] * excess % total), i))
    for i in order[: excess - sum(cuts)]:
        cuts[i] += 1
    return cuts


def _check_balance(result: CommunityInterval, demand_wh: int, supply_wh: int) -> None:
    bought = sum(h.bought_local_wh for h in result.households)
    sold = sum(h.sold_local_wh for h in result.households)
    served = bought + result.grid_import_wh + result.unserved_wh
    placed = sold + result.grid_export_wh + result.curtailed_wh
    if bought != sold or served != demand_wh or placed != supply_wh:
        raise MarketInvariantError(
            f"interval does not balance: local bought {bought} / sold {sold} Wh, demand "
            f"{demand_wh} Wh vs {served} Wh served, supply {supply_wh} Wh vs {placed} Wh placed"
        )
