"""A JSON-RPC fuzzer (hypothesis) against a real node process: random methods, params,
batches, sizes and nesting, as bodies or raw bytes. Every answer is a JSON-RPC result or
error (never an internal error, a 500 or a dropped connection); meanwhile the node keeps
sealing, and its ledger is unchanged. More examples: GRIDLEDGER_RPC_FUZZ_EXAMPLES=2000."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.http_limits import MAX_JSON_DEPTH
from gridledger.node.ledger.embedded.rpc_batch import MAX_BATCH
from tests.node.adversarial.conftest import NODE
from tests.node.adversarial.guard import acknowledge, assert_intact
from tests.node.testnet.harness import LocalTestnet

EXAMPLES = int(os.environ.get("GRIDLEDGER_RPC_FUZZ_EXAMPLES", "600"))
METHODS = (
    *("web3_clientVersion", "net_version", "eth_chainId", "eth_blockNumber", "eth_gasPrice"),
    *("eth_feeHistory", "eth_getBalance", "eth_getCode", "eth_getStorageAt"),
    *("eth_getTransactionCount", "eth_getBlockByNumber", "eth_getBlockByHash"),
    *("eth_getBlockTransactionCountByNumber", "eth_call", "eth_estimateGas"),
    *("eth_sendRawTransaction", "eth_getTransactionByHash", "eth_getTransactionReceipt"),
    "eth_getLogs",
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**300), 2**300)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["0x", "0x0", "0x1", "latest", "pending", "earliest", "safe", "-0x1"])
    | st.sampled_from(["0x" + "f" * 70, "0x" + "00" * 20, "0x" + "11" * 32, "0x" + "ab" * 500])
    | st.integers(0, 64).map(lambda n: "0x" + "7" * n)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=16,
)
requests_ = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0"]), "method": st.sampled_from(METHODS)},
    optional={
        "id": st.none() | st.integers(-(2**70), 2**70) | st.text(max_size=8) | st.booleans(),
        "params": st.lists(json_values, max_size=4) | json_values,
    },
) | st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "id": st.integers(0, 9), "method": st.text(max_size=30)}
)


def _nested(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + closer * depth


bodies = st.one_of(
    requests_.map(json.dumps).map(str.encode),
    st.lists(requests_ | json_values, min_size=1, max_size=30).map(json.dumps).map(str.encode),
    json_values.map(json.dumps).map(str.encode),
    st.binary(max_size=300),
    st.builds(
        _nested,
        st.integers(MAX_JSON_DEPTH - 2, 3 * MAX_JSON_DEPTH) | st.integers(1_000, 100_000),
        st.sampled_from([b"[", b'{"a":[', b"[{}"]),
        st.sampled_from([b"]", b"]}", b""]),
    ),
    st.integers(1, 200_000).map(lambda n: b'{"jsonrpc":"2.0","id":1,"method":"' + b"x" * n + b'"}'),
    st.integers(MAX_BATCH - 2, MAX_BATCH + 2).map(
        lambda n: json.dumps(
            [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(n)]
        ).encode()
    ),
)


def _check_envelope(response: Any) -> None:
    assert isinstance(response, dict), response
    assert response.get("jsonrpc") == "2.0"
    assert ("result" in response) != ("error" in response), response
    if "error" in response:
        assert isinstance(response["error"]["code"], int)
        assert response["error"]["code"] != -32603, response  # no internal errors
        assert isinstance(response["error"]["message"], str)


def _check_answer(reply: requests.Response) -> None:
    if reply.status_code == 204:
        assert reply.content == b""  # notifications only
        return
    assert reply.status_code in (200, 413), (reply.status_code, reply.text[:300])
    payload = reply.json()
    for response in payload if isinstance(payload, list) else [payload]:
        _check_envelope(response)


@pytest.fixture(scope="module")
def session() -> requests.Session:
    return requests.Session()


def test_every_body_gets_a_json_rpc_answer_while_the_node_seals(
    net: LocalTestnet, session: requests.Session
) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    url = f"{net.entry(NODE).url}/rpc"
    head_before = int(net.health(NODE)["head"])
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=bodies)
    def fuzz(body: bytes) -> None:
        reply = session.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=60
        )
        _check_answer(reply)

    fuzz()
    elapsed_s = time.monotonic() - started
    head_after = int(net.health(NODE)["head"])
    print(f"{EXAMPLES} bodies in {elapsed_s:.1f} s; head {head_before} -> {head_after}")
    assert head_after > head_before, "the node sealed no block while fuzzed"
    assert_intact(net, NODE, before)
