"""Testnet node administration (API key): POST /v1/admin/links drops or restores P2P links
(partitions for fault tests and drills); POST /v1/admin/clock moves a simulation-clock node's
time to the simulation's tick, which seals the blocks of the steps reached."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from gridledger.node.consensus.clock import SimClock
from gridledger.node.consensus.replica import Replica
from gridledger.node.rest.deps import Authorized, KeyFirstRoute
from gridledger.node.rest.errors import NotASimClockError, NotATestnetNodeError, UnknownPeerError
from gridledger.node.rest.schemas import ErrorOut

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=KeyFirstRoute)


class LinksRequest(BaseModel):
    """Drop the links to `drop` (peer names), or restore every dropped link."""

    model_config = ConfigDict(extra="forbid")
    drop: list[str] = Field(default_factory=list, max_length=64)
    restore: StrictBool = False


def testnet_replica(request: Request) -> Replica:
    """This node's replica (consensus and P2P); NotATestnetNodeError on a node without one."""
    replica: Replica | None = request.app.state.service.replica
    if replica is None:
        raise NotATestnetNodeError("this node runs no consensus or P2P (not a testnet node)")
    return replica


class ClockRequest(BaseModel):
    """The simulation's time [unix s]; the clock never moves backwards."""

    model_config = ConfigDict(extra="forbid")
    now_ts: int = Field(ge=0, lt=2**63)


@router.post(
    "/clock",
    dependencies=[Authorized],
    responses={s: {"model": ErrorOut} for s in (401, 409, 422)},
)
def clock(body: ClockRequest, request: Request) -> dict[str, Any]:
    """Advance the simulation clock to `now_ts`; answers the clock and the current step."""
    replica = testnet_replica(request)
    sim = replica.clock
    if not isinstance(sim, SimClock):
        raise NotASimClockError("this node's consensus runs on the wall clock (node.clock)")
    sim.advance_to(body.now_ts)
    now_ts = sim.now_ts()
    return {"now_ts": now_ts, "step": replica.consensus.aura.step_at(int(now_ts))}


@router.post(
    "/links",
    dependencies=[Authorized],
    responses={s: {"model": ErrorOut} for s in (401, 409, 422)},
)
def links(body: LinksRequest, request: Request) -> dict[str, Any]:
    """Partition this node from `drop`, or heal with `restore`; answers the dropped peers."""
    replica = testnet_replica(request)
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
