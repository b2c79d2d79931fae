"""The seven layers of Zia et al. (2020) and where each lives in this repository: the one
declared map that `GET /v1/layers` answers with and that tests/node/test_layer_map.py checks
against the tree. docs/architecture.md describes the layers and the data flows between them.

Paths are relative to the repository root: a folder stands for everything in it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Layer:
    key: str
    name: str
    paths: tuple[str, ...]


LAYERS: tuple[Layer, ...] = (
    Layer(
        "L1",
        "user",
        ("node/agents", "node/meters", "node/cli/bid.py", "node/rest", "node/dashboard"),
    ),
    Layer("L2", "network", ("sim/pcc.py", "sim/meter.py", "contracts/src/Metering.sol")),
    Layer(
        "L3",
        "system operator",
        (
            "node/operator",
            "node/service.py",
            "contracts/src/ImportCap.sol",
            "contracts/src/Registry.sol",
        ),
    ),
    Layer(
        "L4", "market", ("market", "contracts/src/Market.sol", "contracts/src/MarketClearing.sol")
    ),
    Layer(
        "L5",
        "distributed ledger",
        (
            "node/ledger/embedded",
            "node/ledger/deploy.py",
            "node/keys",
            "node/consensus",
            "node/views",
            "contracts/src",
        ),
    ),
    Layer(
        "L6",
        "communication",
        ("node/app.py", "node/http_limits.py", "node/rest", "node/p2p", "sim/federation"),
    ),
    Layer("L7", "regulation", ("node/regulator", "node/audit", "contracts/src/Regulation.sol")),
)

EMBEDDED_LEDGER = "node/ledger/embedded"
"""L5's engine path; a node on an external JSON-RPC ledger reports that instead."""
EXTERNAL_LEDGER = "external JSON-RPC ledger"

TOOLS: tuple[str, ...] = ("node/cli", "node/demo", "node/benchmarks")
"""The rooms of node/ that belong to no layer: the command line, the demos, the benchmarks."""
