"""POST /v1/consents (the prosumer's key): the node's prosumer signs its EIP-712 consent to
import-cap terms, for the operator to relay to ImportCap.createContract; GET /v1/node,
GET /v1/balances/{address} and GET /v1/accounts/{address}/orders (anyone): the node's
accounts, an account's money and its recent orders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from web3 import Web3

from gridledger.node.rest.deps import Authorized, Context, KeyFirstRoute
from gridledger.node.rest.role_schemas import CapTerms, ConsentOut
from gridledger.node.rest.schemas import ADDRESS_PATTERN, ErrorOut
from gridledger.node.views.records import OrderOut

router = APIRouter(prefix="/v1", tags=["prosumer"], route_class=KeyFirstRoute)


@router.post(
    "/consents",
    dependencies=[Authorized],
    responses={s: {"model": ErrorOut} for s in (401, 403, 422, 503)},
)
def consent(body: CapTerms, context: Context) -> ConsentOut:
    """Sign the node's prosumer's consent to `body` (its importer must be that account)."""
    digest, signature = context.roles.consent(body.terms())
    return ConsentOut(importer=body.importer, digest=digest, consent=signature)


@router.get("/node")
def node_accounts(context: Context) -> dict[str, Any]:
    """The node's own accounts by role, and whether it runs the operator service."""
    accounts = context.roles.chain.service.accounts
    return {
        "accounts": {r: accounts[r].address for r in ("prosumer", "operator", "regulator")},
        "operator_service": context.roles.operator_service is not None,
    }


@router.get("/balances/{address}", responses={422: {"model": ErrorOut}})
def balance(
    address: Annotated[str, Path(pattern=ADDRESS_PATTERN, description="0x address")],
    context: Context,
) -> dict[str, Any]:
    """`address`'s settlement tokens [units], what the Market credited it and it may withdraw
    [units], and whether it is an admitted, active participant."""
    chain = context.roles.chain
    account = Web3.to_checksum_address(address)
    claimable = int(chain.call(chain.contract("Market").functions.claimableOf(account)))
    return {
        "address": account,
        "token_units": int(chain.call(chain.contract("GridToken").functions.balanceOf(account))),
        "claimable_units": claimable,
        "active": bool(chain.call(chain.contract("Registry").functions.isActive(account))),
    }


@router.get("/accounts/{address}/orders", responses={422: {"model": ErrorOut}})
def account_orders(
    address: Annotated[str, Path(pattern=ADDRESS_PATTERN, description="0x address")],
    context: Context,
    limit: Annotated[int, Query(ge=1, le=200, description="most recent orders")] = 20,
) -> list[OrderOut]:
    """`address`'s most recent orders (oldest first), with fills and settlement."""
    return context.market.orders_of(address, limit)
