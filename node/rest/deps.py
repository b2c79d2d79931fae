"""The REST layer's dependencies: the per-app context and the write-access check."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridledger.node.meters.intake import ReadingIntake
from gridledger.node.meters.relay import MeterRelay
from gridledger.node.rest.auth import ApiKeyCheck
from gridledger.node.rest.orders import OrderDesk
from gridledger.node.rest.roles import RoleDesk
from gridledger.node.views.audit import AuditView
from gridledger.node.views.layers import LayerTable
from gridledger.node.views.market import MarketView


@dataclass(frozen=True, slots=True)
class RestContext:
    """The service objects the routes call (one per app, in app.state.rest)."""

    market: MarketView
    audit: AuditView
    desk: OrderDesk
    layers: LayerTable
    api_key: ApiKeyCheck
    roles: RoleDesk
    readings: ReadingIntake
    relay: MeterRelay


def _context(request: Request) -> RestContext:
    context: RestContext = request.app.state.rest
    return context


Context = Annotated[RestContext, Depends(_context)]

_bearer = HTTPBearer(auto_error=False, description="the node's API key (DATA_DIR/api-key)")


def _authorized(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    context.api_key.check(credentials, "prosumer")


def _operator_authorized(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    context.api_key.check(credentials, "operator")


def _regulator_authorized(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    context.api_key.check(credentials, "regulator")


Authorized = Depends(_authorized)
"""The prosumer's key (DATA_DIR/api-key), which is also the node administration's."""
OperatorAuthorized = Depends(_operator_authorized)
"""The operator's key (DATA_DIR/api-key-operator)."""
RegulatorAuthorized = Depends(_regulator_authorized)
"""The regulator's key (DATA_DIR/api-key-regulator)."""
_ROLE_OF = {
    "prosumer": Authorized,
    "operator": OperatorAuthorized,
    "regulator": RegulatorAuthorized,
}


class KeyFirstRoute(APIRoute):
    """A route class whose Authorized routes check the API key before FastAPI reads and
    parses the body, so an unauthenticated client gets 401 whatever it sends, never a 422
    telling it that the route parsed its body. (FastAPI parses the body before it solves
    dependencies; Authorized stays on the route for the OpenAPI security scheme.)"""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        roles = [role for role, dep in _ROLE_OF.items() if dep in self.dependencies]
        if not roles:
            return handler
        role = roles[0]

        async def key_first(request: Request) -> Response:
            _context(request).api_key.check(await _bearer(request), role)
            return await handler(request)

        return key_first
