"""Genesis of an embedded chain: chain id, gas limit, timestamp, pre-funded accounts, the
Aura authorities and block period, and recorded deploy transactions executed into the genesis
state (so every replica starts with the contracts, and consensus can read them from block 1)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from eth_utils.address import is_hex_address, to_canonical_address, to_checksum_address

from gridledger.contracts.units import WEI_PER_ETHER
from gridledger.node.errors import ConfigError

ROLE_FUND_WEI = 1_000_000 * WEI_PER_ETHER
"""What a node's own accounts get at genesis [wei]."""


@dataclass(frozen=True, slots=True)
class GenesisConfig:
    """What every replica of one chain must agree on.

    chain_id: EIP-155 id; gas_limit: block gas limit [gas]; timestamp_ts: genesis time [unix s];
    base_fee_wei: EIP-1559 base fee of the genesis block [wei]; prefund: address -> balance [wei];
    authorities: Aura sealers in turn order (empty: a single unsealed node); period_s: Aura
    block period [s]; deploy_txs: signed raw transactions executed, in order, into the genesis
    state (each must succeed).
    """

    chain_id: int = 31_337
    gas_limit: int = 60_000_000
    timestamp_ts: int = 1_767_225_600  # 2026-01-01 00:00 UTC
    base_fee_wei: int = 1_000_000_000
    prefund: dict[str, int] = field(default_factory=dict)
    authorities: tuple[str, ...] = ()
    period_s: int = 1
    deploy_txs: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.chain_id < 2**63:
            raise ConfigError(f"chain.chain_id: must be in [1, 2^63), got {self.chain_id}")
        if not 5_000 <= self.gas_limit <= 2**63:
            raise ConfigError(f"chain.gas_limit: must be >= 5000, got {self.gas_limit}")
        if self.timestamp_ts < 0:
            raise ConfigError(f"chain.timestamp_ts: must be >= 0, got {self.timestamp_ts}")
        for address, balance in self.prefund.items():
            if not is_hex_address(address):
                raise ConfigError(f"chain.prefund: {address!r} is not an address")
            if not 0 <= balance < 2**256:
                raise ConfigError(f"chain.prefund.{address}: balance out of range: {balance}")
        for address in self.authorities:
            if not is_hex_address(address):
                raise ConfigError(f"chain.authorities: {address!r} is not an address")
        if len({a.lower() for a in self.authorities}) != len(self.authorities):
            raise ConfigError("chain.authorities: an authority is listed twice")
        if not 1 <= self.period_s <= 3600:
            raise ConfigError(f"chain.period_s: must be in 1..3600, got {self.period_s}")

    def fingerprint(self) -> str:
        """A hash identifying this genesis (stored in the data dir, checked on reopen)."""
        body = {
            "chain_id": self.chain_id,
            "gas_limit": self.gas_limit,
            "timestamp_ts": self.timestamp_ts,
            "base_fee_wei": self.base_fee_wei,
            "prefund": {to_checksum_address(a): str(b) for a, b in sorted(self.prefund.items())},
        }
        if self.authorities:  # absent for unsealed chains: their data dirs keep opening
            body["authorities"] = [to_checksum_address(a) for a in self.authorities]
            body["period_s"] = self.period_s
        if self.deploy_txs:
            body["deploy_txs"] = [hashlib.sha256(raw).hexdigest() for raw in self.deploy_txs]
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def genesis_params(self) -> dict[str, object]:
        return {
            "coinbase": b"\x00" * 20,
            "difficulty": 0,
            "extra_data": b"",
            "gas_limit": self.gas_limit,
            "mix_hash": b"\x00" * 32,
            "nonce": b"\x00" * 8,
            "timestamp": self.timestamp_ts,
            "base_fee_per_gas": self.base_fee_wei,
        }

    def genesis_state(self) -> dict[bytes, dict[str, object]]:
        return {
            to_canonical_address(address): {
                "balance": balance,
                "nonce": 0,
                "code": b"",
                "storage": {},
            }
            for address, balance in self.prefund.items()
        }
