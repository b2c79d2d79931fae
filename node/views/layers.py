"""GET /v1/layers: the seven layers of Zia et al. (2020), each with the modules that implement
it here (node/layer_map.py) and its state read live from the node and the chain.

A layer whose state cannot be read (no deployment yet, ledger down) reports the reason in
`state.error` instead of failing the whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from web3.exceptions import Web3RPCError

from gridledger.contracts.enums import AdmissionPolicy, Phase
from gridledger.node.errors import NodeError
from gridledger.node.layer_map import EMBEDDED_LEDGER, EXTERNAL_LEDGER, LAYERS, Layer
from gridledger.node.views import events
from gridledger.node.views.chain import ChainView
from gridledger.node.views.market import MarketView, default_interval
from gridledger.node.views.records import LayerOut, LayersOut

ZERO_ADDRESS = "0x" + "00" * 20
READ_ERRORS = (NodeError, Web3RPCError, requests.ConnectionError)


class LayerTable:
    """Builds the layer table from the node's service and deployment."""

    def __init__(self, chain: ChainView, market: MarketView) -> None:
        self.chain = chain
        self.market = market

    def layers(self) -> LayersOut:
        status = self.chain.service.status()
        embedded = self.chain.service.chain is not None
        states: dict[str, Callable[[], dict[str, Any]]] = {
            "L1": self._user,
            "L2": self._network,
            "L3": self._operator,
            "L4": self._market,
            "L5": lambda: self._ledger(status, embedded),
            "L6": lambda: self._communication(status),
            "L7": self._regulation,
        }
        rows = [
            (layer.key, layer.name, _modules(layer, embedded), states[layer.key])
            for layer in LAYERS
        ]
        return LayersOut(
            layers=[
                LayerOut(layer=layer, name=name, modules=modules, state=_read(state))
                for layer, name, modules, state in rows
            ]
        )

    def _user(self) -> dict[str, Any]:
        prosumer = self.chain.account("prosumer")
        call = self.chain.call
        market = self.chain.contract("Market").functions
        return {
            "prosumer": prosumer,
            "admitted": bool(call(self.chain.contract("Registry").functions.isActive(prosumer))),
            "balance_units": int(
                call(self.chain.contract("GridToken").functions.balanceOf(prosumer))
            ),
            "claimable_units": int(call(market.claimableOf(prosumer))),
        }

    def _network(self) -> dict[str, Any]:
        prosumer = self.chain.account("prosumer")
        meter = str(self.chain.call(self.chain.contract("Registry").functions.meterOf(prosumer)))
        if meter == ZERO_ADDRESS:
            return {"prosumer": prosumer, "meter": None, "last_seq": 0, "last_reading_end_ts": 0}
        last_seq, last_end_ts = self.chain.call(
            self.chain.contract("Metering").functions.meterState(meter)
        )
        return {
            "prosumer": prosumer,
            "meter": meter,
            "last_seq": int(last_seq),
            "last_reading_end_ts": int(last_end_ts),
        }

    def _operator(self) -> dict[str, Any]:
        call = self.chain.call
        return {
            "operator": self.chain.account("operator"),
            "import_cap_contracts": int(
                call(self.chain.contract("ImportCap").functions.contractCount())
            ),
            "market_paused": bool(call(self.chain.contract("Market").functions.paused())),
            "metering_paused": bool(call(self.chain.contract("Metering").functions.paused())),
        }

    def _market(self) -> dict[str, Any]:
        market = self.chain.contract("Market")
        head = int(self.chain.w3.eth.block_number)
        last = events.latest(events.getter(market, "IntervalCleared"), head)
        last_interval = int(last["args"]["interval"]) if last else None
        # voidInterval also emits IntervalCleared(interval, 0, 0): a voided interval has no price.
        voided = last_interval is not None and self.market.voided(last_interval, head)
        priced = last if last is not None and not voided else None
        grid = self.chain.grid()
        open_interval = default_interval(self.chain)
        phase = Phase(int(self.chain.call(market.functions.phaseOf(open_interval))))
        return {
            "last_cleared_interval": last_interval,
            "last_interval_voided": voided,
            "last_price_per_kwh": int(priced["args"]["priceUnitsPerKwh"]) if priced else None,
            "last_volume_wh": int(priced["args"]["volumeWh"]) if priced else None,
            "next_open_interval": open_interval,
            "next_open_interval_phase": phase.label,
            "interval_length_s": grid.interval_length_s,
            "gate_closure_lead_s": grid.gate_lead_s,
        }

    def _ledger(self, status: dict[str, Any], embedded: bool) -> dict[str, Any]:
        w3 = self.chain.w3
        try:
            finalized: int | None = int(w3.eth.get_block("finalized")["number"])
        except (Web3RPCError, ValueError):
            finalized = None  # a ledger without the 'finalized' tag
        return {
            "engine": "embedded" if embedded else "json-rpc",
            "chain_id": int(w3.eth.chain_id),
            "head": int(w3.eth.block_number),
            "finalized": finalized,
            "peers": status.get("peers"),
            "pending_transactions": status.get("pending"),
        }

    def _communication(self, status: dict[str, Any]) -> dict[str, Any]:
        return {
            "rest": "/v1",
            "openapi": "/openapi.json",
            "json_rpc": "/rpc",
            "peers": status.get("peers"),
        }

    def _regulation(self) -> dict[str, Any]:
        r = self.chain.contract("Regulation").functions
        call = self.chain.call
        policy = AdmissionPolicy(int(call(r.admissionPolicy())))
        return {
            "price_floor_per_kwh": int(call(r.priceFloorPerKwh())),
            "price_ceiling_per_kwh": int(call(r.priceCeilingPerKwh())),
            "network_charge_per_kwh": int(call(r.networkChargePerKwh())),
            "min_cap_w": int(call(r.minCapW())),
            "max_cap_w": int(call(r.maxCapW())),
            "min_trust_wad": int(call(r.minTrustWad())),
            "admission_policy": policy.label,
            "delivery_penalty_per_kwh": int(call(r.deliveryPenaltyPerKwh())),
            "delivery_beta_wad_per_kwh": int(call(r.deliveryBetaWadPerKwh())),
        }


def _modules(layer: Layer, embedded: bool) -> list[str]:
    """The layer's paths from the layer map; L5 names the external ledger when there is one."""
    if embedded:
        return list(layer.paths)
    return [EXTERNAL_LEDGER if p == EMBEDDED_LEDGER else p for p in layer.paths]


def _read(state: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return state()
    except READ_ERRORS as exc:
        return {"error": str(exc)[:300] or type(exc).__name__}
