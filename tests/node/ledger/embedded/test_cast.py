"""Foundry's cast (npm @foundry-rs/cast, pinned in contracts/) against a real node process."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from eth_account import Account

from gridledger.contracts.typed import terms_consent
from gridledger.node.keys import PASSPHRASE_ENV, load_or_create
from tests.node.nodeproc import PASSPHRASE, NodeProcess, start_node, write_config

CAST = Path(__file__).resolve().parents[4] / "contracts" / "node_modules" / ".bin" / "cast"
PARTICIPANT = Account.from_key(b"\x06" * 32)
METER = Account.from_key(b"\x07" * 32)

pytestmark = pytest.mark.skipif(not CAST.exists(), reason="npm cast not installed (make test does)")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    tmp = tmp_path_factory.mktemp("cast")
    config = write_config(tmp / "node.toml", {PARTICIPANT.address: 10**24})
    proc = start_node(tmp / "data", config)
    yield proc
    proc.stop()


def cast(*args: str) -> str:
    out = subprocess.run(
        [str(CAST), *args], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _operator_key(node: NodeProcess) -> str:
    os.environ.setdefault(PASSPHRASE_ENV, PASSPHRASE)
    accounts = load_or_create(node.data_dir / "keystore")
    return "0x" + accounts["operator"].key.hex()


def test_cast_reads_chain_id_and_block_number(node: NodeProcess) -> None:
    rpc = f"{node.url}/rpc"
    assert cast("chain-id", "--rpc-url", rpc) == "31337"
    assert int(cast("block-number", "--rpc-url", rpc)) >= 13  # the deployment's blocks


def test_cast_sends_calls_decodes_and_reads_receipts_and_logs(node: NodeProcess) -> None:
    rpc = f"{node.url}/rpc"
    addresses = requests.get(f"{node.url}/v1/contracts/addresses", timeout=5).json()
    operator_key = _operator_key(node)
    cast(
        "send",
        "--rpc-url",
        rpc,
        "--private-key",
        operator_key,
        addresses["Registry"],
        "admit(address,address)",
        PARTICIPANT.address,
        METER.address,
    )
    assert (
        cast(
            "call",
            "--rpc-url",
            rpc,
            addresses["Registry"],
            "meterOf(address)(address)",
            PARTICIPANT.address,
        ).lower()
        == METER.address.lower()
    )

    operator = Account.from_key(operator_key).address
    # An upper bound of 4 kW during 17:00-20:00 in 2026-2029, lambda 1 token/kWh, beta 0.5/kWh.
    terms = (
        f"({PARTICIPANT.address},0,61200,72000,{operator},"
        "1767225600,1893456000,0,4000,1000000,500000000000000000)"
    )
    terms_abi = (PARTICIPANT.address, 0, 61200, 72000, operator, 1767225600, 1893456000)
    terms_abi += (0, 4000, 1000000, 500000000000000000)
    chain_id = int(cast("chain-id", "--rpc-url", rpc))
    consent = terms_consent(terms_abi, bytes(PARTICIPANT.key), chain_id, addresses["ImportCap"])
    sent = json.loads(
        cast(
            "send",
            "--json",
            "--rpc-url",
            rpc,
            "--private-key",
            operator_key,
            addresses["ImportCap"],
            "createContract((address,uint8,uint32,uint32,address,uint40,uint40,int64,int64,uint64,uint64),bytes)",
            terms,
            "0x" + consent.hex(),
        )
    )
    assert sent["status"] == "0x1"
    count = int(cast("call", "--rpc-url", rpc, addresses["ImportCap"], "contractCount()(uint256)"))
    status = cast(
        "call",
        "--rpc-url",
        rpc,
        addresses["ImportCap"],
        "contractStatus(uint256)(uint256,uint256,uint256,uint256,uint256)",
        str(count - 1),
    ).split("\n")
    # violationWh, totalWh, complianceWad, penaltyUnits, trustWad; cast may annotate 1e18.
    assert [s.split(" ")[0] for s in status] == [
        "0",
        "0",
        "1000000000000000000",
        "0",
        "1000000000000000000",
    ]
    receipt = json.loads(cast("receipt", "--json", "--rpc-url", rpc, sent["transactionHash"]))
    assert receipt["status"] == "0x1"
    assert receipt["blockNumber"] == sent["blockNumber"]
    logs = json.loads(
        cast(
            "logs",
            "--json",
            "--rpc-url",
            rpc,
            "--from-block",
            "0",
            "--address",
            addresses["ImportCap"],
            "ContractCreated(uint256,address,address,uint8,int64,int64,uint40,uint40)",
        )
    )
    assert len(logs) == count
    assert logs[-1]["transactionHash"] == sent["transactionHash"]


def test_cast_decodes_a_custom_error(node: NodeProcess) -> None:
    rpc = f"{node.url}/rpc"
    addresses = requests.get(f"{node.url}/v1/contracts/addresses", timeout=5).json()
    out = subprocess.run(
        [
            str(CAST),
            "call",
            "--rpc-url",
            rpc,
            addresses["ImportCap"],
            "contractTerms(uint256)",
            "999",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The npm wrapper of cast 1.7.1 exits 0 even here; what cast printed is what counts:
    # JSON-RPC code 3 with the revert data, ImportCapUnknownContract(999) = 0x1319a439 + 0x3e7.
    assert "error code 3: execution reverted" in out.stderr
    assert '"0x1319a439' + "0" * 61 + '3e7"' in out.stderr
