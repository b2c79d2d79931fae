"""Execution budgets: a wall-clock limit on EVM execution in the current thread.

Gas does not bound the time py-evm takes: precompiles priced for native code run in Python
(BLAKE2F costs 1 gas a round and takes ~17 us a round here, so a 50M-gas call runs for
minutes; a BN254 pairing is ~30x slower per gas than a plain opcode). Whoever runs EVM code
for a stranger sets a limit (`limit`); the execution loop (fastvm.execute) and the slow
precompiles (BLAKE2F between chunks of rounds, ECPAIRING between pairs) call `check`, which
raises ExecutionTimeoutError once the limit has passed. That error is not a py-evm VMError:
it unwinds the whole transaction, and the caller reverts its state (docs/ledger.md,
"Execution limits").
"""

from __future__ import annotations

import importlib
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gridledger.node.errors import ConfigError, LedgerError

BLAKE2F_CHUNK_ROUNDS = 128
"""BLAKE2F rounds run between two checks of the limit (~3 ms here)."""
THROTTLE_AFTER_S = 0.05
"""A throttled execution runs this long [s] before its first pause."""
SLICE_S = 0.005
PAUSE_S = 0.005
"""A throttled execution then runs SLICE_S [s] and pauses PAUSE_S [s], in turn: at most
half of a core, and the interpreter free for the node's other threads during each pause."""


