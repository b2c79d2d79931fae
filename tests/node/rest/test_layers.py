"""GET /v1/layers: seven layers, each with its modules and live state read from the chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridledger.node.layer_map import LAYERS
from tests.node.rest.inprocess import InProcessNode

NAMES = [(layer.key, layer.name) for layer in LAYERS]


def _layers(node: InProcessNode) -> dict[str, dict[str, object]]:
    reply = node.get("/v1/layers")
    assert reply.status_code == 200
    rows = reply.json()["layers"]
    assert [(r["layer"], r["name"]) for r in rows] == NAMES
    return {r["layer"]: r for r in rows}


def test_every_layer_names_the_modules_of_the_layer_map(node: InProcessNode) -> None:
    rows = _layers(node)
    assert {key: row["modules"] for key, row in rows.items()} == {
        layer.key: list(layer.paths) for layer in LAYERS
    }


def test_ledger_layer_is_the_live_head_and_finality(node: InProcessNode) -> None:
    state = _layers(node)["L5"]["state"]
    assert isinstance(state, dict)
    assert state["engine"] == "embedded"
    assert state["chain_id"] == node.w3.eth.chain_id
    head = node.w3.eth.block_number
    assert head - 2 <= state["head"] <= head
    assert state["finalized"] == node.w3.eth.get_block("finalized")["number"]
    assert state["peers"] == node.service.status().get("peers")


def test_regulation_layer_follows_a_rule_change(node: InProcessNode) -> None:
    regulation = node.contract("Regulation").functions
    before = _layers(node)["L7"]["state"]
    assert isinstance(before, dict)
    assert (before["price_floor_per_kwh"], before["price_ceiling_per_kwh"]) == (80_000, 300_000)
    assert before["admission_policy"] == "operator-or-regulator"
    node.send("regulator", regulation.setPriceBand(90_000, 250_000))
    try:
        after = _layers(node)["L7"]["state"]
        assert isinstance(after, dict)
        assert (after["price_floor_per_kwh"], after["price_ceiling_per_kwh"]) == (90_000, 250_000)
    finally:
        node.send("regulator", regulation.setPriceBand(80_000, 300_000))


def test_user_and_operator_layers_show_the_node_accounts(node: InProcessNode) -> None:
    layers = _layers(node)
    user, operator = layers["L1"]["state"], layers["L3"]["state"]
    assert isinstance(user, dict) and isinstance(operator, dict)
    prosumer = node.address("prosumer")
    token = node.contract("GridToken").functions
    assert user == {
        "prosumer": prosumer,
        "admitted": True,
        "balance_units": token.balanceOf(prosumer).call(),
        "claimable_units": 0,
    }
    assert operator["operator"] == node.address("operator")
    assert (operator["market_paused"], operator["metering_paused"]) == (False, False)


def test_market_layer_before_any_clearing(node: InProcessNode) -> None:
    state = _layers(node)["L4"]["state"]
    assert isinstance(state, dict)
    assert state["last_cleared_interval"] is None
    assert state["next_open_interval_phase"] == "open"
    assert (state["interval_length_s"], state["gate_closure_lead_s"]) == (900, 300)


@pytest.fixture(scope="module")
def bare_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    """A node that deploys no contracts."""
    node = InProcessNode(tmp_path_factory.mktemp("bare") / "data", deploy_contracts=False)
    yield node
    node.stop()


def test_without_contracts_the_ledger_layer_still_answers(bare_node: InProcessNode) -> None:
    layers = _layers(bare_node)
    assert layers["L5"]["state"]["head"] >= 0  # type: ignore[index]
    for layer in ("L1", "L2", "L3", "L4", "L7"):
        assert layers[layer]["state"] == {
            "error": "the contracts are not deployed yet (node state: ok)"
        }


@pytest.mark.parametrize("path", ["/v1/orders/1", "/v1/market/intervals/1", "/v1/contracts"])
def test_without_contracts_reads_are_503(bare_node: InProcessNode, path: str) -> None:
    reply = bare_node.get(path)
    assert reply.status_code == 503
    assert reply.json()["error"] == "ContractsNotDeployed"
