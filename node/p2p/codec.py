"""Fixed-width binary primitives of the wire format (big-endian, length-prefixed blobs).

Integers are u8 or u64; a blob is a u32 length and that many bytes; a list of blobs is a u32
count and the blobs. Every read names the field it reads, so a short or oversize frame fails
with a `WireError` saying which field broke and by how many bytes.
"""

from __future__ import annotations

import struct

from gridledger.node.p2p.errors import WireError

U64_MAX = 2**64 - 1
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Reader:
    """Reads fields from one frame, front to back."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def _take(self, n: int, field: str) -> bytes:
        left = len(self._data) - self._pos
        if n > left:
            raise WireError(field, f"needs {n} bytes at offset {self._pos}, only {left} left")
        chunk = bytes(self._data[self._pos : self._pos + n])
        self._pos += n
        return chunk

    def u8(self, field: str) -> int:
        return self._take(1, field)[0]

    def u64(self, field: str) -> int:
        value: int = _U64.unpack(self._take(8, field))[0]
        return value

    def fixed(self, n: int, field: str) -> bytes:
        return self._take(n, field)

    def blob(self, max_bytes: int, field: str) -> bytes:
        length: int = _U32.unpack(self._take(4, field))[0]
        if length > max_bytes:
            raise WireError(field, f"{length} bytes, at most {max_bytes}")
        return self._take(length, field)

    def blobs(self, max_items: int, max_bytes: int, field: str) -> tuple[bytes, ...]:
        count: int = _U32.unpack(self._take(4, field))[0]
        if count > max_items:
            raise WireError(field, f"{count} items, at most {max_items}")
        return tuple(self.blob(max_bytes, f"{field}[{i}]") for i in range(count))

    def text(self, max_bytes: int, field: str) -> str:
        raw = self.blob(max_bytes, field)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError(field, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None

    def end(self, field: str) -> None:
        left = len(self._data) - self._pos
        if left:
            raise WireError(field, f"{left} trailing bytes after the last field")


class Writer:
    """Builds one frame; the checks mirror `Reader` so nothing unreadable is ever sent."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, value: int) -> None:
        self._parts.append(bytes((value,)))

    def u64(self, value: int) -> None:
        self._parts.append(_U64.pack(value))

    def fixed(self, value: bytes) -> None:
        self._parts.append(value)

    def blob(self, value: bytes) -> None:
        self._parts.append(_U32.pack(len(value)))
        self._parts.append(value)

    def blobs(self, values: tuple[bytes, ...]) -> None:
        self._parts.append(_U32.pack(len(values)))
        for value in values:
            self.blob(value)

    def text(self, value: str) -> None:
        self.blob(value.encode("utf-8"))

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def check_u64(value: object, field: str) -> int:
    """`value` as an unsigned 64-bit integer (bool refused), else `WireError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(field, f"must be an integer, got {type(value).__name__}")
    if not 0 <= value <= U64_MAX:
        raise WireError(field, f"{value} is outside 0..2^64-1")
    return value


def check_bytes(value: object, max_bytes: int, field: str) -> bytes:
    """`value` as bytes of at most `max_bytes`, else `WireError`."""
    if not isinstance(value, bytes):
        raise WireError(field, f"must be bytes, got {type(value).__name__}")
    if len(value) > max_bytes:
        raise WireError(field, f"{len(value)} bytes, at most {max_bytes}")
    return value


def check_fixed(value: object, n_bytes: int, field: str) -> bytes:
    """`value` as bytes of exactly `n_bytes` (a hash), else `WireError`."""
    if not isinstance(value, bytes):
        raise WireError(field, f"must be bytes, got {type(value).__name__}")
    if len(value) != n_bytes:
        raise WireError(field, f"{len(value)} bytes, must be exactly {n_bytes}")
    return value
