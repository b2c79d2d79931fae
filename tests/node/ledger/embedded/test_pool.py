"""The transaction pool's bounds: a flood of funded transactions from one sender cannot fill
the pool for the others (the flooder's highest nonces are evicted down to its guaranteed
share), and the limits are read from the node config."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from gridledger.node.config import load_config
from gridledger.node.errors import ConfigError
from gridledger.node.ledger.embedded.budget import CallLimits
from gridledger.node.ledger.embedded.chain import EmbeddedChain, TransactionRejectedError
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.pool import PoolLimits
from tests.node.txs import signed_transfer

FLOODER = Account.from_key(b"\x05" * 32)
OTHERS = [Account.from_key(bytes([0x10 + i]) * 32) for i in range(8)]
GENESIS = GenesisConfig(prefund={a.address: 10**24 for a in (FLOODER, *OTHERS)})
LIMITS = PoolLimits(global_slots=8, account_slots=2)


def address(account: object) -> bytes:
    return bytes.fromhex(account.address[2:])  # type: ignore[attr-defined]


def test_a_flood_from_one_sender_cannot_fill_the_pool_for_others(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path, GENESIS, pool_limits=LIMITS)
    flood = [chain.submit_raw(signed_transfer(FLOODER, n)) for n in range(8)]
    assert list(chain.pool) == flood  # full
    # Each newcomer takes the slot of the flooder's highest nonce ...
    first = chain.submit_raw(signed_transfer(OTHERS[0], 0))
    assert first in chain.pool and flood[7] not in chain.pool
    assert chain.pending_nonce(address(FLOODER)) == 7  # it may send nonce 7 again later
    with pytest.raises(TransactionRejectedError) as refused:
        chain.submit_raw(signed_transfer(FLOODER, 7))
    assert str(refused.value) == (
        "the pool is full (8 of 8 transactions) and no sender holds more than its share (2) "
        "and more than this sender (7)"
    )
    for other in OTHERS[1:6]:
        chain.submit_raw(signed_transfer(other, 0))
    # ... down to its guaranteed share; then the pool is full for everyone.
    assert [h for h in flood if h in chain.pool] == flood[:2] and len(chain.pool) == 8
    with pytest.raises(TransactionRejectedError, match=r"share \(2\) and more than this sender"):
        chain.submit_raw(signed_transfer(OTHERS[6], 0))
    assert chain.txpool.evicted == 6
    # The evictions are on disk: a reopened chain has the same pool.
    pooled = list(chain.pool)
    chain.close()
    assert list(EmbeddedChain(tmp_path, GENESIS, pool_limits=LIMITS).pool) == pooled


def test_a_sender_over_its_share_is_evicted_only_for_a_smaller_one(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path, GENESIS, pool_limits=PoolLimits(4, 1))
    for n in range(2):
        chain.submit_raw(signed_transfer(FLOODER, n))
        chain.submit_raw(signed_transfer(OTHERS[0], n))
    # Both hold 2 (over the share of 1): a third sender takes a slot, a holder of 2 does not.
    with pytest.raises(TransactionRejectedError, match=r"more than this sender \(2\)"):
        chain.submit_raw(signed_transfer(OTHERS[0], 2))
    chain.submit_raw(signed_transfer(OTHERS[1], 0))
    assert len(chain.pool) == 4


def test_the_limits_come_from_the_node_config(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text(
        "[rpc]\ngas_cap = 1000000\nevm_timeout_s = 1.5\nrequest_budget_s = 3\n"
        "[pool]\nglobal_slots = 100\naccount_slots = 10\n"
        "[node]\nbuild_budget_s = 0.5\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.calls == CallLimits(gas_cap=1_000_000, timeout_s=1.5, request_budget_s=3.0)
    assert config.pool == PoolLimits(global_slots=100, account_slots=10)
    assert config.build_budget_s == 0.5
    path.write_text("[pool]\nglobal_slots = 4\naccount_slots = 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="account_slots <= global_slots, got 10 and 4"):
        load_config(path)
    path.write_text("[rpc]\ngascap = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rpc: unknown keys \['gascap'\]"):
        load_config(path)
