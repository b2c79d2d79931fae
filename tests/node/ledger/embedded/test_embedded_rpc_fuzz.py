"""Fuzzing JSON-RPC: any body gets a well-formed JSON-RPC answer (never an internal error or
an exception), and nothing but an accepted raw transaction changes state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.rpc import JsonRpc

RICH = Account.from_key(b"\x08" * 32)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**300), 2**300)
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
    | st.sampled_from(["0x", "0x0", "latest", "pending", "-0x1", "0x" + "f" * 70]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def rpc(tmp_path_factory: pytest.TempPathFactory) -> JsonRpc:
    path = tmp_path_factory.mktemp("fuzz")
    return JsonRpc(EmbeddedChain(path, GenesisConfig(prefund={RICH.address: 10**24})))


def _fingerprint(rpc: JsonRpc) -> tuple[Any, ...]:
    chain = rpc.chain
    return (
        chain.head_header().hash,
        len(chain.pool),
        chain._state().get_balance(bytes.fromhex(RICH.address[2:])),
    )


def _check_envelope(out: bytes | None) -> None:
    if out is None:
        return  # notifications get no answer
    payload = json.loads(out)
    for response in payload if isinstance(payload, list) else [payload]:
        assert response["jsonrpc"] == "2.0"
        assert ("result" in response) != ("error" in response)
        if "error" in response:
            assert isinstance(response["error"]["code"], int)
            assert response["error"]["code"] != -32603, response  # no internal errors


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes(rpc: JsonRpc, body: bytes) -> None:
    before = _fingerprint(rpc)
    _check_envelope(rpc.handle_bytes(body))
    assert _fingerprint(rpc) == before


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=json_values)
def test_arbitrary_json(rpc: JsonRpc, payload: Any) -> None:
    before = _fingerprint(rpc)
    _check_envelope(rpc.handle_bytes(json.dumps(payload).encode()))
    assert _fingerprint(rpc) == before


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_method_with_random_params(rpc: JsonRpc, data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(sorted(rpc.methods)))
    params = data.draw(st.lists(json_values, max_size=4))
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    before = _fingerprint(rpc)
    _check_envelope(rpc.handle_bytes(json.dumps(request).encode()))
    if method != "eth_sendRawTransaction":
        assert _fingerprint(rpc) == before
