"""The embedded chain's execution classes: Cancun state and a faster computation.

GridledgerComputation is py-evm's CancunComputation with `apply_computation` replaced: the
code runs as compiled Python blocks (fastvm_compile) once a block has run HOT_AFTER_RUNS
times, and in py-evm's own opcode loop otherwise and wherever a block hands back (errors,
gas running out, STOP/RETURN/REVERT, stack limits). State access, calls, logs and
precompiles are py-evm's own code. Only the embedded chain uses these classes; eth-tester
keeps stock py-evm, and tests/node/ledger/embedded/test_fastvm_diff.py checks the two agree.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from time import monotonic
from types import MappingProxyType
from typing import Any

from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.constants import STACK_DEPTH_LIMIT
from eth.exceptions import Halt
from eth.vm.computation import NO_RESULT
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.state import CancunState
from eth.vm.logic.invalid import InvalidOpcode

from gridledger.node.ledger.embedded import budget, fastvm_precompiles
from gridledger.node.ledger.embedded.fastvm_compile import Program
from gridledger.node.ledger.embedded.fastvm_ops import OpTable, op_table

# A block is compiled once it has run this many times in py-evm's loop (code that runs
# once, like a constructor, is not worth compiling).
HOT_AFTER_RUNS = 2
PROGRAM_CACHE_SIZE = 256

budget.install()  # BLAKE2F and ECPAIRING check the execution limit

_TABLES: dict[int, OpTable] = {}
_PROGRAMS: OrderedDict[bytes, Program] = OrderedDict()
_PROGRAMS_LOCK = threading.Lock()


class Frame:
    """Per-computation values the compiled blocks read."""

    __slots__ = ("address", "calldata_size", "caller", "cd", "code", "meter", "mo", "origin",
                 "value")  # fmt: skip

    def __init__(self, computation: Any) -> None:
        msg = computation.msg
        data = msg.data_as_bytes
        self.mo = computation._memory
        self.cd = data + bytes(32)  # CALLDATALOAD past the end reads zeros
        self.calldata_size = len(data)
        self.meter = computation._gas_meter
        self.code = computation.code
        self.address = int.from_bytes(msg.storage_address, "big")
        self.origin = int.from_bytes(computation.transaction_context.origin, "big")
        self.caller = int.from_bytes(msg.sender, "big")
        self.value = msg.value


def program_for(code: bytes, opcodes: dict[int, Any]) -> Program:
    """The cached Program of `code` (least recently used ones are dropped). Chains on
    several threads share the cache, hence the lock; a Program itself tolerates races (a
    block compiled twice gives the same function)."""
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(code)
        if program is not None:
            _PROGRAMS.move_to_end(code)
            return program
        table = _TABLES.get(id(opcodes))
        if table is None:
            table = _TABLES[id(opcodes)] = op_table(opcodes)
        program = _PROGRAMS[code] = Program.build(code, table)
        if len(_PROGRAMS) > PROGRAM_CACHE_SIZE:
            _PROGRAMS.popitem(last=False)
        return program


def _interpret(c: Any, program: Program, pc: int, gas: int, stack: list[Any]) -> tuple[int, int]:
    """py-evm's loop from `pc` until control reaches a block start; (that pc, gas left).
    Raises Halt when the code stops, returns or self-destructs; errors propagate."""
    meter = c._gas_meter
    meter.gas_remaining = gas
    code_stream = c.code
    raw = program.code
    size = len(raw)
    starts = program.starts
    opcodes = c.opcodes
    while True:
        opcode = raw[pc] if pc < size else 0  # past the end: STOP
        code_stream.program_counter = pc + 1
        try:
            opcode_fn = opcodes[opcode]
        except KeyError:
            opcode_fn = InvalidOpcode(opcode)
        opcode_fn(computation=c)
        if stack:
            top = stack[-1]
            if top.__class__ is bytes:  # py-evm pushes some values as bytes
                stack[-1] = int.from_bytes(top, "big")
        pc = code_stream.program_counter
        if pc in starts:
            return pc, meter.gas_remaining


def execute(c: Any) -> None:
    """Run `c`'s code to its end (Halt or an error); ExecutionTimeoutError once this
    thread's execution limit (budget.limit) has passed, checked at every code block."""
    program = program_for(c.msg.code, c.opcodes)
    stack = c._stack.values
    frame = Frame(c)
    fns = program.fns
    gas = c._gas_meter.gas_remaining
    pc = 0
    due = budget.deadline()
    while True:
        if due is not None and monotonic() >= due:
            budget.check()
            due = budget.deadline()
        fn = fns.get(pc)
        if fn is None:
            fn = program.block_at(pc, HOT_AFTER_RUNS)
            if fn is None:
                pc, gas = _interpret(c, program, pc, gas, stack)
                continue
        pc, gas = fn(stack, gas, c, frame)
        if pc < 0:
            pc, gas = _interpret(c, program, ~pc, gas, stack)


class GridledgerComputation(CancunComputation):
    """Cancun computation of the embedded chain, with compiled code blocks and light calls
    into precompiles (fastvm_precompiles)."""

    _precompiles = MappingProxyType(
        {
            **CancunComputation._precompiles,
            fastvm_precompiles.ECRECOVER_ADDRESS: fastvm_precompiles.ecrecover,
        }
    )

    @classmethod
    def apply_message(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: TransactionContextAPI,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        precompile = cls._precompiles.get(message.code_address)
        if (
            precompile is None
            or parent_computation is None
            or message.is_create
            or message.is_delegation
            or (message.should_transfer_value and message.value)
            or message.depth > STACK_DEPTH_LIMIT
            or cls.logger.show_debug2
        ):
            return super().apply_message(state, message, transaction_context, parent_computation)
        return fastvm_precompiles.apply_precompile_message(  # type: ignore[no-any-return]
            cls, precompile, state, message, transaction_context, parent_computation
        )

    @classmethod
    def apply_computation(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: TransactionContextAPI,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        if cls.logger.show_debug2:  # py-evm's loop logs every opcode
            return super().apply_computation(
                state, message, transaction_context, parent_computation
            )
        # What follows up to the loop is py-evm's BaseComputation.apply_computation.
        with cls(state, message, transaction_context) as computation:
            if computation.is_origin_computation:
                computation.contracts_created = []
                if message.is_create:
                    cls.consume_initcode_gas_cost(computation)
            if parent_computation is not None:
                computation.contracts_created = parent_computation.contracts_created
            if message.is_create:
                computation.contracts_created.append(message.storage_address)
            precompile = computation.precompiles.get(message.code_address, NO_RESULT)
            if precompile is not NO_RESULT:
                if not message.is_delegation:
                    precompile(computation)
                return computation
            with contextlib.suppress(Halt):  # STOP, RETURN, SELFDESTRUCT
                execute(computation)
        return computation


class GridledgerState(CancunState):
    """Cancun state whose computations run as GridledgerComputation."""

    computation_class = GridledgerComputation
