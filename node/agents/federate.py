"""The agents' side of the simulator's federation bus: a prosumer federate and a clock
federate register with the bus, then answer every tick by calling their agent. The bus
client (sim.federation.federate.FederateClient) is built by the caller, which knows the
endpoint, the timeouts and what the federate represents; the operator's federate is
node/operator/federate.py."""

from __future__ import annotations

from typing import Any

from gridledger.contracts.typed import SignedReading
from gridledger.node.agents.chain_clock import ChainClock
from gridledger.node.agents.prosumer import ProsumerAgent
from gridledger.sim.federation.federate import FederateClient


def serve_prosumer(agent: ProsumerAgent, client: FederateClient) -> None:
    """Relay each tick's signed readings and bid, until the bus ends the run; then relay the
    last step's readings (they come with `end`) and flush. Closes `client`."""
    latest: dict[str, SignedReading] = {}
    try:
        client.register()
        agent.approve(wait=False)

        def policy(obs: Any) -> dict[str, float]:
            agent.on_tick(int(obs.time_ts), dict(latest))
            latest.clear()
            return {}

        client.serve(policy, on_readings=latest.update)
        agent.on_tick(0, dict(latest))
        agent.flush()
    finally:
        client.close()


def serve_clock(clock: ChainClock, client: FederateClient, every_ticks: int) -> None:
    """Move the chain's simulation clock to the bus's time every `every_ticks` ticks.
    Closes `client`."""
    try:
        client.register()

        def policy(obs: Any) -> dict[str, float]:
            if obs.tick % every_ticks == 0:
                clock.advance(int(obs.time_ts))
            return {}

        client.serve(policy)
    finally:
        client.close()
