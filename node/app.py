"""The node's HTTP server: /healthz, /v1/contracts/addresses, the REST API under /v1
(node.rest, docs/rest.md) and Ethereum JSON-RPC on /rpc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from gridledger.node import rest
from gridledger.node.http_limits import (
    BODY_REFUSAL_RESPONSES,
    RPC_REFUSAL_RESPONSES,
    BodyLimitMiddleware,
    restore_recursion_limit,
)
from gridledger.node.rest.routes import admin as admin_api
from gridledger.node.rest.routes import finality as finality_api
from gridledger.node.rest.schemas import VALIDATION_RESPONSES
from gridledger.node.service import NodeService


def create_app(service: NodeService, data_dir: Path | None = None) -> FastAPI:
    """The node's app; `data_dir` holds the REST API key (without it, REST writes are off).
    Every request body passes node.http_limits (size, JSON depth) before any route."""
    restore_recursion_limit()
    app = FastAPI(title="gridledger node", version="0.1.0", responses=BODY_REFUSAL_RESPONSES)
    app.add_middleware(BodyLimitMiddleware)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return service.status()

    @app.get("/v1/contracts/addresses")
    def contract_addresses() -> dict[str, str]:
        return dict(service.deployment.addresses) if service.deployment else {}

    @app.post("/rpc", responses=RPC_REFUSAL_RESPONSES)
    async def rpc(request: Request) -> Response:
        # The body is within node.http_limits.RPC_LIMITS already (size and depth).
        out = await run_in_threadpool(service.handle_rpc, await request.body())
        if out is None:
            return Response(status_code=204)
        return Response(content=out, media_type="application/json")

    # After /v1/contracts/addresses, so that path is not taken for a contract id.
    rest.mount(app, service, data_dir)
    app.state.service = service
    app.include_router(admin_api.router, responses=VALIDATION_RESPONSES)
    app.include_router(finality_api.router, responses=VALIDATION_RESPONSES)
    return app
