"""Signing readings as a meter does, and the JSON body POST /v1/readings takes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eth_account.signers.local import LocalAccount

from gridledger.contracts.typed import (
    MeterReading,
    SignedReading,
    domain_separator,
    sign_reading,
)
from gridledger.sim.federation.readings import signed_reading_json


def separator_of(w3: Any, metering_address: str) -> bytes:
    return domain_separator(int(w3.eth.chain_id), metering_address)


def sign(
    meter: LocalAccount,
    participant: str,
    separator: bytes,
    start_ts: int,
    seqs: range,
    import_wh: int = 100,
    duration_s: int = 60,
) -> list[SignedReading]:
    """One signed reading per seq, back to back from `start_ts` [unix s]."""
    out = []
    for k, seq in enumerate(seqs):
        reading = MeterReading(
            meter=meter.address,
            participant=participant,
            interval_start_ts=start_ts + k * duration_s,
            duration_s=duration_s,
            import_wh=import_wh,
            export_wh=0,
            seq=seq,
        )
        out.append(SignedReading(reading, sign_reading(reading, bytes(meter.key), separator)))
    return out


def resigned(
    signed: SignedReading, key: LocalAccount, separator: bytes, **changes: Any
) -> SignedReading:
    """`signed` with `changes` applied to the reading, signed by `key`."""
    reading = replace(signed.reading, **changes)
    return SignedReading(reading, sign_reading(reading, bytes(key.key), separator))


def body(readings: list[SignedReading]) -> dict[str, Any]:
    return {"readings": [signed_reading_json(s) for s in readings]}
