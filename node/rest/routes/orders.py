"""POST /v1/orders (API key), GET /v1/orders?owner= and GET /v1/orders/{order_id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gridledger.contracts.units import UINT256_LIMIT
from gridledger.node.rest.deps import Authorized, Context, KeyFirstRoute
from gridledger.node.rest.schemas import ADDRESS_PATTERN, ErrorOut, OrderPlaced, OrderRequest
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


@router.get("", responses={422: {"model": ErrorOut}})
def list_orders(
    context: Context,
    owner: Annotated[
        str | None, Query(pattern=ADDRESS_PATTERN, description="default: this node's prosumer")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="most recent orders")] = 20,
) -> list[OrderOut]:
    """`owner`'s most recent orders (newest last), with fills and settlement."""
    return context.market.orders_of(owner or context.desk.chain.account("prosumer"), limit)
