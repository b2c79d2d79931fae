"""Trust: PRBMath exp agrees with math.exp to 1e-12 absolute; 0 (never a revert) past its range."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.contracts.typed import MeterReading
from gridledger.contracts.units import WAD
from gridledger.node.accounting import MAX_EXPOSURE_WAD
from tests.contracts.harness import Stack
from tests.contracts.test_import_cap import PAST, create, terms_for


def chain_trust(stack: Stack, exposure: int) -> int:
    return int(stack.trust.functions.trustCurve(exposure).call())


@pytest.mark.distinct_evms
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(exposure=st.integers(0, MAX_EXPOSURE_WAD))
def test_exp_matches_python_over_the_whole_range(stack: Stack, exposure: int) -> None:
    assert abs(chain_trust(stack, exposure) / WAD - math.exp(-exposure / WAD)) <= 1e-12


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(exposure=st.integers(0, 10**16))
def test_exp_is_accurate_near_full_trust(stack: Stack, exposure: int) -> None:
    assert abs(chain_trust(stack, exposure) / WAD - math.exp(-exposure / WAD)) <= 1e-12


def test_range_edges_and_beyond(stack: Stack) -> None:
    assert chain_trust(stack, 0) == WAD
    assert chain_trust(stack, MAX_EXPOSURE_WAD) <= 1
    for beyond in (MAX_EXPOSURE_WAD + 1, 10**30, 2**255, 2**256 - 1):
        assert chain_trust(stack, beyond) == 0


def test_trust_of_a_participant_combines_its_contracts(stack: Stack) -> None:
    p = stack.participants[0]
    a = create(stack, terms_for(stack, p, window=(0, 0), beta_wad_per_kwh=WAD // 2))
    b = create(stack, terms_for(stack, p, window=(0, 0), beta_wad_per_kwh=WAD))
    assert stack.trust.functions.trustOf(p.address).call() == WAD
    # 8 kW for one hour against a 4 kW cap: 4 kWh of violation in each contract.
    stack.submit_readings([MeterReading(p.meter, p.address, PAST, 3600, 8000, 0, 1)], [p.meter_key])
    overall = stack.trust.functions.trustOf(p.address).call() / WAD
    assert abs(overall - math.exp(-(0.5 * 4 + 1.0 * 4))) <= 1e-12
    per_a = stack.trust.functions.contractTrustOf(a).call() / WAD
    per_b = stack.trust.functions.contractTrustOf(b).call() / WAD
    assert abs(per_a - math.exp(-2)) <= 1e-12 and abs(per_b - math.exp(-4)) <= 1e-12
    # Someone without contracts keeps full trust.
    assert stack.trust.functions.trustOf(stack.participants[1].address).call() == WAD
