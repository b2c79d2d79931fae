"""AuthoritySet: the proof-of-authority set by block, changed by authority vote or regulator.

Reverts are asserted through eth_call, which every engine executes at block.number = head
(the transaction itself then runs at head + 1); the expected block numbers say so. The
contract against the reference model on random sequences: test_authority_set_model.py.
"""

from __future__ import annotations

import pytest

from gridledger.contracts.enums import AuthorityProposalState
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.authority_model import MAX_AUTHORITIES, decode_authorities
from gridledger.node.ledger.deploy import ROLE_REGULATOR
from tests.contracts.authority_helpers import (
    ZERO,
    Auth,
    authority_set_factory,
    deploy_authority_set,
    numbered_address,
    refused_initial_sets,
    scheduled,
)
from tests.contracts.harness import Stack, expect_revert

# ---------------------------------------------------------------- construction and views


def test_constructor_refuses_bad_initial_sets(stack: Stack) -> None:
    factory = authority_set_factory(stack)
    registry = stack.deployment.addresses["Registry"]
    for initial, (name, *args) in refused_initial_sets(numbered_address, ZERO):
        with expect_revert(name, *args), stack.reverts():
            factory.constructor(registry, initial).estimate_gas({"from": stack.roles.admin})
    largest = [numbered_address(i) for i in range(1, MAX_AUTHORITIES + 1)]
    deploy_authority_set(stack, largest)  # the cap itself is allowed


def test_initial_set_is_in_force_from_block_zero(auth: Auth) -> None:
    initial = list(auth.candidates[:3])
    head = auth.head()
    for n in (0, 1, head, head + 1000):
        assert auth.f.authoritiesAt(n).call() == initial
    assert auth.f.currentAuthorities().call() == initial
    assert auth.f.scheduledAuthorities().call() == initial
    assert auth.f.isAuthorityAt(initial[1], 0).call()
    assert not auth.f.isAuthorityAt(auth.candidates[3], head).call()
    assert (auth.f.snapshotCount().call(), auth.f.lastScheduledBlock().call()) == (1, 0)
    assert auth.f.proposal(1).call()[4] == AuthorityProposalState.UNKNOWN


# ---------------------------------------------------------------- approval paths


def test_majority_vote_schedules_the_change_at_its_block(auth: Auth) -> None:
    a, b, c, d = auth.candidates[:4]
    effective = auth.head() + 10
    receipt = auth.send(auth.f.propose(d, True, effective), a)
    (proposed,) = auth.stack.events(auth.contract, "AuthorityProposed", receipt)
    assert dict(proposed["args"]) == {
        "id": 1,
        "proposer": a,
        "account": d,
        "add": True,
        "effectiveBlock": effective,
    }
    (voted,) = auth.stack.events(auth.contract, "AuthorityVoted", receipt)
    assert (voted["args"]["votes"], voted["args"]["quorum"]) == (1, 2)
    assert auth.f.proposal(1).call() == [
        d,
        True,
        effective,
        a,
        AuthorityProposalState.PENDING,
        1,
        2,
    ]
    assert auth.f.hasVoted(1, a).call() and not auth.f.hasVoted(1, b).call()

    receipt = auth.send(auth.f.vote(1), b)
    assert scheduled(auth, receipt) == {
        "id": 1,
        "account": d,
        "add": True,
        "effectiveBlock": effective,
        "newCount": 4,
        "byRegulator": False,
    }
    assert auth.f.proposal(1).call()[4] == AuthorityProposalState.SCHEDULED
    assert auth.f.authoritiesAt(effective - 1).call() == [a, b, c]
    assert auth.f.authoritiesAt(effective).call() == [a, b, c, d]
    assert auth.f.scheduledAuthorities().call() == [a, b, c, d]
    with expect_revert("AuthorityProposalAlreadyScheduled", 1, effective):
        auth.send(auth.f.vote(1), c)

    # d may vote only once the change is in force.
    receipt = auth.send(auth.f.propose(b, False, effective + 5), a)
    with expect_revert("AuthorityNotAuthority", d, auth.head()):
        auth.send(auth.f.vote(2), d)
    auth.mine_to(effective)
    assert auth.f.currentAuthorities().call() == [a, b, c, d]
    receipt = auth.send(auth.f.vote(2), d)  # 2 of 4: not yet a majority
    assert auth.f.proposal(2).call()[4:] == [AuthorityProposalState.PENDING, 2, 3]
    receipt = auth.send(auth.f.vote(2), c)
    assert scheduled(auth, receipt)["newCount"] == 3
    # Removal keeps the others' turn order.
    assert auth.f.authoritiesAt(effective + 5).call() == [a, c, d]


