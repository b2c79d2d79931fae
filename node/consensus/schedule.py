"""The authority set in force for each block: AuthoritySet.authoritiesAt(N) read on the state
of N's parent (a change scheduled in a block takes effect after it, so the parent's state
knows it), cached by parent hash; the genesis set when the chain has no AuthoritySet."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from eth.abc import BlockHeaderAPI
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from gridledger.node.ledger.authority_model import decode_authorities
from gridledger.node.ledger.embedded.aura import Aura
from gridledger.node.ledger.embedded.chain import EmbeddedChain

SELECTOR = keccak(text="authoritiesAt(uint256)")[:4]
CACHE_SIZE = 4096


class AuthoritySchedule:
    def __init__(self, chain: EmbeddedChain, genesis: Aura, contract: bytes | None) -> None:
        self.chain = chain
        self.genesis = genesis
        self.contract = contract
        self._cache: OrderedDict[bytes, Aura] = OrderedDict()

    def for_child_of(self, parent: BlockHeaderAPI) -> Aura:
        """The Aura parameters for the block on top of `parent`."""
        if self.contract is None:
            return self.genesis
        key = bytes(parent.hash)
        aura = self._cache.get(key)
        if aura is None:
            number = int(parent.block_number) + 1
            data = SELECTOR + encode(["uint256"], [number])
            members = decode_authorities(self.chain.call_at(parent, self.contract, data))
            aura = dataclasses.replace(self.genesis, authorities=members)
            self._cache[key] = aura
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return aura