class ExecutionTimeoutError(LedgerError):
    """EVM execution ran past its wall-clock limit; `limit_s` [s] and `what` name the limit."""

    def __init__(self, limit_s: float, what: str) -> None:
        super().__init__(f"execution timeout after {limit_s:.1f} s ({what})")
        self.limit_s = limit_s
        self.what = what


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Limits of eth_call and eth_estimateGas (config [rpc], docs/ledger.md): gas_cap [gas]
    the most gas one call may use (the default without `gas`; geth's --rpc.gascap, 50M);
    timeout_s [s] per execution (one eth_call, each run of an eth_estimateGas search; geth's
    --rpc.evmtimeout, 5 s); request_budget_s [s] of EVM execution for all the calls of one
    HTTP request (a batch, an estimate's runs)."""

    gas_cap: int = 50_000_000
    timeout_s: float = 5.0
    request_budget_s: float = 10.0

    def __post_init__(self) -> None:
        if self.gas_cap < 21_000:
            raise ConfigError(f"rpc.gas_cap: must be >= 21000, got {self.gas_cap}")
        for name, value in (("evm_timeout_s", self.timeout_s), ("request_budget_s",
                            self.request_budget_s)):  # fmt: skip
            if not 0.0 < value <= 3600:
                raise ConfigError(f"rpc.{name}: must be in (0, 3600], got {value}")


class _Limit(threading.local):
    deadline: float | None = None
    limit_s: float = 0.0
    what: str = ""
    pause_at: float | None = None  # the next pause of a throttled execution
    cpu_deadline: float | None = None  # in this thread's CPU time (time.thread_time)
    cpu_limit_s: float = 0.0
    cpu_what: str = ""
    cpu_check_at: float | None = None  # monotonic: CPU time cannot pass its deadline before


_current = _Limit()


@contextmanager
def limit(seconds: float | None, what: str, throttled: bool = False) -> Iterator[None]:
    """Limit EVM execution in this thread to `seconds` [s] from now (None: no new limit);
    nested limits keep the earliest deadline and its description. A `throttled` execution
    (a stranger's call) that has run THROTTLE_AFTER_S pauses PAUSE_S after every SLICE_S:
    Python runs one thread at a time, and a call running flat out would make every other
    request of the node wait for its turn; short calls never pause."""
    if seconds is None:
        yield
        return
    saved = (_current.deadline, _current.limit_s, _current.what, _current.pause_at)
    now = time.monotonic()
    deadline = now + seconds
    if saved[0] is None or deadline < saved[0]:
        _current.deadline, _current.limit_s, _current.what = deadline, seconds, what
    if throttled:
        _current.pause_at = now + THROTTLE_AFTER_S
    try:
        yield
    finally:
        _current.deadline, _current.limit_s, _current.what, _current.pause_at = saved


@contextmanager
def cpu_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Limit EVM execution in this thread to `seconds` [s] of its own CPU time (None: no
    limit): what the execution costs, whatever else the machine runs meanwhile (time waiting
    for a core or for Python's interpreter lock does not count). Not nested."""
    if seconds is None:
        yield
        return
    _current.cpu_deadline = time.thread_time() + seconds
    _current.cpu_limit_s, _current.cpu_what = seconds, what
    _current.cpu_check_at = time.monotonic() + seconds
    try:
        yield
    finally:
        _current.cpu_deadline = _current.cpu_check_at = None


def deadline() -> float | None:
    """When this thread's execution must next call `check` (monotonic), if ever: its
    deadline, its next pause if throttled, or when its CPU time could reach its limit."""
    due: float | None = None
    for at in (_current.deadline, _current.pause_at, _current.cpu_check_at):
        if at is not None and (due is None or at < due):
            due = at
    return due


def check() -> None:
    """Raise ExecutionTimeoutError if this thread's execution limit (in time or in CPU time)
    has passed; pause a throttled execution whose slice has run out."""
    due = _current.deadline
    now = time.monotonic()
    if due is not None and now >= due:
        raise ExecutionTimeoutError(_current.limit_s, _current.what)
    cpu_check_at = _current.cpu_check_at
    if cpu_check_at is not None and now >= cpu_check_at:
        left_s = (_current.cpu_deadline or 0.0) - time.thread_time()
        if left_s <= 0:
            raise ExecutionTimeoutError(_current.cpu_limit_s, _current.cpu_what)
        _current.cpu_check_at = now + left_s
    pause_at = _current.pause_at
    if pause_at is not None and now >= pause_at:
        time.sleep(PAUSE_S)
        _current.pause_at = time.monotonic() + SLICE_S


# ---------------------------------------------------------------- slow precompiles
_MASK = 2**64 - 1
_IV = (
    0x6A09E667F3BCC908,
    0xBB67AE8584CAA73B,
    0x3C6EF372FE94F82B,
    0xA54FF53A5F1D36F1,
    0x510E527FADE682D1,
    0x9B05688C2B3E6C1F,
    0x1F83D9ABFB41BD6B,
    0x5BE0CD19137E2179,
)
_SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
_COLUMNS = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15))
_DIAGONALS = ((0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))
_MIX = _COLUMNS + _DIAGONALS


def blake2b_compress(
    num_rounds: int,
    h_starting_state: tuple[int, ...],
    block: bytes | tuple[int, ...],
    t_offset_counters: tuple[int, int],
    final_block_flag: bool,
) -> bytes:
    """BLAKE2b's F function (RFC 7693 3.2, EIP-152), as py-evm's blake2b_compress (same
    arguments, same output), checking the execution limit every BLAKE2F_CHUNK_ROUNDS rounds."""
    m = block if isinstance(block, tuple) else struct.unpack_from("<16Q", bytes(block))
    v = [*h_starting_state, *_IV[:4]]
    v += [t_offset_counters[0] ^ _IV[4], t_offset_counters[1] ^ _IV[5]]
    v += [(_MASK ^ _IV[6]) if final_block_flag else _IV[6], _IV[7]]
    for r in range(num_rounds):
        if r % BLAKE2F_CHUNK_ROUNDS == 0:
            check()
        s = _SIGMA[r % 10]
        for i, (a, b, c, d) in enumerate(_MIX):
            va, vb, vc, vd = v[a], v[b], v[c], v[d]
            va = (va + vb + m[s[2 * i]]) & _MASK
            w = vd ^ va
            vd = ((w >> 32) | (w << 32)) & _MASK
            vc = (vc + vd) & _MASK
            w = vb ^ vc
            vb = ((w >> 24) | (w << 40)) & _MASK
            va = (va + vb + m[s[2 * i + 1]]) & _MASK
            w = vd ^ va
            vd = ((w >> 16) | (w << 48)) & _MASK
            vc = (vc + vd) & _MASK
            w = vb ^ vc
            vb = ((w >> 63) | (w << 1)) & _MASK
            v[a], v[b], v[c], v[d] = va, vb, vc, vd
    return struct.pack("<8Q", *(h_starting_state[i] ^ v[i] ^ v[i + 8] for i in range(8)))


def _checked_pair(process_point: Any) -> Callable[[bytes], Callable[[Any], Any]]:
    """py-evm's ECPAIRING step for one pair (curried: data, then the running product), with
    the limit checked before the pair's pairing."""

    def for_pair(data: bytes) -> Callable[[Any], Any]:
        step = process_point(data)

        def run(exponent: Any) -> Any:
            check()
            return step(exponent)

        return run

    return for_pair


# The modules, not the precompile functions eth.precompiles exports under the same names.
_BLAKE2 = importlib.import_module("eth.precompiles.blake2")
_ECPAIRING = importlib.import_module("eth.precompiles.ecpairing")
_STOCK_PROCESS_POINT = getattr(_ECPAIRING, "_process_point")  # noqa: B009 (mypy)


def install() -> None:
    """Make py-evm's BLAKE2F and ECPAIRING precompiles check the limit (idempotent). Without
    a limit in force they compute exactly as before (tests/node/test_budget.py)."""
    setattr(_BLAKE2, "blake2b_compress", blake2b_compress)  # noqa: B010 (mypy)
    setattr(_ECPAIRING, "_process_point", _checked_pair(_STOCK_PROCESS_POINT))  # noqa: B010
