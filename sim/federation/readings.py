"""Signed meter readings and Metering domains as bus JSON, and back (protocol v2).

A reading travels as the ``contracts.typed.MeterReading`` fields (JSON integers, addresses
as EIP-55 strings) plus ``signature``: ``{"v": 27 | 28, "r": "0x<64 hex>", "s": "0x<64
hex>"}``. ``parse_signed_reading`` gives back exactly the ``SignedReading`` the meter
made, so ``contracts.typed.recover_meter`` recovers the meter's address from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gridledger.contracts.errors import ReadingInputError
from gridledger.contracts.typed import SECP256K1_N, MeterReading, MeterSignature, SignedReading
from gridledger.sim.errors import MeterError, ProtocolError
from gridledger.sim.federation import checks
from gridledger.sim.meter import MeteringDomain

READING_FIELDS = (
    "meter",
    "participant",
    "interval_start_ts",
    "duration_s",
    "import_wh",
    "export_wh",
    "seq",
    "signature",
)
"""The fields of a reading on the bus, in the order they are written."""

JsonReading = dict[str, Any]
"""A signed reading as the JSON object the bus carries."""


def signed_reading_json(signed: SignedReading) -> JsonReading:
    """``signed`` as the bus's JSON object."""
    r, sig = signed.reading, signed.signature
    return {
        "meter": r.meter,
        "participant": r.participant,
        "interval_start_ts": r.interval_start_ts,
        "duration_s": r.duration_s,
        "import_wh": r.import_wh,
        "export_wh": r.export_wh,
        "seq": r.seq,
        "signature": {"v": sig.v, "r": "0x" + sig.r.hex(), "s": "0x" + sig.s.hex()},
    }


def parse_signed_reading(value: Any, what: str = "reading") -> SignedReading:
    """The ``SignedReading`` in a bus JSON reading; ``ProtocolError`` names what is wrong."""
    body = checks.obj(value, what)
    checks.fields(body, what, READING_FIELDS)
    sig = checks.obj(body["signature"], f"{what}.signature")
    checks.fields(sig, f"{what}.signature", ("v", "r", "s"))
    v = checks.integer(sig["v"], f"{what}.signature.v")
    if v not in (27, 28):
        raise ProtocolError(f"{what}.signature.v must be 27 or 28, got {v}")
    s = checks.bytes32(sig["s"], f"{what}.signature.s")
    if int.from_bytes(s, "big") > SECP256K1_N // 2:
        raise ProtocolError(f"{what}.signature.s is in the upper half of the curve order")
    signature = MeterSignature(v, checks.bytes32(sig["r"], f"{what}.signature.r"), s)
    ints = {
        key: checks.integer(body[key], f"{what}.{key}")
        for key in ("interval_start_ts", "duration_s", "import_wh", "export_wh", "seq")
    }
    try:
        reading = MeterReading(
            meter=checks.address(body["meter"], f"{what}.meter"),
            participant=checks.address(body["participant"], f"{what}.participant"),
            **ints,
        )
    except ReadingInputError as exc:  # an integer beyond its uint width
        raise ProtocolError(f"{what}: {exc}") from None
    return SignedReading(reading, signature)


def parse_readings(value: Any, what: str = "readings") -> dict[str, SignedReading]:
    """A ``readings`` object: ``{microgrid: reading}``."""
    return checks.keyed(value, what, parse_signed_reading)


def metering_json(domain: MeteringDomain | None) -> dict[str, Any] | None:
    """A Metering domain as the bus's JSON object (None stays null)."""
    if domain is None:
        return None
    return {"chain_id": domain.chain_id, "verifying_contract": domain.verifying_contract}


def parse_metering(value: Any, what: str = "metering") -> MeteringDomain | None:
    """A ``metering`` value: null, or ``{chain_id, verifying_contract}``."""
    if value is None:
        return None
    body = checks.obj(value, what)
    checks.fields(body, what, ("chain_id", "verifying_contract"))
    contract = checks.address(body["verifying_contract"], f"{what}.verifying_contract")
    try:
        return MeteringDomain(checks.integer(body["chain_id"], f"{what}.chain_id"), contract)
    except MeterError as exc:
        raise ProtocolError(f"{what}: {exc}") from None


def parse_addresses(value: Any, what: str) -> dict[str, str]:
    """A ``{microgrid: address}`` object."""
    return checks.keyed(value, what, checks.address)


def readings_json(readings: Mapping[str, SignedReading]) -> dict[str, JsonReading]:
    """``{microgrid: reading}`` as the bus's JSON object."""
    return {mg: signed_reading_json(s) for mg, s in readings.items()}
