"""The [operator] and [prosumer] tables of a node's config: read with their defaults, and
every bad value refused with an error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridledger.node.cli.node import with_roles
from gridledger.node.config import AutoBidConfig, OperatorConfig, load_config
from gridledger.node.errors import ConfigError

PARTICIPANT = "0x" + "11" * 20
METER = "0x" + "22" * 20


def config_of(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_the_tables_there_is_no_operator_and_no_auto_bid(tmp_path: Path) -> None:
    config = load_config(config_of(tmp_path, "[node]\nport = 9000\n"))
    assert config.operator is None and config.auto_bid is None


def test_the_operator_table_with_members(tmp_path: Path) -> None:
    text = (
        "[operator]\nauto_clear = false\nfaucet_limit_units = 5000000000\n\n"
        f'[[operator.members]]\nparticipant = "{PARTICIPANT}"\nmeter = "{METER}"\n'
    )
    operator = load_config(config_of(tmp_path, text)).operator
    assert operator == OperatorConfig(
        members=((PARTICIPANT, METER),), auto_clear=False, faucet_limit_units=5_000_000_000
    )


def test_the_prosumer_table_turns_auto_bid_on(tmp_path: Path) -> None:
    text = "[prosumer]\nauto_bid = true\nbuy_price_per_kwh = 200000\n"
    assert load_config(config_of(tmp_path, text)).auto_bid == AutoBidConfig(
        buy_price_per_kwh=200_000
    )
    assert load_config(config_of(tmp_path, "[prosumer]\nauto_bid = false\n")).auto_bid is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[operator]\nfaucett = true\n", r"operator: unknown keys \['faucett'\]"),
        ("[operator]\npoll_s = 0\n", r"operator.poll_s: must be in \(0, 60\]"),
        (
            "[operator]\nfaucet_grant_units = 10\nfaucet_limit_units = 5\n",
            "faucet_grant_units <= faucet_limit_units",
        ),
        (
            f'[[operator.members]]\nparticipant = "{PARTICIPANT}"\n',
            r"operator.members\[0\]: expected a table with participant and meter",
        ),
        (
            f'[[operator.members]]\nparticipant = "0x12"\nmeter = "{METER}"\n',
            r"operator.members\[0\].participant: expected a 0x address",
        ),
        ("[operator]\nauto_clear = 1\n", "operator.auto_clear: expected bool"),
        ("[prosumer]\nauto_bid = true\nprice = 1\n", r"prosumer: unknown keys \['price'\]"),
        (
            "[prosumer]\nauto_bid = true\nsell_price_per_kwh = -1\n",
            r"prosumer.sell_price_per_kwh: must be in \[0, 2\^40\)",
        ),
        ("[prosumer]\nauto_bid = true\ninterval_readings = 0\n", "interval_readings >= 1"),
    ],
)
def test_bad_values_are_refused_with_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(config_of(tmp_path, text))


def test_node_run_flags_turn_the_roles_on_without_overriding_the_config(tmp_path: Path) -> None:
    plain = load_config(None)
    on = with_roles(plain, operator=True, auto_bid=True)
    assert on.operator == OperatorConfig() and on.auto_bid == AutoBidConfig()
    assert with_roles(plain, operator=False, auto_bid=False) == plain
    configured = load_config(config_of(tmp_path, "[operator]\nauto_clear = false\n"))
    assert with_roles(configured, operator=True, auto_bid=False).operator == OperatorConfig(
        auto_clear=False
    )
