"""The transport on loopback: gossip, request/reply, restarts, partitions, handler faults."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from gridledger.node.p2p import (
    Block,
    Blocks,
    Error,
    GetBlocks,
    Message,
    P2PError,
    Status,
    Transport,
    Tx,
)
from gridledger.node.p2p.transport import ALIVE_HEARTBEATS
from tests.node.p2p.cluster import HEARTBEAT_S, build, cluster, make_nodes, wait_until

ALIVE_WINDOW_S = ALIVE_HEARTBEATS * HEARTBEAT_S
SETTLE_S = 0.2
"""How long a negative check waits for a frame that must not arrive [s]."""


def test_broadcast_reaches_every_peer_named_by_the_receiver() -> None:
    with cluster(["a", "b", "c"]) as nodes:
        nodes["a"].t.broadcast(Tx(b"\x02raw-tx"))
        nodes["b"].t.broadcast(Status(7, b"\x01" * 32, 5, b"\x00" * 32))
        for name in ("b", "c"):
            assert wait_until(nodes[name].recorder.got("a", Tx(b"\x02raw-tx")))
        for name in ("a", "c"):
            status = Status(7, b"\x01" * 32, 5, b"\x00" * 32)
            assert wait_until(nodes[name].recorder.got("b", status))
        assert ("a", Tx(b"\x02raw-tx")) not in nodes["a"].recorder.messages()  # not to itself


def test_request_gets_the_reply_and_times_out_without_one() -> None:
    with cluster(["a", "b"]) as nodes:
        nodes["b"].recorder.answer = (b"b1", b"b2")
        assert nodes["a"].t.request("b", GetBlocks(1, 2), timeout_s=2.0) == Blocks((b"b1", b"b2"))
        # The handler answers nothing to a Tx request: the asker hears Error at once.
        reply = nodes["a"].t.request("b", Tx(b"\x01"), timeout_s=2.0)
        assert reply == Error("b has no answer to tx")

        release = threading.Event()

        def slow(peer: str, message: Message) -> Blocks:
            release.wait(5.0)
            return Blocks(())

        nodes["b"].recorder.override = slow  # the handler stalls: the request must time out
        started_s = time.monotonic()
        assert nodes["a"].t.request("b", GetBlocks(0, 1), timeout_s=0.3) is None
        assert 0.3 <= time.monotonic() - started_s < 1.0
        nodes["b"].recorder.override = None
        release.set()
        # The late reply to the timed-out request is dropped; the next one is matched by id.
        nodes["b"].recorder.answer = (b"fresh",)
        assert nodes["a"].t.request("b", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"fresh",))


def test_a_restarted_peer_is_reconnected() -> None:
    with cluster(["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        b.t.stop()
        assert wait_until(lambda: a.t.peers_alive() == [])
        before = a.t.stats().sends_dropped
        a.t.broadcast(Tx(b"\x01lost"))  # b is down: dropped at once, not queued for later
        assert wait_until(lambda: a.t.stats().sends_dropped == before + 1)
        assert a.t.request("b", GetBlocks(0, 1), timeout_s=2.0) is None

        restarted = build(b, [a])  # same keys, same endpoint, a new process in real life
        try:
            restarted.start()
            assert wait_until(
                lambda: a.t.peers_alive() == ["b"] and restarted.peers_alive() == ["a"]
            )
            a.t.broadcast(Tx(b"\x01after"))
            assert wait_until(lambda: ("a", Tx(b"\x01after")) in b.recorder.messages())
            assert ("a", Tx(b"\x01lost")) not in b.recorder.messages()
            assert restarted.request("a", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"block-0",))
        finally:
            restarted.stop()


def test_drop_links_cuts_both_ways_and_restore_links_resumes() -> None:
    with cluster(["a", "b", "c"]) as nodes:
        a, b, c = nodes["a"].t, nodes["b"].t, nodes["c"].t
        a.drop_links(["b"])
        assert a.peers_alive() == ["c"]  # at once
        assert wait_until(lambda: b.peers_alive() == ["c"])  # a's heartbeats stop reaching b
        a.broadcast(Tx(b"\x01from-a"))
        b.broadcast(Tx(b"\x01from-b"))
        assert wait_until(lambda: ("a", Tx(b"\x01from-a")) in nodes["c"].recorder.messages())
        assert wait_until(lambda: ("b", Tx(b"\x01from-b")) in nodes["c"].recorder.messages())
        assert a.request("b", GetBlocks(0, 1), timeout_s=2.0) is None  # refused at once
        assert b.request("a", GetBlocks(0, 1), timeout_s=0.3) is None  # a drops it
        time.sleep(SETTLE_S)
        assert ("a", Tx(b"\x01from-a")) not in nodes["b"].recorder.messages()
        assert ("b", Tx(b"\x01from-b")) not in nodes["a"].recorder.messages()
        assert all(peer != "b" for peer, _ in nodes["a"].recorder.messages())
        assert a.stats().partitioned > 0
        assert c.peers_alive() == ["a", "b"]  # the others still see both

        a.restore_links()
        assert wait_until(lambda: a.peers_alive() == ["b", "c"] and b.peers_alive() == ["a", "c"])
        a.broadcast(Tx(b"\x01healed-a"))
        b.broadcast(Tx(b"\x01healed-b"))
        assert wait_until(lambda: ("a", Tx(b"\x01healed-a")) in nodes["b"].recorder.messages())
        assert wait_until(lambda: ("b", Tx(b"\x01healed-b")) in nodes["a"].recorder.messages())
        assert b.request("a", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"block-0",))


def test_a_failing_handler_answers_error_and_the_transport_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="gridledger.node.p2p")
    with cluster(["a", "b"]) as nodes:

        def broken(peer: str, message: Message) -> None:
            raise RuntimeError("consensus bug")

        nodes["b"].recorder.override = broken
        reply = nodes["a"].t.request("b", GetBlocks(0, 1), timeout_s=2.0)
        assert reply == Error("b failed to handle get_blocks")
        assert "[b] the handler failed on get_blocks from a" in caplog.text
        assert "consensus bug" in caplog.text
        assert nodes["b"].t.stats().handler_errors == 1
        nodes["b"].recorder.override = None
        assert nodes["a"].t.request("b", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"block-0",))


def test_request_from_inside_the_handler_is_refused() -> None:
    with cluster(["a", "b"]) as nodes:
        outcome: list[BaseException] = []

        def nested(peer: str, message: Message) -> None:
            try:
                nodes["b"].t.request("a", GetBlocks(0, 1), timeout_s=1.0)
            except P2PError as exc:
                outcome.append(exc)

        nodes["b"].recorder.override = nested
        nodes["a"].t.send("b", Tx(b"\x01"))
        assert wait_until(lambda: len(outcome) == 1)
        assert "request() from inside the handler" in str(outcome[0])


def test_a_slow_handler_stalls_neither_heartbeats_nor_own_requests() -> None:
    with cluster(["a", "b"]) as nodes:
        entered, release = threading.Event(), threading.Event()

        def slow(peer: str, message: Message) -> None:
            entered.set()
            release.wait(5.0)

        nodes["a"].recorder.override = slow
        nodes["b"].t.send("a", Tx(b"\x01"))
        assert entered.wait(2.0)
        time.sleep(2 * ALIVE_WINDOW_S)
        assert nodes["a"].t.peers_alive() == ["b"]
        assert nodes["b"].t.peers_alive() == ["a"]
        assert nodes["a"].t.request("b", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"block-0",))
        release.set()


def test_a_full_handler_queue_answers_busy() -> None:
    nodes = make_nodes(["a", "b"])
    a, b = build(nodes["a"], [nodes["b"]], handler_queue_max=1), build(nodes["b"], [nodes["a"]])
    entered, release = threading.Event(), threading.Event()

    def slow(peer: str, message: Message) -> None:
        entered.set()
        release.wait(5.0)

    nodes["a"].recorder.override = slow
    with a, b:
        assert wait_until(lambda: b.peers_alive() == ["a"])
        b.send("a", Tx(b"\x01one"))  # the handler takes it and blocks
        assert entered.wait(2.0)
        b.send("a", Tx(b"\x01two"))  # fills the queue
        assert b.request("a", GetBlocks(0, 1), timeout_s=2.0) == Error("a is busy")
        assert a.stats().handler_queue_full == 1
        release.set()


def test_the_handler_queue_is_bounded_in_bytes() -> None:
    nodes = make_nodes(["a", "b"])
    a = build(nodes["a"], [nodes["b"]], handler_queue_bytes=10 * 2**20)
    b = build(nodes["b"], [nodes["a"]])
    entered, release = threading.Event(), threading.Event()

    def slow(peer: str, message: Message) -> None:
        entered.set()
        release.wait(5.0)

    nodes["a"].recorder.override = slow
    block = Block(b"\xc0" * 3 * 2**20)  # 3 MiB: three fit in 10 MiB, the count limit is 10,000
    with a, b:
        assert wait_until(lambda: b.peers_alive() == ["a"])
        b.send("a", block)  # the handler takes it and blocks
        assert entered.wait(2.0)
        for _ in range(5):
            b.send("a", block)
        assert wait_until(lambda: a.stats().handler_queue_full == 2)
        release.set()
        assert wait_until(lambda: len(nodes["a"].recorder.messages()) == 4)


def test_misuse_is_refused_with_the_reason() -> None:
    nodes = make_nodes(["a", "b"])
    a = build(nodes["a"], [nodes["b"]])
    with pytest.raises(P2PError, match="transport a is not started"):
        a.broadcast(Tx(b"\x01"))
    with a:
        with pytest.raises(P2PError, match=r"'z' is not a peer of a \(peers: \['b'\]\)"):
            a.send("z", Tx(b"\x01"))
        with pytest.raises(P2PError, match="already started"):
            a.start()
    holder = build(nodes["a"], [nodes["b"]])
    taken = Transport("c", nodes["b"].keys, nodes["a"].endpoint, [], nodes["b"].recorder)
    with holder, pytest.raises(P2PError, match=f"could not start on {nodes['a'].endpoint}"):
        taken.start()
