"""The node's REST API under /v1 (FastAPI): orders, market intervals, contracts, violations,
readings, trust and the seven-layer table, and the operator's and the regulator's endpoints.
Writes need the API key of their role; every error goes through node.rest.errors. See
docs/rest.md."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI

from gridledger.node import dashboard
from gridledger.node.agents.auto_bid import AutoBidder
from gridledger.node.keys.api_key import load_or_create_api_keys
from gridledger.node.meters.intake import ReadingIntake
from gridledger.node.meters.queue_store import QueueStore
from gridledger.node.meters.relay import MeterRelay
from gridledger.node.operator.service import OperatorService
from gridledger.node.regulator.desk import RegulatorDesk
from gridledger.node.rest import openapi
from gridledger.node.rest.auth import ApiKeyCheck
from gridledger.node.rest.deps import RestContext
from gridledger.node.rest.errors import install_handlers
from gridledger.node.rest.orders import OrderDesk
from gridledger.node.rest.roles import RoleDesk
from gridledger.node.rest.routes import ROUTERS
from gridledger.node.rest.routes import chain as chain_api
from gridledger.node.rest.routes import dashboard as dashboard_api
from gridledger.node.rest.routes import events as events_api
from gridledger.node.rest.schemas import VALIDATION_RESPONSES
from gridledger.node.service import NodeService
from gridledger.node.views.audit import AuditView
from gridledger.node.views.chain import ChainView
from gridledger.node.views.layers import LayerTable
from gridledger.node.views.market import MarketView

log = logging.getLogger(__name__)


def mount(app: FastAPI, service: NodeService, data_dir: Path | None) -> None:
    """Add the /v1 routers and the error handlers to `app`. The API keys live in `data_dir`
    (api-key, api-key-operator, api-key-regulator; created on first start); without a data
    dir, writes are refused. A node configured with [operator] starts its operator service."""
    chain = ChainView(service)
    desk = OrderDesk(chain)
    market = MarketView(chain)
    api_keys = load_or_create_api_keys(data_dir) if data_dir is not None else None
    operator = None
    if service.config is not None and service.config.operator is not None:
        operator = OperatorService(service, service.config.operator, data_dir).start()
    bidder = None
    if service.config is not None and service.config.auto_bid is not None:
        bidder = AutoBidder(chain, desk.place_limit, service.config.auto_bid).start()
    store = QueueStore(data_dir / "meters" / "queue.sqlite") if data_dir is not None else None
    intake = ReadingIntake(chain, store=store)
    relay = MeterRelay(intake, service.stopping)
    if store is not None:
        service.on_stop.append(store.close)
        _restore_readings(intake, relay)
    audit = AuditView(chain)
    app.state.rest = RestContext(
        market=market,
        audit=audit,
        desk=desk,
        layers=LayerTable(chain, market),
        api_key=ApiKeyCheck(api_keys),
        roles=RoleDesk(chain, RegulatorDesk(chain), operator),
        readings=intake,
        relay=relay,
    )
    install_handlers(app)
    openapi.install(app)
    for router in ROUTERS:
        app.include_router(router, responses=VALIDATION_RESPONSES)
    # The dashboard (docs/dashboard.md): its read endpoints, then the page at / and /static.
    for router in (chain_api.router, events_api.router, dashboard_api.router):
        app.include_router(router, responses=VALIDATION_RESPONSES)
    dashboard.install(app, service, chain, market, audit, bidder)


def _restore_readings(intake: ReadingIntake, relay: MeterRelay) -> None:
    """Take back the readings the node queued before it stopped, and relay them. If the
    store or the chain fails now, the next POST /v1/readings tries again (and answers 503
    until it can)."""
    try:
        intake.restore()
    except Exception as exc:  # the node serves on; the queue waits for the next request
        log.warning("the queued meter readings are not restored yet: %s", exc)
        return
    if intake.queued():
        relay.ensure_started()
