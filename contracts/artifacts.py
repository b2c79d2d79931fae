"""Reading the committed contract build artifacts (package data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from gridledger.contracts.errors import ArtifactMissingError

# Contracts that get an artifact; abstract bases, libraries and interfaces do not.
DEPLOYABLE = (
    "GridToken",
    "Registry",
    "Regulation",
    "ImportCap",
    "Trust",
    "Metering",
    "Market",
    "AuthoritySet",
)


@dataclass(frozen=True, slots=True)
class Artifact:
    """One compiled contract: ABI, creation and runtime bytecode, and their provenance."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    evm_version: str
    source_hash: str


@cache
def load_artifact(name: str) -> Artifact:
    """Return the committed artifact of contract ``name`` (e.g. ``"ImportCap"``)."""
    path = resources.files("gridledger.contracts").joinpath("build", f"{name}.json")
    if not path.is_file():
        raise ArtifactMissingError(
            f"no artifact for contract {name!r}; run `gridledger contracts build`"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler_version=data["compilerVersion"],
        evm_version=data["evmVersion"],
        source_hash=data["sourceHash"],
    )
