"""Forged and wrong blocks for consensus tests: each kind a node must refuse."""

from __future__ import annotations

from typing import Any

from eth_keys.datatypes import PrivateKey

from node.ledger.embedded.aura import Aura, seal
from node.ledger.embedded.chain import EmbeddedChain


def forged_blocks(
    chain: EmbeddedChain, aura: Aura, keys: dict[bytes, PrivateKey], step: int, far_step: int
) -> dict[str, Any]:
    """One bad block of each kind on top of `chain`'s head, for `step` (whose proposer's key
    is in `keys`), built on `chain` and rewound again; `far_step` is beyond the receivers'
    clock."""
    number = chain.head_header().block_number
    proposer = keys[aura.proposer(step)]
    other = next(k for a, k in keys.items() if a != aura.proposer(step))
    good = chain.produce_sealed_block(aura, step, proposer).block
    chain.rewind_to(number)
    header = good.header
    unsealed = header.copy(extra_data=step.to_bytes(8, "big"))
    out: dict[str, Any] = {}
    out["wrong proposer"] = good.copy(header=unsealed.copy(extra_data=seal(unsealed, other)))
    out["bad seal"] = good.copy(header=header.copy(extra_data=header.extra_data[:8] + b"\x01" * 65))
    off = header.copy(extra_data=(step + 1).to_bytes(8, "big"), timestamp=aura.slot_ts(step + 1))
    out["out-of-turn step"] = good.copy(header=off.copy(extra_data=seal(off, proposer)))
    bad_root = unsealed.copy(state_root=b"\x11" * 32)
    out["bad state root"] = good.copy(header=bad_root.copy(extra_data=seal(bad_root, proposer)))
    far = header.copy(extra_data=far_step.to_bytes(8, "big"), timestamp=aura.slot_ts(far_step))
    far_key = keys[aura.proposer(far_step)]
    out["future step"] = good.copy(header=far.copy(extra_data=seal(far, far_key)))
    return out
