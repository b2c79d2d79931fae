"""The node's CurveZMQ key pair: the secret encrypted on disk, the public key in plain text.

Files in the key directory (0700):

- ``curve.key`` (0600): JSON ``{"version": 1, "public_z85", "kdf": "scrypt", "n", "r", "p",
  "salt", "nonce", "ciphertext"}``; the 32-byte Curve25519 secret encrypted with AES-256-GCM under a
  key derived by scrypt (geth's parameters, checked on load: `node.keys.kdf`) from the node
  passphrase (``GRIDLEDGER_PASSPHRASE``, `node.keys.roles.passphrase`); the public key is
  the associated data, so swapping in another public key fails decryption.
- ``curve.pub``: the Z85 public key; this is what other nodes put in their allow-lists.

The secret is never logged: `CurveKeys` leaves it out of its repr. The key pair type, the
Z85 check and the private-file helpers are shared with the federation bus (`sim.curve`).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import zmq
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from zmq.utils import z85

from gridledger.node.errors import ConfigError
from gridledger.node.keys.kdf import ScryptParams, check_params, new_params
from gridledger.node.keys.roles import PASSPHRASE_ENV, check_private, passphrase
from gridledger.sim import curve
from gridledger.sim.curve import CurveKeys
from gridledger.sim.errors import CurveKeyError

__all__ = ["CurveKeys", "check_z85_key", "load_or_create_curve_keys", "read_public_key"]

SECRET_FILE = "curve.key"
PUBLIC_FILE = "curve.pub"
KEY_FILE_VERSION = 1
_SALT_BYTES = 16
_NONCE_BYTES = 12


def check_z85_key(value: bytes, what: str) -> bytes:
    """`value` if it is a 40-character Z85 key, else `ConfigError` naming `what`."""
    try:
        return curve.check_z85_key(value, what)
    except CurveKeyError as exc:
        raise ConfigError(str(exc)) from None


def _derive(secret: str, salt: bytes, params: ScryptParams) -> bytes:
    scrypt = Scrypt(salt=salt, length=params.dklen, n=params.n, r=params.r, p=params.p)
    return scrypt.derive(secret.encode("utf-8"))


def _encrypt(keys: CurveKeys, secret: str) -> dict[str, Any]:
    salt = secrets.token_bytes(_SALT_BYTES)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    params = new_params()
    key = _derive(secret, salt, params)
    raw_secret = z85.decode(keys.secret_z85)
    ciphertext = AESGCM(key).encrypt(nonce, raw_secret, keys.public_z85)
    return {
        "version": KEY_FILE_VERSION,
        "public_z85": keys.public_z85.decode("ascii"),
        "kdf": "scrypt",
        "n": params.n,
        "r": params.r,
        "p": params.p,
        "salt": salt.hex(),
        "nonce": nonce.hex(),
        "ciphertext": ciphertext.hex(),
    }


def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not a Curve key file: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} is not a Curve key file: not a JSON object")
    if doc.get("version") != KEY_FILE_VERSION or doc.get("kdf") != "scrypt":
        raise ConfigError(
            f"{path}: key file version {doc.get('version')!r} / kdf {doc.get('kdf')!r}, "
            f"expected {KEY_FILE_VERSION} / 'scrypt'"
        )
    return doc


def _decrypt(path: Path, doc: dict[str, Any], secret: str) -> CurveKeys:
    try:
        public_z85 = check_z85_key(str(doc["public_z85"]).encode("ascii"), f"{path} public_z85")
        salt, nonce = bytes.fromhex(doc["salt"]), bytes.fromhex(doc["nonce"])
        ciphertext = bytes.fromhex(doc["ciphertext"])
        raw_params = {"n": doc["n"], "r": doc["r"], "p": doc["p"], "dklen": 32}
    except (KeyError, TypeError, UnicodeEncodeError) as exc:
        raise ConfigError(f"{path} is not a Curve key file: {exc!r}") from None
    except ValueError as exc:  # also ConfigError from check_z85_key, which says what
        raise ConfigError(f"{path} is not a Curve key file: {exc}") from None
    try:
        params = check_params(path, raw_params)
        raw_secret = AESGCM(_derive(secret, salt, params)).decrypt(nonce, ciphertext, public_z85)
    except InvalidTag:
        raise ConfigError(
            f"cannot decrypt {path}: wrong {PASSPHRASE_ENV}, or the file was altered"
        ) from None
    secret_z85 = bytes(z85.encode(raw_secret))
    if bytes(zmq.curve_public(secret_z85)) != public_z85:
        raise ConfigError(f"{path}: the secret does not belong to its public key")
    return CurveKeys(public_z85, secret_z85)


def load_or_create_curve_keys(key_dir: Path) -> CurveKeys:
    """The node's Curve key pair from `key_dir`, created (and encrypted) on first use.

    Raises `ConfigError` if the passphrase is unset or wrong, the secret file is readable by
    others or malformed, the public file holds another key, or only the public file exists (a
    new identity would silently fall off every allow-list).
    """
    secret = passphrase()
    curve.make_private_dir(key_dir)
    secret_path, public_path = key_dir / SECRET_FILE, key_dir / PUBLIC_FILE
    if not secret_path.exists():
        if public_path.exists():
            raise ConfigError(
                f"{public_path} exists but {secret_path} does not; restore the secret key file "
                "or delete both to create a new identity (peers must then admit its key)"
            )
        keys = CurveKeys.generate()
        curve.write_private(secret_path, json.dumps(_encrypt(keys, secret)))
        public_path.write_bytes(keys.public_z85 + b"\n")
        return keys
    check_private(secret_path)
    keys = _decrypt(secret_path, _read_key_file(secret_path), secret)
    if not public_path.exists():  # the secret file is the source of truth
        public_path.write_bytes(keys.public_z85 + b"\n")
    elif public_path.read_bytes().strip() != keys.public_z85:
        raise ConfigError(f"{public_path} is not the public key of {secret_path}")
    return keys


def read_public_key(key_dir: Path) -> bytes:
    """The Z85 public key in `key_dir` (no passphrase needed): what peers put in allow-lists."""
    path = key_dir / PUBLIC_FILE
    try:
        return check_z85_key(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; start the node once to create it") from None
