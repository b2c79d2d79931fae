"""The import graph of the package: no circle, and no arrow from a lower layer to a higher one.

The rule: every room of the package sits in one tier of TIERS, lowest first; a module may
import from its own tier and the tiers below it, never from a higher one. The domain packages
(contracts, market, sim) form the lowest tier and import nothing from node/; inside node/ the
exception root and the layer map come first, then the ledger, keys, p2p and configuration,
then consensus and the node service, then the chain's read model and the agents (L1, L3,
L7), then REST and the auditor, then the demos and benchmarks, and the command line last.
An arrow that breaks the rule is listed in ALLOWED with the reason, or the test fails.

Every import counts, also those inside functions and under TYPE_CHECKING: a circle through a
lazy import is still a circle. Rooms (gridledger.market, gridledger.node.rest, ...) must form
no circle either: importing a module runs its package's __init__, so two rooms that import
each other can fail at import time depending on which is imported first.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPS = ("contracts", "market", "sim", "node")

TIERS: tuple[tuple[str, ...], ...] = (
    ("contracts", "market", "sim"),
    ("node.errors", "node.layer_map"),
    ("node.accounting", "node.config", "node.keys", "node.launch", "node.ledger", "node.p2p"),
    ("node.consensus", "node.service", "node.testnet"),
    ("node.views", "node.agents", "node.meters", "node.operator", "node.regulator"),
    ("node.audit", "node.rest", "node.dashboard", "node.http_limits", "node.app"),
    ("node.demo", "node.benchmarks"),
    ("node.cli",),
)

# (importing module, imported module): why the arrow stands for now.
ALLOWED: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for top in TOPS:
        for path in (ROOT / top).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] if node.level == 0 else []
            for name in names:
                if not name.startswith("gridledger."):
                    continue
                base = name.removeprefix("gridledger.")
                for alias in node.names:
                    yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gridledger."):
                    yield alias.name.removeprefix("gridledger.")


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        graph[name]
        for target in _imports(path, modules):
            assert target in modules, f"{name} imports gridledger.{target}, not a module"
            if target != name:
                graph[name].add(target)
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "node" and len(parts) > 1 else parts[0]


def _tier(module: str) -> int:
    room = _room(module)
    for rank, tier in enumerate(TIERS):
        if room in tier:
            return rank
    raise AssertionError(f"gridledger.{module}: its room {room} is in no tier of TIERS")


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one vertex (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            vertex, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    advanced = True
                    break
                if target in on_stack:
                    low[vertex] = min(low[vertex], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[vertex])
            if low[vertex] == index[vertex]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == vertex:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_in_a_circle() -> None:
    assert _circles(_graph()) == []


def test_no_two_rooms_import_each_other() -> None:
    rooms: dict[str, set[str]] = defaultdict(set)
    for source, targets in _graph().items():
        rooms[_room(source)]
        rooms[_room(source)].update(_room(t) for t in targets if _room(t) != _room(source))
    assert _circles(rooms) == []


def test_no_arrow_from_a_lower_tier_to_a_higher_one() -> None:
    upward = [
        f"gridledger.{source} (tier {_tier(source)}) -> gridledger.{target} (tier {_tier(target)})"
        for source, targets in sorted(_graph().items())
        for target in sorted(targets)
        if _tier(target) > _tier(source) and (source, target) not in ALLOWED
    ]
    assert upward == []


def test_every_allowed_arrow_still_exists() -> None:
    graph = _graph()
    allowed = {**ALLOWED, **AGENT_SIM_ALLOWED}
    stale = [pair for pair in allowed if pair[1] not in graph.get(pair[0], set())]
    assert stale == [], f"these arrows are gone: delete them from ALLOWED: {stale}"


# The agents act on the ledger; only their federate adapters (agents/federate.py,
# operator/federate.py) and the scenario conversions (operator/terms.py, regulator/terms.py)
# know the simulator.
AGENT_ROOMS = ("node.agents", "node.operator", "node.regulator")
SIM_SIDE = (
    "node.agents.federate",
    "node.operator.federate",
    "node.operator.terms",
    "node.regulator.terms",
)
AGENT_SIM_ALLOWED: dict[tuple[str, str], str] = {
    ("node.operator.agent", "sim.scenario"): (
        "send_contracts still takes the scenario's caps (CapContract) and converts them"
    ),
}


def test_agents_depend_on_no_simulator_internals() -> None:
    arrows = [
        f"gridledger.{source} -> gridledger.{target}"
        for source, targets in sorted(_graph().items())
        if source.startswith(AGENT_ROOMS) and source not in SIM_SIDE
        for target in sorted(targets)
        if target.split(".")[0] == "sim" and (source, target) not in AGENT_SIM_ALLOWED
    ]
    assert arrows == []


def test_the_rule_sees_a_circle_and_an_upward_arrow() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _tier("node.cli.bid") > _tier("node.ledger.stack") > _tier("market.orders")
