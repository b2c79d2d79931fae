"""Genesis: recorded deploy transactions executed into the genesis state, the shared genesis
file, and precise errors for bad ones."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from eth_account import Account

from gridledger.node.errors import ConfigError
from gridledger.node.ledger.deploy import MarketTiming, RegulationRules, Roles
from gridledger.node.ledger.embedded.chain import EmbeddedChain, GenesisMismatchError
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.genesis_build import GenesisBuildError
from gridledger.node.ledger.embedded.genesis_file import load_genesis_file, write_genesis_file
from gridledger.node.ledger.genesis_deploy import record_deployment

ROLE_KEYS = [Account.from_key(bytes([0x21 + i]) * 32) for i in range(4)]
BASE = GenesisConfig(
    prefund={a.address: 10**24 for a in ROLE_KEYS},
    authorities=(ROLE_KEYS[0].address, ROLE_KEYS[1].address),
    period_s=2,
)


@pytest.fixture(scope="module")
def recorded() -> tuple[tuple[bytes, ...], dict[str, str]]:
    roles = Roles(*(a.address for a in ROLE_KEYS))
    timing = MarketTiming(epoch_start_ts=BASE.timestamp_ts)
    return record_deployment(BASE, ROLE_KEYS[0], roles, RegulationRules(), timing)


def test_replicas_build_the_same_genesis_with_the_contracts(
    tmp_path: Path, recorded: tuple[tuple[bytes, ...], dict[str, str]]
) -> None:
    txs, addresses = recorded
    genesis = dataclasses.replace(BASE, deploy_txs=txs)
    a = EmbeddedChain(tmp_path / "a", genesis)
    b = EmbeddedChain(tmp_path / "b", genesis)
    assert a.head_header() == b.head_header()
    assert a.head_header().block_number == 0
    state = a.state_at(0)
    for name, address in addresses.items():
        assert len(state.get_code(bytes.fromhex(address[2:]))) > 1000, name
    # The admin's nonce moved past the deploy transactions; nobody else's did.
    assert state.get_nonce(bytes.fromhex(ROLE_KEYS[0].address[2:])) == len(txs)
    a.close()
    b.close()
    # Another deploy list is another chain: the data dir refuses it.
    with pytest.raises(GenesisMismatchError):
        EmbeddedChain(tmp_path / "a", dataclasses.replace(genesis, deploy_txs=txs[:-1]))


def test_a_failing_deploy_transaction_is_refused(
    tmp_path: Path, recorded: tuple[tuple[bytes, ...], dict[str, str]]
) -> None:
    txs, _ = recorded
    with pytest.raises(GenesisBuildError, match="genesis deploy transaction 0"):
        EmbeddedChain(tmp_path / "x", dataclasses.replace(BASE, deploy_txs=(txs[1],)))
    with pytest.raises(GenesisBuildError, match="genesis deploy transaction 0"):
        EmbeddedChain(tmp_path / "y", dataclasses.replace(BASE, deploy_txs=(b"\x02junk",)))


def test_genesis_file_round_trip_and_errors(
    tmp_path: Path, recorded: tuple[tuple[bytes, ...], dict[str, str]]
) -> None:
    txs, addresses = recorded
    genesis = dataclasses.replace(BASE, deploy_txs=txs)
    path = tmp_path / "genesis.json"
    write_genesis_file(path, genesis, addresses)
    loaded, contracts = load_genesis_file(path)
    assert loaded.fingerprint() == genesis.fingerprint()
    assert contracts == addresses
    doc = json.loads(path.read_text())
    for change, message in (
        ({"chain_id": "1"}, "chain_id must be an integer"),
        ({"deploy_txs": ["zz"]}, r"deploy_txs\[0\]: expected 0x-prefixed hex"),
        ({"authorities": ["0x12"]}, "is not an address"),
        ({"authorities": [5]}, "is not an address"),
        ({"prefund": {ROLE_KEYS[0].address: 5}}, "must be a decimal string"),
        ({"surprise": 1}, r"unknown keys \['surprise'\]"),
        ({"period_s": 0}, "period_s: must be in 1..3600"),
    ):
        path.write_text(json.dumps({**doc, **change}))
        with pytest.raises(ConfigError, match=message) as refused:
            load_genesis_file(path)
        assert str(refused.value).startswith(f"{path}: "), refused.value
    with pytest.raises(ConfigError, match="does not exist"):
        load_genesis_file(tmp_path / "none.json")
    authorities = (ROLE_KEYS[0].address, ROLE_KEYS[0].address.lower())
    with pytest.raises(ConfigError, match="listed twice"):
        GenesisConfig(authorities=authorities)
