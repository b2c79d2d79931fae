"""The operator's federate on the simulator's federation bus: on the bus's welcome it admits
and funds the members and sends the scenario's import caps; then, every tick, it clears and
settles what is due on the ledger (OperatorAgent.on_tick) and answers with the battery
set-points of the scenario's operator rule (sim.controllers.OperatorRule)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gridledger.node.accounting import ContractTerms
from gridledger.node.operator.agent import Member, OperatorAgent
from gridledger.sim.controllers import OperatorRule
from gridledger.sim.federation.federate import FederateClient
from gridledger.sim.federation.protocol import Welcome


def serve_operator(
    operator: OperatorAgent,
    client: FederateClient,
    controls: Sequence[str],
    on_welcome: Callable[[Welcome], None],
    consent: Callable[[ContractTerms], bytes],
) -> None:
    """Register, call `on_welcome` (before any ledger duty: the regulator's prices come
    first), set up the members and contracts (each with its importer's `consent` to its
    terms), then serve every tick. Closes `client`."""
    try:
        welcome = client.register()
        on_welcome(welcome)
        rule = OperatorRule.for_contracts(welcome.contracts, controls, welcome.dt_s)
        members = [
            Member(mg, welcome.participants[mg], welcome.meters[mg]) for mg in welcome.meters
        ]
        operator.admit_and_fund(members, wait=False)
        operator.send_contracts(
            list(welcome.contracts), {m.microgrid: m for m in members}, welcome.start_ts, consent
        )

        def policy(obs: Any) -> dict[str, float]:
            operator.on_tick(int(obs.time_ts))
            return rule.setpoints_w(obs)

        client.serve(policy)
    finally:
        client.close()
