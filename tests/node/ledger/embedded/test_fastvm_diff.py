"""The embedded chain's interpreter equals stock py-evm (CancunComputation) on random code.

Each example runs one message on two copies of the same state, once with py-evm's
CancunComputation and once with GridledgerComputation, and compares everything observable:
success, error type and message, gas used and remaining, refund, output, return data, logs,
deleted accounts and the state root (storage, balances, nonces, created contracts), and also
the stack and memory where the code stopped, so that every value computed is compared.
Programs are random bytes and structured programs (jumps to real and bogus destinations,
memory near its limits, calls into helper contracts that return, revert, store, log and
call back, CREATE/CREATE2, SSTORE refunds, transient storage, MCOPY); gas is varied down to
running out at every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth import constants
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.transaction_context import CancunTransactionContext
from eth.vm.message import Message
from eth_typing import Address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded import fastvm
from gridledger.node.ledger.embedded.fastvm import GridledgerComputation

SENDER = Address(b"\x5e" * 20)
CONTRACT = Address(b"\xc0" * 19 + b"\x01")
CALLEE = Address(b"\xc0" * 19 + b"\x02")
ECRECOVER = Address(b"\x00" * 19 + b"\x01")
ADDRESSES = (SENDER, CONTRACT, CALLEE, ECRECOVER, Address(b"\x00" * 19 + b"\x04"))
PRESET_SLOTS = {0: 0, 1: 1, 2: 7, 3: 2**255}

PUSH1, PUSH2, PUSH32 = 0x60, 0x61, 0x7F
JUMP, JUMPI, JUMPDEST = 0x56, 0x57, 0x5B


def _push(value: int) -> bytes:
    size = max(1, (value.bit_length() + 7) // 8)
    return bytes([PUSH1 + size - 1]) + value.to_bytes(size, "big")


def _asm(*parts: int | bytes) -> bytes:
    return b"".join(bytes([p]) if isinstance(p, int) else p for p in parts)


# Helper contracts the random code can call (CALLEE's code is one of these per example).
CALLEE_CODES: tuple[bytes, ...] = (
    # returns 64 bytes (its calldata size and its caller) and logs them
    bytes.fromhex("366000523360205260406000a060406000f3"),
    # reverts with 4 bytes of data
    bytes.fromhex("63deadbeef6000526004601cfd"),
    # stores calldata word 0 in slot 0 (refund paths), transient store, returns the old value
    bytes.fromhex("60005460005260003560005560016000355d60206000f3"),
    # runs out of gas in a loop
    bytes.fromhex("5b600056"),
    # calls back into CONTRACT with its calldata and all its gas, returns what it got
    _asm(
        0x36, 0x5F, 0x5F, 0x37, 0x5F, 0x5F, 0x36, 0x5F, 0x5F, 0x73, CONTRACT, 0x5A, 0xF1, 0x50,
        0x3D, 0x5F, 0x5F, 0x3E, 0x3D, 0x5F, 0xF3,
    ),
    # no code
    b"",
)  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """Everything a message's execution leaves that can be observed."""

    success: bool
    error: str
    gas_used: int
    gas_remaining: int
    refund: int
    output: bytes
    return_data: bytes
    logs: tuple[Any, ...]
    deleted: tuple[bytes, ...]
    state_root: bytes
    # where the top-level code stopped (as ints: py-evm keeps some stack items as bytes)
    stack: tuple[int, ...]
    memory: bytes


def _genesis_chain() -> MiningChain:
    chain_class = MiningChain.configure(
        __name__="FastvmDiffChain", vm_configuration=((0, CancunVM),), chain_id=1337
    )
    params = {
        "difficulty": 0,
        "gas_limit": 30_000_000,
        "timestamp": 1_700_000_000,
        "extra_data": b"",
        "nonce": b"\x00" * 8,
        "mix_hash": constants.ZERO_HASH32,
        "coinbase": constants.ZERO_ADDRESS,
        "base_fee_per_gas": 7,
    }
    funded = {"balance": 10**24, "nonce": 0, "code": b"", "storage": {}}
    state = {SENDER: funded, CONTRACT: {**funded, "balance": 10**18, "storage": PRESET_SLOTS}}
    chain = chain_class.from_genesis(AtomicDB(), params, state)  # type: ignore[arg-type]
    assert isinstance(chain, MiningChain)
    return chain


_CHAIN = _genesis_chain()


