"""Fixtures: one deployed stack per engine and session, reverted to a snapshot around every test.

Every test that takes `stack` (or `session_stack`) runs once per engine in ENGINES, with the
engine's name in its id (`test_x[eth-tester]`, `test_x[anvil]`, `test_x[embedded]`), and must
pass identically on each. Adding an engine is one entry in ENGINES: a context manager that
yields an object implementing node.ledger.stack.Engine and cleans it up on exit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from gridledger.node.ledger.embedded.engine import EmbeddedEngine
from gridledger.node.ledger.ephemeral import EphemeralChain
from gridledger.node.ledger.stack import Engine
from tests.contracts.authority_helpers import N_CANDIDATES, Auth, deploy_authority_set
from tests.contracts.engine_anvil import AnvilEngine
from tests.contracts.harness import DAY0_TS, Stack, build_stack


@contextmanager
def _eth_tester() -> Iterator[Engine]:
    yield EphemeralChain()


@contextmanager
def _anvil() -> Iterator[Engine]:
    with AnvilEngine() as engine:  # stops anvil at session end, even after failures
        yield engine


@contextmanager
def _embedded() -> Iterator[Engine]:
    with EmbeddedEngine() as engine:  # gridledger's own chain; its temp folder goes at the end
        yield engine


ENGINES: dict[str, Callable[[], AbstractContextManager[Engine]]] = {
    "eth-tester": _eth_tester,
    "anvil": _anvil,
    "embedded": _embedded,
}


# The reference-model property tests (marked `distinct_evms`) draw many inputs; what they check
# does not depend on the engine, so they run on the two EVMs that differ: py-evm in gridledger's
# embedded chain and revm in anvil. eth-tester runs the same py-evm as the embedded chain and
# keeps every other contract test.
DISTINCT_EVMS = ("embedded", "anvil")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = [
        item
        for item in items
        if item.get_closest_marker("distinct_evms") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("session_stack", DISTINCT_EVMS[0]) not in DISTINCT_EVMS
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(scope="session", params=list(ENGINES))
def session_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    with ENGINES[request.param]() as engine:
        stack = build_stack(engine)
        stack.at_time(DAY0_TS)
        yield stack


@pytest.fixture
def stack(session_stack: Stack) -> Iterator[Stack]:
    snapshot = session_stack.engine.snapshot()
    yield session_stack
    session_stack.engine.revert(snapshot)


@pytest.fixture(scope="session")
def candidates(session_stack: Stack) -> tuple[ChecksumAddress, ...]:
    """Funded accounts that may become authorities (session-wide, before any snapshot)."""
    return tuple(
        session_stack.engine.add_account(keccak(text=f"gridledger-sandbox:authority-{i}"))
        for i in range(N_CANDIDATES)
    )


@pytest.fixture
def auth(stack: Stack, candidates: tuple[ChecksumAddress, ...]) -> Auth:
    """An AuthoritySet with candidates[:3] as its initial set, on the per-test stack."""
    return Auth(stack, deploy_authority_set(stack, list(candidates[:3])), candidates)
