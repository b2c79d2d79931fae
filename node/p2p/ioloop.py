"""The transport's I/O thread: the only thread that touches the node's ZMQ sockets.

Sockets: one ROUTER bound as CurveZMQ server (ZAP domain `ZAP_DOMAIN`); one DEALER per peer
as Curve client of that peer's ROUTER; the ZAP handler; a PULL for commands from other
threads; the ROUTER's monitor. Gossip and requests go out on the DEALERs; requests arrive on
the ROUTER and their replies go back through it to the asking DEALER.

Sends never block: every socket is LINGER 0 and sent to with NOBLOCK; a DEALER is
ZMQ_IMMEDIATE, so while its peer is down a send fails at once and the frame is dropped (and
counted) rather than queued for later. ZMQ reconnects by itself; a request whose frame could
not be sent fails at once.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq
from zmq.utils.monitor import parse_monitor_message

from gridledger.node.keys.curve import CurveKeys
from gridledger.node.p2p.admission import (
    HANDSHAKE_EVENTS,
    ZAP_DOMAIN,
    admission,
    describe_handshake_failure,
)
from gridledger.node.p2p.errors import WireError
from gridledger.node.p2p.peers import Peer
from gridledger.node.p2p.stats import TransportStats
from gridledger.node.p2p.throttle import LogThrottle
from gridledger.node.p2p.wire import (
    MAX_FRAME_BYTES,
    Envelope,
    Error,
    FrameKind,
    Message,
    decode_frame,
    encode_frame,
    heartbeat_frame,
)
from gridledger.sim.curve import authenticated_name, curve_client, curve_server

COMMAND_ENDPOINT = "inproc://gridledger-p2p-commands"
OP_SEND = b"S"  # [op, peer, frame]
OP_BROADCAST = b"B"  # [op, frame]
OP_REQUEST = b"Q"  # [op, peer, request id u64, frame]
OP_REPLY = b"R"  # [op, routing id, peer, frame]
OP_STOP = b"X"  # [op]
REQUEST_ID = struct.Struct(">Q")
SEND_HWM = 10_000
"""Frames queued to each peer's ROUTER (our gossip) before further sends are dropped."""
REPLY_HWM = 16
"""Replies queued per requesting connection before further ones are dropped: a peer asks
one request at a time and reads the reply, so only one that pipelines requests without
reading hits it; with replies of up to 16 MiB, a count of 10,000 would let it park 160 GB."""
COMMAND_HWM = 10_000
"""Commands queued on each side of the API -> I/O thread pipe."""
RECONNECT_IVL_MAX_MS = 1000
"""Reconnect back-off cap [ms]: a restarted peer is reached again within about a second."""
_BATCH = 256  # frames drained per socket per wake-up, so heartbeats keep their period

log = logging.getLogger("gridledger.node.p2p")


@dataclass
class Pending:
    """A request waiting for its reply; the I/O thread fills `reply` and sets `done`."""

    peer: str
    done: threading.Event = field(default_factory=threading.Event)
    reply: Message | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A valid message from `peer`; `routing_id` is set for a request (where its reply goes);
    `size_bytes` is its frame's length (what it costs the handler queue)."""

    peer: str
    envelope: Envelope
    routing_id: bytes | None
    size_bytes: int = 0


