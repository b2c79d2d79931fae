"""The scrypt parameters of the node's encrypted key files: geth's defaults, checked on load.

Every key file the node writes (role keystores, the authority key, the Curve secret) is
encrypted under a key derived by scrypt from ``GRIDLEDGER_PASSPHRASE`` with geth's standard
parameters: n = 2^18, r = 8, p = 1, 32-byte output (~1 s and 256 MiB per derivation). The
parameters are stored in the file; on load they are checked before any derivation, so a file
edited to n = 2 (cheap to brute-force) or to n = 2^30 (1 TiB of memory) is refused with the
numbers. Allowed on load: n a power of two, 2^18 <= n, 128 * n * r <= 256 MiB (geth's
memory), 1 <= p <= 16, dklen = 32.

Throw-away keys only: ``GRIDLEDGER_LIGHT_KDF=1`` in the environment (geth's ``--lightkdf``)
lowers n to geth's "light" 2^12 for new files and accepts it on load; the node logs a warning
when it is set. The test suite (tests/conftest.py) and ``make demo`` set it: their keys guard
nothing and a derivation at 2^18 costs ~1-3 s on 2 cores, which made the demo 4x slower. It is
the operator's explicit choice, made in the environment: nothing read from a file can lower the
floor.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.node.errors import ConfigError

SCRYPT_N = 2**18
"""geth's StandardScryptN."""
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
MAX_SCRYPT_P = 16
MAX_SCRYPT_MEMORY_BYTES = 128 * SCRYPT_N * SCRYPT_R
"""256 MiB: what geth's standard parameters need; a file asking for more is refused."""
LIGHT_KDF_ENV = "GRIDLEDGER_LIGHT_KDF"
LIGHT_SCRYPT_N = 2**12
"""geth's LightScryptN; only with `LIGHT_KDF_ENV` set."""

log = logging.getLogger(__name__)
_warned: list[bool] = []


@dataclass(frozen=True, slots=True)
class ScryptParams:
    n: int
    r: int
    p: int
    dklen: int = SCRYPT_DKLEN


def _light_mode() -> bool:
    if os.environ.get(LIGHT_KDF_ENV) != "1":
        return False
    if not _warned:
        _warned.append(True)
        log.warning(
            "%s=1: key files use scrypt n = 2^12 (geth's light KDF), for throw-away keys only",
            LIGHT_KDF_ENV,
        )
    return True


def min_scrypt_n() -> int:
    """The smallest n accepted on load (2^18; 2^12 with the light KDF chosen)."""
    return LIGHT_SCRYPT_N if _light_mode() else SCRYPT_N


def new_params() -> ScryptParams:
    """The parameters for a new key file."""
    return ScryptParams(min_scrypt_n(), SCRYPT_R, SCRYPT_P)


def check_params(path: Path, raw: Any) -> ScryptParams:
    """The scrypt parameters `raw` ({n, r, p, dklen}) read from `path`, if strong enough and
    affordable; else `ConfigError` with the numbers."""
    try:
        params = ScryptParams(*(_int(raw[k], k) for k in ("n", "r", "p", "dklen")))
    except (KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: scrypt parameters n, r, p, dklen missing or not integers: {exc!r}"
        ) from None
    n, r, p, dklen = params.n, params.r, params.p, params.dklen
    floor = min_scrypt_n()
    if n < floor or n & (n - 1):
        raise ConfigError(
            f"{path}: scrypt n = {n} is refused; a key file needs a power of two >= {floor} "
            f"(2^{floor.bit_length() - 1})"
        )
    if r < 1 or 128 * n * r > MAX_SCRYPT_MEMORY_BYTES:
        raise ConfigError(
            f"{path}: scrypt n = {n}, r = {r} needs {128 * n * r} bytes; at most "
            f"{MAX_SCRYPT_MEMORY_BYTES} (r >= 1)"
        )
    if not 1 <= p <= MAX_SCRYPT_P:
        raise ConfigError(f"{path}: scrypt p = {p}, expected 1..{MAX_SCRYPT_P}")
    if dklen != SCRYPT_DKLEN:
        raise ConfigError(f"{path}: scrypt dklen = {dklen}, expected {SCRYPT_DKLEN}")
    return params


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} = {value!r}")
    return value
