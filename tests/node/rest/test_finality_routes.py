"""GET /v1/finality and /v1/finality/justifications/{n} on a node without consensus: refused
with the reason (the served justifications are tested on testnets, tests/node/testnet), and
gridledger_getJustification answers null on a chain nobody votes on."""

from __future__ import annotations

from tests.node.rest.inprocess import InProcessNode


def test_a_lone_node_has_no_finality_votes(fresh_node: InProcessNode) -> None:
    for path in ("/v1/finality", "/v1/finality/justifications/1"):
        reply = fresh_node.get(path)
        assert reply.status_code == 409
        assert reply.json()["error"] == "NotATestnetNode"
    assert fresh_node.get("/v1/finality/justifications/0").status_code == 422
    answer = fresh_node.w3.provider.make_request("gridledger_getJustification", ["latest"])  # type: ignore[arg-type]
    assert answer["result"] is None
