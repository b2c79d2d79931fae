"""Regulation: only the regulator changes rules; each change is checked and emits an event."""

from __future__ import annotations

import pytest

from gridledger.node.ledger.deploy import ROLE_REGULATOR
from tests.contracts.harness import Stack, expect_revert


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("setPriceBand", (10_000, 20_000)),
        ("setNetworkCharge", (0,)),
        ("setCapBounds", (-5, 5)),
        ("setMinTrust", (10,)),
        ("setAdmissionPolicy", (1,)),
        ("setDeliveryTerms", (1, 2)),
        ("setCapFactorBounds", (3, 4)),
    ],
)
def test_only_the_regulator_changes_rules(stack: Stack, function: str, args: tuple[int]) -> None:
    call = getattr(stack.regulation.functions, function)(*args)
    for intruder in (stack.roles.operator, stack.roles.admin, stack.participants[0].address):
        with expect_revert("AccessControlUnauthorizedAccount", intruder, ROLE_REGULATOR):
            stack.transact(call, intruder)
    stack.transact(call, stack.roles.regulator)


def test_price_band_change_emits_old_and_new(stack: Stack) -> None:
    r = stack.regulation.functions
    old = (r.priceFloorPerKwh().call(), r.priceCeilingPerKwh().call())
    receipt = stack.transact(r.setPriceBand(90_000, 250_000), stack.roles.regulator)
    (event,) = stack.events(stack.regulation, "PriceBandChanged", receipt)
    assert (event["args"]["oldFloorPerKwh"], event["args"]["oldCeilingPerKwh"]) == old
    assert (event["args"]["floorPerKwh"], event["args"]["ceilingPerKwh"]) == (90_000, 250_000)
    assert (r.priceFloorPerKwh().call(), r.priceCeilingPerKwh().call()) == (90_000, 250_000)


def test_invalid_rules_are_refused_with_their_numbers(stack: Stack) -> None:
    r = stack.regulation.functions
    reg = stack.roles.regulator
    with expect_revert("RegulationInvalidPriceBand", 300, 200):
        stack.transact(r.setPriceBand(300, 200), reg)
    charge = r.networkChargePerKwh().call()
    with expect_revert("RegulationChargeAboveFloor", charge, charge - 1):
        stack.transact(r.setPriceBand(charge - 1, 10**9), reg)
    floor = r.priceFloorPerKwh().call()
    with expect_revert("RegulationChargeAboveFloor", floor + 1, floor):
        stack.transact(r.setNetworkCharge(floor + 1), reg)
    with expect_revert("RegulationInvalidCapBounds", 10, -10):
        stack.transact(r.setCapBounds(10, -10), reg)
    with expect_revert("RegulationTrustAboveOne", 10**18 + 1):
        stack.transact(r.setMinTrust(10**18 + 1), reg)


def test_each_setter_emits_its_event(stack: Stack) -> None:
    r = stack.regulation.functions
    reg = stack.roles.regulator
    cases = [
        (r.setNetworkCharge(5_000), "NetworkChargeChanged", {"chargePerKwh": 5_000}),
        (r.setCapBounds(-7, 7), "CapBoundsChanged", {"minCapW": -7, "maxCapW": 7}),
        (r.setMinTrust(123), "MinTrustChanged", {"minTrustWad": 123}),
        (r.setAdmissionPolicy(2), "AdmissionPolicyChanged", {"policy": 2}),
        (
            r.setDeliveryTerms(11, 22),
            "DeliveryTermsChanged",
            {"penaltyPerKwh": 11, "betaWadPerKwh": 22},
        ),
        (
            r.setCapFactorBounds(33, 44),
            "CapFactorBoundsChanged",
            {"maxPenaltyPerKwh": 33, "maxBetaWadPerKwh": 44},
        ),
    ]
    for call, name, expected in cases:
        receipt = stack.transact(call, reg)
        (event,) = stack.events(stack.regulation, name, receipt)
        for key, value in expected.items():
            assert event["args"][key] == value
