"""The demo: FED-MGDT E1-E4 on a 3-node testnet, the simulator in lockstep with the agents.

- node1 (operator and regulator): sets the scenario's price band and network charge in
  Regulation, admits the participants with their meters, funds them, creates the four
  import caps (4 / 6 / 8 / 10 kW, 17:00-20:00) on chain, dispatches the four MG1 batteries
  over the bus (sim.controllers.OperatorRule), clears and settles every market interval.
- node2 (prosumer) represents MG1-E1..MG1-E4, node3 (prosumer) MG2 and MG3: each relays its
  meters' signed readings in batches and places orders from a persistence forecast.
- the chain runs on the simulation's clock (`testnet up --clock sim`): a "clock" federate
  posts every `CLOCK_EVERY_TICKS`-th tick's time to the nodes, which seal blocks in turn.
Afterwards the clock runs on until every transaction is final; the results are read back from
the chain, printed, written as CSV and plotted.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from gridledger.contracts.typed import terms_consent
from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.node import testnet
from gridledger.node.accounting import ContractTerms
from gridledger.node.agents.chain_clock import ChainClock
from gridledger.node.agents.federate import serve_clock, serve_prosumer
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.prosumer import ProsumerAgent, Strategy
from gridledger.node.demo.delivery import DeliveryRow, delivery_rows
from gridledger.node.demo.history import BiddingFactory, demo_bidding
from gridledger.node.demo.inprocess import CapResult, plot_figures, write_csv
from gridledger.node.keys import load_or_create_key, load_role
from gridledger.node.launch import free_port
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.operator.agent import OperatorAgent
from gridledger.node.operator.federate import serve_operator
from gridledger.node.regulator.agent import RegulatorAgent
from gridledger.node.regulator.terms import price_band
from gridledger.sim.federation.federate import FederateClient
from gridledger.sim.federation.keys import BusKeys
from gridledger.sim.federation.protocol import Welcome
from gridledger.sim.federation.session import open_bus, run_federated
from gridledger.sim.meter import MeteringDomain
from gridledger.sim.scenario import BASE_RUN, MarketSpec, Scenario
from gridledger.sim.scenarios import resolve

Progress = Callable[[str], None]
SCENARIO = "fedmgdt_demo"
PERIOD_S = 600
CLOCK_EVERY_TICKS = 10
GATE_CLOSURE_LEAD_S = 1_800
"""Orders close 30 min before their interval: the operator sends its witness once a block
past the gate is on chain (up to one 10-minute block after the gate) and it is mined in the
next block, so before the interval starts."""
ORDER_LEAD_S = 1_200
"""Prosumers bid for the first interval whose gate is at least two blocks away."""
GENESIS_LEAD_S = 1_200
REPRESENTS = {
    "node2": ("MG1-E1", "MG1-E2", "MG1-E3", "MG1-E4"),
    "node3": ("MG2", "MG3"),
}
BUS_TIMEOUT_S = 120.0
CONTROLS = REPRESENTS["node2"]
"""The microgrids whose batteries the operator dispatches."""


@dataclass
class DemoOutcome:
    results: list[CapResult]
    cleared_intervals: int
    orders: int
    readings: int
    testnet_dir: Path
    rpc_url: str
    deliveries: list[DeliveryRow] = dataclasses.field(default_factory=list)


def _scenario() -> Scenario:
    scenario: Scenario = resolve(SCENARIO)
    return scenario


class _Agents:
    """The three nodes' agents and their federates, each federate on its own thread."""

    def __init__(
        self,
        data_dir: Path,
        entries: list[testnet.NodeEntry],
        endpoint: str,
        keys: BusKeys,
        market_spec: MarketSpec | None,
        bidding: BiddingFactory,
    ) -> None:
        urls = {e.name: f"{e.url}/rpc" for e in entries}
        self.deployment = Deployment(testnet.status(data_dir)["contracts"])
        operator_account = load_role(data_dir / "node1" / "keystore", "operator")
        self.operator = OperatorAgent(
            LedgerClient(urls["node1"], operator_account, self.deployment)
        )
        regulator_account = load_role(data_dir / "node1" / "keystore", "regulator")
        self.regulator = RegulatorAgent(
            LedgerClient(urls["node1"], regulator_account, self.deployment)
        )
        self.market_spec = market_spec
        self.prosumers: dict[str, ProsumerAgent] = {}
        for node, microgrids in REPRESENTS.items():
            node_dir = data_dir / node
            relayer = load_role(node_dir / "keystore", "prosumer")
            participants = {
                mg: LedgerClient(
                    urls[node],
                    load_or_create_key(testnet.participant_key_path(node_dir, mg)),
                    self.deployment,
                )
                for mg in microgrids
            }
            relay = LedgerClient(urls[node], relayer, self.deployment)
            strategy = Strategy(order_lead_s=ORDER_LEAD_S)
            self.prosumers[node] = ProsumerAgent(
                participants, relay, strategy=strategy, bidding=bidding(relay, microgrids)
            )
        self.clock = ChainClock(data_dir, entries)
        self.endpoint = endpoint
        self.keys = keys
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self.welcome: Welcome | None = None

    def start(self) -> None:
        metering = MeteringDomain(31_337, self.deployment.addresses["Metering"])
        specs: list[tuple[str, Callable[[], None]]] = [
            ("operator", self._operator),
            ("clock", self._clock),
        ]
        for node in self.prosumers:
            specs.append((node, lambda n=node: self._prosumer(n, metering)))  # type: ignore[misc]
        for name, target in specs:
            thread = threading.Thread(target=self._guard(target), name=f"federate-{name}")
            thread.start()
            self.threads.append(thread)

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:
                self.errors.append(exc)

        return run

    def join(self) -> None:
        for thread in self.threads:
            thread.join()
        if self.errors:
            raise self.errors[0]

    def _operator(self) -> None:
        client = FederateClient(
            self.endpoint,
            "operator",
            CONTROLS,
            BUS_TIMEOUT_S,
            welcome_timeout_s=BUS_TIMEOUT_S,
            keys=self.keys.federate("operator"),
        )
        serve_operator(self.operator, client, CONTROLS, self._on_welcome, self._consent)

    def _on_welcome(self, welcome: Welcome) -> None:
        self.welcome = welcome
        if self.market_spec is not None:  # the regulator sets the scenario's prices first
            self.regulator.apply_band(price_band(self.market_spec))

    def _consent(self, terms: ContractTerms) -> bytes:
        """The importer's consent to `terms`, signed with its own key (its node's agent's)."""
        keys = {
            c.address.lower(): bytes(c.account.key)
            for agent in self.prosumers.values()
            for c in agent.participant_clients().values()
        }
        return terms_consent(
            terms.as_abi(),
            keys[terms.importer.lower()],
            self.operator.client.chain_id,
            self.deployment.addresses["ImportCap"],
        )

    def _prosumer(self, node: str, metering: MeteringDomain) -> None:
        agent = self.prosumers[node]
        participants = {mg: c.address for mg, c in agent.participant_clients().items()}
        client = FederateClient(
            self.endpoint,
            node,
            (),
            BUS_TIMEOUT_S,
            participants=participants,
            metering=metering,
            welcome_timeout_s=BUS_TIMEOUT_S,
            keys=self.keys.federate(node),
        )
        serve_prosumer(agent, client)

    def _clock(self) -> None:
        client = FederateClient(
            self.endpoint,
            "clock",
            (),
            BUS_TIMEOUT_S,
            welcome_timeout_s=BUS_TIMEOUT_S,
            keys=self.keys.federate("clock"),
        )
        serve_clock(self.clock, client, CLOCK_EVERY_TICKS)

    def clients(self) -> list[LedgerClient]:
        out = [self.operator.client, self.regulator.client]
        for agent in self.prosumers.values():
            out.append(agent.relayer)
            out.extend(agent.participant_clients().values())
        return out


