"""Finding the contracts an audit reads: from `--import-cap ADDR`, from a contracts file
(a node's contracts.json, a testnet's genesis.json or `testnet status --json`, or a flat
name -> address object), or from a gridledger node's GET /v1/contracts/addresses when the
URL is its /rpc. Connecting to the endpoint (web3 with the Aura extraData middleware).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from eth_typing import ChecksumAddress
from eth_utils.address import is_hex_address, to_checksum_address
from web3 import Web3

from gridledger.node.errors import NodeError
from gridledger.node.ledger.http import rpc_web3

HTTP_TIMEOUT_S = 30.0
WHERE_TO_LOOK = (
    "pass --contracts FILE (a node's DATA_DIR/contracts.json, a testnet's genesis.json or "
    "`gridledger testnet status --json` output) or --import-cap ADDR"
)


class AuditInputError(NodeError):
    """The audit cannot start: bad URL, address or file, or no contracts found."""


@dataclass(frozen=True, slots=True)
class Located:
    """Addresses of the audited contracts; `metering` and `trust` may be unknown (None).
    `source` says where they came from."""

    import_cap: ChecksumAddress
    metering: ChecksumAddress | None
    trust: ChecksumAddress | None
    source: str


def checked_address(text: str, what: str) -> ChecksumAddress:
    """`text` as a checksummed address; AuditInputError naming `what` otherwise."""
    if not isinstance(text, str) or not is_hex_address(text):
        raise AuditInputError(f"{what} {text!r} is not an address (0x followed by 40 hex digits)")
    return to_checksum_address(text)


def connect(rpc_url: str) -> Web3:
    """web3 on `rpc_url`, answering eth_chainId; Aura-sealed blocks (73-byte extraData) decode."""
    if urlsplit(rpc_url).scheme not in ("http", "https"):
        raise AuditInputError(f"--rpc {rpc_url!r} is not an http(s) URL")
    w3 = rpc_web3(rpc_url, HTTP_TIMEOUT_S)
    try:
        w3.eth.chain_id  # noqa: B018 - the connectivity check
    except Exception as exc:
        hint = (
            ""
            if urlsplit(rpc_url).path.rstrip("/").endswith("/rpc")
            else (" (a gridledger node serves JSON-RPC on /rpc)")
        )
        raise AuditInputError(
            f"cannot reach a JSON-RPC endpoint at {rpc_url}{hint}: {type(exc).__name__}: {exc}"
        ) from exc
    return w3


def _addresses_in(doc: Any, path: Path) -> tuple[dict[str, str], int | None]:
    if not isinstance(doc, dict):
        raise AuditInputError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    chain_id = doc.get("chainId", doc.get("chain_id"))
    for key in ("addresses", "contracts"):
        if isinstance(doc.get(key), dict):
            doc = doc[key]
            break
    names = {k: v for k, v in doc.items() if isinstance(v, str) and is_hex_address(v)}
    if "ImportCap" not in names:
        raise AuditInputError(
            f"{path} names no ImportCap address (found: {sorted(names) or 'none'}); "
            "give --import-cap ADDR"
        )
    return names, chain_id if isinstance(chain_id, int) else None


def addresses_from_file(path: Path) -> tuple[dict[str, str], int | None]:
    """(name -> address, chain id if the file records one) from a contracts file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuditInputError(f"--contracts {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditInputError(f"--contracts {path} is not readable JSON: {exc}") from exc
    return _addresses_in(doc, path)


def node_addresses_url(rpc_url: str) -> str | None:
    """GET /v1/contracts/addresses of the node whose JSON-RPC is `rpc_url` (…/rpc), else None."""
    parts = urlsplit(rpc_url)
    path = parts.path.rstrip("/")
    if not path.endswith("/rpc"):
        return None
    base = path[: -len("/rpc")]
    return urlunsplit((parts.scheme, parts.netloc, base + "/v1/contracts/addresses", "", ""))


def addresses_from_node(rpc_url: str) -> dict[str, str] | None:
    """The node's deployed addresses, or None if `rpc_url` is not a gridledger node's /rpc
    or the node does not say."""
    url = node_addresses_url(rpc_url)
    if url is None:
        return None
    try:
        reply = requests.get(url, timeout=HTTP_TIMEOUT_S)
        doc = reply.json() if reply.ok else None
    except (requests.RequestException, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("ImportCap"), str):
        return None
    return {k: v for k, v in doc.items() if isinstance(v, str)}


def locate(w3: Web3, rpc_url: str, contracts_file: Path | None, import_cap: str | None) -> Located:
    """The audited addresses: --import-cap first, then --contracts, then the node's REST."""
    names: dict[str, str] | None = None
    source = ""
    if contracts_file is not None:
        names, file_chain_id = addresses_from_file(contracts_file)
        chain_id = int(w3.eth.chain_id)
        if file_chain_id is not None and file_chain_id != chain_id:
            raise AuditInputError(
                f"--contracts {contracts_file} is for chain {file_chain_id}, "
                f"the endpoint {rpc_url} is chain {chain_id}"
            )
        source = str(contracts_file)
    elif import_cap is None:
        names = addresses_from_node(rpc_url)
        source = str(node_addresses_url(rpc_url))
        if names is None:
            raise AuditInputError(f"no contract addresses for {rpc_url}: {WHERE_TO_LOOK}")
    names = names or {}
    if import_cap is not None:
        source = "--import-cap" + (f" and {source}" if source else "")
    cap = checked_address(import_cap or names["ImportCap"], "ImportCap address")
    metering, trust = names.get("Metering"), names.get("Trust")
    return Located(
        import_cap=cap,
        metering=checked_address(metering, "Metering address") if metering else None,
        trust=checked_address(trust, "Trust address") if trust else None,
        source=source,
    )
