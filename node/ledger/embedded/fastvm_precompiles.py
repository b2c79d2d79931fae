"""Calls into precompiled contracts without py-evm's general message machinery.

A signed reading costs one STATICCALL to ecrecover; py-evm spends most of that call in
machinery a precompile does not need: a full computation object (stack, memory, code stream,
coinbase warming), a state snapshot and its commit, and eth_keys' object layers around
libsecp256k1. `apply_precompile_message` does what py-evm's `apply_message` does for such a
call, in the same order of effects: the precompile runs on a light computation (same class,
same gas meter, same error handling by its context manager), then the callee is touched
unless the precompile failed (py-evm touches inside a snapshot that a failure reverts;
precompiles read no state, so touching after is the same). Calls that move value, delegate,
create or exceed the depth limit take py-evm's path.

`ecrecover` is py-evm's ecrecover precompile (eth/precompiles/ecrecover.py) with the same
checks in the same order, calling libsecp256k1 through coincurve directly.
"""

from __future__ import annotations

from typing import Any

from coincurve import PublicKey
from eth import constants
from eth.vm.code_stream import CodeStream
from eth.vm.memory import Memory
from eth.vm.stack import Stack
from eth_utils.crypto import keccak

SECP256K1_N = constants.SECPK1_N


def ecrecover(computation: Any) -> Any:
    """Address that signed the message hash (word 0) with v, r, s (words 1-3), left-padded
    to 32 bytes; no output for v not 27/28, r or s not below n, or no recovery."""
    computation.consume_gas(constants.GAS_ECRECOVER, reason="ECRecover Precompile")
    data = computation.msg.data_as_bytes[:128].ljust(128, b"\x00")
    v = int.from_bytes(data[32:64], "big")
    r_bytes, s_bytes = data[64:96], data[96:128]
    if (
        int.from_bytes(r_bytes, "big") >= SECP256K1_N
        or int.from_bytes(s_bytes, "big") >= SECP256K1_N
        or not 27 <= v <= 28
    ):
        return computation
    try:
        public_key = PublicKey.from_signature_and_message(
            r_bytes + s_bytes + bytes([v - 27]), data[:32], hasher=None
        ).format(compressed=False)[1:]
    except Exception:  # eth_keys turns every recovery failure into BadSignature: no output
        return computation
    computation.output = bytes(12) + keccak(public_key)[12:]
    return computation


def light_computation(cls: Any, state: Any, message: Any, transaction_context: Any) -> Any:
    """A computation of `cls` for a precompile: what BaseComputation.__init__ sets, without
    re-warming the coinbase (its caller's computation already warmed it)."""
    computation = cls.__new__(cls)
    computation.state = state
    computation.msg = message
    computation.transaction_context = transaction_context
    computation.code = CodeStream(message.code)
    computation._gas_meter = computation._configure_gas_meter()
    computation.children = []
    computation.accounts_to_delete = []
    computation.beneficiaries = []
    computation._stack = Stack()
    computation._memory = Memory()
    computation._log_entries = []
    computation.data_floor_cost = 0
    return computation


def apply_precompile_message(
    cls: Any,
    precompile: Any,
    state: Any,
    message: Any,
    transaction_context: Any,
    parent_computation: Any,
) -> Any:
    """py-evm's apply_message + apply_computation for a call (no value, no delegation) from
    `parent_computation` into `precompile`."""
    computation = light_computation(cls, state, message, transaction_context)
    computation.contracts_created = parent_computation.contracts_created
    with computation:
        precompile(computation)
    if computation.is_success:
        state.touch_account(message.storage_address)
    return computation
