"""GET /v1/chain: the ledger as this node sees it (the dashboard's chain panel)."""

from __future__ import annotations

from fastapi import APIRouter

from gridledger.node.dashboard import Dashboard
from gridledger.node.dashboard.records import ChainOut

router = APIRouter(prefix="/v1", tags=["chain"])


@router.get("/chain")
def get_chain(dashboard: Dashboard) -> ChainOut:
    """Head, finalized height, the latest blocks with their times, peers and the heads they
    announced, pending transactions and blocks rejected per peer."""
    return dashboard.ledger.chain()
