"""`gridledger operator|regulator|market|orders|trust|balance` against an in-process node that
runs the operator service: what each prints, and its refusals as `error: ...` with exit 1
(the node refused) or 2 (bad usage) that change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from eth_account import Account

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.cli import main
from gridledger.node.config import OperatorConfig
from gridledger.node.keys.api_key import API_KEY_ENV, load_or_create_api_key
from tests.node.rest.inprocess import InProcessNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    config = OperatorConfig(auto_clear=False, faucet_grant_units=0)
    node = InProcessNode(tmp_path_factory.mktemp("cli") / "data", operator=config)
    node.admit_prosumer(0)
    yield node
    node.stop()


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)


def run(node: InProcessNode, role: str | None, *argv: str) -> int:
    args = [*argv, "--node", node.url]
    if role is not None:
        args += ["--api-key", load_or_create_api_key(node.data_dir, role)]
    return main(args)


def test_admit_prints_and_a_duplicate_exits_1_with_the_contracts_error(
    node: InProcessNode, capsys: pytest.CaptureFixture[str]
) -> None:
    participant, meter = Account.create().address, Account.create().address
    assert run(node, "operator", "operator", "admit", participant, meter) == 0
    assert f"admitted {participant} with meter {meter}" in capsys.readouterr().out
    assert run(node, "operator", "operator", "admit", participant, meter) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 409 RegistryAlreadyAdmitted: the contract refused")
    assert participant in err


def test_fund_an_admitted_account_and_refuse_an_unknown_one(
    node: InProcessNode, capsys: pytest.CaptureFixture[str]
) -> None:
    prosumer = node.address("prosumer")
    token = node.contract("GridToken").functions
    before = token.balanceOf(prosumer).call()
    assert run(node, "operator", "operator", "fund", prosumer, "--tokens", "12.5") == 0
    assert token.balanceOf(prosumer).call() - before == 12_500_000
    assert "minted 12.5 tokens" in capsys.readouterr().out
    stranger = Account.create().address
    assert run(node, "operator", "operator", "fund", stranger, "--tokens", "1") == 1
    assert "error: 404 UnknownParticipant" in capsys.readouterr().err
    assert token.balanceOf(stranger).call() == 0


def test_an_amount_finer_than_a_unit_is_a_usage_error(
    node: InProcessNode, capsys: pytest.CaptureFixture[str]
) -> None:
    prosumer = node.address("prosumer")
    assert run(node, "operator", "operator", "fund", prosumer, "--tokens", "0.0000001") == 2
    assert "finer than 1/1000000" in capsys.readouterr().err


def test_no_key_is_a_usage_error_and_a_wrong_one_is_refused(
    node: InProcessNode, capsys: pytest.CaptureFixture[str]
) -> None:
    participant, meter = Account.create().address, Account.create().address
    assert run(node, None, "operator", "admit", participant, meter) == 2
    assert "give --api-key" in capsys.readouterr().err
    assert run(node, "regulator", "operator", "admit", participant, meter) == 1
    assert "error: 403 WrongRole" in capsys.readouterr().err
    code = main(["operator", "admit", participant, meter, "--node", node.url, "--api-key", "x"])
    assert code == 1
    assert "error: 401 Unauthorized: wrong API key" in capsys.readouterr().err
    assert not node.contract("Registry").functions.isActive(participant).call()


def test_a_cap_with_consent_and_one_outside_the_bounds(
    node: InProcessNode, capsys: pytest.CaptureFixture[str]
) -> None:
    importer = ["--importer-node", node.url]
    importer += ["--importer-api-key", load_or_create_api_key(node.data_dir, "prosumer")]
    cap = node.contract("ImportCap").functions
    count = cap.contractCount().call()
    base = ["operator", "cap", *importer, "--window", "17:00-20:00"]
    assert run(node, "operator", *base, "--upper-kw", "6") == 0
    assert (
        f"import cap {count} on {node.address('prosumer')}: upper 0..6000 W"
        in capsys.readouterr().out
    )
    terms = cap.contractTerms(count).call()
    assert (terms[2], terms[3], terms[8]) == (61_200, 72_000, 6_000)
    assert terms[9] == TOKEN_UNITS and terms[10] == 5 * 10**17
    assert run(node, "operator", *base, "--upper-kw", "2000") == 1
    assert "error: 422 ImportCapBoundOutsideRegulation" in capsys.readouterr().err
    assert cap.contractCount().call() == count + 1


def test_the_regulator_reads_and_refuses_a_band_upside_down(
    node: InProcessNode, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(node, None, "regulator", "rules", "--json") == 0
    rules = json.loads(capsys.readouterr().out)
    assert rules["price_floor_per_kwh"] == 80_000
    assert run(node, "regulator", "regulator", "band", "0.3", "0.1") == 1
    assert "error: 422 RegulationInvalidPriceBand" in capsys.readouterr().err
    assert run(node, "regulator", "regulator", "charge", "0.02") == 0
    assert "network_charge_per_kwh     20000" in capsys.readouterr().out
    assert run(node, "regulator", "regulator", "charge", "0.01") == 0


def test_the_reads_take_json(node: InProcessNode, capsys: pytest.CaptureFixture[str]) -> None:
    prosumer = node.address("prosumer")
    assert run(node, None, "market", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["interval"]["interval"] == doc["market"]["last_closed_interval"]
    assert run(node, None, "trust", prosumer, "--json") == 0
    assert json.loads(capsys.readouterr().out)["trust_wad"] == 10**18
    assert run(node, None, "balance", prosumer, "--json") == 0
    assert json.loads(capsys.readouterr().out)["active"] is True
    assert run(node, None, "orders", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(node, None, "trust", "0x12") == 1
    assert "error: 422 ValidationError" in capsys.readouterr().err
