"""The node-to-node wire schema, version 1: one ZMQ frame per message, binary, validated.

A frame is a 12-byte header and, except for heartbeats, one message::

    b"GL" | version u8 | frame kind u8 | request id u64 | message kind u8 | fields

Frame kinds: ``heartbeat`` (no message, id 0), ``message`` (one-way gossip, id 0),
``request`` (id >= 1) and ``reply`` (the id of the request it answers). Fields are u64
integers, 32-byte hashes, u32-length blobs and u32-count lists of blobs (`node.p2p.codec`).

====================  =====================================================================
message               fields
====================  =====================================================================
``tx``                ``raw``: a signed transaction, at most `MAX_TX_BYTES`
``block``             ``rlp``: one sealed block
``status``            ``head_number``, ``head_hash``, ``finalized_number`` (<= head),
                      ``genesis_hash``
``get_blocks``        ``from_number``, ``count`` (1..`MAX_BLOCKS_PER_REPLY`) -> ``blocks``
``get_block_by_hash`` ``hash`` -> ``blocks`` (empty if unknown)
``blocks``            ``rlp``: up to `MAX_BLOCKS_PER_REPLY` blocks, in ascending number
``error``             ``message``: UTF-8, at most `MAX_ERROR_BYTES`
``vote``              ``kind`` u8 (1 prevote, 2 precommit), ``height``, ``block_hash``,
                      ``signature`` (65 bytes): an authority's finality vote
                      (`node.ledger.votes`); 119 bytes as a frame
====================  =====================================================================

A whole frame is at most `MAX_FRAME_BYTES`. Anything else — another magic or version, an
unknown kind, a short or long field, trailing bytes, an id that does not fit the frame kind —
raises `WireError` naming the field, and the frame is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from typing_extensions import override

from gridledger.node.p2p.codec import Reader, Writer, check_bytes, check_fixed, check_u64
from gridledger.node.p2p.errors import WireError

MAGIC = b"GL"
WIRE_VERSION = 1
HEADER_BYTES = len(MAGIC) + 1 + 1 + 8
MAX_FRAME_BYTES = 16 * 2**20
"""Largest frame [bytes], header included; also the sockets' ZMQ_MAXMSGSIZE."""
MAX_TX_BYTES = 128 * 2**10
"""Largest transaction [bytes] (geth's pool limit)."""
MAX_BLOCKS_PER_REPLY = 256
MAX_ERROR_BYTES = 1024
HASH_BYTES = 32
SIGNATURE_BYTES = 65
_BLOB_OVERHEAD = 4
_MESSAGE_BUDGET = MAX_FRAME_BYTES - HEADER_BYTES - 1


class FrameKind(IntEnum):
    """What a frame is for; the second header byte after the version."""

    HEARTBEAT = 0
    MESSAGE = 1
    REQUEST = 2
    REPLY = 3


class Kind(IntEnum):
    """The message kind byte."""

    TX = 1
    BLOCK = 2
    STATUS = 3
    GET_BLOCKS = 4
    GET_BLOCK_BY_HASH = 5
    BLOCKS = 6
    ERROR = 7
    VOTE = 8


class _Message:
    """Base of the message classes: a kind, a field writer and a field reader."""

    __slots__ = ()
    KIND: ClassVar[Kind]

    @property
    def name(self) -> str:
        return self.KIND.name.lower()

    def write(self, w: Writer) -> None:
        raise NotImplementedError

    @classmethod
    def read(cls, r: Reader) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Tx(_Message):
    """A signed transaction, as `eth_sendRawTransaction` takes it."""

    KIND: ClassVar[Kind] = Kind.TX
    raw: bytes

    def __post_init__(self) -> None:
        check_bytes(self.raw, MAX_TX_BYTES, "tx.raw")

    @override
    def write(self, w: Writer) -> None:
        w.blob(self.raw)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.blob(MAX_TX_BYTES, "tx.raw"))


@dataclass(frozen=True, slots=True)
class Block(_Message):
    """One sealed block, RLP-encoded."""

    KIND: ClassVar[Kind] = Kind.BLOCK
    rlp: bytes

    def __post_init__(self) -> None:
        check_bytes(self.rlp, _MESSAGE_BUDGET - _BLOB_OVERHEAD, "block.rlp")

    @override
    def write(self, w: Writer) -> None:
        w.blob(self.rlp)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.blob(_MESSAGE_BUDGET - _BLOB_OVERHEAD, "block.rlp"))


