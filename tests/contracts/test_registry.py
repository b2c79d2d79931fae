"""Registry: admission under each policy, meters, deactivation, role gating."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from gridledger.contracts.enums import AdmissionPolicy
from gridledger.node.ledger.deploy import ROLE_OPERATOR, ROLE_PROSUMER
from tests.contracts.harness import Stack, expect_revert

ROLE_NOBODY = keccak(text="gridledger.role.nobody")


def _fresh(stack: Stack, label: str) -> tuple[str, str]:
    participant = stack.engine.add_account(keccak(text=f"fresh-participant-{label}"))
    meter = Account.from_key(keccak(text=f"fresh-meter-{label}")).address
    return participant, meter


def test_operator_admits_and_grants_prosumer(stack: Stack) -> None:
    participant, meter = _fresh(stack, "a")
    receipt = stack.transact(
        stack.registry.functions.admit(participant, meter), stack.roles.operator
    )
    events = stack.events(stack.registry, "ParticipantAdmitted", receipt)
    assert events[0]["args"]["participant"] == participant
    assert events[0]["args"]["meter"] == meter
    assert stack.registry.functions.meterOf(participant).call() == meter
    assert stack.registry.functions.participantOfMeter(meter).call() == participant
    assert stack.registry.functions.hasRole(ROLE_PROSUMER, participant).call()


def test_outsider_cannot_admit(stack: Stack) -> None:
    participant, meter = _fresh(stack, "b")
    outsider = stack.participants[0].address
    with expect_revert("RegistryAdmissionUnauthorized", outsider, 0):
        stack.transact(stack.registry.functions.admit(participant, meter), outsider)


def test_regulator_only_policy_refuses_the_operator(stack: Stack) -> None:
    stack.transact(
        stack.regulation.functions.setAdmissionPolicy(AdmissionPolicy.REGULATOR_ONLY),
        stack.roles.regulator,
    )
    participant, meter = _fresh(stack, "c")
    with expect_revert("RegistryAdmissionUnauthorized", stack.roles.operator, 1):
        stack.transact(stack.registry.functions.admit(participant, meter), stack.roles.operator)
    stack.transact(stack.registry.functions.admit(participant, meter), stack.roles.regulator)
    assert stack.registry.functions.isActive(participant).call()


def test_closed_policy_refuses_everyone(stack: Stack) -> None:
    stack.transact(
        stack.regulation.functions.setAdmissionPolicy(AdmissionPolicy.CLOSED),
        stack.roles.regulator,
    )
    participant, meter = _fresh(stack, "d")
    with expect_revert("RegistryAdmissionClosed", participant):
        stack.transact(stack.registry.functions.admit(participant, meter), stack.roles.regulator)


def test_meter_cannot_serve_two_participants(stack: Stack) -> None:
    owner = stack.participants[0]
    participant, _ = _fresh(stack, "e")
    with expect_revert("RegistryMeterInUse", owner.meter, owner.address):
        stack.transact(
            stack.registry.functions.admit(participant, owner.meter), stack.roles.operator
        )


def test_double_admission_and_zero_addresses(stack: Stack) -> None:
    p = stack.participants[1]
    _, meter = _fresh(stack, "f")
    with expect_revert("RegistryAlreadyAdmitted", p.address):
        stack.transact(stack.registry.functions.admit(p.address, meter), stack.roles.operator)
    zero = "0x" + "00" * 20
    with expect_revert("RegistryZeroAddress"):
        stack.transact(stack.registry.functions.admit(zero, meter), stack.roles.operator)


def test_deactivation_revokes_prosumer_and_keeps_the_meter_bound(stack: Stack) -> None:
    p = stack.participants[2]
    stack.transact(stack.registry.functions.deactivate(p.address), stack.roles.operator)
    assert not stack.registry.functions.isActive(p.address).call()
    assert not stack.registry.functions.hasRole(ROLE_PROSUMER, p.address).call()
    with expect_revert("RegistryNotActive", p.address):
        stack.transact(stack.registry.functions.deactivate(p.address), stack.roles.operator)
    other, _ = _fresh(stack, "g")
    with expect_revert("RegistryMeterInUse", p.meter, p.address):
        stack.transact(stack.registry.functions.admit(other, p.meter), stack.roles.operator)


def test_deactivation_is_operator_or_regulator_only(stack: Stack) -> None:
    p = stack.participants[3]
    with expect_revert("AccessControlUnauthorizedAccount", p.address, ROLE_OPERATOR):
        stack.transact(stack.registry.functions.deactivate(p.address), p.address)


def test_prosumer_role_cannot_be_granted_around_admission(stack: Stack) -> None:
    outsider, _ = _fresh(stack, "h")
    with expect_revert("AccessControlUnauthorizedAccount"):
        stack.transact(
            stack.registry.functions.grantRole(ROLE_PROSUMER, outsider), stack.roles.admin
        )


def test_the_admin_cannot_grant_itself_nobody_and_then_prosumer(stack: Stack) -> None:
    # NOBODY administers PROSUMER; were NOBODY administered by DEFAULT_ADMIN_ROLE (the
    # AccessControl default), the admin could take NOBODY and then grant PROSUMER past admit().
    outsider, _ = _fresh(stack, "i")
    admin, registry = stack.roles.admin, stack.registry.functions
    assert registry.getRoleAdmin(ROLE_NOBODY).call() == ROLE_NOBODY
    with expect_revert("AccessControlUnauthorizedAccount", admin, ROLE_NOBODY):
        stack.transact(registry.grantRole(ROLE_NOBODY, admin), admin)
    with expect_revert("AccessControlUnauthorizedAccount", admin, ROLE_NOBODY):
        stack.transact(registry.grantRole(ROLE_PROSUMER, outsider), admin)
    assert not registry.hasRole(ROLE_NOBODY, admin).call()
    assert not registry.hasRole(ROLE_PROSUMER, outsider).call()


def test_regulation_is_wired_once(stack: Stack) -> None:
    current = stack.deployment.addresses["Regulation"]
    with expect_revert("RegistryRegulationAlreadySet", current):
        stack.transact(stack.registry.functions.setRegulation(current), stack.roles.admin)
