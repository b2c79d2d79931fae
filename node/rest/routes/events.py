"""GET /v1/events: Server-Sent Events, one `block` message per block the node imports.

Left out of /openapi.json: the stream never ends, which a schema-driven client cannot
handle; docs/dashboard.md describes it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gridledger.node.dashboard import Dashboard

router = APIRouter(prefix="/v1", tags=["events"])


@router.get("/events", response_class=EventSourceResponse, include_in_schema=False)
async def get_events(request: Request, dashboard: Dashboard) -> AsyncIterator[ServerSentEvent]:
    """`event: block`, `data: {number, hash, timestamp_ts, tx_count, finalized}` for the
    head at connection and every block after it; 503 TooManySubscribers past the limit."""
    dashboard.feed.subscribe()
    async for event in dashboard.feed.stream(request.is_disconnected):
        yield event
