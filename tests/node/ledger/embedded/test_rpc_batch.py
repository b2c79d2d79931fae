"""JSON-RPC answer bounds (node/ledger/embedded/rpc_batch.py) with a stand-in handler: the
batch length, the bytes of a batch's answers, and a single answer's bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gridledger.node.ledger.embedded import rpc_batch
from gridledger.node.ledger.embedded.rpc_batch import (
    MAX_BATCH,
    RESPONSE_TOO_LARGE,
    answer_batch,
    answer_one,
)


class Recorder:
    """Answers each request with `size` bytes of result and records which ran."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ran: list[Any] = []

    def __call__(self, request: Any) -> dict[str, Any] | None:
        self.ran.append(request.get("id", "notification"))
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": request["id"], "result": "x" * self.size}


def _requests(count: int) -> list[dict[str, Any]]:
    return [{"jsonrpc": "2.0", "id": i, "method": "m"} for i in range(count)]


def test_a_batch_stops_executing_once_its_answers_pass_the_byte_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rpc_batch, "MAX_ANSWER_BYTES", 1_000)
    handle = Recorder(300)
    batch = [*_requests(6), {"jsonrpc": "2.0", "method": "m"}]
    out = json.loads(answer_batch(batch, handle) or b"")
    # Answers of 338 bytes: the third passes 1,000 and is sent; the rest are not run.
    assert handle.ran == [0, 1, 2]
    assert [r["id"] for r in out] == [0, 1, 2, 3, 4, 5]  # the notification gets nothing
    assert all("result" in r for r in out[:3])
    for refused in out[3:]:
        assert refused["error"]["code"] == RESPONSE_TOO_LARGE
        assert "over the 1000-byte limit of an answer" in refused["error"]["message"]
        assert "send fewer requests per batch" in refused["error"]["message"]


def test_batch_length_and_single_answers_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    handle = Recorder(10)
    out = json.loads(answer_batch(_requests(MAX_BATCH + 1), handle) or b"")
    assert out["error"] == {
        "code": -32600,
        "message": f"batch of {MAX_BATCH + 1} requests; at most {MAX_BATCH} per batch",
    }
    assert handle.ran == []
    monkeypatch.setattr(rpc_batch, "MAX_ANSWER_BYTES", 100)
    one = json.loads(answer_one({"jsonrpc": "2.0", "id": "a", "method": "m"}, Recorder(200)) or b"")
    assert one["id"] == "a" and one["error"]["code"] == RESPONSE_TOO_LARGE
    assert "the answer is 238 bytes" in one["error"]["message"]
