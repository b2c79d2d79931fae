"""Only admitted keys get through: strangers, wrong server keys and plain ZMQ get nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import zmq

from gridledger.node.p2p import CurveKeys, GetBlocks, Tx
from gridledger.node.p2p.wire import MAX_FRAME_BYTES, Blocks, FrameKind, encode_frame
from tests.node.p2p.cluster import (
    Node,
    build,
    cluster,
    curve_keys,
    make_nodes,
    wait_until,
)

NO_ANSWER_S = 0.3
"""How long a refused client listens for an answer that must not come [s]."""


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def raw_client(
    ctx: zmq.Context[zmq.Socket[bytes]],
    server: Node,
    keys: CurveKeys | None,
    server_key: bytes | None = None,
) -> zmq.Socket[bytes]:
    """A bare DEALER to `server`: Curve with `keys` (None: plain ZMQ), trusting `server_key`."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if keys is not None:
        sock.setsockopt(zmq.CURVE_SERVERKEY, server_key or server.keys.public_z85)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public_z85)
        sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret_z85)
    sock.connect(server.endpoint)
    return sock


def assert_gets_nothing(sock: zmq.Socket[bytes], server: Node) -> None:
    """`sock` asks for blocks and hears nothing; the server's handler never runs."""
    sock.send(encode_frame(FrameKind.REQUEST, GetBlocks(0, 1), request_id=1))
    sock.send(encode_frame(FrameKind.MESSAGE, Tx(b"\x01intruder")))
    assert sock.poll(int(NO_ANSWER_S * 1000)) == 0
    assert server.recorder.messages() == []


def test_a_transport_with_a_key_off_the_allow_list_gets_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="gridledger.node.p2p")
    with cluster(["a", "b"]) as nodes:
        # The stranger knows a's endpoint and public key; a does not list the stranger's key.
        stranger = make_nodes(["mallory"])["mallory"]
        rogue = build(stranger, [nodes["a"]])
        with rogue:
            assert rogue.request("a", GetBlocks(0, 1), timeout_s=NO_ANSWER_S) is None
            rogue.broadcast(Tx(b"\x01intruder"))
            assert wait_until(lambda: nodes["a"].t.stats().refused_connections >= 1)
            key = stranger.keys.public_z85.decode()
            assert (
                f"[a] refused a connection from 127.0.0.1: Curve key {key} is not on the "
                "allow-list" in caplog.text
            )
            assert rogue.peers_alive() == []
            assert all(peer == "b" for peer, _ in nodes["a"].recorder.messages())
            assert nodes["a"].t.peers_alive() == ["b"]
        assert stranger.keys.secret_z85.decode() not in caplog.text


def test_a_client_with_the_right_server_key_but_unlisted_gets_nothing(
    context: zmq.Context[zmq.Socket[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gridledger.node.p2p")
    with cluster(["a"]) as nodes:
        a = nodes["a"]
        stranger = curve_keys()
        assert_gets_nothing(raw_client(context, a, stranger), a)
        assert a.t.stats().refused_connections >= 1
        assert f"Curve key {stranger.public_z85.decode()} is not on the allow-list" in caplog.text


def test_a_client_with_a_wrong_server_key_gets_nothing(
    context: zmq.Context[zmq.Socket[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gridledger.node.p2p")
    with cluster(["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        # b's own (admitted) keys, but a forged server key: the Curve handshake cannot finish.
        wrong = curve_keys().public_z85
        assert_gets_nothing(raw_client(context, a, b.keys, server_key=wrong), a)
        assert wait_until(lambda: a.t.stats().failed_handshakes >= 1)
        assert "Curve cryptographic error" in caplog.text


def test_a_plain_zmq_client_gets_nothing(
    context: zmq.Context[zmq.Socket[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gridledger.node.p2p")
    with cluster(["a"]) as nodes:
        assert_gets_nothing(raw_client(context, nodes["a"], None), nodes["a"])
        assert wait_until(lambda: nodes["a"].t.stats().failed_handshakes >= 1)
        # Whichever side notices the mismatch first closes; the server logs one or the other.
        reasons = ("the client does not speak CurveZMQ", "closed during the handshake")
        assert f"[a] refused a connection on {nodes['a'].endpoint}: " in caplog.text
        assert any(reason in caplog.text for reason in reasons)


def test_the_sender_is_named_by_its_key_not_by_its_claims(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    with cluster(["a", "b", "c"]) as nodes:
        # b's keys, claiming to be c through its ZMQ routing id.
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTING_ID, b"c")
        sock.setsockopt(zmq.CURVE_SERVERKEY, nodes["a"].keys.public_z85)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, nodes["b"].keys.public_z85)
        sock.setsockopt(zmq.CURVE_SECRETKEY, nodes["b"].keys.secret_z85)
        sock.connect(nodes["a"].endpoint)
        sock.send(encode_frame(FrameKind.MESSAGE, Tx(b"\x01who")))
        assert wait_until(lambda: ("b", Tx(b"\x01who")) in nodes["a"].recorder.messages())
        assert ("c", Tx(b"\x01who")) not in nodes["a"].recorder.messages()


def test_an_oversize_frame_is_cut_off_and_the_node_keeps_serving(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    with cluster(["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        sock = raw_client(context, a, b.keys)
        sock.send(b"GL" + bytes(MAX_FRAME_BYTES))  # 2 bytes over ZMQ_MAXMSGSIZE
        assert sock.poll(int(NO_ANSWER_S * 1000)) == 0
        # libzmq closed the connection mid-frame: nothing reached the decoder or the handler.
        assert a.t.stats().bad_messages == 0
        assert a.recorder.messages() == []
        assert b.t.request("a", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"block-0",))


def test_replies_to_a_peer_that_does_not_read_are_dropped_not_queued(
    context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    with cluster(["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        a.recorder.answer = (b"\xc0" * 2**20,)  # every reply 1 MiB
        sock = raw_client(context, a, b.keys)  # b's admitted key, pipelining, never reading
        sock.setsockopt(zmq.RCVHWM, 1)
        for request_id in range(1, 201):
            sock.send(encode_frame(FrameKind.REQUEST, GetBlocks(0, 1), request_id))
        assert wait_until(lambda: len(a.recorder.messages()) == 200, 10.0)
        # A count of 10,000 queued replies would have kept all 200 MiB; 16 plus the socket
        # buffers hold a few dozen.
        assert wait_until(lambda: a.t.stats().sends_dropped >= 100, 5.0), a.t.stats()
        assert b.t.request("a", GetBlocks(0, 1), timeout_s=2.0) == Blocks(a.recorder.answer)
