"""The signed-readings workload the ledger, testnet and profile benchmarks share.

A batch is one meter's hour: 60 one-minute readings (import 40-46 Wh, export 0-2 Wh), with
sequence numbers continuing from the meter's previous hours, each signed by the meter
(EIP-712), sent as one Metering.submitReadings call.
"""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount

from gridledger.contracts.typed import MeterReading, sign_reading

READINGS_PER_BATCH = 60


def reading_batch(
    metering: Any, meter: LocalAccount, participant: str, start_ts: int, hour: int, separator: bytes
) -> Any:
    """The submitReadings call of `meter`'s hour number `hour` after `start_ts` [unix s] for
    `participant`, signed under the Metering domain `separator`."""
    readings = [
        MeterReading(
            meter.address,
            participant,
            start_ts + 3600 * hour + 60 * i,
            60,
            40 + i % 7,
            i % 3,
            1 + READINGS_PER_BATCH * hour + i,
        )
        for i in range(READINGS_PER_BATCH)
    ]
    sigs = [sign_reading(r, bytes(meter.key), separator).as_abi() for r in readings]
    return metering.functions.submitReadings([r.as_abi() for r in readings], sigs)
