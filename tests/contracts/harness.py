"""Test-side helpers over node.ledger.stack: asserting custom errors with their arguments."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.errors import ContractRevertError
from gridledger.node.ledger.stack import DAY0_TS, Participant, Stack, build_stack

__all__ = ["DAY0_TS", "TOKEN_UNITS", "Participant", "Stack", "build_stack", "expect_revert"]


@contextmanager
def expect_revert(name: str, *args: Any) -> Iterator[list[ContractRevertError]]:
    """Assert the block raises custom error `name` with exactly `args` (if any are given)."""
    caught: list[ContractRevertError] = []
    try:
        yield caught
    except ContractRevertError as exc:
        caught.append(exc)
        assert exc.name == name, f"expected {name}{args}, got {exc}"
        if args:
            assert tuple(_norm(a) for a in exc.error_args) == tuple(_norm(a) for a in args), (
                f"expected {name}{args}, got {exc}"
            )
        return
    raise AssertionError(f"expected revert {name}{args}, but the call succeeded")


def _norm(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value
