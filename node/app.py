"""The node's HTTP server: /healthz, /v1/contracts/addresses, the REST API under /v1
(node.rest, docs/rest.md) and Ethereum JSON-RPC on /rpc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from gridledger.node import rest
from gridledger.node.ledger.embedded.rpc import MAX_BODY_BYTES
from gridledger.node.rest.routes import admin as admin_api
from gridledger.node.service import NodeService

TOO_LARGE = (
    b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"request body too large"}}'
)


def create_app(service: NodeService, data_dir: Path | None = None) -> FastAPI:
    """The node's app; `data_dir` holds the REST API key (without it, REST writes are off)."""
    app = FastAPI(title="gridledger node", version="0.1.0")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return service.status()

    @app.get("/v1/contracts/addresses")
    def contract_addresses() -> dict[str, str]:
        return dict(service.deployment.addresses) if service.deployment else {}

    @app.post("/rpc")
    async def rpc(request: Request) -> Response:
        # Refuse oversize bodies before reading them: by the announced length, and while
        # streaming for chunked requests, so no request can make the node buffer gigabytes.
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return Response(content=TOO_LARGE, status_code=413, media_type="application/json")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return Response(content=TOO_LARGE, status_code=413, media_type="application/json")
            chunks.append(chunk)
        out = await run_in_threadpool(service.handle_rpc, b"".join(chunks))
        if out is None:
            return Response(status_code=204)
        return Response(content=out, media_type="application/json")

    # After /v1/contracts/addresses, so that path is not taken for a contract id.
    rest.mount(app, service, data_dir)
    app.state.service = service
    app.include_router(admin_api.router)
    return app
