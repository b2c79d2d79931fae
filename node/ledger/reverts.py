"""Decoding Solidity custom errors (and Error(string) / Panic(uint256)) from revert data.

The one boundary where contract reverts become Python exceptions (`ContractRevertError`),
keeping the raw data so JSON-RPC clients can still decode it themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from eth_abi.abi import decode
from eth_utils.conversions import to_bytes
from eth_utils.crypto import keccak
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from gridledger.contracts.artifacts import DEPLOYABLE, load_artifact
from gridledger.node.errors import ContractRevertError

ErrorSpec = tuple[str, list[str], tuple[str, ...]]  # (name, argument ABI types, argument names)

_BUILTIN: dict[bytes, ErrorSpec] = {
    keccak(text="Error(string)")[:4]: ("Error", ["string"], ("message",)),
    keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"], ("code",)),
}


def _abi_type(item: dict[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){kind[5:]}"
    return kind


@cache
def error_table() -> dict[bytes, ErrorSpec]:
    """selector -> (error name, argument ABI types, argument names) over every contract's
    ABI."""
    table = dict(_BUILTIN)
    for name in DEPLOYABLE:
        for item in load_artifact(name).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            arg_names = tuple(str(i["name"]) for i in item["inputs"])
            table[keccak(text=signature)[:4]] = (str(item["name"]), types, arg_names)
    return table


@cache
def error_arg_names() -> dict[str, tuple[str, ...]]:
    """Solidity error name -> its parameter names (Error: message, Panic: code)."""
    return {name: arg_names for name, _, arg_names in error_table().values()}


def decode_revert(data: bytes | str) -> ContractRevertError:
    """Decode raw revert data into a ContractRevertError (name "Unknown" if not in any ABI)."""
    raw = to_bytes(hexstr=data) if isinstance(data, str) else data
    entry = error_table().get(raw[:4])
    if entry is None:
        return ContractRevertError("Unknown", (), raw)
    name, types, _ = entry
    try:
        values = decode(types, raw[4:])
    except Exception:  # malformed payload after a known selector
        return ContractRevertError(name, (), raw)
    return ContractRevertError(name, tuple(values), raw)


def revert_data_of(exc: Exception) -> bytes | None:
    """The raw revert data carried by a web3 exception, if any."""
    if isinstance(exc, ContractLogicError | ContractCustomError | ContractPanicError):
        data = exc.data
        if isinstance(data, str) and data.startswith("0x"):
            return to_bytes(hexstr=data)
        if isinstance(data, bytes):
            return data
    return None


@contextmanager
def decoded_reverts() -> Iterator[None]:
    """Re-raise web3 contract reverts inside the block as ContractRevertError."""
    try:
        yield
    except (ContractLogicError, ContractCustomError, ContractPanicError) as exc:
        data = revert_data_of(exc)
        if data is None:
            raise ContractRevertError("Unknown", (str(exc),), b"") from exc
        raise decode_revert(data) from exc
