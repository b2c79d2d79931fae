"""The API key: DATA_DIR/api-key, mode 0600, required as a bearer token on writes only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import requests
from fastapi.security import HTTPAuthorizationCredentials

from gridledger.node.errors import ConfigError
from gridledger.node.keys.api_key import load_or_create_api_key
from gridledger.node.rest.auth import ApiKeyCheck
from gridledger.node.rest.errors import AuthError
from tests.node.rest.inprocess import InProcessNode

BUY = {"side": "buy", "quantity_wh": 1000, "limit_price_per_kwh": 100_000}


def test_the_key_is_created_once_random_and_private(tmp_path: Path) -> None:
    key = load_or_create_api_key(tmp_path / "a")
    path = tmp_path / "a" / "api-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 43  # 32 random bytes, URL-safe base64
    assert load_or_create_api_key(tmp_path / "a") == key
    assert load_or_create_api_key(tmp_path / "b") != key


def test_a_readable_key_file_is_made_private_and_an_empty_one_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "api-key"
    path.write_text("k" * 20 + "\n", encoding="utf-8")
    os.chmod(path, 0o644)
    assert load_or_create_api_key(tmp_path) == "k" * 20
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"{path} had mode 0644 (readable beyond its owner); made it 0600" in caplog.text
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="api-key is empty"):
        load_or_create_api_key(tmp_path)


def test_without_a_key_every_write_is_refused() -> None:
    check = ApiKeyCheck(None)
    with pytest.raises(AuthError, match="writes are off"):
        check.check(HTTPAuthorizationCredentials(scheme="Bearer", credentials="anything"))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing 'Authorization: Bearer <api key>' header"),
        (
            {"Authorization": "Basic dXNlcjpwYXNz"},
            "missing 'Authorization: Bearer <api key>' header",
        ),
        ({"Authorization": "Bearer"}, "missing 'Authorization: Bearer <api key>' header"),
        ({"Authorization": "Bearer wrong"}, "wrong API key"),
    ],
)
def test_writes_without_the_key_are_401_and_send_nothing(
    fresh_node: InProcessNode, headers: dict[str, str], message: str
) -> None:
    prosumer = fresh_node.address("prosumer")
    nonce = fresh_node.w3.eth.get_transaction_count(prosumer)
    reply = fresh_node.post_order(BUY, headers=headers)
    assert reply.status_code == 401
    assert reply.json() == {"error": "Unauthorized", "message": message}
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert fresh_node.w3.eth.get_transaction_count(prosumer) == nonce


def test_the_key_lets_the_write_through_to_the_contract(fresh_node: InProcessNode) -> None:
    # The prosumer of this node is not admitted: past the key check, the contract refuses.
    reply = fresh_node.post_order(BUY, headers={"Authorization": f"bearer {fresh_node.api_key}"})
    assert reply.status_code == 403
    assert reply.json()["error"] == "AccessControlUnauthorizedAccount"


def test_reads_need_no_key(fresh_node: InProcessNode) -> None:
    for path in ("/v1/layers", "/v1/contracts", "/v1/readings", "/healthz"):
        assert requests.get(fresh_node.url + path, timeout=30).status_code == 200
