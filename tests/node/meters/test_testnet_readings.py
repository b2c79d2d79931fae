"""The journey's readings part with real processes: a two-node testnet, a meter admitted by
the operator (node1) under FED-MGDT's 4 kW import cap, the meter's measured CSV replayed with
`gridledger meter replay` through node2's REST API (node2 relays), and `gridledger audit` on
both nodes showing the violation, the penalty and the trust the reference model computes."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.typed import MeterReading, terms_consent
from gridledger.node.accounting import Accumulators, account, status
from gridledger.node.cli import audit as cli_audit
from gridledger.node.cli import build_parser, main
from gridledger.node.cli.meter import SAMPLE_DAY_TS
from gridledger.node.demo.experiments import fedmgdt_terms
from gridledger.node.keys import load_or_create_key
from gridledger.node.keys.api_key import load_or_create_api_key
from tests.node.meters.helpers import body, separator_of, sign
from tests.node.testnet.harness import LocalTestnet, wait_for

SAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "meter_mg1_cap4kw.csv"
CAP_W = 4000.0
# 16:00 to 21:00: the 17:00-20:00 window and an hour either side.
FIRST_S, LAST_S = 16 * 3600, 21 * 3600


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    testnet = LocalTestnet(tmp_path_factory.mktemp("meters-testnet") / "tn", 2).up()
    yield testnet
    testnet.down()


def _operator_sends(net: LocalTestnet, calls: list[Any]) -> None:
    w3 = net.w3("node1")
    operator = net.account("node1", "operator")
    nonce = w3.eth.get_transaction_count(operator.address, "pending")
    hashes = []
    for k, fn in enumerate(calls):
        tx = fn.build_transaction(
            {
                "from": operator.address,
                "nonce": nonce + k,
                "gas": 3_000_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
                "chainId": w3.eth.chain_id,
            }
        )
        hashes.append(w3.eth.send_raw_transaction(operator.sign_transaction(tx).raw_transaction))
    for h in hashes:
        assert w3.eth.wait_for_transaction_receipt(h, timeout=120)["status"] == 1


def _audit(capsys: pytest.CaptureFixture[str], rpc: str, block: int) -> dict[str, Any]:
    capsys.readouterr()
    code = cli_audit.run(
        build_parser().parse_args(["audit", "--rpc", rpc, "--block", str(block), "--json"])
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] is True
    result: dict[str, Any] = out
    return result


def test_a_replayed_meter_csv_crosses_the_cap_and_every_node_audits_it(
    net: LocalTestnet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w3 = net.w3("node1")
    addresses = json.loads((net.data_dir / "genesis.json").read_text(encoding="utf-8"))["contracts"]

    def bound(name: str) -> Any:
        return w3.eth.contract(address=addresses[name], abi=load_artifact(name).abi)

    participant: LocalAccount = Account.create()
    meter = load_or_create_key(tmp_path / "meter.json")  # encrypted, as the CLI reads it
    operator = net.account("node1", "operator")
    terms = fedmgdt_terms(participant.address, operator.address, SAMPLE_DAY_TS, CAP_W)
    consent = terms_consent(
        terms.as_abi(), bytes(participant.key), w3.eth.chain_id, addresses["ImportCap"]
    )
    _operator_sends(
        net,
        [
            bound("Registry").functions.admit(participant.address, meter.address),
            bound("ImportCap").functions.createContract(terms.as_abi(), consent),
        ],
    )

    with SAMPLE.open(encoding="utf-8") as f:
        rows = [
            r
            for r in csv.DictReader(f)
            if FIRST_S <= int(r["interval_start_ts"]) - SAMPLE_DAY_TS < LAST_S
        ]
    window_csv = tmp_path / "window.csv"
    with window_csv.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setenv("GRIDLEDGER_API_KEY", load_or_create_api_key(net.data_dir / "node2"))
    argv = ["meter", "replay", str(window_csv), "--node", net.entry("node2").url]
    argv += ["--key", str(tmp_path / "meter.json"), "--participant", participant.address]
    assert main([*argv, "--batch", "100"]) == 0
    out = capsys.readouterr().out
    assert "100/300 rows: seq 1..100" in out
    assert "posted 300 readings (seq 1..300), 300 accepted on chain, 0 rows skipped" in out

    # The readings are on chain in node2's relayer's transactions, seen by node1 as well.
    readings = [
        MeterReading(
            meter.address,
            participant.address,
            int(r["interval_start_ts"]),
            int(r["duration_s"]),
            int(r["import_wh"]),
            int(r["export_wh"]),
            k + 1,
        )
        for k, r in enumerate(rows)
    ]
    # node2 saw them accepted; node1 imports node2's last block a moment later
    metering = bound("Metering").functions
    wait_for(
        "node1 to import the last readings",
        lambda: metering.meterState(meter.address).call()[0] == 300,
    )
    state = metering.meterState(meter.address).call()
    block = w3.eth.block_number
    wait_for("node2 to reach node1's head", lambda: net.w3("node2").eth.block_number >= block)
    assert tuple(state) == (300, readings[-1].interval_start_ts + 60)

    ref = status(terms, account(terms, Accumulators(), readings))
    assert ref.violation_wh > 0 and ref.trust < 0.01  # 4 kW is crossed: FED-MGDT's E1
    audits = [_audit(capsys, f"{net.entry(name).url}/rpc", block) for name in ("node1", "node2")]
    assert audits[0]["contracts"] == audits[1]["contracts"]
    (contract,) = audits[0]["contracts"]
    shown = contract["status"]
    assert shown["violation_wh"] == ref.violation_wh
    assert shown["total_wh"] == ref.total_wh
    assert shown["penalty_units"] == ref.penalty_units
    assert shown["compliance_wad"] == ref.compliance_wad
    assert contract["derived"]["trust"] == pytest.approx(ref.trust, rel=1e-9)
    assert contract["readings_in_window"] == 180
    assert contract["mismatches"] == []
    violations = requests.get(
        f"{net.entry('node1').url}/v1/violations",
        params={"participant": participant.address},
        timeout=10,
    ).json()["violations"]
    assert violations and violations[-1]["cumulative_violation_wh"] == ref.violation_wh

    # Replaying again resumes where the chain is: nothing left to post.
    assert main([*argv]) == 0
    assert "posted 0 readings" in capsys.readouterr().out
    # A gap on the testnet is refused, precisely, and stores nothing.
    separator = separator_of(w3, addresses["Metering"])
    gap = sign(meter, participant.address, separator, SAMPLE_DAY_TS + LAST_S + 60, range(302, 303))
    reply = net.post("node2", "/v1/readings", body(gap))
    assert reply.status_code == 409 and reply.json()["error"] == "MeteringSequenceGap"
    assert reply.json()["readings"][0]["refusal"]["args"]["expectedSeq"] == 301
