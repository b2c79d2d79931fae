"""LedgerClient hands each signed transaction to the node exactly once in effect: a send cut
off by a dropped connection is sent again unless the node already took it, so the nonces it
counts locally stay in step with the node's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests
from web3.exceptions import TransactionNotFound

from gridledger.node.agents import ledger_client
from gridledger.node.agents.ledger_client import SEND_ATTEMPTS, LedgerClient

TX_HASH, RAW = b"\x01" * 32, b"\x02raw"


class FlakyEth:
    """send_raw_transaction fails with the given exceptions in turn, then succeeds;
    get_transaction finds the hash once `known` is set."""

    def __init__(self, failures: list[Exception], known: bool = False) -> None:
        self.failures = list(failures)
        self.known = known
        self.sent: list[bytes] = []

    def send_raw_transaction(self, raw: bytes) -> bytes:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(raw)
        return TX_HASH

    def get_transaction(self, tx_hash: Any) -> dict[str, Any]:
        if not self.known:
            raise TransactionNotFound(f"{tx_hash!r}")
        return {"hash": tx_hash}


def hand_over(eth: FlakyEth) -> None:
    client: Any = SimpleNamespace(w3=SimpleNamespace(eth=eth), address="0xA")
    LedgerClient._hand_over(client, TX_HASH, RAW)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_client.time, "sleep", lambda _s: None)


def test_a_dropped_connection_is_sent_again_when_the_node_does_not_know_the_hash() -> None:
    eth = FlakyEth([requests.ConnectionError("reset"), requests.Timeout("slow")])
    hand_over(eth)
    assert eth.sent == [RAW]


def test_a_send_the_node_took_before_the_drop_is_not_sent_again() -> None:
    eth = FlakyEth([requests.ConnectionError("reset")], known=True)
    hand_over(eth)
    assert eth.sent == []


def test_a_node_that_stays_unreachable_fails_after_the_last_attempt() -> None:
    eth = FlakyEth([requests.ConnectionError("down")] * SEND_ATTEMPTS)
    with pytest.raises(requests.ConnectionError, match="down"):
        hand_over(eth)
    assert eth.sent == []


def test_a_refusal_is_not_retried() -> None:
    eth = FlakyEth([ValueError("nonce too low: got 3, expected 4")])
    with pytest.raises(ValueError, match="nonce too low"):
        hand_over(eth)
    assert eth.sent == []
