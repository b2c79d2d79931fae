"""The layer map (node/layer_map.py) against the tree: every path it names exists, and every
room of node/ is placed in a layer or declared a tool, so a move shows up here, not as a stale
path in GET /v1/layers."""

from __future__ import annotations

from pathlib import Path

from gridledger.node.layer_map import EMBEDDED_LEDGER, LAYERS, TOOLS

ROOT = Path(__file__).resolve().parents[2]


def test_the_seven_layers_in_order() -> None:
    assert [(layer.key, layer.name) for layer in LAYERS] == [
        ("L1", "user"),
        ("L2", "network"),
        ("L3", "system operator"),
        ("L4", "market"),
        ("L5", "distributed ledger"),
        ("L6", "communication"),
        ("L7", "regulation"),
    ]


def test_every_path_exists() -> None:
    missing = [
        f"{layer.key}: {path}"
        for layer in LAYERS
        for path in layer.paths
        if not (ROOT / path).exists()
    ]
    missing += [f"tool: {path}" for path in TOOLS if not (ROOT / path).is_dir()]
    assert not missing, missing
    assert any(EMBEDDED_LEDGER in layer.paths for layer in LAYERS)


def test_every_room_of_node_is_placed() -> None:
    named = [path for layer in LAYERS for path in layer.paths] + list(TOOLS)
    rooms = sorted(
        f"node/{d.name}" for d in (ROOT / "node").iterdir() if (d / "__init__.py").is_file()
    )
    unplaced = [
        room for room in rooms if not any(p == room or p.startswith(room + "/") for p in named)
    ]
    assert not unplaced, f"rooms in no layer of node/layer_map.py: {unplaced}"
