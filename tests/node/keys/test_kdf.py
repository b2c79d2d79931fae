"""Key files: geth's scrypt parameters for new files; weak, absurd or tampered parameters and
loose file modes refused before any decryption."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gridledger.node.errors import ConfigError
from gridledger.node.keys import PASSPHRASE_ENV, load_or_create, load_or_create_key, load_role
from gridledger.node.keys.curve import SECRET_FILE, load_or_create_curve_keys
from gridledger.node.keys.kdf import LIGHT_KDF_ENV, ScryptParams, new_params


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "kdf-test-passphrase")


def test_new_files_use_geths_parameters_unless_the_test_switch_is_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(LIGHT_KDF_ENV)
    assert new_params() == ScryptParams(2**18, 8, 1, 32)
    monkeypatch.setenv(LIGHT_KDF_ENV, "1")
    assert new_params() == ScryptParams(2**12, 8, 1, 32)


def _tamper(path: Path, **params: object) -> None:
    doc = json.loads(path.read_text())
    doc["crypto"]["kdfparams"].update(params)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n": 2}, "scrypt n = 2 is refused; a key file needs a power of two >= 4096 (2^12)"),
        ({"n": 4097}, "scrypt n = 4097 is refused"),
        ({"n": 2**30}, "scrypt n = 1073741824, r = 8 needs 1099511627776 bytes; at most 268435456"),
        ({"r": 0}, "scrypt n = 4096, r = 0 needs 0 bytes"),
        ({"p": 0}, "scrypt p = 0, expected 1..16"),
        ({"dklen": 16}, "scrypt dklen = 16, expected 32"),
        ({"n": "4096"}, "scrypt parameters n, r, p, dklen missing or not integers"),
    ],
)
def test_a_keystore_with_tampered_parameters_is_refused(
    tmp_path: Path, params: dict[str, object], message: str
) -> None:
    path = tmp_path / "admin.json"
    load_or_create_key(path)
    _tamper(path, **params)
    with pytest.raises(ConfigError) as info:
        load_or_create_key(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_outside_tests_a_light_keystore_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "admin.json"
    load_or_create_key(path)  # n = 2^12 under the test switch
    monkeypatch.delenv(LIGHT_KDF_ENV)
    with pytest.raises(ConfigError, match=r"n = 4096 is refused; .* >= 262144 \(2\^18\)"):
        load_or_create_key(path)


def test_another_kdf_and_a_readable_keystore_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "admin.json"
    account = load_or_create_key(path)
    doc = json.loads(path.read_text())
    doc["crypto"]["kdf"] = "pbkdf2"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="key derivation 'pbkdf2', this node reads 'scrypt' only"):
        load_or_create_key(path)
    doc["crypto"]["kdf"] = "scrypt"
    path.write_text(json.dumps(doc))
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match=r"mode 0640 \(open to its group\)"):
        load_or_create_key(path)
    os.chmod(path, 0o600)
    assert load_or_create_key(path).address == account.address


def test_a_curve_key_file_with_weak_parameters_is_refused(tmp_path: Path) -> None:
    load_or_create_curve_keys(tmp_path)
    path = tmp_path / SECRET_FILE
    doc = json.loads(path.read_text())
    doc["n"] = 2
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="scrypt n = 2 is refused"):
        load_or_create_curve_keys(tmp_path)


def test_one_role_costs_one_key_file(tmp_path: Path) -> None:
    account = load_role(tmp_path, "operator")
    assert [p.name for p in tmp_path.iterdir()] == ["operator.json"]
    assert load_or_create(tmp_path)["operator"].address == account.address
    with pytest.raises(ConfigError, match="unknown role 'sealer'; roles: admin, operator"):
        load_role(tmp_path, "sealer")
