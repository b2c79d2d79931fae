"""The size of a JSON-RPC answer: at most MAX_BATCH requests in a batch and MAX_ANSWER_BYTES
in one HTTP answer, the bounds geth has (--rpc.batch-request-limit 1,000,
--rpc.batch-response-max-size 25,000,000 bytes). A batch over MAX_BATCH is refused whole
(-32600) and runs nothing. Once a batch's answers pass MAX_ANSWER_BYTES, the requests after
that point are not executed: each gets -32003 "response too large" with its id, so a client
resends them in a smaller batch. A single answer over the bound is replaced by that error.
docs/ledger.md, "JSON-RPC limits"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gridledger.node.ledger.embedded.params import RpcError

MAX_BATCH = 1_000
MAX_ANSWER_BYTES = 25_000_000
RESPONSE_TOO_LARGE = -32003

Handle = Callable[[Any], dict[str, Any] | None]


def answer_one(request: Any, handle: Handle) -> bytes | None:
    """The body answering one request (None for a notification)."""
    response = handle(request)
    if response is None:
        return None
    out = dump(response)
    if len(out) > MAX_ANSWER_BYTES:
        return dump(_too_large(request, f"the answer is {len(out)} bytes"))
    return out


def answer_batch(requests: list[Any], handle: Handle) -> bytes | None:
    """The body answering a batch (None if it held notifications only)."""
    if not requests:
        return dump(error_response(None, RpcError(-32600, "empty batch")))
    if len(requests) > MAX_BATCH:
        message = f"batch of {len(requests)} requests; at most {MAX_BATCH} per batch"
        return dump(error_response(None, RpcError(-32600, message)))
    parts: list[bytes] = []
    size = 0
    for request in requests:
        if size > MAX_ANSWER_BYTES:
            response = _too_large(request, f"the batch's answers before it took {size} bytes")
            if response is not None:
                parts.append(dump(response))
            continue
        answered = handle(request)
        if answered is not None:
            parts.append(dump(answered))
            size += len(parts[-1]) + 1
    return b"[" + b",".join(parts) + b"]" if parts else None


def _too_large(request: Any, what: str) -> dict[str, Any] | None:
    if isinstance(request, dict) and "id" not in request:
        return None  # a notification gets no answer, not even this one
    message = (
        f"response too large: {what}, over the {MAX_ANSWER_BYTES}-byte limit of an answer; "
        "send fewer requests per batch or narrow the query"
    )
    return error_response(_id_of(request), RpcError(RESPONSE_TOO_LARGE, message))


def _id_of(request: Any) -> Any:
    request_id = request.get("id") if isinstance(request, dict) else None
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | type(None)):
        return None
    return request_id


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}


def dump(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
