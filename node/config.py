"""Node configuration: a TOML file, validated with errors that name the key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridledger.node.errors import ConfigError
from gridledger.node.ledger.embedded.budget import CallLimits
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.pool import PoolLimits


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """Another node: its name, P2P endpoint (tcp://host:port) and CurveZMQ public key (Z85)."""

    name: str
    endpoint: str
    public_key: str


FAUCET_GRANT_UNITS = 1_000_000_000
"""What the faucet mints to each member at admission: 1,000 tokens [units, 6 decimals]."""
FAUCET_LIMIT_UNITS = 10_000_000_000
"""The most the faucet mints to one account in all: 10,000 tokens [units]."""


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    """The operator service of a node holding the operator role ([operator]): the members
    it admits at start (participant, meter) and funds with `faucet_grant_units` each; the
    faucet (off on an external network whatever `faucet` says) mints at most
    `faucet_limit_units` to one account; with `auto_clear` it clears and settles every
    interval when its gate closes, polling the chain's head every `poll_s` [s]."""

    members: tuple[tuple[str, str], ...] = ()
    auto_clear: bool = True
    faucet: bool = True
    faucet_grant_units: int = FAUCET_GRANT_UNITS
    faucet_limit_units: int = FAUCET_LIMIT_UNITS
    poll_s: float = 0.5


@dataclass(frozen=True, slots=True)
class AutoBidConfig:
    """A prosumer node bidding by itself ([prosumer] auto_bid = true; node/agents/auto_bid.py):
    limit prices [units/kWh], the persistence window [readings], the smallest order [Wh],
    how far ahead of the gate it orders [s], and how often it looks [s]."""

    buy_price_per_kwh: int = 250_000
    sell_price_per_kwh: int = 100_000
    interval_readings: int = 15
    min_order_wh: int = 50
    order_lead_s: int = 60
    poll_s: float = 1.0


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """host/port of the HTTP server; block timing [s] of a lone node; the genesis; whether to
    deploy the contracts on a fresh chain. A testnet node has `genesis_file` (the shared
    genesis, contracts included), a P2P port, its peers, and its consensus clock: "wall", or
    "sim" (blocks sealed at simulation ticks). `build_budget_s` bounds the execution of a
    lone node's block [s]; `calls` bounds eth_call/eth_estimateGas ([rpc]); `pool` bounds
    the transaction pool ([pool]) (docs/ledger.md, "Execution limits")."""

    host: str = "127.0.0.1"
    port: int = 8545
    block_period_s: float = 0.2
    genesis: GenesisConfig = field(default_factory=GenesisConfig)
    deploy_contracts: bool = True
    name: str = "node"
    genesis_file: Path | None = None
    p2p_port: int = 0
    peers: tuple[PeerConfig, ...] = ()
    clock: str = "wall"
    build_budget_s: float = 2.0
    calls: CallLimits = field(default_factory=CallLimits)
    pool: PoolLimits = field(default_factory=PoolLimits)
    operator: OperatorConfig | None = None
    auto_bid: AutoBidConfig | None = None


def _get(table: dict[str, Any], key: str, kind: type, default: Any, path: str) -> Any:
    value = table.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{path}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _relative(config_path: Path | None, value: str) -> Path:
    """`value` as a path; relative ones are relative to the config file's folder."""
    path = Path(value)
    if not path.is_absolute() and config_path is not None:
        path = config_path.parent / path
    return path


def _peers(p2p: dict[str, Any]) -> tuple[PeerConfig, ...]:
    raw = p2p.get("peers", [])
    if not isinstance(raw, list):
        raise ConfigError("p2p.peers: expected an array of tables")
    peers = []
    for i, entry in enumerate(raw):
        where = f"p2p.peers[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "endpoint", "public_key"}:
            raise ConfigError(f"{where}: expected a table with name, endpoint and public_key")
        peer = PeerConfig(
            name=_get(entry, "name", str, "", where),
            endpoint=_get(entry, "endpoint", str, "", where),
            public_key=_get(entry, "public_key", str, "", where),
        )
        if not peer.endpoint.startswith("tcp://"):
            raise ConfigError(f"{where}.endpoint: expected tcp://host:port, got {peer.endpoint!r}")
        if len(peer.public_key) != 40:
            raise ConfigError(f"{where}.public_key: expected 40 Z85 characters")
        peers.append(peer)
    if len({p.name for p in peers}) != len(peers):
        raise ConfigError("p2p.peers: two peers have the same name")
    return tuple(peers)


def _call_limits(rpc: dict[str, Any]) -> CallLimits:
    unknown = set(rpc) - {"gas_cap", "evm_timeout_s", "request_budget_s"}
    if unknown:
        raise ConfigError(f"rpc: unknown keys {sorted(unknown)}")
    defaults = CallLimits()
    return CallLimits(
        gas_cap=_get(rpc, "gas_cap", int, defaults.gas_cap, "rpc"),
        timeout_s=_get(rpc, "evm_timeout_s", float, defaults.timeout_s, "rpc"),
        request_budget_s=_get(rpc, "request_budget_s", float, defaults.request_budget_s, "rpc"),
    )


def _pool_limits(pool: dict[str, Any]) -> PoolLimits:
    unknown = set(pool) - {"global_slots", "account_slots"}
    if unknown:
        raise ConfigError(f"pool: unknown keys {sorted(unknown)}")
    defaults = PoolLimits()
    return PoolLimits(
        global_slots=_get(pool, "global_slots", int, defaults.global_slots, "pool"),
        account_slots=_get(pool, "account_slots", int, defaults.account_slots, "pool"),
    )


def _operator(raw: Any) -> OperatorConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("[operator] must be a table")
    unknown = set(raw) - {
        "members",
        "auto_clear",
        "faucet",
        "faucet_grant_units",
        "faucet_limit_units",
        "poll_s",
    }
    if unknown:
        raise ConfigError(f"operator: unknown keys {sorted(unknown)}")
    members = []
    entries = raw.get("members", [])
    if not isinstance(entries, list):
        raise ConfigError("operator.members: expected an array of tables")
    for i, entry in enumerate(entries):
        where = f"operator.members[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"participant", "meter"}:
            raise ConfigError(f"{where}: expected a table with participant and meter")
        pair = (_get(entry, "participant", str, "", where), _get(entry, "meter", str, "", where))
        for key, value in zip(("participant", "meter"), pair, strict=True):
            if not (value.startswith("0x") and len(value) == 42):
                raise ConfigError(f"{where}.{key}: expected a 0x address, got {value!r}")
        members.append(pair)
    d = OperatorConfig()
    config = OperatorConfig(
        members=tuple(members),
        auto_clear=_get(raw, "auto_clear", bool, d.auto_clear, "operator"),
        faucet=_get(raw, "faucet", bool, d.faucet, "operator"),
        faucet_grant_units=_get(raw, "faucet_grant_units", int, d.faucet_grant_units, "operator"),
        faucet_limit_units=_get(raw, "faucet_limit_units", int, d.faucet_limit_units, "operator"),
        poll_s=_get(raw, "poll_s", float, d.poll_s, "operator"),
    )
    if not 0 <= config.faucet_grant_units <= config.faucet_limit_units:
        raise ConfigError("operator: need 0 <= faucet_grant_units <= faucet_limit_units")
    if not 0.0 < config.poll_s <= 60:
        raise ConfigError(f"operator.poll_s: must be in (0, 60], got {config.poll_s}")
    return config


def _auto_bid(raw: Any) -> AutoBidConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("[prosumer] must be a table")
    d = AutoBidConfig()
    ints = ("buy_price_per_kwh", "sell_price_per_kwh", "interval_readings", "min_order_wh")
    unknown = set(raw) - {"auto_bid", "order_lead_s", "poll_s", *ints}
    if unknown:
        raise ConfigError(f"prosumer: unknown keys {sorted(unknown)}")
    if not _get(raw, "auto_bid", bool, False, "prosumer"):
        return None
    values = {k: _get(raw, k, int, getattr(d, k), "prosumer") for k in ints}
    config = AutoBidConfig(
        **values,
        order_lead_s=_get(raw, "order_lead_s", int, d.order_lead_s, "prosumer"),
        poll_s=_get(raw, "poll_s", float, d.poll_s, "prosumer"),
    )
    for key in ints:
        if not 0 <= getattr(config, key) < 2**40:
            raise ConfigError(f"prosumer.{key}: must be in [0, 2^40), got {getattr(config, key)}")
    if config.interval_readings < 1 or not 0.0 < config.poll_s <= 60:
        raise ConfigError("prosumer: interval_readings >= 1 and poll_s in (0, 60] needed")
    return config


def load_config(path: Path | None, port: int | None = None) -> NodeConfig:
    """Read `path` (or the defaults), with `port` overriding node.port."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    node = raw.get("node", {})
    chain = raw.get("chain", {})
    p2p = raw.get("p2p", {})
    rpc = raw.get("rpc", {})
    pool = raw.get("pool", {})
    if not all(isinstance(t, dict) for t in (node, chain, p2p, rpc, pool)):
        raise ConfigError("[node], [chain], [p2p], [rpc] and [pool] must be tables")
    genesis_file = _get(chain, "genesis_file", str, "", "chain")
    if genesis_file and set(chain) != {"genesis_file"}:
        raise ConfigError("chain.genesis_file: the genesis file replaces the other [chain] keys")
    prefund_raw = _get(chain, "prefund", dict, {}, "chain")
    prefund = {}
    for address, balance in prefund_raw.items():
        try:
            prefund[address] = int(balance)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"chain.prefund.{address}: not an integer: {balance!r}") from exc
    defaults = GenesisConfig()
    genesis = GenesisConfig(
        chain_id=_get(chain, "chain_id", int, defaults.chain_id, "chain"),
        gas_limit=_get(chain, "gas_limit", int, defaults.gas_limit, "chain"),
        timestamp_ts=_get(chain, "timestamp_ts", int, defaults.timestamp_ts, "chain"),
        base_fee_wei=_get(chain, "base_fee_wei", int, defaults.base_fee_wei, "chain"),
        prefund=prefund,
    )
    config = NodeConfig(
        host=_get(node, "host", str, "127.0.0.1", "node"),
        port=port if port is not None else _get(node, "port", int, 8545, "node"),
        block_period_s=_get(node, "block_period_s", float, 0.2, "node"),
        genesis=genesis,
        deploy_contracts=_get(node, "deploy_contracts", bool, True, "node"),
        name=_get(node, "name", str, "node", "node"),
        genesis_file=_relative(path, genesis_file) if genesis_file else None,
        p2p_port=_get(p2p, "port", int, 0, "p2p"),
        peers=_peers(p2p),
        clock=_get(node, "clock", str, "wall", "node"),
        build_budget_s=_get(node, "build_budget_s", float, 2.0, "node"),
        calls=_call_limits(rpc),
        pool=_pool_limits(pool),
        operator=_operator(raw.get("operator")),
        auto_bid=_auto_bid(raw.get("prosumer")),
    )
    if config.clock not in ("wall", "sim"):
        raise ConfigError(f"node.clock: must be 'wall' or 'sim', got {config.clock!r}")
    if config.genesis_file is not None and not 1 <= config.p2p_port <= 65535:
        raise ConfigError(f"p2p.port: a testnet node needs one in 1..65535, got {config.p2p_port}")
    if not 1 <= config.port <= 65535:
        raise ConfigError(f"node.port: must be in 1..65535, got {config.port}")
    if not 0.0 < config.build_budget_s <= 3600:
        raise ConfigError(f"node.build_budget_s: must be in (0, 3600], got {config.build_budget_s}")
    if not 0.0 < config.block_period_s <= 3600:
        raise ConfigError(f"node.block_period_s: must be in (0, 3600], got {config.block_period_s}")
    return config
