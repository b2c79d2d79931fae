"""`gridledger audit`: against a node's /rpc with FED-MGDT readings, against anvil (any JSON-RPC
endpoint) with import caps and market delivery obligations, mismatch detection through a
tampering source, and bad input (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from contracts.typed import MeterReading, domain_separator, sign_reading
from market.orders import Side
from market.witness import witness_for
from node import cli_audit
from node.accounting import Accumulators, ContractTerms, account, status
from node.audit_chain import ChainReader
from node.cli import build_parser
from node.experiments import day_readings, fedmgdt_terms
from node.launch import free_port
from sim.fedmgdt import FEDMGDT_CAPS_W, simulate_mg1_day
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
from tests.node.rest.inprocess import InProcessNode

BATCH = 120
BATCH_GAS = 6_000_000
WAD = 10**18


@dataclass(frozen=True, slots=True)
class Placed:
    """One contract the scenario created, with the readings its importer's meter signed."""

    contract_id: int
    terms: ContractTerms
    readings: list[MeterReading]


def run_audit(
    capsys: pytest.CaptureFixture[str], *argv: str, wrap: Callable[[Any], Any] | None = None
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli_audit.run(build_parser().parse_args(["audit", *argv]), wrap)
    out, err = capsys.readouterr()
    return code, out, err


def reference_status(placed: Placed) -> list[int]:
    """The reference model over the readings the test itself signed (not the chain's events)."""
    s = status(placed.terms, account(placed.terms, Accumulators(), placed.readings))
    return [s.violation_wh, s.total_wh, s.compliance_wad, s.penalty_units]


# ---------------------------------------------------------------- a node with FED-MGDT days


@dataclass
class NodeScenario:
    node: InProcessNode
    rpc_url: str
    placed: dict[float, Placed]  # by cap [W]
    block_before_readings: int


def _submit_on_node(
    node: InProcessNode, readings: Sequence[MeterReading], meter_key: bytes
) -> None:
    metering = node.contract("Metering")
    separator = domain_separator(node.w3.eth.chain_id, metering.address)
    sigs = [sign_reading(r, meter_key, separator).as_abi() for r in readings]
    hashes = []
    for i in range(0, len(readings), BATCH):
        call = metering.functions.submitReadings(
            [r.as_abi() for r in readings[i : i + BATCH]], sigs[i : i + BATCH]
        )
        hashes.append(call.transact({"from": node.address("operator"), "gas": BATCH_GAS}))
    for tx_hash in hashes:
        assert node.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)["status"] == 1


@pytest.fixture(scope="module")
def on_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeScenario]:
    """E1 (4 kW) and E3 (8 kW) of FED-MGDT: one MG1 replica each, the whole day of one-minute
    readings two days before the node's clock."""
    node = InProcessNode(tmp_path_factory.mktemp("audit-node") / "data")
    try:
        head_ts = node.head_ts()
        day_ts = head_ts - head_ts % 86_400 - 2 * 86_400
        import_cap = node.contract("ImportCap").functions
        placed: dict[float, Placed] = {}
        members = []
        for cap_w in (FEDMGDT_CAPS_W[0], FEDMGDT_CAPS_W[2]):
            participant, meter = node.new_participant()
            terms = fedmgdt_terms(participant.address, node.address("operator"), day_ts, cap_w)
            receipt = node.send("operator", import_cap.createContract(terms.as_abi()))
            (created,) = (
                node.contract("ImportCap").events.ContractCreated().process_receipt(receipt)
            )
            readings = day_readings(
                simulate_mg1_day(cap_w), meter.address, participant.address, day_ts
            )
            placed[cap_w] = Placed(int(created["args"]["contractId"]), terms, readings)
            members.append((readings, bytes(meter.key)))
        block_before = int(node.w3.eth.block_number)
        for readings, key in members:
            _submit_on_node(node, readings, key)
        yield NodeScenario(node, f"{node.url}/rpc", placed, block_before)
    finally:
        node.stop()