def run_message(
    computation_class: type[CancunComputation],
    code: bytes,
    *,
    gas: int,
    calldata: bytes = b"",
    value: int = 0,
    is_static: bool = False,
    callee_code: bytes = b"",
) -> Outcome:
    """Run `code` at CONTRACT (called by SENDER) on a fresh copy of the genesis state."""
    state = _CHAIN.get_vm().state
    state.set_code(CONTRACT, code)
    state.set_code(CALLEE, callee_code)
    state.persist()
    message = Message(
        gas=gas,
        to=CONTRACT,
        sender=SENDER,
        value=value,
        data=calldata,
        code=code,
        is_static=is_static,
    )
    context = CancunTransactionContext(gas_price=1, origin=SENDER)
    computation: Any = computation_class.apply_message(state, message, context)
    error = computation._error
    stack = computation._stack.values
    return Outcome(
        success=computation.is_success,
        error="" if error is None else f"{type(error).__name__}: {error}",
        gas_used=computation.get_gas_used(),
        gas_remaining=computation.get_gas_remaining(),
        refund=computation.get_gas_refund(),
        output=computation.output,
        return_data=computation.return_data,
        logs=computation.get_log_entries(),
        deleted=tuple(sorted(computation.get_accounts_for_deletion())),
        state_root=state.make_state_root(),
        stack=tuple(v if isinstance(v, int) else int.from_bytes(v, "big") for v in stack),
        memory=bytes(computation._memory._bytes),
    )


@contextmanager
def compile_threshold(executions: int) -> Iterator[None]:
    """Compile blocks after `executions` runs of them (0: always run compiled code)."""
    before = fastvm.HOT_AFTER_RUNS
    fastvm.HOT_AFTER_RUNS = executions
    try:
        yield
    finally:
        fastvm.HOT_AFTER_RUNS = before


def assert_same(code: bytes, thresholds: tuple[int, ...] = (0, 2), **kwargs: Any) -> Outcome:
    """Both interpreters give the same Outcome (compiled from the first run and adaptive)."""
    stock = run_message(CancunComputation, code, **kwargs)
    for threshold in thresholds:
        with compile_threshold(threshold):
            fast = run_message(GridledgerComputation, code, **kwargs)
        assert fast == stock, f"code {code.hex()} {kwargs}: threshold {threshold}"
    return stock


