"""Gas is deterministic: the goals of the contracts issue, asserted on exact figures."""

from __future__ import annotations

import pytest

from gridledger.node.benchmarks.gas import measure


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    return measure(clearing_sizes=(10, 100))


def test_readings_cost_at_most_15k_gas_each_in_a_batch_of_60(figures: dict[str, float]) -> None:
    for key in ("gas_per_reading", "gas_per_reading_violating", "gas_per_reading_no_contract"):
        assert figures[f"{key}.batch_60"] <= 15_000, key
        # Batching amortises the transaction's fixed cost.
        assert figures[f"{key}.batch_60"] < figures[f"{key}.batch_15"] < figures[f"{key}.batch_1"]


def test_clearing_and_settlement_per_order(figures: dict[str, float]) -> None:
    assert figures["clearing_and_settlement_gas_per_order.n_100"] <= 25_000
    # Per-order clearing gas does not grow with the number of orders (linear total).
    assert figures["clearing_gas_per_order.n_100"] <= figures["clearing_gas_per_order.n_10"]
