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
    context.api_key.check(credentials)


Authorized = Depends(_authorized)


class KeyFirstRoute(APIRoute):
    """A route class whose Authorized routes check the API key before FastAPI reads and
    parses the body, so an unauthenticated client gets 401 whatever it sends, never a 422
    telling it that the route parsed its body. (FastAPI parses the body before it solves
    dependencies; Authorized stays on the route for the OpenAPI security scheme.)"""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if Authorized not in self.dependencies:
            return handler

        async def key_first(request: Request) -> Response:
            _context(request).api_key.check(await _bearer(request))
            return await handler(request)

        return key_first
