"""`gridledger operator admit|fund|cap|clear|status` and `gridledger regulator
rules|band|charge|cap-bounds|min-trust|admission|delivery-terms|cap-factors`: the operator's
and the regulator's REST endpoints (docs/rest.md) from the command line, each with its role's
API key. Tokens and kW on the command line, base units and W on the wire, converted exactly
(an amount finer than the unit is refused, not rounded)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from gridledger.contracts.units import SECONDS_PER_DAY, TOKEN_UNITS, WAD
from gridledger.node.cli.bid import exact_int
from gridledger.node.cli.client import (
    EXIT_REFUSED,
    EXIT_USAGE,
    CliError,
    add_node_args,
    api_key,
    call,
    node_url,
    run,
    show,
)

W_PER_KW = 1000


def _post(args: argparse.Namespace, role: str, path: str, body: dict[str, Any]) -> Any:
    return call("POST", node_url(args) + path, api_key(args, role), body)


# ------------------------------------------------------------------ operator
def _admit(args: argparse.Namespace) -> None:
    out = _post(
        args,
        "operator",
        "/v1/operator/admissions",
        {"participant": args.participant, "meter": args.meter},
    )
    show(
        args,
        out,
        f"admitted {out['participant']} with meter {out['meter']} (block {out['block_number']})",
    )


def _fund(args: argparse.Namespace) -> None:
    amount = exact_int(args.tokens, TOKEN_UNITS, "--tokens")
    out = _post(
        args, "operator", "/v1/operator/funds", {"account": args.account, "amount_units": amount}
    )
    show(
        args,
        out,
        f"minted {amount / TOKEN_UNITS:g} tokens to {out['account']}; from the faucet so far "
        f"{out['faucet_total_units'] / TOKEN_UNITS:g} "
        f"of {out['faucet_limit_units'] / TOKEN_UNITS:g}",
    )


def day_seconds(text: str) -> int:
    """HH:MM -> seconds after 00:00 (24:00 allowed as the end of the day)."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise ValueError(f"time {text!r} is not HH:MM") from None
    if (
        not (0 <= hours <= 24 and 0 <= minutes < 60)
        or hours * 3600 + minutes * 60 > SECONDS_PER_DAY
    ):
        raise ValueError(f"time {text!r} is outside 00:00..24:00")
    return hours * 3600 + minutes * 60


def cap_terms(args: argparse.Namespace, importer: str, counterparty: str) -> dict[str, Any]:
    """The terms of `cap` from its arguments (bounds kW -> W, window HH:MM-HH:MM)."""
    start_s, end_s = 0, 0
    if args.window:
        first, _, last = args.window.partition("-")
        start_s, end_s = day_seconds(first), day_seconds(last)
    valid_from = args.valid_from if args.valid_from is not None else int(time.time()) + 60
    if args.days < 1:
        raise ValueError(f"--days must be at least 1, got {args.days}")
    return {
        "importer": importer,
        "kind": args.kind,
        "window_start_s": start_s % SECONDS_PER_DAY,
        "window_end_s": end_s % SECONDS_PER_DAY,
        "counterparty": counterparty,
        "valid_from_ts": valid_from,
        "valid_to_ts": valid_from + args.days * SECONDS_PER_DAY,
        "lower_w": _signed_w(args.lower_kw, "--lower-kw"),
        "upper_w": _signed_w(args.upper_kw, "--upper-kw"),
        "lambda_units_per_kwh": exact_int(args.penalty, TOKEN_UNITS, "--penalty"),
        "beta_wad_per_kwh": exact_int(args.beta, WAD, "--beta"),
    }


def _signed_w(kw: str, what: str) -> int:
    negative = kw.startswith("-")
    watts = exact_int(kw.removeprefix("-"), W_PER_KW, what)
    return -watts if negative else watts


