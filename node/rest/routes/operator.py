"""The operator's endpoints (operator API key, DATA_DIR/api-key-operator): admit a participant
with its meter, fund it from the faucet, create an import cap with the importer's consent,
clear an interval now; GET /v1/operator (anyone) describes the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gridledger.node.rest.deps import Context, KeyFirstRoute, OperatorAuthorized
from gridledger.node.rest.errors import NotAnOperatorNodeError
from gridledger.node.rest.role_schemas import (
    AdmitRequest,
    AdmittedOut,
    CapOut,
    CapRequest,
    ClearedOut,
    ClearRequest,
    FundedOut,
    FundRequest,
    tx_fields,
)
from gridledger.node.rest.schemas import ErrorOut

router = APIRouter(prefix="/v1/operator", tags=["operator"], route_class=KeyFirstRoute)

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (401, 403, 404, 409, 422, 503, 504)
}


@router.get("")
def get_operator(context: Context) -> dict[str, Any]:
    """The operator service: its account, whether it clears by itself, the faucet, the next
    interval it will handle and the members it admits at start; `running` false (and why) on
    a node that runs no operator service."""
    try:
        op = context.roles.operator()
    except NotAnOperatorNodeError as exc:
        return {"running": False, "message": exc.message}
    return {
        "running": True,
        "address": op.address,
        "auto_clear": op.config.auto_clear,
        "faucet_on": op.faucet_on(),
        "faucet_limit_units": op.config.faucet_limit_units,
        "next_interval": op.cursor,
        "setup_done": op.setup_done,
        "members": [{"participant": p, "meter": m} for p, m in op.config.members],
    }


@router.post(
    "/admissions", status_code=201, dependencies=[OperatorAuthorized], responses=WRITE_ERRORS
)
def admit(body: AdmitRequest, context: Context) -> AdmittedOut:
    """Admit `participant` with `meter` under Regulation's admission policy."""
    receipt = context.roles.operator().admit(body.participant, body.meter)
    return AdmittedOut(participant=body.participant, meter=body.meter, **tx_fields(receipt))


@router.post("/funds", status_code=201, dependencies=[OperatorAuthorized], responses=WRITE_ERRORS)
def fund(body: FundRequest, context: Context) -> FundedOut:
    """Mint `amount_units` to an admitted participant, within the faucet's per-account limit
    (a testnet only: the faucet is off on an external network)."""
    op = context.roles.operator()
    receipt = op.fund(body.account, body.amount_units)
    return FundedOut(
        account=body.account,
        amount_units=body.amount_units,
        faucet_total_units=op.minted_units(body.account),
        faucet_limit_units=op.config.faucet_limit_units,
        **tx_fields(receipt),
    )


@router.post("/caps", status_code=201, dependencies=[OperatorAuthorized], responses=WRITE_ERRORS)
def create_cap(body: CapRequest, context: Context) -> CapOut:
    """Create an import-cap contract on the importer's consent (its node's POST
    /v1/consents); the bounds within Regulation's cap bounds, lambda and beta within its
    factors, or the contract's error comes back."""
    terms = body.terms.terms()
    contract_id, receipt = context.roles.operator().create_cap(
        terms.as_abi(), bytes.fromhex(body.consent[2:])
    )
    return CapOut(contract_id=contract_id, importer=terms.importer, **tx_fields(receipt))


@router.post("/clearings", dependencies=[OperatorAuthorized], responses=WRITE_ERRORS)
def clear(body: ClearRequest, context: Context) -> ClearedOut:
    """Clear `interval` now (its gate closed, its delivery not started) and settle its
    orders; MarketUnexpectedPhase (409) if its gate is open or it is cleared already."""
    op = context.roles.operator()
    cleared = op.clear_now(body.interval)
    settled = op.settle(body.interval)
    return ClearedOut(settled=settled, **cleared)
