"""The /v1 routers, one per resource."""

from __future__ import annotations

from fastapi import APIRouter

from gridledger.node.rest.routes import (
    audit,
    consents,
    contracts,
    layers,
    market,
    operator,
    orders,
    readings,
    regulator,
)

ROUTERS: tuple[APIRouter, ...] = (
    orders.router,
    market.router,
    contracts.router,
    audit.router,
    layers.router,
    operator.router,
    regulator.router,
    consents.router,
    readings.router,
)