def assert_same_at_every_gas(code: bytes, samples: int = 400, **kwargs: Any) -> None:
    """Same outcome with ample gas and with every gas limit from 0 up to what it used
    (`samples` evenly spaced limits when it used more; up to 3,000 when it failed)."""
    full = assert_same(code, gas=200_000, **kwargs)
    limit = full.gas_used if full.success else 3_000
    step = max(1, limit // samples)
    for gas in range(0, limit + 2, step):
        assert_same(code, gas=gas, **kwargs)


# ------------------------------------------------------------------ program generation
INTERESTING = (
    0, 1, 2, 3, 7, 31, 32, 33, 64, 0x80, 255, 256, 0xFFFF, 2**31, 2**32, 2**63, 2**64,
    2**128, 2**160 - 1, 2**254, 2**255 - 1, 2**255, 2**255 + 1, 2**256 - 2, 2**256 - 1,
    0x1F_FFE0, 0xFFFF_FFE0, int.from_bytes(CONTRACT, "big"), int.from_bytes(CALLEE, "big"),
    1, 4,
)  # fmt: skip

# Opcodes a program draws from, with their (pops, pushes).
COMMON_OPS: dict[int, tuple[int, int]] = {
    **{op: (2, 1) for op in (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0B)},
    0x08: (3, 1), 0x09: (3, 1),
    **{op: (2, 1) for op in (0x10, 0x11, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18, 0x1A, 0x1B, 0x1C,
                             0x1D, 0x20)},
    0x15: (1, 1), 0x19: (1, 1),
    **{op: (0, 1) for op in (0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3A, 0x3D, 0x41, 0x42, 0x43,
                             0x44, 0x45, 0x46, 0x47, 0x48, 0x4A, 0x58, 0x59, 0x5A, 0x5F)},
    **{op: (1, 1) for op in (0x31, 0x35, 0x3B, 0x3F, 0x40, 0x49, 0x51, 0x54, 0x5C)},
    **{op: (3, 0) for op in (0x37, 0x39, 0x3E, 0x5E)},
    0x3C: (4, 0), 0x50: (1, 0), 0x52: (2, 0), 0x53: (2, 0), 0x55: (2, 0), 0x5D: (2, 0),
    **{0xA0 + n: (2 + n, 0) for n in range(5)},
}  # fmt: skip
RARE_OPS = [0x00, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xFA, 0xFD, 0xFE, 0xFF, 0x0C, 0xEF]
SMALL = (0, 1, 2, 3, 31, 32, 64, 0x80, 0x100)


@dataclass(frozen=True)
class Item:
    """One piece of a program: `code` laid out as it is, a JUMPDEST marking `label`, or a
    jump to `label`'s position + `offset` (`code`: JUMPI's condition push). `needs` stack
    items, changes the height by `delta`."""

    kind: str  # "code", "jumpdest", "jump" or "jumpi"
    code: bytes = b""
    label: int = 0
    offset: int = 0
    needs: int = 0
    delta: int = 0


@st.composite
def _item(draw: st.DrawFn, labels: int) -> Item:
    kind = draw(
        st.sampled_from(
            ["push"] * 5
            + ["op"] * 8
            + ["dup", "swap", "jumpdest", "jump", "jumpi", "call", "mem", "raw", "rare"]
        )
    )
    if kind == "push":
        small = st.sampled_from(SMALL)
        value = draw(
            st.one_of(small, small, st.sampled_from(INTERESTING), st.integers(0, 2**256 - 1))
        )
        return Item("code", _push(value), delta=1)
    if kind == "op":
        op = draw(st.sampled_from(sorted(COMMON_OPS)))
        pops, pushes = COMMON_OPS[op]
        return Item("code", bytes([op]), needs=pops, delta=pushes - pops)
    if kind == "dup":
        n = draw(st.integers(1, 16))
        return Item("code", bytes([0x7F + n]), needs=n, delta=1)
    if kind == "swap":
        n = draw(st.integers(1, 16))
        return Item("code", bytes([0x8F + n]), needs=n + 1)
    if kind in ("jumpdest", "jump", "jumpi"):
        label = draw(st.integers(0, labels - 1))
        offset = draw(st.sampled_from((0,) * 6 + (1, -1)))
        cond = _push(draw(st.sampled_from((0, 1, 2**255)))) if kind == "jumpi" else b""
        return Item(kind, cond, label, offset)
    if kind == "call":
        op = draw(st.sampled_from([0xF1, 0xF2, 0xF4, 0xFA]))
        target = draw(st.sampled_from(ADDRESSES))
        args = [draw(st.sampled_from((0, 32, 64, 100))) for _ in range(4)]
        call_gas = draw(st.sampled_from((0, 2_300, 30_000, 2**256 - 1)))
        values = [] if op in (0xF4, 0xFA) else [draw(st.sampled_from((0, 1)))]
        pushed = b"".join(_push(v) for v in reversed(args))  # retSize, retOff, argsSize...
        pushed += b"".join(_push(v) for v in values)
        pushed += _push(int.from_bytes(target, "big")) + _push(call_gas)
        return Item("code", pushed + bytes([op]), delta=1)
    if kind == "mem":
        op = draw(st.sampled_from([0x51, 0x52, 0x53, 0x20, 0x5E, 0x37, 0x39, 0x3E]))
        offset = draw(st.sampled_from((0, 0, 31, 32, 32, 0x3FE0, 0x1_0000, 0xFFFF_FFFF, 2**64)))
        size = _push(draw(st.sampled_from((0, 1, 33, 64))))
        pops = COMMON_OPS[op][0]
        return Item("code", size + _push(offset) + bytes([op]), needs=max(0, pops - 2),
                    delta=2 + COMMON_OPS[op][1] - pops)  # fmt: skip
    if kind == "raw":
        return Item("code", draw(st.binary(min_size=1, max_size=6)))
    return Item("code", bytes([draw(st.sampled_from(RARE_OPS))]))


@st.composite
def programs(draw: st.DrawFn) -> bytes:
    """Bytecode with labelled jump destinations (JUMP/JUMPI to them, or just beside them),
    mostly clear of stack underflow (values are pushed where an opcode would lack them)."""
    labels = draw(st.integers(1, 4))
    items = draw(st.lists(_item(labels), min_size=1, max_size=60))
    for label in range(labels):  # every label exists at least once
        items.insert(draw(st.integers(0, len(items))), Item("jumpdest", label=label))
    height = 0
    laid: list[Item] = []
    for item in items:
        missing = item.needs - height
        if missing > 0:
            fill = draw(st.lists(st.sampled_from(SMALL), min_size=missing, max_size=missing))
            laid.append(Item("code", b"".join(_push(v) for v in fill)))
            height += missing
        laid.append(item)
        height = max(0, height + item.delta)
    positions: dict[int, int] = {}
    for _ in range(2):  # the first pass finds the label positions, the second uses them
        out = bytearray()
        for item in laid:
            if item.kind == "jumpdest":
                positions.setdefault(item.label, len(out))
                out.append(JUMPDEST)
            elif item.kind == "code":
                out += item.code
            else:
                target = max(positions.get(item.label, 0) + item.offset, 0)
                out += item.code + bytes([PUSH2]) + target.to_bytes(2, "big")
                out.append(JUMP if item.kind == "jump" else JUMPI)
    return bytes(out + draw(st.sampled_from((b"", b"\x00", b"\xf3", b"\xfd", b"\x5f\x5f\xf3"))))


DIFF = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@DIFF
@given(
    code=programs(),
    gas=st.one_of(st.integers(0, 300), st.integers(0, 60_000), st.just(200_000), st.just(200_000)),
    calldata=st.binary(max_size=80),
    callee=st.sampled_from(CALLEE_CODES),
    value=st.sampled_from((0, 5)),
    is_static=st.booleans(),
)
def test_structured_programs(
    code: bytes, gas: int, calldata: bytes, callee: bytes, value: int, is_static: bool
) -> None:
    assert_same(
        code, gas=gas, calldata=calldata, callee_code=callee, value=value, is_static=is_static
    )


@DIFF
@given(code=st.binary(max_size=200), gas=st.integers(0, 100_000), calldata=st.binary(max_size=40))
def test_random_bytes(code: bytes, gas: int, calldata: bytes) -> None:
    assert_same(code, gas=gas, calldata=calldata, callee_code=CALLEE_CODES[0])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=programs(), callee=st.sampled_from(CALLEE_CODES), calldata=st.binary(max_size=40))
