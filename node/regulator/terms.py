"""A scenario's market prices as Regulation's price band: token/kWh (floats, as scenarios
write them) -> settlement-token base units/kWh (integers, as the contracts take them)."""

from __future__ import annotations

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.market.orders import PriceBand
from gridledger.sim.scenario import MarketSpec


def units_per_kwh(tokens_per_kwh: float) -> int:
    """token/kWh -> token base units/kWh (6 decimals), rounded to the nearest unit."""
    return round(tokens_per_kwh * TOKEN_UNITS)


def price_band(spec: MarketSpec) -> PriceBand:
    """The band and network charge of `spec` [units/kWh]."""
    return PriceBand(
        units_per_kwh(spec.price_floor_per_kwh),
        units_per_kwh(spec.price_ceiling_per_kwh),
        units_per_kwh(spec.network_charge_per_kwh),
    )
