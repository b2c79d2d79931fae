"""Signing meters: each meter is a device with its own secp256k1 key.

A meter turns the integer energies it metered over each interval into an EIP-712
``MeterReading`` (``contracts.typed``) with a strictly increasing ``seq`` and signs it with
its own key; the Metering contract accepts the reading only if the signer is the meter
registered to the participant. The node relays signed readings but never holds a meter
key, so it cannot forge its own meter: ``Meter`` keeps its key private (no accessor, not in
``repr``) and signs nothing but readings.

Power becomes integer Wh only in ``sim.pcc.metered_energy_wh`` (the one conversion place);
``Meter.read_power`` calls it, ``Meter.read`` takes the integers it produced.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address

from gridledger.contracts.errors import ReadingInputError
from gridledger.contracts.typed import (
    SECP256K1_N,
    MeterReading,
    SignedReading,
    domain_separator,
    sign_reading,
)
from gridledger.sim.errors import MeterError
from gridledger.sim.pcc import metered_energy_wh
from gridledger.sim.profiles import IntArray


@dataclass(frozen=True, slots=True)
class MeteringDomain:
    """The Metering contract a meter signs for: ``chain_id`` and the contract's address
    (EIP-712 ``verifyingContract``, checksummed on construction)."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not 0 < self.chain_id < 2**256:
            raise MeterError(f"chain_id must be in [1, 2**256), got {self.chain_id!r}")
        try:
            checksummed = to_checksum_address(self.verifying_contract)
        except (ValueError, TypeError) as exc:
            raise MeterError(f"verifying_contract is not an address: {exc}") from None
        object.__setattr__(self, "verifying_contract", checksummed)

    @property
    def separator(self) -> bytes:
        """The EIP-712 domain separator (``contracts.typed.domain_separator``)."""
        return domain_separator(self.chain_id, self.verifying_contract)


def new_meter_key() -> bytes:
    """A fresh random secp256k1 private key (32 bytes) from the OS's entropy."""
    while True:
        key = secrets.token_bytes(32)
        if 0 < int.from_bytes(key, "big") < SECP256K1_N:
            return key


class Meter:
    """A meter at one participant's PCC, signing readings for one Metering domain.

    Parameters
    ----------
    private_key : the meter's own 32-byte secp256k1 key (never a node's or participant's)
    participant : the address the meter is registered to in the Registry
    separator : the EIP-712 domain separator of the Metering contract
        (``contracts.typed.domain_separator(chain_id, metering_address)``)
    next_seq : the sequence number of the next reading (> the last one Metering accepted)
    """

    __slots__ = ("_key", "_last_end_ts", "_next_seq", "address", "participant", "separator")

    def __init__(
        self, private_key: bytes, participant: str, separator: bytes, next_seq: int = 1
    ) -> None:
        if len(private_key) != 32 or not 0 < int.from_bytes(private_key, "big") < SECP256K1_N:
            raise MeterError("a meter key is 32 bytes, a secp256k1 scalar in [1, n)")
        if next_seq < 1:
            raise MeterError(f"next_seq must be >= 1, got {next_seq}")
        self._key = PrivateKey(private_key)
        self.address: str = self._key.public_key.to_checksum_address()
        self.participant = participant
        self.separator = separator
        self._next_seq = next_seq
        self._last_end_ts: int | None = None

    @classmethod
    def generate(cls, participant: str, separator: bytes) -> Meter:
        """A meter with a fresh random key (a device provisioned in the field)."""
        return cls(new_meter_key(), participant, separator)

    def __repr__(self) -> str:
        return f"Meter(address={self.address}, participant={self.participant})"

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next reading will carry."""
        return self._next_seq

    def read(
        self, interval_start_ts: int, duration_s: int, import_wh: int, export_wh: int
    ) -> SignedReading:
        """Sign the energies [Wh] metered over ``[interval_start_ts, +duration_s)`` [unix s].

        Intervals must follow each other without overlap (Metering refuses overlaps); the
        reading takes the next ``seq``.
        """
        if duration_s <= 0:
            raise MeterError(f"duration_s must be > 0, got {duration_s}")
        if self._last_end_ts is not None and interval_start_ts < self._last_end_ts:
            raise MeterError(
                f"interval starting {interval_start_ts} overlaps the previous reading, "
                f"which ends at {self._last_end_ts}"
            )
        try:
            reading = MeterReading(
                meter=self.address,
                participant=self.participant,
                interval_start_ts=int(interval_start_ts),
                duration_s=int(duration_s),
                import_wh=int(import_wh),
                export_wh=int(export_wh),
                seq=self._next_seq,
            )
        except ReadingInputError as exc:
            raise MeterError(f"reading refused: {exc}") from exc
        signature = sign_reading(reading, self._key.to_bytes(), self.separator)
        self._next_seq += 1
        self._last_end_ts = reading.interval_start_ts + reading.duration_s
        return SignedReading(reading, signature)

    def read_steps(
        self,
        start_ts: int,
        dt_s: int,
        import_wh: Sequence[int] | IntArray,
        export_wh: Sequence[int] | IntArray,
    ) -> list[SignedReading]:
        """One signed reading per step of ``dt_s`` [s] from ``start_ts`` [unix s], from the
        per-step metered energies [Wh] (integers, e.g. the ``import_wh`` column of a run)."""
        if len(import_wh) != len(export_wh):
            raise MeterError(f"{len(import_wh)} import values but {len(export_wh)} export values")
        return [
            self.read(start_ts + k * dt_s, dt_s, int(imp), int(exp_))
            for k, (imp, exp_) in enumerate(zip(import_wh, export_wh, strict=True))
        ]

    def read_power(self, interval_start_ts: int, duration_s: int, p_pcc_w: float) -> SignedReading:
        """Meter a mean PCC power ``p_pcc_w`` [W] (> 0 import) over one interval and sign it."""
        import_wh, export_wh = metered_energy_wh([p_pcc_w], duration_s)
        return self.read(interval_start_ts, duration_s, int(import_wh[0]), int(export_wh[0]))
