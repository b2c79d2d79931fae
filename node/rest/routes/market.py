"""GET /v1/market/intervals/{interval} and GET /v1/market (the interval grid and now)."""

from __future__ import annotations

from typing import Annotated, Any

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


@router.get("")
def get_market(context: Context) -> dict[str, Any]:
    """The interval grid (epoch, length, gate lead [s]), the chain's time [unix s], the first
    interval still open to orders and the last whose gate has closed."""
    chain = context.market.chain
    grid = chain.grid()
    now_ts = int(chain.w3.eth.get_block("latest")["timestamp"])
    open_interval = grid.first_open_after(now_ts)
    return {
        "epoch_start_ts": grid.epoch_start_ts,
        "interval_length_s": grid.interval_length_s,
        "gate_closure_lead_s": grid.gate_lead_s,
        "now_ts": now_ts,
        "open_interval": open_interval,
        "last_closed_interval": open_interval - 1,
    }
