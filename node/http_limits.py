"""What an HTTP request may carry, refused before any route reads, parses or authenticates
it (docs/rest.md, "Limits"): a body size per route and a JSON nesting depth.

The depth bound is what keeps a node alive: py_ecc (imported by py-evm) raises the
interpreter's recursion limit to 100,000, far past what the C stack of a thread holds, so
the C JSON parser given 80,000 nested brackets overflows the stack and kills the process
before it can raise. The body is therefore scanned for its depth (strings skipped) before
`json.loads` sees it, and the recursion limit is put back to what py-evm needs
(`restore_recursion_limit`), so any other deep recursion raises RecursionError instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gridledger.node.ledger.embedded.params import RpcError
from gridledger.node.ledger.embedded.rpc import MAX_BODY_BYTES, error_bytes
from gridledger.node.rest.errors import (
    BodyTooLargeError,
    JsonTooDeepError,
    RestError,
    error_response,
)
from gridledger.node.rest.schemas import ErrorOut

# py-evm's own need (eth.EVM_RECURSION_LIMIT: 12 Python frames per EVM call level, 1,024
# levels). A thread's 8 MiB C stack holds the C JSON parser at this depth (measured: 12,000
# levels parse, 80,000 at py_ecc's 100,000 crash).
REQUEST_RECURSION_LIMIT = 1024 * 12
# The deepest JSON any request may carry. A JSON-RPC batch of eth_getLogs with topic lists is
# 6 deep, a REST body 2; 64 leaves room for any client and none for an attack.
MAX_JSON_DEPTH = 64
RPC_PATH = "/rpc"
# REST bodies are small objects (an order is ~100 bytes); /rpc carries raw transactions.
REST_MAX_BODY_BYTES = 64 * 1024
# A body this large is scanned in a worker thread, not on the event loop.
_SCAN_IN_THREAD_BYTES = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The largest body [bytes] and the deepest JSON nesting a route accepts."""

    max_body_bytes: int
    max_json_depth: int


RPC_LIMITS = BodyLimits(max_body_bytes=MAX_BODY_BYTES, max_json_depth=MAX_JSON_DEPTH)
REST_LIMITS = BodyLimits(max_body_bytes=REST_MAX_BODY_BYTES, max_json_depth=MAX_JSON_DEPTH)


# The refusals of this module, which any route can answer: in the OpenAPI description of
# every operation (FastAPI(responses=...)); /rpc answers them as JSON-RPC errors instead.
BODY_REFUSAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorOut,
        "description": f"JsonTooDeep: the body nests JSON deeper than {MAX_JSON_DEPTH} "
        "levels; BadRequest: the body is not UTF-8 JSON text",
    },
    413: {
        "model": ErrorOut,
        "description": f"PayloadTooLarge: the body is over {REST_MAX_BODY_BYTES} bytes "
        f"({MAX_BODY_BYTES} on /rpc)",
    },
}
RPC_REFUSAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "not used: unparsable or too deep JSON is a JSON-RPC -32700 error"},
    413: {
        "description": f"JSON-RPC error -32600: the body is over {MAX_BODY_BYTES} bytes",
        "content": {"application/json": {}},
    },
}


def limits_for(path: str) -> BodyLimits:
    """/rpc takes transactions and batches; every other route (REST, admin) small objects."""
    return RPC_LIMITS if path == RPC_PATH else REST_LIMITS


def restore_recursion_limit() -> None:
    """Put the interpreter's recursion limit back to py-evm's need (py_ecc sets 100,000)."""
    sys.setrecursionlimit(REQUEST_RECURSION_LIMIT)


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SCAN_CHUNK = 64 * 1024
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def json_depth(body: bytes, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in `body`, as `json.loads` would meet it:
    brackets inside strings do not count (UTF-16/32 bodies are scanned as their UTF-8).
    With `stop_above`, the scan ends at the first 64 KiB of brackets that go deeper (the
    depth returned is then a lower bound, over `stop_above`).

    Where the text is not JSON, the count up to the first error is the parser's, and the
    parser stops there; what follows cannot make it recurse."""
    if b"[" not in body and b"{" not in body:
        return 0
    encoding = json.detect_encoding(body)
    if encoding != "utf-8":
        try:
            body = body.decode(encoding).encode("utf-8", "surrogatepass")
        except (UnicodeError, LookupError):
            return 0  # json.loads refuses to decode it before parsing anything
    if b"\\" in body:
        # Drop escaped backslashes, then escaped quotes, left to right as the parser reads
        # them. Outside a string a backslash is an error the parser stops at, so what this
        # drops there is past anything the parser reaches.
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Without escapes, every other quote opens a string: the text between the even-numbered
    # quotes is outside strings (an unterminated last string is dropped, as the parser stops).
    outside = b"".join(body.split(b'"')[::2]) if b'"' in body else body
    brackets = outside.translate(None, _NOT_BRACKETS)
    deepest = level = 0
    for start in range(0, len(brackets), _SCAN_CHUNK):
        chunk = np.frombuffer(brackets[start : start + _SCAN_CHUNK], dtype=np.uint8)
        running = np.cumsum(_STEP[chunk]) + level
        deepest = max(deepest, int(running.max()))
        level = int(running[-1])
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def check_json_depth(body: bytes, limits: BodyLimits) -> None:
    """Raise JsonTooDeepError if `body` nests deeper than `limits` allows."""
    if body.count(b"[") + body.count(b"{") <= limits.max_json_depth:
        return  # cannot be deeper than its number of openers
    depth = json_depth(body, stop_above=limits.max_json_depth)
    if depth > limits.max_json_depth:
        raise JsonTooDeepError(
            f"the JSON body nests at least {depth} levels deep; at most "
            f"{limits.max_json_depth} are allowed"
        )


async def _read_body(scope: Scope, receive: Receive, limits: BodyLimits) -> bytes | None:
    """The whole body (None if the client went away), refused as soon as it is over the
    limit: by its announced length before reading, and while streaming when chunked."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit() and int(value) > limits.max_body_bytes:
            raise BodyTooLargeError(_too_large(f"{int(value)} bytes", limits))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise BodyTooLargeError(_too_large(f"over {limits.max_body_bytes} bytes", limits))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(size: str, limits: BodyLimits) -> str:
    return f"the request body is {size}; at most {limits.max_body_bytes} bytes are allowed"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body read already, then waits on the client."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def refusal(path: str, exc: RestError) -> Response:
    """A refused body as the route's clients read errors: JSON-RPC on /rpc (-32600 with HTTP
    413 for size, -32700 for depth, a parse error as the handler answers it), else the REST
    error body (node.rest.errors)."""
    if path != RPC_PATH:
        return error_response(exc)
    if isinstance(exc, BodyTooLargeError):
        return Response(error_bytes(RpcError(-32600, exc.message)), 413, None, "application/json")
    content = error_bytes(RpcError(-32700, f"parse error: {exc.message}"))
    return Response(content, 200, None, "application/json")


class BodyLimitMiddleware:
    """ASGI middleware: every HTTP request's body is read here within its route's limits and
    checked for depth, then handed to the app; a refusal never reaches routing or auth."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limits = limits_for(path)
        try:
            body = await _read_body(scope, receive, limits)
            if body is None:
                return
            if len(body) > _SCAN_IN_THREAD_BYTES:
                await run_in_threadpool(check_json_depth, body, limits)
            else:
                check_json_depth(body, limits)
        except (BodyTooLargeError, JsonTooDeepError) as exc:
            await refusal(path, exc)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)
