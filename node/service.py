"""A running node: the embedded chain, its block producer, web3 access and the deployment."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from node.config import NodeConfig
from node.keys import load_or_create
from node.ledger.deploy import Deployment, MarketTiming, RegulationRules, Roles, deploy_stack
from node.ledger.embedded.chain import EmbeddedChain
from node.ledger.embedded.genesis import ETHER_WEI, GenesisConfig
from node.ledger.embedded.provider import BlockProducer, EmbeddedProvider
from node.ledger.embedded.rpc import JsonRpc

log = logging.getLogger(__name__)


@dataclass
class NodeService:
    chain: EmbeddedChain
    rpc: JsonRpc
    producer: BlockProducer
    w3: Web3
    deployment: Deployment | None

    def stop(self) -> None:
        self.producer.stop()
        self.chain.close()


def start(data_dir: Path, config: NodeConfig) -> NodeService:
    """Open (or create) the chain in `data_dir`, start producing blocks, deploy if new."""
    accounts = load_or_create(data_dir / "keystore")
    genesis = _with_role_funds(config.genesis, accounts)
    chain = EmbeddedChain(data_dir / "chain", genesis)
    rpc = JsonRpc(chain)
    w3 = Web3(EmbeddedProvider(rpc))
    w3.middleware_onion.inject(
        SignAndSendRawMiddlewareBuilder.build(list(accounts.values())), layer=0
    )
    producer = BlockProducer(chain, min_period_s=config.block_period_s)
    producer.start()
    deployment = _deployment(data_dir, config, w3, accounts)
    return NodeService(chain, rpc, producer, w3, deployment)


def _with_role_funds(genesis: GenesisConfig, accounts: dict[str, LocalAccount]) -> GenesisConfig:
    prefund = dict(genesis.prefund)
    for account in accounts.values():
        prefund.setdefault(account.address, 1_000_000 * ETHER_WEI)
    return GenesisConfig(
        genesis.chain_id, genesis.gas_limit, genesis.timestamp_ts, genesis.base_fee_wei, prefund
    )


def _deployment(
    data_dir: Path, config: NodeConfig, w3: Web3, accounts: dict[str, LocalAccount]
) -> Deployment | None:
    path = data_dir / "contracts.json"
    if path.exists():
        return Deployment(json.loads(path.read_text(encoding="utf-8")))
    if not config.deploy_contracts:
        return None
    roles = Roles(*(accounts[r].address for r in ("admin", "operator", "regulator", "treasury")))
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    deployment = deploy_stack(
        w3, roles, RegulationRules(), MarketTiming(epoch_start_ts=head_ts - head_ts % 86_400)
    )
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(deployment.addresses, indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash leaves either no file or the whole file
    log.info("deployed the contracts: %s", deployment.addresses)
    return deployment
