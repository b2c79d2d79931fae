"""node.ledger.stack's Engine protocol on gridledger's own embedded chain (in-process, no
HTTP): the contract tests' embedded engine, and the gas benchmark's chain.

Matched to the other engines (eth-tester, anvil) so the same contract tests pass on all of
them: every
transaction is mined in its own block as it arrives; each block is one second after its
parent unless the harness sets the next timestamp; a snapshot is the head's number and
reverting rewinds the chain to it (the rewound transactions are dropped); eth_sendTransaction
is signed locally with the sender's key and submitted raw (eth_sendRawTransaction), as a
wallet would.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import RPCEndpoint, RPCResponse

from gridledger.contracts.units import WEI_PER_ETHER
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.provider import EmbeddedProvider
from gridledger.node.ledger.embedded.rpc import JsonRpc

FUNDER = Account.from_key(b"\x0f" * 32)


class _AutominingProvider(EmbeddedProvider):
    def __init__(self, rpc: JsonRpc, engine: EmbeddedEngine) -> None:
        super().__init__(rpc)
        self.engine = engine

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_sendTransaction":
            # Sign locally with the account's key, as a wallet would, and submit raw.
            method, params = RPCEndpoint("eth_sendRawTransaction"), [self.engine.sign(params[0])]
        response = super().make_request(method, params)
        if method == "eth_sendRawTransaction" and "result" in response:
            self.engine.mine()
        return response


class EmbeddedEngine:
    """An embedded chain in a temporary directory, deleted by close()."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="gridledger-embedded-"))
        genesis = GenesisConfig(
            gas_limit=60_000_000, base_fee_wei=0, prefund={FUNDER.address: 10**15 * WEI_PER_ETHER}
        )
        self.chain = EmbeddedChain(self._dir, genesis)
        self.w3 = Web3(_AutominingProvider(JsonRpc(self.chain), self))
        self._keys: dict[str, LocalAccount] = {FUNDER.address.lower(): FUNDER}
        self._next_ts: int | None = None

    def sign(self, tx: dict[str, Any]) -> str:
        """Fill and sign an eth_sendTransaction object with its sender's key; raw hex."""
        account = self._keys[str(tx["from"]).lower()]
        fields: dict[str, Any] = {
            "nonce": self.chain.pending_nonce(bytes.fromhex(account.address[2:])),
            "gas": int(tx.get("gas", "0x1c9c380"), 16),
            "value": int(tx.get("value", "0x0"), 16),
            "data": tx.get("data", tx.get("input", "0x")),
            "maxFeePerGas": 10**9,
            "maxPriorityFeePerGas": 0,
            "chainId": 31_337,
            "type": 2,
        }
        if tx.get("to"):
            fields["to"] = tx["to"]
        return "0x" + account.sign_transaction(fields).raw_transaction.hex()

    def set_next_timestamp(self, ts: int) -> None:
        self._next_ts = ts

    def mine(self) -> None:
        ts = self._next_ts if self._next_ts is not None else self.now() + 1
        self._next_ts = None
        self.chain.produce_block(timestamp_ts=ts, empty_ok=True)

    def snapshot(self) -> int:
        return int(self.chain.head_header().block_number)

    def revert(self, snapshot_id: int) -> None:
        self.chain.rewind_to(snapshot_id)
        self.chain.pool.clear()

    def add_account(self, private_key: bytes) -> ChecksumAddress:
        account: LocalAccount = Account.from_key(private_key)
        self._keys[account.address.lower()] = account
        nonce = self.chain.pending_nonce(bytes.fromhex(FUNDER.address[2:]))
        signed = FUNDER.sign_transaction(
            {
                "to": account.address,
                "value": 10**6 * WEI_PER_ETHER,
                "gas": 21_000,
                "nonce": nonce,
                "maxFeePerGas": 10**9,
                "maxPriorityFeePerGas": 0,
                "chainId": 31_337,
                "type": 2,
            }
        )
        self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return Web3.to_checksum_address(account.address)

    def revert_data(self, exc: Exception) -> bytes | None:
        return None  # web3 carries the data itself (ContractCustomError / ContractLogicError)

    def now(self) -> int:
        return int(self.chain.head_header().timestamp)

    def close(self) -> None:
        self.chain.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
