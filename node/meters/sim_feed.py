"""The simulator feeding a testnet's prosumer nodes: a scenario's microgrids are stepped
under the built-in rules (the operator's dispatch and local self-consumption), each
microgrid's meter signs every step's reading, and the readings go to one node per microgrid
through its ``POST /v1/readings``, in real time, accelerated, or as fast as the nodes take
them.

The meters are devices: each has its own key in the testnet's ``meters/MG.json``
(encrypted like the nodes' keys); a microgrid's participant is the key its node keeps in
``keystore/participants/MG.json``. Microgrids go to the prosumer nodes in turn (or as
``assign`` says). On a simulation-clock testnet the feed moves the chain's clock to each
batch's end before posting it. ``admit`` has node1's operator admit and fund the participants
with their meters first (the existing operator agent; a local testnet's operator key is in
its data dir).
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from gridledger.contracts.typed import SignedReading
from gridledger.node import testnet
from gridledger.node.agents.chain_clock import ChainClock
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.keys import load_or_create_key, load_role
from gridledger.node.keys.api_key import load_or_create_api_key
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.meters.feed_process import assign_in_turn
from gridledger.node.meters.replay import MeterReplayError, NodeClient
from gridledger.node.operator.agent import Member, OperatorAgent
from gridledger.sim.meter import Meter
from gridledger.sim.model import GridModel
from gridledger.sim.pcc import pcc_power_w
from gridledger.sim.scenario import Scenario
from gridledger.sim.tables import grid_limited

SETTLE_TIMEOUT_S = 120.0


@dataclass
class Feed:
    """One microgrid's meter and the node it reports to."""

    microgrid: str
    node: str
    client: NodeClient
    meter: Meter
    grid_limit_w: float | None
    pending: list[SignedReading] = field(default_factory=list)
    posted: int = 0
    resume_ts: int = 0  # the earliest start of the meter's next reading [unix s]


@dataclass
class FeedOutcome:
    ticks: int
    posted: dict[str, int]
    last_seq: dict[str, int]


def meter_key_path(data_dir: Path, microgrid: str) -> Path:
    """Where a testnet keeps the meter key of `microgrid` (the device's, not a node's)."""
    return testnet.meter_key_path(data_dir, microgrid)


def testnet_clock(data_dir: Path, entry: testnet.NodeEntry) -> str:
    """The clock ("wall" or "sim") a testnet's node runs on (its node.toml)."""
    doc = tomllib.loads((data_dir / entry.name / "node.toml").read_text(encoding="utf-8"))
    return str(doc.get("node", {}).get("clock", "wall"))


def chain_head_ts(data_dir: Path) -> int:
    """The timestamp of node1's head block [unix s]."""
    entry = testnet.load_layout(data_dir)[0]
    try:
        reply = requests.post(
            f"{entry.url}/rpc",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_getBlockByNumber",
                "params": ["latest", False],
            },
            timeout=10,
        )
        return int(reply.json()["result"]["timestamp"], 16)
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise MeterReplayError(f"{entry.name} at {entry.url} does not answer: {exc}") from None


def plan(data_dir: Path, scenario: Scenario, assign: dict[str, str] | None = None) -> list[Feed]:
    """Each microgrid's meter and node: `assign` (microgrid -> node name) or the prosumer
    nodes in turn."""
    entries = testnet.load_layout(data_dir)
    in_turn = assign_in_turn(
        [e.name for e in entries if e.role == "prosumer"] or [e.name for e in entries],
        [spec.name for spec in scenario.microgrids],
    )
    by_name = {e.name: e for e in entries}
    feeds = []
    separator: bytes | None = None  # one chain, one Metering: the same for every node
    for spec in scenario.microgrids:
        name = (assign or {}).get(spec.name, in_turn[spec.name])
        if name not in by_name:
            raise MeterReplayError(
                f"{spec.name} is assigned to {name!r}, not a node of the testnet"
            )
        entry = by_name[name]
        client = NodeClient(entry.url, load_or_create_api_key(data_dir / name))
        participant = load_or_create_key(testnet.participant_key_path(data_dir / name, spec.name))
        meter_key = load_or_create_key(meter_key_path(data_dir, spec.name))
        separator = separator or client.separator()
        state = client.meter(meter_key.address)
        meter = Meter(bytes(meter_key.key), participant.address, separator, int(state["next_seq"]))
        feeds.append(
            Feed(
                spec.name,
                name,
                client,
                meter,
                spec.grid_limit_w,
                resume_ts=int(state["next_start_min_ts"]),
            )
        )
    return feeds


def admit(data_dir: Path, feeds: list[Feed]) -> None:
    """Have node1's operator admit and fund every feed's participant with its meter."""
    entries = testnet.load_layout(data_dir)
    deployment = Deployment(testnet.status(data_dir)["contracts"])
    operator = load_role(data_dir / entries[0].name / "keystore", "operator")
    client = LedgerClient(f"{entries[0].url}/rpc", operator, deployment)
    try:
        members = [Member(f.microgrid, f.meter.participant, f.meter.address) for f in feeds]
        if testnet_clock(data_dir, entries[0]) == "wall":
            OperatorAgent(client).admit_and_fund(members)
            return
        # A simulation-clock testnet seals only when its clock moves: move it a second at a
        # time until the admissions are mined.
        OperatorAgent(client).admit_and_fund(members, wait=False)
        clock = ChainClock(data_dir, entries)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        for tx_hash in client.sent:
            while True:
                try:
                    client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
                    break
                except TransactionNotFound:
                    pass
                if time.monotonic() > deadline:
                    raise MeterReplayError("the admissions were not mined in time")
                clock.advance(chain_head_ts(data_dir) + 1)
                time.sleep(0.1)
        client.wait(client.sent)
    finally:
        client.close()


