"""`gridledger bid` converts kWh and tokens/kWh to Wh and base units exactly, or refuses."""

from __future__ import annotations

import pytest

from gridledger.node.cli import main
from gridledger.node.cli.bid import order_body


def test_exact_conversions() -> None:
    assert order_body("buy", "2", "0.21", None) == {
        "side": "buy",
        "quantity_wh": 2000,
        "limit_price_per_kwh": 210_000,
    }
    assert order_body("sell", "1e-3", "0.000001", 7) == {
        "side": "sell",
        "quantity_wh": 1,
        "limit_price_per_kwh": 1,
        "interval": 7,
    }
    # 0.1 + 0.2 style float error would give 299_999 or 300_001; decimals give 300_000.
    assert order_body("buy", "0.3", "0.3", None)["limit_price_per_kwh"] == 300_000


@pytest.mark.parametrize("value", ["nan", "inf", "-0.5", "1,5", ""])
def test_non_numbers_and_negatives_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="--kwh"):
        order_body("buy", value, "0.2", None)


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bid", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--kwh KWH" in out and "GRIDLEDGER_API_KEY" in out