def test_regulator_proposal_and_approval_schedule_at_once(auth: Auth) -> None:
    a, b, c, d = auth.candidates[:4]
    regulator = auth.stack.roles.regulator
    effective = auth.head() + 5
    receipt = auth.send(auth.f.propose(b, False, effective), regulator)
    assert not auth.stack.events(auth.contract, "AuthorityVoted", receipt)
    assert scheduled(auth, receipt)["byRegulator"] is True
    assert auth.f.authoritiesAt(effective).call() == [a, c]

    auth.send(auth.f.propose(d, True, effective + 1), a)  # 1 of 3 votes
    receipt = auth.send(auth.f.approve(2), regulator)
    assert scheduled(auth, receipt) == {
        "id": 2,
        "account": d,
        "add": True,
        "effectiveBlock": effective + 1,
        "newCount": 3,
        "byRegulator": True,
    }
    assert auth.f.authoritiesAt(effective + 1).call() == [a, c, d]
    assert [auth.f.snapshotAt(i).call()[0] for i in range(3)] == [0, effective, effective + 1]


def test_a_single_authority_decides_alone(stack: Stack, candidates: tuple[str, ...]) -> None:
    contract = deploy_authority_set(stack, [candidates[0]])
    effective = stack.w3.eth.block_number + 3
    with expect_revert("AuthorityLastMember", candidates[0]):
        stack.transact(
            contract.functions.propose(candidates[0], False, effective), stack.roles.regulator
        )
    receipt = stack.transact(
        contract.functions.propose(candidates[1], True, effective), candidates[0]
    )
    (event,) = stack.events(contract, "AuthorityChangeScheduled", receipt)
    assert event["args"]["newCount"] == 2


def test_enact_schedules_once_the_set_shrank_to_the_voters(auth: Auth) -> None:
    a, b, c, d, x = auth.candidates[:5]
    regulator = auth.stack.roles.regulator
    start = auth.head()
    auth.send(auth.f.propose(d, True, start + 5), regulator)  # set a, b, c, d from start + 5
    auth.mine_to(start + 5)
    auth.send(auth.f.propose(x, True, start + 60), a)  # id 2
    auth.send(auth.f.vote(2), b)  # 2 of 4: quorum is 3
    with expect_revert("AuthorityQuorumNotReached", 2, 2, 3):
        auth.send(auth.f.enact(2), auth.stack.participants[0].address)
    head = auth.head()
    auth.send(auth.f.propose(c, False, head + 5), regulator)
    auth.send(auth.f.propose(d, False, head + 6), regulator)
    auth.mine_to(head + 6)
    assert auth.f.currentAuthorities().call() == [a, b]
    assert auth.f.proposal(2).call()[4:] == [AuthorityProposalState.PENDING, 2, 2]
    receipt = auth.send(auth.f.enact(2), auth.stack.participants[0].address)
    assert scheduled(auth, receipt)["byRegulator"] is False
    assert auth.f.authoritiesAt(start + 60).call() == [a, b, x]


# ---------------------------------------------------------------- roles


