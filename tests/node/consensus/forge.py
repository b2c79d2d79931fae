"""Forged and wrong blocks for consensus tests: each kind a node must refuse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth.db.trie import make_trie_root_and_nodes
from eth_keys.datatypes import PrivateKey

from gridledger.node.ledger.embedded.aura import Aura, seal
from gridledger.node.ledger.embedded.chain import EmbeddedChain


def forged_blocks(
    chain: EmbeddedChain,
    aura: Aura,
    keys: dict[bytes, PrivateKey],
    step: int,
    far_step: int,
    bad_txs: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """One bad block of each kind on top of `chain`'s head, for `step` (whose proposer's key
    is in `keys`), built on `chain` and rewound again; `far_step` is beyond the receivers'
    clock. `bad_txs` adds, for each kind named, a block whose body holds that raw transaction
    (one that cannot apply on the head: a wrong nonce, a broken signature), whose transaction
    root matches the body and which the step's proposer sealed: only re-execution refuses it."""
    number = chain.head_header().block_number
    proposer = keys[aura.proposer(step)]
    other = next(k for a, k in keys.items() if a != aura.proposer(step))
    good = chain.produce_sealed_block(aura, step, proposer).block
    chain.rewind_to(number)
    header = good.header
    unsealed = header.copy(extra_data=step.to_bytes(8, "big"))
    out: dict[str, Any] = {}
    out["wrong proposer"] = good.copy(header=unsealed.copy(extra_data=seal(unsealed, other, aura)))
    out["bad seal"] = good.copy(header=header.copy(extra_data=header.extra_data[:8] + b"\x01" * 65))
    off = header.copy(extra_data=(step + 1).to_bytes(8, "big"), timestamp=aura.slot_ts(step + 1))
    out["out-of-turn step"] = good.copy(header=off.copy(extra_data=seal(off, proposer, aura)))
    bad_root = unsealed.copy(state_root=b"\x11" * 32)
    out["bad state root"] = good.copy(
        header=bad_root.copy(extra_data=seal(bad_root, proposer, aura))
    )
    far = header.copy(extra_data=far_step.to_bytes(8, "big"), timestamp=aura.slot_ts(far_step))
    far_key = keys[aura.proposer(far_step)]
    out["future step"] = good.copy(header=far.copy(extra_data=seal(far, far_key, aura)))
    builder = chain.chain.get_vm(header).get_transaction_builder()
    for kind, raw in (bad_txs or {}).items():
        tx = builder.decode(raw)
        tx_root, _ = make_trie_root_and_nodes((tx,))
        body = unsealed.copy(transaction_root=tx_root)
        out[kind] = good.copy(
            header=body.copy(extra_data=seal(body, proposer, aura)), transactions=(tx,)
        )
    return out
