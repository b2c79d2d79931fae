"""EIP-712 readings in Python: validation, digest parity with eth-account, recovery."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from gridledger.contracts.errors import ReadingInputError
from gridledger.contracts.typed import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    SECP256K1_N,
    MeterReading,
    MeterSignature,
    domain_separator,
    reading_digest,
    recover_meter,
    sign_reading,
)

KEY = keccak(text="meter")
METER = Account.from_key(KEY).address
CONTRACT = "0x" + "cd" * 20


def test_digest_equals_eth_account_generic_encoder() -> None:
    r = MeterReading(METER, METER, 1_800_000_000, 60, 123, 4, 9)
    full = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "MeterReading": [
                {"name": "meter", "type": "address"},
                {"name": "participant", "type": "address"},
                {"name": "intervalStartTs", "type": "uint64"},
                {"name": "durationS", "type": "uint32"},
                {"name": "importWh", "type": "uint64"},
                {"name": "exportWh", "type": "uint64"},
                {"name": "seq", "type": "uint64"},
            ],
        },
        "primaryType": "MeterReading",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": 31337,
            "verifyingContract": CONTRACT,
        },
        "message": r.eip712_message(),
    }
    message = encode_typed_data(full_message=full)
    expected = keccak(b"\x19" + message.version + message.header + message.body)
    assert reading_digest(r, domain_separator(31337, CONTRACT)) == expected
    # The signature is the one eth-account produces for the same typed data.
    sig = sign_reading(r, KEY, domain_separator(31337, CONTRACT))
    theirs = Account.sign_message(message, KEY)
    assert (sig.v, int.from_bytes(sig.r, "big"), int.from_bytes(sig.s, "big")) == (
        theirs.v,
        theirs.r,
        theirs.s,
    )


def test_recovery_and_domain_binding() -> None:
    r = MeterReading(METER, METER, 1_800_000_000, 60, 1, 0, 1)
    sep = domain_separator(1, CONTRACT)
    sig = sign_reading(r, KEY, sep)
    assert recover_meter(r, sig, sep) == METER
    assert recover_meter(r, sig, domain_separator(2, CONTRACT)) != METER
    high = MeterSignature(
        55 - sig.v, sig.r, (SECP256K1_N - int.from_bytes(sig.s, "big")).to_bytes(32, "big")
    )
    with pytest.raises(ReadingInputError, match="upper half"):
        recover_meter(r, high, sep)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_s", 2**32, "duration_s=4294967296 is outside uint32"),
        ("import_wh", -1, "import_wh=-1 is outside uint64"),
        ("seq", 1.5, "seq must be an integer"),
        ("meter", "0x1234", "meter is not an address"),
    ],
)
def test_out_of_range_fields_are_refused(field: str, value: object, message: str) -> None:
    fields: dict[str, object] = {
        "meter": METER,
        "participant": METER,
        "interval_start_ts": 0,
        "duration_s": 60,
        "import_wh": 0,
        "export_wh": 0,
        "seq": 1,
    }
    fields[field] = value
    with pytest.raises(ReadingInputError, match=message):
        MeterReading(**fields)  # type: ignore[arg-type]
