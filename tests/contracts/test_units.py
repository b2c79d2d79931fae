"""One units module (contracts/units.py): no other module of the package defines a unit
constant again, by name or by value (10**6, 10**18, 2**40, 2**64, 2**256 at module level)."""

from __future__ import annotations

import ast
from pathlib import Path

from gridledger.contracts import units

ROOT = Path(__file__).resolve().parents[2]
NAMES = {name for name in vars(units) if name.isupper()}
VALUES = {(10, 6), (10, 18), (2, 40), (2, 64), (2, 256)}
# The EVM interpreter keeps py-evm's own constant names (UINT_256_CEILING, ...).
EXEMPT = ("node/ledger/embedded/fastvm",)


def _pow(node: ast.expr) -> tuple[int, int] | None:
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Pow)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.right, ast.Constant)
    ):
        return (node.left.value, node.right.value)
    return None


def _definitions() -> list[str]:
    found = []
    for top in ("contracts", "market", "sim", "node"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if "node_modules" in path.parts or relative == "contracts/units.py":
                continue
            if relative.startswith(EXEMPT):
                continue
            for stmt in ast.parse(path.read_text()).body:
                if isinstance(stmt, ast.Assign):
                    targets, value = stmt.targets, stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    targets, value = [stmt.target], stmt.value
                else:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name) and (
                        target.id in NAMES or _pow(value) in VALUES
                    ):
                        found.append(f"{relative}:{stmt.lineno} {target.id}")
    return found


def test_the_units() -> None:
    assert units.TOKEN_UNITS == 1_000_000
    assert units.WAD == 1_000_000_000_000_000_000
    assert units.J_PER_KWH == units.J_PER_WH * units.WH_PER_KWH == 3_600_000
    assert units.UINT40_LIMIT == 1 << 40


def test_no_module_defines_a_unit_again() -> None:
    assert _definitions() == []
