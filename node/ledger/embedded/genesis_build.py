"""Building the genesis block of an embedded chain, recorded deploy transactions included.

The pre-funded accounts are written into a fresh state; then every recorded deploy
transaction is executed on that state in a block-0 context (the genesis timestamp, gas limit
and base fee) and must succeed; the state root after them is the genesis block's. Every replica
given the same GenesisConfig builds the same genesis hash. The deploy transactions' receipts and
logs belong to no block and are not queryable.
"""

from __future__ import annotations

from typing import Any, cast

import rlp
from eth.abc import AtomicDatabaseAPI
from eth.chains.base import Chain, MiningChain
from eth.rlp.headers import BlockHeader
from eth.vm.chain_context import ChainContext
from eth_typing import Address
from eth_utils.exceptions import ValidationError

from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded.genesis import GenesisConfig


class GenesisBuildError(LedgerError):
    """A recorded deploy transaction does not decode or does not succeed at genesis."""


def create_genesis(
    chain_class: type[MiningChain], db: AtomicDatabaseAPI, genesis: GenesisConfig
) -> MiningChain:
    """Persist the genesis of `genesis` into `db` and return the chain on it."""
    if not genesis.deploy_txs:
        return cast(
            MiningChain,
            chain_class.from_genesis(
                db, cast(Any, genesis.genesis_params()), cast(Any, genesis.genesis_state())
            ),
        )
    vm_class = chain_class.get_vm_class_for_block_number(cast(Any, 0))
    context = ChainContext(chain_class.chain_id)
    pre = vm_class.build_state(db, BlockHeader(difficulty=0, block_number=-1, gas_limit=0), context)
    for address, account in genesis.genesis_state().items():
        pre.set_balance(Address(address), cast(int, account["balance"]))
    pre.persist()
    template = vm_class.create_genesis_header(
        **cast(Any, {**genesis.genesis_params(), "state_root": pre.state_root})
    )
    state = vm_class.build_state(db, template, context, ())
    builder = vm_class.get_transaction_builder()
    for index, raw in enumerate(genesis.deploy_txs):
        try:
            tx = builder.decode(raw)
            tx.validate()
            state.lock_changes()
            computation = state.apply_transaction(tx)
        except (ValidationError, ValueError, TypeError, rlp.DecodingError) as exc:
            raise GenesisBuildError(f"genesis deploy transaction {index}: {exc}") from exc
        if computation.is_error:
            raise GenesisBuildError(
                f"genesis deploy transaction {index} failed: {computation.error!r}"
            )
    state.persist()
    header = template.copy(state_root=state.state_root)
    return cast(MiningChain, cast(type[Chain], chain_class).from_genesis_header(db, header))