def wait_admitted(data_dir: Path, feeds: list[Feed], timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Wait until every feed's participant is admitted on its node (by `admit`, or by the
    operator service of a testnet made with `up --sim`); a simulation-clock testnet's clock
    moves a second at a time meanwhile, as its admissions need blocks."""
    entries = testnet.load_layout(data_dir)
    clock = ChainClock(data_dir, entries) if testnet_clock(data_dir, entries[0]) == "sim" else None
    deadline = time.monotonic() + timeout_s
    waiting = list(feeds)
    while waiting:
        waiting = [f for f in waiting if not f.client.active(f.meter.participant)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            names = ", ".join(f"{f.microgrid} ({f.meter.participant})" for f in waiting)
            raise MeterReplayError(
                f"not admitted after {timeout_s:.0f} s: {names}; admit them with `gridledger "
                "operator admit PARTICIPANT METER` or feed with --admit"
            )
        if clock is not None:
            clock.advance(chain_head_ts(data_dir) + 1)
        time.sleep(0.2)


def _step_power_w(model: GridModel, feed: Feed, k: int) -> float:
    """The PCC power [W] of `feed`'s microgrid over completed step `k`, as the run's tables
    and the federation's meters compute it."""
    name, span = feed.microgrid, slice(k, k + 1)
    pv = model.exo.p_pv_w[name][span]
    trace = model.batteries.get(name)
    battery = np.zeros(1) if trace is None else trace.p_w[span]
    p_pcc, _, _ = grid_limited(
        pcc_power_w(model.exo.p_load_w[name][span], pv, battery), pv, feed.grid_limit_w
    )
    return float(p_pcc[0])


def run(
    data_dir: Path,
    scenario: Scenario,
    feeds: list[Feed],
    speed: float | None,
    batch: int,
    progress: Callable[[str], None] = print,
) -> FeedOutcome:
    """Step `scenario` and post each microgrid's signed readings to its node, `batch` steps
    at a time, paced at `speed` simulated seconds per wall second (None: unpaced); then wait
    until the chain holds every reading."""
    entries = testnet.load_layout(data_dir)
    clock = ChainClock(data_dir, entries) if testnet_clock(data_dir, entries[0]) == "sim" else None
    if clock is not None:
        head_ts = chain_head_ts(data_dir)
        if scenario.start_ts < head_ts:
            raise MeterReplayError(
                f"the simulation-clock testnet is at {head_ts}; a scenario starting at "
                f"{scenario.start_ts} cannot move its clock (start at or after it: --start-ts)"
            )
    model = GridModel(scenario)
    dt_s = scenario.dt_s
    started = time.monotonic()
    while not model.done:
        k = model.tick
        model.step(model.builtin_setpoints_w(model.observe()))
        start_ts = int(model.exo.time_ts[k])
        for feed in feeds:
            feed.pending.append(
                feed.meter.read_power(start_ts, dt_s, _step_power_w(model, feed, k))
            )
        if speed:
            delay_s = (k + 1) * dt_s / speed - (time.monotonic() - started)
            if delay_s > 0:
                time.sleep(delay_s)
        if len(feeds[0].pending) >= batch or model.done:
            _post(feeds, clock, start_ts + dt_s)
            if model.tick % (batch * 10) == 0 or model.done:
                progress(f"  tick {model.tick}/{scenario.n_steps}: {_summary(feeds)}")
    _wait_on_chain(feeds, clock, int(model.exo.time_ts[-1]) + dt_s, dt_s)
    return FeedOutcome(
        model.tick,
        {f.microgrid: f.posted for f in feeds},
        {f.microgrid: f.meter.next_seq - 1 for f in feeds},
    )


def _post(feeds: list[Feed], clock: ChainClock | None, end_ts: int) -> None:
    if clock is not None:  # the readings' end must be on chain before the node takes them
        clock.advance(end_ts)
        clock.settle()
    for feed in feeds:
        if feed.pending:
            feed.client.post(feed.pending, 0)
            feed.posted += len(feed.pending)
            feed.pending = []


def _summary(feeds: list[Feed]) -> str:
    return ", ".join(f"{f.microgrid}->{f.node} {f.posted}" for f in feeds)


def _wait_on_chain(feeds: list[Feed], clock: ChainClock | None, end_ts: int, dt_s: int) -> None:
    """Wait until the chain holds every posted reading; a simulation clock moves on by a
    step at a time meanwhile (the relay's transactions need blocks)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    for feed in feeds:
        last = feed.meter.next_seq - 1
        while int(feed.client.meter(feed.meter.address)["chain_last_seq"]) < last:
            if time.monotonic() > deadline:
                raise MeterReplayError(
                    f"{feed.microgrid}: the chain does not hold reading {last} after "
                    f"{SETTLE_TIMEOUT_S:.0f} s"
                )
            if clock is not None:
                end_ts += dt_s
                clock.advance(end_ts)
            time.sleep(0.2)