def _cap(args: argparse.Namespace) -> None:
    from gridledger.node.keys.api_key import api_key_file

    if args.importer_data_dir is None and args.importer_node is None:
        raise CliError(
            "give --importer-data-dir (or --importer-node and --importer-api-key)", EXIT_USAGE
        )
    importer_url = args.importer_node
    importer_key = args.importer_api_key
    if args.importer_data_dir is not None:
        importer_url = importer_url or node_url(
            argparse.Namespace(node=None, data_dir=args.importer_data_dir)
        )
        if importer_key is None:
            path = args.importer_data_dir / api_key_file("prosumer")
            try:
                importer_key = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CliError(
                    f"cannot read the importer's key {path}: {exc}", EXIT_USAGE
                ) from None
    if not importer_key:
        raise CliError("give --importer-api-key (the importer node's api-key)", EXIT_USAGE)
    importer = call("GET", importer_url.rstrip("/") + "/v1/node")["accounts"]["prosumer"]
    operator = _operator_of(args)["address"]
    terms = cap_terms(args, importer, operator)
    consent = call("POST", importer_url.rstrip("/") + "/v1/consents", importer_key, terms)
    out = _post(
        args, "operator", "/v1/operator/caps", {"terms": terms, "consent": consent["consent"]}
    )
    show(
        args,
        {**out, "terms": terms},
        f"import cap {out['contract_id']} on {importer}: {args.kind} "
        f"{terms['lower_w']}..{terms['upper_w']} W, window {args.window or 'all day'} UTC, "
        f"valid {terms['valid_from_ts']}..{terms['valid_to_ts']} "
        f"(importer's consent {consent['digest'][:10]}..., block {out['block_number']})",
    )


def _clear(args: argparse.Namespace) -> None:
    out = _post(args, "operator", "/v1/operator/clearings", {"interval": args.interval})
    show(
        args,
        out,
        f"interval {out['interval']} cleared: {out['orders']} orders, {out['volume_wh']} Wh; "
        f"{out['settled']} settled",
    )


def _operator_of(args: argparse.Namespace) -> dict[str, Any]:
    """GET /v1/operator; a node that runs no operator service is refused here."""
    out: dict[str, Any] = call("GET", node_url(args) + "/v1/operator")
    if not out.get("running"):
        raise CliError(f"409 NotAnOperatorNode: {out.get('message')}", EXIT_REFUSED)
    return out


def _operator_status(args: argparse.Namespace) -> None:
    out = _operator_of(args)
    show(
        args,
        out,
        f"operator {out['address']}: clears by itself {out['auto_clear']}, faucet "
        f"{'on' if out['faucet_on'] else 'off'}, next interval {out['next_interval']}, "
        f"{len(out['members'])} members admitted at start",
    )


# ------------------------------------------------------------------ regulator
def _rules_text(rules: dict[str, Any]) -> str:
    return "\n".join(f"{name:<27}{value}" for name, value in rules.items())


def _rules(args: argparse.Namespace) -> None:
    out = call("GET", node_url(args) + "/v1/regulation")
    show(args, out, _rules_text(out))


def _changed(args: argparse.Namespace, path: str, body: dict[str, Any]) -> None:
    out = _post(args, "regulator", path, body)
    show(args, out, _rules_text(out["rules"]) + f"\n(block {out['block_number']})")


def _band(args: argparse.Namespace) -> None:
    _changed(
        args,
        "/v1/regulator/band",
        {
            "floor_per_kwh": exact_int(args.floor, TOKEN_UNITS, "FLOOR"),
            "ceiling_per_kwh": exact_int(args.ceiling, TOKEN_UNITS, "CEILING"),
        },
    )


def _charge(args: argparse.Namespace) -> None:
    charge = exact_int(args.charge, TOKEN_UNITS, "CHARGE")
    _changed(args, "/v1/regulator/charge", {"charge_per_kwh": charge})


def _cap_bounds(args: argparse.Namespace) -> None:
    body = {
        "min_cap_w": _signed_w(args.min_kw, "MIN_KW"),
        "max_cap_w": _signed_w(args.max_kw, "MAX_KW"),
    }
    _changed(args, "/v1/regulator/cap-bounds", body)


def _min_trust(args: argparse.Namespace) -> None:
    _changed(
        args, "/v1/regulator/min-trust", {"min_trust_wad": exact_int(args.trust, WAD, "TRUST")}
    )


def _admission(args: argparse.Namespace) -> None:
    _changed(args, "/v1/regulator/admission-policy", {"policy": args.policy})


def _delivery_terms(args: argparse.Namespace) -> None:
    body = {
        "penalty_per_kwh": exact_int(args.penalty, TOKEN_UNITS, "PENALTY"),
        "beta_wad_per_kwh": exact_int(args.beta, WAD, "BETA"),
    }
    _changed(args, "/v1/regulator/delivery-terms", body)


def _cap_factors(args: argparse.Namespace) -> None:
    body = {
        "max_penalty_per_kwh": exact_int(args.penalty, TOKEN_UNITS, "MAX_PENALTY"),
        "max_beta_wad_per_kwh": exact_int(args.beta, WAD, "MAX_BETA"),
    }
    _changed(args, "/v1/regulator/cap-factors", body)


