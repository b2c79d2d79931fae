"""The market package's exception hierarchy: every error it raises derives from MarketError."""

from __future__ import annotations


class MarketError(Exception):
    """Base of every error raised by the market package."""


class MarketInputError(MarketError, ValueError):
    """An order, price band, book or parameter is invalid; the message quotes the numbers."""


class MarketWitnessError(MarketError, ValueError):
    """A clearing witness would be rejected on-chain.

    `solidity_error` is the name of the custom error Market.sol reverts with for the same
    witness (e.g. ``MarketVolumeNotMaximal``), so an operator can check a witness locally
    before paying gas for it and a test can match the two.
    """

    def __init__(self, solidity_error: str, message: str) -> None:
        self.solidity_error = solidity_error
        super().__init__(f"{solidity_error}: {message}")


class MarketInvariantError(MarketError):
    """A clearing or settlement breaks a market invariant: money or energy not conserved, an
    order trading past its limit or beyond its quantity. Always a bug, never bad input."""


class MarketForecastError(MarketError, ValueError):
    """A forecaster was asked for what its history or configuration cannot give (too short a
    history, an untrained model, mismatched series); the message quotes the numbers."""


class MarketPlanningError(MarketError):
    """The planner could not produce a plan (bad inputs, or the solver failed); the rolling
    controller catches it and falls back to the myopic rule, counting the reason."""
