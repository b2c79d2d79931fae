"""The federation bus's CurveZMQ keys: one pair for the bus, one per expected federate.

The bus is a CurveZMQ server and admits only the federates' public keys (`sim.curve`, the
mechanism the node's P2P layer uses); each connection carries the name its key is listed
under, and a federate may register only under that name. So nobody on the network can claim
a federate's name, its battery or its participant addresses.

The keys are created by the scenario run (`sim run --federation`, `create_or_load`) in a key
directory (0700), and reused by later runs that find them there:

- ``bus.pub``: the bus's public key, which every federate pins;
- ``bus.key``, ``NAME.key`` (0600): the Z85 secret of the bus and of federate NAME, in the
  clear (a run's keys protect the run, not a wallet; the directory's mode is the guard);
- ``NAME.pub``: federate NAME's public key (the allow-list).

A federate (`sim federate --keys DIR --name NAME`) reads ``NAME.key`` and ``bus.pub``
(`load_federate_keys`); a key file readable by its group or others is refused. In-process
runs (the demo, tests) use `BusKeys.generate` and hand each federate its `FederateKeys`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gridledger.sim.curve import CurveKeys, check_private, check_z85_key, make_private_dir
from gridledger.sim.curve import write_private as _write_private
from gridledger.sim.errors import CurveKeyError, FederationError

BUS = "bus"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SECRET_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
KEY_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class FederateKeys:
    """What a federate needs to connect: its own key pair and the bus's public key."""

    own: CurveKeys
    bus_public_z85: bytes


@dataclass(frozen=True, slots=True)
class BusKeys:
    """The bus's key pair and each federate's (by name)."""

    bus: CurveKeys
    federates: Mapping[str, CurveKeys]

    @classmethod
    def generate(cls, names: Sequence[str]) -> BusKeys:
        """Fresh keys for the bus and federates `names`, in memory."""
        return cls(CurveKeys.generate(), {name: CurveKeys.generate() for name in names})

    def allowed(self) -> dict[bytes, str]:
        """The allow-list: {federate public key: federate name}."""
        return {keys.public_z85: name for name, keys in self.federates.items()}

    def federate(self, name: str) -> FederateKeys:
        """Federate `name`'s keys; `FederationError` if the run has no such federate."""
        keys = self.federates.get(name)
        if keys is None:
            raise FederationError(f"no keys for federate {name!r} (run: {sorted(self.federates)})")
        return FederateKeys(keys, self.bus.public_z85)


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or name == BUS:
        raise FederationError(
            f"federate name {name!r} must be 1-64 characters of A-Z a-z 0-9 _ . - (not "
            f"starting with . _ -) and not {BUS!r}: it names the federate's key file"
        )
    return name


def _read_secret(path: Path) -> CurveKeys:
    try:
        check_private(path)
        return CurveKeys.from_secret(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        raise CurveKeyError(f"{path} does not exist") from None


def _load_or_create_pair(key_dir: Path, name: str) -> CurveKeys:
    secret_path = key_dir / f"{name}{SECRET_SUFFIX}"
    public_path = key_dir / f"{name}{PUBLIC_SUFFIX}"
    if secret_path.exists():
        keys = _read_secret(secret_path)
    else:
        keys = CurveKeys.generate()
        _write_private(secret_path, keys.secret_z85.decode("ascii") + "\n")
    public_path.write_bytes(keys.public_z85 + b"\n")
    return keys


def create_or_load(key_dir: Path, names: Sequence[str]) -> BusKeys:
    """The run's keys in `key_dir` (created 0700), each pair made on first use."""
    for name in names:
        _check_name(name)
    make_private_dir(key_dir)
    return BusKeys(
        _load_or_create_pair(key_dir, BUS),
        {name: _load_or_create_pair(key_dir, name) for name in names},
    )


def load_federate_keys(key_dir: Path, name: str) -> FederateKeys:
    """Federate `name`'s keys from the run's key directory `key_dir`."""
    _check_name(name)
    public_path = key_dir / f"{BUS}{PUBLIC_SUFFIX}"
    try:
        bus_public = check_z85_key(public_path.read_bytes().strip(), str(public_path))
    except FileNotFoundError:
        raise CurveKeyError(
            f"{public_path} does not exist; `sim run --federation` creates the run's keys"
        ) from None
    return FederateKeys(_read_secret(key_dir / f"{name}{SECRET_SUFFIX}"), bus_public)


def wait_for_federate_keys(key_dir: Path, name: str, timeout_s: float) -> FederateKeys:
    """`load_federate_keys`, waiting up to `timeout_s` [s] for the run to create them (a
    federate may start before the run)."""
    deadline_s = time.monotonic() + timeout_s
    while True:
        try:
            return load_federate_keys(key_dir, name)
        except CurveKeyError:
            missing = (
                not (key_dir / f"{name}{SECRET_SUFFIX}").exists()
                or not (key_dir / f"{BUS}{PUBLIC_SUFFIX}").exists()
            )
            if not missing or time.monotonic() >= deadline_s:
                raise
            time.sleep(KEY_POLL_S)
