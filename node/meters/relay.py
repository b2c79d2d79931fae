"""The relay: a thread that sends the intake's queued readings to Metering in batches from
the node's prosumer account (Metering checks the meters' signatures, not the relayer).

One batch at a time: the oldest queued readings whose interval the chain's clock has passed,
at most Metering.MAX_BATCH (128), run first as a call (a refusal drops the batch with the
decoded error and sends nothing), then sent and followed until mined. The next batch waits
for the previous one's receipt, so a batch is never checked against a state that a batch in
flight is about to change. Before each send the relay also waits (up to IN_FLIGHT_WAIT_S)
until no transaction of the relayer is pending, which covers a batch sent before a restart
and not yet mined, and then re-checks the batch against the chain (ReadingIntake.recheck):
readings whose seq the chain holds already are accepted, not sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from eth_utils.address import is_hex_address, to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from gridledger.node.agents.prosumer import BATCH_BASE_GAS, READING_GAS
from gridledger.node.errors import ContractRevertError
from gridledger.node.ledger.reverts import decoded_reverts, error_arg_names
from gridledger.node.meters.fates import Refusal
from gridledger.node.meters.intake import Entry, ReadingIntake

log = logging.getLogger(__name__)

MAX_BATCH = 128
"""Metering.MAX_BATCH."""
IDLE_WAIT_S = 0.5
RECEIPT_POLL_S = 0.1
IN_FLIGHT_WAIT_S = 60.0
"""How long a batch waits for the relayer's pending transactions to be mined [s]; then it
is sent anyway (its preflight call and its receipt still guard it)."""
RELAYER = "prosumer"


def revert_refusal(exc: ContractRevertError) -> Refusal:
    """A decoded contract revert as the refusal of the readings it dropped."""
    names = error_arg_names().get(exc.name, ())
    args: dict[str, Any] = {}
    for position, value in enumerate(exc.error_args):
        key = names[position] if position < len(names) and names[position] else f"arg{position}"
        args[key] = _json_arg(value)
    return Refusal(
        error=exc.name, message=f"the chain refused the batch: {exc}", args=args, status=409
    )


def _json_arg(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    return value


class MeterRelay:
    """Sends `intake`'s readings until `stop()` (or until `stopped` is set by the node)."""

    def __init__(self, intake: ReadingIntake, stopped: threading.Event | None = None) -> None:
        self.intake = intake
        self.chain = intake.chain
        self._stop = stopped or threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0

    def ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="meter-relay")
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.intake.changed:
            self.intake.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.relay_once() == 0:
                    with self.intake.changed:
                        self.intake.changed.wait(IDLE_WAIT_S)
            except Exception:  # the ledger may be down for a while; keep serving
                log.exception("the meter relay failed a round; retrying")
                time.sleep(IDLE_WAIT_S)

    def relay_once(self) -> int:
        """Relay one batch of the readings the chain's clock has passed and follow it until
        mined (or dropped); how many readings it held (0: nothing was ready), including
        those the re-check found on chain already."""
        self.intake.restore()
        head_ts = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        batch = self.intake.take_batch(head_ts, MAX_BATCH)
        if not batch:
            return 0
        try:
            to_send = self.intake.recheck(batch) if self._wait_in_flight() else []
        except Exception:  # the ledger failed before anything was sent: retry the batch
            self.intake.requeue(batch)
            raise
        if to_send:
            self._relay(to_send)
        elif self._stop.is_set():
            self.intake.requeue(batch)
        return len(batch)

    def _wait_in_flight(self) -> bool:
        """Wait until the relayer has no pending transaction (its pending nonce is its
        mined one), at most IN_FLIGHT_WAIT_S; False if the relay is stopping."""
        eth = self.chain.w3.eth
        relayer = self.chain.account(RELAYER)
        deadline = time.monotonic() + IN_FLIGHT_WAIT_S
        while not self._stop.is_set():
            pending = eth.get_transaction_count(relayer, "pending")
            mined = eth.get_transaction_count(relayer, "latest")
            if pending <= mined:
                return True
            if time.monotonic() > deadline:
                log.warning(
                    "the relayer still has %d pending transactions after %.0f s; sending",
                    pending - mined,
                    IN_FLIGHT_WAIT_S,
                )
                return True
            self._stop.wait(RECEIPT_POLL_S)
        return False

    def _relay(self, batch: list[Entry]) -> None:
        metering = self.chain.contract("Metering").functions
        relayer = self.chain.account(RELAYER)
        call = metering.submitReadings(
            [e.signed.reading.as_abi() for e in batch],
            [e.signed.signature.as_abi() for e in batch],
        )
        gas = BATCH_BASE_GAS + READING_GAS * len(batch)
        try:
            self.chain.call(call, relayer)
            with self.chain.send_lock, decoded_reverts():
                tx_hash = bytes(call.transact({"from": relayer, "gas": gas}))
        except ContractRevertError as exc:
            log.warning("Metering refused a batch of %d readings: %s", len(batch), exc)
            self.intake.dropped(batch, revert_refusal(exc))
            return
        except Exception as exc:
            self.intake.dropped(
                batch,
                Refusal(
                    error="LedgerRefused",
                    message=f"the ledger refused the batch: {str(exc)[:200]}",
                    status=503,
                ),
            )
            raise
        hex_hash = "0x" + tx_hash.hex()
        self.intake.sent(batch, hex_hash)
        receipt = self._receipt(tx_hash)
        if receipt is None:  # stopping: the transaction is in the pool; its fate stays "sent"
            return
        if receipt["status"] != 1:
            self.intake.dropped(
                batch,
                Refusal(
                    error="TransactionFailed",
                    message=f"transaction {hex_hash} reverted when mined in block "
                    f"{receipt['blockNumber']} (its preflight call had passed)",
                    status=409,
                ),
            )
            return
        self.intake.accepted(batch, hex_hash, int(receipt["blockNumber"]))
        self.batches += 1
        log.info("relayed %d readings in %s", len(batch), hex_hash)

    def _receipt(self, tx_hash: bytes) -> Any:
        while not self._stop.is_set():
            try:
                return self.chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                time.sleep(RECEIPT_POLL_S)
        return None
