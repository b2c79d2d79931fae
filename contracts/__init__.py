"""Solidity sources of gridledger's ledger contracts and their committed build artifacts.

The artifacts (``contracts/build/*.json``) ship as package data, so a node installed from a
wheel deploys and calls the contracts without Node.js; only ``gridledger contracts build``
needs the pinned npm ``solc``.
"""

import os as _os

# Keccak through safe-pysha3 (a declared dependency): ~7x faster per hash than eth-hash's
# default pycryptodome backend, and py-evm hashes a lot per block. Set before any hashing.
_os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

from gridledger.contracts.artifacts import DEPLOYABLE, Artifact, load_artifact
from gridledger.contracts.errors import (
    ArtifactMissingError,
    ContractBuildError,
    ContractsError,
    ReadingInputError,
)

__all__ = [
    "DEPLOYABLE",
    "Artifact",
    "ArtifactMissingError",
    "ContractBuildError",
    "ContractsError",
    "ReadingInputError",
    "load_artifact",
]
