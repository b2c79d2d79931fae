"""A running node: its ledger (embedded chain or an external JSON-RPC network), web3 access
with the node's keys, and the contract deployment."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware, SignAndSendRawMiddlewareBuilder

from gridledger.node.config import NodeConfig
from gridledger.node.consensus.replica import Replica, open_replica
from gridledger.node.errors import LedgerError
from gridledger.node.keys import load_or_create
from gridledger.node.ledger.deploy import (
    Deployment,
    MarketTiming,
    RegulationRules,
    Roles,
    deploy_stack,
)
from gridledger.node.ledger.embedded import budget
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import ROLE_FUND_WEI, GenesisConfig
from gridledger.node.ledger.embedded.provider import BlockProducer, EmbeddedProvider
from gridledger.node.ledger.embedded.rpc import JsonRpc
from gridledger.node.ledger.http import rpc_web3

log = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.0005


@dataclass
class NodeService:
    """What the HTTP layer serves from. `handle_rpc` answers /rpc bodies."""

    w3: Web3
    accounts: dict[str, LocalAccount]
    handle_rpc: Callable[[bytes], bytes | None]
    chain: EmbeddedChain | None = None
    producer: BlockProducer | None = None
    deployment: Deployment | None = None
    replica: Replica | None = None
    state: str = "starting"
    config: NodeConfig | None = None
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def status(self) -> dict[str, Any]:
        try:
            head = int(self.w3.eth.block_number)
        except Exception as exc:  # the external ledger may be down; say so, don't crash
            return {"status": "ledger-unreachable", "error": str(exc)[:200]}
        out: dict[str, Any] = {"status": self.state, "head": head}
        if self.chain is not None:
            out["pending"] = len(self.chain.pool)
        if self.replica is not None:
            out.update(self.replica.status())
        if self.state == "waiting-for-funds":
            out["fund"] = self.accounts["admin"].address
        return out

    @property
    def stopping(self) -> threading.Event:
        """Set once the node stops (its background threads end with it)."""
        return self._stop

    def stop(self) -> None:
        self._stop.set()
        for hook in self.on_stop:  # services started on top of this one (the operator's)
            hook()
        if self.producer is not None:
            self.producer.stop()
        if self.replica is not None:
            self.replica.stop()
        if self.chain is not None:
            self.chain.close()


def start(data_dir: Path, config: NodeConfig, rpc_url: str | None = None) -> NodeService:
    """Open the ledger (embedded in `data_dir`, or the network at `rpc_url`) and deploy the
    contracts if this node has none yet."""
    # A thread running EVM code (an eth_call up to its timeout) hands the interpreter lock
    # to a waiting request thread within this many seconds, not Python's default 5 ms: each
    # read waits for the lock after every SQLite query (BENCHMARKS.md, "Load").
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    accounts = load_or_create(data_dir / "keystore")
    if config.genesis_file is not None:
        service = _testnet_node(data_dir, config, accounts)
    elif rpc_url is None:
        service = _embedded(data_dir, config, accounts)
    else:
        service = _external(rpc_url, accounts)
    service.config = config
    service.w3.middleware_onion.inject(
        SignAndSendRawMiddlewareBuilder.build(list(accounts.values())), layer=0
    )
    known = _load_deployment(data_dir, int(service.w3.eth.chain_id))
    if service.replica is not None:  # the contracts are in the shared genesis
        service.deployment = Deployment(dict(service.replica.contracts))  # type: ignore[arg-type]
        service.state = "ok"
    elif known is not None:
        service.deployment, service.state = known, "ok"
    elif not config.deploy_contracts:
        service.state = "ok"
    elif rpc_url is None:
        service.deployment = _deploy(data_dir, service.w3, accounts)
        service.state = "ok"
    else:
        threading.Thread(
            target=_deploy_when_funded, args=(data_dir, service), daemon=True, name="deployer"
        ).start()
    return service


def within_request_budget(rpc: JsonRpc) -> Callable[[bytes], bytes | None]:
    """rpc.handle_bytes with the EVM execution of one HTTP request (all the calls of a
    batch) bounded by rpc.request_budget_s."""

    def handle(body: bytes) -> bytes | None:
        with budget.limit(rpc.limits.request_budget_s, "rpc.request_budget_s"):
            return rpc.handle_bytes(body)

    return handle


def _embedded(data_dir: Path, config: NodeConfig, accounts: dict[str, LocalAccount]) -> NodeService:
    genesis = _with_role_funds(config.genesis, accounts)
    chain = EmbeddedChain(data_dir / "chain", genesis, pool_limits=config.pool)
    rpc = JsonRpc(chain, config.calls)
    producer = BlockProducer(
        chain, min_period_s=config.block_period_s, build_budget_s=config.build_budget_s
    )
    producer.start()
    return NodeService(
        w3=Web3(EmbeddedProvider(rpc)),
        accounts=accounts,
        handle_rpc=within_request_budget(rpc),
        chain=chain,
        producer=producer,
    )


def _testnet_node(
    data_dir: Path, config: NodeConfig, accounts: dict[str, LocalAccount]
) -> NodeService:
    replica = open_replica(data_dir, config)
    rpc = JsonRpc(replica.chain, config.calls)
    replica.start()
    w3 = Web3(EmbeddedProvider(rpc))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)  # the 73-byte Aura seal
    return NodeService(
        w3=w3,
        accounts=accounts,
        handle_rpc=within_request_budget(rpc),
        chain=replica.chain,
        replica=replica,
    )


def _external(rpc_url: str, accounts: dict[str, LocalAccount]) -> NodeService:
    def proxy(body: bytes) -> bytes | None:
        reply = requests.post(
            rpc_url, data=body, headers={"Content-Type": "application/json"}, timeout=60
        )
        return reply.content or None

    w3 = rpc_web3(rpc_url)  # PoA networks (Energy Web Chain's Aura) have long extraData
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        raise LedgerError(f"the ledger at {rpc_url} does not answer JSON-RPC: {exc}") from exc
    log.info("using the ledger at %s (chain id %d)", rpc_url, chain_id)
    return NodeService(w3=w3, accounts=accounts, handle_rpc=proxy)


def _with_role_funds(genesis: GenesisConfig, accounts: dict[str, LocalAccount]) -> GenesisConfig:
    prefund = dict(genesis.prefund)
    for account in accounts.values():
        prefund.setdefault(account.address, ROLE_FUND_WEI)
    return dataclasses.replace(genesis, prefund=prefund)


def _deployment_path(data_dir: Path) -> Path:
    return data_dir / "contracts.json"


def _load_deployment(data_dir: Path, chain_id: int) -> Deployment | None:
    path = _deployment_path(data_dir)
    if not path.exists():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("chainId") != chain_id:
        raise LedgerError(
            f"{path} records contracts on chain {record.get('chainId')}, the ledger is {chain_id}"
        )
    return Deployment(record["addresses"])


def _deploy(data_dir: Path, w3: Web3, accounts: dict[str, LocalAccount]) -> Deployment:
    roles = Roles(*(accounts[r].address for r in ("admin", "operator", "regulator", "treasury")))
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    timing = MarketTiming(epoch_start_ts=head_ts - head_ts % 86_400)
    deployment = deploy_stack(w3, roles, RegulationRules(), timing)
    record = {"chainId": int(w3.eth.chain_id), "addresses": deployment.addresses}
    tmp = _deployment_path(data_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    tmp.replace(_deployment_path(data_dir))  # atomic: a crash leaves no file or the whole file
    log.info("deployed the contracts: %s", deployment.addresses)
    return deployment


def _deploy_when_funded(data_dir: Path, service: NodeService) -> None:
    admin = service.accounts["admin"].address
    service.state = "waiting-for-funds"
    while not service._stop.is_set():
        try:
            if service.w3.eth.get_balance(admin) > 0:
                break
        except Exception:
            log.warning("the ledger does not answer; retrying")
        log.info("waiting for %s to be funded on the ledger", admin)
        time.sleep(1.0)
    if service._stop.is_set():
        return
    service.state = "deploying"
    try:
        service.deployment = _deploy(data_dir, service.w3, service.accounts)
        service.state = "ok"
    except Exception as exc:
        service.state = "deploy-failed"
        log.exception("deploying the contracts failed: %s", exc)
