"""The audit interface of docs/architecture.md, exactly: what external clients (cast, ethers,
web3.py) are promised. A change here breaks them, so it must break this test first."""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from gridledger.contracts.artifacts import load_artifact


def _entry(contract: str, kind: str, name: str) -> dict[str, Any]:
    (entry,) = [
        e for e in load_artifact(contract).abi if e["type"] == kind and e.get("name") == name
    ]
    return entry


def _types(params: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in params]


def test_import_cap_views() -> None:
    count = _entry("ImportCap", "function", "contractCount")
    assert (_types(count["inputs"]), _types(count["outputs"])) == ([], ["uint256"])
    terms = _entry("ImportCap", "function", "contractTerms")
    assert _types(terms["inputs"]) == ["uint256"]
    assert terms["stateMutability"] == "view"
    status = _entry("ImportCap", "function", "contractStatus")
    assert _types(status["inputs"]) == ["uint256"]
    assert [(o["name"], o["type"]) for o in status["outputs"]] == [
        ("violationWh", "uint256"),
        ("totalWh", "uint256"),
        ("complianceWad", "uint256"),
        ("penaltyUnits", "uint256"),
        ("trustWad", "uint256"),
    ]


def test_trust_of() -> None:
    trust_of = _entry("Trust", "function", "trustOf")
    assert (_types(trust_of["inputs"]), _types(trust_of["outputs"])) == (["address"], ["uint256"])


def test_events_with_their_indexed_fields_and_topics() -> None:
    violation = _entry("ImportCap", "event", "ViolationRecorded")
    assert [(i["name"], i["type"], i["indexed"]) for i in violation["inputs"]] == [
        ("contractId", "uint256", True),
        ("participant", "address", True),
        ("intervalStartTs", "uint64", False),
        ("violationWh", "uint256", False),
        ("cumulativeViolationWh", "uint256", False),
    ]
    cleared = _entry("Market", "event", "IntervalCleared")
    assert [(i["name"], i["type"], i["indexed"]) for i in cleared["inputs"]] == [
        ("interval", "uint64", True),
        ("priceUnitsPerKwh", "uint256", False),
        ("volumeWh", "uint256", False),
    ]
    # The topic hashes clients filter logs by.
    assert keccak(text="ViolationRecorded(uint256,address,uint64,uint256,uint256)").hex() == (
        keccak(text="ViolationRecorded(" + ",".join(_types(violation["inputs"])) + ")").hex()
    )
    assert keccak(text="IntervalCleared(uint64,uint256,uint256)") == keccak(
        text="IntervalCleared(" + ",".join(_types(cleared["inputs"])) + ")"
    )
