"""GET /v1/market/intervals/{interval}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from gridledger.contracts.units import UINT64_LIMIT
from gridledger.node.rest.deps import Context
from gridledger.node.rest.schemas import ErrorOut
from gridledger.node.views.records import IntervalOut

router = APIRouter(prefix="/v1/market", tags=["market"])


@router.get("/intervals/{interval}", responses={422: {"model": ErrorOut}})
def get_interval(
    interval: Annotated[int, Path(ge=0, lt=UINT64_LIMIT, description="interval index")],
    context: Context,
) -> IntervalOut:
    """An interval: phase, timing, clearing price and volume, orders, trades, settlement."""
    return context.market.interval(interval)
