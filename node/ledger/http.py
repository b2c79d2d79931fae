"""web3.py over HTTP to any Ethereum JSON-RPC endpoint a node talks to or audits."""

from __future__ import annotations

from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware


def rpc_web3(rpc_url: str, timeout_s: float = 60) -> Web3:
    """web3 over HTTP to `rpc_url` (a node's /rpc, anvil, any network). Proof-of-authority
    blocks (a gridledger testnet's carry a 73-byte extraData) are read as such."""
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3
