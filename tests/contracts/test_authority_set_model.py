"""AuthoritySet against its pure-Python reference model (node.ledger.authority_model):
the same initial sets refused, and random propose / vote / approve / enact / mine / report
sequences (vote and seal evidence, valid or short of an equivocation) compared state by state
on each engine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from web3 import Web3

from gridledger.contracts.enums import AuthorityProposalState
from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.errors import ContractRevertError
from gridledger.node.ledger.authority_model import (
    MAX_AUTHORITIES,
    AuthorityModel,
    AuthorityRuleError,
)
from gridledger.node.ledger.embedded.aura import seal_digest
from gridledger.node.ledger.votes import sign_vote
from tests.contracts.authority_helpers import N_CANDIDATES, Auth, refused_initial_sets
from tests.contracts.harness import expect_revert


def test_the_model_refuses_the_same_initial_sets_as_the_constructor() -> None:
    def address(i: int) -> bytes:
        return i.to_bytes(20, "big")

    for initial, (name, *args) in refused_initial_sets(address, bytes(20)):
        with pytest.raises(AuthorityRuleError) as caught:
            AuthorityModel(initial)
        assert (caught.value.name, caught.value.error_args) == (name, tuple(args))
    largest = tuple(address(i) for i in range(1, MAX_AUTHORITIES + 1))
    assert AuthorityModel(largest).authorities_at(0) == largest


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
            if self.model.state_of(pid, block_number) == AuthorityProposalState.PENDING
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
    KINDS = ("propose",) * 3 + ("vote",) * 4 + ("approve", "enact", "mine", "mine", "report")
    KINDS += ("seal_report",)

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
        elif kind == "report":
            self._report(account % N_CANDIDATES, offset)
        elif kind == "seal_report":
            self._seal_report(account % N_CANDIDATES, offset, invalid, pick)
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

    def _report(self, candidate: int, height: int) -> None:
        """Equivocation evidence against candidate `candidate` (an authority or not): two of
        its precommits at `height` for different blocks; anyone may submit it."""
        stack, target = self.auth.stack, self.auth.candidates[candidate]
        key = PrivateKey(keccak(text=f"gridledger-sandbox:authority-{candidate}"))
        domain = (int(stack.w3.eth.chain_id), _b(self.auth.contract.address))
        a, b = (sign_vote(key, *domain, height, keccak(bytes([i]))) for i in (1, 2))
        call = self.auth.f.reportEquivocation(
            int(a.kind), height, a.block_hash, a.signature, b.block_hash, b.signature
        )
        self._apply(lambda m, n: m.remove_equivocator(_b(target), n), call, stack.roles.treasury)

    def _seal_report(self, candidate: int, step: int, flaw: int, other: int) -> None:
        """Seal evidence against candidate `candidate` (an authority or not): its seals at
        `step` over two bare header hashes; anyone may submit it. `flaw` 0-1: none; 2: the
        same hash twice; 3: the second seal by candidate `other`; 4: the second seal high-s."""
        stack = self.auth.stack
        chain_id, contract = int(stack.w3.eth.chain_id), _b(self.auth.contract.address)

        def sealed(i: int, hash_: bytes) -> bytes:
            key = PrivateKey(keccak(text=f"gridledger-sandbox:authority-{i}"))
            return bytes(key.sign_msg_hash(seal_digest(chain_id, contract, step, hash_)).to_bytes())

        hash_a = keccak(b"seal a")
        hash_b = hash_a if flaw == 2 else keccak(b"seal b")
        sig_a = sealed(candidate, hash_a)
        sig_b = sealed(other % N_CANDIDATES if flaw == 3 else candidate, hash_b)
        if flaw == 4:
            s_value = int.from_bytes(sig_b[32:64], "big")
            mirrored = (SECP256K1_N - s_value).to_bytes(32, "big")
            sig_b = sig_b[:32] + mirrored + bytes([sig_b[64] ^ 1])
        call = self.auth.f.reportSealEquivocation(step, hash_a, sig_a, hash_b, sig_b)
        self._apply(
            lambda m, n: m.report_seal_equivocation(
                step, hash_a, sig_a, hash_b, sig_b, n, chain_id=chain_id, authority_set=contract
            ),
            call,
            stack.roles.treasury,
        )

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
            if state != AuthorityProposalState.PENDING:
                self.settled.add(pid)
        self._check_sets({head, head + 1})

    def _check_sets(self, block_numbers: set[int]) -> None:
        for n in sorted(b for b in block_numbers if b >= 0):
            got = tuple(_b(m) for m in self._view(self.auth.f.authoritiesAt(n)))
            assert got == self.model.authorities_at(n), f"authoritiesAt({n})"


@pytest.mark.distinct_evms
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
