"""Revert data decoding: custom errors from the committed ABIs, builtins, unknown data."""

from __future__ import annotations

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from gridledger.node.ledger.reverts import decode_revert, error_table


def _data(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_custom_error_with_arguments() -> None:
    meter = "0x" + "ab" * 20
    data = _data(
        "MeteringSequenceReplayed(uint256,address,uint64,uint64)",
        ["uint256", "address", "uint64", "uint64"],
        [3, meter, 2, 7],
    )
    err = decode_revert(data)
    assert err.name == "MeteringSequenceReplayed"
    assert err.error_args == (3, meter, 2, 7)
    assert err.data == data
    assert str(err) == f"MeteringSequenceReplayed(3, '{meter}', 2, 7)"


def test_hex_input_and_builtin_errors() -> None:
    data = _data("Error(string)", ["string"], ["boom"])
    assert decode_revert("0x" + data.hex()).error_args == ("boom",)
    assert decode_revert(_data("Panic(uint256)", ["uint256"], [0x32])).name == "Panic"


def test_unknown_and_malformed_data_keep_the_raw_bytes() -> None:
    unknown = decode_revert(b"\xde\xad\xbe\xef" + b"\x00" * 32)
    assert (unknown.name, unknown.error_args) == ("Unknown", ())
    selector = keccak(text="MarketZeroQuantity()")[:4]
    assert decode_revert(selector).name == "MarketZeroQuantity"
    truncated = keccak(text="MarketBatchSize(uint256,uint256)")[:4] + b"\x01"
    err = decode_revert(truncated)
    assert (err.name, err.error_args, err.data) == ("MarketBatchSize", (), truncated)


def test_every_contract_error_is_in_the_table() -> None:
    names = {name for name, *_ in error_table().values()}
    for expected in (
        "ImportCapRetroactive",
        "MarketVolumeNotMaximal",
        "RegistryMeterInUse",
        "RegulationTrustAboveOne",
        "AccessControlUnauthorizedAccount",
        "EnforcedPause",
        "MeteringSignatureHighS",
    ):
        assert expected in names
