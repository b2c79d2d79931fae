"""GET /v1/finality (this node's finality: final block, last vote, equivocations of votes and
of seals seen) and
GET /v1/finality/justifications/{number} (the authorities' votes that prove a block final,
with the set in force, for a light client: node.ledger.votes.verify_justification)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from gridledger.contracts.units import UINT64_LIMIT
from gridledger.node.ledger.votes import justification_json
from gridledger.node.rest.errors import NotFinalError
from gridledger.node.rest.routes.admin import testnet_replica
from gridledger.node.rest.schemas import ErrorOut

router = APIRouter(prefix="/v1/finality", tags=["finality"])


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


@router.get("", responses={409: {"model": ErrorOut}})
def finality(request: Request) -> dict[str, Any]:
    """The final block, this node's last vote and the equivocations it has seen (evidence):
    two votes at one height, and two seals at one step (each seal over its bare header hash,
    as AuthoritySet.reportSealEquivocation takes them)."""
    replica = testnet_replica(request)
    gadget = replica.consensus.finality
    with replica.chain.lock:
        number, block_hash = replica.chain.justified
        last = gadget.last_vote
        evidence = list(gadget.evidence)
        seals = list(replica.consensus.seal_equivocations)
    return {
        "finalized": number,
        "finalized_hash": _hex(block_hash),
        "last_vote": None
        if last is None
        else {"height": last.height, "hash": _hex(last.block_hash)},
        "equivocations": [
            {
                "authority": _hex(e.voter),
                "height": e.first.height,
                "hashes": [_hex(e.first.block_hash), _hex(e.second.block_hash)],
                "signatures": [_hex(e.first.signature), _hex(e.second.signature)],
            }
            for e in evidence
        ],
        "seal_equivocations": [
            {
                "authority": _hex(s.sealer),
                "step": s.step,
                "bare_hashes": [_hex(h) for h in s.bare_hashes],
                "signatures": [_hex(sig) for sig in s.signatures],
                "blocks": [_hex(h) for h in s.block_hashes],
            }
            for s in seals
        ],
    }


@router.get(
    "/justifications/{number}", responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}}
)
def justification(
    number: Annotated[int, Path(ge=1, lt=UINT64_LIMIT, description="block number")],
    request: Request,
) -> dict[str, Any]:
    """The votes that prove block `number` final (its own justification or the lowest one
    above it, whose ancestors are final), with the authority set in force for that block."""
    replica = testnet_replica(request)
    chain = replica.chain
    with chain.lock:
        stored = chain.justification_covering(number)
        if stored is None:
            raise NotFinalError(f"block {number} is not final here (final: {chain.justified[0]})")
        block = (number, bytes(chain.header_by_number(number).hash))
        authorities = replica.consensus.finality.authorities_for(stored[0])
    domain = chain.vote_domain
    out = justification_json(stored[2], chain.genesis.chain_id, domain, block)
    out["authorities"] = [_hex(a) for a in authorities]
    out["chainId"] = chain.genesis.chain_id
    out["authoritySet"] = _hex(domain)
    return out
