"""The demo's market delivery summary: per prosumer microgrid, its delivery obligations as the
audit reads them (``node.audit_chain.ChainReader``: cleared sells with a fill, their
``contractStatus``) and its participant's trust (``Trust.trustOf``, import caps included).

Sold energy is the obligation's bound times its interval, ``-upper_w * (valid_to_ts -
valid_from_ts) / 3600`` [Wh] (the sold average export power, rounded down to whole W, so
within 1 W of the fill); the shortfall is the obligation's E_viol, the penalty its
``penalty_units`` in tokens. ``released`` counts the sells whose held proceeds the operator's
keeper released (``ProceedsReleased``), ``paid`` what they credited the seller, in tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.units import WAD
from gridledger.node.audit.chain import open_reader
from gridledger.node.audit.locate import connect, locate

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One microgrid's delivery obligations [kWh, tokens] and its participant's trust."""

    microgrid: str
    obligations: int
    sold_kwh: float
    shortfall_kwh: float
    penalty: float
    trust: float | None
    released: int
    paid: float


def delivery_rows(rpc_url: str, participants: Mapping[str, str]) -> list[DeliveryRow]:
    """The summary for ``participants`` ({microgrid: participant address}) at the head."""
    w3 = connect(rpc_url)
    reader = open_reader(w3, locate(w3, rpc_url, None, None), None)
    scale = 10 ** reader.token_decimals()
    market = reader.w3.eth.contract(
        address=to_checksum_address(str(reader.call(reader.import_cap.functions.market()))),
        abi=load_artifact("Market").abi,
    )
    rows = []
    for microgrid, address in participants.items():
        checksum = to_checksum_address(address)
        sold_wh = shortfall_wh = penalty_units = 0.0
        ids = reader.delivery_ids(checksum)
        for contract_id in ids:
            terms = reader.terms(contract_id)
            status = reader.status(contract_id)
            sold_wh += -terms.upper_w * (terms.valid_to_ts - terms.valid_from_ts) / SECONDS_PER_HOUR
            shortfall_wh += status.violation_wh
            penalty_units += status.penalty_units
        trust_wad = reader.trust_wad(checksum)
        released = market.events.ProceedsReleased().get_logs(
            argument_filters={"seller": checksum}, from_block=0, to_block=reader.block
        )
        rows.append(
            DeliveryRow(
                microgrid,
                len(ids),
                sold_wh / 1000,
                shortfall_wh / 1000,
                penalty_units / scale,
                None if trust_wad is None else trust_wad / WAD,
                len(released),
                sum(int(e["args"]["sellerUnits"]) for e in released) / scale,
            )
        )
    return rows


def format_rows(rows: list[DeliveryRow]) -> str:
    """The summary as a table, then the totals."""
    lines = [
        "Market delivery obligations, read back from the chain (penalty per kWh short: "
        "Regulation's delivery penalty)",
        f"{'microgrid':<10} {'sells':>5} {'sold kWh':>9} {'short kWh':>10} {'penalty':>8} "
        f"{'trust':>8} {'released':>8} {'paid':>8}",
    ]
    for r in rows:
        trust = "-" if r.trust is None else f"{r.trust:.4f}"
        lines.append(
            f"{r.microgrid:<10} {r.obligations:>5} {r.sold_kwh:>9.3f} {r.shortfall_kwh:>10.3f} "
            f"{r.penalty:>8.3f} {trust:>8} {r.released:>8} {r.paid:>8.3f}"
        )
    lines.append(
        f"{'all':<10} {sum(r.obligations for r in rows):>5} "
        f"{sum(r.sold_kwh for r in rows):>9.3f} {sum(r.shortfall_kwh for r in rows):>10.3f} "
        f"{sum(r.penalty for r in rows):>8.3f} {'':>8} {sum(r.released for r in rows):>8} "
        f"{sum(r.paid for r in rows):>8.3f}"
    )
    return "\n".join(lines)
