"""Slither on the project's own compiler output, with a checked-in triage of its findings.

The pinned npm ``solc`` (the one that builds ``contracts/build``) compiles the sources for
their ASTs only, so no second compiler is downloaded; the result is presented to Slither as a
Hardhat build-info (``build-info/gridledger.json``; Slither reads ASTs, so the bytecode
fields are left empty). Slither needs web3 < 8 and the project web3 8, so it lives in its own
virtual environment (``.venv/slither``, made by ``make test``) and runs there through
``RUNNER``, which prints one JSON object per finding.

Every High or Medium finding must be listed in ``contracts/slither-triage.json`` with the
reason it stays (detector, contract, function); any other fails ``tests/contracts/test_slither.py``.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.contracts.build import (
    CONTRACTS_DIR,
    SOURCE_DIR,
    _standard_input,
    compile_sources,
    read_sources,
)
from gridledger.contracts.errors import ContractBuildError

TRIAGE_PATH = CONTRACTS_DIR / "slither-triage.json"
SLITHER_PYTHON = CONTRACTS_DIR.parent / ".venv" / "slither" / "bin" / "python"
BLOCKING_IMPACTS = ("High", "Medium")
# Sources are named as seen from contracts/, so Slither finds them (and node_modules) on disk.
SOURCE_PREFIX = "src/"
_AST_ONLY = {"*": {"": ["ast"], "*": ["abi"]}}
_NO_CODE = {"object": "", "sourceMap": ""}

# Runs inside the Slither environment: argv[1] is the folder holding build-info/.
RUNNER = """
import inspect, json, sys
from slither import Slither
from slither.detectors import all_detectors
from slither.detectors.abstract_detector import AbstractDetector
sl = Slither(".", compile_force_framework="hardhat", hardhat_ignore_compile=True,
             hardhat_artifacts_directory=sys.argv[1])
for _, d in inspect.getmembers(all_detectors, inspect.isclass):
    if issubclass(d, AbstractDetector):
        sl.register_detector(d)
for found in sl.run_detectors():
    for r in found:
        own = [e for e in r["elements"]
               if not ((e.get("source_mapping") or {}).get("filename_relative") or "")
               .startswith("node_modules")]
        first = (own or r["elements"] or [{}])[0]
        parent = (first.get("type_specific_fields") or {}).get("parent") or {}
        if first.get("type") == "contract":
            contract, function = first.get("name", ""), ""
        elif parent.get("type") == "contract":
            contract, function = parent.get("name", ""), first.get("name", "")
        else:
            grand = (parent.get("type_specific_fields") or {}).get("parent") or {}
            contract, function = grand.get("name", ""), parent.get("name", "")
        print(json.dumps({"detector": r["check"], "impact": r["impact"],
                          "confidence": r["confidence"], "contract": contract,
                          "function": function, "dependency": not own,
                          "description": r["description"].strip().splitlines()[0]}))
"""


@dataclass(frozen=True, slots=True)
class Finding:
    """One Slither result, located at its first element in the project's own sources."""

    detector: str
    impact: str
    confidence: str
    contract: str
    function: str
    dependency: bool
    description: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.detector, self.contract, self.function)


@dataclass(frozen=True, slots=True)
class Triaged:
    """A finding accepted in the triage file, with the reason it stays."""

    detector: str
    contract: str
    function: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.detector, self.contract, self.function)


def write_build_info(out_dir: Path, source_dir: Path = SOURCE_DIR) -> Path:
    """Compile the sources (ASTs only) and write ``out_dir/build-info/gridledger.json``."""
    sources = {SOURCE_PREFIX + name: text for name, text in read_sources(source_dir).items()}
    output, version, imports = compile_sources(sources, _AST_ONLY)
    for contracts in output.get("contracts", {}).values():
        for item in contracts.values():
            item["evm"] = {"bytecode": dict(_NO_CODE), "deployedBytecode": dict(_NO_CODE)}
    info = {
        "_format": "hh-sol-build-info-1",
        "id": "gridledger",
        "solcVersion": version.split("+")[0],
        "solcLongVersion": version,
        "input": _standard_input({**imports, **sources}, _AST_ONLY),
        "output": output,
    }
    path = out_dir / "build-info" / "gridledger.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def run_slither(out_dir: Path, python: Path = SLITHER_PYTHON) -> list[Finding]:
    """Every finding of every detector on the project's sources (dependencies' own excluded)."""
    if not python.exists():
        raise ContractBuildError(
            f"{python} is missing: Slither lives in its own venv (`make slither` creates it)"
        )
    write_build_info(out_dir)
    done = subprocess.run(
        [str(python), "-c", RUNNER, str(out_dir.resolve())],
        cwd=CONTRACTS_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ContractBuildError(f"slither failed: {done.stderr.strip()[-2000:]}")
    rows: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines() if line]
    return [Finding(**row) for row in rows if not row["dependency"]]


def load_triage(path: Path = TRIAGE_PATH) -> list[Triaged]:
    """The accepted findings; each needs a non-empty reason."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    triaged = [Triaged(**e) for e in entries]
    for t in triaged:
        if not t.reason.strip():
            raise ContractBuildError(f"{path}: {t.key} has no reason")
    return triaged


def untriaged(findings: list[Finding], triage: list[Triaged]) -> list[Finding]:
    """High and Medium findings the triage does not list."""
    accepted = {t.key for t in triage}
    return [f for f in findings if f.impact in BLOCKING_IMPACTS and f.key not in accepted]


def stale(findings: list[Finding], triage: list[Triaged]) -> list[Triaged]:
    """Triage entries no finding matches any more (to be removed)."""
    found = {f.key for f in findings}
    return [t for t in triage if t.key not in found]
