"""GET /v1/events: Server-Sent Events, one `block` message per block the node imports.

Left out of /openapi.json: the stream never ends, which a schema-driven client cannot
handle; docs/dashboard.md describes it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gridledger.node.dashboard import Dashboard, live
from gridledger.node.dashboard.live import BlockFeed
from gridledger.node.rest.errors import TooManySubscribersError

router = APIRouter(prefix="/v1", tags=["events"])


def _subscription(dashboard: Dashboard) -> Iterator[BlockFeed]:
    # Before the response starts, so that the limit is a 503; released once the stream ends.
    if not dashboard.feed.subscribe():
        raise TooManySubscribersError(
            f"{live.MAX_SUBSCRIBERS} event streams are open on this node; close one"
        )
    try:
        yield dashboard.feed
    finally:
        dashboard.feed.release()


@router.get("/events", response_class=EventSourceResponse, include_in_schema=False)
async def get_events(
    request: Request, feed: Annotated[BlockFeed, Depends(_subscription)]
) -> AsyncIterator[ServerSentEvent]:
    """`event: block`, `data: {number, hash, timestamp_ts, tx_count, finalized}` for the
    head at connection and every block after it; 503 TooManySubscribers past the limit."""
    async for event in feed.stream(request.is_disconnected):
        yield event