def _settle(agents: _Agents, progress: Progress, timeout_s: float = 300) -> int:
    """Run the chain's clock on until every sent transaction is mined and final; the last
    block holding one."""
    deadline = time.monotonic() + timeout_s
    w3 = agents.operator.client.w3
    last_block = 0
    for client in agents.clients():
        client.flush()
    pending = [(c, h) for c in agents.clients() for h in c.sent]
    progress(f"waiting for {len(pending)} transactions to be mined and final")
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} transactions not mined in {timeout_s:.0f} s")
        agents.clock.advance(agents.clock.now_ts + PERIOD_S)
        time.sleep(0.3)
        still = []
        for client, tx_hash in pending:
            try:
                receipt = client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                still.append((client, tx_hash))
                continue
            last_block = max(last_block, int(receipt["blockNumber"]))
        pending = still
    while int(w3.eth.get_block("finalized")["number"]) < last_block:
        if time.monotonic() > deadline:
            raise TimeoutError(f"block {last_block} not final in {timeout_s:.0f} s")
        agents.clock.advance(agents.clock.now_ts + PERIOD_S)
        time.sleep(0.3)
    return last_block


def _results(agents: _Agents) -> list[CapResult]:
    ids = agents.operator.collect_contract_ids()
    import_cap = agents.operator.import_cap
    assert agents.welcome is not None
    out = []
    for contract in agents.welcome.contracts:
        contract_id = ids[contract.name]
        status = import_cap.functions.contractStatus(contract_id).call(block_identifier="finalized")
        violation_wh, _, compliance_wad, penalty_units, trust_wad = status
        out.append(
            CapResult(
                cap_kw=contract.cap_w / 1000,
                violation_kwh=violation_wh / 1000,
                compliance=compliance_wad / WAD,
                penalty=penalty_units / TOKEN_UNITS,
                trust=trust_wad / WAD,
                contract_id=contract_id,
            )
        )
    return sorted(out, key=lambda r: r.cap_kw)


