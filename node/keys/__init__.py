"""The node's keys, all in one place (docs/testnet.md, "Keys"):

- ``roles``: the role accounts (admin, operator, regulator, treasury, prosumer), encrypted
  keystore files under DATA_DIR/keystore, and the passphrase they are encrypted with;
- ``authority``: the sealing key of a testnet authority, a keystore file like the roles';
- ``curve``: the CurveZMQ key pair of the peer-to-peer transport (DATA_DIR/p2p);
- ``api_key``: the REST API's bearer key (DATA_DIR/api-key).

The role keystore API is re-exported here (``from gridledger.node.keys import passphrase``).
"""

from gridledger.node.keys.roles import (
    PASSPHRASE_ENV,
    ROLES,
    load_or_create,
    load_or_create_key,
    load_role,
    passphrase,
)

__all__ = [
    "PASSPHRASE_ENV",
    "ROLES",
    "load_or_create",
    "load_or_create_key",
    "load_role",
    "passphrase",
]