@dataclass(frozen=True, slots=True)
class Status(_Message):
    """A node's view of its chain: head, finalized height and the genesis it runs."""

    KIND: ClassVar[Kind] = Kind.STATUS
    head_number: int
    head_hash: bytes
    finalized_number: int
    genesis_hash: bytes

    def __post_init__(self) -> None:
        head = check_u64(self.head_number, "status.head_number")
        check_fixed(self.head_hash, HASH_BYTES, "status.head_hash")
        finalized = check_u64(self.finalized_number, "status.finalized_number")
        check_fixed(self.genesis_hash, HASH_BYTES, "status.genesis_hash")
        if finalized > head:
            raise WireError("status.finalized_number", f"{finalized} is above the head {head}")

    @override
    def write(self, w: Writer) -> None:
        w.u64(self.head_number)
        w.fixed(self.head_hash)
        w.u64(self.finalized_number)
        w.fixed(self.genesis_hash)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            r.u64("status.head_number"),
            r.fixed(HASH_BYTES, "status.head_hash"),
            r.u64("status.finalized_number"),
            r.fixed(HASH_BYTES, "status.genesis_hash"),
        )


@dataclass(frozen=True, slots=True)
class GetBlocks(_Message):
    """Ask for `count` canonical blocks from number `from_number` on."""

    KIND: ClassVar[Kind] = Kind.GET_BLOCKS
    from_number: int
    count: int

    def __post_init__(self) -> None:
        check_u64(self.from_number, "get_blocks.from_number")
        count = check_u64(self.count, "get_blocks.count")
        if not 1 <= count <= MAX_BLOCKS_PER_REPLY:
            raise WireError("get_blocks.count", f"{count} is outside 1..{MAX_BLOCKS_PER_REPLY}")

    @override
    def write(self, w: Writer) -> None:
        w.u64(self.from_number)
        w.u64(self.count)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.u64("get_blocks.from_number"), r.u64("get_blocks.count"))


@dataclass(frozen=True, slots=True)
class GetBlockByHash(_Message):
    """Ask for one block (canonical or not) by its hash."""

    KIND: ClassVar[Kind] = Kind.GET_BLOCK_BY_HASH
    hash: bytes

    def __post_init__(self) -> None:
        check_fixed(self.hash, HASH_BYTES, "get_block_by_hash.hash")

    @override
    def write(self, w: Writer) -> None:
        w.fixed(self.hash)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.fixed(HASH_BYTES, "get_block_by_hash.hash"))


@dataclass(frozen=True, slots=True)
class Blocks(_Message):
    """Blocks answering `GetBlocks` or `GetBlockByHash`; empty if there are none."""

    KIND: ClassVar[Kind] = Kind.BLOCKS
    rlp: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.rlp, tuple):
            raise WireError("blocks.rlp", f"must be a tuple, got {type(self.rlp).__name__}")
        if len(self.rlp) > MAX_BLOCKS_PER_REPLY:
            raise WireError("blocks.rlp", f"{len(self.rlp)} items, at most {MAX_BLOCKS_PER_REPLY}")
        for i, item in enumerate(self.rlp):
            check_bytes(item, _MESSAGE_BUDGET, f"blocks.rlp[{i}]")

    @classmethod
    def fitting(cls, rlps: Iterable[bytes]) -> Blocks:
        """The longest prefix of `rlps` that fits one frame and `MAX_BLOCKS_PER_REPLY`; reads
        `rlps` only as far as it fits (plus one item)."""
        budget = _MESSAGE_BUDGET - _BLOB_OVERHEAD
        taken: list[bytes] = []
        for item in rlps:
            budget -= _BLOB_OVERHEAD + len(item)
            if budget < 0 or len(taken) == MAX_BLOCKS_PER_REPLY:
                break
            taken.append(item)
        return cls(tuple(taken))

    @override
    def write(self, w: Writer) -> None:
        w.blobs(self.rlp)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.blobs(MAX_BLOCKS_PER_REPLY, _MESSAGE_BUDGET, "blocks.rlp"))


@dataclass(frozen=True, slots=True)
class Error(_Message):
    """A request could not be answered; `message` says why."""

    KIND: ClassVar[Kind] = Kind.ERROR
    message: str

    def __post_init__(self) -> None:
        if not isinstance(self.message, str):
            raise WireError("error.message", f"must be str, got {type(self.message).__name__}")
        try:
            size = len(self.message.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise WireError("error.message", f"not encodable as UTF-8: {exc.reason}") from None
        if size > MAX_ERROR_BYTES:
            raise WireError("error.message", f"{size} bytes, at most {MAX_ERROR_BYTES}")

    @override
    def write(self, w: Writer) -> None:
        w.text(self.message)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.text(MAX_ERROR_BYTES, "error.message"))


