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
checks, calling libsecp256k1 through coincurve directly (secp256k1.recover_address).

`StaticCallIntoEcrecover` goes one step further for the compiled code's STATICCALL into
ecrecover (every signed reading makes one): it does what py-evm's StaticCallEIP2929 plus the
message application do, in the same order of gas charges and memory effects, without the
message or a full child computation. py-evm touches 0x01 on every successful call and lists
the call among the caller's children, where the end-of-transaction clearing (EIP-161) finds
it; here the touch happens only when 0x01 does not exist (touching an existing account
rewrites it unchanged) and one `PrecompileCallRecord` in the caller's children stands for
its calls into 0x01 (the walks over children only ask which accounts were touched). Any
other target, too little gas for the precompile, the depth limit or py-evm's opcode logging
take py-evm's path.
"""

from __future__ import annotations

from typing import Any

from eth import constants
from eth.vm.code_stream import CodeStream
from eth.vm.forks.berlin import constants as berlin_constants
from eth.vm.memory import Memory
from eth.vm.stack import Stack

from gridledger.node.ledger.embedded.secp256k1 import recover_address

ECRECOVER_ADDRESS = b"\x00" * 19 + b"\x01"
ECRECOVER = int.from_bytes(ECRECOVER_ADDRESS, "big")
ADDRESS_MASK = (1 << 160) - 1
RECORDED = "_gridledger_ecrecover_recorded"  # set on a computation that has its record


def ecrecover_output(call_data: bytes) -> bytes:
    """ecrecover's output for `call_data`: the address that signed the message hash (word 0)
    with v, r, s (words 1-3), left-padded to 32 bytes; empty for v not 27/28, r or s not
    below n, or no recovery."""
    data = call_data[:128].ljust(128, b"\x00")
    v = int.from_bytes(data[32:64], "big")
    if not 27 <= v <= 28:
        return b""
    r, s = int.from_bytes(data[64:96], "big"), int.from_bytes(data[96:128], "big")
    address = recover_address(data[:32], r, s, v - 27)
    return b"" if address is None else bytes(12) + address


def ecrecover(computation: Any) -> Any:
    """py-evm's ecrecover precompile on `computation` (its gas, then its output)."""
    computation.consume_gas(constants.GAS_ECRECOVER, reason="ECRecover Precompile")
    output = ecrecover_output(computation.msg.data_as_bytes)
    if output:
        computation.output = output
    return computation


class _To:
    __slots__ = ("to",)

    def __init__(self, to: bytes) -> None:
        self.to = to


class PrecompileCallRecord:
    """A successful call into a precompile as the caller's children list needs it: what
    py-evm's walks over children read (touched account, refunds, logs, deletions)."""

    __slots__ = ("msg", "state")
    is_error = False
    children: tuple[()] = ()

    def __init__(self, state: Any, to: bytes) -> None:
        self.state = state
        self.msg = _To(to)

    def get_gas_refund(self) -> int:
        return 0

    def get_accounts_for_deletion(self) -> list[Any]:
        return []

    def get_self_destruct_beneficiaries(self) -> list[Any]:
        return []

    def get_raw_log_entries(self) -> tuple[()]:
        return ()


class StaticCallIntoEcrecover:
    """STATICCALL as py-evm's `stock` opcode object (StaticCallEIP2929), with calls into
    ecrecover done here (see the module's docstring)."""

    def __init__(self, stock: Any) -> None:
        self.stock = stock
        self.mnemonic = stock.mnemonic
        self.gas_cost = stock.gas_cost
        self.logger = stock.logger

    def __call__(self, computation: Any) -> None:
        c = computation
        values = c._stack.values
        if len(values) < 6 or c.msg.depth >= constants.STACK_DEPTH_LIMIT:
            return self.stock(computation=c)  # type: ignore[no-any-return]
        gas, to, in_start, in_size, out_start, out_size = values[-1:-7:-1]
        if (
            to.__class__ is not int
            or to & ADDRESS_MASK != ECRECOVER
            or not all(v.__class__ is int for v in (gas, in_start, in_size, out_start, out_size))
            or self.logger.show_debug2
        ):
            return self.stock(computation=c)  # type: ignore[no-any-return]
        state = c.state
        # From here on py-evm's order: the opcode's gas, the pops, both memory extensions,
        # the input read, the account load, the 63/64 child gas.
        meter = c._gas_meter
        meter.consume_gas(self.gas_cost, self.mnemonic)
        del values[-6:]
        mem = c._memory._bytes  # its length is a multiple of 32: reaching it costs nothing
        if in_size and in_start + in_size > len(mem):
            c.extend_memory(in_start, in_size)
        if out_size and out_start + out_size > len(mem):
            c.extend_memory(out_start, out_size)
        mem = c._memory._bytes  # an extension may have replaced the buffer
        call_data = bytes(mem[in_start : in_start + in_size])
        if state.is_address_warm(ECRECOVER_ADDRESS):
            load_gas = berlin_constants.WARM_STORAGE_READ_COST
        else:
            state.mark_address_warm(ECRECOVER_ADDRESS)
            load_gas = berlin_constants.COLD_ACCOUNT_ACCESS_COST
        meter.consume_gas(load_gas, self.mnemonic)
        remaining = meter.gas_remaining
        child_gas = min(gas, remaining - remaining // 64)
        meter.consume_gas(child_gas, self.mnemonic)
        if child_gas < constants.GAS_ECRECOVER:
            # The precompile runs out of gas: the child's gas is burnt, no output, no touch.
            c.return_data = b""
            values.append(0)
            return None
        output = ecrecover_output(call_data)
        if not c.__dict__.get(RECORDED):
            # Once 0x01 exists during a computation it exists to its end (only a revert of
            # that computation's own snapshot could undo the touch), and one record per
            # computation tells the walks over children all that one per call would.
            if not state.account_exists(ECRECOVER_ADDRESS):
                state.touch_account(ECRECOVER_ADDRESS)
            c.children.append(PrecompileCallRecord(state, ECRECOVER_ADDRESS))
            c.__dict__[RECORDED] = True
        c.return_data = output
        values.append(1)
        size = min(out_size, len(output))
        if size:
            mem[out_start : out_start + size] = output[:size]
        meter.return_gas(child_gas - constants.GAS_ECRECOVER)
        return None


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