def _command(handler: Any) -> Any:
    return lambda args: run(handler, args)


def register(commands: Any) -> None:
    """Add `operator` and `regulator` to the CLI."""
    op = commands.add_parser("operator", help="the operator's duties through its node's REST API")
    ops = op.add_subparsers(dest="operator_command", required=True)
    admit = ops.add_parser("admit", help="admit a participant with its meter's address")
    admit.add_argument("participant", help="the participant's 0x address")
    admit.add_argument("meter", help="its meter's signing 0x address")
    admit.set_defaults(handler=_command(_admit))
    fund = ops.add_parser("fund", help="mint settlement tokens to an admitted participant (faucet)")
    fund.add_argument("account", help="0x address")
    fund.add_argument("--tokens", required=True, help="tokens, at most 6 decimals")
    fund.set_defaults(handler=_command(_fund))
    cap = ops.add_parser("cap", help="create an import cap with the importer's consent")
    cap.add_argument(
        "--importer-data-dir", type=Path, default=None, help="the importer's node folder"
    )
    cap.add_argument("--importer-node", default=None, help="the importer's node URL")
    cap.add_argument("--importer-api-key", default=None, help="the importer node's api-key")
    cap.add_argument("--kind", choices=("upper", "lower", "range"), default="upper")
    cap.add_argument("--upper-kw", default="0", help="upper bound on PCC import [kW]")
    cap.add_argument("--lower-kw", default="0", help="lower bound [kW] (lower, range)")
    cap.add_argument(
        "--window", default=None, help="daily window HH:MM-HH:MM UTC (default all day)"
    )
    cap.add_argument("--valid-from", type=int, default=None, help="[unix s] (default now + 60)")
    cap.add_argument("--days", type=int, default=1, help="validity [days] (default 1)")
    cap.add_argument("--penalty", default="1", help="lambda [token per kWh of violation]")
    cap.add_argument("--beta", default="0.5", help="beta [per kWh of violation]")
    cap.set_defaults(handler=_command(_cap))
    clear = ops.add_parser("clear", help="clear an interval now (gate closed) and settle it")
    clear.add_argument("interval", type=int)
    clear.set_defaults(handler=_command(_clear))
    status = ops.add_parser("status", help="the operator service: account, faucet, next interval")
    status.set_defaults(handler=_command(_operator_status))
    for sub in (admit, fund, cap, clear):
        add_node_args(sub, "operator")
    add_node_args(status, None, read=True)

    reg = commands.add_parser("regulator", help="Regulation's rules through a node's REST API")
    regs = reg.add_subparsers(dest="regulator_command", required=True)
    rules = regs.add_parser("rules", help="every rule as on-chain")
    rules.set_defaults(handler=_command(_rules))
    add_node_args(rules, None, read=True)
    band = regs.add_parser("band", help="price band [token/kWh]")
    band.add_argument("floor")
    band.add_argument("ceiling")
    band.set_defaults(handler=_command(_band))
    charge = regs.add_parser("charge", help="network charge [token/kWh]")
    charge.add_argument("charge")
    charge.set_defaults(handler=_command(_charge))
    bounds = regs.add_parser("cap-bounds", help="bounds an import cap may have [kW]")
    bounds.add_argument("--min-kw", required=True, help="lowest bound [kW], may be negative")
    bounds.add_argument("--max-kw", required=True, help="highest bound [kW]")
    bounds.set_defaults(handler=_command(_cap_bounds))
    trust = regs.add_parser("min-trust", help="trust needed to place orders (0..1)")
    trust.add_argument("trust")
    trust.set_defaults(handler=_command(_min_trust))
    admission = regs.add_parser("admission", help="who may admit participants")
    admission.add_argument("policy", choices=("operator-or-regulator", "regulator-only", "closed"))
    admission.set_defaults(handler=_command(_admission))
    delivery = regs.add_parser("delivery-terms", help="market delivery penalty and beta")
    delivery.add_argument("penalty", help="[token per kWh of shortfall]")
    delivery.add_argument("beta", help="[per kWh]")
    delivery.set_defaults(handler=_command(_delivery_terms))
    factors = regs.add_parser("cap-factors", help="highest lambda and beta of an import cap")
    factors.add_argument("penalty", help="[token per kWh of violation]")
    factors.add_argument("beta", help="[per kWh]")
    factors.set_defaults(handler=_command(_cap_factors))
    for sub in (band, charge, bounds, trust, admission, delivery, factors):
        add_node_args(sub, "regulator")
