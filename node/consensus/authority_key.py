"""A node's authority (sealing) key: an encrypted keystore file, like the role keys."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from node.errors import ConfigError
from node.keys import SCRYPT_N, passphrase

AUTHORITY_FILE = "authority.json"


def load_or_create_authority_key(keystore_dir: Path) -> PrivateKey:
    """The node's sealing key from `keystore_dir`, created (and encrypted) on first use."""
    secret = passphrase()
    keystore_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keystore_dir, 0o700)
    path = keystore_dir / AUTHORITY_FILE
    if path.exists():
        try:
            raw = Account.decrypt(json.loads(path.read_text(encoding="utf-8")), secret)
        except ValueError as exc:
            raise ConfigError(f"cannot decrypt {path}: wrong passphrase?") from exc
        return PrivateKey(bytes(raw))
    account = Account.create()
    encrypted = Account.encrypt(account.key, secret, kdf="scrypt", iterations=SCRYPT_N)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(encrypted, f)
    return PrivateKey(bytes(account.key))
