"""Aura-style proof of authority on the embedded chain: sealing and checking blocks.

Time is cut into steps of `period_s`; the block of step s is proposed by
authorities[s mod n], has timestamp genesis_ts + s * period_s, and carries in extra_data the
step (8 bytes, big-endian) and the proposer's secp256k1 signature (65 bytes: r, s, v) over the
seal digest keccak256(abi.encodePacked("gridledger/aura-seal/v1", uint256 chainId, address
AuthoritySet, uint64 step, bytes32 bareHash)), bareHash being the keccak256 of the RLP header
with only the step in extra_data (`seal_hash`). AuthoritySet computes the same digest
(`sealDigest`), so two seals of one authority at one step over different headers are evidence
it checks without parsing RLP (`reportSealEquivocation`); the chain id and the contract keep a
seal from counting on another chain, and the domain from passing as a finality vote.
Difficulty stays 0 (Cancun headers); py-evm's Clique needs London, so this seal is our own
(docs/architecture.md). A replica re-executes every block (py-evm checks the state,
transaction and receipt roots) after `check_seal` accepted it. Finality is not the seal's:
authorities vote (node.consensus.finality).
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth.abc import BlockHeaderAPI, ComputationAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.vm.forks.cancun import CancunVM
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded import fastreceipt
from gridledger.node.ledger.embedded.fastvm import GridledgerState
from gridledger.node.ledger.embedded.secp256k1 import recover_address

STEP_BYTES = 8
SEAL_BYTES = 65
SEAL_DOMAIN = b"gridledger/aura-seal/v1"
"""Domain prefix of the seal digest (AuthoritySet.SEAL_DOMAIN); not the votes' prefix."""
ADDRESS_BYTES = 20
NO_AUTHORITY_SET = bytes(ADDRESS_BYTES)
"""The seal domain's contract address on a chain without AuthoritySet (as for votes)."""


class GridledgerVM(CancunVM):
    """Cancun, with room in extra_data for the Aura step and seal; receipts built by
    fastreceipt (the same receipts, faster)."""

    extra_data_max_bytes = STEP_BYTES + SEAL_BYTES
    _state_class = GridledgerState

    @classmethod
    def make_receipt(
        cls,
        base_header: BlockHeaderAPI,
        transaction: SignedTransactionAPI,
        computation: ComputationAPI,
        state: StateAPI,
    ) -> ReceiptAPI:
        return fastreceipt.make_receipt(cls, base_header, transaction, computation)


class SealError(LedgerError):
    """A block's seal, step, proposer or timestamp breaks the Aura rules (the message says
    which, with the numbers)."""


@dataclass(frozen=True, slots=True)
class Aura:
    """authorities: the sealers' addresses in turn order; period_s [s]; genesis_ts [unix s];
    chain_id and authority_set (AuthoritySet's 20-byte address, NO_AUTHORITY_SET on a chain
    without one): the seal digest's domain, the same on every replica of a chain."""

    authorities: tuple[bytes, ...]
    period_s: int
    genesis_ts: int
    chain_id: int
    authority_set: bytes

    def __post_init__(self) -> None:
        if not self.authorities:
            raise LedgerError("Aura needs at least one authority")
        if self.period_s < 1:
            raise LedgerError(f"Aura period must be >= 1 s, got {self.period_s}")
        if len(self.authority_set) != ADDRESS_BYTES:
            raise LedgerError(
                f"Aura authority set address is {len(self.authority_set)} bytes, not 20"
            )

    def step_at(self, ts: int) -> int:
        return (ts - self.genesis_ts) // self.period_s

    def slot_ts(self, step: int) -> int:
        return self.genesis_ts + step * self.period_s

    def proposer(self, step: int) -> bytes:
        return self.authorities[step % len(self.authorities)]


def step_of(header: BlockHeaderAPI) -> int:
    """The Aura step of a sealed header (0 for the unsealed genesis)."""
    return int.from_bytes(header.extra_data[:STEP_BYTES], "big") if header.extra_data else 0


def seal_hash(header: BlockHeaderAPI) -> bytes:
    """The bare header hash: keccak256 of the RLP header with only the step in extra_data."""
    return keccak(rlp.encode(header.copy(extra_data=header.extra_data[:STEP_BYTES])))


def seal_digest(chain_id: int, authority_set: bytes, step: int, bare_hash: bytes) -> bytes:
    """What the proposer signs: keccak256(abi.encodePacked(SEAL_DOMAIN, uint256 chainId,
    address authoritySet, uint64 step, bytes32 bareHash)), as AuthoritySet.sealDigest."""
    if len(authority_set) != ADDRESS_BYTES:
        raise SealError(f"authority set address is {len(authority_set)} bytes, not 20")
    return keccak(
        SEAL_DOMAIN
        + chain_id.to_bytes(32, "big")
        + authority_set
        + step.to_bytes(STEP_BYTES, "big")
        + bare_hash
    )


def header_seal_digest(header: BlockHeaderAPI, aura: Aura) -> bytes:
    """The seal digest of `header` (whose extra_data starts with its step) on `aura`'s chain."""
    return seal_digest(aura.chain_id, aura.authority_set, step_of(header), seal_hash(header))


def seal(header: BlockHeaderAPI, key: PrivateKey, aura: Aura) -> bytes:
    """extra_data for `header` (whose extra_data holds the step): the step and the signature
    of its seal digest on `aura`'s chain."""
    signature = key.sign_msg_hash(header_seal_digest(header, aura))
    return header.extra_data[:STEP_BYTES] + signature.to_bytes()


def sealer_of(header: BlockHeaderAPI, aura: Aura) -> bytes:
    """The address that sealed `header` on `aura`'s chain.

    The seal's s must be in the lower half of the curve order (as for meter readings,
    contracts.typed.recover_meter, and in AuthoritySet's evidence check): (r, n - s) with the
    other v is a second valid signature of the same header, which anybody could make, so one
    sealed block would have two hashes.
    """
    raw = header.extra_data[STEP_BYTES:]
    if len(raw) != SEAL_BYTES:
        raise SealError(f"block {header.block_number}: seal is {len(raw)} bytes, not {SEAL_BYTES}")
    s_value = int.from_bytes(raw[32:64], "big")
    if s_value > SECP256K1_N // 2:
        raise SealError(
            f"block {header.block_number}: seal s = {s_value:#x} is in the upper half of the "
            "curve order"
        )
    digest = header_seal_digest(header, aura)
    sealer = recover_address(digest, int.from_bytes(raw[:32], "big"), s_value, raw[64])
    if sealer is None:
        raise SealError(f"block {header.block_number}: seal does not recover (r, s or v malformed)")
    return sealer


def check_seal(header: BlockHeaderAPI, parent: BlockHeaderAPI, aura: Aura) -> None:
    """Raise SealError unless `header` is a valid Aura successor of `parent`."""
    number = header.block_number
    if header.parent_hash != parent.hash:
        raise SealError(f"block {number}: parent is not block {parent.block_number}")
    step = step_of(header)
    if step <= step_of(parent):
        raise SealError(f"block {number}: step {step} is not after the parent's {step_of(parent)}")
    if header.timestamp != aura.slot_ts(step):
        slot_ts = aura.slot_ts(step)
        raise SealError(
            f"block {number}: timestamp {header.timestamp} is not step {step}'s {slot_ts}"
        )
    expected = aura.proposer(step)
    sealer = sealer_of(header, aura)
    if sealer != expected:
        raise SealError(
            f"block {number}: step {step} sealed by 0x{sealer.hex()}, expected 0x{expected.hex()}"
        )
