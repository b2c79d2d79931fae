"""Fixtures: one deployed stack per session, reverted to a snapshot around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.ledger.ephemeral import EphemeralChain
from tests.contracts.harness import DAY0_TS, Stack, build_stack


@pytest.fixture(scope="session")
def session_stack() -> Stack:
    engine = EphemeralChain()
    stack = build_stack(engine)
    stack.at_time(DAY0_TS)
    return stack


@pytest.fixture
def stack(session_stack: Stack) -> Iterator[Stack]:
    snapshot = session_stack.engine.snapshot()
    yield session_stack
    session_stack.engine.revert(snapshot)
