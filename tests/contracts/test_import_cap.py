"""ImportCap: creation rules, the FED-MGDT accounting against the Python reference, penalties."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.contracts.enums import BoundKind
from gridledger.contracts.typed import (
    TERMS_DOMAIN_NAME,
    MeterReading,
    domain_separator,
    terms_digest,
)
from gridledger.contracts.units import WAD
from gridledger.node.accounting import Accumulators, ContractTerms, account, exposure_wad, status
from gridledger.node.ledger.deploy import ROLE_OPERATOR
from tests.contracts.harness import DAY0_TS, TOKEN_UNITS, Participant, Stack, expect_revert

PAST = DAY0_TS - 2 * 86400  # readings for the property tests start here (two days ago)


def terms_for(
    stack: Stack,
    p: Participant,
    kind: BoundKind = BoundKind.UPPER,
    window: tuple[int, int] = (61_200, 72_000),
    validity: tuple[int, int] = (PAST, DAY0_TS + 86400),
    bounds_w: tuple[int, int] = (0, 4000),
    lambda_units_per_kwh: int = TOKEN_UNITS,
    beta_wad_per_kwh: int = WAD // 2,
) -> ContractTerms:
    return ContractTerms(
        importer=p.address,
        kind=kind,
        window_start_s=window[0],
        window_end_s=window[1],
        counterparty=stack.roles.treasury,
        valid_from_ts=validity[0],
        valid_to_ts=validity[1],
        lower_w=bounds_w[0],
        upper_w=bounds_w[1],
        lambda_units_per_kwh=lambda_units_per_kwh,
        beta_wad_per_kwh=beta_wad_per_kwh,
    )


def create(stack: Stack, terms: ContractTerms) -> int:
    receipt = stack.transact(
        stack.import_cap.functions.createContract(terms.as_abi(), stack.consent(terms.as_abi())),
        stack.roles.operator,
    )
    (event,) = stack.events(stack.import_cap, "ContractCreated", receipt)
    return int(event["args"]["contractId"])


def submit_in_batches(
    stack: Stack, p: Participant, readings: Sequence[MeterReading], batch: int
) -> list[dict[str, object]]:
    receipts = []
    for i in range(0, len(readings), batch):
        chunk = list(readings[i : i + batch])
        receipts.append(stack.submit_readings(chunk, [p.meter_key] * len(chunk)))
    return receipts


# ---------------------------------------------------------------- creation


def test_terms_and_initial_status_round_trip(stack: Stack) -> None:
    p = stack.participants[0]
    terms = terms_for(stack, p, kind=BoundKind.RANGE, bounds_w=(-2000, 5000))
    cid = create(stack, terms)
    assert stack.import_cap.functions.contractCount().call() == cid + 1
    assert tuple(stack.import_cap.functions.contractTerms(cid).call()) == terms.as_abi()
    assert stack.import_cap.functions.contractStatus(cid).call() == [0, 0, WAD, 0, WAD]
    assert stack.import_cap.functions.activeContractsOf(p.address).call() == [cid]
    with expect_revert("ImportCapUnknownContract", cid + 1):
        stack.call(stack.import_cap.functions.contractStatus(cid + 1))


def test_only_the_operator_creates_contracts(stack: Stack) -> None:
    p = stack.participants[0]
    terms = terms_for(stack, p).as_abi()
    call = stack.import_cap.functions.createContract(terms, stack.consent(terms))
    with expect_revert("AccessControlUnauthorizedAccount", p.address, ROLE_OPERATOR):
        stack.transact(call, p.address)


def test_invalid_terms_are_refused_with_their_numbers(stack: Stack) -> None:
    p = stack.participants[0]
    zero = "0x" + "00" * 20
    op = stack.roles.operator
    cases = [
        (
            terms_for(stack, p, validity=(DAY0_TS, DAY0_TS)),
            "ImportCapInvalidValidity",
            (DAY0_TS, DAY0_TS),
        ),
        (terms_for(stack, p, window=(86_400, 0)), "ImportCapInvalidWindow", (86_400, 0)),
        (
            terms_for(stack, p, kind=BoundKind.RANGE, bounds_w=(10, 5)),
            "ImportCapInvalidBounds",
            (2, 10, 5),
        ),
        (
            terms_for(stack, p, bounds_w=(0, 2_000_000)),
            "ImportCapBoundOutsideRegulation",
            (2_000_000, -1_000_000, 1_000_000),
        ),
    ]
    for terms, name, args in cases:
        with expect_revert(name, *args):
            stack.transact(
                stack.import_cap.functions.createContract(
                    terms.as_abi(), stack.consent(terms.as_abi())
                ),
                op,
            )
    bad_cp = terms_for(stack, p)
    for counterparty in (zero, p.address):
        t = ContractTerms(**{**_fields(bad_cp), "counterparty": counterparty})
        with expect_revert("ImportCapInvalidCounterparty", counterparty):
            stack.transact(
                stack.import_cap.functions.createContract(t.as_abi(), stack.consent(t.as_abi())), op
            )


def test_a_contract_binds_only_an_importer_that_signed_its_terms(stack: Stack) -> None:
    p, q = stack.participants[0], stack.participants[1]
    op, cap = stack.roles.operator, stack.import_cap.functions
    terms = terms_for(stack, p).as_abi()
    separator = domain_separator(
        int(stack.w3.eth.chain_id), stack.import_cap.address, TERMS_DOMAIN_NAME
    )
    digest = terms_digest(terms, separator)
    assert bytes(cap.termsDigest(terms).call()) == digest
    # Someone else's signature (here another participant's) is no consent.
    with expect_revert("ImportCapNoConsent", p.address, q.address):
        stack.transact(cap.createContract(terms, stack.consent(terms, q.key)), op)
    # Consent to other terms (a 6 kW cap) does not bind the importer to a 4 kW one.
    milder = terms_for(stack, p, bounds_w=(0, 6000)).as_abi()
    with expect_revert("ImportCapNoConsent") as caught:
        stack.transact(cap.createContract(terms, stack.consent(milder)), op)
    assert caught[0].error_args[0].lower() == p.address.lower()
    assert caught[0].error_args[1].lower() != p.address.lower()
    with expect_revert("ImportCapNoConsent", p.address, "0x" + "00" * 20):
        stack.transact(cap.createContract(terms, b"\x01" * 64), op)
    # One consent binds one contract.
    consent = stack.consent(terms)
    stack.transact(cap.createContract(terms, consent), op)
    with expect_revert("ImportCapConsentUsed", p.address, digest):
        stack.transact(cap.createContract(terms, consent), op)


def test_penalty_and_trust_factors_are_bounded_by_regulation(stack: Stack) -> None:
    p = stack.participants[0]
    op, reg = stack.roles.operator, stack.roles.regulator
    r = stack.regulation.functions
    max_penalty, max_beta = r.maxCapPenaltyPerKwh().call(), r.maxCapBetaWadPerKwh().call()
    create(stack, terms_for(stack, p, lambda_units_per_kwh=max_penalty, beta_wad_per_kwh=max_beta))
    too_harsh = terms_for(stack, p, lambda_units_per_kwh=max_penalty + 1)
    with expect_revert("ImportCapPenaltyAboveRegulation", max_penalty + 1, max_penalty):
        stack.transact(
            stack.import_cap.functions.createContract(
                too_harsh.as_abi(), stack.consent(too_harsh.as_abi())
            ),
            op,
        )
    too_sensitive = terms_for(stack, p, beta_wad_per_kwh=max_beta + 1)
    with expect_revert("ImportCapBetaAboveRegulation", max_beta + 1, max_beta):
        stack.transact(
            stack.import_cap.functions.createContract(
                too_sensitive.as_abi(), stack.consent(too_sensitive.as_abi())
            ),
            op,
        )
    # The regulator's bounds apply to contracts created after they change.
    stack.transact(r.setCapFactorBounds(TOKEN_UNITS, WAD), reg)
    lowered = terms_for(stack, p, lambda_units_per_kwh=2 * TOKEN_UNITS)
    with expect_revert("ImportCapPenaltyAboveRegulation", 2 * TOKEN_UNITS, TOKEN_UNITS):
        stack.transact(
            stack.import_cap.functions.createContract(
                lowered.as_abi(), stack.consent(lowered.as_abi())
            ),
            op,
        )


def _fields(terms: ContractTerms) -> dict[str, object]:
    return {name: getattr(terms, name) for name in ContractTerms.__slots__}


def test_inactive_importer_is_refused(stack: Stack) -> None:
    p = stack.participants[4]
    stack.transact(stack.registry.functions.deactivate(p.address), stack.roles.operator)
    with expect_revert("ImportCapInactiveImporter", p.address):
        create(stack, terms_for(stack, p))


def test_contracts_cannot_start_before_accounted_readings(stack: Stack) -> None:
    p = stack.participants[0]
    first = MeterReading(p.meter, p.address, PAST, 60, 10, 0, 1)
    stack.submit_readings([first], [p.meter_key])
    with expect_revert("ImportCapRetroactive", p.address, PAST, PAST + 60):
        create(stack, terms_for(stack, p, validity=(PAST, DAY0_TS)))


def test_active_contracts_are_bounded_and_expired_ones_pruned(stack: Stack) -> None:
    p = stack.participants[0]
    cap = stack.import_cap.functions.MAX_ACTIVE_CONTRACTS().call()
    short = (PAST, PAST + 600)
    for k in range(cap):  # distinct terms: one signed consent binds one contract
        create(stack, terms_for(stack, p, validity=short, bounds_w=(0, 4000 + k)))
    with expect_revert("ImportCapTooManyActive", p.address, cap):
        create(stack, terms_for(stack, p, validity=(PAST + 600, DAY0_TS)))
    # A reading past the short contracts' validity prunes them all.
    stack.submit_readings(
        [MeterReading(p.meter, p.address, PAST + 600, 60, 1, 0, 1)], [p.meter_key]
    )
    assert stack.import_cap.functions.activeContractsOf(p.address).call() == []
    create(stack, terms_for(stack, p, validity=(PAST + 660, DAY0_TS)))


# ---------------------------------------------------------------- accounting


@st.composite
def contract_terms(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(list(BoundKind)))
    lo = draw(st.integers(-20_000, 20_000))
    hi = (
        draw(st.integers(lo, 30_000))
        if kind == BoundKind.RANGE
        else draw(st.integers(-20_000, 30_000))
    )
    start = draw(st.integers(0, 86_399))
    end = draw(st.one_of(st.just(start), st.integers(0, 86_399)))
    return {
        "kind": kind,
        "window": (start, end),
        "bounds_w": (lo, hi),
        "lambda_units_per_kwh": draw(st.integers(0, 10_000_000)),  # Regulation's max
        "beta_wad_per_kwh": draw(st.integers(0, 5 * WAD)),
        "validity": (PAST + draw(st.integers(0, 20_000)), PAST + draw(st.integers(20_001, 90_000))),
    }


@st.composite
def reading_series(draw: st.DrawFn, p: Participant) -> list[MeterReading]:
    n = draw(st.integers(1, 40))
    ts = PAST + draw(st.integers(0, 3600))
    out = []
    for k in range(n):
        duration = draw(st.sampled_from([60, 60, 60, 300, 900]))
        imp = draw(st.integers(0, 2_000))
        exp_ = draw(st.integers(0, 2_000)) if draw(st.booleans()) else 0
        out.append(MeterReading(p.meter, p.address, ts, duration, imp, exp_, k + 1))
        ts += duration + draw(st.sampled_from([0, 0, 0, 60, 3600, 7200]))
    return out


@pytest.mark.distinct_evms
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_accounting_matches_the_reference(stack: Stack, data: st.DataObject) -> None:
    snapshot = stack.engine.snapshot()
    try:
        p = stack.participants[0]
        # Distinct terms: one signed consent binds one contract.
        specs = data.draw(st.lists(contract_terms(), min_size=1, max_size=3, unique_by=repr))
        all_terms = [terms_for(stack, p, **spec) for spec in specs]  # type: ignore[arg-type]
        ids = [create(stack, t) for t in all_terms]
        readings = data.draw(reading_series(p))
        batch = data.draw(st.integers(1, 40))
        receipts = submit_in_batches(stack, p, readings, batch)

        expected_exposure = 0
        for cid, terms in zip(ids, all_terms, strict=True):
            acc = account(terms, Accumulators(), readings)
            ref = status(terms, acc)
            chain = stack.import_cap.functions.contractStatus(cid).call()
            assert chain[:4] == [
                ref.violation_wh,
                ref.total_wh,
                ref.compliance_wad,
                ref.penalty_units,
            ]
            assert abs(chain[4] / WAD - ref.trust) <= 1e-12
            assert stack.import_cap.functions.accumulatorsJ(cid).call() == [
                acc.violation_j,
                acc.total_j,
            ]
            expected_exposure += exposure_wad(terms.beta_wad_per_kwh, acc.violation_j)
            # One ViolationRecorded per violating reading, with the reference's numbers.
            events = [
                e["args"]
                for r in receipts
                for e in stack.events(stack.import_cap, "ViolationRecorded", r)
                if e["args"]["contractId"] == cid
            ]
            running = Accumulators()
            expected_events = []
            for reading in readings:
                after = account(terms, running, [reading])
                v_j = after.violation_j - running.violation_j
                if v_j:
                    expected_events.append(
                        (reading.interval_start_ts, v_j // 3600, after.violation_j // 3600)
                    )
                running = after
            assert [
                (e["intervalStartTs"], e["violationWh"], e["cumulativeViolationWh"]) for e in events
            ] == expected_events
        assert stack.import_cap.functions.exposureOf(p.address).call() == expected_exposure
    finally:
        stack.engine.revert(snapshot)


def test_fedmgdt_window_accounting_by_hand(stack: Stack) -> None:
    """Cap 4 kW, 17:00-20:00: 9 kW for one minute inside is 5 kW * 60 s = 83 Wh of violation."""
    p = stack.participants[0]
    day = PAST - PAST % 86400
    cid = create(stack, terms_for(stack, p, validity=(day, day + 86400)))
    readings = [
        MeterReading(p.meter, p.address, day + 16 * 3600 + 59 * 60, 60, 150, 0, 1),  # 16:59 out
        MeterReading(p.meter, p.address, day + 17 * 3600, 60, 150, 0, 2),  # 17:00, 9 kW
        MeterReading(p.meter, p.address, day + 17 * 3600 + 60, 60, 50, 0, 3),  # 3 kW, no V
        MeterReading(p.meter, p.address, day + 20 * 3600, 60, 150, 0, 4),  # 20:00 out
    ]
    stack.submit_readings(readings, [p.meter_key] * 4)
    # V dt = (150 * 3600 - 4000 * 60) J = 300000 J = 83.33 Wh; total = 200 Wh.
    violation_wh, total_wh, compliance, penalty, trust = stack.import_cap.functions.contractStatus(
        cid
    ).call()
    assert (violation_wh, total_wh) == (83, 200)
    assert compliance == (720_000 - 300_000) * WAD // 720_000
    assert penalty == TOKEN_UNITS * 300_000 // 3_600_000
    assert trust == stack.trust.functions.trustCurve((WAD // 2) * 300_000 // 3_600_000).call()


# ---------------------------------------------------------------- penalties


def test_counterparty_pulls_penalties_up_to_balance_and_allowance(stack: Stack) -> None:
    p = stack.participants[0]
    treasury = stack.roles.treasury
    cid = create(stack, terms_for(stack, p, window=(0, 0), lambda_units_per_kwh=10 * TOKEN_UNITS))
    # 2 kWh over a 0 W... cap 4 kW: import 6 kW for an hour -> 2 kWh violation -> 20 tokens.
    stack.submit_readings([MeterReading(p.meter, p.address, PAST, 3600, 6000, 0, 1)], [p.meter_key])
    assert stack.import_cap.functions.contractStatus(cid).call()[3] == 20 * TOKEN_UNITS

    with expect_revert("ImportCapNotCounterparty", cid, p.address, treasury):
        stack.transact(stack.import_cap.functions.collectPenalty(cid), p.address)
    with expect_revert("ImportCapNothingCollectible", cid, 20 * TOKEN_UNITS, 0, 0):
        stack.transact(stack.import_cap.functions.collectPenalty(cid), treasury)

    stack.transact(stack.token.functions.mint(p.address, 15 * TOKEN_UNITS), stack.roles.operator)
    stack.transact(
        stack.token.functions.approve(stack.deployment.addresses["ImportCap"], 2**255), p.address
    )
    receipt = stack.transact(stack.import_cap.functions.collectPenalty(cid), treasury)
    (event,) = stack.events(stack.import_cap, "PenaltyCollected", receipt)
    assert (event["args"]["amountUnits"], event["args"]["outstandingUnits"]) == (
        15 * TOKEN_UNITS,
        5 * TOKEN_UNITS,
    )
    assert stack.token.functions.balanceOf(treasury).call() == 15 * TOKEN_UNITS
    stack.transact(stack.token.functions.mint(p.address, 10 * TOKEN_UNITS), stack.roles.operator)
    stack.transact(stack.import_cap.functions.collectPenalty(cid), treasury)
    assert stack.import_cap.functions.penaltyPaidUnits(cid).call() == 20 * TOKEN_UNITS
    assert stack.token.functions.balanceOf(p.address).call() == 5 * TOKEN_UNITS
    with expect_revert("ImportCapNothingDue", cid):
        stack.transact(stack.import_cap.functions.collectPenalty(cid), treasury)
