"""GET /v1/layers."""

from __future__ import annotations

from fastapi import APIRouter

from gridledger.node.rest.deps import Context
from gridledger.node.views.records import LayersOut

router = APIRouter(prefix="/v1", tags=["layers"])


@router.get("/layers")
def get_layers(context: Context) -> LayersOut:
    """The seven layers (L1 user ... L7 regulation): modules and live state."""
    return context.layers.layers()
