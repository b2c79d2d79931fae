"""An ephemeral in-memory chain: eth-tester over py-evm pinned to CancunVM.

For contract tests, the gas benchmark and the contract-level demo. Not a node's ledger:
eth-tester's receipt look-ups scan the chain and nothing persists.
"""

from __future__ import annotations

import ast
from typing import cast

from eth.vm.forks.cancun import CancunVM
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_typing import ChecksumAddress
from web3 import EthereumTesterProvider, Web3
from web3.types import Wei

from gridledger.contracts.units import WEI_PER_ETHER


class EphemeralChain:
    """eth-tester over py-evm pinned to CancunVM (the contracts' evmVersion)."""

    def __init__(self) -> None:
        genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
        backend = PyEVMBackend(genesis_parameters=genesis, vm_configuration=((0, CancunVM),))
        self.tester = EthereumTester(backend)
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self._funder = self.w3.eth.accounts[0]

    def set_next_timestamp(self, ts: int) -> None:
        self.tester.time_travel(ts)

    def mine(self) -> None:
        self.tester.mine_blocks(1)

    def snapshot(self) -> int:
        return cast(int, self.tester.take_snapshot())

    def revert(self, snapshot_id: int) -> None:
        self.tester.revert_to_snapshot(snapshot_id)

    def add_account(self, private_key: bytes) -> ChecksumAddress:
        address = Web3.to_checksum_address(Account.from_key(private_key).address)
        self.tester.add_account("0x" + private_key.hex())
        self.w3.eth.send_transaction(
            {"from": self._funder, "to": address, "value": Wei(100 * WEI_PER_ETHER)}
        )
        return address

    def revert_data(self, exc: Exception) -> bytes | None:
        """eth-tester reports reverts as TransactionFailed carrying the data as a bytes literal."""
        if not isinstance(exc, TransactionFailed) or not exc.args:
            return None
        payload = exc.args[0]
        if isinstance(payload, bytes):
            return payload
        text = str(payload).removeprefix("execution reverted: ")
        if text.startswith(("b'", 'b"')):
            value = ast.literal_eval(text)
            return value if isinstance(value, bytes) else None
        return None

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])
