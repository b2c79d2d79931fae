"""The wire schema: round trips, and every malformed frame refused with the field named."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.node.p2p.errors import WireError
from gridledger.node.p2p.wire import (
    MAX_BLOCKS_PER_REPLY,
    MAX_ERROR_BYTES,
    MAX_FRAME_BYTES,
    MAX_TX_BYTES,
    Block,
    Blocks,
    Envelope,
    Error,
    FrameKind,
    GetBlockByHash,
    GetBlocks,
    Message,
    Status,
    Tx,
    VoteMessage,
    decode_frame,
    encode_frame,
    heartbeat_frame,
)

U64 = st.integers(0, 2**64 - 1)
HASH = st.binary(min_size=32, max_size=32)
HASH0 = bytes(32)


@st.composite
def statuses(draw: st.DrawFn) -> Status:
    head = draw(U64)
    return Status(head, draw(HASH), draw(st.integers(0, head)), draw(HASH))


message_strategy: st.SearchStrategy[Message] = st.one_of(
    st.builds(Tx, st.binary(max_size=300)),
    st.builds(Block, st.binary(max_size=300)),
    statuses(),
    st.builds(GetBlocks, U64, st.integers(1, MAX_BLOCKS_PER_REPLY)),
    st.builds(GetBlockByHash, HASH),
    st.builds(Blocks, st.lists(st.binary(max_size=50), max_size=20).map(tuple)),
    st.builds(Error, st.text(max_size=200)),
    st.builds(VoteMessage, st.sampled_from([1, 2]), U64, HASH, st.binary(min_size=65, max_size=65)),
)


@given(message_strategy, st.sampled_from(list(FrameKind)), st.integers(1, 2**64 - 1))
def test_every_message_round_trips(message: Message, kind: FrameKind, request_id: int) -> None:
    if kind is FrameKind.HEARTBEAT:
        assert decode_frame(heartbeat_frame()) == Envelope(kind, 0, None)
        return
    rid = request_id if kind in (FrameKind.REQUEST, FrameKind.REPLY) else 0
    assert decode_frame(encode_frame(kind, message, rid)) == Envelope(kind, rid, message)


@st.composite
def damaged_frames(draw: st.DrawFn) -> bytes:
    """A valid frame with one byte changed: it may still decode, or break any field."""
    frame = bytearray(encode_frame(FrameKind.MESSAGE, draw(message_strategy)))
    i = draw(st.integers(0, len(frame) - 1))
    frame[i] = (frame[i] + draw(st.integers(1, 255))) % 256
    return bytes(frame)


@given(st.one_of(st.binary(max_size=200), damaged_frames()))
def test_arbitrary_bytes_decode_or_raise_wire_error(data: bytes) -> None:
    try:
        envelope = decode_frame(data)
    except WireError as exc:
        assert exc.field and exc.reason
        assert str(exc) == f"{exc.field}: {exc.reason}"
        return
    # Whatever decodes re-encodes to the same bytes: there is one encoding per message.
    assert encode_frame(envelope.kind, envelope.message, envelope.request_id) == data


@given(message_strategy, st.data())
def test_a_truncated_or_extended_frame_is_refused(message: Message, data: st.DataObject) -> None:
    frame = encode_frame(FrameKind.MESSAGE, message)
    cut = data.draw(st.integers(0, len(frame) - 1))
    with pytest.raises(WireError):
        decode_frame(frame[:cut])
    with pytest.raises(WireError, match="trailing bytes after the last field"):
        decode_frame(frame + data.draw(st.binary(min_size=1, max_size=9)))


def header(version: int = 1, kind: int = 1, request_id: int = 0) -> bytes:
    return b"GL" + struct.pack(">BBQ", version, kind, request_id)


@pytest.mark.parametrize(
    ("frame", "field", "reason"),
    [
        (b"", "header.magic", "needs 2 bytes at offset 0, only 0 left"),
        (b"XX" + header()[2:], "header.magic", "b'XX', expected b'GL'"),
        (header(version=2), "header.version", "2, this node speaks 1"),
        (header(kind=9), "header.frame_kind", "unknown frame kind 9"),
        (header()[:8], "header.request_id", "needs 8 bytes at offset 4, only 4 left"),
        (header(), "message.kind", "needs 1 bytes at offset 12, only 0 left"),
        (header() + b"\x63", "message.kind", "unknown message kind 99"),
        (header() + b"\x01" + struct.pack(">I", 5) + b"abc", "tx.raw", "needs 5 bytes"),
        (
            header() + b"\x01" + struct.pack(">I", MAX_TX_BYTES + 1),
            "tx.raw",
            f"{MAX_TX_BYTES + 1} bytes, at most {MAX_TX_BYTES}",
        ),
        (header() + b"\x03" + bytes(8) + bytes(31), "status.head_hash", "needs 32 bytes"),
        (
            header()
            + b"\x03"
            + struct.pack(">Q", 4)
            + bytes(32)
            + struct.pack(">Q", 5)
            + bytes(32),
            "status.finalized_number",
            "5 is above the head 4",
        ),
        (
            header() + b"\x04" + bytes(8) + struct.pack(">Q", 257),
            "get_blocks.count",
            "257 is outside 1..256",
        ),
        (header() + b"\x04" + bytes(16), "get_blocks.count", "0 is outside 1..256"),
        (
            header() + b"\x06" + struct.pack(">I", 257),
            "blocks.rlp",
            "257 items, at most 256",
        ),
        (
            header() + b"\x06" + struct.pack(">II", 2, 1) + b"x" + struct.pack(">I", 3),
            "blocks.rlp[1]",
            "needs 3 bytes",
        ),
        (header() + b"\x07" + struct.pack(">I", 2) + b"\xff\xfe", "error.message", "not UTF-8"),
        (header(kind=2), "header.request_id", "a request needs an id >= 1"),
        (header(kind=1, request_id=3) + b"\x05" + bytes(32), "header.request_id", "id 0, got 3"),
        (header(kind=0) + b"\x01", "heartbeat", "1 trailing bytes"),
    ],
)
def test_malformed_frames_name_the_field(frame: bytes, field: str, reason: str) -> None:
    with pytest.raises(WireError) as info:
        decode_frame(frame)
    assert info.value.field == field
    assert reason in info.value.reason


def test_an_oversize_frame_is_refused_before_parsing() -> None:
    with pytest.raises(WireError, match=f"frame: {MAX_FRAME_BYTES + 1} bytes, at most"):
        decode_frame(bytes(MAX_FRAME_BYTES + 1))
    big = Blocks((bytes(MAX_FRAME_BYTES // 2),) * 2)  # each item fits, both do not
    with pytest.raises(WireError, match=f"frame: {MAX_FRAME_BYTES + 25} bytes, at most"):
        encode_frame(FrameKind.REPLY, big, request_id=1)


def test_messages_refuse_bad_fields_when_built() -> None:
    cases: list[tuple[type[Message], tuple[object, ...], str]] = [
        (Tx, (bytes(MAX_TX_BYTES + 1),), f"tx.raw: {MAX_TX_BYTES + 1} bytes, at most"),
        (Tx, ("0xab",), "tx.raw: must be bytes, got str"),
        (GetBlocks, (-1, 1), "get_blocks.from_number: -1 is outside 0..2^64-1"),
        (GetBlocks, (True, 1), "get_blocks.from_number: must be an integer, got bool"),
        (GetBlockByHash, (b"\x01" * 31,), "get_block_by_hash.hash: 31 bytes, must be exactly 32"),
        (Blocks, ([b"x"],), "blocks.rlp: must be a tuple, got list"),
        (Blocks, ((b"x",) * 257,), "blocks.rlp: 257 items, at most 256"),
        (Error, ("é" * MAX_ERROR_BYTES,), f"error.message: {2 * MAX_ERROR_BYTES} bytes"),
        (Error, ("\ud800",), "error.message: not encodable as UTF-8"),
        (VoteMessage, (2, 1, HASH0, bytes(64)), "vote.signature: 64 bytes, must be exactly 65"),
        (VoteMessage, (1, 2**64, HASH0, bytes(65)), "vote.height: 18446744073709551616 is out"),
        (VoteMessage, (3, 1, HASH0, bytes(65)), "vote.kind: 3 is neither 1"),
    ]
    for cls, args, message in cases:
        with pytest.raises(WireError, match=message.replace("(", r"\(").replace("^", r"\^")):
            cls(*args)  # type: ignore[arg-type]


def test_a_vote_frame_is_119_bytes() -> None:
    frame = encode_frame(FrameKind.MESSAGE, VoteMessage(2, 7, HASH0, bytes(65)))
    assert len(frame) == 119  # 12 header + 1 message kind + 1 vote kind + 8 + 32 + 65


def test_an_envelope_must_fit_its_frame_kind() -> None:
    with pytest.raises(WireError, match="message: a heartbeat carries no message"):
        encode_frame(FrameKind.HEARTBEAT, Tx(b"\x01"))
    with pytest.raises(WireError, match="message: a reply frame carries one message"):
        encode_frame(FrameKind.REPLY, None, request_id=1)
    with pytest.raises(WireError, match=r"header.request_id: a reply needs an id >= 1"):
        encode_frame(FrameKind.REPLY, Tx(b"\x01"))


def test_blocks_fitting_keeps_the_longest_prefix_within_the_limits() -> None:
    third = bytes(MAX_FRAME_BYTES // 3)
    assert len(Blocks.fitting([third, third, third, b"x"]).rlp) == 2
    assert Blocks.fitting([b"ab"] * 300).rlp == (b"ab",) * MAX_BLOCKS_PER_REPLY
    assert Blocks.fitting([]).rlp == ()
    encode_frame(FrameKind.REPLY, Blocks.fitting([third] * 3), request_id=1)  # fits
