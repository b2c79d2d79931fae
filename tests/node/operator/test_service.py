"""The operator service of a node (node/operator/service.py) on an in-process node whose chain
clock the tests move: an interval whose gate closed is cleared and settled once; a service
restarted after the clearing settles what is left; a half-done clearing is aborted and done
again; an interval not cleared by its start is voided with the reason logged; the members are
admitted and funded at start, once."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from gridledger.contracts.enums import Phase
from gridledger.contracts.units import TOKEN_UNITS
from gridledger.market.settlement import RELEASE_GRACE_S
from gridledger.node.config import OperatorConfig
from gridledger.node.operator.service import FaucetOffError, OperatorService
from tests.node.rest.inprocess import InProcessNode

SELL_WH, SELL_PRICE = 1500, 100_000
BUY_WH, BUY_PRICE = 2000, 210_000
GRANT_UNITS = 500 * TOKEN_UNITS
MEMBER_METER = Account.create()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    """A node running the operator service by hand (auto_clear off: the tests tick it), with
    its own prosumer as the one member."""
    data_dir = tmp_path_factory.mktemp("operator") / "data"
    probe = InProcessNode(data_dir)  # creates the keys: the prosumer's address is the member's
    prosumer = probe.address("prosumer")
    probe.stop()
    config = OperatorConfig(
        members=((prosumer, MEMBER_METER.address),),
        auto_clear=False,
        faucet_grant_units=GRANT_UNITS,
    )
    node = InProcessNode(data_dir, operator=config)
    yield node
    node.stop()


def service(node: InProcessNode) -> OperatorService:
    op = node.app.state.rest.roles.operator_service
    assert isinstance(op, OperatorService)
    return op


def wait_setup(node: InProcessNode) -> None:
    op = service(node)
    for _ in range(300):
        if op.setup_done:
            return
        node.jump_to(node.head_ts() + 1)  # blocks for the setup's transactions
    raise AssertionError("the operator's setup did not finish")


def place_pair(
    node: InProcessNode, buyer: LocalAccount, interval: int | None = None
) -> tuple[int, list[int]]:
    """A REST sell by the node's prosumer and a crossing buy by `buyer` (in `interval`, or
    the node's default one): the interval and the order ids."""
    body = {"side": "sell", "quantity_wh": SELL_WH, "limit_price_per_kwh": SELL_PRICE}
    sell = node.post_order(body if interval is None else {**body, "interval": interval})
    assert sell.status_code == 201, sell.text
    interval = int(sell.json()["interval"])
    market = node.contract("Market")
    receipt = node.send_as(buyer, market.functions.placeOrder(interval, 0, BUY_WH, BUY_PRICE))
    (placed,) = market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
    return interval, [int(sell.json()["order_id"]), int(placed["args"]["orderId"])]


def cleared_events(node: InProcessNode, interval: int) -> int:
    market = node.contract("Market")
    logs = market.events.IntervalCleared().get_logs(
        from_block=0, argument_filters={"interval": interval}
    )
    return len(logs)


def settled(node: InProcessNode, ids: list[int]) -> list[bool]:
    m = node.contract("Market").functions
    return [bool(m.isSettled(i).call()) for i in ids]


@pytest.fixture(scope="module")
def buyer(node: InProcessNode) -> LocalAccount:
    wait_setup(node)
    account, _ = node.new_participant(tokens_units=100 * TOKEN_UNITS)
    return account


def test_the_members_are_admitted_and_funded_at_start_once(node: InProcessNode) -> None:
    wait_setup(node)
    prosumer = node.address("prosumer")
    registry = node.contract("Registry").functions
    assert registry.isActive(prosumer).call()
    assert registry.meterOf(prosumer).call() == MEMBER_METER.address
    assert node.contract("GridToken").functions.balanceOf(prosumer).call() == GRANT_UNITS
    op = service(node)
    assert op.minted_units(prosumer) == GRANT_UNITS
    op.setup()  # again: nothing more admitted or minted
    assert op.minted_units(prosumer) == GRANT_UNITS


def test_a_closed_gate_is_cleared_and_settled_once(
    node: InProcessNode, buyer: LocalAccount, tmp_path: Path
) -> None:
    interval, ids = place_pair(node, buyer)
    m = node.contract("Market").functions
    node.jump_to(m.gateClosureTs(interval).call())
    outcomes = {o.interval: o for o in service(node).tick()}
    assert outcomes[interval].action == "cleared"
    assert outcomes[interval].settled == 2
    assert Phase(m.phaseOf(interval).call()) is Phase.CLEARED
    assert settled(node, ids) == [True, True]
    # a second round does nothing to it: the cursor has moved past it
    assert interval not in {o.interval for o in service(node).tick()}
    assert service(node).cursor == interval + 1
    assert cleared_events(node, interval) == 1
    state = json.loads((node.data_dir / "operator" / "state.json").read_text())
    sell_id = ids[0]
    assert state == {"next_interval": interval + 1, "to_release": {str(interval): [sell_id]}}
    # the seller's proceeds (less the network charge) are held until its delivery is metered
    held_units = int(m.heldOf(sell_id).call())
    assert held_units > 0
    assert m.claimableOf(node.address("prosumer")).call() == 0
    # no readings ever came: after the grace period the service releases them to the treasury
    end_ts = int(m.intervalStartTs(interval + 1).call())
    node.jump_to(end_ts + RELEASE_GRACE_S)
    service(node).tick()
    assert m.isReleased(sell_id).call()
    assert m.heldOf(sell_id).call() == 0
    assert service(node).to_release == {}
    assert m.claimableOf(node.address("prosumer")).call() == 0


