"""A local energy market's books settled on a ledger, interval by interval, and read back.

The community's households each get an account and a meter key; the operator admits and funds
them, the regulator sets the band [feed-in, retail] and the grid fee as network charge. Then,
for every interval of the day (market/community.py's positions, after the feeder's cut):

1. orders: each household with a need places a buy, each with a surplus a sell, from its own
   account (Market.placeOrder; a buy escrows its limit);
2. clearing: after the gate, the operator reads the book from the chain, sorts it in Python
   (market/witness.py) and submits the sort witness (Market.clear, or beginClearing +
   submitWitness chunks + finalizeClearing beyond CLEAR_IN_ONE orders); the contract checks it
   and fixes the uniform price;
3. settlement: the operator settles the orders (Market.settleOrders); what each order filled
   is read from the OrderSettled events, and the grid's part is paid in tokens: a household
   pays the grid account for what it imports at the retail tariff, the grid pays it for what it
   exports at feed-in (GridToken transfers, the same rounding as market/community.py);
4. readings: once the interval is over, each household's meter signs its reading (the energy
   it imported or exported) and the operator relays them (Metering.submitReadings), so every
   sale's delivery obligation is accounted on chain.

At the end every household withdraws its credits. Each household's money is then read from the
chain alone (escrow and grid transfers from token Transfer events, credits from OrderSettled,
the balance change from balanceOf) and compared to the off-chain settlement of the same
positions by the same rule (clear_community with UniformPriceAuction), to the token unit; the
delivery obligations are audited by node/audit/ (each recomputed from the readings on chain).

Only the uniform-price auction runs on Market.sol: the P2P mid-price and the bid-free price are
not rules the contract can verify (docs/reproductions.md says so).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import MeterReading, domain_separator, sign_reading
from gridledger.contracts.units import TOKEN_UNITS, WEI_PER_ETHER
from gridledger.market.community import (
    CommunityBook,
    Feeder,
    Position,
    Tariffs,
    community_book,
    grid_export_units,
    grid_import_units,
)
from gridledger.market.witness import chunks, witness_for
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.demo.lem_ledgers import LemLedger, sandbox_account
from gridledger.node.demo.lem_outbox import Outbox
from gridledger.node.operator.duties import book_of, clear_call, order_id, settle_calls

Progress = Callable[[str], None]
HOUSEHOLD_TOKENS = 1_000
GRID_TOKENS = 10_000_000
HOUSEHOLD_WEI = 100 * WEI_PER_ETHER
CLEAR_IN_ONE = 250
"""Up to this many orders the witness goes in one Market.clear; beyond, in chunks of it."""
READING_BATCH = 100
RELEASE_BATCH = 256
"""Held sell proceeds released per Market.release (its cap is MAX_SETTLE_BATCH, 512)."""
OPEN_WINDOW_S = 600
"""Orders are placed in the last OPEN_WINDOW_S before the gate closes [s]."""
GAS = {"place": 400_000, "approve": 100_000, "admit": 300_000, "mint": 200_000,
       "transfer": 100_000, "withdraw": 150_000, "rule": 200_000}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Member:
    """A household's account and its meter's key."""

    name: str
    account: LocalAccount
    meter: LocalAccount


@dataclass
class ChainMoney:
    """One household's money as read from the chain [units]."""

    escrow_units: int = 0
    buy_credit_units: int = 0
    sell_credit_units: int = 0
    grid_paid_units: int = 0
    grid_received_units: int = 0
    withdrawn_units: int = 0
    balance_change_units: int = 0
    # a seller's proceeds are held until its delivery is metered; `release` pays the delivery
    # penalty from them to the treasury and the rest to the seller (in sell_credit_units)
    delivery_penalty_units: int = 0

    @property
    def paid_units(self) -> int:
        return self.escrow_units - self.buy_credit_units + self.grid_paid_units

    @property
    def received_units(self) -> int:
        return self.sell_credit_units + self.grid_received_units


@dataclass
class GasTally:
    """gasUsed summed per kind of transaction, and the orders they served."""

    orders: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, kind: str, receipts: Sequence[dict[str, Any]]) -> None:
        self.by_kind[kind] += sum(int(r["gasUsed"]) for r in receipts)

    def per_order(self, *kinds: str) -> float:
        return sum(self.by_kind[k] for k in kinds) / self.orders if self.orders else 0.0


@dataclass(frozen=True, slots=True)
class IntervalOnChain:
    """One interval as settled on the ledger: the chain's price [units/kWh] and volume [Wh],
    orders, and the wall time of orders -> cleared -> settled [s] (market) and of the grid
    transfers [s]."""

    interval: int
    orders: int
    price_per_kwh: int
    volume_wh: int
    market_s: float
    grid_s: float


