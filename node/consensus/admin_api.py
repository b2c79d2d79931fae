"""POST /v1/admin/links (API key): drop or restore a testnet node's P2P links, to partition
it from chosen peers (fault tests, drills)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from node.rest.deps import Authorized
from node.rest.errors import RestError
from node.rest.schemas import ErrorOut

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class NotATestnetNodeError(RestError):
    """The node runs no consensus (a lone node or an external ledger)."""

    status = 409
    error = "NotATestnetNode"


class UnknownPeerError(RestError):
    status = 422
    error = "UnknownPeer"


class LinksRequest(BaseModel):
    """Drop the links to `drop` (peer names), or restore every dropped link."""

    model_config = ConfigDict(extra="forbid")
    drop: list[str] = Field(default_factory=list, max_length=64)
    restore: bool = False


@router.post(
    "/links",
    dependencies=[Authorized],
    responses={s: {"model": ErrorOut} for s in (401, 409, 422)},
)
def links(body: LinksRequest, request: Request) -> dict[str, Any]:
    """Partition this node from `drop`, or heal with `restore`; answers the dropped peers."""
    replica = request.app.state.service.replica
    if replica is None:
        raise NotATestnetNodeError("this node has no P2P links (not a testnet node)")
    transport = replica.transport
    unknown = sorted(set(body.drop) - set(transport.peers))
    if unknown:
        raise UnknownPeerError(f"unknown peers {unknown}; peers are {sorted(transport.peers)}")
    if body.restore:
        transport.restore_links()
        replica.dropped_links.clear()
    if body.drop:
        transport.drop_links(body.drop)
        replica.dropped_links.update(body.drop)
    return {"dropped": sorted(replica.dropped_links), "peers": transport.peers_alive()}
