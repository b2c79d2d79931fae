"""The shared genesis file of a testnet (JSON): every replica's GenesisConfig and the addresses
of the contracts its deploy transactions create."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_utils.address import is_hex_address, to_checksum_address

from gridledger.node.errors import ConfigError
from gridledger.node.ledger.embedded.genesis import GenesisConfig

INT_KEYS = ("chain_id", "gas_limit", "timestamp_ts", "base_fee_wei", "period_s")
KNOWN_KEYS = set(INT_KEYS) | {"prefund", "authorities", "deploy_txs", "contracts"}


def genesis_document(genesis: GenesisConfig, contracts: dict[str, str]) -> dict[str, Any]:
    """The JSON document of `genesis` (balances as decimal strings, bytes as 0x-hex)."""
    return {
        "chain_id": genesis.chain_id,
        "gas_limit": genesis.gas_limit,
        "timestamp_ts": genesis.timestamp_ts,
        "base_fee_wei": genesis.base_fee_wei,
        "period_s": genesis.period_s,
        "authorities": [to_checksum_address(a) for a in genesis.authorities],
        "prefund": {to_checksum_address(a): str(b) for a, b in sorted(genesis.prefund.items())},
        "deploy_txs": ["0x" + raw.hex() for raw in genesis.deploy_txs],
        "contracts": {name: to_checksum_address(a) for name, a in sorted(contracts.items())},
    }


def write_genesis_file(path: Path, genesis: GenesisConfig, contracts: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(genesis_document(genesis, contracts), indent=1), encoding="utf-8")
    tmp.replace(path)


def _int(doc: dict[str, Any], key: str, path: Path) -> int:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}: {key} must be an integer, got {value!r}")
    return value


def _hex_bytes(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ConfigError(f"{where}: expected 0x-prefixed hex, got {str(value)[:40]!r}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ConfigError(f"{where}: not hex: {exc}") from exc


def load_genesis_file(path: Path) -> tuple[GenesisConfig, dict[str, str]]:
    """The GenesisConfig and contract addresses in `path`; ConfigError names what is wrong."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"genesis file {path} does not exist") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"genesis file {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: the genesis must be a JSON object")
    unknown = set(doc) - KNOWN_KEYS
    missing = set(INT_KEYS) - set(doc)
    if unknown or missing:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    prefund_raw = doc.get("prefund", {})
    authorities = doc.get("authorities", [])
    deploy_raw = doc.get("deploy_txs", [])
    contracts = doc.get("contracts", {})
    if not isinstance(prefund_raw, dict) or not isinstance(contracts, dict):
        raise ConfigError(f"{path}: prefund and contracts must be objects")
    if not isinstance(authorities, list) or not isinstance(deploy_raw, list):
        raise ConfigError(f"{path}: authorities and deploy_txs must be lists")
    prefund: dict[str, int] = {}
    for address, balance in prefund_raw.items():
        if not isinstance(balance, str) or not balance.isdigit():
            raise ConfigError(f"{path}: prefund.{address} must be a decimal string")
        prefund[address] = int(balance)
    for name, address in contracts.items():
        if not isinstance(address, str) or not is_hex_address(address):
            raise ConfigError(f"{path}: contracts.{name} is not an address: {address!r}")
    fields = {key: _int(doc, key, path) for key in INT_KEYS}
    deploy_txs = tuple(
        _hex_bytes(raw, f"{path}: deploy_txs[{i}]") for i, raw in enumerate(deploy_raw)
    )
    try:  # GenesisConfig checks the values (addresses, ranges); the error names the file
        genesis = GenesisConfig(
            **fields, prefund=prefund, authorities=tuple(authorities), deploy_txs=deploy_txs
        )
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return genesis, {name: to_checksum_address(a) for name, a in contracts.items()}
