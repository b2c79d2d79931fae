"""Aura sealing: a replica re-executes and accepts in-turn blocks, and refuses forged ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey, Signature
from eth_utils.exceptions import ValidationError

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded.aura import (
    NO_AUTHORITY_SET,
    Aura,
    SealError,
    header_seal_digest,
    seal,
)
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.rpc import JsonRpc
from tests.node.txs import signed_transfer

KEYS = [PrivateKey(bytes([0x40 + i]) * 32) for i in range(3)]
USER = Account.from_key(b"\x0a" * 32)
GENESIS = GenesisConfig(prefund={USER.address: 10**24}, timestamp_ts=1_800_000_000)
AURA = Aura(
    authorities=tuple(k.public_key.to_canonical_address() for k in KEYS),
    period_s=5,
    genesis_ts=GENESIS.timestamp_ts,
    chain_id=GENESIS.chain_id,
    authority_set=NO_AUTHORITY_SET,
)


def transfer(nonce: int) -> bytes:
    return signed_transfer(USER, nonce, value=7, to="33")


@pytest.fixture
def pair(tmp_path: Path) -> tuple[EmbeddedChain, EmbeddedChain]:
    return EmbeddedChain(tmp_path / "a", GENESIS), EmbeddedChain(tmp_path / "b", GENESIS)


def test_replica_re_executes_and_converges(pair: tuple[EmbeddedChain, EmbeddedChain]) -> None:
    proposer, replica = pair
    for step in range(1, 6):
        proposer.submit_raw(transfer(step - 1))
        mined = proposer.produce_sealed_block(AURA, step, KEYS[step % 3])
        replica.import_sealed_block(mined.block, AURA)
    assert replica.head_header() == proposer.head_header()
    assert replica.head_header().state_root == proposer.head_header().state_root
    # A skipped step (its proposer was down) is fine: the next in-turn authority seals.
    mined = proposer.produce_sealed_block(AURA, 8, KEYS[8 % 3])
    replica.import_sealed_block(mined.block, AURA)
    assert replica.head_header().timestamp == AURA.slot_ts(8)


def test_sealing_out_of_turn_is_refused_at_home(pair: tuple[EmbeddedChain, EmbeddedChain]) -> None:
    proposer, _ = pair
    with pytest.raises(SealError, match="step 1 sealed by"):
        proposer.produce_sealed_block(AURA, 1, KEYS[0])  # step 1 belongs to KEYS[1]
    assert proposer.head_header().block_number == 0


def test_forged_blocks_are_refused_and_change_nothing(
    pair: tuple[EmbeddedChain, EmbeddedChain],
) -> None:
    proposer, replica = pair
    proposer.submit_raw(transfer(0))
    good = proposer.produce_sealed_block(AURA, 1, KEYS[1]).block
    header = good.header

    def resealed(**changes: object) -> object:
        h = header.copy(**changes)
        key = KEYS[int.from_bytes(h.extra_data[:8], "big") % 3]
        return good.copy(header=h.copy(extra_data=seal(h, key, AURA)))

    wrong_key = good.copy(header=header.copy(extra_data=seal(header, KEYS[2], AURA)))
    with pytest.raises(SealError, match="step 1 sealed by"):
        replica.import_sealed_block(wrong_key, AURA)
    with pytest.raises(SealError, match="timestamp"):
        replica.import_sealed_block(resealed(timestamp=header.timestamp + 1), AURA)
    bad_root = resealed(state_root=b"\x11" * 32)
    with pytest.raises(ValidationError):
        replica.import_sealed_block(bad_root, AURA)
    tampered = good.copy(header=header.copy(gas_used=header.gas_used + 1))  # seal no longer fits
    with pytest.raises(SealError):
        replica.import_sealed_block(tampered, AURA)
    assert replica.head_header().block_number == 0
    replica.import_sealed_block(good, AURA)  # the genuine block still imports afterwards
    with pytest.raises(SealError, match="parent is not block 1"):
        replica.import_sealed_block(good, AURA)  # a replay
    assert replica.head_header() == proposer.head_header()


def test_a_high_s_copy_of_a_sealed_block_is_refused(
    pair: tuple[EmbeddedChain, EmbeddedChain],
) -> None:
    proposer, replica = pair
    good = proposer.produce_sealed_block(AURA, 1, KEYS[1]).block
    extra = good.header.extra_data
    s_value, v = int.from_bytes(extra[40:72], "big"), extra[72]
    high_s = (SECP256K1_N - s_value).to_bytes(32, "big")
    twin = good.copy(header=good.header.copy(extra_data=extra[:40] + high_s + bytes([1 - v])))
    # The same proposer's valid signature of the same header, under another block hash:
    signature = Signature(twin.header.extra_data[8:])
    digest = header_seal_digest(twin.header, AURA)
    assert signature.recover_public_key_from_msg_hash(digest) == KEYS[1].public_key
    assert twin.hash != good.hash
    with pytest.raises(SealError) as info:
        replica.import_sealed_block(twin, AURA)
    assert str(info.value) == (
        f"block 1: seal s = {SECP256K1_N - s_value:#x} is in the upper half of the curve order"
    )
    replica.import_sealed_block(good, AURA)
    assert replica.head_header().hash == good.hash


def test_a_sealed_chain_is_final_only_where_a_justification_is_recorded(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path / "f", GENESIS, aura=AURA)
    assert chain.finalized_number() == 0
    for step in range(1, 7):  # sealed in turn by every authority: seals alone finalize nothing
        chain.produce_sealed_block(AURA, step, KEYS[step % 3])
    assert chain.finalized_number() == 0
    block_3 = bytes(chain.header_by_number(3).hash)
    with pytest.raises(LedgerError, match="block 3 0x030303030303 is not canonical"):
        chain.record_justification(3, b"\x03" * 32, b"votes")
    chain.record_justification(3, block_3, b"votes")  # node.consensus.finality checked them
    assert chain.finalized_number() == 3
    assert chain.justification_covering(2) == (3, block_3, b"votes")  # ancestors are final
    assert chain.justification_covering(4) is None
    rpc_final = JsonRpc(chain).call("eth_getBlockByNumber", ["finalized", False])
    assert int(rpc_final["number"], 16) == 3
    assert int(JsonRpc(chain).call("eth_getBlockByNumber", ["latest", False])["number"], 16) == 6
    chain.close()
    chain = EmbeddedChain(tmp_path / "f", GENESIS, aura=AURA)  # durable
    assert chain.finalized_number() == 3
    chain.rewind_to(2)  # only a test rewinds below finality: the justification goes too
    assert chain.finalized_number() == 0 and chain.justification_covering(1) is None
    chain.close()


def test_an_unsealed_chain_is_final_at_its_head(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path / "u", GENESIS)
    chain.produce_block(empty_ok=True)
    assert chain.finalized_number() == 1
