"""Calls into precompiles (ecrecover above all) give what stock py-evm gives.

A contract copies its calldata to memory, calls a precompile with it (STATICCALL, CALL with
and without value, DELEGATECALL, CALLCODE) under a given gas, and returns the success flag
and the return data; both interpreters must agree on everything (test_fastvm_diff.py
compares success, gas, output, logs, state root, stack and memory). Signatures are real ones,
then bent: v, r and s at and around their limits, short and long input, too little gas.
"""

from __future__ import annotations

import pytest
from eth import constants
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth_keys.datatypes import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded import fastvm_precompiles
from gridledger.node.ledger.embedded.fastvm import GridledgerComputation
from tests.node.ledger.embedded.test_fastvm_diff import (
    _CHAIN,
    CALLEE,
    CONTRACT,
    ECRECOVER,
    _asm,
    _push,
    assert_same,
    compile_threshold,
)

STATICCALL, CALL, CALLCODE, DELEGATECALL = 0xFA, 0xF1, 0xF2, 0xF4
N = constants.SECPK1_N
TX_KEY = PrivateKey(b"\x42" * 32)


def _call(op: int, precompile: int, gas: int, value: int = 0) -> bytes:
    """Calldata -> memory 0, `op` to `precompile` with `gas`, its output to 0x400 (64 bytes);
    the success flag is left on the stack."""
    value_push = _push(value) if op in (CALL, CALLCODE) else b""
    return _asm(
        0x36, 0x5F, 0x5F, 0x37,  # CALLDATACOPY(0, 0, CALLDATASIZE)
        _push(64), _push(0x400), 0x36, 0x5F, value_push, _push(precompile), _push(gas), op,
    )  # fmt: skip


def _caller(op: int, precompile: int, gas: int, value: int = 0) -> bytes:
    """`_call`, then return [success, data...]."""
    return _call(op, precompile, gas, value) + _asm(
        _push(0x3E0), 0x52,  # success at 0x3E0, the output at 0x400
        _push(0x60), _push(0x3E0), 0xF3,
    )  # fmt: skip


def _signed(key_seed: int, digest: bytes) -> tuple[int, int, int]:
    signature = PrivateKey(key_seed.to_bytes(32, "big")).sign_msg_hash(digest)
    return 27 + signature.v, signature.r, signature.s


@settings(max_examples=120, deadline=None)
@given(
    key_seed=st.integers(1, N - 1),
    digest=st.binary(min_size=32, max_size=32),
    v_change=st.sampled_from((None, None, 0, 1, 26, 29, 27 + 2**255)),
    r_change=st.sampled_from((None, None, 0, 1, N - 1, N, N + 1, 2**256 - 1)),
    s_change=st.sampled_from((None, None, 0, 1, N - 1, N, 2**256 - 1)),
    length=st.sampled_from((128, 128, 0, 31, 64, 97, 127, 129, 200)),
    op=st.sampled_from((STATICCALL, STATICCALL, CALL, DELEGATECALL, CALLCODE)),
    gas=st.sampled_from((100_000, 100_000, 0, 2_999, 3_000)),
)
def test_ecrecover(
    key_seed: int,
    digest: bytes,
    v_change: int | None,
    r_change: int | None,
    s_change: int | None,
    length: int,
    op: int,
    gas: int,
) -> None:
    v, r, s = _signed(key_seed, digest)
    v = v if v_change is None else v_change
    r = r if r_change is None else r_change
    s = s if s_change is None else s_change
    words = digest + v.to_bytes(32, "big") + r.to_bytes(32, "big") + s.to_bytes(32, "big")
    calldata = (words + b"\x5a" * 72)[:length]
    outcome = assert_same(_caller(op, 1, gas), gas=200_000, calldata=calldata)
    assert outcome.success


