"""Transports on loopback for tests: key pairs, free ports, recording handlers, waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import zmq

from gridledger.node.launch import free_port
from gridledger.node.p2p import Blocks, CurveKeys, GetBlocks, Message, Peer, Transport
from gridledger.node.p2p.transport import DEFAULT_HANDLER_QUEUE_BYTES, DEFAULT_HANDLER_QUEUE_MAX

HEARTBEAT_S = 0.05
"""Test heartbeat period [s]: a peer counts as alive for 3 of them."""


def curve_keys() -> CurveKeys:
    public_z85, secret_z85 = zmq.curve_keypair()
    return CurveKeys(bytes(public_z85), bytes(secret_z85))


def wait_until(condition: Callable[[], bool], timeout_s: float = 3.0) -> bool:
    """Poll `condition` every 10 ms until it holds (True) or `timeout_s` passes (False)."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def alive_is(transport: Transport, expected: list[str]) -> Callable[[], bool]:
    """A condition: `transport.peers_alive()` is `expected`."""
    return lambda: transport.peers_alive() == expected


@dataclass
class Recorder:
    """A handler that records (peer, message) and answers GetBlocks with `answer`, unless a
    test puts another behaviour in `override`."""

    name: str
    answer: tuple[bytes, ...] = (b"block-0",)
    override: Callable[[str, Message], Message | None] | None = None
    received: list[tuple[str, Message]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, peer: str, message: Message) -> Message | None:
        with self.lock:
            self.received.append((peer, message))
        if self.override is not None:
            return self.override(peer, message)
        if isinstance(message, GetBlocks):
            return Blocks(self.answer)
        return None

    def messages(self) -> list[tuple[str, Message]]:
        with self.lock:
            return list(self.received)

    def got(self, peer: str, message: Message) -> Callable[[], bool]:
        """A condition: `message` from `peer` has reached the handler."""
        return lambda: (peer, message) in self.messages()


@dataclass
class Node:
    """One test node: its keys, endpoint, recorder and (once built) transport."""

    name: str
    keys: CurveKeys
    endpoint: str
    recorder: Recorder
    transport: Transport | None = None

    def peer(self) -> Peer:
        return Peer(self.name, self.endpoint, self.keys.public_z85)

    @property
    def t(self) -> Transport:
        assert self.transport is not None
        return self.transport


def make_nodes(names: Sequence[str]) -> dict[str, Node]:
    return {n: Node(n, curve_keys(), f"tcp://127.0.0.1:{free_port()}", Recorder(n)) for n in names}


def build(
    node: Node,
    peers: Sequence[Node],
    handler_queue_max: int = DEFAULT_HANDLER_QUEUE_MAX,
    handler_queue_bytes: int = DEFAULT_HANDLER_QUEUE_BYTES,
) -> Transport:
    """A new transport for `node` (not started) that knows `peers`."""
    node.transport = Transport(
        node.name,
        node.keys,
        node.endpoint,
        [p.peer() for p in peers],
        node.recorder,
        heartbeat_s=HEARTBEAT_S,
        handler_queue_max=handler_queue_max,
        handler_queue_bytes=handler_queue_bytes,
    )
    return node.transport


@contextmanager
def cluster(names: Sequence[str]) -> Iterator[dict[str, Node]]:
    """Fully meshed, started transports; all alive to each other before the body runs."""
    nodes = make_nodes(names)
    for node in nodes.values():
        build(node, [p for p in nodes.values() if p is not node])
    try:
        for node in nodes.values():
            node.t.start()
        everyone = sorted(names)
        for node in nodes.values():
            others = [n for n in everyone if n != node.name]
            assert wait_until(alive_is(node.t, others)), node.name
        yield nodes
    finally:
        for node in nodes.values():
            node.t.stop()
