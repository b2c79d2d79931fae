"""A node's authority (sealing) key: an encrypted keystore file, like the role keys
(`node.keys.roles`)."""

from __future__ import annotations

from pathlib import Path

from eth_keys.datatypes import PrivateKey

from gridledger.node.keys.roles import load_or_create_key

AUTHORITY_FILE = "authority.json"


def load_or_create_authority_key(keystore_dir: Path) -> PrivateKey:
    """The node's sealing key from `keystore_dir`, created (and encrypted) on first use."""
    return PrivateKey(bytes(load_or_create_key(keystore_dir / AUTHORITY_FILE).key))
