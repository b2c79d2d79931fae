"""A stand-in for LedgerClient and its bound contracts, so the agents' decisions can be
tested without a chain: views answer from a table, sends are recorded (name, args, gas)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MARKET_GRID = {"epochStartTs": 1_000_000, "intervalLengthS": 900, "gateClosureLeadS": 300}


@dataclass(frozen=True)
class Call:
    contract: str
    name: str
    args: tuple[Any, ...]
    answer: Callable[..., Any] | None = None

    def call(self) -> Any:
        assert self.answer is not None, f"{self.contract}.{self.name} is not a view here"
        return self.answer(*self.args)


class _Functions:
    def __init__(self, contract: FakeContract) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> Callable[..., Call]:
        view = self._contract.views.get(name)
        answer = view if callable(view) or view is None else (lambda *_, v=view: v)
        return lambda *args: Call(self._contract.name, name, args, answer)


class FakeContract:
    def __init__(self, name: str, views: dict[str, Any] | None = None) -> None:
        self.name = name
        self.views: dict[str, Any] = dict(views or {})
        self.functions = _Functions(self)


@dataclass
class _Eth:
    head_ts: int = 0

    def get_block(self, tag: str) -> dict[str, int]:
        assert tag == "latest"
        return {"timestamp": self.head_ts}


@dataclass
class _W3:
    eth: _Eth = field(default_factory=_Eth)


@dataclass
class FakeDeployment:
    addresses: dict[str, str] = field(default_factory=dict)


class FakeClient:
    """LedgerClient's surface the agents use: contract, send, wait, address, w3."""

    def __init__(self, address: str, contracts: dict[str, FakeContract]) -> None:
        self.address = address
        self.contracts = contracts
        self.deployment = FakeDeployment({name: f"0x{i:040x}" for i, name in enumerate(contracts)})
        self.w3 = _W3()
        self.sent: list[bytes] = []
        self.sends: list[tuple[str, str, tuple[Any, ...], int]] = []

    def contract(self, name: str) -> FakeContract:
        return self.contracts[name]

    def send(self, call: Call, gas: int) -> bytes:
        tx_hash = len(self.sends).to_bytes(32, "big")
        self.sends.append((call.contract, call.name, call.args, gas))
        self.sent.append(tx_hash)
        return tx_hash

    def wait(self, hashes: list[bytes]) -> list[dict[str, Any]]:
        return [{"status": 1, "transactionHash": h} for h in hashes]

    def named(self, name: str) -> list[tuple[tuple[Any, ...], int]]:
        return [(args, gas) for _, n, args, gas in self.sends if n == name]
