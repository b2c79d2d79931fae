"""Placing orders from the node's prosumer account.

Every check the contract makes is run first as a call, so a refused order sends nothing and
changes nothing. A buy escrows ceil(q * limit / 1000) units, pulled by the Market: when the
preflight call stops only at the allowance (placeOrder makes every other check before the
transfer), the node checks the balance by calling a transfer of the escrow, approves exactly
the escrow, and places the order. Writes are serialised, so one order's approval cannot be
consumed by another's.
"""

from __future__ import annotations

import threading
from typing import Any

from web3.logs import DISCARD

from gridledger.contracts.enums import Side
from gridledger.market.orders import Order
from gridledger.node.errors import ContractRevertError
from gridledger.node.rest.schemas import OrderPlaced, OrderRequest
from gridledger.node.views.chain import ChainView
from gridledger.node.views.market import default_interval, split_order_id

# placeOrder costs ~60-110k gas (a sell reserves its delivery record, a buy moves escrow);
# approve ~30-50k. Fixed limits skip gas estimation; unused gas is not charged.
ORDER_GAS = 400_000
APPROVE_GAS = 100_000
PROSUMER = "prosumer"


class OrderDesk:
    """Places orders for the node's prosumer account through the Market contract."""

    def __init__(self, chain: ChainView) -> None:
        self.chain = chain
        self._lock = threading.Lock()

    def default_interval(self) -> int:
        """The first interval whose gate closes at least GATE_MARGIN_S from now."""
        return default_interval(self.chain)

    def place(self, request: OrderRequest) -> OrderPlaced:
        """Place `request`; contract refusals raise ContractRevertError, sending nothing."""
        with self._lock:
            market = self.chain.contract("Market")
            prosumer = self.chain.account(PROSUMER)
            interval = request.interval
            if interval is None:
                interval = self.default_interval()
            side = request.side
            call = market.functions.placeOrder(
                interval, int(side), request.quantity_wh, request.limit_price_per_kwh
            )
            approval: str | None = None
            try:
                self.chain.call(call, prosumer)
            except ContractRevertError as exc:
                if side is not Side.BUY or exc.name != "ERC20InsufficientAllowance":
                    raise
                approval = self._approve_escrow(request, prosumer)
            receipt = self.chain.send(call, prosumer, ORDER_GAS)
            (event,) = market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
            order_id = int(event["args"]["orderId"])
            return OrderPlaced(
                order_id=order_id,
                interval=interval,
                index=split_order_id(order_id)[1],
                owner=prosumer,
                side=request.side,
                quantity_wh=request.quantity_wh,
                limit_price_per_kwh=request.limit_price_per_kwh,
                tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
                block_number=int(receipt["blockNumber"]),
                approval_tx_hash=approval,
            )

    def place_limit(
        self, side: Side, quantity_wh: int, price_per_kwh: int, interval: int
    ) -> OrderPlaced:
        """`place` from the node's own agents (the auto-bidder): the same checks."""
        return self.place(
            OrderRequest(
                side=side,
                quantity_wh=quantity_wh,
                limit_price_per_kwh=price_per_kwh,
                interval=interval,
            )
        )

    def _approve_escrow(self, request: OrderRequest, prosumer: str) -> str:
        escrow_units = Order(
            0, prosumer, Side.BUY, request.quantity_wh, request.limit_price_per_kwh
        ).escrow_units
        token: Any = self.chain.contract("GridToken").functions
        market_address = self.chain.address("Market")
        # ERC20InsufficientBalance(prosumer, balance, escrow) if the escrow is not there.
        self.chain.call(token.transfer(market_address, escrow_units), prosumer)
        receipt = self.chain.send(
            token.approve(market_address, escrow_units), prosumer, APPROVE_GAS
        )
        return "0x" + bytes(receipt["transactionHash"]).hex()
