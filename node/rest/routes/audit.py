"""GET /v1/violations, /v1/readings and /v1/trust/{address}.

`from` / `to` are unix seconds on the reading's interval start: from <= start < to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from eth_typing import ChecksumAddress
from fastapi import APIRouter, Depends, Path, Query
from web3 import Web3

from gridledger.node.rest.deps import Context
from gridledger.node.rest.period import FromTs, ToTs, check_period
from gridledger.node.rest.schemas import ADDRESS_PATTERN, ErrorOut
from gridledger.node.views.records import ReadingsOut, TrustOut, ViolationsOut

router = APIRouter(prefix="/v1", tags=["audit"])

MAX_EVENTS = 10_000


@dataclass(frozen=True, slots=True)
class EventQuery:
    participant: ChecksumAddress | None
    from_ts: int | None
    to_ts: int | None
    limit: int


def _event_query(
    participant: Annotated[
        str | None, Query(pattern=ADDRESS_PATTERN, description="0x address (any case)")
    ] = None,
    from_ts: FromTs = None,
    to_ts: ToTs = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS, description="most events returned")] = 1000,
) -> EventQuery:
    check_period(from_ts, to_ts)
    address = Web3.to_checksum_address(participant) if participant else None
    return EventQuery(address, from_ts, to_ts, limit)


Events = Annotated[EventQuery, Depends(_event_query)]


@router.get("/violations", responses={422: {"model": ErrorOut}})
def get_violations(query: Events, context: Context) -> ViolationsOut:
    """ViolationRecorded events (import caps and delivery obligations), oldest first."""
    return context.audit.violations(query.participant, query.from_ts, query.to_ts, query.limit)


@router.get("/readings", responses={422: {"model": ErrorOut}})
def get_readings(query: Events, context: Context) -> ReadingsOut:
    """Meter readings the chain accepted (ReadingAccepted events), oldest first."""
    return context.audit.readings(query.participant, query.from_ts, query.to_ts, query.limit)


@router.get("/trust/{address}", responses={422: {"model": ErrorOut}})
def get_trust(
    address: Annotated[str, Path(pattern=ADDRESS_PATTERN, description="0x address")],
    context: Context,
) -> TrustOut:
    """Trust of `address` (exp(-beta E_viol) as wad), its exposure and whether it may trade."""
    return context.audit.trust(address)
