"""Signing meters: their own key, increasing seq, no overlaps, the one Wh conversion."""

from __future__ import annotations

import numpy as np
import pytest
from eth_utils.crypto import keccak

from gridledger.contracts.typed import domain_separator, recover_meter
from gridledger.sim.errors import MeterError
from gridledger.sim.meter import Meter, MeteringDomain, new_meter_key

SEPARATOR = domain_separator(31337, "0x" + "11" * 20)
PARTICIPANT = "0x" + "22" * 20
KEY = keccak(text="test meter")


def test_readings_are_signed_by_the_meters_own_key_with_increasing_seq() -> None:
    meter = Meter(KEY, PARTICIPANT, SEPARATOR)
    signed = meter.read_steps(1_000, 60, np.array([5, 0, 7]), np.array([0, 3, 0]))
    assert [s.reading.seq for s in signed] == [1, 2, 3]
    assert [s.reading.interval_start_ts for s in signed] == [1_000, 1_060, 1_120]
    assert [(s.reading.import_wh, s.reading.export_wh) for s in signed] == [(5, 0), (0, 3), (7, 0)]
    for s in signed:
        assert s.reading.meter == meter.address and s.reading.participant.lower() == PARTICIPANT
        assert recover_meter(s.reading, s.signature, SEPARATOR) == meter.address
    assert meter.next_seq == 4


def test_a_meter_resumes_after_its_last_accepted_seq() -> None:
    meter = Meter(KEY, PARTICIPANT, SEPARATOR, next_seq=41)
    assert meter.read(0, 60, 1, 0).reading.seq == 41


def test_overlapping_or_bad_readings_are_refused_without_using_a_seq() -> None:
    meter = Meter(KEY, PARTICIPANT, SEPARATOR)
    meter.read(1_000, 60, 1, 0)
    with pytest.raises(MeterError, match="overlaps the previous reading, which ends at 1060"):
        meter.read(1_030, 60, 1, 0)
    with pytest.raises(MeterError, match="import_wh=-1 is outside uint64"):
        meter.read(1_060, 60, -1, 0)
    with pytest.raises(MeterError, match="duration_s must be > 0"):
        meter.read(1_060, 0, 1, 0)
    assert meter.read(1_060, 60, 1, 0).reading.seq == 2


def test_power_is_metered_by_the_one_conversion() -> None:
    meter = Meter(KEY, PARTICIPANT, SEPARATOR)
    # 10 kW over 60 s = 166.67 Wh -> 167 (sim.pcc.metered_energy_wh); -6 kW -> 100 Wh export.
    a = meter.read_power(0, 60, 10_000.0).reading
    b = meter.read_power(60, 60, -6_000.0).reading
    assert (a.import_wh, a.export_wh, b.import_wh, b.export_wh) == (167, 0, 0, 100)


def test_the_key_stays_inside_the_meter() -> None:
    meter = Meter(KEY, PARTICIPANT, SEPARATOR)
    assert KEY.hex() not in repr(meter)
    assert not any("key" in name for name in dir(meter) if not name.startswith("_"))
    a, b = Meter.generate(PARTICIPANT, SEPARATOR), Meter.generate(PARTICIPANT, SEPARATOR)
    assert a.address != b.address != meter.address
    assert len(new_meter_key()) == 32
    with pytest.raises(MeterError, match="secp256k1 scalar"):
        Meter(b"\x00" * 32, PARTICIPANT, SEPARATOR)


def test_a_metering_domain_is_a_chain_and_a_contract() -> None:
    domain = MeteringDomain(31337, "0x" + "ab" * 20)
    assert domain.verifying_contract == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # EIP-55
    assert domain.separator == domain_separator(31337, "0x" + "ab" * 20)
    with pytest.raises(MeterError, match=r"chain_id must be in \[1, 2\*\*256\), got 0"):
        MeteringDomain(0, "0x" + "ab" * 20)
    with pytest.raises(MeterError, match="verifying_contract is not an address"):
        MeteringDomain(1, "0x12")
