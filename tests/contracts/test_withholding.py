"""Withholding readings never pays: a relayer that holds back any of a meter's readings (say
the ones in violation) and relays the rest gets nothing past the first withheld one accepted,
so every import cap's E_viol over the time the chain covers is exactly the E_viol of all the
meter's readings over that time; once anyone relays the rest, it is E_viol of all readings.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.accounting import Accumulators, account
from gridledger.node.errors import ContractRevertError
from tests.contracts.harness import Stack
from tests.contracts.test_import_cap import contract_terms, create, reading_series, terms_for


@pytest.mark.distinct_evms
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_withholding_readings_never_lowers_the_violation(stack: Stack, data: st.DataObject) -> None:
    snapshot = stack.engine.snapshot()
    try:
        p = stack.participants[0]
        terms = terms_for(stack, p, **data.draw(contract_terms()))  # type: ignore[arg-type]
        cid = create(stack, terms)
        readings = data.draw(reading_series(p))
        withheld = data.draw(
            st.sets(st.integers(0, len(readings) - 1), min_size=1, max_size=len(readings))
        )
        relayed = [r for k, r in enumerate(readings) if k not in withheld]
        batch = data.draw(st.integers(1, 8))
        last_seq = 0
        for i in range(0, len(relayed), batch):
            chunk = relayed[i : i + batch]
            try:
                stack.submit_readings(chunk, [p.meter_key] * len(chunk))
                last_seq = chunk[-1].seq
            except ContractRevertError as exc:
                # Refused at the first reading past a gap, with the seq the meter needs next.
                at = next(k for k, r in enumerate(chunk) if r.seq != last_seq + 1 + k)
                expected = (at, p.meter.lower(), chunk[at].seq, last_seq + 1 + at)
                assert exc.name == "MeteringSequenceGap"
                assert (exc.error_args[0], str(exc.error_args[1]).lower(), *exc.error_args[2:]) == (
                    expected
                )
        accepted = readings[:last_seq]
        # A batch with a gap is refused whole: the chain holds a prefix ending before the gap.
        assert last_seq <= min(withheld)
        violation_j, total_j = stack.import_cap.functions.accumulatorsJ(cid).call()
        covered = account(terms, Accumulators(), accepted)
        assert (violation_j, total_j) == (covered.violation_j, covered.total_j)

        # Anyone (the meter's owner, the operator) relays what was held back: E_viol is that of
        # all readings, never less than with any of them withheld.
        rest = readings[last_seq:]
        for i in range(0, len(rest), 40):
            chunk = rest[i : i + 40]
            stack.submit_readings(chunk, [p.meter_key] * len(chunk))
        full = account(terms, Accumulators(), readings)
        final_j = stack.import_cap.functions.accumulatorsJ(cid).call()[0]
        assert final_j == full.violation_j >= violation_j
    finally:
        stack.engine.revert(snapshot)
