"""The regulator's endpoints (regulator API key, DATA_DIR/api-key-regulator): each changes one
of Regulation's rules with the node's regulator account and answers the rules after it;
GET /v1/regulation (anyone) reads them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from web3.types import TxReceipt

from gridledger.node.rest.deps import Context, KeyFirstRoute, RegulatorAuthorized
from gridledger.node.rest.role_schemas import (
    AdmissionPolicyRequest,
    BandRequest,
    CapBoundsRequest,
    CapFactorsRequest,
    ChargeRequest,
    DeliveryTermsRequest,
    MinTrustRequest,
    RuleChangedOut,
    RulesOut,
    tx_fields,
)
from gridledger.node.rest.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["regulator"], route_class=KeyFirstRoute)

WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (401, 403, 409, 422, 503, 504)
}


def _changed(context: Context, receipt: TxReceipt) -> RuleChangedOut:
    return RuleChangedOut(rules=RulesOut(**context.roles.regulator.rules()), **tx_fields(receipt))


@router.get("/regulation")
def get_regulation(context: Context) -> RulesOut:
    """Regulation's rules: price band and network charge [units/kWh], cap bounds [W], minimum
    trust [wad], admission policy, delivery terms and the highest cap factors."""
    return RulesOut(**context.roles.regulator.rules())


@router.post("/regulator/band", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS)
def set_band(body: BandRequest, context: Context) -> RuleChangedOut:
    """Set the price band [floor, ceiling] every clearing price is clamped to [units/kWh]."""
    return _changed(
        context, context.roles.regulator.set_band(body.floor_per_kwh, body.ceiling_per_kwh)
    )


@router.post("/regulator/charge", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS)
def set_charge(body: ChargeRequest, context: Context) -> RuleChangedOut:
    """Set the network charge deducted from sellers' proceeds [units/kWh] (at most the floor)."""
    return _changed(context, context.roles.regulator.set_charge(body.charge_per_kwh))


@router.post("/regulator/cap-bounds", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS)
def set_cap_bounds(body: CapBoundsRequest, context: Context) -> RuleChangedOut:
    """Set the bounds [W] an operator may give import caps."""
    return _changed(context, context.roles.regulator.set_cap_bounds(body.min_cap_w, body.max_cap_w))


@router.post("/regulator/min-trust", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS)
def set_min_trust(body: MinTrustRequest, context: Context) -> RuleChangedOut:
    """Set the trust a participant needs to place orders [wad, at most 1e18]."""
    return _changed(context, context.roles.regulator.set_min_trust(body.min_trust_wad))


@router.post(
    "/regulator/admission-policy", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS
)
def set_admission_policy(body: AdmissionPolicyRequest, context: Context) -> RuleChangedOut:
    """Set who may admit participants (operator-or-regulator, regulator-only, closed)."""
    return _changed(context, context.roles.regulator.set_admission_policy(body.policy))


@router.post(
    "/regulator/delivery-terms", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS
)
def set_delivery_terms(body: DeliveryTermsRequest, context: Context) -> RuleChangedOut:
    """Set the penalty [units/kWh] and beta [wad/kWh] of future market delivery obligations."""
    return _changed(
        context,
        context.roles.regulator.set_delivery_terms(body.penalty_per_kwh, body.beta_wad_per_kwh),
    )


@router.post("/regulator/cap-factors", dependencies=[RegulatorAuthorized], responses=WRITE_ERRORS)
def set_cap_factors(body: CapFactorsRequest, context: Context) -> RuleChangedOut:
    """Set the highest lambda [units/kWh] and beta [wad/kWh] an import cap may carry."""
    return _changed(
        context,
        context.roles.regulator.set_cap_factors(
            body.max_penalty_per_kwh, body.max_beta_wad_per_kwh
        ),
    )
