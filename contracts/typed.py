"""EIP-712 typed data of the contracts: the signed MeterReading and its signatures, and the
ContractTerms an importer signs to consent to an import-cap contract.

The digest computed here equals Metering's ``_hashTypedDataV4`` (tested against the contract
and against eth-account's generic encoder); signing uses eth-keys, which produces low-s
signatures (coincurve backend), the only ones Metering accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_keys.datatypes import PrivateKey, Signature
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from gridledger.contracts.errors import ReadingInputError

DOMAIN_NAME = "gridledger.Metering"
DOMAIN_VERSION = "1"
READING_TYPE = (
    "MeterReading(address meter,address participant,uint64 intervalStartTs,"
    "uint32 durationS,uint64 importWh,uint64 exportWh,uint64 seq)"
)
READING_TYPEHASH = keccak(text=READING_TYPE)
TERMS_DOMAIN_NAME = "gridledger.ImportCap"
TERMS_TYPE = (
    "ContractTerms(address importer,uint8 kind,uint32 windowStartS,uint32 windowEndS,"
    "address counterparty,uint40 validFromTs,uint40 validToTs,int64 lowerW,int64 upperW,"
    "uint64 lambdaUnitsPerKwh,uint64 betaWadPerKwh)"
)
TERMS_TYPEHASH = keccak(text=TERMS_TYPE)
_TERMS_ABI_TYPES = [
    "address",
    "uint8",
    "uint32",
    "uint32",
    "address",
    "uint40",
    "uint40",
    "int64",
    "int64",
    "uint64",
    "uint64",
]
_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
# secp256k1 group order: a signature's s must be at most half of it (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_UINT_BITS = {
    "interval_start_ts": 64,
    "duration_s": 32,
    "import_wh": 64,
    "export_wh": 64,
    "seq": 64,
}


@dataclass(frozen=True, slots=True)
class MeterReading:
    """Energy at a PCC over [interval_start_ts, interval_start_ts + duration_s).

    import_wh [Wh] flowed into the microgrid, export_wh [Wh] out of it; seq increases
    strictly per meter. Addresses are checksummed on construction.
    """

    meter: str
    participant: str
    interval_start_ts: int
    duration_s: int
    import_wh: int
    export_wh: int
    seq: int

    def __post_init__(self) -> None:
        for name, bits in _UINT_BITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ReadingInputError(f"{name} must be an integer, got {value!r}")
            if not 0 <= value < 2**bits:
                raise ReadingInputError(f"{name}={value} is outside uint{bits}")
        for name in ("meter", "participant"):
            try:
                object.__setattr__(self, name, to_checksum_address(getattr(self, name)))
            except (ValueError, TypeError) as exc:
                raise ReadingInputError(f"{name} is not an address: {exc}") from exc

    def as_abi(self) -> tuple[str, str, int, int, int, int, int]:
        """The tuple the contract ABI takes for a MeterReading struct."""
        return (
            self.meter,
            self.participant,
            self.interval_start_ts,
            self.duration_s,
            self.import_wh,
            self.export_wh,
            self.seq,
        )

    def eip712_message(self) -> dict[str, Any]:
        """The message part of the EIP-712 typed data (for generic signers such as wallets)."""
        return {
            "meter": self.meter,
            "participant": self.participant,
            "intervalStartTs": self.interval_start_ts,
            "durationS": self.duration_s,
            "importWh": self.import_wh,
            "exportWh": self.export_wh,
            "seq": self.seq,
        }


@dataclass(frozen=True, slots=True)
class MeterSignature:
    """A secp256k1 signature (v in {27, 28}; r, s as 32-byte big-endian)."""

    v: int
    r: bytes
    s: bytes

    def as_abi(self) -> tuple[int, bytes, bytes]:
        """The tuple the contract ABI takes for a MeterSignature struct."""
        return (self.v, self.r, self.s)


@dataclass(frozen=True, slots=True)
class SignedReading:
    """A reading and its meter's signature, as Metering's ``submitReadings`` takes them
    (the meter signs, a relayer submits: sim's meters make them, the node's agents relay them)."""

    reading: MeterReading
    signature: MeterSignature


def domain_separator(chain_id: int, metering_address: str, name: str = DOMAIN_NAME) -> bytes:
    """EIP-712 domain separator of the Metering contract at `metering_address` on `chain_id`
    (or, with `name` TERMS_DOMAIN_NAME, of the ImportCap contract at that address)."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(text=name),
                keccak(text=DOMAIN_VERSION),
                chain_id,
                to_checksum_address(metering_address),
            ],
        )
    )


def reading_struct_hash(reading: MeterReading) -> bytes:
    """hashStruct(MeterReading)."""
    return keccak(
        encode(
            ["bytes32", "address", "address", "uint64", "uint32", "uint64", "uint64", "uint64"],
            [READING_TYPEHASH, *reading.as_abi()],
        )
    )


def reading_digest(reading: MeterReading, separator: bytes) -> bytes:
    """The 32-byte digest a meter signs: keccak(0x1901 || domainSeparator || hashStruct)."""
    return keccak(b"\x19\x01" + separator + reading_struct_hash(reading))


def sign_reading(reading: MeterReading, private_key: bytes, separator: bytes) -> MeterSignature:
    """Sign `reading` with a meter's 32-byte private key under the given domain separator."""
    signature = PrivateKey(private_key).sign_msg_hash(reading_digest(reading, separator))
    return MeterSignature(
        v=27 + signature.v,
        r=signature.r.to_bytes(32, "big"),
        s=signature.s.to_bytes(32, "big"),
    )


def recover_meter(reading: MeterReading, signature: MeterSignature, separator: bytes) -> str:
    """The checksummed address that signed `reading` (raises ReadingInputError if malformed)."""
    s_value = int.from_bytes(signature.s, "big")
    if s_value > SECP256K1_N // 2:
        raise ReadingInputError(f"signature s={hex(s_value)} is in the upper half order")
    if signature.v not in (27, 28):
        raise ReadingInputError(f"signature v={signature.v} must be 27 or 28")
    try:
        sig = Signature(vrs=(signature.v - 27, int.from_bytes(signature.r, "big"), s_value))
        public_key = sig.recover_public_key_from_msg_hash(reading_digest(reading, separator))
    except Exception as exc:  # eth-keys raises several types for malformed signatures
        raise ReadingInputError(f"signature does not recover: {exc}") from exc
    return str(public_key.to_checksum_address())


def terms_digest(terms_abi: Sequence[Any], separator: bytes) -> bytes:
    """The digest an importer signs to consent to the ContractTerms tuple `terms_abi`
    (ImportCap.termsDigest) under ImportCap's domain separator."""
    struct_hash = keccak(encode(["bytes32", *_TERMS_ABI_TYPES], [TERMS_TYPEHASH, *terms_abi]))
    return keccak(b"\x19\x01" + separator + struct_hash)


def sign_terms(terms_abi: Sequence[Any], private_key: bytes, separator: bytes) -> bytes:
    """The importer's consent: its 65-byte signature (r || s || v, low s) of the terms."""
    signature = PrivateKey(private_key).sign_msg_hash(terms_digest(terms_abi, separator))
    r: int = signature.r
    s: int = signature.s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27 + signature.v])


def terms_consent(
    terms_abi: Sequence[Any], private_key: bytes, chain_id: int, import_cap_address: str
) -> bytes:
    """The importer's consent to the terms for the ImportCap at `import_cap_address`."""
    separator = domain_separator(chain_id, import_cap_address, TERMS_DOMAIN_NAME)
    return sign_terms(terms_abi, private_key, separator)
