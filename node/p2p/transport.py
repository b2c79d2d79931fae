"""`Transport`: gossip and request/reply between admitted nodes over CurveZMQ.

Threads:

- the I/O thread (`node.p2p.ioloop`) owns every socket: it sends what the API queues, reads
  frames, answers ZAP, and sends a heartbeat to every peer each `heartbeat_s`;
- the handler thread calls ``handler(peer, message)`` for each valid incoming message, in
  arrival order, so a slow handler delays other messages but never heartbeats, ZAP or
  replies to our own requests. Its queue holds `handler_queue_max` messages and
  `handler_queue_bytes` bytes of frames (so 16 MiB blocks cannot pile up); beyond either a
  message is dropped (a request is answered ``Error("<name> is busy")``) and logged;
- any thread may call `broadcast`, `send`, `request`, `peers_alive`, `drop_links`,
  `restore_links`: they encode on the calling thread (so a `WireError` surfaces there) and
  pass frames to the I/O thread through an inproc PUSH/PULL pipe.

`request` must not be called from inside the handler: it would hold up every other incoming
message until the reply came, and two nodes doing it to each other would both wait for the
timeout. It raises `P2PError` there; run syncs from a thread of their own.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType

import zmq

from gridledger.node.keys.curve import CurveKeys
from gridledger.node.p2p.bytequeue import ByteQueue
from gridledger.node.p2p.errors import P2PError
from gridledger.node.p2p.ioloop import (
    COMMAND_ENDPOINT,
    COMMAND_HWM,
    OP_BROADCAST,
    OP_REPLY,
    OP_REQUEST,
    OP_SEND,
    OP_STOP,
    REQUEST_ID,
    Incoming,
    IoLoop,
    LoopConfig,
    Pending,
    Shared,
)
from gridledger.node.p2p.peers import Peer, check_name, check_peers
from gridledger.node.p2p.stats import TransportStats
from gridledger.node.p2p.throttle import LogThrottle
from gridledger.node.p2p.wire import (
    MESSAGE_TYPES,
    Error,
    FrameKind,
    Message,
    WireError,
    encode_frame,
)

Handler = Callable[[str, Message], Message | None]
DEFAULT_HEARTBEAT_S = 0.5
ALIVE_HEARTBEATS = 3
"""A peer is alive while its last frame is at most this many heartbeat periods old."""
DEFAULT_HANDLER_QUEUE_MAX = 10_000
DEFAULT_HANDLER_QUEUE_BYTES = 64 * 2**20
"""Frame bytes waiting for the handler: four maximal frames, or thousands of transactions."""
OUTBOX_WAIT_MS = 100
"""How long [ms] an API call waits for room in the pipe to the I/O thread before dropping."""
_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0

log = logging.getLogger("gridledger.node.p2p")


class _Outbox:
    """The API threads' end of the command pipe: one PUSH socket behind a lock.

    A burst larger than the pipe holds (2 x `COMMAND_HWM`) waits up to `OUTBOX_WAIT_MS` for
    the I/O thread, then is dropped and counted in ``sends_dropped``.
    """

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]]) -> None:
        self._lock = threading.Lock()
        self._socket: zmq.Socket[bytes] | None = context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, COMMAND_HWM)
        self._socket.setsockopt(zmq.SNDTIMEO, OUTBOX_WAIT_MS)
        self._socket.connect(COMMAND_ENDPOINT)
        self.full = 0

    def post(self, frames: list[bytes]) -> bool:
        """Queue a command for the I/O thread; False if closed or the pipe stayed full."""
        with self._lock:
            if self._socket is None:
                return False
            try:
                self._socket.send_multipart(frames)
            except zmq.Again:
                self.full += 1
                return False
            return True

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close(linger=0)
                self._socket = None


class Transport:
    """One node's end of the peer-to-peer network (see the module docstring for threads).

    Parameters
    ----------
    name : this node's name (peers know it by their own configuration, not by a claim)
    keys : this node's Curve key pair (`node.keys.curve.load_or_create_curve_keys`)
    bind_endpoint : where the ROUTER listens, ``tcp://127.0.0.1:PORT``
    peers : the other nodes; their public keys are the allow-list
    handler : ``handler(peer_name, message)``; for a request its return value is the reply
        (None answers ``Error``)
    heartbeat_s : heartbeat period [s]; a peer is alive for `ALIVE_HEARTBEATS` periods
    handler_queue_max : messages waiting for the handler before new ones are dropped
    handler_queue_bytes : frame bytes waiting for the handler before new ones are dropped
    """

    def __init__(
        self,
        name: str,
        keys: CurveKeys,
        bind_endpoint: str,
        peers: Sequence[Peer],
        handler: Handler,
        *,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        handler_queue_max: int = DEFAULT_HANDLER_QUEUE_MAX,
        handler_queue_bytes: int = DEFAULT_HANDLER_QUEUE_BYTES,
    ) -> None:
        if heartbeat_s <= 0:
            raise P2PError(f"heartbeat_s must be > 0, got {heartbeat_s}")
        if handler_queue_max < 1 or handler_queue_bytes < 1:
            raise P2PError(
                f"handler_queue_max and handler_queue_bytes must be >= 1, got "
                f"{handler_queue_max} and {handler_queue_bytes}"
            )
        self.name = check_name(name, "node name")
        self.peers = check_peers(name, keys.public_z85, peers)
        self.heartbeat_s = heartbeat_s
        self._cfg = LoopConfig(name, keys, bind_endpoint, tuple(peers), heartbeat_s)
        self._handler = handler
        self._shared = Shared()
        self._throttle = LogThrottle(log)
        self._queue: ByteQueue[Incoming | None] = ByteQueue(handler_queue_bytes, handler_queue_max)
        self._ids = itertools.count(1)
        self._state_lock = threading.Lock()
        self._started = False
        self._stopping = threading.Event()
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._outbox: _Outbox | None = None
        self._loop: IoLoop | None = None
        self._io_thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None

    # Life cycle.

    def start(self) -> None:
        """Bind, connect to every peer and start the threads; `P2PError` if binding fails."""
        with self._state_lock:
            if self._started:
                raise P2PError(f"transport {self.name} was already started (make a new one)")
            self._started = True
        self._context = zmq.Context()
        self._loop = IoLoop(self._cfg, self._context, self._shared, self._deliver, self._throttle)
        ready = threading.Event()
        self._io_thread = threading.Thread(
            target=self._loop.main, args=(ready,), name=f"p2p-io-{self.name}", daemon=True
        )
        self._io_thread.start()
        if not ready.wait(_START_TIMEOUT_S):
            raise P2PError(f"transport {self.name}: no socket set up after {_START_TIMEOUT_S} s")
        error = self._loop.setup_error
        if error is not None:
            self._io_thread.join(_STOP_TIMEOUT_S)
            self._context.term()
            raise P2PError(
                f"transport {self.name} could not start on {self._cfg.bind_endpoint}: {error}"
            ) from error
        self._outbox = _Outbox(self._context)
        self._worker = threading.Thread(
            target=self._work, name=f"p2p-handler-{self.name}", daemon=True
        )
        self._worker.start()
        log.info("[%s] listening on %s, %d peers", self.name, self.endpoint, len(self.peers))

    def stop(self) -> None:
        """Stop both threads and close every socket; waiting requests return None."""
        if self._stopping.is_set() or self._outbox is None:
            return
        self._stopping.set()
        self._outbox.post([OP_STOP])
        if self._io_thread is not None:
            self._io_thread.join(_STOP_TIMEOUT_S)
        self._outbox.close()
        with self._shared.lock:
            waiting = list(self._shared.pending.values())
        for pending in waiting:
            pending.done.set()
        # A full queue needs no marker (the worker checks `_stopping` after each message),
        # but the marker takes no room, so it always goes in.
        self._queue.put_nowait(None, 0, force=True)
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(_STOP_TIMEOUT_S)
            if self._worker.is_alive():
                log.warning(
                    "[%s] the handler has not returned after %.0f s", self.name, _STOP_TIMEOUT_S
                )
        if self._context is not None:
            self._context.term()

    def __enter__(self) -> Transport:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """The endpoint actually bound (resolves a ``*`` port); empty before `start`."""
        return self._loop.endpoint if self._loop is not None else ""

    # Sending.

    def _post(self, frames: list[bytes]) -> bool:
        if self._outbox is None:
            raise P2PError(f"transport {self.name} is not started")
        return self._outbox.post(frames)

    def _peer(self, peer: str) -> bytes:
        if peer not in self.peers:
            raise P2PError(f"{peer!r} is not a peer of {self.name} (peers: {sorted(self.peers)})")
        return peer.encode()

    def broadcast(self, message: Message) -> None:
        """Gossip `message` to every peer whose link is up; never blocks."""
        self._post([OP_BROADCAST, encode_frame(FrameKind.MESSAGE, message)])

    def send(self, peer: str, message: Message) -> None:
        """Send `message` one way to `peer`; dropped (and counted) if the peer is down."""
        self._post([OP_SEND, self._peer(peer), encode_frame(FrameKind.MESSAGE, message)])

    def request(self, peer: str, message: Message, timeout_s: float) -> Message | None:
        """`peer`'s reply to `message`, or None after `timeout_s` [s] — at once if the peer is
        down or partitioned. Not from inside the handler (module docstring)."""
        if threading.current_thread() is self._worker:
            raise P2PError(f"{self.name}: request() from inside the handler would stall it")
        target = self._peer(peer)
        with self._shared.lock:
            request_id = next(self._ids)
            pending = Pending(peer)
            self._shared.pending[request_id] = pending
        try:
            frame = encode_frame(FrameKind.REQUEST, message, request_id)
            if not self._post([OP_REQUEST, target, REQUEST_ID.pack(request_id), frame]):
                return None
            pending.done.wait(timeout_s)
            return pending.reply
        finally:
            with self._shared.lock:
                del self._shared.pending[request_id]

    # Links and liveness.

    def peers_alive(self) -> list[str]:
        """Peers heard from (any frame, heartbeats included) in the last few heartbeats,
        partitioned ones excluded; sorted."""
        horizon_s = ALIVE_HEARTBEATS * self.heartbeat_s
        now_s = time.monotonic()
        dropped = self._shared.dropped
        with self._shared.lock:
            heard = dict(self._shared.last_heard_s)
        return sorted(p for p, t in heard.items() if now_s - t <= horizon_s and p not in dropped)

    def drop_links(self, peers: Iterable[str]) -> None:
        """Partition: drop every frame to and from `peers` until `restore_links`."""
        names = frozenset(peers)
        for name in names:
            self._peer(name)
        with self._shared.lock:
            self._shared.dropped = self._shared.dropped | names
        log.warning("[%s] links dropped to %s", self.name, sorted(names))

    def restore_links(self) -> None:
        """End every partition made by `drop_links`."""
        with self._shared.lock:
            restored, self._shared.dropped = self._shared.dropped, frozenset()
        log.warning("[%s] links restored to %s", self.name, sorted(restored))

    def stats(self) -> TransportStats:
        """A snapshot of the counters."""
        snapshot = dataclasses.replace(self._shared.stats)
        if self._outbox is not None:
            snapshot.sends_dropped += self._outbox.full
        return snapshot

    # The handler thread.

    def _deliver(self, incoming: Incoming) -> bool:
        """Called by the I/O thread; False if the handler queue is full."""
        return self._queue.put_nowait(incoming, incoming.size_bytes)

    def _work(self) -> None:
        while True:
            incoming = self._queue.get()
            if incoming is None or self._stopping.is_set():
                return
            self._handle(incoming)

    def _handle(self, incoming: Incoming) -> None:
        message = incoming.envelope.message
        assert message is not None  # only heartbeats carry none, and they are not delivered
        try:
            reply = self._handler(incoming.peer, message)
        except Exception:
            self._shared.stats.handler_errors += 1
            log.exception(
                "[%s] the handler failed on %s from %s", self.name, message.name, incoming.peer
            )
            reply = Error(f"{self.name} failed to handle {message.name}")
        if incoming.routing_id is None or self._outbox is None:
            return
        if reply is None:
            reply = Error(f"{self.name} has no answer to {message.name}")
        elif not isinstance(reply, MESSAGE_TYPES):
            log.error(
                "[%s] the handler answered %s with a %s, not a message",
                self.name,
                message.name,
                type(reply).__name__,
            )
            reply = Error(f"{self.name} failed to handle {message.name}")
        try:
            frame = encode_frame(FrameKind.REPLY, reply, incoming.envelope.request_id)
        except WireError as exc:
            log.error("[%s] reply to %s not sent: %s", self.name, message.name, exc)
            error = Error(f"{self.name} could not encode its reply: {exc}"[:200])
            frame = encode_frame(FrameKind.REPLY, error, incoming.envelope.request_id)
        self._outbox.post([OP_REPLY, incoming.routing_id, incoming.peer.encode(), frame])
