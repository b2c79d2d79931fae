"""GET /v1/dashboard/{market,caps,kpis,bills,forecast} (the dashboard's panels, read from
the chain) and GET /v1/audit/report (`gridledger audit` run by the node)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gridledger.contracts.units import UINT64_LIMIT
from gridledger.node.audit.locate import AuditInputError
from gridledger.node.dashboard import Dashboard
from gridledger.node.dashboard.records import (
    AuditReportOut,
    BillsOut,
    CapsPanelOut,
    ForecastOut,
    KpisOut,
    MarketPanelOut,
)
from gridledger.node.rest.errors import AuditCannotRunError
from gridledger.node.rest.period import FromTs, ToTs, check_period
from gridledger.node.rest.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["dashboard"])


@router.get("/dashboard/market")
def get_market_panel(dashboard: Dashboard) -> MarketPanelOut:
    """Open and last cleared intervals, price history, regulated band, the node's orders."""
    return dashboard.panels.market_panel()


@router.get("/dashboard/caps")
def get_caps_panel(dashboard: Dashboard) -> CapsPanelOut:
    """Import caps with status, the importer's trust and the PCC series in the window."""
    return dashboard.panels.caps_panel()


@router.get("/dashboard/kpis", responses={422: {"model": ErrorOut}})
def get_kpis(
    dashboard: Dashboard,
    from_ts: FromTs = None,
    to_ts: ToTs = None,
) -> KpisOut:
    """Self-sufficiency, self-consumption, local and grid energy of the metered community
    (default: the day before the head)."""
    check_period(from_ts, to_ts)
    return dashboard.panels.kpis(from_ts, to_ts)


@router.get("/dashboard/bills")
def get_bills(dashboard: Dashboard) -> BillsOut:
    """What the market cost or paid each participant over the latest cleared intervals (the
    node's prosumer first): energy bought and sold, network charges, escrow refunded,
    proceeds held, delivery and import-cap penalties, in base units."""
    return dashboard.panels.bills()


@router.get("/dashboard/forecast")
def get_forecast(dashboard: Dashboard) -> ForecastOut:
    """The auto-bidder's forecast net import against the metered one, per past interval it
    ordered for (`forecasting` false, and why, on a node that does not forecast)."""
    return dashboard.panels.forecast()


@router.get("/audit/report", responses={422: {"model": ErrorOut}})
def get_audit_report(
    dashboard: Dashboard,
    block: Annotated[
        int | None, Query(ge=0, lt=UINT64_LIMIT, description="audit at this block (head)")
    ] = None,
) -> AuditReportOut:
    """Every contract recomputed from the readings on chain (as `gridledger audit --json`)."""
    try:
        return dashboard.audit.report(block)
    except AuditInputError as exc:
        raise AuditCannotRunError(str(exc).replace("--block", "block")) from exc
