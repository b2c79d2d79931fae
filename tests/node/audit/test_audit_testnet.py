"""`gridledger audit` on a two-node testnet: Aura-sealed blocks (73-byte extraData), node1
audited by its /rpc alone, node2 by its /rpc and the shared genesis.json, both at one block."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.typed import domain_separator, sign_reading, terms_consent
from gridledger.node.accounting import Accumulators, account, status
from gridledger.node.cli import audit as cli_audit
from gridledger.node.cli import build_parser
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.sim.fedmgdt import simulate_mg1_day
from tests.node.testnet.harness import LocalTestnet, wait_for

CAP_W = 4000.0
BATCH = 120
GAS = 6_000_000
# FED-MGDT's day from 16:00 to 21:00: the 17:00-20:00 window and an hour either side.
FIRST_S, LAST_S = 16 * 3600, 21 * 3600


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    testnet = LocalTestnet(tmp_path_factory.mktemp("audit-testnet") / "tn", 2).up()
    yield testnet
    testnet.down()


def _send(w3: Web3, sender: LocalAccount, fn: Any, nonce: int) -> bytes:
    tx = fn.build_transaction(
        {
            "from": sender.address,
            "nonce": nonce,
            "gas": GAS,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "chainId": w3.eth.chain_id,
        }
    )
    return bytes(w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli_audit.run(build_parser().parse_args(["audit", *argv, "--json"]))
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


def test_every_node_of_a_testnet_passes_the_same_audit(
    net: LocalTestnet, capsys: pytest.CaptureFixture[str]
) -> None:
    w3 = net.w3("node1")
    operator = net.account("node1", "operator")
    genesis = net.data_dir / "genesis.json"
    addresses = json.loads(genesis.read_text(encoding="utf-8"))["contracts"]

    def bound(name: str) -> Any:
        return w3.eth.contract(address=addresses[name], abi=load_artifact(name).abi)

    participant, meter = Account.create(), Account.create()
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    day_ts = head_ts - head_ts % 86_400 - 2 * 86_400
    terms = fedmgdt_terms(participant.address, operator.address, day_ts, CAP_W)
    window = [
        r
        for r in day_readings(simulate_mg1_day(CAP_W), meter.address, participant.address, day_ts)
        if FIRST_S <= r.interval_start_ts - day_ts < LAST_S
    ]
    # The meter's first reading is seq 1: Metering takes a meter's readings in sequence.
    readings = [replace(r, seq=k + 1) for k, r in enumerate(window)]
    separator = domain_separator(w3.eth.chain_id, addresses["Metering"])
    sigs = [sign_reading(r, bytes(meter.key), separator).as_abi() for r in readings]
    nonce = w3.eth.get_transaction_count(operator.address, "pending")
    calls = [
        bound("Registry").functions.admit(participant.address, meter.address),
        bound("ImportCap").functions.createContract(
            terms.as_abi(),
            terms_consent(
                terms.as_abi(), bytes(participant.key), w3.eth.chain_id, addresses["ImportCap"]
            ),
        ),
    ] + [
        bound("Metering").functions.submitReadings(
            [r.as_abi() for r in readings[i : i + BATCH]], sigs[i : i + BATCH]
        )
        for i in range(0, len(readings), BATCH)
    ]
    hashes = [_send(w3, operator, call, nonce + k) for k, call in enumerate(calls)]
    receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=120) for h in hashes]
    assert [r["status"] for r in receipts] == [1] * len(calls)
    block = max(int(r["blockNumber"]) for r in receipts)
    node2 = net.w3("node2")
    wait_for("node2 to import the readings", lambda: node2.eth.block_number >= block)

    raw = requests.post(
        f"{net.entry('node1').url}/rpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getBlockByNumber",
            "params": ["0x1", False],
        },
        timeout=10,
    ).json()["result"]
    assert len(bytes.fromhex(raw["extraData"][2:])) == 73  # why the auditor needs the middleware

    code, by_rpc = _run(capsys, "--rpc", f"{net.entry('node1').url}/rpc", "--block", str(block))
    assert code == 0 and by_rpc["ok"] is True
    (contract,) = by_rpc["contracts"]
    ref = status(terms, account(terms, Accumulators(), readings))
    assert contract["status"]["violation_wh"] == ref.violation_wh > 0
    assert contract["status"]["total_wh"] == ref.total_wh
    assert contract["readings_in_window"] == 180

    code, by_genesis = _run(
        capsys,
        "--rpc",
        f"{net.entry('node2').url}/rpc",
        "--contracts",
        str(genesis),
        "--block",
        str(block),
    )
    assert code == 0 and by_genesis["addresses_source"] == str(genesis)
    assert by_genesis["contracts"] == by_rpc["contracts"]
    assert by_genesis["participants"] == by_rpc["participants"]
