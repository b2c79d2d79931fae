"""A deployed contract stack on an engine, with participants, their meters and helpers.

The engine is behind a small protocol (time, snapshots, accounts) so the same code (contract
tests, the gas benchmark, the contract-level demo) runs on every engine that implements it;
the ephemeral eth-tester chain is the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from gridledger.contracts.typed import (
    TERMS_DOMAIN_NAME,
    MeterReading,
    MeterSignature,
    domain_separator,
    sign_reading,
    sign_terms,
)
from gridledger.node.errors import ContractRevertError
from gridledger.node.ledger.deploy import (
    Deployment,
    MarketTiming,
    RegulationRules,
    Roles,
    deploy_stack,
)
from gridledger.node.ledger.reverts import decode_revert, revert_data_of

# 2027-01-16 00:00:00 UTC: a midnight, so time-of-day windows are easy to read.
DAY0_TS = 1_800_057_600
TX_GAS_LIMIT = 25_000_000


class Engine(Protocol):
    """What the harness needs from a ledger engine beyond JSON-RPC."""

    w3: Web3

    def set_next_timestamp(self, ts: int) -> None: ...

    def mine(self) -> None: ...

    def snapshot(self) -> int: ...

    def revert(self, snapshot_id: int) -> None: ...

    def add_account(self, private_key: bytes) -> ChecksumAddress: ...

    def revert_data(self, exc: Exception) -> bytes | None: ...

    def now(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Participant:
    """A prosumer account with its own meter key."""

    address: ChecksumAddress
    key: bytes
    meter: ChecksumAddress
    meter_key: bytes


def _key(label: str) -> bytes:
    # Deterministic keys for sandbox accounts only; never for a real deployment.
    return keccak(text=f"gridledger-sandbox:{label}")


@dataclass
class Stack:
    """The deployed stack plus accounts, bound to one engine."""

    engine: Engine
    deployment: Deployment
    roles: Roles
    participants: list[Participant]
    contracts: dict[str, Contract] = field(default_factory=dict)
    separator: bytes = b""

    @property
    def w3(self) -> Web3:
        return self.engine.w3

    def __getattr__(self, name: str) -> Contract:
        # registry, regulation, token, import_cap, trust, metering, market
        mapping = {
            "registry": "Registry",
            "regulation": "Regulation",
            "token": "GridToken",
            "import_cap": "ImportCap",
            "trust": "Trust",
            "metering": "Metering",
            "market": "Market",
        }
        if name in mapping:
            return self.contracts[mapping[name]]
        raise AttributeError(name)

    def transact(self, call: Any, sender: str, gas: int | None = None) -> dict[str, Any]:
        """Send `call` from `sender`; return the receipt; reverts raise ContractRevertError."""
        params: dict[str, Any] = {"from": sender}
        if gas is None:
            # One eth_call surfaces a revert with its data; then send with a fixed gas limit
            # instead of letting the engine estimate (eth-tester's estimate re-runs the call
            # ~20 times in a binary search).
            with self.reverts():
                call.call(params)
            gas = TX_GAS_LIMIT
        params["gas"] = gas
        with self.reverts():
            tx_hash = call.transact(params)
        receipt = dict(self.w3.eth.wait_for_transaction_receipt(tx_hash))
        if receipt["status"] != 1:
            raise ContractRevertError("Unknown", ("status 0",), b"")
        return receipt

    def events(self, contract: Contract, name: str, receipt: dict[str, Any]) -> list[Any]:
        """Decoded `name` events of `contract` in `receipt` (other logs skipped)."""
        return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))

    def call(self, call: Any, sender: str | None = None) -> Any:
        """Call a view; reverts raise ContractRevertError."""
        with self.reverts():
            return call.call({"from": sender} if sender else {})

    @contextmanager
    def reverts(self) -> Iterator[None]:
        """Turn the engine's revert exceptions into ContractRevertError (decoded)."""
        try:
            yield
        except ContractRevertError:
            raise
        except Exception as exc:
            data = revert_data_of(exc) or self.engine.revert_data(exc)
            if data is None:
                raise
            raise decode_revert(data) from exc

    def consent(self, terms_abi: Sequence[Any], importer_key: bytes | None = None) -> bytes:
        """The importer's signed consent to an import-cap contract with the ContractTerms tuple
        `terms_abi` (by default signed with the key of the stack participant it names)."""
        if importer_key is None:
            importer = str(terms_abi[0]).lower()
            importer_key = next(p.key for p in self.participants if p.address.lower() == importer)
        address = self.import_cap.address
        separator = domain_separator(int(self.w3.eth.chain_id), address, TERMS_DOMAIN_NAME)
        return sign_terms(terms_abi, importer_key, separator)

    def sign(self, reading: MeterReading, meter_key: bytes) -> MeterSignature:
        return sign_reading(reading, meter_key, self.separator)

    def submit_readings(
        self,
        readings: Sequence[MeterReading],
        keys: Sequence[bytes],
        sender: str | None = None,
        gas: int | None = None,
    ) -> dict[str, Any]:
        """Sign each reading with the matching meter key and submit them as one batch."""
        sigs = [self.sign(r, k).as_abi() for r, k in zip(readings, keys, strict=True)]
        call = self.metering.functions.submitReadings([r.as_abi() for r in readings], sigs)
        return self.transact(call, sender or self.roles.operator, gas=gas)

    def at_time(self, ts: int) -> None:
        """Make the next block's timestamp `ts` and mine it."""
        self.engine.set_next_timestamp(ts)
        self.engine.mine()

    def fund_tokens(self, who: str, units: int) -> None:
        """Mint `units` to `who` and approve ImportCap and Market to pull them."""
        self.transact(self.token.functions.mint(who, units), self.roles.operator)
        for spender in ("ImportCap", "Market"):
            address = self.deployment.addresses[spender]
            self.transact(self.token.functions.approve(address, 2**255), who)


def build_stack(
    engine: Engine,
    n_participants: int = 6,
    rules: RegulationRules | None = None,
    timing: MarketTiming | None = None,
) -> Stack:
    """Deploy the stack with fresh deterministic accounts on `engine`."""
    names = ("admin", "operator", "regulator", "treasury", "outsider")
    addrs = {n: engine.add_account(_key(n)) for n in names}
    roles = Roles(
        admin=addrs["admin"],
        operator=addrs["operator"],
        regulator=addrs["regulator"],
        treasury=addrs["treasury"],
    )
    deployment = deploy_stack(
        engine.w3,
        roles,
        rules or RegulationRules(),
        timing or MarketTiming(epoch_start_ts=DAY0_TS),
    )
    participants = []
    for i in range(n_participants):
        key = _key(f"participant-{i}")
        meter_key = _key(f"meter-{i}")
        address = engine.add_account(key)
        meter = Web3.to_checksum_address(Account.from_key(meter_key).address)
        participants.append(Participant(address, key, meter, meter_key))
    stack = Stack(engine=engine, deployment=deployment, roles=roles, participants=participants)
    stack.contracts = {n: deployment.contract(engine.w3, n) for n in deployment.addresses}
    stack.separator = domain_separator(engine.w3.eth.chain_id, deployment.addresses["Metering"])
    for p in participants:
        stack.transact(stack.registry.functions.admit(p.address, p.meter), roles.operator)
    return stack
