"""The node's API keys, one per role, each a random secret in its own file (mode 0600), sent by
clients as ``Authorization: Bearer KEY`` on write endpoints (checked by `node.rest.auth`):

- ``DATA_DIR/api-key``: the prosumer's key (orders, consents) and the node's administration
  (/v1/admin);
- ``DATA_DIR/api-key-operator``: the operator's endpoints (/v1/operator);
- ``DATA_DIR/api-key-regulator``: the regulator's endpoints (/v1/regulator).

All three are created at the node's first start. A key opens only its role's endpoints. Keys
are never logged."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from gridledger.node.errors import ConfigError

log = logging.getLogger(__name__)

API_KEY_FILE = "api-key"
API_ROLES = ("prosumer", "operator", "regulator")
"""The roles with an API key; the prosumer's is the node's own (API_KEY_FILE)."""
API_KEY_ENV = "GRIDLEDGER_API_KEY"
# 32 random bytes, URL-safe base64: 43 characters, 256 bits of entropy.
API_KEY_BYTES = 32


def api_key_file(role: str) -> str:
    """The file name of `role`'s API key in the data dir."""
    if role not in API_ROLES:
        raise ConfigError(f"no API key for role {role!r}; roles: {', '.join(API_ROLES)}")
    return API_KEY_FILE if role == "prosumer" else f"{API_KEY_FILE}-{role}"


def load_or_create_api_keys(data_dir: Path) -> dict[str, str]:
    """Every role's key (role -> key), each created on first use (see load_or_create_api_key)."""
    return {role: load_or_create_api_key(data_dir, role) for role in API_ROLES}


def load_or_create_api_key(data_dir: Path, role: str = "prosumer") -> str:
    """`role`'s key in `data_dir` (api-key for the prosumer), created on first use with mode
    0600 (a looser mode on an existing file is tightened, with a warning naming the mode: the
    key stays usable, but whoever could read it may have it)."""
    path = data_dir / api_key_file(role)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning(
                "%s had mode %04o (readable beyond its owner); made it 0600. Delete it and "
                "restart to get a new key if others may have read it",
                path,
                mode,
            )
        key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise ConfigError(f"{path} is empty; delete it to have a new API key created") from None
        return key
    key = new_api_key()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key


def new_api_key() -> str:
    """A fresh URL-safe key that never starts with '-' (a command line would read such a key
    given as `--api-key KEY` as an option of its own)."""
    while (key := secrets.token_urlsafe(API_KEY_BYTES)).startswith("-"):
        pass
    return key
