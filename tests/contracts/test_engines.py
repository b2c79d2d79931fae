"""What the harness relies on from every engine: snapshots, the clock, automine.

These run on each engine in conftest.ENGINES like every other stack test, so an engine that
differs from eth-tester in any of these ways fails here first, with a plain message.
"""

from __future__ import annotations

import os

from tests.contracts.engine_anvil import AnvilEngine
from tests.contracts.harness import Stack


def _supply(stack: Stack) -> int:
    return int(stack.token.functions.totalSupply().call())


def _mint(stack: Stack, units: int) -> None:
    who = stack.participants[0].address
    stack.transact(stack.token.functions.mint(who, units), stack.roles.operator)


def test_snapshots_nest_and_can_be_reverted_to_repeatedly(stack: Stack) -> None:
    engine = stack.engine
    base = _supply(stack)
    outer = engine.snapshot()
    _mint(stack, 1)
    inner = engine.snapshot()
    for _ in range(3):  # as in a hypothesis loop: one snapshot, reverted after every example
        _mint(stack, 10)
        assert _supply(stack) == base + 11
        engine.revert(inner)
        assert _supply(stack) == base + 1
    engine.revert(outer)
    assert _supply(stack) == base
    _mint(stack, 100)
    engine.revert(outer)
    assert _supply(stack) == base


def test_time_travel_mines_at_the_given_time_and_reverts_with_the_state(stack: Stack) -> None:
    engine = stack.engine
    start = engine.now()
    height = stack.w3.eth.block_number
    snapshot = engine.snapshot()
    stack.at_time(start + 3600)
    assert engine.now() == start + 3600
    # eth-tester's time travel mines a block of its own before the harness's: count neither.
    travelled = stack.w3.eth.block_number
    assert travelled > height
    # Automine: a transaction is in its own new block, after the time-travel block.
    receipt = stack.transact(
        stack.token.functions.mint(stack.participants[0].address, 1), stack.roles.operator
    )
    assert receipt["blockNumber"] == travelled + 1
    assert stack.w3.eth.get_block(receipt["blockNumber"])["timestamp"] > start + 3600
    engine.revert(snapshot)
    assert (engine.now(), stack.w3.eth.block_number) == (start, height)
    stack.at_time(start + 60)  # the clock went back with the state
    assert engine.now() == start + 60


def test_anvil_stops_with_its_engine() -> None:
    engine = AnvilEngine()
    proc = engine._proc
    assert proc is not None and proc.poll() is None
    assert engine.w3.eth.chain_id == 31337
    engine.close()
    assert proc.poll() is not None
    assert not os.path.exists(f"/proc/{proc.pid}")
    engine.close()  # idempotent


def test_anvil_refuses_snapshots_it_has_dropped() -> None:
    # anvil deletes the snapshots taken after the one it reverts to; eth-tester keeps them.
    # No test reverts "forward"; the engine says so plainly instead of reverting elsewhere.
    with AnvilEngine() as engine:
        first = engine.snapshot()
        later = engine.snapshot()
        engine.revert(first)
        try:
            engine.revert(later)
        except ValueError as exc:
            assert "reverted to" in str(exc)
        else:
            raise AssertionError("reverting to a dropped snapshot succeeded")
