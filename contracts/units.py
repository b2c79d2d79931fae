"""The units at the ledger boundary, defined once: the settlement token's base unit, wad
fixed point, energy conversions and the integer widths the contracts store values in.

Every package imports them from here (contracts, market, sim and node alike); the naming
rule for quantities that carry a unit is in docs/nomenclature.md, the units themselves in
docs/architecture.md ("Units and signs").
"""

from __future__ import annotations

TOKEN_DECIMALS = 6
TOKEN_UNITS: int = 10**TOKEN_DECIMALS
"""Base units per settlement token (GridToken has 6 decimals): money is `_units`."""

WAD = 10**18
"""Fixed point on chain: 10**18 = 1.0 (trust, compliance, beta)."""

WEI_PER_ETHER = 10**18
"""The gas currency's base unit per coin (accounts are funded in wei, not in tokens)."""

WH_PER_KWH = 1000
J_PER_WH = 3600
J_PER_KWH = J_PER_WH * WH_PER_KWH
SECONDS_PER_DAY = 86_400

UINT40_LIMIT = 2**40
"""Exclusive bound of a uint40 (order quantities [Wh] and limit prices [units/kWh])."""
UINT64_LIMIT = 2**64
"""Exclusive bound of a uint64 (interval indices, volumes, timestamps)."""
UINT256_LIMIT = 2**256
"""Exclusive bound of a uint256 (ids, wads, token amounts)."""
