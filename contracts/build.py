"""Compile the Solidity sources with the pinned npm ``solc`` into ``contracts/build/*.json``.

Only this module needs Node.js. Library imports (OpenZeppelin, PRBMath) are resolved by the
compiler's import callback in ``compile.js`` from ``contracts/node_modules``, installed from
``contracts/package-lock.json``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.contracts.artifacts import DEPLOYABLE
from gridledger.contracts.errors import ContractBuildError

CONTRACTS_DIR = Path(__file__).resolve().parent
SOURCE_DIR = CONTRACTS_DIR / "src"
BUILD_DIR = CONTRACTS_DIR / "build"

# The contracts target Cancun (OpenZeppelin 5.7 needs `mcopy`); the embedded chain runs
# py-evm's CancunVM. solc 0.8.37 would default to osaka, which no py-evm VM runs.
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 20000


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a build wrote: artifact paths and the source hash they carry."""

    written: tuple[Path, ...]
    source_hash: str


# What the build keeps of each contract.
ARTIFACT_OUTPUTS = {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}}


def _standard_input(
    sources: dict[str, str], outputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "viaIR": True,
            "metadata": {"bytecodeHash": "none", "appendCBOR": False},
            "outputSelection": ARTIFACT_OUTPUTS if outputs is None else outputs,
        },
    }


def read_sources(source_dir: Path = SOURCE_DIR) -> dict[str, str]:
    """Read every ``.sol`` file under ``source_dir``, keyed by its path relative to it."""
    return {
        path.relative_to(source_dir).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(source_dir.rglob("*.sol"))
    }


def source_hash(sources: dict[str, str], imports: dict[str, str], settings: dict[str, Any]) -> str:
    """sha256 over the compiler settings and every source the compiler read, sorted by path."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name, text in sorted({**imports, **sources}.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return "0x" + digest.hexdigest()


def compile_sources(
    sources: dict[str, str], outputs: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str, dict[str, str]]:
    """Run compile.js; return (standard-JSON output, compiler version, imported sources).
    `outputs`: the outputSelection (default: what the artifacts keep)."""
    node = shutil.which("node")
    if node is None:
        raise ContractBuildError("`node` is not on PATH; building contracts needs Node.js")
    if not (CONTRACTS_DIR / "node_modules" / "solc").is_dir():
        raise ContractBuildError(
            "contracts/node_modules is missing; run `npm ci` in contracts/ (make test does)"
        )
    standard_input = _standard_input(sources, outputs)
    completed = subprocess.run(
        [node, str(CONTRACTS_DIR / "compile.js")],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise ContractBuildError(f"compile.js failed: {completed.stderr.strip()}")
    result = json.loads(completed.stdout)
    output: dict[str, Any] = result["output"]
    # Warnings fail the build too: a shadowed name or an unreachable branch in a contract
    # that holds money is worth a stop.
    problems = [e for e in output.get("errors", []) if e.get("severity") in ("error", "warning")]
    if problems:
        raise ContractBuildError(
            "solc reported problems:\n" + "\n".join(e["formattedMessage"] for e in problems)
        )
    return output, str(result["compilerVersion"]), dict(result["imports"])


def build(out_dir: Path = BUILD_DIR, source_dir: Path = SOURCE_DIR) -> BuildResult:
    """Compile all sources and write one artifact per deployable contract to ``out_dir``."""
    sources = read_sources(source_dir)
    output, version, imports = compile_sources(sources)
    settings = _standard_input({})["settings"]
    digest = source_hash(sources, imports, settings)
    compiled: dict[str, dict[str, Any]] = {}
    for contracts in output.get("contracts", {}).values():
        compiled.update(contracts)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in DEPLOYABLE:
        if name not in compiled:
            raise ContractBuildError(f"contract {name} was not found in the compiler output")
        item = compiled[name]
        artifact = {
            "contractName": name,
            "abi": item["abi"],
            "bytecode": "0x" + item["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + item["evm"]["deployedBytecode"]["object"],
            "compilerVersion": version,
            "evmVersion": EVM_VERSION,
            "optimizerRuns": OPTIMIZER_RUNS,
            "sourceHash": digest,
        }
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(artifact, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return BuildResult(written=tuple(written), source_hash=digest)
