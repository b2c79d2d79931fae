"""Bodies that killed or probed a node, sent to a real node process without its API key:
deep JSON nesting and oversize bodies on every route (docs/rest.md, "Limits"), and malformed
bodies, which must not be answered before the key is checked. Each test ends with the node
up, sealing, and its ledger unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from gridledger.node.http_limits import MAX_JSON_DEPTH, REST_MAX_BODY_BYTES
from gridledger.node.ledger.embedded.rpc import MAX_BODY_BYTES
from tests.node.adversarial.conftest import NODE
from tests.node.adversarial.guard import acknowledge, assert_intact
from tests.node.testnet.harness import LocalTestnet

# The body of issue 11: 80,000 nested arrays (160 KB).
NESTED = b"[" * 80_000 + b"]" * 80_000
JSON = {"Content-Type": "application/json"}


def _routes(net: LocalTestnet) -> list[tuple[str, str]]:
    """Every route of the node's OpenAPI description with each of its methods, /rpc, and a
    path no route serves."""
    spec = requests.get(f"{net.entry(NODE).url}/openapi.json", timeout=10).json()
    routes = [
        (method.upper(), path.replace("{", "").replace("}", "") + "1")
        if "{" in path
        else (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method in methods
    ]
    return [("POST", "/rpc"), *routes, ("POST", "/v1/no-such-route")]


@pytest.fixture(scope="module")
def url(net: LocalTestnet) -> Iterator[str]:
    yield net.entry(NODE).url


def test_nested_json_on_every_route_is_refused_and_the_node_lives(
    net: LocalTestnet, url: str
) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    routes = _routes(net)
    assert ("POST", "/v1/orders") in routes and ("POST", "/v1/admin/links") in routes
    for method, path in routes:
        reply = requests.request(method, url + path, data=NESTED, headers=JSON, timeout=30)
        if path == "/rpc":  # under the 8 MiB body limit: refused for its depth
            assert reply.status_code == 200, reply.text
            error = reply.json()["error"]
            assert error["code"] == -32700
            assert f"at most {MAX_JSON_DEPTH} are allowed" in error["message"]
            assert "nests at least 65536 levels" in error["message"]
        else:  # over the 64 KiB REST limit, before any auth
            assert reply.status_code == 413, (method, path, reply.text)
            assert reply.json()["error"] == "PayloadTooLarge"
            assert f"at most {REST_MAX_BODY_BYTES} bytes" in reply.json()["message"]
    assert_intact(net, NODE, before)


def test_deep_json_under_the_size_limit_is_refused_before_auth(net: LocalTestnet, url: str) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    deep_object = b'{"a":' * 10_000 + b"1" + b"}" * 10_000  # 60 KB
    for body in (deep, deep_object):
        for path in ("/v1/orders", "/v1/admin/links", "/v1/admin/clock"):
            reply = requests.post(url + path, data=body, headers=JSON, timeout=30)
            assert reply.status_code == 400, (path, reply.text)
            assert reply.json()["error"] == "JsonTooDeep"
        reply = requests.post(url + "/rpc", data=body, timeout=30)
        assert reply.json()["error"]["code"] == -32700
    # Brackets inside strings are not nesting: a request at the limit is served.
    shallow = b'{"jsonrpc":"2.0","id":1,"method":"web3_clientVersion","params":["' + b"[" * 5000
    reply = requests.post(url + "/rpc", data=shallow + b'"]}', timeout=30)
    assert reply.json()["result"].startswith("gridledger/")
    assert_intact(net, NODE, before)


def test_oversize_bodies_are_refused_on_every_route_announced_or_chunked(
    net: LocalTestnet, url: str
) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    rest_body = b'{"drop":["' + b"x" * REST_MAX_BODY_BYTES + b'"]}'

    def chunked(body: bytes) -> Iterator[bytes]:  # no Content-Length: refused while streaming
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    for path in ("/v1/orders", "/v1/admin/links", "/healthz", "/v1/no-such-route"):
        for data in (rest_body, chunked(rest_body)):
            reply = requests.post(url + path, data=data, timeout=30)
            assert reply.status_code == 413, (path, reply.text)
            assert reply.json()["error"] == "PayloadTooLarge"
    rpc_body = b"[" + b"1," * (MAX_BODY_BYTES // 2) + b"1]"
    for data in (rpc_body, chunked(rpc_body)):
        reply = requests.post(url + "/rpc", data=data, timeout=60)
        assert reply.status_code == 413
        error = reply.json()["error"]
        assert error["code"] == -32600
        assert f"at most {MAX_BODY_BYTES} bytes" in error["message"]
    assert_intact(net, NODE, before)


def test_the_api_key_is_checked_before_the_body(net: LocalTestnet, url: str) -> None:
    before = acknowledge(net, NODE, net.account(NODE))
    for path in ("/v1/orders", "/v1/admin/links", "/v1/admin/clock"):
        for body in (b"{not json", b'{"side": 3}', b"", b"\xff\xfe"):
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                for content_type in (None, "application/json"):
                    sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
                    reply = requests.post(url + path, data=body, headers=sent, timeout=10)
                    assert reply.status_code == 401, (path, body, sent, reply.text)
                    assert reply.json()["error"] == "Unauthorized"
    # With the key, the same bodies are validation errors.
    for body in ({"drop": 3}, {"restore": 0}):  # a boolean is a JSON boolean only
        reply = net.post(NODE, "/v1/admin/links", body)
        assert reply.status_code == 422 and reply.json()["error"] == "ValidationError"
    assert_intact(net, NODE, before)


def test_openapi_documents_every_refusal_of_every_route(url: str) -> None:
    spec = requests.get(f"{url}/openapi.json", timeout=10).json()
    error_fields = spec["components"]["schemas"]["ErrorOut"]["properties"]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            statuses = set(operation["responses"])
            assert {"400", "413"} <= statuses, (method, path, statuses)
            if path.startswith("/v1/") and path != "/v1/contracts/addresses":
                assert "422" in statuses, (method, path, statuses)
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                # ErrorOut, or a schema that extends it (POST /v1/readings adds each fate)
                name = schema["$ref"].removeprefix("#/components/schemas/")
                fields = spec["components"]["schemas"][name]["properties"]
                assert set(error_fields) <= set(fields), (method, path, name)
            if method == "post" and path != "/rpc":
                assert "401" in statuses, (method, path, statuses)


def test_openapi_integer_bounds_are_exact(url: str) -> None:
    spec = requests.get(f"{url}/openapi.json", timeout=10).json()
    schemas = spec["components"]["schemas"]
    interval = schemas["OrderRequest"]["properties"]["interval"]["anyOf"][0]
    assert interval["exclusiveMaximum"] == 2**64
    assert isinstance(interval["exclusiveMaximum"], int)
    assert schemas["ClockRequest"]["properties"]["now_ts"]["exclusiveMaximum"] == 2**63
    assert schemas["LinksRequest"]["properties"]["restore"]["type"] == "boolean"