@dataclass(frozen=True, slots=True)
class VoteMessage(_Message):
    """A finality vote: the authority that signed it is recovered from `signature`."""

    KIND: ClassVar[Kind] = Kind.VOTE
    kind: int
    height: int
    block_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if self.kind not in (1, 2) or isinstance(self.kind, bool):
            raise WireError("vote.kind", f"{self.kind!r} is neither 1 (prevote) nor 2 (precommit)")
        check_u64(self.height, "vote.height")
        check_fixed(self.block_hash, HASH_BYTES, "vote.block_hash")
        check_fixed(self.signature, SIGNATURE_BYTES, "vote.signature")

    @override
    def write(self, w: Writer) -> None:
        w.u8(self.kind)
        w.u64(self.height)
        w.fixed(self.block_hash)
        w.fixed(self.signature)

    @override
    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            r.u8("vote.kind"),
            r.u64("vote.height"),
            r.fixed(HASH_BYTES, "vote.block_hash"),
            r.fixed(SIGNATURE_BYTES, "vote.signature"),
        )


Message = Tx | Block | Status | GetBlocks | GetBlockByHash | Blocks | Error | VoteMessage
MESSAGE_TYPES: tuple[type[Message], ...] = (
    Tx,
    Block,
    Status,
    GetBlocks,
    GetBlockByHash,
    Blocks,
    Error,
    VoteMessage,
)
_CLASSES: dict[int, type[Message]] = {cls.KIND: cls for cls in MESSAGE_TYPES}


def _check_request_id(kind: FrameKind, request_id: int) -> None:
    check_u64(request_id, "header.request_id")
    paired = kind in (FrameKind.REQUEST, FrameKind.REPLY)
    if paired and request_id == 0:
        raise WireError("header.request_id", f"a {kind.name.lower()} needs an id >= 1")
    if not paired and request_id != 0:
        raise WireError("header.request_id", f"a {kind.name.lower()} has id 0, got {request_id}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded frame: its kind, request id (0 unless request or reply) and message."""

    kind: FrameKind
    request_id: int
    message: Message | None

    def __post_init__(self) -> None:
        _check_request_id(self.kind, self.request_id)
        if self.kind is FrameKind.HEARTBEAT and self.message is not None:
            raise WireError("message", "a heartbeat carries no message")
        if self.kind is not FrameKind.HEARTBEAT and self.message is None:
            raise WireError("message", f"a {self.kind.name.lower()} frame carries one message")


def encode_frame(kind: FrameKind, message: Message | None, request_id: int = 0) -> bytes:
    """One frame; `WireError` if the envelope is inconsistent or the frame too large."""
    envelope = Envelope(kind, request_id, message)
    w = Writer()
    w.fixed(MAGIC)
    w.u8(WIRE_VERSION)
    w.u8(envelope.kind)
    w.u64(envelope.request_id)
    if message is not None:
        w.u8(message.KIND)
        message.write(w)
    data = w.getvalue()
    if len(data) > MAX_FRAME_BYTES:
        raise WireError("frame", f"{len(data)} bytes, at most {MAX_FRAME_BYTES}")
    return data


def decode_frame(data: bytes) -> Envelope:
    """The envelope in `data`; `WireError` naming the field for anything malformed."""
    if len(data) > MAX_FRAME_BYTES:
        raise WireError("frame", f"{len(data)} bytes, at most {MAX_FRAME_BYTES}")
    r = Reader(data)
    magic = r.fixed(len(MAGIC), "header.magic")
    if magic != MAGIC:
        raise WireError("header.magic", f"{magic!r}, expected {MAGIC!r}")
    version = r.u8("header.version")
    if version != WIRE_VERSION:
        raise WireError("header.version", f"{version}, this node speaks {WIRE_VERSION}")
    raw_kind = r.u8("header.frame_kind")
    if raw_kind not in FrameKind._value2member_map_:
        raise WireError("header.frame_kind", f"unknown frame kind {raw_kind}")
    kind = FrameKind(raw_kind)
    request_id = r.u64("header.request_id")
    _check_request_id(kind, request_id)
    message: Message | None = None
    if kind is not FrameKind.HEARTBEAT:
        raw_message_kind = r.u8("message.kind")
        cls = _CLASSES.get(raw_message_kind)
        if cls is None:
            raise WireError("message.kind", f"unknown message kind {raw_message_kind}")
        message = cls.read(r)
    r.end(message.name if message is not None else "heartbeat")
    return Envelope(kind, request_id, message)


def heartbeat_frame() -> bytes:
    return encode_frame(FrameKind.HEARTBEAT, None)


__all__ = [
    "MAX_BLOCKS_PER_REPLY",
    "MAX_FRAME_BYTES",
    "MAX_TX_BYTES",
    "MESSAGE_TYPES",
    "WIRE_VERSION",
    "Block",
    "Blocks",
    "Envelope",
    "Error",
    "FrameKind",
    "GetBlockByHash",
    "GetBlocks",
    "Kind",
    "Message",
    "Status",
    "Tx",
    "VoteMessage",
    "WireError",
    "decode_frame",
    "encode_frame",
    "heartbeat_frame",
]