def test_ecrecover_recovers_the_signer() -> None:
    key = PrivateKey(b"\x07" * 32)
    digest = b"\x42" * 32
    v, r, s = _signed(int.from_bytes(b"\x07" * 32, "big"), digest)
    words = digest + v.to_bytes(32, "big") + r.to_bytes(32, "big") + s.to_bytes(32, "big")
    outcome = assert_same(_caller(STATICCALL, 1, 100_000), gas=200_000, calldata=words)
    assert outcome.output[:32] == (1).to_bytes(32, "big")
    assert outcome.output[32:64] == bytes(12) + key.public_key.to_canonical_address()


def test_every_precompile_with_value_without_and_out_of_gas() -> None:
    data = bytes(range(200))
    for precompile in range(1, 11):
        for op, value in ((STATICCALL, 0), (CALL, 0), (CALL, 1), (DELEGATECALL, 0)):
            for gas in (0, 20, 600, 5_000, 200_000):
                try:
                    assert_same(_caller(op, precompile, gas, value), gas=500_000, calldata=data)
                except AssertionError as exc:
                    raise AssertionError(f"precompile {precompile} op {op:#x}: {exc}") from exc


def _tx_outcome(
    computation_class: type[CancunComputation], code: bytes, callee_code: bytes, one: str
) -> tuple[bool, int, bytes]:
    """A whole transaction (EIP-161 clearing included) calling `code` at CONTRACT, with the
    ecrecover account 0x01 `one` ("absent", "empty": existing and empty, "funded") before it;
    (success, gas used, state root after the transaction)."""
    state = _CHAIN.get_vm().state
    state.set_code(CONTRACT, code)
    state.set_code(CALLEE, callee_code)
    if one == "empty":
        state.touch_account(ECRECOVER)
    elif one == "funded":
        state.set_balance(ECRECOVER, 1)
    state.persist()
    assert state.account_exists(ECRECOVER) is (one != "absent")
    tx = CancunTransactionBuilder.new_unsigned_dynamic_fee_transaction(
        chain_id=1337, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=10**10,
        gas=1_000_000, to=CONTRACT, value=0, data=bytes(range(128)), access_list=(),
    ).as_signed_transaction(TX_KEY)  # fmt: skip
    state.set_balance(TX_KEY.public_key.to_canonical_address(), 10**18)
    state.computation_class = computation_class  # type: ignore[misc]
    computation = state.apply_transaction(tx)
    return computation.is_success, computation.get_gas_used(), state.make_state_root()


def test_ecrecover_touch_at_transaction_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """py-evm touches 0x01 in every successful call and clears it at the end of the
    transaction if empty; the compiled STATICCALL's single touch and record must leave the
    same state with 0x01 absent, existing empty or funded, and a reverted frame between."""
    records: list[object] = []

    class CountedRecord(fastvm_precompiles.PrecompileCallRecord):
        def __init__(self, state: object, to: bytes) -> None:
            super().__init__(state, to)
            records.append(self)

    monkeypatch.setattr(fastvm_precompiles, "PrecompileCallRecord", CountedRecord)
    call_and_pop = _call(STATICCALL, 1, 100_000) + b"\x50"
    twice = call_and_pop * 2
    reverting_callee = call_and_pop + _asm(0x5F, 0x5F, 0xFD)  # ..., REVERT
    callee = _push(int.from_bytes(CALLEE, "big"))
    call_callee = _asm(0x5F, 0x5F, 0x5F, 0x5F, 0x5F, callee, 0x5A, 0xF1, 0x50)  # CALL, POP
    for code in (twice + call_callee + twice, call_callee + twice, call_callee):
        for one in ("absent", "empty", "funded"):
            stock = _tx_outcome(CancunComputation, code, reverting_callee, one)
            assert stock[0]
            for threshold in (0, 2):
                with compile_threshold(threshold):
                    fast = _tx_outcome(GridledgerComputation, code, reverting_callee, one)
                assert fast == stock, f"0x01 {one}, threshold {threshold}: {code.hex()}"
    assert records, "the compiled STATICCALL into ecrecover did not run"
