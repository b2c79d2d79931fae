"""What the block compiler knows about each Cancun opcode, checked against py-evm's table.

An opcode is compiled inline only if py-evm's table still maps it to the logic function its
inline form was written from (and its static gas is read from that table), so a py-evm
upgrade that changes an opcode turns it back into a call of py-evm's own opcode, never into
a silent divergence. Inline forms are Python expressions over the operands `{0}` (top of
the stack), `{1}`, `{2}`; values on the stack are ints in [0, 2**256).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth.vm import opcode_values as ov
from eth.vm.forks.berlin.logic import StaticCallEIP2929
from eth.vm.logic import (
    arithmetic,
    comparison,
    context,
    duplication,
    flow,
    memory,
    sha3,
    stack,
    swap,
)

from gridledger.node.ledger.embedded.fastvm_precompiles import StaticCallIntoEcrecover

UINT_256_MAX = 2**256 - 1
UINT_256_CEILING = 2**256
SIGN_BIT = 2**255
GAS_MEMORY_PER_WORD = 3
GAS_MEMORY_QUADRATIC_DENOMINATOR = 512
GAS_SHA3_PER_WORD = 6


def sdiv(numerator: int, denominator: int) -> int:
    """SDIV as py-evm computes it (truncation towards zero, -2**255 / -1 = -2**255)."""
    n = numerator - UINT_256_CEILING if numerator & SIGN_BIT else numerator
    d = denominator - UINT_256_CEILING if denominator & SIGN_BIT else denominator
    if d == 0:
        return 0
    result = (abs(n) // abs(d)) * (-1 if n * d < 0 else 1)
    return result & UINT_256_MAX


def smod(value: int, modulus: int) -> int:
    """SMOD as py-evm computes it (the sign of the result is the dividend's)."""
    v = value - UINT_256_CEILING if value & SIGN_BIT else value
    m = modulus - UINT_256_CEILING if modulus & SIGN_BIT else modulus
    if m == 0:
        return 0
    return (abs(v) % abs(m) * (-1 if v < 0 else 1)) & UINT_256_MAX


def signextend(bits: int, value: int) -> int:
    """SIGNEXTEND: extend the sign of byte `bits` (0 = lowest) of `value`."""
    if bits > 31:
        return value
    sign_bit = 1 << (bits * 8 + 7)
    if value & sign_bit:
        return value | (UINT_256_CEILING - sign_bit)
    return value & (sign_bit - 1)


def sar(shift: int, value: int) -> int:
    """SAR: arithmetic right shift of the signed `value` by `shift` bits."""
    signed = value - UINT_256_CEILING if value & SIGN_BIT else value
    if shift >= 256:
        return 0 if signed >= 0 else UINT_256_MAX
    return (signed >> shift) & UINT_256_MAX


def memory_cost(size_bytes: int) -> int:
    """Gas for memory of `size_bytes` (rounded up to words), as py-evm's memory_gas_cost."""
    words = (size_bytes + 31) >> 5
    return words * GAS_MEMORY_PER_WORD + words * words // GAS_MEMORY_QUADRATIC_DENOMINATOR


def memory_fee(size_now: int, end: int) -> int:
    """Gas to grow memory of `size_now` bytes (a multiple of 32) so that it holds `end`."""
    return memory_cost(end) - memory_cost(size_now)


HELPERS: dict[str, Any] = {"_sdiv": sdiv, "_smod": smod, "_signextend": signextend, "_sar": sar}

# Pure opcodes: (py-evm logic function, operands, Python expression).
PURE: dict[int, tuple[Callable[..., Any], int, str]] = {
    ov.ADD: (arithmetic.add, 2, f"(({{0}} + {{1}}) & {UINT_256_MAX:#x})"),
    ov.MUL: (arithmetic.mul, 2, f"(({{0}} * {{1}}) & {UINT_256_MAX:#x})"),
    ov.SUB: (arithmetic.sub, 2, f"(({{0}} - {{1}}) & {UINT_256_MAX:#x})"),
    ov.DIV: (arithmetic.div, 2, "({0} // {1} if {1} else 0)"),
    ov.SDIV: (arithmetic.sdiv, 2, "_sdiv({0}, {1})"),
    ov.MOD: (arithmetic.mod, 2, "({0} % {1} if {1} else 0)"),
    ov.SMOD: (arithmetic.smod, 2, "_smod({0}, {1})"),
    ov.ADDMOD: (arithmetic.addmod, 3, "(({0} + {1}) % {2} if {2} else 0)"),
    ov.MULMOD: (arithmetic.mulmod, 3, "(({0} * {1}) % {2} if {2} else 0)"),
    ov.SIGNEXTEND: (arithmetic.signextend, 2, "_signextend({0}, {1})"),
    ov.LT: (comparison.lt, 2, "(1 if {0} < {1} else 0)"),
    ov.GT: (comparison.gt, 2, "(1 if {0} > {1} else 0)"),
    ov.SLT: (comparison.slt, 2, f"(1 if ({{0}} ^ {SIGN_BIT:#x}) < ({{1}} ^ {SIGN_BIT:#x}) else 0)"),
    ov.SGT: (comparison.sgt, 2, f"(1 if ({{0}} ^ {SIGN_BIT:#x}) > ({{1}} ^ {SIGN_BIT:#x}) else 0)"),
    ov.EQ: (comparison.eq, 2, "(1 if {0} == {1} else 0)"),
    ov.ISZERO: (comparison.iszero, 1, "(0 if {0} else 1)"),
    ov.AND: (comparison.and_op, 2, "({0} & {1})"),
    ov.OR: (comparison.or_op, 2, "({0} | {1})"),
    ov.XOR: (comparison.xor, 2, "({0} ^ {1})"),
    ov.NOT: (comparison.not_op, 1, f"({UINT_256_MAX:#x} ^ {{0}})"),
    ov.BYTE: (comparison.byte_op, 2, "(({1} >> (248 - 8 * {0})) & 255 if {0} < 32 else 0)"),
    ov.SHL: (arithmetic.shl, 2, f"(({{1}} << {{0}}) & {UINT_256_MAX:#x} if {{0}} < 256 else 0)"),
    ov.SHR: (arithmetic.shr, 2, "({1} >> {0} if {0} < 256 else 0)"),
    ov.SAR: (arithmetic.sar, 2, "_sar({0}, {1})"),
}

# Opcodes with their own code path in the compiler, by the py-evm logic they reproduce.
SPECIAL: dict[int, Callable[..., Any]] = {
    ov.POP: stack.pop,
    ov.JUMP: flow.jump,
    ov.JUMPI: flow.jumpi,
    ov.JUMPDEST: flow.jumpdest,
    ov.PC: flow.program_counter,
    ov.GAS: flow.gas,
    ov.MLOAD: memory.mload,
    ov.MSTORE: memory.mstore,
    ov.MSTORE8: memory.mstore8,
    ov.MSIZE: memory.msize,
    ov.SHA3: sha3.sha3,
    ov.ADDRESS: context.address,
    ov.ORIGIN: context.origin,
    ov.CALLER: context.caller,
    ov.CALLVALUE: context.callvalue,
    ov.CALLDATALOAD: context.calldataload,
    ov.CALLDATASIZE: context.calldatasize,
    ov.CODESIZE: context.codesize,
    ov.RETURNDATASIZE: context.returndatasize,
}
SPECIAL.update({ov.PUSH0 + n: getattr(stack, f"push{n}") for n in range(33)})
SPECIAL.update({ov.DUP1 + n: getattr(duplication, f"dup{n + 1}") for n in range(16)})
SPECIAL.update({ov.SWAP1 + n: getattr(swap, f"swap{n + 1}") for n in range(16)})

# Opcodes called through py-evm's own opcode object inside a compiled block:
# (operands popped, results pushed). Anything in neither table ends the block and runs in
# py-evm's loop (STOP, RETURN, REVERT, INVALID, SELFDESTRUCT, undefined bytes).
CALLED: dict[int, tuple[int, int]] = {
    ov.EXP: (2, 1),
    ov.BALANCE: (1, 1),
    ov.CALLDATACOPY: (3, 0),
    ov.CODECOPY: (3, 0),
    ov.GASPRICE: (0, 1),
    ov.EXTCODESIZE: (1, 1),
    ov.EXTCODECOPY: (4, 0),
    ov.RETURNDATACOPY: (3, 0),
    ov.EXTCODEHASH: (1, 1),
    ov.BLOCKHASH: (1, 1),
    ov.COINBASE: (0, 1),
    ov.TIMESTAMP: (0, 1),
    ov.NUMBER: (0, 1),
    ov.DIFFICULTY: (0, 1),
    ov.GASLIMIT: (0, 1),
    ov.CHAINID: (0, 1),
    ov.SELFBALANCE: (0, 1),
    ov.BASEFEE: (0, 1),
    ov.BLOBHASH: (1, 1),
    ov.BLOBBASEFEE: (0, 1),
    ov.SLOAD: (1, 1),
    ov.SSTORE: (2, 0),
    ov.TLOAD: (1, 1),
    ov.TSTORE: (2, 0),
    ov.MCOPY: (3, 0),
    ov.LOG0: (2, 0),
    ov.LOG1: (3, 0),
    ov.LOG2: (4, 0),
    ov.LOG3: (5, 0),
    ov.LOG4: (6, 0),
    ov.CREATE: (3, 1),
    ov.CALL: (7, 1),
    ov.CALLCODE: (7, 1),
    ov.DELEGATECALL: (6, 1),
    ov.CREATE2: (4, 1),
    ov.STATICCALL: (6, 1),
}


@dataclass(frozen=True, slots=True)
class OpTable:
    """The compiler's view of one computation class's opcode table."""

    inline: frozenset[int]  # opcodes compiled inline (PURE and SPECIAL that match py-evm)
    called: Mapping[int, tuple[int, int]]  # opcodes called through py-evm inside blocks
    gas: Mapping[int, int]  # static gas of every inline or called opcode
    objects: Mapping[int, Any]  # py-evm's opcode objects (what a called opcode runs)


def _logic_of(opcode_object: Any) -> Any:
    logic = getattr(opcode_object, "logic_fn", None)
    return getattr(logic, "func", logic)  # EXP's logic is a curried function


def op_table(opcodes: Mapping[int, Any]) -> OpTable:
    """Classify `opcodes` (a computation class's table) for the compiler."""
    inline: set[int] = set()
    called: dict[int, tuple[int, int]] = {}
    gas: dict[int, int] = {}
    for value, obj in opcodes.items():
        cost = getattr(obj, "gas_cost", None)
        if not isinstance(cost, int):
            continue
        expected = PURE[value][0] if value in PURE else SPECIAL.get(value)
        if expected is not None and _logic_of(obj) is expected:
            inline.add(value)
        elif value in CALLED or value in PURE or value in SPECIAL:
            if value in PURE:
                called[value] = (PURE[value][1], 1)
            elif value in CALLED:
                called[value] = CALLED[value]
            else:
                continue  # a changed special opcode (jumps, stack ops): py-evm's loop runs it
        else:
            continue
        gas[value] = cost
    objects = dict(opcodes)
    staticcall = objects.get(ov.STATICCALL)
    if staticcall is not None and type(staticcall).__bases__ == (StaticCallEIP2929,):
        # Cancun's STATICCALL exactly (a later fork's subclass keeps py-evm's object).
        objects[ov.STATICCALL] = StaticCallIntoEcrecover(staticcall)
    return OpTable(frozenset(inline), called, gas, objects)