def test_only_authorities_and_the_regulator_may_propose_vote_or_approve(auth: Auth) -> None:
    a, _, _, d = auth.candidates[:4]
    s = auth.stack
    effective = auth.head() + 20
    auth.send(auth.f.propose(d, True, effective), a)
    intruders = (s.participants[0].address, s.roles.operator, s.roles.admin, s.roles.treasury, d)
    for intruder in intruders:
        with expect_revert("AuthorityProposerUnauthorized", intruder):
            auth.send(auth.f.propose(d, True, effective), intruder)
        with expect_revert("AuthorityNotAuthority", intruder, auth.head()):
            auth.send(auth.f.vote(1), intruder)
        with expect_revert("AccessControlUnauthorizedAccount", intruder, ROLE_REGULATOR):
            auth.send(auth.f.approve(1), intruder)
    # An authority cannot approve alone, and the regulator does not vote.
    with expect_revert("AccessControlUnauthorizedAccount", a, ROLE_REGULATOR):
        auth.send(auth.f.approve(1), a)
    with expect_revert("AuthorityNotAuthority", s.roles.regulator, auth.head()):
        auth.send(auth.f.vote(1), s.roles.regulator)
    assert auth.f.proposal(1).call()[4] == AuthorityProposalState.PENDING

    # A prosumer made an authority may propose and vote once its set is in force, not before.
    prosumer = s.participants[0].address
    joins = auth.head() + 3
    auth.send(auth.f.propose(prosumer, True, joins), s.roles.regulator)  # id 2
    with expect_revert("AuthorityProposerUnauthorized", prosumer):
        auth.send(auth.f.propose(d, True, effective), prosumer)
    auth.mine_to(joins)
    auth.send(auth.f.vote(1), prosumer)  # 2 of 4
    receipt = auth.send(auth.f.propose(a, False, effective), prosumer)
    assert auth.stack.events(auth.contract, "AuthorityProposed", receipt)[0]["args"]["id"] == 3


# ---------------------------------------------------------------- refused changes


def test_invalid_changes_are_refused_with_their_arguments(auth: Auth) -> None:
    a, b, _, d = auth.candidates[:4]
    head = auth.head()
    with expect_revert("AuthorityZeroAddress"):
        auth.send(auth.f.propose(ZERO, True, head + 5), a)
    with expect_revert("AuthorityAlreadyMember", b):
        auth.send(auth.f.propose(b, True, head + 5), a)
    with expect_revert("AuthorityNotMember", d):
        auth.send(auth.f.propose(d, False, head + 5), a)
    with expect_revert("AuthorityEffectiveBlockNotFuture", head, head):
        auth.send(auth.f.propose(d, True, head), a)
    for unknown in (0, 1):
        with expect_revert("AuthorityUnknownProposal", unknown):
            auth.send(auth.f.vote(unknown), b)
        with expect_revert("AuthorityUnknownProposal", unknown):
            auth.send(auth.f.enact(unknown), b)
    auth.send(auth.f.propose(d, True, head + 30), a)
    with expect_revert("AuthorityAlreadyVoted", 1, a):
        auth.send(auth.f.vote(1), a)
    auth.send(auth.f.vote(1), b)  # scheduled at head + 30
    with expect_revert("AuthorityChangeOutOfOrder", head + 29, head + 30):
        auth.send(auth.f.propose(b, False, head + 29), a)
    auth.send(auth.f.propose(b, False, head + 30), a)  # the same block is allowed


def test_a_full_set_refuses_another_authority(stack: Stack) -> None:
    members = [numbered_address(i) for i in range(1, MAX_AUTHORITIES + 1)]
    contract = deploy_authority_set(stack, members)
    effective = stack.w3.eth.block_number + 5
    with expect_revert("AuthoritySetTooLarge", MAX_AUTHORITIES + 1, MAX_AUTHORITIES):
        stack.transact(
            contract.functions.propose(stack.roles.treasury, True, effective),
            stack.roles.regulator,
        )


