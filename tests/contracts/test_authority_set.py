"""AuthoritySet: the proof-of-authority set by block, changed by authority vote or regulator.

Reverts are asserted through eth_call, which every engine executes at block.number = head
(the transaction itself then runs at head + 1); the expected block numbers say so.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3 import Web3
from web3.contract import Contract

from contracts.artifacts import load_artifact
from node.errors import ContractRevertError, LedgerError
from node.ledger.authority_model import (
    MAX_AUTHORITIES,
    AuthorityModel,
    AuthorityRuleError,
    ProposalState,
    decode_authorities,
)
from node.ledger.deploy import ROLE_REGULATOR
from tests.contracts.harness import Stack, expect_revert

N_CANDIDATES = 6
DEPLOY_GAS = 5_000_000
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="session")
def candidates(session_stack: Stack) -> tuple[ChecksumAddress, ...]:
    """Funded accounts that may become authorities (session-wide, before any snapshot)."""
    return tuple(
        session_stack.engine.add_account(keccak(text=f"gridledger-sandbox:authority-{i}"))
        for i in range(N_CANDIDATES)
    )


@dataclass
class Auth:
    """An AuthoritySet deployed on `stack` with candidates[:3] as its initial set."""

    stack: Stack
    contract: Contract
    candidates: tuple[ChecksumAddress, ...]

    @property
    def f(self) -> Any:
        return self.contract.functions

    def head(self) -> int:
        return int(self.stack.w3.eth.block_number)

    def send(self, call: Any, sender: str) -> dict[str, Any]:
        return self.stack.transact(call, sender)

    def mine_to(self, block_number: int) -> None:
        while self.head() < block_number:
            self.stack.engine.mine()


def deploy_authority_set(stack: Stack, initial: Sequence[str]) -> Contract:
    artifact = load_artifact("AuthoritySet")
    factory = stack.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    constructor = factory.constructor(stack.deployment.addresses["Registry"], list(initial))
    receipt = stack.transact(constructor, stack.roles.admin, gas=DEPLOY_GAS)
    contract: Contract = stack.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    return contract


@pytest.fixture
def auth(stack: Stack, candidates: tuple[ChecksumAddress, ...]) -> Iterator[Auth]:
    yield Auth(stack, deploy_authority_set(stack, list(candidates[:3])), candidates)


def _scheduled(auth: Auth, receipt: dict[str, Any]) -> dict[str, Any]:
    (event,) = auth.stack.events(auth.contract, "AuthorityChangeScheduled", receipt)
    return dict(event["args"])


# ---------------------------------------------------------------- construction and views


def test_constructor_refuses_bad_initial_sets(stack: Stack) -> None:
    artifact = load_artifact("AuthoritySet")
    factory = stack.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    registry = stack.deployment.addresses["Registry"]
    a, b = stack.participants[0].address, stack.participants[1].address
    many = [Web3.to_checksum_address(f"0x{i:040x}") for i in range(1, MAX_AUTHORITIES + 2)]
    cases: list[tuple[Sequence[str], tuple[Any, ...]]] = [
        ([], ("AuthoritySetEmpty",)),
        ([a, ZERO], ("AuthorityZeroAddress",)),
        ([a, b, a], ("AuthorityDuplicate", a)),
        (many, ("AuthoritySetTooLarge", MAX_AUTHORITIES + 1, MAX_AUTHORITIES)),
    ]
    for initial, (name, *args) in cases:
        with expect_revert(name, *args), stack.reverts():
            factory.constructor(registry, initial).estimate_gas({"from": stack.roles.admin})
    deploy_authority_set(stack, many[:MAX_AUTHORITIES])  # the cap itself is allowed


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
    assert auth.f.proposal(1).call()[4] == ProposalState.UNKNOWN


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
    assert auth.f.proposal(1).call() == [d, True, effective, a, ProposalState.PENDING, 1, 2]
    assert auth.f.hasVoted(1, a).call() and not auth.f.hasVoted(1, b).call()

    receipt = auth.send(auth.f.vote(1), b)
    assert _scheduled(auth, receipt) == {
        "id": 1,
        "account": d,
        "add": True,
        "effectiveBlock": effective,
        "newCount": 4,
        "byRegulator": False,
    }
    assert auth.f.proposal(1).call()[4] == ProposalState.SCHEDULED
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
    assert auth.f.proposal(2).call()[4:] == [ProposalState.PENDING, 2, 3]
    receipt = auth.send(auth.f.vote(2), c)
    assert _scheduled(auth, receipt)["newCount"] == 3
    # Removal keeps the others' turn order.
    assert auth.f.authoritiesAt(effective + 5).call() == [a, c, d]


def test_regulator_proposal_and_approval_schedule_at_once(auth: Auth) -> None:
    a, b, c, d = auth.candidates[:4]
    regulator = auth.stack.roles.regulator
    effective = auth.head() + 5
    receipt = auth.send(auth.f.propose(b, False, effective), regulator)
    assert not auth.stack.events(auth.contract, "AuthorityVoted", receipt)
    assert _scheduled(auth, receipt)["byRegulator"] is True
    assert auth.f.authoritiesAt(effective).call() == [a, c]

    auth.send(auth.f.propose(d, True, effective + 1), a)  # 1 of 3 votes
    receipt = auth.send(auth.f.approve(2), regulator)
    assert _scheduled(auth, receipt) == {
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
    assert auth.f.proposal(2).call()[4:] == [ProposalState.PENDING, 2, 2]
    receipt = auth.send(auth.f.enact(2), auth.stack.participants[0].address)
    assert _scheduled(auth, receipt)["byRegulator"] is False
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
    assert auth.f.proposal(1).call()[4] == ProposalState.PENDING

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
    members = [Web3.to_checksum_address(f"0x{i:040x}") for i in range(1, MAX_AUTHORITIES + 1)]
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
    assert auth.f.proposal(1).call()[4] == ProposalState.EXPIRED
    with expect_revert("AuthorityEffectiveBlockNotFuture", head + 4, head + 4):
        auth.send(auth.f.vote(1), b)
    with expect_revert("AuthorityEffectiveBlockNotFuture", head + 4, head + 4):
        auth.send(auth.f.approve(1), regulator)

    head = auth.head()
    auth.send(auth.f.propose(d, True, head + 10), a)  # id 2, pending
    auth.send(auth.f.propose(e, True, head + 20), regulator)  # id 3, overtakes id 2
    assert auth.f.proposal(2).call()[4] == ProposalState.EXPIRED
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
    assert auth.f.proposal(1).call()[4:] == [ProposalState.PENDING, 1, 2]


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
    assert gas == {
        "vote": 76_714,
        "vote_scheduling": 201_994,
        "authoritiesAt_4": 40_478,
        "authoritiesAt_3": 38_185,
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


def test_the_model_refuses_the_same_initial_sets_as_the_constructor() -> None:
    a, b = b"\x01" * 20, b"\x02" * 20
    many = [i.to_bytes(20, "big") for i in range(1, MAX_AUTHORITIES + 2)]
    cases: list[tuple[list[bytes], tuple[object, ...]]] = [
        ([], ("AuthoritySetEmpty",)),
        ([a, bytes(20)], ("AuthorityZeroAddress",)),
        ([a, b, a], ("AuthorityDuplicate", a)),
        (many, ("AuthoritySetTooLarge", MAX_AUTHORITIES + 1, MAX_AUTHORITIES)),
    ]
    for initial, (name, *args) in cases:
        with pytest.raises(AuthorityRuleError) as caught:
            AuthorityModel(initial)
        assert (caught.value.name, caught.value.error_args) == (name, tuple(args))
    assert AuthorityModel(many[:MAX_AUTHORITIES]).authorities_at(0) == tuple(many[:MAX_AUTHORITIES])


# ---------------------------------------------------------------- contract vs reference model

TX_GAS = 2_000_000


def _abi_args(args: tuple[object, ...]) -> tuple[object, ...]:
    """The model's error arguments as web3 decodes them (20-byte addresses as hex strings)."""
    return tuple(
        Web3.to_checksum_address(a) if isinstance(a, bytes) and len(a) == 20 else a for a in args
    )


