"""Checks of incoming bus message values; each raises ``ProtocolError`` naming the value.

``what`` is the value's place in the message (``setpoints_w.MG1``, ``readings.MG1.seq``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from eth_utils.address import to_checksum_address

from gridledger.sim.errors import ProtocolError

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")

T = TypeVar("T")


def fields(body: dict[str, Any], what: str, names: Iterable[str]) -> None:
    """``body`` has exactly the fields ``names``."""
    wanted = tuple(names)
    missing = [n for n in wanted if n not in body]
    extra = sorted(set(body) - set(wanted))
    if missing or extra:
        raise ProtocolError(f"{what}: missing fields {missing}, unknown fields {extra}")


def obj(value: Any, what: str) -> dict[str, Any]:
    """A JSON object."""
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} must be an object, got {value!r}")
    return value


def keyed(value: Any, what: str, parse: Callable[[Any, str], T]) -> dict[str, T]:
    """A JSON object ``{name: value}``, each value checked by ``parse(value, "what.name")``."""
    return {name(k, f"{what} key"): parse(v, f"{what}.{k}") for k, v in obj(value, what).items()}


def number(value: Any, what: str) -> float:
    """A finite JSON number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def integer(value: Any, what: str) -> int:
    """A JSON integer >= 0 (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{what} must be an integer >= 0, got {value!r}")
    return value


def name(value: Any, what: str) -> str:
    """A name of 1-64 characters (federates, microgrids, scenarios)."""
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ProtocolError(f"{what} must be a name of 1-64 characters, got {value!r}")
    return value


def address(value: Any, what: str) -> str:
    """An EIP-55 checksummed address (``0x`` and 40 hex digits), not the zero address."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ProtocolError(f"{what} must be 0x and 40 hex digits, got {value!r}")
    checksummed = str(to_checksum_address(value))
    if value != checksummed:
        raise ProtocolError(
            f"{what} is not EIP-55 checksummed: got {value}, expected {checksummed}"
        )
    if int(value, 16) == 0:
        raise ProtocolError(f"{what} is the zero address")
    return value


def bytes32(value: Any, what: str) -> bytes:
    """32 bytes written as ``0x`` and 64 hex digits."""
    if not isinstance(value, str) or not _BYTES32.fullmatch(value):
        raise ProtocolError(f"{what} must be 0x and 64 hex digits, got {value!r}")
    return bytes.fromhex(value[2:])
