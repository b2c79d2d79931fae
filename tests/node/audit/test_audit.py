"""`gridledger audit` against a node's /rpc alone (FED-MGDT days of E1 and E3), its output
formats, and mismatch detection through a source that tampers with what the chain returned.
Anvil: test_audit_anvil.py; a testnet: test_audit_testnet.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.enums import BoundKind
from gridledger.contracts.typed import MeterReading, domain_separator, sign_reading, terms_consent
from gridledger.contracts.units import WAD
from gridledger.node.accounting import Accumulators, ContractTerms, account, status
from gridledger.node.audit import format as audit_format
from gridledger.node.audit.chain import ChainReader
from gridledger.node.cli import audit as cli_audit
from gridledger.node.cli import build_parser
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.node.views.events import LogDecoder
from gridledger.sim.fedmgdt import FEDMGDT_CAPS_W, simulate_mg1_day
from tests.node.rest.inprocess import InProcessNode

BATCH = 120
BATCH_GAS = 6_000_000


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
            consent = terms_consent(
                terms.as_abi(),
                bytes(participant.key),
                int(node.w3.eth.chain_id),
                node.contract("ImportCap").address,
            )
            receipt = node.send("operator", import_cap.createContract(terms.as_abi(), consent))
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
    assert f"contract {e1.contract_id} (import cap)" in out
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


def test_the_command_line_and_a_node_url_without_rpc(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gridledger.node.cli", "audit", "--rpc", on_node.rpc_url, "--csv"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert (
        done.stdout.startswith("contract_id,kind,importer,") and len(done.stdout.splitlines()) == 3
    )
    code, _, err = run_audit(capsys, "--rpc", on_node.node.url)
    assert code == 2
    assert "(a gridledger node serves JSON-RPC on /rpc)" in err
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["audit", "--help"])
    assert exc.value.code == 0
    assert "--import-cap ADDR" in capsys.readouterr().out


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
    e1_events = sum(1 for r in in_window if over_cap(r))
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
    differing = e1_events - event_index  # the tampered event and every later cumulative
    listed = "violation events differing (first 10 listed)"
    assert f"{listed}: chain {differing}, reference 0" in out
    assert f"MISMATCH participant {e1.terms.importer}: exposure_wad" in out
    assert out.splitlines()[-1].endswith("MISMATCH(ES)")
    assert err == ""
    # The other contract's importer was not tampered with.
    blocks = {b.split(" ", 2)[1]: b for b in out.split("\n\n") if b.startswith("contract ")}
    assert "MISMATCH(ES)" in blocks[str(cid)]
    assert "matches the reference model" in blocks[str(on_node.placed[8000.0].contract_id)]


def test_a_reading_missing_from_the_sequence_is_reported(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    # Metering accepts a meter's readings only as seq 1, 2, 3, ...; the auditor checks the
    # same rule, so a reading missing from what the chain returned is a mismatch.
    e1 = on_node.placed[4000.0]
    importer = e1.terms.importer

    def drop_seq_5(readings: list[Any]) -> list[Any]:
        return [r for r in readings if not (r.participant == importer and r.seq == 5)]

    code, out, _ = run_audit(
        capsys, "--rpc", on_node.rpc_url, wrap=lambda reader: Tampered(reader, readings=drop_seq_5)
    )
    assert code == 1
    assert f"MISMATCH participant {importer}: reading seq: chain 6, reference 5" in out


def test_a_dropped_event_and_a_wrong_bound_are_reported_in_json_and_on_stderr(
    on_node: NodeScenario, capsys: pytest.CaptureFixture[str]
) -> None:
    e1, e3 = on_node.placed[4000.0], on_node.placed[8000.0]

    def drop_last_event_of_e1_add_one_of_999(violations: list[Any]) -> list[Any]:
        last = max(i for i, v in enumerate(violations) if v.contract_id == e1.contract_id)
        orphan = violations[0].model_copy(update={"contract_id": 999})
        return [*violations[:last], *violations[last + 1 :], orphan]

    def raise_e3_bound(terms: ContractTerms) -> ContractTerms:
        mine = terms.importer == e3.terms.importer
        return replace(terms, upper_w=terms.upper_w + 2000) if mine else terms

    code, out, err = run_audit(
        capsys,
        "--rpc",
        on_node.rpc_url,
        "--json",
        wrap=lambda reader: Tampered(
            reader, violations=drop_last_event_of_e1_add_one_of_999, terms=raise_e3_bound
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
    orphan = {
        "subject": "contract 999",
        "field": "violation events of a contract not audited",
        "chain": 1,
        "reference": 0,
    }
    assert orphan in doc["mismatches"]


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("kind", "window", "bound", "window_text"),
    [
        (BoundKind.UPPER, (61_200, 72_000), "P <= 4000 W", "17:00-20:00 UTC"),
        (BoundKind.LOWER, (0, 0), "P >= -2000 W", "all day"),
        (
            BoundKind.RANGE,
            (79_230, 21_600),
            "-2000 W <= P <= 4000 W",
            "22:00:30-06:00 UTC (wraps midnight)",
        ),
    ],
)
def test_terms_are_written_as_formulas_and_clock_times(
    kind: BoundKind, window: tuple[int, int], bound: str, window_text: str
) -> None:
    terms = fedmgdt_terms("0x" + "11" * 20, "0x" + "22" * 20, 0, 4000)
    terms = replace(
        terms, kind=kind, window_start_s=window[0], window_end_s=window[1], lower_w=-2000
    )
    assert audit_format.bound_text(terms) == bound
    assert audit_format.window_text(terms) == window_text
    assert audit_format.TERMS_JSON.dump_python(terms, mode="json")["kind"] == kind.name.lower()


def test_exact_decimals() -> None:
    assert audit_format.exact(10_120_333, 6) == "10.120333"
    assert audit_format.exact(542_169_946_467_616_677, 18) == "0.542169946467616677"
    assert audit_format.exact(10**18, 18) == "1.000000000000000000"
    assert audit_format.exact(7, 3) == "0.007"
    assert audit_format.trimmed(10**6, 6) == "1"
    assert audit_format.trimmed(WAD // 2, 18) == "0.5"


def test_log_decoder_agrees_with_web3_and_skips_other_layouts() -> None:
    decoder = LogDecoder(load_artifact("Metering").abi, "ReadingAccepted")
    participant = to_checksum_address("0x" + "ab" * 20)
    log: Any = {
        "address": to_checksum_address("0x" + "cd" * 20),
        "topics": [decoder.topic0, HexBytes(encode(["address"], [participant]))],
        "data": HexBytes(
            encode(["uint64", "uint32", "uint64", "uint64", "uint64"], [7, 60, 9, 2, 3])
        ),
        "blockNumber": 5,
        "blockHash": HexBytes(b"\x01" * 32),
        "logIndex": 2,
        "transactionHash": HexBytes(b"\x02" * 32),
        "transactionIndex": 0,
        "removed": False,
    }
    ours = decoder.decode(log)
    theirs = (
        Web3()
        .eth.contract(abi=load_artifact("Metering").abi)
        .events.ReadingAccepted()
        .process_log(log)
    )
    assert ours is not None and dict(ours["args"]) == dict(theirs["args"])
    assert (ours["blockNumber"], ours["logIndex"], ours["address"]) == (5, 2, log["address"])
    assert decoder.decode({**log, "topics": log["topics"][:1]}) is None
    assert decoder.decode({**log, "data": HexBytes(b"\x00" * 31)}) is None
    assert decoder.topics({"participant": participant})[1] == log["topics"][1]
    other = to_checksum_address("0x" + "ef" * 20)
    either = decoder.topics({"participant": [participant, other]})[1]
    assert either == [log["topics"][1], HexBytes(encode(["address"], [other]))]
    with pytest.raises(ValueError, match=r"no indexed argument\(s\) \['seq'\]"):
        decoder.topics({"seq": 3})