def test_node_rpc_alone_audits_every_contract_against_the_reference(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_audit(capsys, "--rpc", on_node.rpc_url, "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["ok"] is True and doc["mismatches"] == []
    assert doc["addresses_source"].endswith("/v1/contracts/addresses")
    import_cap = on_node.node.contract("ImportCap").functions
    by_id = {c["id"]: c for c in doc["contracts"]}
    assert sorted(by_id) == sorted(p.contract_id for p in on_node.placed.values())
    for placed in on_node.placed.values():
        c = by_id[placed.contract_id]
        chain = import_cap.contractStatus(placed.contract_id).call(block_identifier=doc["block"])
        s = c["status"]
        got = [s["violation_wh"], s["total_wh"], s["compliance_wad"], s["penalty_units"]]
        assert [*got, s["trust_wad"]] == chain
        assert got == reference_status(placed)
        assert c["terms"]["upper_w"] == placed.terms.upper_w
        assert c["terms"]["kind"] == "upper" and c["kind"] == "import-cap"
        events = (
            on_node.node.contract("ImportCap")
            .events.ViolationRecorded()
            .get_logs(from_block=0, argument_filters={"contractId": placed.contract_id})
        )
        assert [v["violation_wh"] for v in c["violations"]] == [
            e["args"]["violationWh"] for e in events
        ]
        assert c["violation_events"] == len(events) > 0
        assert c["readings_in_window"] == 180  # 17:00-20:00 at one reading per minute
    e_viol = [
        by_id[on_node.placed[cap].contract_id]["derived"]["violation_kwh"]
        for cap in (4000.0, 8000.0)
    ]
    assert e_viol[0] > e_viol[1] > 0
    for p in doc["participants"]:
        assert p["exposure_wad"] == p["reference_exposure_wad"] > 0
        assert abs(p["trust_wad"] / WAD - p["reference_trust"]) <= 1e-12


def test_table_csv_participant_filter_and_earlier_block(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    e1 = on_node.placed[4000.0]
    code, out, _ = run_audit(capsys, "--rpc", on_node.rpc_url)
    assert code == 0
    assert f"contract {e1.contract_id} (import-cap)" in out
    assert "upper: P <= 4000 W, window 17:00-20:00 UTC" in out
    assert "2 contract(s), 2 participant(s) audited" in out and "all match" in out

    code, out, _ = run_audit(
        capsys, "--rpc", on_node.rpc_url, "--csv", "--participant", e1.terms.importer.lower()
    )
    assert code == 0
    header, row, *rest = out.splitlines()
    assert rest == []
    fields = dict(zip(header.split(","), row.split(","), strict=True))
    violation_wh, total_wh, compliance_wad, penalty_units = reference_status(e1)
    assert fields["e_total_kwh"] == f"{total_wh / 1000:.3f}"
    assert fields["e_viol_kwh"] == f"{violation_wh / 1000:.3f}"
    assert fields["penalty_tokens"] == f"{penalty_units / 10**6:.6f}"
    assert fields["compliance"] == f"0.{compliance_wad:018d}"
    assert (fields["contract_id"], fields["mismatches"]) == (str(e1.contract_id), "0")

    code, out, _ = run_audit(
        capsys, "--rpc", on_node.rpc_url, "--json", "--block", str(on_node.block_before_readings)
    )
    assert code == 0
    doc = json.loads(out)
    assert [c["status"]["violation_wh"] for c in doc["contracts"]] == [0, 0]
    assert [c["violation_events"] for c in doc["contracts"]] == [0, 0]


# ---------------------------------------------------------------- mismatch detection


class Tampered:
    """A source that changes what the chain returned before the auditor sees it."""

    def __init__(self, inner: ChainReader, **overrides: Callable[..., Any]) -> None:
        self._inner = inner
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            original = getattr(self._inner, name)
            return lambda *args: self._overrides[name](original(*args))
        return getattr(self._inner, name)


def test_a_tampered_reading_is_reported_with_both_values(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    e1 = on_node.placed[4000.0]

    # The first reading from 18:00 on that is already over the cap gets 100 Wh more import.
    def over_cap(r: MeterReading) -> bool:
        return (r.import_wh - r.export_wh) * 3600 > e1.terms.upper_w * r.duration_s

    in_window = [r for r in e1.readings if e1.terms.applies_at(r.interval_start_ts)]
    target = next(r for r in in_window if r.interval_start_ts % 86_400 >= 64_800 and over_cap(r))
    event_index = sum(
        1 for r in in_window if r.interval_start_ts < target.interval_start_ts and over_cap(r)
    )

    def add_import(readings: list[Any]) -> list[Any]:
        return [
            r.model_copy(update={"import_wh": r.import_wh + 100})
            if r.participant == e1.terms.importer
            and r.interval_start_ts == target.interval_start_ts
            else r
            for r in readings
        ]

    code, out, err = run_audit(
        capsys,
        "--rpc",
        on_node.rpc_url,
        wrap=lambda reader: Tampered(reader, readings=add_import),
    )
    assert code == 1
    violation_wh, total_wh, _, _ = reference_status(e1)
    cid = e1.contract_id
    assert f"violation_wh: chain {violation_wh}, reference {violation_wh + 100}" in out
    assert f"total_wh: chain {total_wh}, reference {total_wh + 100}" in out
    assert f"violation event {event_index} violation_wh: chain" in out
    assert f"violation event {event_index + 1} cumulative_violation_wh: chain" in out
    assert f"MISMATCH participant {e1.terms.importer}: exposure_wad" in out
    assert out.splitlines()[-1].endswith("MISMATCH(ES)")
    assert err == ""
    # The other contract's importer was not tampered with.
    blocks = {b.split(" ", 2)[1]: b for b in out.split("\n\n") if b.startswith("contract ")}
    assert "MISMATCH(ES)" in blocks[str(cid)]
    assert "matches the reference model" in blocks[str(on_node.placed[8000.0].contract_id)]


def test_a_dropped_event_and_a_wrong_bound_are_reported_in_json_and_on_stderr(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    e1, e3 = on_node.placed[4000.0], on_node.placed[8000.0]

    def drop_last_event_of_e1(violations: list[Any]) -> list[Any]:
        last = max(i for i, v in enumerate(violations) if v.contract_id == e1.contract_id)
        return violations[:last] + violations[last + 1 :]

    def raise_e3_bound(terms: ContractTerms) -> ContractTerms:
        mine = terms.importer == e3.terms.importer
        return replace(terms, upper_w=terms.upper_w + 2000) if mine else terms

    code, out, err = run_audit(
        capsys,
        "--rpc",
        on_node.rpc_url,
        "--json",
        wrap=lambda reader: Tampered(
            reader, violations=drop_last_event_of_e1, terms=raise_e3_bound
        ),
    )
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    by_id = {c["id"]: c for c in doc["contracts"]}
    count = by_id[e1.contract_id]["violation_events"]
    assert {
        "subject": f"contract {e1.contract_id}",
        "field": "violation events",
        "chain": count,
        "reference": count + 1,
    } in by_id[e1.contract_id]["mismatches"]
    e3_fields = {m["field"] for m in by_id[e3.contract_id]["mismatches"]}
    assert {"violation_wh", "penalty_units", "compliance_wad", "violation events"} <= e3_fields
    chain_wh = by_id[e3.contract_id]["status"]["violation_wh"]
    assert f"MISMATCH contract {e3.contract_id}: violation_wh: chain {chain_wh}, reference 0" in err


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
                stack.import_cap.functions.createContract(terms.as_abi()), stack.roles.operator
            )
            (created,) = stack.events(stack.import_cap, "ContractCreated", receipt)
            readings = day_readings(simulate_mg1_day(cap_w), p.meter, p.address, day_ts)
            for i in range(0, len(readings), BATCH):
                chunk = readings[i : i + BATCH]
                stack.submit_readings(chunk, [p.meter_key] * len(chunk), gas=BATCH_GAS)
            placed[cap_w] = Placed(int(created["args"]["contractId"]), terms, readings)

        fund_all(stack)
        interval = open_interval(stack)
        book = [
            (0, Side.SELL, 1_200, 90_000),
            (1, Side.SELL, 800, 120_000),
            (2, Side.SELL, 1_500, 200_000),
            (3, Side.BUY, 1_000, 250_000),
            (4, Side.BUY, 900, 180_000),
            (5, Side.BUY, 1_100, 110_000),
        ]
        orders = [
            place(stack, stack.participants[w], interval, s, q, pr).order for w, s, q, pr in book
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