def test_a_restarted_service_settles_what_the_last_run_left(
    node: InProcessNode, buyer: LocalAccount
) -> None:
    interval, ids = place_pair(node, buyer)
    m = node.contract("Market").functions
    node.jump_to(m.gateClosureTs(interval).call())
    op = service(node)
    op.clear_now(interval)  # the run stops here: cleared, nothing settled
    assert settled(node, ids) == [False, False]
    restarted = OperatorService(node.service, op.config, node.data_dir)
    assert restarted.cursor == op.cursor  # read back from DATA_DIR/operator/state.json
    outcomes = {o.interval: o for o in restarted.tick()}
    assert outcomes[interval].action == "settled"
    assert outcomes[interval].settled == 2
    assert settled(node, ids) == [True, True]
    assert cleared_events(node, interval) == 1
    op.cursor = restarted.cursor


def test_a_half_done_clearing_is_aborted_and_done_again(
    node: InProcessNode, buyer: LocalAccount
) -> None:
    interval, ids = place_pair(node, buyer)
    m = node.contract("Market").functions
    node.jump_to(m.gateClosureTs(interval).call())
    node.send("operator", m.beginClearing(interval, 0))  # a clearing that never finished
    assert Phase(m.phaseOf(interval).call()) is Phase.CLEARING
    outcomes = {o.interval: o for o in service(node).tick()}
    assert outcomes[interval].action == "cleared"
    assert Phase(m.phaseOf(interval).call()) is Phase.CLEARED
    assert m.resultOf(interval).call()[2] == SELL_WH  # the volume the witness proves
    assert settled(node, ids) == [True, True]
    assert cleared_events(node, interval) == 1


def test_an_interval_not_cleared_by_its_start_is_voided_with_the_reason(
    node: InProcessNode, buyer: LocalAccount, caplog: pytest.LogCaptureFixture
) -> None:
    interval, ids = place_pair(node, buyer)
    m = node.contract("Market").functions
    escrow = m.escrowFor(BUY_WH, BUY_PRICE).call()
    before = m.claimableOf(buyer.address).call()
    node.jump_to(m.intervalStartTs(interval).call() + 1)  # the operator slept through the gate
    with caplog.at_level(logging.WARNING, logger="gridledger.node.operator.service"):
        outcomes = {o.interval: o for o in service(node).tick()}
    assert outcomes[interval].action == "voided"
    assert f"interval {interval} voided" in caplog.text
    assert "not running between its gate closure and its start" in caplog.text
    assert settled(node, ids) == [True, True]
    assert m.claimableOf(buyer.address).call() - before == escrow  # refunded in full
    voided = (
        node.contract("Market")
        .events.IntervalVoided()
        .get_logs(from_block=0, argument_filters={"interval": interval})
    )
    assert len(voided) == 1


def test_the_faucet_is_off_on_an_external_network(node: InProcessNode) -> None:
    external = dataclasses.replace(node.service, chain=None)  # as `node run --ledger rpc`
    op = OperatorService(external, OperatorConfig(auto_clear=False), None)
    assert not op.faucet_on()
    supply = node.contract("GridToken").functions.totalSupply().call()
    with pytest.raises(FaucetOffError, match="the faucet is off"):
        op.fund(node.address("prosumer"), 1)
    assert node.contract("GridToken").functions.totalSupply().call() == supply
    assert service(node).faucet_on()  # the same node with its embedded chain


def test_a_failing_interval_holds_the_cursor_but_not_the_later_intervals(
    node: InProcessNode, buyer: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = service(node)
    m = node.contract("Market").functions
    first, _ = place_pair(node, buyer)
    node.jump_to(m.gateClosureTs(first).call())
    op.tick()  # everything up to `first` is done; the cursor is past it
    second, second_ids = place_pair(node, buyer)
    real_settle = op.settle

    def settle(interval: int) -> int:
        if interval == second:
            raise TimeoutError("the ledger did not answer")
        return real_settle(interval)

    monkeypatch.setattr(op, "settle", settle)
    third, third_ids = place_pair(node, buyer, second + 1)
    node.jump_to(m.gateClosureTs(third).call())
    outcomes = {o.interval: o for o in op.tick()}
    assert outcomes[second].action == "failed"
    assert outcomes[third].action == "cleared"  # not held by the failure before it
    assert settled(node, third_ids) == [True, True]
    assert op.cursor == second  # stays on the failed interval
    monkeypatch.setattr(op, "settle", real_settle)
    outcomes = {o.interval: o for o in op.tick()}
    assert outcomes[second].action == "settled"
    assert settled(node, second_ids) == [True, True]
    assert op.cursor == third + 1
    assert cleared_events(node, second) == cleared_events(node, third) == 1