def _b(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class AuthorityFlow(RuleBasedStateMachine):
    """Random propose / vote / approve / enact / mine sequences on the contract and the model.

    Each action runs on a copy of the model at block head (what eth_call executes) and at
    head + 1 (where the transaction lands): eth_call must revert exactly as the first copy
    says, the transaction must succeed or fail as the second says, and that copy becomes the
    model. After every step the snapshots, the pending proposals' states and tallies and the
    sets at head and head + 1 must agree; at the end of each example, the set at every block
    number from 0 to past the last one seen (effective blocks proposed included).
    """

    auth: Auth

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.auth.stack.engine.snapshot()
        s = self.auth.stack
        self.accounts = (*self.auth.candidates, s.roles.regulator)
        initial = [_b(a) for a in self.auth.candidates[:3]]
        self.model = AuthorityModel(initial, regulators=[_b(s.roles.regulator)])
        self.start = self.auth.head()
        self.seen: set[int] = {0, self.start}
        self.settled: set[int] = set()
        self.checked_snapshots = 0

    def teardown(self) -> None:
        try:
            self._check_sets({0, *range(self.start, max(self.seen) + 2)})
        finally:
            self.auth.stack.engine.revert(self.snapshot)

    def _view(self, call: Any) -> Any:
        # An explicit sender spares eth-tester's provider a look-up of its accounts per call.
        return call.call({"from": self.auth.stack.roles.treasury})

    def _proposal_id(self, pick: int) -> int:
        """0-4: a proposal still pending at the next block, if any; 5: one of the latest
        proposals; 6: an id not yet used."""
        count = len(self.model.proposals)
        if pick == 6:
            return count + 1
        block_number = self.auth.head() + 1
        pending = [
            pid
            for pid in range(1, count + 1)
            if self.model.state_of(pid, block_number) == ProposalState.PENDING
        ]
        if pick < 5 and pending:
            return pending[-1 - pick % len(pending)]
        return count - pick % min(count, 3)

    def _apply(self, act: Callable[[AuthorityModel, int], object], call: Any, sender: str) -> None:
        stack, head = self.auth.stack, self.auth.head()
        outcomes: list[tuple[AuthorityModel, AuthorityRuleError | None]] = []
        for block_number in (head, head + 1):
            model = copy.deepcopy(self.model)
            try:
                act(model, block_number)
                outcomes.append((model, None))
            except AuthorityRuleError as exc:
                outcomes.append((model, exc))
        (_, call_error), (tx_model, tx_error) = outcomes
        if call_error is None:
            stack.call(call, sender)
        else:
            with expect_revert(call_error.name, *_abi_args(call_error.error_args)):
                stack.call(call, sender)
        if tx_error is None:
            receipt = stack.transact(call, sender, gas=TX_GAS)
            assert receipt["blockNumber"] == head + 1
            self.model = tx_model
        else:
            with pytest.raises(ContractRevertError):
                stack.transact(call, sender, gas=TX_GAS)
        self.seen.add(self.auth.head())

    def _sender(self, pick: int) -> str:
        """0-6: an authority in force at the next block; then the regulator, the operator
        and the last candidate (an authority or not)."""
        if pick < 7:
            current = self.model.authorities_at(self.auth.head() + 1)
            return Web3.to_checksum_address(current[pick % len(current)])
        s = self.auth.stack
        return (s.roles.regulator, s.roles.operator, self.auth.candidates[-1])[pick - 7]

    # Rule weights: votes matter most, and a regulator approving or blocks passing end
    # pending proposals, so those come less often.
    KINDS = ("propose",) * 3 + ("vote",) * 4 + ("approve", "enact", "mine", "mine")

    @rule(
        kind=st.sampled_from(KINDS),
        sender=st.integers(0, 9),
        pick=st.integers(0, 6),
        account=st.integers(0, N_CANDIDATES),
        invalid=st.integers(0, 4),
        offset=st.integers(0, 13),
    )
    def step(
        self, kind: str, sender: int, pick: int, account: int, invalid: int, offset: int
    ) -> None:
        if kind in ("vote", "approve", "enact") and not self.model.proposals:
            kind = "propose"
        if kind == "propose":
            self._propose(sender, account, invalid == 4, offset)
        elif kind == "mine":
            self.auth.mine_to(self.auth.head() + 1 + pick % 3)
            self.seen.add(self.auth.head())
        else:
            pid = self._proposal_id(pick)
            getattr(self, f"_{kind}")(sender, pid)

    def _propose(self, sender: int, account: int, invalid: bool, offset: int) -> None:
        who, target = self._sender(sender), self.accounts[account]
        # Mostly the change that applies to the latest scheduled set; 1 in 5 the other one.
        add = (_b(target) not in self.model.latest.members) != invalid
        # head + 2 .. head + 13, then head (refused) and head + 1 (refused by the transaction
        # only: eth_call runs at head); the simplest draw, 0, is a valid change.
        effective = self.auth.head() + (offset + 2) % 14
        self.seen.update((effective - 1, effective))
        self._apply(
            lambda m, n: m.propose(_b(who), _b(target), add, effective, n),
            self.auth.f.propose(target, add, effective),
            who,
        )

    def _vote(self, sender: int, pid: int) -> None:
        who = self._sender(sender)
        if sender < 7 and pid <= len(self.model.proposals):
            # Mostly an authority that has not voted yet, where one is left.
            voters = self.model.proposals[pid - 1].voters
            current = self.model.authorities_at(self.auth.head() + 1)
            fresh = [m for m in current if m not in voters]
            who = Web3.to_checksum_address(fresh[sender % len(fresh)]) if fresh else who
        self._apply(lambda m, n: m.vote(_b(who), pid, n), self.auth.f.vote(pid), who)

    def _approve(self, sender: int, pid: int) -> None:
        who = self.auth.stack.roles.regulator if sender < 6 else self._sender(sender)
        self._apply(lambda m, n: m.approve(_b(who), pid, n), self.auth.f.approve(pid), who)

    def _enact(self, sender: int, pid: int) -> None:
        who = self.auth.stack.roles.treasury  # anyone may enact
        self._apply(lambda m, n: m.enact(pid, n), self.auth.f.enact(pid), who)

    @invariant()
    def contract_agrees_with_the_model(self) -> None:
        f, head = self.auth.f, self.auth.head()
        assert self._view(f.snapshotCount()) == len(self.model.snapshots)
        for i in range(self.checked_snapshots, len(self.model.snapshots)):  # append-only
            block, members = self._view(f.snapshotAt(i))
            snap = self.model.snapshots[i]
            assert (block, tuple(_b(m) for m in members)) == (snap.effective_block, snap.members)
        self.checked_snapshots = len(self.model.snapshots)
        assert self._view(f.proposalCount()) == len(self.model.proposals)
        for pid in range(1, len(self.model.proposals) + 1):
            if pid in self.settled:
                continue  # Scheduled and Expired are final
            state, votes, quorum = self._view(f.proposal(pid))[4:]
            assert state == self.model.state_of(pid, head)
            assert (votes, quorum) == self.model.tally(pid, head)
            if state != ProposalState.PENDING:
                self.settled.add(pid)
        self._check_sets({head, head + 1})

    def _check_sets(self, block_numbers: set[int]) -> None:
        for n in sorted(b for b in block_numbers if b >= 0):
            got = tuple(_b(m) for m in self._view(self.auth.f.authoritiesAt(n)))
            assert got == self.model.authorities_at(n), f"authoritiesAt({n})"


def test_contract_matches_the_reference_model(auth: Auth) -> None:
    AuthorityFlow.auth = auth
    run_state_machine_as_test(
        AuthorityFlow,
        settings=settings(
            max_examples=8,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
