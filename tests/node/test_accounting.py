"""The Python reference of the import-cap accounting, on hand-computed cases."""

from __future__ import annotations

import math

from gridledger.contracts.enums import BoundKind
from gridledger.contracts.typed import MeterReading
from gridledger.contracts.units import WAD
from gridledger.node.accounting import (
    MAX_EXPOSURE_WAD,
    Accumulators,
    ContractTerms,
    account,
    sequence_breaks,
    status,
    trust_from_exposure,
    violation_j,
)

A = "0x" + "11" * 20
B = "0x" + "22" * 20
DAY = 1_800_057_600


def terms(
    kind: BoundKind = BoundKind.UPPER,
    window: tuple[int, int] = (61_200, 72_000),
    lower_w: int = 0,
    upper_w: int = 4_000,
) -> ContractTerms:
    return ContractTerms(
        A, kind, window[0], window[1], B, DAY, DAY + 86_400, lower_w, upper_w, 1_000_000, WAD // 2
    )


def reading(
    start_ts: int, import_wh: int, export_wh: int = 0, duration_s: int = 60, seq: int = 1
) -> MeterReading:
    return MeterReading(A, A, start_ts, duration_s, import_wh, export_wh, seq)


def test_upper_lower_and_range_violation() -> None:
    net_j = 150 * 3600  # 9 kW for a minute
    assert violation_j(terms(), net_j, 60) == net_j - 4_000 * 60
    assert violation_j(terms(upper_w=10_000), net_j, 60) == 0
    low = terms(BoundKind.LOWER, lower_w=-2_000)
    assert violation_j(low, -50 * 3600, 60) == 50 * 3600 - 2_000 * 60  # exports 3 kW > 2 kW
    rng = terms(BoundKind.RANGE, lower_w=1_000, upper_w=5_000)
    assert violation_j(rng, 0, 60) == 1_000 * 60
    assert violation_j(rng, 100 * 3600, 60) == 100 * 3600 - 5_000 * 60


def test_window_wraps_midnight_and_whole_day() -> None:
    night = terms(window=(79_200, 21_600))  # 22:00-06:00
    assert night.applies_at(DAY + 3_600) and night.applies_at(DAY + 80_000)
    assert not night.applies_at(DAY + 43_200)
    assert terms(window=(0, 0)).applies_at(DAY + 43_200)
    assert not terms().applies_at(DAY + 86_400)  # validity is exclusive at the end


def test_status_of_a_fedmgdt_minute() -> None:
    t = terms()
    acc = account(
        t,
        Accumulators(),
        [
            reading(DAY + 61_200, 150),
            reading(DAY + 61_260, 50, seq=2),
            reading(DAY + 72_000, 999, seq=3),
        ],
    )
    assert acc == Accumulators(violation_j=300_000, total_j=200 * 3600)
    s = status(t, acc)
    assert (s.violation_wh, s.total_wh) == (83, 200)
    assert s.compliance_wad == (720_000 - 300_000) * WAD // 720_000
    assert s.penalty_units == 1_000_000 * 300_000 // 3_600_000
    assert math.isclose(s.trust, math.exp(-0.5 * 300_000 / 3_600_000), rel_tol=1e-15)


def test_compliance_edges() -> None:
    t = terms(window=(0, 0), upper_w=-6_000)  # a delivery-like bound: export at least 6 kW
    assert status(t, Accumulators()).compliance_wad == WAD
    assert status(t, Accumulators(violation_j=10, total_j=0)).compliance_wad == 0
    assert status(t, Accumulators(violation_j=10, total_j=5)).compliance_wad == 0


def test_trust_is_zero_beyond_exp_range() -> None:
    assert trust_from_exposure(0) == 1.0
    assert trust_from_exposure(MAX_EXPOSURE_WAD + 1) == 0.0


def test_sequence_breaks_follow_meterings_rule() -> None:
    seqs = [reading(DAY + 60 * k, 1, seq=k + 1) for k in range(4)]
    assert sequence_breaks(seqs) == []
    assert sequence_breaks(seqs[1:]) == [(2, 1)]  # a meter's first reading is seq 1
    assert sequence_breaks([seqs[0], seqs[2], seqs[3]]) == [(3, 2)]  # one withheld
    assert sequence_breaks([]) == []
