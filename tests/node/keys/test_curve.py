"""The node's Curve keys: encrypted and 0600 on disk, stable across restarts, precise errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import zmq
from zmq.utils import z85

from gridledger.node.errors import ConfigError
from gridledger.node.keys import PASSPHRASE_ENV
from gridledger.node.keys.curve import (
    PUBLIC_FILE,
    SECRET_FILE,
    load_or_create_curve_keys,
    read_public_key,
)

PASSPHRASE = "p2p-test-passphrase"


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)


def test_created_once_then_loaded_unchanged(tmp_path: Path) -> None:
    keys = load_or_create_curve_keys(tmp_path / "p2p")
    assert bytes(zmq.curve_public(keys.secret_z85)) == keys.public_z85
    assert load_or_create_curve_keys(tmp_path / "p2p") == keys
    assert read_public_key(tmp_path / "p2p") == keys.public_z85
    assert stat.S_IMODE((tmp_path / "p2p").stat().st_mode) == 0o700


def test_the_secret_file_is_encrypted_and_private(tmp_path: Path) -> None:
    keys = load_or_create_curve_keys(tmp_path)
    secret_file = tmp_path / SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    stored = secret_file.read_bytes()
    raw_secret = z85.decode(keys.secret_z85)
    for form in (raw_secret, raw_secret.hex().encode(), keys.secret_z85):
        assert form not in stored
    doc = json.loads(stored)
    assert doc["kdf"] == "scrypt"
    assert len(bytes.fromhex(doc["ciphertext"])) == 32 + 16  # the secret and the GCM tag
    assert (tmp_path / PUBLIC_FILE).read_bytes() == keys.public_z85 + b"\n"
    assert keys.secret_z85.decode() not in repr(keys)


def test_a_wrong_passphrase_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_or_create_curve_keys(tmp_path)
    monkeypatch.setenv(PASSPHRASE_ENV, "not-" + PASSPHRASE)
    with pytest.raises(ConfigError) as info:
        load_or_create_curve_keys(tmp_path)
    assert str(info.value) == (
        f"cannot decrypt {tmp_path / SECRET_FILE}: wrong {PASSPHRASE_ENV}, or the file was altered"
    )


def test_no_passphrase_no_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(ConfigError, match=f"set {PASSPHRASE_ENV}"):
        load_or_create_curve_keys(tmp_path)
    assert not (tmp_path / SECRET_FILE).exists()


def test_a_swapped_public_key_fails_decryption(tmp_path: Path) -> None:
    load_or_create_curve_keys(tmp_path)
    doc = json.loads((tmp_path / SECRET_FILE).read_text())
    doc["public_z85"] = bytes(zmq.curve_keypair()[0]).decode()
    (tmp_path / SECRET_FILE).write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"cannot decrypt .*or the file was altered"):
        load_or_create_curve_keys(tmp_path)


def test_the_public_file_must_match(tmp_path: Path) -> None:
    keys = load_or_create_curve_keys(tmp_path)
    (tmp_path / PUBLIC_FILE).unlink()
    assert load_or_create_curve_keys(tmp_path) == keys  # rewritten from the secret file
    assert read_public_key(tmp_path) == keys.public_z85
    (tmp_path / PUBLIC_FILE).write_bytes(bytes(zmq.curve_keypair()[0]))
    with pytest.raises(ConfigError, match=f"{PUBLIC_FILE} is not the public key of"):
        load_or_create_curve_keys(tmp_path)


def test_a_public_file_without_its_secret_is_refused(tmp_path: Path) -> None:
    load_or_create_curve_keys(tmp_path)
    (tmp_path / SECRET_FILE).unlink()
    with pytest.raises(ConfigError, match=f"{PUBLIC_FILE} exists but .*{SECRET_FILE} does not"):
        load_or_create_curve_keys(tmp_path)


@pytest.mark.parametrize(
    ("mode", "who"), [(0o644, "group and others"), (0o640, "its group"), (0o604, "others")]
)
def test_a_secret_file_readable_by_others_is_refused(tmp_path: Path, mode: int, who: str) -> None:
    load_or_create_curve_keys(tmp_path)
    os.chmod(tmp_path / SECRET_FILE, mode)
    with pytest.raises(ConfigError) as info:
        load_or_create_curve_keys(tmp_path)
    path = tmp_path / SECRET_FILE
    assert str(info.value) == (
        f"{path} has mode {mode:04o} (open to {who}); a secret key file must be 0600: "
        f"chmod 600 {path}"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not a Curve key file: Expecting value"),
        ("[]", "is not a Curve key file: not a JSON object"),
        ('{"version": 2, "kdf": "scrypt"}', "key file version 2 / kdf 'scrypt', expected 1"),
        ('{"version": 1, "kdf": "scrypt"}', "is not a Curve key file: KeyError('public_z85')"),
    ],
)
def test_a_damaged_secret_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    load_or_create_curve_keys(tmp_path)
    (tmp_path / SECRET_FILE).write_text(content)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_or_create_curve_keys(tmp_path)


def test_read_public_key_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; start the node once"):
        read_public_key(tmp_path)
    (tmp_path / PUBLIC_FILE).write_bytes(b"~" * 40)
    with pytest.raises(ConfigError, match="is not valid Z85"):
        read_public_key(tmp_path)
    (tmp_path / PUBLIC_FILE).write_bytes(b"abc")
    with pytest.raises(ConfigError, match="must be a 40-character Z85 Curve key"):
        read_public_key(tmp_path)
