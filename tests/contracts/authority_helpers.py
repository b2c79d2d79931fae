"""AuthoritySet on chain from the tests: deploying it, the `Auth` handle, shared cases."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from gridledger.contracts.artifacts import load_artifact
from gridledger.node.ledger.authority_model import MAX_AUTHORITIES
from tests.contracts.harness import Stack

N_CANDIDATES = 6
DEPLOY_GAS = 5_000_000
ZERO = "0x" + "00" * 20

A = TypeVar("A")


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


def authority_set_factory(stack: Stack) -> Any:
    """web3's contract factory for AuthoritySet (ABI and bytecode from the artifact)."""
    artifact = load_artifact("AuthoritySet")
    return stack.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)


def deploy_authority_set(stack: Stack, initial: Sequence[str]) -> Contract:
    factory = authority_set_factory(stack)
    constructor = factory.constructor(stack.deployment.addresses["Registry"], list(initial))
    receipt = stack.transact(constructor, stack.roles.admin, gas=DEPLOY_GAS)
    contract: Contract = stack.w3.eth.contract(address=receipt["contractAddress"], abi=factory.abi)
    return contract


def scheduled(auth: Auth, receipt: dict[str, Any]) -> dict[str, Any]:
    """The arguments of the one AuthorityChangeScheduled event in `receipt`."""
    (event,) = auth.stack.events(auth.contract, "AuthorityChangeScheduled", receipt)
    return dict(event["args"])


def numbered_address(i: int) -> ChecksumAddress:
    """The address whose value is `i` (1, 2, ...: distinct, non-zero, no key needed)."""
    return Web3.to_checksum_address(f"0x{i:040x}")


def refused_initial_sets(
    address: Callable[[int], A], zero: A
) -> list[tuple[list[A], tuple[Any, ...]]]:
    """Initial sets the constructor and the model both refuse, each with its error name and
    arguments; `address(i)` makes the i-th distinct non-zero address, `zero` is address 0."""
    a, b = address(1), address(2)
    too_many = [address(i) for i in range(1, MAX_AUTHORITIES + 2)]
    return [
        ([], ("AuthoritySetEmpty",)),
        ([a, zero], ("AuthorityZeroAddress",)),
        ([a, b, a], ("AuthorityDuplicate", a)),
        (too_many, ("AuthoritySetTooLarge", MAX_AUTHORITIES + 1, MAX_AUTHORITIES)),
    ]
