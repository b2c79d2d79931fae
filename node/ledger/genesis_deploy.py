"""Recording the contract deployment as genesis deploy transactions.

`record_deployment` runs `deploy_stack` on a throw-away embedded chain with the same pre-funded
accounts, signed by the admin key, and keeps the raw transactions in the order sent. Fees are
legacy gas prices of twice the genesis base fee, so every transaction is valid in the genesis
context whatever the throw-away chain's base fee did. Replicas execute them into their genesis
state (genesis_build.py) and so start with the same contracts at the same addresses.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import RPCEndpoint, RPCResponse, TxParams, Wei

from gridledger.node.ledger.deploy import MarketTiming, RegulationRules, Roles, deploy_stack
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.provider import EmbeddedProvider
from gridledger.node.ledger.embedded.rpc import JsonRpc


class _RecordingProvider(EmbeddedProvider):
    """Keeps every raw transaction sent and mines it at once (one per block)."""

    def __init__(self, rpc: JsonRpc, chain: EmbeddedChain) -> None:
        super().__init__(rpc)
        self.chain = chain
        self.raw_txs: list[bytes] = []

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        response = super().make_request(method, params)
        if method == "eth_sendRawTransaction" and "result" in response:
            raw = params[0]
            self.raw_txs.append(bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw))
            self.chain.produce_block()
        return response


def _fixed_fee(fee_wei: Wei) -> Callable[[Web3, TxParams], Wei]:
    def strategy(_w3: Web3, _tx: TxParams) -> Wei:
        return fee_wei

    return strategy


def record_deployment(
    genesis: GenesisConfig,
    admin: LocalAccount,
    roles: Roles,
    rules: RegulationRules,
    timing: MarketTiming,
) -> tuple[tuple[bytes, ...], dict[str, str]]:
    """The raw deploy transactions of the contract stack (with AuthoritySet holding the
    genesis authorities, if any) and the addresses they create."""
    bare = dataclasses.replace(genesis, authorities=(), deploy_txs=())
    fee_wei = Wei(2 * genesis.base_fee_wei)
    with tempfile.TemporaryDirectory(prefix="gridledger-genesis-") as tmp:
        chain = EmbeddedChain(Path(tmp), bare)
        try:
            provider = _RecordingProvider(JsonRpc(chain), chain)
            w3 = Web3(provider)
            w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(admin), layer=0)
            w3.eth.set_gas_price_strategy(_fixed_fee(fee_wei))
            deployment = deploy_stack(w3, roles, rules, timing, genesis.authorities)
        finally:
            chain.close()
    return tuple(provider.raw_txs), dict(deployment.addresses)