class Shared:
    """State the I/O thread shares with the API: partition set, liveness, pending requests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dropped: frozenset[str] = frozenset()  # replaced whole, read without the lock
        self.last_heard_s: dict[str, float] = {}
        self.pending: dict[int, Pending] = {}
        self.stats = TransportStats()

    def heard(self, peer: str) -> None:
        with self.lock:
            self.last_heard_s[peer] = time.monotonic()

    def resolve(self, request_id: int, peer: str, reply: Message | None) -> bool:
        """Hand `reply` to the waiting request; False if none waits for it from `peer`."""
        with self.lock:
            pending = self.pending.get(request_id)
            if pending is None or pending.peer != peer:
                return False
            pending.reply = reply
        pending.done.set()
        return True


@dataclass(frozen=True, slots=True)
class LoopConfig:
    name: str
    keys: CurveKeys
    bind_endpoint: str
    peers: tuple[Peer, ...]
    heartbeat_s: float


class IoLoop:
    """Runs in its own thread: `main(ready)` sets up, signals `ready`, then loops until stop."""

    def __init__(
        self,
        cfg: LoopConfig,
        context: zmq.Context[zmq.Socket[bytes]],
        shared: Shared,
        deliver: Callable[[Incoming], bool],
        throttle: LogThrottle,
    ) -> None:
        self.cfg = cfg
        self.context = context
        self.shared = shared
        self.deliver = deliver
        self.throttle = throttle
        self.endpoint = ""
        self.setup_error: BaseException | None = None
        self._sockets: list[zmq.Socket[bytes]] = []
        self._dealers: dict[str, zmq.Socket[bytes]] = {}
        self._heartbeat = heartbeat_frame()
        self._running = True

    def _socket(self, kind: int) -> zmq.Socket[bytes]:
        sock = self.context.socket(kind)
        self._sockets.append(sock)
        sock.setsockopt(zmq.LINGER, 0)
        return sock

    def _setup(self) -> None:
        cfg = self.cfg
        allowed = {peer.public_z85: peer.name for peer in cfg.peers}
        self.admission = admission(
            self.context, cfg.name, allowed, self.throttle, self.shared.stats
        )
        self._sockets.append(self.admission.socket)
        self.commands = self._socket(zmq.PULL)
        self.commands.setsockopt(zmq.RCVHWM, COMMAND_HWM)
        self.commands.bind(COMMAND_ENDPOINT)
        heartbeat_ms = max(1, int(cfg.heartbeat_s * 1000))
        router = self._socket(zmq.ROUTER)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
        router.setsockopt(zmq.SNDHWM, REPLY_HWM)
        curve_server(router, cfg.keys, ZAP_DOMAIN)
        self.monitor = router.get_monitor_socket(HANDSHAKE_EVENTS)
        self._sockets.append(self.monitor)
        router.bind(cfg.bind_endpoint)
        self.router = router
        self.endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        for peer in cfg.peers:
            dealer = self._socket(zmq.DEALER)
            dealer.setsockopt(zmq.IMMEDIATE, 1)
            dealer.setsockopt(zmq.SNDHWM, SEND_HWM)
            dealer.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME_BYTES)
            dealer.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS)
            # ZMTP heartbeats drop a half-open TCP connection (a peer that vanished without FIN).
            dealer.setsockopt(zmq.HEARTBEAT_IVL, heartbeat_ms)
            dealer.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3 * heartbeat_ms)
            curve_client(dealer, cfg.keys, peer.public_z85)
            dealer.connect(peer.endpoint)
            self._dealers[peer.name] = dealer

    def main(self, ready: threading.Event) -> None:
        try:
            self._setup()
        except (zmq.ZMQError, ValueError) as exc:
            self.setup_error = exc
            self._close()
            ready.set()
            return
        ready.set()
        try:
            self._loop()
        finally:
            self._close()

    def _close(self) -> None:
        for sock in self._sockets:
            sock.close(linger=0)

    def _loop(self) -> None:
        poller = zmq.Poller()
        handlers: dict[zmq.Socket[bytes], Callable[[], None]] = {
            self.commands: self._on_command,
            self.admission.socket: self.admission.handle,
            self.monitor: self._on_monitor,
            self.router: self._on_router,
        }
        for name, dealer in self._dealers.items():
            handlers[dealer] = self._dealer_reader(name, dealer)
        for sock in handlers:
            poller.register(sock, zmq.POLLIN)
        next_beat_s = time.monotonic()
        while self._running:
            now_s = time.monotonic()
            if now_s >= next_beat_s:
                self._send_heartbeats()
                next_beat_s = now_s + self.cfg.heartbeat_s
            timeout_ms = max(0, int((next_beat_s - now_s) * 1000))
            for sock, _ in poller.poll(timeout_ms):
                on_ready = handlers[sock]
                for _ in range(_BATCH):
                    try:
                        on_ready()
                    except zmq.Again:
                        break
                    if not self._running:
                        return

    # Outgoing.

    def _send_heartbeats(self) -> None:
        dropped = self.shared.dropped
        for name, dealer in self._dealers.items():
            if name not in dropped:
                # A peer that is down raises Again: there is nobody to tell we are alive.
                with contextlib.suppress(zmq.Again):
                    dealer.send(self._heartbeat, zmq.NOBLOCK)

    def _send(self, sock: zmq.Socket[bytes], frames: list[bytes]) -> bool:
        try:
            sock.send_multipart(frames, zmq.NOBLOCK)
        except zmq.ZMQError:  # Again: peer down or queue full; EHOSTUNREACH: gone
            self.shared.stats.sends_dropped += 1
            return False
        self.shared.stats.frames_sent += 1
        return True

    def _to_peer(self, peer: str, frame: bytes) -> bool:
        if peer in self.shared.dropped:
            self.shared.stats.partitioned += 1
            return False
        return self._send(self._dealers[peer], [frame])

    def _on_command(self) -> None:
        parts = self.commands.recv_multipart(zmq.NOBLOCK)
        op = parts[0]
        if op == OP_SEND:
            self._to_peer(parts[1].decode(), parts[2])
        elif op == OP_BROADCAST:
            for peer in self._dealers:
                self._to_peer(peer, parts[1])
        elif op == OP_REQUEST:
            peer = parts[1].decode()
            if not self._to_peer(peer, parts[3]):
                self.shared.resolve(REQUEST_ID.unpack(parts[2])[0], peer, None)
        elif op == OP_REPLY:
            if parts[2].decode() in self.shared.dropped:
                self.shared.stats.partitioned += 1
            else:
                self._send(self.router, [parts[1], parts[3]])
        elif op == OP_STOP:
            self._running = False

    # Incoming.

    def _bad(self, peer: str, reason: str) -> None:
        self.shared.stats.bad_messages += 1
        self.throttle.warning(
            f"bad:{peer}", "[%s] peer %s sent a bad message: %s", self.cfg.name, peer, reason
        )

    def _decode(self, peer: str, frame: bytes) -> Envelope | None:
        try:
            return decode_frame(frame)
        except WireError as exc:
            self._bad(peer, str(exc))
            return None

    def _on_router(self) -> None:
        parts = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
        peer = authenticated_name(parts[-1])
        if peer is None:  # no ZAP user id: cannot happen with a ZAP handler bound
            log.error("[%s] a frame without an authenticated peer; dropped", self.cfg.name)
            return
        if peer in self.shared.dropped:
            self.shared.stats.partitioned += 1
            return
        self.shared.stats.frames_received += 1
        if len(parts) != 2:
            self._bad(peer, f"{len(parts) - 1} frames in one message, expected 1")
            return
        frame = parts[1].bytes
        envelope = self._decode(peer, frame)
        if envelope is None:
            return
        self.shared.heard(peer)
        if envelope.kind is FrameKind.HEARTBEAT:
            return
        if envelope.kind is FrameKind.REPLY:
            self._bad(peer, "a reply sent to the server socket (replies answer requests)")
            return
        routing_id = parts[0].bytes if envelope.kind is FrameKind.REQUEST else None
        if not self.deliver(Incoming(peer, envelope, routing_id, len(frame))):
            self._refuse_busy(peer, envelope, routing_id)

    def _refuse_busy(self, peer: str, envelope: Envelope, routing_id: bytes | None) -> None:
        self.shared.stats.handler_queue_full += 1
        self.throttle.warning(
            f"busy:{peer}",
            "[%s] handler queue full: dropped a message from %s",
            self.cfg.name,
            peer,
        )
        if routing_id is not None:
            busy = Error(f"{self.cfg.name} is busy")
            self._send(
                self.router, [routing_id, encode_frame(FrameKind.REPLY, busy, envelope.request_id)]
            )

    def _dealer_reader(self, peer: str, dealer: zmq.Socket[bytes]) -> Callable[[], None]:
        def read() -> None:
            parts = dealer.recv_multipart(zmq.NOBLOCK)
            if peer in self.shared.dropped:
                self.shared.stats.partitioned += 1
                return
            self.shared.stats.frames_received += 1
            if len(parts) != 1:
                self._bad(peer, f"{len(parts)} frames in one reply, expected 1")
                return
            envelope = self._decode(peer, parts[0])
            if envelope is None:
                return
            if envelope.kind is not FrameKind.REPLY:
                self._bad(peer, f"a {envelope.kind.name.lower()} frame where only replies go")
                return
            self.shared.heard(peer)
            if not self.shared.resolve(envelope.request_id, peer, envelope.message):
                log.debug("[%s] late reply %d from %s", self.cfg.name, envelope.request_id, peer)

        return read

    def _on_monitor(self) -> None:
        event = parse_monitor_message(self.monitor.recv_multipart(zmq.NOBLOCK))
        reason = describe_handshake_failure(int(event["event"]), int(event["value"]))
        if reason is None:
            return
        self.shared.stats.failed_handshakes += 1
        self.throttle.warning(
            f"handshake:{reason}",
            "[%s] refused a connection on %s: %s",
            self.cfg.name,
            event["endpoint"].decode(errors="replace"),
            reason,
        )
