"""Node configuration: a TOML file, validated with errors that name the key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.errors import ConfigError
from node.ledger.embedded.genesis import GenesisConfig


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """host/port of the HTTP server; block timing [s]; the genesis; whether to deploy the
    contracts on a fresh chain."""

    host: str = "127.0.0.1"
    port: int = 8545
    block_period_s: float = 0.2
    genesis: GenesisConfig = field(default_factory=GenesisConfig)
    deploy_contracts: bool = True


def _get(table: dict[str, Any], key: str, kind: type, default: Any, path: str) -> Any:
    value = table.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{path}.{key}: expected {kind.__name__}, got {value!r}")
    return value


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
    if not isinstance(node, dict) or not isinstance(chain, dict):
        raise ConfigError("[node] and [chain] must be tables")
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
    )
    if not 1 <= config.port <= 65535:
        raise ConfigError(f"node.port: must be in 1..65535, got {config.port}")
    if not 0.0 < config.block_period_s <= 3600:
        raise ConfigError(f"node.block_period_s: must be in (0, 3600], got {config.block_period_s}")
    return config
