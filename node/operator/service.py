"""The operator (L3) as a service of its node: at start it admits the configured members with
their meters and funds each from the faucet; then a background thread clears and settles
every market interval by itself once its gate has closed, on the chain's clock (the head's
timestamp: the wall clock, or the simulation's on a simulation-clock node). The REST API's
operator endpoints (admit, fund, cap, clear now) call the same object, so every transaction
from the operator's account goes through one lock.

Per interval whose gate has closed, from the cursor on (DATA_DIR/operator/state.json):

- no orders: nothing to do;
- gate closed, delivery not started: clear it (the one-transaction witness of
  node/operator/duties.py); a clearing left half done (Clearing phase) is aborted and
  cleared again; a refused clearing is retried until the delivery starts;
- delivery started and not cleared: voided (IntervalVoided), with the reason logged;
- cleared (or voided): every order not yet settled is settled.

The cursor moves past an interval once all its orders are settled, and is written after
each move, so a restart resumes where the last run stopped. Nothing is cleared twice: the
contract refuses a second clearing (MarketUnexpectedPhase) and the service reads the phase
before it sends.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3.types import TxReceipt

from gridledger.contracts.enums import Phase, Side
from gridledger.node.config import OperatorConfig
from gridledger.node.errors import ContractRevertError, LedgerError, NodeError
from gridledger.node.operator.duties import (
    ABORT_GAS,
    ADMIT_GAS,
    CAP_GAS,
    MINT_GAS,
    VOID_GAS,
    Member,
    admit_call,
    book_of,
    clear_call,
    mint_call,
    order_id,
    release_batches,
    release_call,
    settle_calls,
    take_due_releases,
)
from gridledger.node.service import NodeService
from gridledger.node.views import events
from gridledger.node.views.chain import ChainView

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
OPERATOR = "operator"


class OperatorError(NodeError):
    """An operator request refused before anything was sent (the message says why)."""


class UnknownParticipantError(OperatorError):
    """The account is not an admitted, active participant."""


class FaucetOffError(OperatorError):
    """The faucet is off: an external network, or turned off in [operator]."""


class FaucetLimitError(OperatorError):
    """The grant would take the account past the faucet's per-account limit."""


class NothingToClearError(OperatorError):
    """The interval has no orders: there is nothing to clear."""


@dataclass(frozen=True, slots=True)
class IntervalOutcome:
    """What the service did with an interval: "cleared", "voided", "settled" (cleared
    earlier), "empty", "waiting" (its clearing was refused: retried, and later intervals
    wait) or "failed" (retried; later intervals go on); `settled` orders settled now."""

    interval: int
    action: str
    settled: int = 0
    reason: str = ""


