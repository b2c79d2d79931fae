"""Errors of the node-to-node transport."""

from __future__ import annotations

from gridledger.node.errors import NodeError


class P2PError(NodeError):
    """The transport was misused or misconfigured; the message says how."""


class WireError(P2PError, ValueError):
    """A frame or message breaks the wire schema; `field` names where (``status.head_hash``)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")
