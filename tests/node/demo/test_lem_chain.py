"""lem27's uniform auction settled on a ledger: each household's money read back from the chain
equals the off-chain settlement to the token unit, and the delivery obligations audit clean."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.market.community import Feeder, Position, Tariffs, community_book
from gridledger.node import testnet
from gridledger.node.cli import build_parser, main
from gridledger.node.demo.lem_chain import ChainMoney
from gridledger.node.demo.lem_runs import LedgerDay, clearing_rows, money_mismatches, settle_day
from gridledger.node.keys import PASSPHRASE_ENV
from gridledger.sim.lem_cdt import random_book
from gridledger.sim.market_loop import feeder_of, tariffs_of, uniform_books
from gridledger.sim.runner import run_scenario
from gridledger.sim.scenario import Scenario
from gridledger.sim.scenarios import resolve
from tests.node.nodeproc import PASSPHRASE


@pytest.fixture(scope="module")
def lem27(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scenario, pd.DataFrame, pd.DataFrame]:
    """lem27's physics and off-chain market: the scenario, its ticks, the household table."""
    scenario = resolve("lem27")
    out = run_scenario(scenario, tmp_path_factory.mktemp("lem27"), show_progress=False, plots=False)
    assert out.market is not None
    return scenario, out.ticks, out.market.households


def _check_day(
    day: LedgerDay, books: list[list[Position]], tariffs: Tariffs, feeder: Feeder
) -> None:
    assert day.matches, list(day.mismatches) + [str(m) for m in day.audit.mismatches()]
    # Every household's money, as the chain's events and balances give it, to the unit.
    assert set(day.money) == set(day.reference) == {p.owner for p in books[0]}
    for name, (paid, received) in day.reference.items():
        m = day.money[name]
        assert (m.paid_units, m.received_units) == (paid, received), name
        assert m.balance_change_units == received - paid, name
    # Every order of the books reached the chain; each filled sale was audited.
    orders = sum(len(community_book(b, tariffs, feeder).orders) for b in books)
    assert day.gas.orders == orders
    assert day.filled_sells > 0 and len(day.audit.contracts) == day.filled_sells
    assert day.gas.by_kind["place"] > 0 and day.gas.by_kind["clear"] > 0
    # The sellers' proceeds were held, then released once their readings were on chain.
    assert day.gas.by_kind["release"] > 0


def test_lem27_day_on_the_embedded_chain_equals_the_off_chain_run(
    lem27: tuple[Scenario, pd.DataFrame, pd.DataFrame],
) -> None:
    scenario, ticks, households = lem27
    spec = scenario.market
    assert spec is not None
    books = uniform_books(scenario, ticks)
    tariffs, feeder = tariffs_of(spec), feeder_of(spec)
    day = settle_day(
        "embedded", books, tariffs, feeder, scenario.start_ts, spec.interval_s, lambda _: None
    )
    _check_day(day, books, tariffs, feeder)
    assert len(day.intervals) == 24
    # ... and equals what `sim run lem27` reports for the uniform auction.
    uniform = households[households["mechanism"] == "uniform"].set_index("microgrid")
    for name, m in day.money.items():
        cost_units = round(uniform.loc[name, "cost_token"] * TOKEN_UNITS)
        assert m.paid_units - m.received_units == cost_units, name
    # The grid's part went on chain too: consumers paid it, prosumers were paid.
    assert day.gas.by_kind["grid"] > 0 and day.gas.by_kind["readings"] > 0


@pytest.mark.slow
def test_lem27_midday_on_a_three_node_testnet_equals_the_off_chain_run(
    lem27: tuple[Scenario, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    os.environ[PASSPHRASE_ENV] = PASSPHRASE
    scenario, ticks, _ = lem27
    spec = scenario.market
    assert spec is not None
    books = uniform_books(scenario, ticks)[10:15]  # the hours with local trades
    tariffs, feeder = tariffs_of(spec), feeder_of(spec)
    start_ts = scenario.start_ts + 10 * spec.interval_s
    day = settle_day(
        "testnet", books, tariffs, feeder, start_ts, spec.interval_s, lambda _: None, tmp_path
    )
    assert day.ledger == "testnet"
    _check_day(day, books, tariffs, feeder)
    # Three node processes ran it, and are stopped.
    entries = testnet.load_layout(tmp_path)
    assert len(entries) == 3
    assert all(testnet.running_pid(tmp_path, e) is None for e in entries)


def test_a_difference_of_one_unit_is_reported() -> None:
    chain = {"a": ChainMoney(escrow_units=500, buy_credit_units=100, withdrawn_units=100,
                             balance_change_units=-400)}  # fmt: skip
    assert money_mismatches(chain, {"a": (400, 0)}) == []
    assert money_mismatches(chain, {"a": (401, 0)}) == [
        "a: chain paid/received 400/0 units, off-chain 401/0"
    ]
    chain["a"].balance_change_units = -399
    assert money_mismatches(chain, {"a": (400, 0)}) == [
        "a: balance changed by -399 units, its events say -400"
    ]
    chain["a"].balance_change_units, chain["a"].withdrawn_units = -400, 99
    assert money_mismatches(chain, {"a": (400, 0)}) == ["a: withdrew 99 units of 100 credited"]
    # A household the chain never saw is a difference too.
    assert money_mismatches({}, {"b": (1, 0)}) == [
        "b: chain paid/received 0/0 units, off-chain 1/0"
    ]


def test_table4_books_clear_on_chain_at_the_off_chain_price() -> None:
    tariffs = Tariffs(82_000, 320_000, 20_000)
    books = {n: random_book(n, tariffs, 0) for n in (10, 20)}
    rows = clearing_rows("embedded", books, tariffs, lambda _: None)
    assert [r.n for r in rows] == [10, 20]
    for row in rows:
        assert row.orders == row.n and row.price_matches
        # Gas is measured, not assumed: placing dominates, clearing is amortised over orders.
        assert row.place_gas_per_order > row.settle_gas_per_order > 0
        assert row.clear_gas_per_order > 0
    assert rows[1].clear_gas_per_order < rows[0].clear_gas_per_order


def test_cli_takes_a_ledger() -> None:
    args = build_parser().parse_args(["sim", "run", "lem27", "--ledger", "testnet", "--keep"])
    assert args.ledger == "testnet" and args.keep
    assert build_parser().parse_args(["sim", "run", "lem27"]).ledger == "none"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sim", "run", "lem27", "--ledger", "anvil"])


def test_sim_run_ledger_embedded_writes_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["sim", "run", "lem27", "--out", str(tmp_path), "--no-plots", "--quiet",
         "--ledger", "embedded"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    table = pd.read_csv(tmp_path / "market_ledger.csv")
    assert len(table) == 27 and (table["difference_units"] == 0).all()
    assert (table["chain_paid_units"] == table["offchain_paid_units"]).all()
    assert "equal to the token unit" in out and "0 mismatches" in out


def test_ledger_is_refused_with_a_federation(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sim", "run", "lem27", "--federation", "tcp://127.0.0.1:1", "--ledger", "embedded"]
    assert main(argv) == 2
    assert "--ledger settles a standalone run" in capsys.readouterr().err
