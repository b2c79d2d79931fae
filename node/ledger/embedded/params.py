"""Parsing JSON-RPC parameters: every bad value is an RpcError(-32602) naming what is wrong."""

from __future__ import annotations

import functools
from typing import Any

from eth_utils.address import to_checksum_address

from gridledger.node.errors import NodeError

MAX_QUANTITY_HEX = 64  # 256 bits
MAX_DATA_BYTES = 256 * 1024


class RpcError(NodeError):
    """A JSON-RPC error response: code, message and optional data."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid(message: str) -> RpcError:
    return RpcError(-32602, f"invalid params: {message}")


def quantity(value: Any, name: str) -> int:
    """A hex quantity '0x..' (no negative numbers, at most 256 bits)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise invalid(f"{name} must be a hex string, got {type(value).__name__}")
    if not value.startswith(("0x", "0X")) or len(value) < 3:
        raise invalid(f"{name} must be a 0x-prefixed hex quantity, got {value[:40]!r}")
    if len(value) - 2 > MAX_QUANTITY_HEX:
        raise invalid(f"{name} is longer than 256 bits ({len(value) - 2} hex digits)")
    try:
        return int(value, 16)
    except ValueError as exc:
        raise invalid(f"{name} is not hex: {value[:40]!r}") from exc


def data(value: Any, name: str, max_bytes: int = MAX_DATA_BYTES) -> bytes:
    """0x-prefixed hex bytes, at most `max_bytes` long."""
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise invalid(f"{name} must be 0x-prefixed hex data")
    digits = value[2:]
    if len(digits) > 2 * max_bytes:
        raise invalid(f"{name} is longer than {max_bytes} bytes")
    if len(digits) % 2:
        raise invalid(f"{name} has an odd number of hex digits")
    try:
        return bytes.fromhex(digits)
    except ValueError as exc:
        raise invalid(f"{name} is not hex") from exc


def fixed(value: Any, name: str, size: int) -> bytes:
    raw = data(value, name, size)
    if len(raw) != size:
        raise invalid(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def address(value: Any, name: str) -> bytes:
    return fixed(value, name, 20)


@functools.lru_cache(maxsize=4096)
def checksum(raw: bytes) -> str:
    """EIP-55 form of a 20-byte address (cached: the same few addresses fill most replies)."""
    return str(to_checksum_address(raw))


def hexq(value: int) -> str:
    return hex(value)


def hexb(value: bytes) -> str:
    return "0x" + value.hex()


def arg(params: list[Any], index: int, name: str, default: Any = ...) -> Any:
    if index < len(params):
        return params[index]
    if default is ...:
        raise invalid(f"missing parameter {index} ({name})")
    return default