def test_stale_proposals_expire_and_cannot_be_approved(auth: Auth) -> None:
    a, b, c, d, e = auth.candidates[:5]
    regulator = auth.stack.roles.regulator
    head = auth.head()
    auth.send(auth.f.propose(d, True, head + 4), a)  # id 1, effective head + 4
    auth.mine_to(head + 4)
    assert auth.f.proposal(1).call()[4] == AuthorityProposalState.EXPIRED
    with expect_revert("AuthorityEffectiveBlockNotFuture", head + 4, head + 4):
        auth.send(auth.f.vote(1), b)
    with expect_revert("AuthorityEffectiveBlockNotFuture", head + 4, head + 4):
        auth.send(auth.f.approve(1), regulator)

    head = auth.head()
    auth.send(auth.f.propose(d, True, head + 10), a)  # id 2, pending
    auth.send(auth.f.propose(e, True, head + 20), regulator)  # id 3, overtakes id 2
    assert auth.f.proposal(2).call()[4] == AuthorityProposalState.EXPIRED
    with expect_revert("AuthorityChangeOutOfOrder", head + 10, head + 20):
        auth.send(auth.f.vote(2), c)
    with expect_revert("AuthorityChangeOutOfOrder", head + 10, head + 20):
        auth.send(auth.f.approve(2), regulator)


def test_a_conflicting_change_is_refused_at_approval(auth: Auth) -> None:
    a, b, c, d = auth.candidates[:4]
    head = auth.head()
    auth.send(auth.f.propose(d, True, head + 20), a)  # id 1
    auth.send(auth.f.propose(d, True, head + 10), b)  # id 2
    auth.send(auth.f.vote(2), c)  # schedules d from head + 10
    with expect_revert("AuthorityAlreadyMember", d):
        auth.send(auth.f.vote(1), c)
    assert auth.f.proposal(1).call()[4:] == [AuthorityProposalState.PENDING, 1, 2]


# ---------------------------------------------------------------- gas and raw data


def test_gas_of_vote_and_authorities_at(auth: Auth) -> None:
    a, b, c, d = auth.candidates[:4]
    regulator = auth.stack.roles.regulator
    head = auth.head()
    auth.send(auth.f.propose(d, True, head + 10), regulator)  # 4 authorities from head + 10
    auth.mine_to(head + 10)
    auth.send(auth.f.propose(b, False, head + 40), a)
    gas = {
        "vote": auth.send(auth.f.vote(2), c)["gasUsed"],  # 2 of 4
        "vote_scheduling": auth.send(auth.f.vote(2), d)["gasUsed"],  # 3 of 4: schedules
        "authoritiesAt_4": auth.send(auth.f.authoritiesAt(head + 10), a)["gasUsed"],
        "authoritiesAt_3": auth.send(auth.f.authoritiesAt(head + 40), a)["gasUsed"],
    }
    # Receipt gas, 21,000 intrinsic included; the same on every engine (Cancun rules).
    # reportEquivocation (issue 14) added selectors ahead in the dispatch (+110 on the views)
    # and the shared snapshot append (+58 on the scheduling vote); reportSealEquivocation and
    # sealDigest two more (+66 on the views).
    assert gas == {
        "vote": 76_714,
        "vote_scheduling": 202_052,
        "authoritiesAt_4": 40_654,
        "authoritiesAt_3": 38_361,
    }


def test_decode_authorities_reads_the_raw_eth_call_return(auth: Auth) -> None:
    regulator = auth.stack.roles.regulator
    effective = auth.head() + 3
    auth.send(auth.f.propose(auth.candidates[1], False, effective), regulator)
    for n in (0, effective):
        data = auth.f.authoritiesAt(n).build_transaction({"gas": 1_000_000})["data"]
        raw = bytes(auth.stack.w3.eth.call({"to": auth.contract.address, "data": data}))
        expected = auth.f.authoritiesAt(n).call()
        assert decode_authorities(raw) == tuple(bytes.fromhex(x[2:]) for x in expected)


def test_decode_authorities_refuses_malformed_data() -> None:
    with pytest.raises(LedgerError, match="not an address"):
        decode_authorities(b"\x00" * 31)
    empty = (32).to_bytes(32, "big") + (0).to_bytes(32, "big")
    with pytest.raises(LedgerError, match="empty"):
        decode_authorities(empty)