def test_out_of_gas_at_every_step(code: bytes, callee: bytes, calldata: bytes) -> None:
    assert_same_at_every_gas(code, samples=150, calldata=calldata, callee_code=callee)


EDGE_CASES = {
    # jump into push data: a 0x5b byte inside PUSH2's data is not a destination
    "jump_into_push_data": _asm(0x61, 0x5B, 0x5B, _push(2), JUMP),
    "jump_into_push1_data": _asm(0x60, 0x5B, _push(1), JUMP),
    "jumpi_into_push_data_from_calldata": _asm(0x60, 0x5B, _push(1), _push(0), 0x35, 0x15, 0x15,
                                               0x50, _push(1), _push(1), 0x01, JUMPI),
    "jump_past_code_end": _asm(_push(200), JUMP),
    "jumpi_not_taken_to_bad_destination": _asm(_push(0), _push(3), JUMPI, _push(1), 0x00),
    "jump_to_huge_destination": _asm(_push(2**256 - 1), JUMP),
    "push_data_runs_past_code_end": _asm(0x7F, b"\x01\x02"),
    "stack_underflow": _asm(0x01),
    "stack_overflow": _asm(*([0x5F] * 1025)),
    "stack_full_then_add": _asm(*([0x5F] * 1024), 0x01, 0x50, 0x5F, 0x5F),
    "dup16_on_full_stack": _asm(*([0x5F] * 1024), 0x8F),
    "swap16_short_stack": _asm(*([0x5F] * 16), 0x9F),
    "memory_expansion_huge": _asm(_push(1), _push(2**64), 0x52),
    "memory_expansion_large_affordable": _asm(_push(1), _push(0x1_0000), 0x52, 0x59, 0x5F, 0x52),
    "sha3_zero_size_huge_offset": _asm(_push(0), _push(2**255), 0x20, 0x5F, 0x52, 0x59, 0x5F, 0xF3),
    "mcopy_overlap": _asm(
        _push(2**256 - 1), _push(0), 0x52, _push(40), _push(0), _push(7), 0x5E,
        _push(64), _push(0), 0xF3,
    ),
    "calldataload_past_end": _asm(_push(2**200), 0x35, _push(30), 0x35, 0x01, 0x5F, 0x52,
                                  _push(32), 0x5F, 0xF3),
    "sstore_refunds": _asm(
        _push(0), _push(1), 0x55, _push(7), _push(2), 0x55, _push(0), _push(2), 0x55,
        _push(5), _push(0), 0x55, _push(0), _push(0), 0x55, _push(2**255), _push(3), 0x55,
    ),
    "transient_storage": _asm(_push(9), _push(1), 0x5D, _push(1), 0x5C, 0x5F, 0x52,
                              _push(32), 0x5F, 0xF3),
    "revert_with_data": _asm(_push(0xABCD), 0x5F, 0x52, _push(32), 0x5F, 0xFD),
    "gas_opcode_mid_block": _asm(0x5A, 0x5F, 0x52, 0x5A, _push(32), 0x52, _push(64), 0x5F, 0xF3),
    "exp_dynamic_gas": _asm(_push(2**255), _push(3), 0x0A, 0x5F, 0x52, _push(32), 0x5F, 0xF3),
    "signed_arithmetic": _asm(
        _push(2**256 - 1), _push(2**255), 0x05, _push(2**256 - 7), _push(3), 0x07,
        _push(2**256 - 2), _push(1), 0x1D, _push(5), _push(0x80), 0x0B, 0x12, 0x13, 0x01,
        0x01, 0x01, 0x5F, 0x52, _push(32), 0x5F, 0xF3,
    ),
    "create_and_create2": _asm(
        _push(0x600A600C600039600A6000F3), 0x5F, 0x52, _push(12), _push(20), _push(0), 0xF0,
        _push(7), _push(12), _push(20), _push(0), 0xF5, 0x01, 0x5F, 0x52, _push(32), 0x5F, 0xF3,
    ),
    "selfdestruct": _asm(_push(int.from_bytes(CALLEE, "big")), 0xFF),
    "invalid_opcode": _asm(_push(1), 0xFE),
    "undefined_opcode": _asm(_push(1), 0x0C),
    "loop_until_out_of_gas": _asm(JUMPDEST, _push(1), 0x50, _push(0), JUMP),
    "counted_loop": _asm(
        _push(10), JUMPDEST, _push(1), 0x90, 0x03, 0x80, _push(2), JUMPI, 0x5F, 0x52,
        _push(32), 0x5F, 0xF3,
    ),
    "returndatacopy_out_of_bounds": _asm(_push(1), _push(0), _push(0), 0x3E),
    "log_in_static_call": _asm(_push(1), _push(0), 0xA1),
}  # fmt: skip


