"""Who may connect: the ZAP allow-list of the node's peers, and handshake-failure reports.

`admission` builds the context's ZAP handler (`sim.curve.Admission`, shared with the
federation bus) from the configured peers: it admits a key only if it belongs to a peer and
gives the connection that peer's name as its ZAP User-Id, so every frame received on it
carries the authenticated name; the transport never trusts a claimed name. Clients that fail
before ZAP (wrong server key, no Curve at all) show up as socket-monitor events, reported by
`describe_handshake_failure`. Public keys are public; secrets never reach this module.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import zmq

from gridledger.node.p2p.stats import TransportStats
from gridledger.node.p2p.throttle import LogThrottle
from gridledger.sim.curve import Admission

ZAP_DOMAIN = "gridledger"
HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)

log = logging.getLogger("gridledger.node.p2p")


def admission(
    context: zmq.Context[zmq.Socket[bytes]],
    owner: str,
    allowed: Mapping[bytes, str],
    throttle: LogThrottle,
    stats: TransportStats,
) -> Admission:
    """The ZAP handler of node `owner`'s context, admitting `allowed` ({public Z85: peer
    name}); refusals are counted in `stats` and logged through `throttle`."""

    def refused(who: str, address: str) -> None:
        stats.refused_connections += 1
        throttle.warning(
            f"zap:{who}",
            "[%s] refused a connection from %s: Curve key %s is not on the allow-list",
            owner,
            address,
            who,
        )

    return Admission(context, allowed, refused, ZAP_DOMAIN)


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