class OperatorService:
    """The operator duties of `service`'s node (whose operator account holds the role)."""

    def __init__(self, service: NodeService, config: OperatorConfig, data_dir: Path | None) -> None:
        self.service = service
        self.config = config
        self.chain = ChainView(service)
        self.state_path = data_dir / "operator" / "state.json" if data_dir is not None else None
        self._send_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures: dict[int, str] = {}
        self.to_release: dict[int, list[int]] = {}  # interval -> sells with proceeds held
        self._owners: dict[int, str] = {}  # sell id -> seller (take_due_releases' cache)
        self.cursor: int | None = self._load_cursor()
        self.setup_done = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> OperatorService:
        """Run the setup and (with auto_clear) the clearing loop in a background thread."""
        self._thread = threading.Thread(target=self._run, daemon=True, name="operator")
        self._thread.start()
        self.service.on_stop.append(self.stop)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set() and not self.setup_done:
            try:
                self.setup()
            except Exception as exc:  # the ledger may still be syncing: retry
                log.warning("operator setup failed, retrying: %s", exc)
                self._stop.wait(2.0)
        while self.config.auto_clear and not self._stop.wait(self.config.poll_s):
            try:
                self.tick()
            except Exception as exc:
                log.warning("operator clearing round failed, retrying: %s", exc)

    @property
    def address(self) -> str:
        return self.chain.account(OPERATOR)

    def send(self, fn: Any, gas: int) -> TxReceipt:
        """Send `fn` from the operator's account and wait for it (reverts decoded)."""
        with self._send_lock:
            return self.chain.send(fn, self.address, gas)

    # ------------------------------------------------------------ admission and faucet
    def setup(self) -> None:
        """Admit every configured member not yet admitted, and fund it up to the grant."""
        registry = self.chain.contract("Registry")
        for participant, meter in self.config.members:
            if not self.chain.call(registry.functions.isActive(participant)):
                self.admit(participant, meter)
                log.info("admitted %s with meter %s", participant, meter)
            if self.faucet_on():
                due = self.config.faucet_grant_units - self.minted_units(participant)
                if due > 0:
                    self.fund(participant, due)
                    log.info("funded %s with %d units", participant, due)
        self.setup_done = True

    def admit(self, participant: str, meter: str) -> TxReceipt:
        """Admit `participant` with `meter` under the admission policy (reverts decoded:
        RegistryAlreadyAdmitted, RegistryMeterInUse, RegistryAdmissionClosed, ...)."""
        registry = self.chain.contract("Registry")
        return self.send(admit_call(registry, Member("", participant, meter)), ADMIT_GAS)

    def faucet_on(self) -> bool:
        """The faucet runs on the embedded chain or a testnet, never on an external network."""
        return self.config.faucet and self.service.chain is not None

    def minted_units(self, account: str) -> int:
        """Everything minted to `account` so far (Transfer events from the zero address)."""
        token = self.chain.contract("GridToken")
        get = events.getter(token, "Transfer", {"from": ZERO_ADDRESS, "to": account})
        head = int(self.chain.w3.eth.block_number)
        found, _ = events.scan(get, 0, head, lambda _e: True, 1_000_000)
        return sum(int(e["args"]["value"]) for e in found)

    def fund(self, account: str, amount_units: int) -> TxReceipt:
        """Mint `amount_units` to the admitted `account`, within the faucet's limit."""
        if not self.faucet_on():
            raise FaucetOffError("the faucet is off (an external network, or [operator] faucet)")
        registry = self.chain.contract("Registry")
        if not self.chain.call(registry.functions.isActive(account)):
            raise UnknownParticipantError(f"{account} is not an admitted, active participant")
        with self._send_lock:  # the tally and the mint under one lock: no race past the limit
            minted = self.minted_units(account)
            limit = self.config.faucet_limit_units
            if minted + amount_units > limit:
                raise FaucetLimitError(
                    f"{account} has had {minted} units from the faucet; {amount_units} more "
                    f"would pass the limit of {limit} per account"
                )
            return self.send(
                mint_call(self.chain.contract("GridToken"), account, amount_units), MINT_GAS
            )

    def create_cap(self, terms_abi: tuple[Any, ...], consent: bytes) -> tuple[int, TxReceipt]:
        """Create an import cap with the importer's signed consent; its id and receipt."""
        registry = self.chain.contract("Registry")
        importer = terms_abi[0]
        if not self.chain.call(registry.functions.isActive(importer)):
            raise UnknownParticipantError(f"importer {importer} is not an admitted participant")
        cap = self.chain.contract("ImportCap")
        receipt = self.send(cap.functions.createContract(terms_abi, consent), CAP_GAS)
        (event,) = cap.events.ContractCreated().process_receipt(receipt)
        return int(event["args"]["contractId"]), receipt

    # ------------------------------------------------------------ clearing
    def _load_cursor(self) -> int | None:
        if self.state_path is None or not self.state_path.exists():
            return None
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.to_release = {
                int(k): [int(i) for i in v] for k, v in state.get("to_release", {}).items()
            }
            return int(state["next_interval"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "%s is damaged (%s); starting from the current interval", self.state_path, exc
            )
            return None

    def _save_cursor(self, interval: int) -> None:
        self.cursor = interval
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        state = {
            "next_interval": interval,
            "to_release": {str(k): v for k, v in sorted(self.to_release.items())},
        }
        tmp.write_text(json.dumps(state), encoding="utf-8")
        tmp.replace(self.state_path)  # atomic: a kill leaves the old cursor or the new one

    def head_ts(self) -> int:
        return int(self.chain.w3.eth.get_block("latest")["timestamp"])

    def tick(self) -> list[IntervalOutcome]:
        """One round: handle every interval from the cursor whose gate has closed."""
        grid = self.chain.grid()
        now_ts = self.head_ts()
        # the last interval whose gate has closed at now_ts
        last = grid.first_open_after(now_ts) - 1
        if self.cursor is None:
            first = max(0, (now_ts - grid.epoch_start_ts) // grid.interval_length_s)
            self._save_cursor(min(first, last + 1))
        assert self.cursor is not None
        outcomes = []
        for interval in range(self.cursor, last + 1):
            try:
                outcome = self.handle(interval, now_ts)
            except Exception as exc:
                # one interval's failure (a settlement the contract refuses, the ledger not
                # answering) must not hold the later ones: they are handled, and the cursor
                # stays on this one, which is tried again next round
                log.warning("interval %d: %s; trying again next round", interval, exc)
                outcome = IntervalOutcome(interval, "failed", reason=str(exc))
            outcomes.append(outcome)
            if outcome.action == "waiting":
                break
            if interval == self.cursor and outcome.action != "failed":
                self._save_cursor(interval + 1)
        self.release_due(now_ts)
        return outcomes

    def release_due(self, now_ts: int) -> int:
        """Release the held proceeds of settled sells whose delivery is metered (or whose
        grace period ran out): the keeper's duty of docs/contracts.md, "Held proceeds"; the
        number of sells released. A batch the contract refuses goes back to the list (tried
        again next round)."""
        market = self.chain.contract("Market")
        grid = self.chain.grid()
        taken = take_due_releases(
            self.to_release,
            market,
            self.chain.contract("ImportCap"),
            lambda interval: grid.start_ts(interval + 1),
            now_ts,
            self._owners,
        )
        sent = 0
        for interval, sells in taken:
            for batch in release_batches(sells):
                try:
                    self.send(*release_call(market, batch))
                    sent += len(batch)
                except (ContractRevertError, LedgerError) as exc:
                    log.warning("interval %d: release refused, retrying: %s", interval, exc)
                    self.to_release.setdefault(interval, []).extend(batch)
        if taken and self.cursor is not None:
            self._save_cursor(self.cursor)
        if sent:
            log.info("released the held proceeds of %d sells", sent)
        return sent

    def handle(self, interval: int, now_ts: int) -> IntervalOutcome:
        """Clear, void or settle `interval` (its gate closed at `now_ts`) as its phase asks."""
        market = self.chain.contract("Market")
        m = market.functions
        count = int(self.chain.call(m.orderCount(interval)))
        phase = Phase(int(self.chain.call(m.phaseOf(interval))))
        if count == 0 and phase is not Phase.CLEARING:
            return IntervalOutcome(interval, "empty")
        if phase is Phase.OPEN:  # the head passed the gate; the next block will too
            return IntervalOutcome(interval, "waiting", reason="the gate is not closed yet")
        action = "settled"
        start_ts = self.chain.grid().start_ts(interval)
        if phase in (Phase.GATE_CLOSED, Phase.CLEARING) and now_ts >= start_ts:
            reason = self.failures.pop(
                interval, "the operator was not running between its gate closure and its start"
            )
            self.send(m.voidInterval(interval), VOID_GAS)
            log.warning(
                "interval %d voided: not cleared before its start at %d (%s)",
                interval,
                start_ts,
                reason,
            )
            action = "voided"
        elif phase in (Phase.GATE_CLOSED, Phase.CLEARING):
            try:
                self.clear_now(interval)
            except (ContractRevertError, LedgerError) as exc:
                self.failures[interval] = f"clearing refused: {exc}"
                log.warning("interval %d: clearing refused, retrying: %s", interval, exc)
                return IntervalOutcome(interval, "waiting", reason=str(exc))
            action = "cleared"
        settled = self.settle(interval)
        if action != "voided":
            sells = [
                order_id(interval, o.index)
                for o in book_of(market, interval)
                if o.side is Side.SELL
            ]
            if sells:
                self.to_release[interval] = sells
        return IntervalOutcome(interval, action, settled)

    def clear_now(self, interval: int) -> dict[str, int]:
        """Clear `interval` now with its sort witness (aborting a half-done clearing of it
        first); the claimed volume and the order count. Refusals are decoded reverts
        (MarketUnexpectedPhase when its gate is open or it is cleared already)."""
        market = self.chain.contract("Market")
        m = market.functions
        with self._send_lock:
            phase = Phase(int(self.chain.call(m.phaseOf(interval))))
            orders = book_of(market, interval)
            if phase is Phase.CLEARING:
                self.send(m.abortClearing(interval), ABORT_GAS)
                log.info("interval %d: aborted the unfinished clearing", interval)
            elif phase is Phase.GATE_CLOSED and not orders:
                raise NothingToClearError(f"interval {interval} has no orders")
            call, gas, witness = clear_call(market, interval, orders)
            self.send(call, gas)
        log.info("interval %d cleared: %d orders, %d Wh", interval, len(orders), witness.volume_wh)
        return {"interval": interval, "orders": len(orders), "volume_wh": witness.volume_wh}

    def settle(self, interval: int) -> int:
        """Settle every order of the cleared `interval` not settled yet; how many."""
        m = self.chain.contract("Market").functions
        count = int(self.chain.call(m.orderCount(interval)))
        ids = [order_id(interval, i) for i in range(count)]
        due = [i for i in ids if not self.chain.call(m.isSettled(i))]
        for call, gas in settle_calls(self.chain.contract("Market"), due):
            self.send(call, gas)
        if due:
            log.info("interval %d: settled %d orders", interval, len(due))
        return len(due)
