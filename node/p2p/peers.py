"""A configured peer: its name, where it listens and its Curve public key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gridledger.node.errors import ConfigError
from gridledger.node.keys.curve import check_z85_key

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_name(name: str, what: str) -> str:
    """`name` if it is 1-64 characters of [A-Za-z0-9_.-] (not starting with . _ -)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{what} {name!r} must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return name


@dataclass(frozen=True, slots=True)
class Peer:
    """Another node: `endpoint` is where its ROUTER listens (``tcp://127.0.0.1:PORT``)."""

    name: str
    endpoint: str
    public_z85: bytes

    def __post_init__(self) -> None:
        check_name(self.name, "peer name")
        if not self.endpoint.startswith(("tcp://", "ipc://")):
            raise ConfigError(
                f"peer {self.name}: endpoint {self.endpoint!r} is not tcp:// or ipc://"
            )
        check_z85_key(self.public_z85, f"peer {self.name}: public_z85")


def check_peers(own_name: str, own_public_z85: bytes, peers: Sequence[Peer]) -> dict[str, Peer]:
    """The peers by name; `ConfigError` on a repeated name or key, or on the node itself."""
    by_name: dict[str, Peer] = {}
    by_key: dict[bytes, str] = {}
    for peer in peers:
        if peer.name == own_name:
            raise ConfigError(f"peer {peer.name!r} has this node's own name")
        if peer.public_z85 == own_public_z85:
            raise ConfigError(f"peer {peer.name!r} has this node's own public key")
        if peer.name in by_name:
            raise ConfigError(f"peer name {peer.name!r} is listed twice")
        if peer.public_z85 in by_key:
            raise ConfigError(
                f"peers {by_key[peer.public_z85]!r} and {peer.name!r} have the same public key"
            )
        by_name[peer.name] = peer
        by_key[peer.public_z85] = peer.name
    return by_name
