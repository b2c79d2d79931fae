"""A node in the test process: its NodeService (embedded chain) and the HTTP app served by
uvicorn on a loopback port in a thread, plus what tests do with the node's own accounts
(admit and fund its prosumer, move the chain's clock, send as another participant)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from gridledger.node.app import create_app
from gridledger.node.config import NodeConfig, OperatorConfig
from gridledger.node.keys import PASSPHRASE_ENV
from gridledger.node.launch import free_port
from gridledger.node.ledger.reverts import decoded_reverts
from gridledger.node.service import NodeService, start
from tests.node.nodeproc import PASSPHRASE

TX_GAS = 2_000_000


class InProcessNode:
    """A started node; `stop()` ends the server and the service."""

    def __init__(
        self,
        data_dir: Path,
        deploy_contracts: bool = True,
        operator: OperatorConfig | None = None,
    ) -> None:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(PASSPHRASE_ENV, PASSPHRASE)
            config = NodeConfig(
                block_period_s=0.02, deploy_contracts=deploy_contracts, operator=operator
            )
            self.service: NodeService = start(data_dir, config)
        self.data_dir = data_dir
        self.prosumer_meter: LocalAccount | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(self.service, data_dir)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
            )
        )
        self._thread = threading.Thread(target=self.server.run, daemon=True, name="uvicorn")
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the in-process HTTP server did not start")
            time.sleep(0.02)
        self.api_key = (data_dir / "api-key").read_text(encoding="utf-8").strip()

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self.service.stop()

    # ------------------------------------------------------------------ HTTP
    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=30)

    def post_order(self, body: object, headers: dict[str, str] | None = None) -> requests.Response:
        auth = self.auth if headers is None else headers
        return requests.post(self.url + "/v1/orders", json=body, headers=auth, timeout=90)

    # ------------------------------------------------------------------ chain
    @property
    def w3(self) -> Web3:
        return self.service.w3

    def address(self, role: str) -> str:
        return self.service.accounts[role].address

    def contract(self, name: str) -> Contract:
        assert self.service.deployment is not None
        return self.service.deployment.contract(self.w3, name)

    def send(self, role: str, fn: Any) -> TxReceipt:
        """Send `fn` from the node's own `role` account; reverts raise ContractRevertError."""
        sender = self.address(role)
        with decoded_reverts():
            fn.call({"from": sender})
            tx_hash = fn.transact({"from": sender, "gas": TX_GAS})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1
        return receipt

    def send_as(self, account: LocalAccount, fn: Any) -> TxReceipt:
        """Sign `fn` with a participant's own key (not one of the node's) and send it."""
        with decoded_reverts():
            fn.call({"from": account.address})
        tx = fn.build_transaction(
            {
                "from": account.address,
                "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
                "gas": TX_GAS,
                "maxFeePerGas": 10**11,
                "maxPriorityFeePerGas": 10**9,
                "chainId": self.w3.eth.chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1
        return receipt

    def admit(self, participant: str, meter: str) -> None:
        self.send("operator", self.contract("Registry").functions.admit(participant, meter))

    def mint(self, to: str, units: int) -> None:
        self.send("operator", self.contract("GridToken").functions.mint(to, units))

    def admit_prosumer(self, tokens_units: int) -> LocalAccount:
        """Admit the node's prosumer with a fresh meter and mint it `tokens_units`; the meter."""
        meter: LocalAccount = Account.create()
        self.admit(self.address("prosumer"), meter.address)
        if tokens_units:
            self.mint(self.address("prosumer"), tokens_units)
        self.prosumer_meter = meter
        return meter

    def new_participant(self, tokens_units: int = 0) -> tuple[LocalAccount, LocalAccount]:
        """A fresh admitted participant with gas money, `tokens_units` approved to the Market,
        and its meter key: (account, meter)."""
        account: LocalAccount = Account.create()
        meter: LocalAccount = Account.create()
        tx = {"from": self.address("admin"), "to": account.address, "value": 10**21}
        self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction(tx), timeout=30)
        self.admit(account.address, meter.address)
        if tokens_units:
            self.mint(account.address, tokens_units)
            token = self.contract("GridToken").functions
            self.send_as(account, token.approve(self.contract("Market").address, tokens_units))
        return account, meter

    def head_ts(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def jump_to(self, ts: int) -> None:
        """Seal an empty block at `ts` [unix s]: the chain's clock moves forward."""
        assert self.service.chain is not None
        self.service.chain.produce_block(timestamp_ts=ts, empty_ok=True)
        assert self.head_ts() >= ts
