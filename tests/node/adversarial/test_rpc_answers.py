"""Answers that multiplied: a batch of 1,000 eth_getLogs of 10,000 logs each, eth_feeHistory
over 1,024 blocks, batches over 1,000, against a real node process. The node answers within
its bounds (docs/ledger.md, "JSON-RPC limits"), stays up, seals, and keeps its ledger."""

from __future__ import annotations

import time
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from gridledger.node.ledger.embedded.rpc import MAX_FEE_HISTORY_BLOCKS, MAX_LOGS
from gridledger.node.ledger.embedded.rpc_batch import (
    MAX_ANSWER_BYTES,
    MAX_BATCH,
    RESPONSE_TOO_LARGE,
)
from tests.node.adversarial.conftest import NODE
from tests.node.adversarial.guard import acknowledge, assert_intact
from tests.node.testnet.harness import LocalTestnet

LOGS_PER_TX = 1_000


def _emitter(count: int) -> bytes:
    """Creation code that emits `count` empty LOG0s in a loop and deploys nothing."""
    assert count < 2**16
    end = 0x15
    return (
        bytes([0x61, count >> 8, count & 0xFF, 0x5B])  # PUSH2 count; JUMPDEST (pc 3)
        + bytes([0x80, 0x15, 0x60, end, 0x57])  # DUP1 ISZERO PUSH1 end JUMPI
        + bytes([0x60, 0x00, 0x60, 0x00, 0xA0])  # LOG0(0, 0)
        + bytes([0x60, 0x01, 0x90, 0x03])  # count - 1
        + bytes([0x60, 0x03, 0x56, 0x5B, 0x00])  # JUMP 3; JUMPDEST (pc 0x15) STOP
    )


def _emit_logs(net: LocalTestnet, sender: LocalAccount, txs: int, per_tx: int) -> None:
    w3 = net.w3(NODE)
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    hashes = []
    for i in range(txs):
        signed = sender.sign_transaction(
            {
                "data": _emitter(per_tx),
                "value": 0,
                "gas": 1_000_000,
                "nonce": nonce + i,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
                "chainId": 31_337,
                "type": 2,
            }
        )
        hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
    for tx_hash in hashes:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        assert receipt["status"] == 1 and len(receipt["logs"]) == per_tx


def _post(net: LocalTestnet, body: Any, timeout_s: float = 120) -> Any:
    reply = requests.post(f"{net.entry(NODE).url}/rpc", json=body, timeout=timeout_s)
    assert reply.status_code == 200, reply.text[:500]
    return reply.json()


def _call(i: int, method: str, params: list[Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": method, "params": params}


def test_a_batch_of_large_log_queries_is_cut_at_the_answer_limit(net: LocalTestnet) -> None:
    sender = net.account(NODE)
    before = acknowledge(net, NODE, sender)
    _emit_logs(net, sender, MAX_LOGS // LOGS_PER_TX, LOGS_PER_TX)
    everything = {"fromBlock": "0x0", "toBlock": "latest"}
    started = time.monotonic()
    body = requests.post(
        f"{net.entry(NODE).url}/rpc",
        json=[_call(i, "eth_getLogs", [everything]) for i in range(MAX_BATCH)],
        timeout=120,
    )
    elapsed_s = time.monotonic() - started
    answers = body.json()
    assert [a["id"] for a in answers] == list(range(MAX_BATCH))
    served = [a for a in answers if "result" in a]
    assert served and all(len(a["result"]) == MAX_LOGS for a in served)
    refused = answers[len(served) :]
    assert len(refused) >= MAX_BATCH - 10  # a 10,000-log answer is ~3 MB
    for answer in refused:
        assert answer["error"]["code"] == RESPONSE_TOO_LARGE
        assert f"over the {MAX_ANSWER_BYTES}-byte limit" in answer["error"]["message"]
    assert len(body.content) < MAX_ANSWER_BYTES + len(body.content) / len(served) + 200_000
    print(f"batch of {MAX_BATCH} eth_getLogs: {len(served)} served, {elapsed_s:.1f} s")
    # One log more than an answer may hold: refused, saying the limit and how to narrow.
    _emit_logs(net, sender, 1, 1)
    error = _post(net, _call(1, "eth_getLogs", [everything]))["error"]
    assert error["code"] == -32005
    assert f"more than {MAX_LOGS} logs" in error["message"]
    assert "narrow fromBlock/toBlock or filter by address or topics" in error["message"]
    assert_intact(net, NODE, before)


def test_fee_history_and_batch_length_are_bounded(net: LocalTestnet) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    percentiles = list(range(100))
    over = _post(net, _call(1, "eth_feeHistory", [hex(MAX_FEE_HISTORY_BLOCKS + 1), "latest", []]))
    assert over["error"]["code"] == -32602
    assert f"1..{MAX_FEE_HISTORY_BLOCKS} blocks per answer" in over["error"]["message"]
    batch = [
        _call(i, "eth_feeHistory", [hex(MAX_FEE_HISTORY_BLOCKS), "latest", percentiles])
        for i in range(MAX_BATCH)
    ]
    answers = _post(net, batch)
    assert len(answers) == MAX_BATCH
    assert all("result" in a or a["error"]["code"] == RESPONSE_TOO_LARGE for a in answers)
    too_many = _post(net, [_call(i, "eth_chainId", []) for i in range(MAX_BATCH + 1)])
    assert too_many["error"]["code"] == -32600
    assert f"at most {MAX_BATCH} per batch" in too_many["error"]["message"]
    assert_intact(net, NODE, before)
