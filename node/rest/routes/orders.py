"""POST /v1/orders (API key) and GET /v1/orders/{order_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gridledger.contracts.units import UINT256_LIMIT
from gridledger.node.rest.deps import Authorized, Context, KeyFirstRoute
from gridledger.node.rest.schemas import ErrorOut, OrderPlaced, OrderRequest
from gridledger.node.views.records import OrderOut

router = APIRouter(prefix="/v1/orders", tags=["orders"], route_class=KeyFirstRoute)

OrderId = Annotated[int, Path(ge=0, lt=UINT256_LIMIT, description="(interval << 32) | index")]


@router.post(
    "",
    status_code=201,
    dependencies=[Authorized],
    responses={s: {"model": ErrorOut} for s in (401, 402, 403, 409, 422, 503, 504)},
)
def place_order(body: OrderRequest, context: Context) -> OrderPlaced:
    """Place a limit order from the node's prosumer account: returns the order id and the
    transaction hash. The contract's refusals come back decoded (name and arguments)."""
    return context.desk.place(body)


@router.get("/{order_id}", responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def get_order(order_id: OrderId, context: Context) -> OrderOut:
    """An order as stored on-chain, with its fill and settlement."""
    return context.market.order(order_id)
