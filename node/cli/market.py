"""`gridledger market [--interval N]` (the book, price, fills and settlement of an interval),
`gridledger orders [--owner ADDR]` (an account's recent orders), `gridledger trust ADDRESS`
(trust, exposure, whether it may trade) and `gridledger balance ADDRESS` (tokens and market
credits): reads of a node's REST API; each takes --json."""

from __future__ import annotations

import argparse
from typing import Any

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.cli.client import add_node_args, call, node_url, run, show


def _price(units_per_kwh: int | None) -> str:
    return "-" if units_per_kwh is None else f"{units_per_kwh / TOKEN_UNITS:.6f}"


def _order_lines(orders: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"  {'order':>22} {'owner':<44}{'side':<5}{'Wh':>8}{'limit':>10}{'filled':>8}  settled"
    ]
    for o in orders:
        credited = "-" if o["credited_units"] is None else f"{o['credited_units'] / TOKEN_UNITS:g}"
        state = f"yes, credited {credited}" if o["settled"] else "no"
        if o.get("held_units"):  # a sell's proceeds, held until its delivery is metered
            state += f", held {o['held_units'] / TOKEN_UNITS:g}"
        lines.append(
            f"  {o['order_id']:>22} {o['owner']:<44}{o['side']:<5}{o['quantity_wh']:>8}"
            f"{_price(o['limit_price_per_kwh']):>10}{o['filled_wh']:>8}  {state}"
        )
    return lines


def _market(args: argparse.Namespace) -> None:
    base = node_url(args)
    clock = call("GET", base + "/v1/market")
    interval = args.interval if args.interval is not None else clock["last_closed_interval"]
    body = call("GET", f"{base}/v1/market/intervals/{interval}")
    s = body["settlement"]
    state = "voided" if body["voided"] else body["phase"]
    lines = [
        f"interval {interval}: {state}; gate closes {body['gate_closure_ts']}, starts "
        f"{body['start_ts']} (chain time {clock['now_ts']}, "
        f"open for orders: {clock['open_interval']})",
        f"price {_price(body['price_per_kwh'])} token/kWh, volume {body['volume_wh'] or 0} Wh, "
        f"network charge {_price(body['network_charge_per_kwh'])} token/kWh",
        f"settlement: {s['settled_count']}/{s['order_count']} orders"
        + (", complete" if s["complete"] else ""),
    ]
    if body["orders"]:
        lines += _order_lines(body["orders"])
    else:
        lines.append("  no orders")
    show(args, {"market": clock, "interval": body}, "\n".join(lines))


def _orders(args: argparse.Namespace) -> None:
    base = node_url(args)
    owner = args.owner or call("GET", base + "/v1/node")["accounts"]["prosumer"]
    orders = call("GET", f"{base}/v1/accounts/{owner}/orders")
    text = "\n".join(_order_lines(orders)) if orders else "no orders"
    show(args, orders, text)


def _trust(args: argparse.Namespace) -> None:
    out = call("GET", f"{node_url(args)}/v1/trust/{args.address}")
    show(
        args,
        out,
        f"{out['address']}: trust {out['trust']:.6f} (exposure {out['exposure_wad'] / 1e18:.6f}), "
        f"minimum {out['min_trust_wad'] / 1e18:g}; active {out['active']}, may trade "
        f"{out['may_trade']}; active contracts {out['active_contract_ids'] or '-'}",
    )


def _balance(args: argparse.Namespace) -> None:
    base = node_url(args)
    address = args.address or call("GET", base + "/v1/node")["accounts"]["prosumer"]
    out = call("GET", f"{base}/v1/balances/{address}")
    show(
        args,
        out,
        f"{out['address']}: {out['token_units'] / TOKEN_UNITS:.6f} tokens, "
        f"{out['claimable_units'] / TOKEN_UNITS:.6f} credited by the market (withdrawable); "
        f"{'admitted' if out['active'] else 'not admitted'}",
    )


def register(commands: Any) -> None:
    """Add `market`, `orders` and `trust` to the CLI."""
    market = commands.add_parser("market", help="an interval's book, price, fills, settlement")
    market.add_argument(
        "--interval", type=int, default=None, help="default: the last whose gate has closed"
    )
    market.set_defaults(handler=lambda a: run(_market, a))
    orders = commands.add_parser("orders", help="an account's recent orders")
    orders.add_argument("--owner", default=None, help="0x address (default: the node's prosumer)")
    orders.set_defaults(handler=lambda a: run(_orders, a))
    trust = commands.add_parser("trust", help="an account's trust and whether it may trade")
    trust.add_argument("address")
    trust.set_defaults(handler=lambda a: run(_trust, a))
    balance = commands.add_parser("balance", help="an account's tokens and market credits")
    balance.add_argument("address", nargs="?", help="0x address (default: the node's prosumer)")
    balance.set_defaults(handler=lambda a: run(_balance, a))
    for sub in (market, orders, trust, balance):
        add_node_args(sub, None, read=True)
