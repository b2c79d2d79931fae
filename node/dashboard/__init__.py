"""The dashboard every node serves at `/` (docs/dashboard.md): a static page bundled from
web/ into static/ at build time (committed, shipped in the wheel), and the read model behind
its panels (GET /v1/chain, /v1/events, /v1/dashboard/*, /v1/audit/report)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from gridledger.node.agents.auto_bid import AutoBidder
from gridledger.node.dashboard.audit_report import AuditRunner
from gridledger.node.dashboard.ledger import LedgerStatus
from gridledger.node.dashboard.live import BlockFeed
from gridledger.node.dashboard.panels import Panels
from gridledger.node.service import NodeService
from gridledger.node.views.audit import AuditView
from gridledger.node.views.chain import ChainView
from gridledger.node.views.market import MarketView

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"


@dataclass(frozen=True, slots=True)
class DashboardContext:
    """The dashboard's read services (one per app, in app.state.dashboard)."""

    ledger: LedgerStatus
    feed: BlockFeed
    panels: Panels
    audit: AuditRunner


def _context(request: Request) -> DashboardContext:
    context: DashboardContext = request.app.state.dashboard
    return context


Dashboard = Annotated[DashboardContext, Depends(_context)]


def install(
    app: FastAPI,
    service: NodeService,
    chain: ChainView,
    market: MarketView,
    audit: AuditView,
    bidder: AutoBidder | None = None,
) -> None:
    """Serve the page at `/` and its files under /static; keep the panels' services."""
    ledger = LedgerStatus(service)
    app.state.dashboard = DashboardContext(
        ledger=ledger,
        feed=BlockFeed(ledger),
        panels=Panels(chain, market, audit, bidder),
        audit=AuditRunner(chain),
    )

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(
            INDEX_HTML, media_type="text/html", headers={"Cache-Control": "no-cache"}
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
