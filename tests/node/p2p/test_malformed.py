"""An admitted peer sending garbage: every bad frame is dropped and logged, nothing crashes."""

from __future__ import annotations

import logging

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.p2p import Blocks, GetBlocks, Status, Tx
from gridledger.node.p2p.errors import WireError
from gridledger.node.p2p.wire import FrameKind, decode_frame, encode_frame
from tests.node.p2p.cluster import cluster, wait_until

VALID_FRAMES = [
    encode_frame(FrameKind.MESSAGE, Tx(b"\x02" * 40)),
    encode_frame(FrameKind.REQUEST, GetBlocks(3, 4), request_id=9),
    encode_frame(FrameKind.MESSAGE, Status(3, b"\x01" * 32, 2, b"\x02" * 32)),
    encode_frame(FrameKind.REPLY, Blocks((b"x", b"yz")), request_id=5),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid frame cut short, extended, or with one byte changed."""
    frame = bytearray(draw(st.sampled_from(VALID_FRAMES)))
    how = draw(st.sampled_from(["cut", "extend", "flip"]))
    if how == "cut":
        return bytes(frame[: draw(st.integers(0, len(frame) - 1))])
    if how == "extend":
        return bytes(frame) + draw(st.binary(min_size=1, max_size=8))
    i = draw(st.integers(0, len(frame) - 1))
    frame[i] = (frame[i] + draw(st.integers(1, 255))) % 256
    return bytes(frame)


messages = st.lists(st.one_of(st.binary(max_size=64), mutated()), min_size=1, max_size=3)


def expected_bad(parts: list[bytes]) -> bool:
    """Whether the server must count `parts` as a bad message (else it delivers or ignores)."""
    if len(parts) != 1:
        return True
    try:
        envelope = decode_frame(parts[0])
    except WireError:
        return True
    return envelope.kind is FrameKind.REPLY  # replies are not accepted on the server socket


def test_malformed_frames_are_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gridledger.node.p2p")
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    with cluster(["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        # A bare socket with b's admitted keys: past the allow-list, so only the decoder stands.
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.CURVE_SERVERKEY, a.keys.public_z85)
        sock.setsockopt(zmq.CURVE_PUBLICKEY, b.keys.public_z85)
        sock.setsockopt(zmq.CURVE_SECRETKEY, b.keys.secret_z85)
        sock.connect(a.endpoint)
        probe_ids = iter(range(1_000_000, 2_000_000))
        bad_total = 0

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(messages)
        def check(parts: list[bytes]) -> None:
            nonlocal bad_total
            bad_total += expected_bad(parts)
            sock.send_multipart(parts)
            # A valid request after the garbage: its reply proves the garbage was processed
            # (one connection keeps order) and that the transport still serves.
            probe = next(probe_ids)
            sock.send(encode_frame(FrameKind.REQUEST, GetBlocks(0, 1), request_id=probe))
            while True:
                assert sock.poll(2000), "the transport stopped answering"
                reply = decode_frame(sock.recv())
                if reply.request_id == probe:  # earlier replies answer valid mutated requests
                    break
            assert reply.message == Blocks((b"block-0",))
            assert a.t.stats().bad_messages == bad_total

        check()
        assert bad_total > 50
        assert "[a] peer b sent a bad message: " in caplog.text
        assert wait_until(lambda: a.t.peers_alive() == ["b"])
        assert b.t.request("a", GetBlocks(0, 1), timeout_s=2.0) == Blocks((b"block-0",))
    context.destroy(linger=0)
