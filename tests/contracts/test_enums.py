"""The Python enum mirrors (contracts/enums.py) against the Solidity sources: one mirror per
enum, same members in the same order, and nothing else in the package mirrors one again."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gridledger.contracts import enums

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "contracts" / "src"
# Earlier doubles: a mirror under another name, and the REST API's string copies.
DOUBLES = {"ProposalState", "OrderSide", "IntervalPhase"}
ENUM = re.compile(r"^enum\s+(\w+)\s*\{([^}]*)\}", re.M)


def _solidity_enums() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SOURCES.rglob("*.sol")):
        for name, body in ENUM.findall(re.sub(r"//[^\n]*", "", path.read_text())):
            assert name not in found, f"enum {name} declared twice"
            found[name] = [member.strip() for member in body.split(",") if member.strip()]
    return found


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def _mirrors() -> dict[str, type[enums.SolidityEnum]]:
    return {
        name: value
        for name, value in vars(enums).items()
        if isinstance(value, type)
        and issubclass(value, enums.SolidityEnum)
        and value is not enums.SolidityEnum
    }


def test_one_mirror_per_solidity_enum() -> None:
    assert sorted(_mirrors()) == sorted(_solidity_enums())


@pytest.mark.parametrize("name", sorted(_solidity_enums()))
def test_same_members_in_the_same_order(name: str) -> None:
    mirror = _mirrors()[name]
    assert [(m.name, m.value) for m in mirror] == [
        (_snake(member), value) for value, member in enumerate(_solidity_enums()[name])
    ]


def test_labels() -> None:
    assert enums.Phase.GATE_CLOSED.label == "gate-closed"
    assert enums.Side.of_label("sell") is enums.Side.SELL
    with pytest.raises(ValueError, match=r"'hold' is no Side \(one of \['buy', 'sell'\]\)"):
        enums.Side.of_label("hold")


def test_no_other_enum_mirrors_a_solidity_enum() -> None:
    names = set(_solidity_enums())
    doubles = []
    for top in ("contracts", "market", "sim", "node"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "node_modules" in path.parts or path == ROOT / "contracts" / "enums.py":
                continue
            for stmt in ast.walk(ast.parse(path.read_text())):
                if isinstance(stmt, ast.ClassDef) and stmt.name in names | DOUBLES:
                    doubles.append(f"{path.relative_to(ROOT)}: {stmt.name}")
    assert doubles == []
