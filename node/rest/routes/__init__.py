"""The /v1 routers, one per resource."""

from __future__ import annotations

from fastapi import APIRouter

from gridledger.node.rest.routes import audit, contracts, layers, market, orders, readings

ROUTERS: tuple[APIRouter, ...] = (
    orders.router,
    market.router,
    contracts.router,
    audit.router,
    layers.router,
    readings.router,
)
