"""GET /v1/contracts and /v1/contracts/{contract_id} (/v1/contracts/addresses is the app's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gridledger.contracts.units import UINT64_LIMIT, UINT256_LIMIT
from gridledger.node.rest.deps import Context
from gridledger.node.rest.schemas import ErrorOut
from gridledger.node.views.records import ContractOut, ContractsPage

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

MAX_PAGE = 500


@router.get("", responses={422: {"model": ErrorOut}})
def list_contracts(
    context: Context,
    offset: Annotated[int, Query(ge=0, lt=UINT64_LIMIT)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ContractsPage:
    """Import-cap contracts with their terms and status as on-chain, by id."""
    return context.audit.contracts(offset, limit)


@router.get("/{contract_id}", responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}})
def get_contract(
    contract_id: Annotated[
        int, Path(ge=0, lt=UINT256_LIMIT, description="import-cap id or delivery id")
    ],
    context: Context,
) -> ContractOut:
    """One contract (import cap or market delivery obligation): terms and status."""
    return context.audit.contract(contract_id)
