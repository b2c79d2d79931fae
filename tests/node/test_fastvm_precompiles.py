"""Calls into precompiles (ecrecover above all) give what stock py-evm gives.

A contract copies its calldata to memory, calls a precompile with it (STATICCALL, CALL with
and without value, DELEGATECALL, CALLCODE) under a given gas, and returns the success flag
and the return data; both interpreters must agree on everything (tests/node/test_fastvm_diff
compares success, gas, output, logs, state root, stack and memory). Signatures are real ones,
then bent: v, r and s at and around their limits, short and long input, too little gas.
"""

from __future__ import annotations

from eth import constants
from eth_keys.datatypes import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.node.test_fastvm_diff import _asm, _push, assert_same

STATICCALL, CALL, CALLCODE, DELEGATECALL = 0xFA, 0xF1, 0xF2, 0xF4
N = constants.SECPK1_N


def _caller(op: int, precompile: int, gas: int, value: int = 0) -> bytes:
    """Calldata -> memory 0, `op` to `precompile` with `gas`, return [success, data...]."""
    value_push = _push(value) if op in (CALL, CALLCODE) else b""
    return _asm(
        0x36, 0x5F, 0x5F, 0x37,  # CALLDATACOPY(0, 0, CALLDATASIZE)
        _push(64), _push(0x400), 0x36, 0x5F, value_push, _push(precompile), _push(gas), op,
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
