"""The FED-MGDT experiments E1-E4 on chain: MG1's metered day against caps of 4, 6, 8, 10 kW.

Each cap is a separate participant (one MG1 replica per experiment) with an import-cap
contract for 17:00-20:00, lambda = 1 token/kWh, beta = 0.5/kWh. The whole 24 h day of
one-minute readings, signed by each replica's meter, goes through Metering in batches.
"""

from __future__ import annotations

import math

import pytest

from gridledger.node.accounting import Accumulators, account, status
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.sim.fedmgdt import FEDMGDT_CAPS_W, simulate_mg1_day, violation_wh
from tests.contracts.harness import DAY0_TS, Stack

DAY_TS = DAY0_TS - 86400  # the simulated day: yesterday, so every reading is in the past
BATCH = 120


@pytest.mark.distinct_evms
@pytest.mark.slow
def test_violation_falls_with_the_cap_and_vanishes_at_10_kw(stack: Stack) -> None:
    results = []
    for participant, cap_w in zip(stack.participants, FEDMGDT_CAPS_W, strict=False):
        terms = fedmgdt_terms(participant.address, stack.roles.operator, DAY_TS, cap_w)
        receipt = stack.transact(
            stack.import_cap.functions.createContract(
                terms.as_abi(), stack.consent(terms.as_abi())
            ),
            stack.roles.operator,
        )
        (created,) = stack.events(stack.import_cap, "ContractCreated", receipt)
        cid = created["args"]["contractId"]

        day = simulate_mg1_day(cap_w)
        readings = day_readings(day, participant.meter, participant.address, DAY_TS)
        for i in range(0, len(readings), BATCH):
            chunk = readings[i : i + BATCH]
            stack.submit_readings(chunk, [participant.meter_key] * len(chunk), gas=5_000_000)

        chain = stack.import_cap.functions.contractStatus(cid).call()
        ref = status(terms, account(terms, Accumulators(), readings))
        assert chain[:4] == [ref.violation_wh, ref.total_wh, ref.compliance_wad, ref.penalty_units]
        # The simulator's own metered violation agrees with the chain to the Wh.
        assert chain[0] == math.floor(violation_wh(day, cap_w) + 1e-9)
        results.append((cap_w, chain[0], chain[4]))

    violations = [v for _, v, _ in results]
    trusts = [t for _, _, t in results]
    assert violations == sorted(violations, reverse=True)
    assert len(set(violations)) == len(violations), "strictly falling with the cap"
    assert violations[-1] <= 0.01 * violations[0], "about zero at 10 kW"
    assert violations[2] <= 0.25 * violations[1], "sharp drop between 6 and 8 kW"
    assert trusts == sorted(trusts) and trusts[-1] > trusts[0]
