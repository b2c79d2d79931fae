"""The node's own keys (admin, operator, regulator, treasury, and prosumer: the node's market
participant, which places orders over REST): encrypted keystores on disk.

Keys are never logged. The passphrase comes from GRIDLEDGER_PASSPHRASE; a node refuses to
create or open keystores without it. Keystores are Web3 Secret Storage v3 files encrypted
with scrypt at geth's parameters (`node.keys.kdf`); one with weaker or absurd parameters, or
readable by the group or others, is refused before any decryption.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.node.errors import ConfigError
from gridledger.node.keys.kdf import check_params, new_params
from gridledger.sim import curve
from gridledger.sim.errors import CurveKeyError

ROLES = ("admin", "operator", "regulator", "treasury", "prosumer")
PASSPHRASE_ENV = "GRIDLEDGER_PASSPHRASE"


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
        return read_key(path)
    account: LocalAccount = Account.create()
    params = new_params()
    encrypted = Account.encrypt(account.key, secret, kdf="scrypt", iterations=params.n)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(encrypted, f)
    return account


def read_key(path: Path) -> LocalAccount:
    """The account in the existing keystore file `path` (FileNotFoundError if there is
    none; ConfigError if its mode or scrypt parameters are refused or it does not decrypt)."""
    keystore = read_keystore(path)
    try:
        key = Account.decrypt(keystore, passphrase())
    except ValueError as exc:
        raise ConfigError(f"cannot decrypt {path}: wrong {PASSPHRASE_ENV}?") from exc
    loaded: LocalAccount = Account.from_key(key)
    return loaded


def check_private(path: Path) -> None:
    """`ConfigError` unless the key file `path` is readable by its owner only."""
    try:
        curve.check_private(path)
    except CurveKeyError as exc:
        raise ConfigError(str(exc)) from None


def read_keystore(path: Path) -> dict[str, Any]:
    """The keystore JSON in `path` once its mode and scrypt parameters passed the checks."""
    check_private(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        crypto = doc["crypto"]
        kdf, kdfparams = crypto["kdf"], crypto["kdfparams"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a keystore file: {exc!r}") from None
    if kdf != "scrypt":
        raise ConfigError(f"{path}: key derivation {kdf!r}, this node reads 'scrypt' only")
    check_params(path, kdfparams)
    return dict(doc)


def load_role(keystore_dir: Path, role: str) -> LocalAccount:
    """The account of one `role` in `keystore_dir`: one key derivation, not one per role."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return load_or_create_key(keystore_dir / f"{role}.json")


def load_or_create(keystore_dir: Path) -> dict[str, LocalAccount]:
    """The node's role accounts, created (and encrypted) on first use."""
    return {role: load_or_create_key(keystore_dir / f"{role}.json") for role in ROLES}