def test_edge_cases_at_every_gas() -> None:
    for name, code in EDGE_CASES.items():
        try:
            assert_same_at_every_gas(code, samples=100, callee_code=CALLEE_CODES[0])
            assert_same(code, gas=100_000, callee_code=CALLEE_CODES[0], is_static=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_nested_calls_reach_the_same_state() -> None:
    """CONTRACT calls CALLEE, which calls back into CONTRACT (which stores and logs)."""
    store_and_call = _asm(
        _push(1), 0x35, _push(7), 0x55, _push(5), _push(0), 0xA1,
        _push(0), _push(0), _push(0), _push(0), _push(0), _push(int.from_bytes(CALLEE, "big")),
        _push(50_000), 0xF1, 0x5F, 0x52, _push(32), 0x5F, 0xF3,
    )  # fmt: skip
    for callee in CALLEE_CODES:
        assert_same_at_every_gas(store_and_call, callee_code=callee, calldata=b"\x01" * 32)


OPERANDS = (0, 1, 2, 7, 31, 32, 255, 256, 2**64, 2**255 - 1, 2**255, 2**255 + 5, 2**256 - 2,
            2**256 - 1)  # fmt: skip
THIRD = (0, 1, 7, 2**256 - 1)


def _words(*values: int) -> bytes:
    return b"".join(v.to_bytes(32, "big") for v in values)


def _operand_code(triples: list[tuple[int, int, int]], op: int, pushed: bool) -> bytes:
    """For each (a, b, c): c, b, a onto the stack (pushed, or loaded from calldata laid out
    by _operand_calldata), then `op`."""
    out = bytearray()
    for k, values in enumerate(triples):
        for j in (2, 1, 0):
            out += _push(values[j]) if pushed else _asm(_push(96 * k + 32 * j), 0x35)
        out.append(op)
    return bytes(out)


def _operand_calldata(triples: list[tuple[int, int, int]]) -> bytes:
    return b"".join(_words(*values) for values in triples)


def test_each_opcode_on_interesting_operands() -> None:
    """Every opcode with operands loaded from calldata (computed at run time) and pushed
    (folded when the block is compiled). Arithmetic, comparison and bitwise opcodes run on
    every pair of interesting operands in one program whose final stack holds each result;
    the others on a sample, one program each."""
    pairs = [(a, b) for a in OPERANDS for b in OPERANDS]
    for op in range(256):
        if op in PURE_OPS:
            thirds = THIRD if op in (0x08, 0x09) else THIRD[2:3]
            batches = [[(a, b, c) for a, b in pairs for c in thirds]]
        else:
            batches = [[(a, b, THIRD[k % 4])] for k, (a, b) in enumerate(pairs[::40])]
        for triples in batches:
            for pushed in (False, True):
                code = _operand_code(triples, op, pushed)
                try:
                    assert_same(
                        code,
                        thresholds=(0,),
                        gas=1_000_000,
                        calldata=_operand_calldata(triples),
                        callee_code=CALLEE_CODES[0],
                    )
                except AssertionError as exc:
                    raise AssertionError(f"opcode {op:#x} on {triples[:3]}...: {exc}") from exc


PURE_OPS = frozenset(range(0x01, 0x0C)) | frozenset(range(0x10, 0x1E))


@st.composite
def shuffling_blocks(draw: st.DrawFn) -> bytes:
    """17 distinct values, then blocks entered by jumps (each starts with a full stack) that
    DUP, SWAP, POP, PUSH and compute on them; the final stack shows where each value went."""
    out = bytearray(b"".join(_push(1000 + k) for k in range(17)))
    blocks = draw(st.lists(st.lists(st.sampled_from(
        [0x50, 0x01, 0x03, 0x10, 0x15, 0x5F, 0x60, *range(0x80, 0xA0)]
    ), max_size=12), min_size=1, max_size=6))  # fmt: skip
    height = 17
    for k, ops in enumerate(blocks):
        jump_at = len(out)
        out += bytes([PUSH2, 0, 0, JUMP, JUMPDEST])  # jump to the JUMPDEST just after
        out[jump_at + 1 : jump_at + 3] = (jump_at + 4).to_bytes(2, "big")
        for op in ops:
            pops, pushes = COMMON_OPS.get(op, (0, 1) if op == 0x60 else (0, 0))
            if 0x80 <= op < 0x90:
                pops, pushes = 0, 1
            if height - pops < 17 or height + pushes > 40:
                continue  # keep at least the 17 values below, so nothing underflows
            out += _push(k) if op == 0x60 else bytes([op])
            height += pushes - pops
    return bytes(out)


@DIFF
@given(code=shuffling_blocks())
def test_stack_shuffles_across_blocks(code: bytes) -> None:
    assert_same(code, gas=100_000)


MEMORY_OFFSETS = (0, 1, 31, 32, 33, 0x3FE0)
MEMORY_SIZES = (0, 1, 31, 32, 33, 64, 65)


def test_memory_opcodes_on_interesting_operands() -> None:
    """MLOAD, MSTORE, MSTORE8, KECCAK256, MCOPY, the copies and LOG on every offset and size
    of interest, one after another in one program (memory grows as they go)."""
    for op, pops in ((0x51, 1), (0x52, 2), (0x53, 2), (0x20, 2), (0x5E, 3), (0x37, 3),
                     (0x39, 3), (0xA0, 2), (0xA2, 4)):  # fmt: skip
        out = bytearray(_asm(_push(2**256 - 3), _push(0x40), 0x52))  # some non-zero memory
        for offset in MEMORY_OFFSETS:
            for size in MEMORY_SIZES:
                operands = {
                    1: (offset,),
                    2: (offset, size),
                    3: (offset, 7, size),
                    4: (offset, size, 9, 8),
                }[pops]
                if op in (0x52, 0x53):
                    operands = (offset, 2**256 - size - 1)
                out += b"".join(_push(v) for v in reversed(operands)) + bytes([op])
        out += _asm(0x59, 0x5A)
        try:
            assert_same(bytes(out), thresholds=(0,), gas=1_000_000, calldata=b"\x77" * 40)
            assert_same(bytes(out), thresholds=(0,), gas=3_000, calldata=b"\x77" * 40)
        except AssertionError as exc:
            raise AssertionError(f"opcode {op:#x}: {exc}") from exc
