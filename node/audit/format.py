"""The audit report as a table per contract, CSV (one row per contract) or a JSON document.

Chain values stay integers in JSON (the REST API's field names); the derived values in
human units (kWh, tokens, fractions) are exact decimals in CSV and floats in JSON.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from gridledger.contracts.enums import BoundKind
from gridledger.contracts.units import SECONDS_PER_DAY, WAD, WH_PER_KWH
from gridledger.node.accounting import ContractTerms
from gridledger.node.audit.replay import AuditReport, ContractAudit, Mismatch
from gridledger.node.views.records import ContractKind

if TYPE_CHECKING:
    from gridledger.node.audit.chain import ChainReader

WAD_DIGITS = 18
# Contract terms as the REST API writes them (the bound kind by its label).
TERMS_JSON = TypeAdapter(ContractTerms)
CSV_COLUMNS = (
    "contract_id",
    "kind",
    "importer",
    "counterparty",
    "bound",
    "lower_w",
    "upper_w",
    "window_start_s",
    "window_end_s",
    "valid_from_ts",
    "valid_to_ts",
    "lambda_tokens_per_kwh",
    "beta_per_kwh",
    "e_viol_kwh",
    "e_total_kwh",
    "compliance",
    "penalty_tokens",
    "penalty_paid_tokens",
    "trust",
    "violation_events",
    "readings_in_window",
    "mismatches",
)


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Where and when the audit read the chain."""

    rpc_url: str
    chain_id: int
    block: int
    block_timestamp_ts: int
    addresses: dict[str, str | None]
    addresses_source: str

    @classmethod
    def of(cls, reader: ChainReader, rpc_url: str) -> AuditContext:
        """The context of an audit read through `reader` from `rpc_url` (one block read)."""
        located = reader.located
        return cls(
            rpc_url=rpc_url,
            chain_id=int(reader.w3.eth.chain_id),
            block=reader.block,
            block_timestamp_ts=int(reader.w3.eth.get_block(reader.block)["timestamp"]),
            addresses={
                "ImportCap": located.import_cap,
                "Metering": located.metering,
                "Trust": located.trust,
            },
            addresses_source=located.source,
        )


def exact(value: int, decimals: int) -> str:
    """`value` / 10**decimals as an exact decimal string."""
    return f"{Decimal(value).scaleb(-decimals):f}"


def trimmed(value: int, decimals: int) -> str:
    """`value` / 10**decimals, exact, without trailing zeros ("1", "0.5")."""
    text = exact(value, decimals)
    return text.rstrip("0").rstrip(".") if "." in text else text


def contract_title(c: ContractAudit) -> str:
    """Import caps by number; deliveries by their hex id and market interval."""
    if c.kind is ContractKind.DELIVERY:
        interval = (c.contract_id >> 160) & (2**64 - 1)
        return f"contract {c.contract_id:#x} (delivery, market interval {interval})"
    return f"contract {c.contract_id} (import cap)"


def bound_text(terms: ContractTerms) -> str:
    """The bound on PCC power P (> 0 import) as a formula [W]."""
    if terms.kind == BoundKind.UPPER:
        return f"P <= {terms.upper_w} W"
    if terms.kind == BoundKind.LOWER:
        return f"P >= {terms.lower_w} W"
    return f"{terms.lower_w} W <= P <= {terms.upper_w} W"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def window_text(terms: ContractTerms) -> str:
    start, end = terms.window_start_s, terms.window_end_s
    if start == end:
        return "all day"
    text = f"{_clock(start % SECONDS_PER_DAY)}-{_clock(end % SECONDS_PER_DAY)} UTC"
    return text + (" (wraps midnight)" if end < start else "")


def utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _derived(c: ContractAudit, decimals: int) -> dict[str, str]:
    return {
        "e_viol_kwh": exact(c.chain.violation_wh, 3),
        "e_total_kwh": exact(c.chain.total_wh, 3),
        "compliance": exact(c.chain.compliance_wad, WAD_DIGITS),
        "penalty_tokens": exact(c.chain.penalty_units, decimals),
        "penalty_paid_tokens": exact(c.chain.penalty_paid_units, decimals),
        "trust": exact(c.chain.trust_wad, WAD_DIGITS),
    }


# ---------------------------------------------------------------- table


def _contract_block(c: ContractAudit, decimals: int) -> list[str]:
    t, s = c.terms, c.chain
    lines = [
        contract_title(c),
        f"  importer      {t.importer}   counterparty {t.counterparty}",
        f"  bound         {t.kind.name.lower()}: {bound_text(t)}, window {window_text(t)}",
        f"  validity      {utc(t.valid_from_ts)} .. {utc(t.valid_to_ts)}",
        f"  lambda, beta  {trimmed(t.lambda_units_per_kwh, decimals)} tokens/kWh, "
        f"{trimmed(t.beta_wad_per_kwh, WAD_DIGITS)} /kWh",
        f"  E_viol        {exact(s.violation_wh, 3)} kWh "
        f"(|P| dt in the window: {exact(s.total_wh, 3)} kWh)",
        f"  R_comp        {s.compliance_wad / WAD:.6f}",
        f"  penalty       {exact(s.penalty_units, decimals)} tokens "
        f"(collected {exact(s.penalty_paid_units, decimals)})",
        f"  trust         {s.trust_wad / WAD:.6f}",
        f"  events        {len(c.violations)} violations, {c.readings_in_window} readings in "
        "the window",
    ]
    if c.mismatches:
        lines.append(f"  audit         {len(c.mismatches)} MISMATCH(ES)")
        lines += [f"    {m.field}: chain {m.chain}, reference {m.reference}" for m in c.mismatches]
    else:
        lines.append("  audit         matches the reference model")
    return lines


