"""Every module imports the project through its one import root, `gridledger`.

From the repository's root the folders node/, market/, sim/ and contracts/ are importable
under their bare names too, so a stray `from node.x import y` would pass every in-tree test
and then fail in an installed wheel (tests/contracts/test_packaging.py installs one)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = {"node", "market", "sim", "contracts"}


def _bare_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in BARE
        ]
    return found


def test_no_module_imports_a_bare_top_level_name() -> None:
    files = [
        p
        for folder in (*BARE, "tests", "bench")
        for p in (ROOT / folder).rglob("*.py")
        if "node_modules" not in p.parts
    ]
    assert len(files) > 200
    assert [hit for p in files for hit in _bare_imports(p)] == []


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


def test_sim_market_and_contracts_import_nothing_from_node() -> None:
    """The layers below the node stand alone (shared code such as the Curve key helpers
    lives in sim/curve.py, imported by node/)."""
    hits = [
        f"{p.relative_to(ROOT)}: {name}"
        for folder in ("sim", "market", "contracts")
        for p in (ROOT / folder).rglob("*.py")
        if "node_modules" not in p.parts
        for name in _imports(p)
        if name == "gridledger.node" or name.startswith("gridledger.node.")
    ]
    assert hits == []
