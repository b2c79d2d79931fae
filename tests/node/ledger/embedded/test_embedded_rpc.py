"""JSON-RPC of the embedded chain: envelope, parameters and errors; bad input changes nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from gridledger.node.http_limits import restore_recursion_limit
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.rpc import JsonRpc
from gridledger.node.ledger.embedded.rpc_batch import MAX_BATCH

RICH = Account.from_key(b"\x01" * 32)


@pytest.fixture
def rpc(tmp_path: Path) -> JsonRpc:
    return JsonRpc(EmbeddedChain(tmp_path, GenesisConfig(prefund={RICH.address: 10**24})))


def ask(rpc: JsonRpc, method: str, *params: Any) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    out = rpc.handle_bytes(body.encode())
    assert out is not None
    response: dict[str, Any] = json.loads(out)
    return response


def error_code(response: dict[str, Any]) -> int:
    return int(response["error"]["code"])


def test_envelope_errors(rpc: JsonRpc) -> None:
    assert json.loads(rpc.handle_bytes(b"{not json") or b"")["error"]["code"] == -32700
    assert json.loads(rpc.handle_bytes(b"[]") or b"")["error"]["code"] == -32600
    big = json.dumps(
        [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(MAX_BATCH + 1)]
    )
    assert json.loads(rpc.handle_bytes(big.encode()) or b"")["error"]["code"] == -32600
    assert json.loads(rpc.handle_bytes(b'"text"') or b"")["error"]["code"] == -32600
    no_version = json.loads(rpc.handle_bytes(b'{"id":1,"method":"eth_chainId"}') or b"")
    assert no_version["error"]["code"] == -32600
    assert error_code(ask(rpc, "eth_doesNotExist")) == -32601
    # A notification (no id) gets no response.
    assert rpc.handle_bytes(b'{"jsonrpc":"2.0","method":"eth_chainId"}') is None


def test_json_nested_past_the_recursion_limit_is_a_parse_error(rpc: JsonRpc) -> None:
    previous = sys.getrecursionlimit()
    restore_recursion_limit()  # as create_app does; py_ecc's 100,000 would crash the process
    try:
        out = rpc.handle_bytes(b"[" * 20_000 + b"]" * 20_000)
    finally:
        sys.setrecursionlimit(previous)
    error = json.loads(out or b"")["error"]
    assert error["code"] == -32700 and "maximum recursion depth" in error["message"]


def test_batch_answers_each_request(rpc: JsonRpc) -> None:
    body = json.dumps(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
            {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        ]
    )
    out = json.loads(rpc.handle_bytes(body.encode()) or b"")
    assert out[0] == {"jsonrpc": "2.0", "id": 1, "result": hex(31_337)}
    assert out[1]["error"]["code"] == -32601


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("eth_getBalance", [12, "latest"], "address must be 0x-prefixed hex data"),
        ("eth_getBalance", ["0x12", "latest"], "must be 20 bytes"),
        ("eth_getBalance", [RICH.address, "yesterday"], "unknown block tag"),
        ("eth_getBalance", [RICH.address, "-0x1"], "unknown block tag"),
        ("eth_getStorageAt", [RICH.address, "0x" + "f" * 65, "latest"], "longer than 256 bits"),
        ("eth_getStorageAt", [RICH.address, "12", "latest"], "0x-prefixed"),
        (
            "eth_call",
            [{"to": RICH.address, "data": "0x" + "00" * 300_000}, "latest"],
            "longer than",
        ),
        ("eth_call", ["not an object", "latest"], "must be an object"),
        ("eth_sendRawTransaction", ["0xzz"], "not hex"),
        ("eth_getLogs", [{"topics": [["0x12"]]}], "must be 32 bytes"),
        ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "0x0", "address": 5}], "address"),
        ("eth_feeHistory", ["0x0", "latest", []], "blockCount"),
        ("eth_getBlockByNumber", [], "missing parameter"),
    ],
)
def test_bad_params_are_refused_precisely(
    rpc: JsonRpc, method: str, params: list[Any], fragment: str
) -> None:
    response = ask(rpc, method, *params)
    assert error_code(response) == -32602, response
    assert fragment in response["error"]["message"]


def _legacy_transfer(nonce: int, chain_id: int) -> str:
    """A signed legacy transfer of 1 wei from RICH to itself, as 0x-hex."""
    tx = {"to": RICH.address, "value": 1, "gas": 21_000, "gasPrice": 2 * 10**9}
    signed = RICH.sign_transaction({**tx, "nonce": nonce, "chainId": chain_id})
    return "0x" + bytes(signed.raw_transaction).hex()


def test_rejected_transactions_and_unchanged_state(rpc: JsonRpc) -> None:
    before = ask(rpc, "eth_getBalance", RICH.address, "latest")["result"]
    bad_nonce = _legacy_transfer(nonce=64, chain_id=31_337)  # 0..63 would be queued
    response = ask(rpc, "eth_sendRawTransaction", bad_nonce)
    assert error_code(response) == -32000
    assert "nonce too high: got 64, expected 0 (at most 63 ahead" in response["error"]["message"]
    wrong_chain = _legacy_transfer(nonce=0, chain_id=1)
    response = ask(rpc, "eth_sendRawTransaction", wrong_chain)
    assert "chain id 1 does not match" in response["error"]["message"]
    assert error_code(ask(rpc, "eth_sendRawTransaction", "0x01")) == -32000
    assert ask(rpc, "eth_getBalance", RICH.address, "latest")["result"] == before
    assert ask(rpc, "eth_blockNumber")["result"] == "0x0"
    assert rpc.chain.pool == {}


def test_unknown_blocks_and_transactions_are_null(rpc: JsonRpc) -> None:
    assert ask(rpc, "eth_getBlockByNumber", "0x99", False)["result"] is None
    assert ask(rpc, "eth_getTransactionReceipt", "0x" + "00" * 32)["result"] is None
    assert ask(rpc, "eth_getTransactionByHash", "0x" + "00" * 32)["result"] is None
    assert error_code(ask(rpc, "eth_getBalance", RICH.address, "0x99")) == -32001


def test_estimate_gas_of_an_empty_creation_and_too_little_gas(rpc: JsonRpc) -> None:
    # Found by the fuzzer: probing limits below the intrinsic gas must not be an internal error.
    # The smallest limit that succeeds: the intrinsic gas of an empty creation, of a transfer.
    assert int(ask(rpc, "eth_estimateGas", {})["result"], 16) == 53_000
    transfer = {"from": RICH.address, "to": "0x" + "66" * 20, "value": "0x1"}
    assert int(ask(rpc, "eth_estimateGas", transfer)["result"], 16) == 21_000
    response = ask(rpc, "eth_call", {"to": RICH.address, "gas": "0x1"}, "latest")
    assert error_code(response) == -32000
    assert "invalid transaction" in response["error"]["message"]


LOGGER_RUNTIME = bytes.fromhex("365f5f37365fa033365fa100")  # LOG0(calldata), LOG1(calldata, caller)
LOGGER_INIT = b"\x6b" + LOGGER_RUNTIME + bytes.fromhex("5f52600c6014f3")


def _raw(nonce: int, to: str | None, data: bytes = b"", value: int = 0) -> str:
    tx: dict[str, Any] = {
        "nonce": nonce, "gas": 200_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
        "chainId": 31_337, "value": value, "data": data, "type": 2,
    }  # fmt: skip
    if to is not None:
        tx["to"] = to
    return "0x" + RICH.sign_transaction(tx).raw_transaction.hex()


def test_receipts_of_a_block_with_several_transactions(rpc: JsonRpc) -> None:
    """Each receipt of a 4-transaction block (logs in the 1st, 3rd, 4th) has its own gas,
    block-wide log indexes and the block's hash, as read from the whole block."""
    chain = rpc.chain
    created = ask(rpc, "eth_sendRawTransaction", _raw(0, None, LOGGER_INIT))["result"]
    chain.produce_block()
    logger = ask(rpc, "eth_getTransactionReceipt", created)["result"]["contractAddress"]
    sent = [
        ask(rpc, "eth_sendRawTransaction", raw)["result"]
        for raw in (
            _raw(1, logger, b"\x01" * 5),
            _raw(2, "0x" + "42" * 20, value=7),
            _raw(3, logger, b"\x02" * 40),
            _raw(4, logger, b""),
        )
    ]
    mined = chain.produce_block()
    assert mined is not None and len(mined.block.transactions) == 4
    receipts = chain.receipts_of(mined.block)
    log_index = 0
    for index, tx_hash in enumerate(sent):
        got = ask(rpc, "eth_getTransactionReceipt", tx_hash)["result"]
        previous = receipts[index - 1].gas_used if index else 0
        assert got["transactionIndex"] == hex(index)
        assert got["blockHash"] == "0x" + mined.block.hash.hex()
        assert got["cumulativeGasUsed"] == hex(receipts[index].gas_used)
        assert got["gasUsed"] == hex(receipts[index].gas_used - previous)
        logs = receipts[index].logs
        assert [int(log["logIndex"], 16) for log in got["logs"]] == list(
            range(log_index, log_index + len(logs))
        )
        assert [bytes.fromhex(log["data"][2:]) for log in got["logs"]] == [x.data for x in logs]
        assert all(log["transactionHash"] == tx_hash for log in got["logs"])
        log_index += len(logs)
    assert log_index == 6
