"""Who may connect: a ZAP handler with a Curve key allow-list, and handshake-failure reports.

libzmq asks the ZAP handler of the socket's context (RFC 27, ``inproc://zeromq.zap.01``)
about every CurveZMQ client after the handshake proved it holds the secret of the public key
it presents. `Admission` admits a key only if it belongs to a configured peer and gives the
connection that peer's name as its ZAP User-Id, so every frame received on it carries the
authenticated name ("User-Id" frame property); the transport never trusts a claimed name.
Clients that fail before ZAP (wrong server key, no Curve at all) show up as socket-monitor
events, reported by `describe_handshake_failure`. Public keys are public; secrets never reach
this module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import zmq
from zmq.utils import z85

from gridledger.node.p2p.stats import TransportStats
from gridledger.node.p2p.throttle import LogThrottle

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = "gridledger"
_ZAP_VERSION = b"1.0"
_CURVE_KEY_BYTES = 32
HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)

log = logging.getLogger("gridledger.node.p2p")


class Admission:
    """The ZAP handler of one node's context; `handle()` answers one request (`zmq.Again` if
    none is waiting)."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        owner: str,
        allowed: Mapping[bytes, str],
        throttle: LogThrottle,
        stats: TransportStats,
    ) -> None:
        self.owner = owner
        self._stats = stats
        self._allowed = {z85.decode(key): name for key, name in allowed.items()}
        self._throttle = throttle
        self.socket = context.socket(zmq.REP)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(ZAP_ENDPOINT)

    def handle(self) -> None:
        request = self.socket.recv_multipart(zmq.NOBLOCK)
        if len(request) < 6 or request[0] != _ZAP_VERSION:
            log.error("[%s] malformed ZAP request with %d frames", self.owner, len(request))
            self._reply(request[1] if len(request) > 1 else b"", b"500", b"malformed", b"")
            return
        request_id, address, mechanism = request[1], request[3], request[5]
        key = request[6] if len(request) > 6 else b""
        name = self._allowed.get(key) if mechanism == b"CURVE" else None
        if name is not None:
            self._reply(request_id, b"200", b"OK", name.encode())
            return
        self._stats.refused_connections += 1
        who = z85.encode(key).decode() if len(key) == _CURVE_KEY_BYTES else mechanism.decode()
        self._throttle.warning(
            f"zap:{who}",
            "[%s] refused a connection from %s: Curve key %s is not on the allow-list",
            self.owner,
            address.decode(errors="replace"),
            who,
        )
        self._reply(request_id, b"400", b"key not on the allow-list", b"")

    def _reply(self, request_id: bytes, status: bytes, text: bytes, user_id: bytes) -> None:
        self.socket.send_multipart([_ZAP_VERSION, request_id, status, text, user_id, b""])

    def close(self) -> None:
        self.socket.close(linger=0)


def describe_handshake_failure(event: int, value: int) -> str | None:
    """Why a monitored handshake failed, or None for ZAP refusals (`Admission` logged them)."""
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return None
    if value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "Curve cryptographic error (the client does not hold this node's public key)"
    if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "the client does not speak CurveZMQ"
    if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return f"protocol error {value:#x}"
    return f"the connection closed during the handshake ({os.strerror(value)})"