def table(ctx: AuditContext, report: AuditReport) -> str:
    """Human-readable: one block per contract, then participants and a summary."""
    who = f" of participant {report.participant}" if report.participant else ""
    lines = [
        f"audit of ImportCap {ctx.addresses['ImportCap']} on chain {ctx.chain_id}{who}",
        f"at block {ctx.block} ({utc(ctx.block_timestamp_ts)}), addresses from "
        f"{ctx.addresses_source}",
        "",
    ]
    for c in report.contracts:
        lines += [*_contract_block(c, report.token_decimals), ""]
    for p in report.participants:
        trust = "unknown (no Trust address)" if p.trust_wad is None else f"{p.trust_wad / WAD:.6f}"
        lines.append(
            f"participant {p.address}: {len(p.contract_ids)} contract(s), exposure "
            f"{p.exposure_wad / WAD:.6f}, trust {trust}"
        )
    lines += [f"MISMATCH {m}" for p in report.participants for m in p.mismatches]
    lines += [f"MISMATCH {m}" for m in report.orphans]
    lines.append(summary(report))
    return "\n".join(lines)


def summary(report: AuditReport) -> str:
    n = len(report.mismatches())
    verdict = "all match the reference model" if n == 0 else f"{n} MISMATCH(ES)"
    return (
        f"{len(report.contracts)} contract(s), {len(report.participants)} participant(s) "
        f"audited at block {report.block}: {verdict}"
    )


# ---------------------------------------------------------------- CSV


def csv_text(report: AuditReport) -> str:
    """One row per contract (CSV_COLUMNS), exact decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in report.contracts:
        t = c.terms
        derived = _derived(c, report.token_decimals)
        row: dict[str, object] = {
            "contract_id": c.contract_id,
            "kind": c.kind.value,
            "importer": t.importer,
            "counterparty": t.counterparty,
            "bound": t.kind.label,
            "lower_w": t.lower_w,
            "upper_w": t.upper_w,
            "window_start_s": t.window_start_s,
            "window_end_s": t.window_end_s,
            "valid_from_ts": t.valid_from_ts,
            "valid_to_ts": t.valid_to_ts,
            "lambda_tokens_per_kwh": exact(t.lambda_units_per_kwh, report.token_decimals),
            "beta_per_kwh": exact(t.beta_wad_per_kwh, WAD_DIGITS),
            **derived,
            "violation_events": len(c.violations),
            "readings_in_window": c.readings_in_window,
            "mismatches": len(c.mismatches),
        }
        writer.writerow([row[k] for k in CSV_COLUMNS])
    return out.getvalue()


# ---------------------------------------------------------------- JSON


def _mismatch(m: Mismatch) -> dict[str, Any]:
    return {"subject": m.subject, "field": m.field, "chain": m.chain, "reference": m.reference}


def _contract_doc(c: ContractAudit, decimals: int) -> dict[str, Any]:
    s = c.chain
    return {
        "id": c.contract_id,
        "kind": c.kind.value,
        "terms": TERMS_JSON.dump_python(c.terms, mode="json"),
        "status": s.model_dump(mode="json"),
        "derived": {
            "violation_kwh": s.violation_wh / WH_PER_KWH,
            "total_kwh": s.total_wh / WH_PER_KWH,
            "compliance": s.compliance_wad / WAD,
            "penalty_tokens": s.penalty_units / 10**decimals,
            "trust": s.trust_wad / WAD,
        },
        "reference": asdict(c.reference),
        "readings_in_window": c.readings_in_window,
        "violation_events": len(c.violations),
        "violations": [v.model_dump(mode="json") for v in c.violations],
        "mismatches": [_mismatch(m) for m in c.mismatches],
    }


def document(ctx: AuditContext, report: AuditReport) -> dict[str, Any]:
    """The full report: context, every contract with its events, participants, mismatches."""
    mismatches = report.mismatches()
    return {
        "rpc_url": ctx.rpc_url,
        "chain_id": ctx.chain_id,
        "block": ctx.block,
        "block_timestamp_ts": ctx.block_timestamp_ts,
        "addresses": ctx.addresses,
        "addresses_source": ctx.addresses_source,
        "participant": report.participant,
        "token_decimals": report.token_decimals,
        "contracts": [_contract_doc(c, report.token_decimals) for c in report.contracts],
        "participants": [
            {**asdict(p), "mismatches": [_mismatch(m) for m in p.mismatches]}
            for p in report.participants
        ],
        "mismatches": [_mismatch(m) for m in mismatches],
        "ok": not mismatches,
    }
