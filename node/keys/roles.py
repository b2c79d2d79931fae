"""The node's own keys (admin, operator, regulator, treasury, and prosumer: the node's market
participant, which places orders over REST): encrypted keystores on disk.

Keys are never logged. The passphrase comes from GRIDLEDGER_PASSPHRASE; a node refuses to
create or open keystores without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.node.errors import ConfigError

ROLES = ("admin", "operator", "regulator", "treasury", "prosumer")
PASSPHRASE_ENV = "GRIDLEDGER_PASSPHRASE"
# scrypt work factor: 2^14 keeps start-up near 0.1 s per key on this machine while still
# costing an attacker a memory-hard derivation per guess.
SCRYPT_N = 2**14


def passphrase() -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise ConfigError(f"set {PASSPHRASE_ENV} to the passphrase that encrypts the node's keys")
    return value


def load_or_create_key(path: Path) -> LocalAccount:
    """The account in the keystore file `path`, created (and encrypted, mode 0600) on first
    use in a 0700 folder."""
    secret = passphrase()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    if path.exists():
        try:
            key = Account.decrypt(json.loads(path.read_text(encoding="utf-8")), secret)
        except ValueError as exc:
            raise ConfigError(f"cannot decrypt {path}: wrong {PASSPHRASE_ENV}?") from exc
        loaded: LocalAccount = Account.from_key(key)
        return loaded
    account: LocalAccount = Account.create()
    encrypted = Account.encrypt(account.key, secret, kdf="scrypt", iterations=SCRYPT_N)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(encrypted, f)
    return account


def load_or_create(keystore_dir: Path) -> dict[str, LocalAccount]:
    """The node's role accounts, created (and encrypted) on first use."""
    return {role: load_or_create_key(keystore_dir / f"{role}.json") for role in ROLES}