class LedgerMarket:
    """A community's uniform-price market on `ledger` (see the module docstring)."""

    def __init__(self, ledger: LemLedger, tariffs: Tariffs, progress: Progress) -> None:
        self.ledger, self.tariffs, self.progress = ledger, tariffs, progress
        self.outbox = Outbox(ledger)
        d = ledger.deployment
        self.market = d.contract(ledger.w3, "Market")
        self.token = d.contract(ledger.w3, "GridToken")
        self.registry = d.contract(ledger.w3, "Registry")
        self.regulation = d.contract(ledger.w3, "Regulation")
        self.metering = d.contract(ledger.w3, "Metering")
        self.clock = MarketClock.of(self.market)
        self.separator = domain_separator(ledger.chain_id, d.addresses["Metering"])
        self.grid = sandbox_account("grid")
        self.members: dict[str, Member] = {}
        self.money: dict[str, ChainMoney] = defaultdict(ChainMoney)
        self.gas = GasTally()
        self.intervals: list[IntervalOnChain] = []
        self.filled_sells = 0
        self._held_ids: list[int] = []  # filled sells whose proceeds the Market holds
        """Sell orders that filled: each is a delivery obligation on ImportCap."""
        self._start_balance: dict[str, int] = {}
        self._seq: dict[str, int] = defaultdict(int)
        self._readings: list[tuple[Member, MeterReading]] = []
        self._by_address: dict[str, str] = {}
        self._grid_ready = False

    # ------------------------------------------------------------ setup
    def join(self, names: Sequence[str], until_ts: int) -> None:
        """Admit and fund the households of `names` not yet members (and, the first time, set
        the band and fund the grid); mined before `until_ts` [unix s]."""
        op, ob = self.ledger.roles.operator, self.outbox
        sent: dict[str, list[bytes]] = defaultdict(list)
        if not self._grid_ready:
            reg, f = self.ledger.roles.regulator, self.regulation.functions
            band = self.tariffs.band()
            sent["setup"].append(
                ob.call(reg, f.setPriceBand(band.floor_per_kwh, band.ceiling_per_kwh), GAS["rule"])
            )
            sent["setup"].append(ob.call(reg, f.setNetworkCharge(band.network_charge_per_kwh),
                                         GAS["rule"]))  # fmt: skip
            sent["setup"].append(ob.pay(op, self.grid.address, HOUSEHOLD_WEI))
            mint = self.token.functions.mint(self.grid.address, GRID_TOKENS * TOKEN_UNITS)
            sent["setup"].append(ob.call(op, mint, GAS["mint"]))
            self._grid_ready = True
        new = [n for n in names if n not in self.members]
        for name in new:
            m = Member(name, sandbox_account(f"household:{name}"), sandbox_account(f"meter:{name}"))
            self.members[name] = m
            self._by_address[m.account.address] = name
            who = m.account.address
            sent["setup"].append(ob.pay(op, who, HOUSEHOLD_WEI))
            sent["setup"].append(ob.call(op, self.registry.functions.admit(who, m.meter.address),
                                         GAS["admit"]))  # fmt: skip
            mint = self.token.functions.mint(who, HOUSEHOLD_TOKENS * TOKEN_UNITS)
            sent["setup"].append(ob.call(op, mint, GAS["mint"]))
        # Approvals only once the ether to pay for them is mined.
        ob.drive(self.ledger.now_ts() + self.ledger.block_step_s, until_ts, "admission")
        approve = self.token.functions.approve(self.market.address, 2**255)
        for name in new:
            sent["setup"].append(ob.call(self.members[name].account, approve, GAS["approve"]))
        ob.drive(self.ledger.now_ts() + self.ledger.block_step_s, until_ts, "approvals")
        self.gas.add("setup", ob.receipts(sent["setup"]))
        for name in new:
            who = self.members[name].account.address
            self._start_balance[name] = int(self.token.functions.balanceOf(who).call())
        self.progress(f"{len(new)} households admitted, funded and approved on {self.ledger.name}")

    # ------------------------------------------------------------ one interval
    def settle_interval(
        self,
        interval: int,
        positions: Sequence[Position],
        feeder: Feeder | None = None,
        grid: bool = True,
        readings: bool = True,
    ) -> IntervalOnChain:
        """Trade `positions` in chain interval `interval`: orders, clearing, settlement, then
        (with `grid`) the grid's part in tokens; the interval's readings (with `readings`) are
        relayed in the next call's settlement phase or by finish()."""
        book = community_book(positions, self.tariffs, feeder)
        start_ts = self.clock.start_ts(interval)
        gate_ts = self.clock.gate_closure_ts(interval)
        # The households sign their orders on their own devices: the clock starts once signed,
        # and stops when the last settlement is in a block (receipts are read afterwards).
        placed = self._place(interval, book, positions)
        started = time.perf_counter()
        self.outbox.drive(gate_ts - OPEN_WINDOW_S, gate_ts - 1, f"orders of interval {interval}")
        count = int(self.market.functions.orderCount(interval).call())
        cleared = self._clear(interval) if count else []
        if cleared:
            self.outbox.drive(gate_ts, start_ts - 1, f"clearing of interval {interval}")
        settled = self._settle(interval, count)
        relayed = self._relay()  # the previous interval is over: its readings can go on chain
        last_ts = self.outbox.drive(start_ts, start_ts + 600, f"settlement of {interval}")
        market_s = time.perf_counter() - started
        place_receipts = self.outbox.receipts(placed)
        self.gas.add("place", place_receipts)
        self._record_transfers(place_receipts)
        self.gas.add("clear", self.outbox.receipts(cleared))
        receipts = self.outbox.receipts(settled)
        self.gas.add("settle", receipts)
        self.gas.add("readings", self.outbox.receipts(relayed))
        fills = self._record_settlement(receipts)
        started = time.perf_counter()
        if grid:
            paid = self._pay_grid(book, positions, fills)
            self.outbox.drive(last_ts + 1, start_ts + 1200, f"grid payments of {interval}")
        grid_s = time.perf_counter() - started
        if grid:
            grid_receipts = self.outbox.receipts(paid)
            self.gas.add("grid", grid_receipts)
            self._record_transfers(grid_receipts)
        if readings:
            self._queue_readings(start_ts, book, positions)
        self.gas.orders += count
        result = self.market.functions.resultOf(interval).call()
        row = IntervalOnChain(interval, count, int(result[1]), int(result[2]), market_s, grid_s)
        self.intervals.append(row)
        return row

    def _place(
        self, interval: int, book: CommunityBook, positions: Sequence[Position]
    ) -> list[bytes]:
        place = self.market.functions.placeOrder
        sent = []
        for o in book.orders:  # in index order: the chain's ranking ties break the same way
            member = self.members[positions[o.index].owner]
            call = place(interval, int(o.side), o.quantity_wh, o.limit_price_per_kwh)
            sent.append(self.outbox.call(member.account, call, GAS["place"]))
        return sent

    def _clear(self, interval: int) -> list[bytes]:
        """The operator's witness from the book as the chain holds it (node/operator/duties.py
        builds the calls, as for the operator service)."""
        orders = book_of(self.market, interval)
        op, m = self.ledger.roles.operator, self.market.functions
        if len(orders) <= CLEAR_IN_ONE:
            call, gas, _ = clear_call(self.market, interval, orders)
            return [self.outbox.call(op, call, gas)]
        w = witness_for(orders)
        sent = [self.outbox.call(op, m.beginClearing(interval, w.volume_wh), 300_000)]
        for chunk in chunks(w, CLEAR_IN_ONE):
            call = m.submitWitness(interval, int(chunk.side), list(chunk.indices))
            sent.append(self.outbox.call(op, call, 200_000 + 40_000 * len(chunk.indices)))
        sent.append(self.outbox.call(op, m.finalizeClearing(interval), 500_000))
        return sent

    def _settle(self, interval: int, count: int) -> list[bytes]:
        ids = [order_id(interval, i) for i in range(count)]
        op = self.ledger.roles.operator
        return [self.outbox.call(op, call, gas) for call, gas in settle_calls(self.market, ids)]

    def _record_settlement(self, receipts: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Credits per household from OrderSettled; the fills [Wh] by household name."""
        fills: dict[str, int] = {}
        event = self.market.events.OrderSettled()
        for receipt in receipts:
            for e in event.process_receipt(receipt, errors=DISCARD):
                name = self._by_address[e["args"]["owner"]]
                credited = int(e["args"]["creditedUnits"])  # a sell's: 0, its proceeds held
                if Side(e["args"]["side"]) is Side.BUY:
                    self.money[name].buy_credit_units += credited
                else:
                    self.money[name].sell_credit_units += credited
                    self.filled_sells += int(e["args"]["filledWh"]) > 0
                fills[name] = int(e["args"]["filledWh"])
            held = self.market.events.ProceedsHeld().process_receipt(receipt, errors=DISCARD)
            self._held_ids.extend(int(e["args"]["orderId"]) for e in held)
        return fills

    def _release(self, receipts: Sequence[dict[str, Any]]) -> None:
        """Each seller's share of its released proceeds, and the delivery penalty taken."""
        event = self.market.events.ProceedsReleased()
        for receipt in receipts:
            for e in event.process_receipt(receipt, errors=DISCARD):
                name = self._by_address[e["args"]["seller"]]
                seller_units = int(e["args"]["sellerUnits"])
                penalty_units = int(e["args"]["treasuryUnits"])
                self.money[name].sell_credit_units += seller_units + penalty_units
                self.money[name].delivery_penalty_units += penalty_units

    def _record_transfers(self, receipts: Sequence[dict[str, Any]]) -> None:
        """Escrow (household -> Market) and grid payments (household <-> grid) from the token's
        Transfer events."""
        market, grid = self.market.address, self.grid.address
        for receipt in receipts:
            for e in self.token.events.Transfer().process_receipt(receipt, errors=DISCARD):
                src, dst, units = e["args"]["from"], e["args"]["to"], int(e["args"]["value"])
                if dst == market and src in self._by_address:
                    self.money[self._by_address[src]].escrow_units += units
                elif dst == grid and src in self._by_address:
                    self.money[self._by_address[src]].grid_paid_units += units
                elif src == grid and dst in self._by_address:
                    self.money[self._by_address[dst]].grid_received_units += units

    def _pay_grid(
        self, book: CommunityBook, positions: Sequence[Position], fills: dict[str, int]
    ) -> list[bytes]:
        """The grid's part of each household from what its order filled on chain."""
        transfer = self.token.functions.transfer
        sent = []
        for i, p in enumerate(positions):
            served = book.served_wh[i]
            rest = abs(served) - fills.get(p.owner, 0)
            member = self.members[p.owner]
            if served > 0 and (units := grid_import_units(rest, self.tariffs)) > 0:
                call = transfer(self.grid.address, units)
                sent.append(self.outbox.call(member.account, call, GAS["transfer"]))
            elif served < 0 and (units := grid_export_units(rest, self.tariffs)) > 0:
                call = transfer(member.account.address, units)
                sent.append(self.outbox.call(self.grid, call, GAS["transfer"]))
        return sent

    def _queue_readings(
        self, start_ts: int, book: CommunityBook, positions: Sequence[Position]
    ) -> None:
        for i, p in enumerate(positions):
            member, served = self.members[p.owner], book.served_wh[i]
            self._seq[p.owner] += 1
            reading = MeterReading(
                member.meter.address, member.account.address, start_ts,
                self.clock.interval_length_s, max(served, 0), max(-served, 0), self._seq[p.owner],
            )  # fmt: skip
            self._readings.append((member, reading))

    def _relay(self) -> list[bytes]:
        """The queued readings, signed by each meter and relayed by the operator."""
        op, sent = self.ledger.roles.operator, []
        queued, self._readings = self._readings, []
        for s in range(0, len(queued), READING_BATCH):
            batch = queued[s : s + READING_BATCH]
            sigs = [sign_reading(r, bytes(m.meter.key), self.separator).as_abi() for m, r in batch]
            call = self.metering.functions.submitReadings([r.as_abi() for _, r in batch], sigs)
            sent.append(self.outbox.call(op, call, 200_000 + 120_000 * len(batch)))
        return sent

    # ------------------------------------------------------------ end of the day
    def finish(self, after_ts: int) -> None:
        """Relay the last readings (at `after_ts`, once their interval is over), withdraw every
        credit, and read each household's balance change."""
        relayed = self._relay()
        after_ts = self.outbox.drive(after_ts, after_ts + 3600, "the last readings")
        # every seller's readings now reach its intervals' ends: release the held proceeds
        op, release = self.ledger.roles.operator, self.market.functions.release
        held, self._held_ids = self._held_ids, []  # each order is released once
        releases = [
            self.outbox.call(op, release(batch), 100_000 + 60_000 * len(batch))
            for batch in (held[s : s + RELEASE_BATCH] for s in range(0, len(held), RELEASE_BATCH))
        ]
        after_ts = self.outbox.drive(after_ts, after_ts + 3600, "the releases of held proceeds")
        release_receipts = self.outbox.receipts(releases)
        self.gas.add("release", release_receipts)
        self._release(release_receipts)
        withdrawals: list[bytes] = []
        for member in self.members.values():
            if int(self.market.functions.claimableOf(member.account.address).call()) > 0:
                call = self.market.functions.withdraw()
                withdrawals.append(self.outbox.call(member.account, call, GAS["withdraw"]))
        self.outbox.drive(after_ts, after_ts + 3600, "withdrawals")
        self.gas.add("readings", self.outbox.receipts(relayed))
        receipts = self.outbox.receipts(withdrawals)
        self.gas.add("withdraw", receipts)
        for receipt in receipts:
            for e in self.market.events.Withdrawn().process_receipt(receipt, errors=DISCARD):
                name = self._by_address[e["args"]["account"]]
                self.money[name].withdrawn_units += int(e["args"]["amountUnits"])
        for name, member in self.members.items():
            now = int(self.token.functions.balanceOf(member.account.address).call())
            self.money[name].balance_change_units = now - self._start_balance[name]
