"""Compiles EVM code into Python functions, one per straight-line run of instructions.

A compiled block starts at an instruction and runs through JUMPDESTs and not-taken JUMPIs
until a JUMP, an opcode it leaves to py-evm (STOP, RETURN, REVERT, INVALID, SELFDESTRUCT,
undefined bytes) or a length cap. Inside a block the stack lives in Python locals (PUSH,
DUP, SWAP and POP cost nothing at run time) and is written back to the real stack (a list of
ints) when the block leaves. On entry the block checks, once, that the gas covers the static
gas of all its instructions and that the stack height keeps every instruction clear of
underflow and overflow; the static gas is then taken in one subtraction and every exit gives
back what the instructions not executed had prepaid.

Whenever a block could not continue exactly as py-evm would (entry checks fail, a memory or
call fee would not be covered, a jump target is not a JUMPDEST), it writes the stack back
and returns the program counter of the instruction to resume at, bit-inverted (~pc): the
caller then runs py-evm's own opcode objects from there, so every error (its type, message
and gas) is py-evm's. Opcodes that touch state (SLOAD, SSTORE, LOG, CALL, ...) are called
through py-evm's opcode objects inside the block, with the gas meter and stack in sync.

Block function: `fn(S, gas, c, X) -> (next_pc or ~resume_pc, gas)`, with S the stack list,
gas the gas remaining, c the computation and X its Frame.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth.vm import opcode_values as ov
from eth_hash.auto import keccak

from gridledger.node.ledger.embedded.fastvm_ops import (
    GAS_SHA3_PER_WORD,
    HELPERS,
    PURE,
    OpTable,
    memory_fee,
)

STACK_LIMIT = 1024
MAX_BLOCK_INSTRUCTIONS = 160
EMPTY_KECCAK = int.from_bytes(keccak(b""), "big")

BlockFn = Callable[[list[int], int, Any, Any], tuple[int, int]]

_CODE_CACHE: dict[str, types.CodeType] = {}
_CODE_CACHE_LIMIT = 4_096


def analyse(code: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """(valid JUMPDEST positions, block starts: 0, the JUMPDESTs and each JUMPI's successor)."""
    jumpdests: set[int] = set()
    starts = {0}
    pc, size = 0, len(code)
    while pc < size:
        op = code[pc]
        nxt = pc + 1 + (op - ov.PUSH0 if ov.PUSH1 <= op <= ov.PUSH32 else 0)
        if op == ov.JUMPDEST:
            jumpdests.add(pc)
        elif op == ov.JUMPI and nxt < size:
            starts.add(nxt)
        pc = nxt
    return frozenset(jumpdests), frozenset(starts | jumpdests)


@dataclass(eq=False)
class Program:
    """One code's analysis and its compiled blocks (filled in as blocks become hot)."""

    code: bytes
    table: OpTable
    jumpdests: frozenset[int]
    starts: frozenset[int]
    fns: dict[int, BlockFn]  # compiled blocks by start pc
    runs: dict[int, int]  # runs of blocks not compiled yet, by start pc
    namespace: dict[str, Any] = field(repr=False)

    @classmethod
    def build(cls, code: bytes, table: OpTable) -> Program:
        jumpdests, starts = analyse(code)
        namespace: dict[str, Any] = {
            "__builtins__": builtins,
            "fb": int.from_bytes,
            "keccak": keccak,
            "_memfee": memory_fee,
            "JD": jumpdests,
            **HELPERS,
        }
        namespace.update({f"O{op}": table.objects[op] for op in table.called})
        return cls(code, table, jumpdests, starts, {}, {}, namespace)

    def block_at(self, pc: int, hot_after_runs: int) -> BlockFn | None:
        """The compiled block at `pc`, compiled once it has run `hot_after_runs` times
        (None until then: the caller runs py-evm's loop)."""
        runs = self.runs[pc] = self.runs.get(pc, 0) + 1
        if runs <= hot_after_runs:
            return None
        fn = self.fns[pc] = self.compile(pc)
        self.runs.pop(pc, None)
        return fn

    def compile(self, start: int) -> BlockFn:
        source = _BlockCompiler(self, start).source()
        code_object = _CODE_CACHE.get(source)
        if code_object is None:
            scope: dict[str, Any] = {}
            exec(compile(source, f"<evm block {start}>", "exec"), scope)
            code_object = scope["blk"].__code__
            if len(_CODE_CACHE) >= _CODE_CACHE_LIMIT:
                _CODE_CACHE.clear()
            _CODE_CACHE[source] = code_object
        fn: BlockFn = types.FunctionType(code_object, self.namespace, f"blk_{start}")
        return fn


# A symbolic stack item: ("c", constant) | ("e", depth below the segment's entry top, 1 = top)
# | ("v", local variable name).
Item = tuple[str, Any]


class _BlockCompiler:
    """Generates the Python source of one block."""

    def __init__(self, program: Program, start: int) -> None:
        self.p = program
        self.start = start
        self.lines: list[str] = []
        self.items: list[Item] = []  # symbolic stack above the segment's untouched entries
        self.consumed = 0  # entry items taken into `items` or popped
        self.names = 0
        self.mem_loaded = False
        self.instructions = self._decode()
        costs = [self.p.table.gas[op] for _, op, _ in self.instructions]
        self.suffix = [sum(costs[k:]) for k in range(len(costs) + 1)]

    # ------------------------------------------------------------------ decoding
    def _decode(self) -> list[tuple[int, int, int]]:
        """(pc, opcode, push value) of each instruction in the block; sets self.end_pc and
        self.end_kind ("jump": ends with a JUMP, "fall": continue at end_pc compiled,
        "resume": py-evm runs end_pc)."""
        code, table = self.p.code, self.p.table
        out: list[tuple[int, int, int]] = []
        pc = self.start
        self.end_kind = "resume"
        while True:
            if pc >= len(code):
                break
            op = code[pc]
            if op not in table.inline and op not in table.called:
                break
            if len(out) >= MAX_BLOCK_INSTRUCTIONS:
                self.end_kind = "fall"
                break
            value = 0
            nxt = pc + 1
            if ov.PUSH1 <= op <= ov.PUSH32 and op in table.inline:
                size = op - ov.PUSH0
                value = int.from_bytes(code[pc + 1 : pc + 1 + size].ljust(size, b"\x00"), "big")
                nxt += size
            out.append((pc, op, value))
            pc = nxt
            if op == ov.JUMP and op in table.inline:
                self.end_kind = "jump"
                break
        self.end_pc = pc
        return out

    def _height_bounds(self) -> tuple[int, int]:
        """(least, greatest) entry stack height with which no instruction under- or overflows."""
        table = self.p.table
        height = need = top = 0
        for _, op, _ in self.instructions:
            if op in table.called:
                pops, pushes = table.called[op]
            elif op in PURE:
                pops, pushes = PURE[op][1], 1
            else:
                pops, pushes = _SPECIAL_EFFECTS.get(op, (0, 0))
            reach = pops
            if ov.DUP1 <= op <= ov.DUP16:
                reach, pops, pushes = op - ov.DUP1 + 1, 0, 1
            elif ov.SWAP1 <= op <= ov.SWAP16:
                reach, pops, pushes = op - ov.SWAP1 + 2, 0, 0
            elif ov.PUSH0 <= op <= ov.PUSH32:
                pops, pushes = 0, 1
            need = max(need, reach - height)
            height += pushes - pops
            top = max(top, height)
        return need, STACK_LIMIT - top

    # ------------------------------------------------------------------ symbolic stack
    def _name(self, prefix: str = "v") -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def _pop(self) -> Item:
        if self.items:
            return self.items.pop()
        self.consumed += 1
        return ("e", self.consumed)

    def _reach(self, n: int) -> None:
        while len(self.items) < n:
            self.consumed += 1
            self.items.insert(0, ("e", self.consumed))

    @staticmethod
    def _render(item: Item) -> str:
        kind, value = item
        if kind == "c":
            return str(value) if value < 2**32 else hex(value)
        if kind == "e":
            return f"S[-{value}]"
        return str(value)

    def _flush(self, items: list[Item], consumed: int) -> list[str]:
        """Statements that make the real stack what (items, consumed) describes."""
        items = list(items)
        while items and consumed and items[0] == ("e", consumed):
            items.pop(0)  # still in place: nothing to write
            consumed -= 1
        values = ", ".join(self._render(i) for i in items)
        if not consumed:
            if not items:
                return []
            return [f"S.append({values})"] if len(items) == 1 else [f"S += ({values},)"]
        if not items:
            return [f"del S[-{consumed}:]"]
        if consumed == 1 and len(items) == 1:
            return [f"S[-1] = {values}"]
        return [f"S[-{consumed}:] = ({values},)"]

    def _copy_if_entry(self, item: Item, indent: str) -> Item:
        """Entry items live in S, which an exit overwrites: copy one that outlives a flush."""
        if item[0] != "e":
            return item
        name = self._name("t")
        self.lines.append(f"{indent}{name} = {self._render(item)}")
        return ("v", name)

    # ------------------------------------------------------------------ generation
    def _gas_at(self, k: int) -> str:
        """Real gas remaining before instruction k (what it prepaid given back)."""
        return f"gas + {self.suffix[k]}" if self.suffix[k] else "gas"

    def _exit(self, indent: str, items: list[Item], consumed: int, pc: int, k: int) -> None:
        """Write the stack back and leave: continue compiled at `pc` (before instruction k
        of this block, or after the last) ."""
        self.lines += [indent + s for s in self._flush(items, consumed)]
        self.lines.append(f"{indent}return {pc}, {self._gas_at(k)}")

    def _resume(self, indent: str, items: list[Item], consumed: int, pc: int, k: int) -> None:
        """Write the stack back and let py-evm run from `pc` (instruction k)."""
        self.lines += [indent + s for s in self._flush(items, consumed)]
        self.lines.append(f"{indent}return {~pc}, {self._gas_at(k)}")

    def _need_memory(self) -> None:
        if not self.mem_loaded:
            self.lines.append("    mem = mo._bytes")
            self.mem_loaded = True

    def _grow(self, end: str, offset: str, size: str, before: tuple[list[Item], int], k: int,
              pc: int, extra_fee: str = "") -> None:  # fmt: skip
        """Memory expansion to `end` (from `offset`, `size` bytes), its fee and `extra_fee`
        charged; py-evm runs the instruction instead if they are not covered."""
        fee = f"_memfee(len(mem), {end})"
        if extra_fee:
            self.lines.append(f"    f = {extra_fee}")
            self.lines.append(f"    if {end} > len(mem): f += {fee}")
        else:
            self.lines.append(f"    f = {fee} if {end} > len(mem) else 0")
        self.lines.append("    if f:")
        self.lines.append("        if f > gas:")
        self._resume("            ", before[0], before[1], pc, k)
        self.lines.append("        gas -= f")
        self.lines.append(f"        if {end} > len(mem):")
        self.lines.append(f"            mo.extend({offset}, {size})")
        self.lines.append("            mem = mo._bytes")

    def source(self) -> str:
        table = self.p.table
        least, greatest = self._height_bounds()
        total = self.suffix[0]
        checks = [f"gas < {total}"] if total else []
        if least:
            checks.append(f"len(S) < {least}")
        if greatest < STACK_LIMIT:
            checks.append(f"len(S) > {greatest}")
        head = ["def blk(S, gas, c, X):"]
        if checks:
            head += [f"    if {' or '.join(checks)}:", f"        return {~self.start}, gas"]
        if total:
            head.append(f"    gas -= {total}")
        ops = {op for _, op, _ in self.instructions}
        if ops & {ov.MLOAD, ov.MSTORE, ov.MSTORE8, ov.MSIZE, ov.SHA3}:
            head.append("    mo = X.mo")
        if ov.CALLDATALOAD in ops:
            head.append("    cd = X.cd")
        if ops & set(table.called):
            head.append("    mt = X.meter")
        for k, (pc, op, value) in enumerate(self.instructions):
            before = (list(self.items), self.consumed)
            if op in table.called:
                self._called(k, pc, op)
            elif op in PURE:
                self._pure(op)
            elif ov.PUSH0 <= op <= ov.PUSH32:
                self.items.append(("c", value))
            elif ov.DUP1 <= op <= ov.DUP16:
                n = op - ov.DUP1 + 1
                self._reach(n)
                self.items.append(self.items[-n])
            elif ov.SWAP1 <= op <= ov.SWAP16:
                n = op - ov.SWAP1 + 1
                self._reach(n + 1)
                self.items[-1], self.items[-n - 1] = self.items[-n - 1], self.items[-1]
            elif op == ov.POP:
                self._pop()
            elif op == ov.JUMPDEST:
                pass
            elif op == ov.JUMP:
                self._jump(k, pc, before)
            elif op == ov.JUMPI:
                if self._jumpi(k, pc, before):
                    break  # always taken: what follows is not reached from here
            else:
                self._special(k, pc, op, before)
        else:
            if self.end_kind == "fall":
                self._exit("    ", self.items, self.consumed, self.end_pc, len(self.instructions))
            elif self.end_kind == "resume":
                self._resume("    ", self.items, self.consumed, self.end_pc, len(self.instructions))
        return "\n".join(head + self.lines) + "\n"

    def _pure(self, op: int) -> None:
        _, arity, template = PURE[op]
        args = [self._pop() for _ in range(arity)]
        if all(kind == "c" for kind, _ in args):
            value = eval(template.format(*(str(v) for _, v in args)), dict(HELPERS))
            self.items.append(("c", value))
            return
        name = self._name()
        self.lines.append(f"    {name} = {template.format(*(self._render(a) for a in args))}")
        self.items.append(("v", name))

    def _called(self, k: int, pc: int, op: int) -> None:
        """Run py-evm's opcode object with the stack and gas meter in sync."""
        pushes = self.p.table.called[op][1]
        self.lines += ["    " + s for s in self._flush(self.items, self.consumed)]
        self.items, self.consumed, self.mem_loaded = [], 0, False
        self.lines.append(f"    mt.gas_remaining = {self._gas_at(k)}")
        self.lines.append(f"    X.code.program_counter = {pc + 1}")
        self.lines.append(f"    O{op}(computation=c)")
        after = self.suffix[k + 1]
        self.lines.append(
            f"    gas = mt.gas_remaining - {after}" if after else "    gas = mt.gas_remaining"
        )
        if pushes:
            self.lines.append("    t = S[-1]")
            self.lines.append("    if t.__class__ is bytes:")
            self.lines.append("        S[-1] = fb(t, 'big')")
        nxt = self.instructions[k + 1][0] if k + 1 < len(self.instructions) else self.end_pc
        self.lines.append("    if gas < 0:")
        self.lines.append(f"        return {~nxt}, {self._gas_at(k + 1)}")

    def _jump(self, k: int, pc: int, before: tuple[list[Item], int]) -> None:
        dest = self._copy_if_entry(self._pop(), "    ")
        if dest[0] == "c":
            if dest[1] in self.p.jumpdests:
                self._exit("    ", self.items, self.consumed, dest[1], k + 1)
            else:
                self._resume("    ", before[0], before[1], pc, k)
            return
        self.lines.append(f"    if {dest[1]} in JD:")
        self.lines += ["        " + s for s in self._flush(self.items, self.consumed)]
        self.lines.append(f"        return {dest[1]}, {self._gas_at(k + 1)}")
        self._resume("    ", before[0], before[1], pc, k)

    def _jumpi(self, k: int, pc: int, before: tuple[list[Item], int]) -> bool:
        """Emit JUMPI; True if it is always taken (the block ends here)."""
        dest = self._copy_if_entry(self._pop(), "    ")
        cond = self._pop()
        if cond[0] == "c" and not cond[1]:
            return False
        if cond[0] == "c":
            indent = "    "
        else:
            indent = "        "
            self.lines.append(f"    if {self._render(cond)}:")
        if dest[0] == "c":
            if dest[1] in self.p.jumpdests:
                self._exit(indent, self.items, self.consumed, dest[1], k + 1)
            else:
                self._resume(indent, before[0], before[1], pc, k)
        else:
            self.lines.append(f"{indent}if {dest[1]} in JD:")
            self.lines += [indent + "    " + s for s in self._flush(self.items, self.consumed)]
            self.lines.append(f"{indent}    return {dest[1]}, {self._gas_at(k + 1)}")
            self._resume(indent, before[0], before[1], pc, k)
        return cond[0] == "c"

    def _special(self, k: int, pc: int, op: int, before: tuple[list[Item], int]) -> None:
        name = self._name()
        r = self._render
        if op == ov.PC:
            self.items.append(("c", pc))
            return
        if op == ov.CODESIZE:
            self.items.append(("c", len(self.p.code)))
            return
        attribute = _FRAME_VALUES.get(op)
        if attribute is not None:
            self.lines.append(f"    {name} = X.{attribute}")
        elif op == ov.GAS:
            self.lines.append(f"    {name} = {self._gas_at(k + 1)}")
        elif op == ov.RETURNDATASIZE:
            self.lines.append(f"    {name} = len(c.return_data)")
        elif op == ov.MSIZE:
            self._need_memory()
            self.lines.append(f"    {name} = len(mem)")
        elif op == ov.CALLDATALOAD:
            a = r(self._pop())
            self.lines.append(f"    {name} = fb(cd[{a}:{a} + 32], 'big')")
        elif op == ov.MLOAD:
            a = r(self._pop())
            self._need_memory()
            self._grow(f"{a} + 32", a, "32", before, k, pc)
            self.lines.append(f"    {name} = fb(mem[{a}:{a} + 32], 'big')")
        elif op in (ov.MSTORE, ov.MSTORE8):
            a, v = r(self._pop()), self._pop()
            self._need_memory()
            if op == ov.MSTORE:
                self._grow(f"{a} + 32", a, "32", before, k, pc)
                word = (
                    repr(v[1].to_bytes(32, "big")) if v[0] == "c" else f"{r(v)}.to_bytes(32, 'big')"
                )
                self.lines.append(f"    mem[{a}:{a} + 32] = {word}")
            else:
                self._grow(f"{a} + 1", a, "1", before, k, pc)
                self.lines.append(f"    mem[{a}] = {r(v)} & 255")
            return
        elif op == ov.SHA3:
            a, size = r(self._pop()), r(self._pop())
            self._need_memory()
            self.lines.append(f"    if {size}:")
            body_start = len(self.lines)
            words_fee = f"{GAS_SHA3_PER_WORD} * (({size} + 31) >> 5)"
            self._grow(f"{a} + {size}", a, size, before, k, pc, extra_fee=words_fee)
            self.lines.append(f"    {name} = fb(keccak(mem[{a}:{a} + {size}]), 'big')")
            self.lines[body_start:] = ["    " + line for line in self.lines[body_start:]]
            self.lines.append("    else:")
            self.lines.append(f"        {name} = {EMPTY_KECCAK:#x}")
        else:
            raise AssertionError(f"opcode {op:#x} has no compiled form")
        self.items.append(("v", name))


_FRAME_VALUES = {
    ov.ADDRESS: "address",
    ov.ORIGIN: "origin",
    ov.CALLER: "caller",
    ov.CALLVALUE: "value",
    ov.CALLDATASIZE: "calldata_size",
}

# (pops, pushes) of the special opcodes other than PUSH, DUP and SWAP.
_SPECIAL_EFFECTS = {
    ov.POP: (1, 0),
    ov.JUMP: (1, 0),
    ov.JUMPI: (2, 0),
    ov.JUMPDEST: (0, 0),
    ov.PC: (0, 1),
    ov.GAS: (0, 1),
    ov.MLOAD: (1, 1),
    ov.MSTORE: (2, 0),
    ov.MSTORE8: (2, 0),
    ov.MSIZE: (0, 1),
    ov.SHA3: (2, 1),
    ov.ADDRESS: (0, 1),
    ov.ORIGIN: (0, 1),
    ov.CALLER: (0, 1),
    ov.CALLVALUE: (0, 1),
    ov.CALLDATALOAD: (1, 1),
    ov.CALLDATASIZE: (0, 1),
    ov.CODESIZE: (0, 1),
    ov.RETURNDATASIZE: (0, 1),
}
