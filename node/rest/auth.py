"""The check of the node's API key (`node.keys.api_key`), sent by clients as
``Authorization: Bearer KEY`` on write endpoints. The key is never logged."""

from __future__ import annotations

import hmac

from fastapi.security import HTTPAuthorizationCredentials

from gridledger.node.rest.errors import AuthError


class ApiKeyCheck:
    """Checks a request's bearer credentials against the node's key (None: writes disabled)."""

    def __init__(self, api_key: str | None) -> None:
        self._key = api_key.encode() if api_key else None

    def check(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        """Raise AuthError unless `credentials` carry the node's API key."""
        if self._key is None:
            raise AuthError("this node has no API key (started without a data dir): writes are off")
        if credentials is None:
            raise AuthError("missing 'Authorization: Bearer <api key>' header")
        if not hmac.compare_digest(credentials.credentials.encode(), self._key):
            raise AuthError("wrong API key")
