"""The operator's contract coordinator on the ledger (L3): admits the microgrids' participants
with their meters, funds them with settlement tokens, creates the scenario's import-cap
contracts, clears and settles every market interval by submitting the sort witness, and, as
the keeper, releases the sellers' held proceeds once their delivery is metered (or its grace
period has run out; docs/contracts.md, "Held proceeds").

The battery dispatch during the window (holding PCC import under the cap, bounded by battery
power and energy) is `sim.controllers.OperatorRule`, run by the operator's federate on the bus;
`OperatorAgent.on_tick` is its ledger side, called once per simulation tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gridledger.contracts.enums import Side
from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.accounting import ContractTerms
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.operator.duties import (
    ADMIT_GAS,
    CAP_GAS,
    MINT_GAS,
    SETTLE_BATCH,
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
from gridledger.node.operator.terms import cap_terms
from gridledger.sim.scenario import CapContract

log = logging.getLogger(__name__)

FUNDING_UNITS = 10_000 * TOKEN_UNITS
__all__ = ["FUNDING_UNITS", "SETTLE_BATCH", "Member", "OperatorAgent"]


class OperatorAgent:
    """Ledger duties of the operator, sent from the node's operator account."""

    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.registry = client.contract("Registry")
        self.token = client.contract("GridToken")
        self.import_cap = client.contract("ImportCap")
        self.market = client.contract("Market")
        self.clock = MarketClock.of(self.market)
        self.contract_ids: dict[str, int] = {}
        self._contract_txs: dict[str, bytes] = {}
        self.cleared: set[int] = set()
        self._skipped: set[int] = set()
        # Sell orders of cleared intervals whose held proceeds are not yet released.
        self.unreleased: dict[int, list[int]] = {}
        self._owners: dict[int, str] = {}  # sell id -> seller (take_due_releases' cache)

    def release_due(self, now_ts: int) -> int:
        """Send release() for the settled, filled sells of ended intervals whose seller's
        readings reach the interval's end, or whose grace period ran out; the number of
        sells released."""
        taken = take_due_releases(
            self.unreleased,
            self.market,
            self.import_cap,
            lambda interval: self.clock.start_ts(interval + 1),
            now_ts,
            self._owners,
        )
        due = [sell_id for _, sells in taken for sell_id in sells]
        for batch in release_batches(due):
            self.client.send(*release_call(self.market, batch))
        return len(due)

    # ------------------------------------------------------------ setup
    def admit_and_fund(self, members: list[Member], wait: bool = True) -> None:
        """Admit every participant with its meter (once) and mint it settlement tokens
        (`wait`: until mined; on a simulation clock the caller cannot wait mid-tick)."""
        sent = []
        for m in members:
            if not self.registry.functions.isActive(m.participant).call():
                sent.append(self.client.send(admit_call(self.registry, m), ADMIT_GAS))
                sent.append(
                    self.client.send(mint_call(self.token, m.participant, FUNDING_UNITS), MINT_GAS)
                )
        if wait:
            self.client.wait(sent)
        log.info("admitting and funding %d participants", len(sent) // 2)

    def send_contracts(
        self,
        contracts: list[CapContract],
        members: dict[str, Member],
        day_ts: int,
        consent: Callable[[ContractTerms], bytes],
    ) -> None:
        """Send one import-cap contract per scenario cap (for the day at `day_ts`), each with
        its importer's signed consent to the terms (`consent`, by the importer's key)."""
        for c in contracts:
            terms = cap_terms(c, members[c.microgrid].participant, self.client.address, day_ts)
            call = self.import_cap.functions.createContract(terms.as_abi(), consent(terms))
            self._contract_txs[c.name] = self.client.send(call, CAP_GAS)

    def collect_contract_ids(self) -> dict[str, int]:
        """The ids of the contracts sent, by scenario name, once mined."""
        created = self.import_cap.events.ContractCreated()
        for name, tx_hash in self._contract_txs.items():
            if name not in self.contract_ids:
                receipt = self.client.wait([tx_hash])[0]
                (event,) = created.process_receipt(receipt)
                self.contract_ids[name] = int(event["args"]["contractId"])
        return dict(self.contract_ids)

    def create_contracts(
        self,
        contracts: list[CapContract],
        members: dict[str, Member],
        day_ts: int,
        consent: Callable[[ContractTerms], bytes],
    ) -> dict[str, int]:
        """Send the contracts and wait for their ids."""
        self.send_contracts(contracts, members, day_ts, consent)
        return self.collect_contract_ids()

    # ------------------------------------------------------------ market
    def on_tick(self, now_ts: int) -> None:
        """Clear and settle every interval whose gate has closed and that has not started;
        release the held proceeds that are due."""
        self.release_due(now_ts)
        interval = self.clock.interval_at(now_ts) + 1
        if (
            now_ts < self.clock.gate_closure_ts(interval)
            or interval in self.cleared
            or interval in self._skipped
        ):
            return
        self.clear(interval)

    def clear(self, interval: int) -> bool:
        """Submit the witness of `interval` and settle its orders (sent, not awaited), once
        the chain's head is past the gate (no order can still join the book)."""
        head_ts = int(self.client.w3.eth.get_block("latest")["timestamp"])
        if head_ts < self.clock.gate_closure_ts(interval):
            return False
        orders = book_of(self.market, interval)
        if not orders:
            self._skipped.add(interval)
            return False
        call, gas, w = clear_call(self.market, interval, orders)
        self.client.send(call, gas)
        ids = [order_id(interval, o.index) for o in orders]
        for settle, settle_gas in settle_calls(self.market, ids):
            self.client.send(settle, settle_gas)
        self.cleared.add(interval)
        self.unreleased[interval] = [
            order_id(interval, o.index) for o in orders if o.side is Side.SELL
        ]
        log.info("interval %d: %d orders, %d Wh cleared", interval, len(orders), w.volume_wh)
        return True
