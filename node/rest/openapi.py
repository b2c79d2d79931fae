"""The node's OpenAPI description with exact integer bounds.

FastAPI's OpenAPI model types `minimum`, `maximum`, `exclusiveMinimum` and `exclusiveMaximum`
as floats, so a body field's bound such as 2**64 (a uint64 interval) is written
1.8446744073709552e+19, and a client or a fuzzer reading it (schemathesis) takes integers past
the real bound for valid. The bounds of node.rest.schemas are powers of two or small
integers, which a float holds exactly: they are written back as JSON integers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def exact_bounds(node: Any) -> None:
    """Turn every integral float bound in the (nested) `node` into an int, in place."""
    if isinstance(node, dict):
        for key in _BOUNDS:
            value = node.get(key)
            if isinstance(value, float) and value.is_integer():
                node[key] = int(value)
        for value in node.values():
            exact_bounds(value)
    elif isinstance(node, list):
        for value in node:
            exact_bounds(value)


def install(app: FastAPI) -> None:
    """Serve `app`'s OpenAPI description with exact integer bounds."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        spec = generate()  # FastAPI caches it in app.openapi_schema: fixed once
        exact_bounds(spec)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
