"""`gridledger audit` against anvil, i.e. any JSON-RPC endpoint without gridledger's REST:
FED-MGDT import caps and market delivery obligations, addresses from a contracts file or
from the ImportCap address alone, and bad input (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gridledger.contracts.typed import MeterReading
from gridledger.market.witness import witness_for
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.node.demo.inprocess import DEMO_BOOK
from gridledger.node.launch import free_port
from gridledger.sim.fedmgdt import FEDMGDT_CAPS_W, simulate_mg1_day
from tests.contracts.engine_anvil import AnvilEngine, AnvilUnavailableError, anvil_binary
from tests.contracts.harness import DAY0_TS, Stack, build_stack
from tests.contracts.market_helpers import (
    INTERVAL_S,
    clear_on_chain,
    close_gate,
    fund_all,
    open_interval,
    place,
)
from tests.node.audit.test_audit import BATCH, BATCH_GAS, Placed, reference_status, run_audit

# ---------------------------------------------------------------- anvil: any JSON-RPC endpoint


@dataclass
class AnvilScenario:
    engine: AnvilEngine
    stack: Stack
    placed: dict[float, Placed]
    # (seller index, delivery id, expected E_viol [Wh]) of the cleared sells with a fill.
    deliveries: list[tuple[int, int, int]]


def _delivery_readings(stack: Stack, who: int, interval: int, export_wh: int) -> list[MeterReading]:
    p = stack.participants[who]
    start = DAY0_TS + interval * INTERVAL_S
    return [
        MeterReading(p.meter, p.address, start + 60 * k, 60, 0, export_wh, 1441 + k)
        for k in range(INTERVAL_S // 60)
    ]


@pytest.fixture(scope="module")
def on_anvil() -> Iterator[AnvilScenario]:
    """FED-MGDT E1-E4 (yesterday) and one market interval whose two filled sellers then
    deliver: seller 0 exports 3.6 kW against a sold 4.8 kW, seller 1 3 kW against 2.8 kW."""
    try:
        anvil_binary()
    except AnvilUnavailableError as exc:
        pytest.skip(str(exc))
    with AnvilEngine() as engine:
        stack = build_stack(engine)
        stack.at_time(DAY0_TS)
        day_ts = DAY0_TS - 86_400
        placed: dict[float, Placed] = {}
        for p, cap_w in zip(stack.participants, FEDMGDT_CAPS_W, strict=False):
            terms = fedmgdt_terms(p.address, stack.roles.operator, day_ts, cap_w)
            receipt = stack.transact(
                stack.import_cap.functions.createContract(
                    terms.as_abi(), stack.consent(terms.as_abi())
                ),
                stack.roles.operator,
            )
            (created,) = stack.events(stack.import_cap, "ContractCreated", receipt)
            readings = day_readings(simulate_mg1_day(cap_w), p.meter, p.address, day_ts)
            for i in range(0, len(readings), BATCH):
                chunk = readings[i : i + BATCH]
                stack.submit_readings(chunk, [p.meter_key] * len(chunk), gas=BATCH_GAS)
            placed[cap_w] = Placed(int(created["args"]["contractId"]), terms, readings)

        fund_all(stack)
        interval = open_interval(stack)
        orders = [
            place(stack, stack.participants[w], interval, s, q, pr).order
            for w, s, q, pr in DEMO_BOOK
        ]
        close_gate(stack, interval)
        clear_on_chain(stack, interval, witness_for(orders))
        stack.at_time(DAY0_TS + (interval + 1) * INTERVAL_S + 60)
        for who, export_wh in ((0, 60), (1, 50), (2, 40)):
            readings = _delivery_readings(stack, who, interval, export_wh)
            stack.submit_readings(readings, [stack.participants[who].meter_key] * len(readings))
        ids = [
            (
                who,
                int(
                    stack.import_cap.functions.deliveryId(
                        stack.participants[who].address, interval
                    ).call()
                ),
            )
            for who in (0, 1)
        ]
        # V = 1,900 Wh: seller 0 fills 1,200 Wh (4,800 W), seller 1 700 Wh (2,800 W), seller 2
        # nothing. Seller 0 falls 1,200 W short for 15 min: 300 Wh; seller 1 exceeds its bound.
        deliveries = [(ids[0][0], ids[0][1], 300), (ids[1][0], ids[1][1], 0)]
        yield AnvilScenario(engine, stack, placed, deliveries)


def _contracts_file(tmp_path: Path, stack: Stack, chain_id: int) -> Path:
    path = tmp_path / "contracts.json"
    path.write_text(
        json.dumps({"chainId": chain_id, "addresses": stack.deployment.addresses}), encoding="utf-8"
    )
    return path


def test_anvil_with_a_contracts_file_audits_caps_and_deliveries(
    on_anvil: AnvilScenario, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    contracts = _contracts_file(tmp_path, on_anvil.stack, on_anvil.engine.w3.eth.chain_id)
    code, out, err = run_audit(
        capsys, "--rpc", on_anvil.engine.url, "--contracts", str(contracts), "--json"
    )
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["ok"] is True and doc["addresses"]["Trust"] is not None
    by_id = {c["id"]: c for c in doc["contracts"]}
    expected_ids = [p.contract_id for p in on_anvil.placed.values()] + [
        d[1] for d in on_anvil.deliveries
    ]
    assert sorted(by_id) == sorted(expected_ids)
    e_viol = []
    for placed in on_anvil.placed.values():
        s = by_id[placed.contract_id]["status"]
        got = [s["violation_wh"], s["total_wh"], s["compliance_wad"], s["penalty_units"]]
        assert got == reference_status(placed)
        e_viol.append(s["violation_wh"])
    assert e_viol == sorted(e_viol, reverse=True) and e_viol[0] > 0 and e_viol[-1] == 0
    upper_w = {0: -4800, 1: -2800}
    for who, delivery_id, violation_wh in on_anvil.deliveries:
        c = by_id[delivery_id]
        assert c["kind"] == "delivery"
        assert c["terms"]["upper_w"] == upper_w[who]
        assert c["terms"]["importer"] == on_anvil.stack.participants[who].address
        assert c["status"]["violation_wh"] == violation_wh
        assert c["violation_events"] == (15 if violation_wh else 0)
        assert c["readings_in_window"] == 15
    seller0 = on_anvil.stack.participants[0].address
    (p0,) = [p for p in doc["participants"] if p["address"] == seller0]
    assert sorted(p0["contract_ids"]) == sorted(
        [on_anvil.placed[4000.0].contract_id, on_anvil.deliveries[0][1]]
    )
    assert p0["exposure_wad"] == p0["reference_exposure_wad"]
    assert p0["trust_wad"] == on_anvil.stack.trust.functions.trustOf(seller0).call()


def test_anvil_with_the_import_cap_address_alone_finds_metering_itself(
    on_anvil: AnvilScenario, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = on_anvil.engine.url
    code, out, _ = run_audit(
        capsys, "--rpc", url, "--import-cap", on_anvil.stack.import_cap.address, "--json"
    )
    assert code == 0
    alone = json.loads(out)
    assert alone["addresses"]["Metering"] is None and alone["addresses_source"] == "--import-cap"
    contracts = _contracts_file(tmp_path, on_anvil.stack, on_anvil.engine.w3.eth.chain_id)
    _, out, _ = run_audit(capsys, "--rpc", url, "--contracts", str(contracts), "--json")
    with_file = json.loads(out)
    assert alone["contracts"] == with_file["contracts"]
    assert len(alone["contracts"]) == 6
    code, table, _ = run_audit(
        capsys, "--rpc", url, "--import-cap", on_anvil.stack.import_cap.address
    )
    assert code == 0
    for who, delivery_id, _ in on_anvil.deliveries:
        seller = on_anvil.stack.participants[who].address
        assert f"contract {delivery_id:#x} (delivery, market interval " in table
        assert f"importer      {seller}" in table
    assert "upper: P <= -4800 W, window all day" in table


# ---------------------------------------------------------------- bad input: exit 2


def test_bad_input_is_a_clear_error_with_exit_status_2(
    on_anvil: AnvilScenario, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = on_anvil.engine.url
    stack = on_anvil.stack
    genesis_style = tmp_path / "genesis.json"
    genesis_style.write_text(
        json.dumps({"chain_id": 1, "contracts": stack.deployment.addresses}), encoding="utf-8"
    )
    no_cap = tmp_path / "partial.json"
    no_cap.write_text(json.dumps({"Metering": stack.metering.address}), encoding="utf-8")
    cases = [
        (["--rpc", f"http://127.0.0.1:{free_port()}/rpc"], "cannot reach a JSON-RPC endpoint"),
        (["--rpc", "localhost:8545"], "is not an http(s) URL"),
        (["--rpc", url], "pass --contracts FILE"),
        (["--rpc", url, "--import-cap", "0x1234"], "'0x1234' is not an address"),
        (["--rpc", url, "--import-cap", stack.roles.operator], "no contract at ImportCap address"),
        (["--rpc", url, "--import-cap", stack.metering.address], "not an ImportCap contract"),
        (["--rpc", url, "--contracts", str(tmp_path / "none.json")], "does not exist"),
        (["--rpc", url, "--contracts", str(genesis_style)], "is for chain 1, the endpoint"),
        (["--rpc", url, "--contracts", str(no_cap)], "names no ImportCap address"),
        (
            ["--rpc", url, "--import-cap", stack.import_cap.address, "--participant", "nobody"],
            "--participant 'nobody' is not an address",
        ),
        (
            ["--rpc", url, "--import-cap", stack.import_cap.address, "--block", "99999999"],
            "is not in 0..",
        ),
    ]
    for argv, message in cases:
        code, out, err = run_audit(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.startswith("error: ") and message in err, (argv, err)


def test_a_metering_of_another_import_cap_is_refused(
    on_anvil: AnvilScenario, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    addresses = dict(on_anvil.stack.deployment.addresses)
    addresses["Metering"] = addresses["Registry"]
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(addresses), encoding="utf-8")
    code, _, err = run_audit(capsys, "--rpc", on_anvil.engine.url, "--contracts", str(wrong))
    assert code == 2
    assert f"Metering {addresses['Registry']} does not forward readings to ImportCap" in err


def test_a_participant_without_contracts_is_said_not_an_error(
    on_anvil: AnvilScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    buyer = on_anvil.stack.participants[5].address  # bought in the market, holds no contract
    code, out, err = run_audit(
        capsys,
        "--rpc",
        on_anvil.engine.url,
        "--import-cap",
        on_anvil.stack.import_cap.address,
        "--participant",
        buyer,
    )
    assert code == 0
    assert (
        err
        == f"no contracts of participant {buyer} on ImportCap {on_anvil.stack.import_cap.address}\n"
    )
    last = out.splitlines()[-1]
    assert last.startswith("0 contract(s), 0 participant(s) audited at block ")
    assert last.endswith(": all match the reference model")
