"""The check of the node's API keys (`node.keys.api_key`, one per role), sent by clients as
``Authorization: Bearer KEY`` on write endpoints. A missing or unknown key is 401; another
role's key is 403 (it is a valid key, for other endpoints). Keys are never logged."""

from __future__ import annotations

import hmac

from fastapi.security import HTTPAuthorizationCredentials

from gridledger.node.rest.errors import AuthError, ForbiddenRoleError

PROSUMER = "prosumer"


class ApiKeyCheck:
    """Checks a request's bearer credentials against the node's role keys (role -> key);
    `None` (or a str, the prosumer's key alone) as in a node without a data dir: writes off."""

    def __init__(self, api_keys: dict[str, str] | str | None) -> None:
        if isinstance(api_keys, str):
            api_keys = {PROSUMER: api_keys}
        self._keys = {role: key.encode() for role, key in (api_keys or {}).items() if key}

    def role_of(self, credentials: HTTPAuthorizationCredentials | None) -> str:
        """The role whose key `credentials` carry; AuthError if none."""
        if not self._keys:
            raise AuthError("this node has no API key (started without a data dir): writes are off")
        if credentials is None:
            raise AuthError("missing 'Authorization: Bearer <api key>' header")
        sent = credentials.credentials.encode()
        # Compare with every key (no early exit): the time does not tell which role matched.
        matches = [role for role, key in self._keys.items() if hmac.compare_digest(sent, key)]
        if not matches:
            raise AuthError("wrong API key")
        return matches[0]

    def check(self, credentials: HTTPAuthorizationCredentials | None, role: str = PROSUMER) -> None:
        """Raise AuthError unless `credentials` carry a key of this node, ForbiddenRoleError
        if it is another role's key than `role`'s."""
        held = self.role_of(credentials)
        if held != role:
            raise ForbiddenRoleError(
                f"this is the {held}'s API key; this endpoint needs the {role}'s "
                f"(DATA_DIR/api-key{'' if role == PROSUMER else '-' + role})"
            )
