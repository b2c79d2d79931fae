"""The committed artifacts are exactly what the pinned compiler builds from the sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridledger.contracts.artifacts import DEPLOYABLE, load_artifact
from gridledger.contracts.build import BUILD_DIR, CONTRACTS_DIR, EVM_VERSION, build, compile_sources
from gridledger.contracts.errors import ContractBuildError


def test_committed_artifacts_are_fresh(tmp_path: Path) -> None:
    result = build(out_dir=tmp_path)
    assert {p.name for p in result.written} == {f"{n}.json" for n in DEPLOYABLE}
    for path in result.written:
        committed = (BUILD_DIR / path.name).read_text(encoding="utf-8")
        assert path.read_text(encoding="utf-8") == committed, (
            f"{path.name} differs from contracts/build: run `gridledger contracts build`"
        )


def test_compiler_and_evm_version_are_pinned() -> None:
    package = json.loads((CONTRACTS_DIR / "package.json").read_text(encoding="utf-8"))
    solc_version = package["dependencies"]["solc"]
    assert solc_version[0].isdigit(), "solc must be pinned to an exact version"
    lock = json.loads((CONTRACTS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/solc"]["version"] == solc_version
    for name in DEPLOYABLE:
        artifact = load_artifact(name)
        assert artifact.compiler_version.startswith(solc_version + "+")
        assert artifact.evm_version == EVM_VERSION == "cancun"


def test_runtime_bytecode_fits_the_eip170_limit() -> None:
    for name in DEPLOYABLE:
        assert len(bytes.fromhex(load_artifact(name).deployed_bytecode[2:])) <= 24_576, name


def test_a_compiler_warning_fails_the_build() -> None:
    shadowing = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;
contract Shadow { uint256 x; function f(uint256 x) external pure returns (uint256) { return x; } }
"""
    with pytest.raises(ContractBuildError, match="shadows"):
        compile_sources({"Shadow.sol": shadowing})


def test_a_missing_import_names_the_path() -> None:
    source = 'pragma solidity 0.8.37;\nimport "@nowhere/Missing.sol";\ncontract A {}\n'
    with pytest.raises(ContractBuildError, match=r"@nowhere/Missing\.sol"):
        compile_sources({"A.sol": source})
