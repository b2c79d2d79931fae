"""GET /v1/chain: head, finalized height, the latest blocks with their times, peers with the
heads they announced, pending transactions and rejected blocks; and the block messages of
GET /v1/events. Reads the node's web3 (any ledger) and, on a testnet node, its replica."""

from __future__ import annotations

from typing import Any

from web3.exceptions import Web3RPCError

from gridledger.node.dashboard.records import BlockEvent, BlockOut, ChainOut, PeerOut
from gridledger.node.service import NodeService

RECENT_BLOCKS = 30
"""Blocks listed by GET /v1/chain (their times make the block-time chart)."""


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


class LedgerStatus:
    """The chain panel's reads."""

    def __init__(self, service: NodeService) -> None:
        self.service = service

    def head(self) -> int:
        """The head's number (cheap: the SSE loop asks it every few tens of ms)."""
        chain = self.service.chain
        if chain is not None:
            return int(chain.head_header().block_number)
        return int(self.service.w3.eth.block_number)

    def finalized(self) -> int | None:
        chain = self.service.chain
        if chain is not None:
            return int(chain.finalized_number())
        try:
            return int(self.service.w3.eth.get_block("finalized")["number"])
        except (Web3RPCError, ValueError):
            return None  # a ledger without the 'finalized' tag

    def block_event(self, number: int) -> BlockEvent:
        block = self.service.w3.eth.get_block(number)
        return BlockEvent(
            number=int(block["number"]),
            hash=_hex(block["hash"]),
            timestamp_ts=int(block["timestamp"]),
            tx_count=len(block["transactions"]),
            finalized=self.finalized(),
        )

    def chain(self) -> ChainOut:
        w3 = self.service.w3
        head = self.head()
        first = max(0, head - RECENT_BLOCKS)  # one before the listed ones, for the interval
        blocks = [w3.eth.get_block(n) for n in range(first, head + 1)]
        listed = [
            BlockOut(
                number=int(b["number"]),
                hash=_hex(b["hash"]),
                timestamp_ts=int(b["timestamp"]),
                tx_count=len(b["transactions"]),
                interval_s=int(b["timestamp"]) - int(parent["timestamp"]) if parent else None,
            )
            for parent, b in zip([None, *blocks[:-1]], blocks, strict=True)
        ]
        if first > 0:
            listed = listed[1:]  # fetched only as the parent of the first listed block
        peers: list[PeerOut] = []
        rejected: dict[str, int] = {}
        replica = self.service.replica
        if replica is not None:
            consensus = replica.consensus
            alive = set(replica.transport.peers_alive())
            known = dict(consensus.peers)
            for name in sorted(set(known) | alive | set(replica.transport.peers)):
                status = known.get(name)
                peers.append(
                    PeerOut(
                        name=name,
                        head=status.head_number if status else None,
                        finalized=status.finalized_number if status else None,
                        alive=name in alive,
                    )
                )
            rejected = dict(consensus.rejected)
        pool = self.service.chain.pool if self.service.chain is not None else None
        return ChainOut(
            engine="embedded" if self.service.chain is not None else "json-rpc",
            chain_id=int(w3.eth.chain_id),
            head=head,
            finalized=self.finalized(),
            pending_transactions=len(pool) if pool is not None else None,
            peers=peers,
            rejected_blocks=rejected,
            blocks=listed,
        )
