"""The node's HTTP server: /healthz, /v1/contracts/addresses and Ethereum JSON-RPC on /rpc."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from node.service import NodeService


def create_app(service: NodeService) -> FastAPI:
    app = FastAPI(title="gridledger node", version="0.1.0")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return service.status()

    @app.get("/v1/contracts/addresses")
    def contract_addresses() -> dict[str, str]:
        return dict(service.deployment.addresses) if service.deployment else {}

    @app.post("/rpc")
    async def rpc(request: Request) -> Response:
        body = await request.body()
        out = await run_in_threadpool(service.handle_rpc, body)
        if out is None:
            return Response(status_code=204)
        return Response(content=out, media_type="application/json")

    return app