def run(
    out_dir: Path,
    keep: bool,
    progress: Progress,
    n_steps: int | None = None,
    strategy: str = "persistence",
) -> DemoOutcome:
    """The whole demo into `out_dir` (testnet data in out_dir/testnet, kept with `keep`);
    `n_steps` cuts the simulated day short (tests); the prosumers bid by `strategy`
    (node.agents.strategies.STRATEGIES)."""
    scenario = _scenario()
    if n_steps is not None:
        scenario = dataclasses.replace(scenario, n_steps=n_steps)
    if strategy != "persistence":
        progress(f"{strategy} bids: simulating the prosumers' meter history (the week before)")
    bidding = demo_bidding(strategy, scenario)
    out_dir.mkdir(parents=True, exist_ok=True)
    tn_dir = out_dir / "testnet"
    if (tn_dir / "testnet.json").exists():
        testnet.down(tn_dir, progress)
        shutil.rmtree(tn_dir)
    progress("starting a 3-node testnet on loopback (keys, genesis with the contracts)")
    spec = testnet.TestnetSpec(
        nodes=3,
        base_port=testnet.free_base_port(3),
        period_s=PERIOD_S,
        clock="sim",
        genesis_ts=scenario.start_ts - GENESIS_LEAD_S,
        participants=REPRESENTS,
        gate_closure_lead_s=GATE_CLOSURE_LEAD_S,
    )
    entries = testnet.up(tn_dir, spec, progress)
    try:
        endpoint = f"tcp://127.0.0.1:{free_port()}"
        bus = open_bus(scenario, endpoint, ["operator", "clock", *REPRESENTS], BUS_TIMEOUT_S)
        agents = _Agents(tn_dir, entries, endpoint, bus.keys, scenario.market, bidding)
        agents.clock.advance(scenario.start_ts - GENESIS_LEAD_S + PERIOD_S)
        agents.start()
        progress(f"simulating {scenario.n_steps} one-minute ticks in lockstep with the agents")
        done = [0]

        def ticked(n: int) -> None:
            done[0] += n
            if done[0] % 240 == 0:
                progress(f"  tick {done[0]}/{scenario.n_steps}")

        try:
            run_federated(scenario, BASE_RUN, bus, out_dir / "sim", plots=False, progress=ticked)
        except Exception:
            if agents.errors:
                raise agents.errors[0] from None
            raise
        agents.join()
        last = _settle(agents, progress)
        # The keeper's last round: the day's final deliveries are metered only now.
        if agents.operator.release_due(agents.clock.now_ts):
            last = _settle(agents, progress)
        progress(f"all transactions final (block {last}); reading the results from the chain")
        results = _results(agents)
        assert agents.welcome is not None
        mine = [mg for mgs in REPRESENTS.values() for mg in mgs]
        deliveries = delivery_rows(
            f"{entries[0].url}/rpc", {mg: agents.welcome.participants[mg] for mg in mine}
        )
        for client in agents.clients():
            client.close()
        write_csv(results, out_dir / "results.csv")
        _plot(results, out_dir)
        readings = sum(a.relayed for a in agents.prosumers.values())
        orders = sum(a.orders for a in agents.prosumers.values())
        outcome = DemoOutcome(
            results,
            len(agents.operator.cleared),
            orders,
            readings,
            tn_dir,
            f"{entries[0].url}/rpc",
            deliveries,
        )
    finally:
        if not keep:
            testnet.down(tn_dir, progress)
    return outcome


def _plot(results: list[CapResult], out_dir: Path) -> None:
    ticks = pd.read_csv(out_dir / "sim" / "ticks.csv")
    mg = ticks[ticks["microgrid"] == "MG1-E2"]
    hours = (mg["t_s"] / 3600).to_numpy()
    plot_figures(results, hours, mg["p_pcc_w"].to_numpy() / 1000, out_dir, "MG1 (E2)")
