"""Counters of one transport (for tests, logs and the node's status)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TransportStats:
    """Frame and offence counters; each field is written by one thread only."""

    frames_sent: int = 0
    frames_received: int = 0
    sends_dropped: int = 0
    """Frames not sent: the peer was down or its queue full (heartbeats not counted)."""
    partitioned: int = 0
    """Frames dropped in either direction because of `drop_links`."""
    bad_messages: int = 0
    refused_connections: int = 0
    """ZAP refusals: a Curve key not on the allow-list."""
    failed_handshakes: int = 0
    """Handshakes that failed before ZAP: a wrong server key, or no Curve at all."""
    handler_errors: int = 0
    handler_queue_full: int = 0
