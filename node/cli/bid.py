"""`gridledger bid`: place an order through a node's REST API (POST /v1/orders).

The command line speaks kWh and tokens per kWh; the API speaks Wh and token base units per
kWh (6 decimals). Both are converted exactly (decimal, not float); an amount finer than 1 Wh
or 1 base unit is refused rather than rounded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from gridledger.contracts.units import TOKEN_UNITS, WH_PER_KWH

TIMEOUT_S = 90.0  # the node waits up to 60 s for the order's receipt


def exact_int(text: str, scale: int, what: str) -> int:
    """`text` (a decimal number) times `scale`, which must come out whole and non-negative."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{what} {text!r} must be a finite number >= 0")
    scaled = value * scale
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {text} is finer than 1/{scale}; give at most that precision")
    return int(scaled)


def order_body(side: str, kwh: str, price: str, interval: int | None) -> dict[str, Any]:
    """The POST /v1/orders body for `kwh` [kWh] at `price` [token/kWh]."""
    body: dict[str, Any] = {
        "side": side,
        "quantity_wh": exact_int(kwh, WH_PER_KWH, "--kwh"),
        "limit_price_per_kwh": exact_int(price, TOKEN_UNITS, "--price"),
    }
    if interval is not None:
        body["interval"] = interval
    return body


def _bid(args: argparse.Namespace) -> int:
    import requests

    from gridledger.node.cli.client import CliError, node_url
    from gridledger.node.keys.api_key import API_KEY_ENV

    api_key = args.api_key
    if not api_key and args.data_dir is not None:
        try:
            api_key = (args.data_dir / "api-key").read_text(encoding="utf-8").strip()
        except OSError as exc:
            print(f"error: cannot read the node's api-key: {exc}", file=sys.stderr)
            return 2
    api_key = api_key or os.environ.get(API_KEY_ENV)
    if not api_key:
        hint = f"give --api-key or set {API_KEY_ENV} (the node's DATA_DIR/api-key)"
        print(f"error: {hint}", file=sys.stderr)
        return 2
    if args.node is None and args.data_dir is None:
        print("error: give --node URL or --data-dir of a local node", file=sys.stderr)
        return 2
    try:
        node = node_url(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    try:
        body = order_body(args.side, args.kwh, args.price, args.interval)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    url = node + "/v1/orders"
    try:
        reply = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT_S
        )
    except requests.RequestException as exc:
        print(f"error: cannot reach {url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    try:
        answer = reply.json()
    except ValueError:
        answer = {"error": "NotJson", "message": reply.text[:300]}
    if args.json:
        print(json.dumps({"status": reply.status_code, **answer}, indent=1))
    if reply.status_code != 201:
        reason = f"{answer.get('error')}: {answer.get('message')}"
        print(f"error: {reply.status_code} {reason}", file=sys.stderr)
        return 1
    if not args.json:
        print(
            f"order {answer['order_id']} placed in interval {answer['interval']}: "
            f"{answer['side']} {answer['quantity_wh']} Wh at {answer['limit_price_per_kwh']} "
            f"units/kWh (tx {answer['tx_hash']}, block {answer['block_number']})"
        )
    return 0


def register(commands: Any) -> None:
    """Add `bid` to the CLI."""
    bid = commands.add_parser(
        "bid", help="place a market order through a node's REST API (its prosumer account)"
    )
    bid.add_argument("--node", default=None, help="the node's HTTP URL, e.g. http://127.0.0.1:8545")
    bid.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="a local node's folder: its URL from node.toml and its api-key",
    )
    bid.add_argument("--side", required=True, choices=("buy", "sell"))
    bid.add_argument("--kwh", required=True, help="energy [kWh], at most 3 decimals (1 Wh)")
    bid.add_argument(
        "--price", required=True, help="limit price [token/kWh], at most 6 decimals (1 unit)"
    )
    bid.add_argument(
        "--interval",
        type=int,
        default=None,
        help="market interval (default: the first whose gate closes >= 30 s from now)",
    )
    bid.add_argument(
        "--api-key", default=None, help="the node's API key (better: set GRIDLEDGER_API_KEY)"
    )
    bid.add_argument("--json", action="store_true", help="print the node's answer as JSON")
    bid.set_defaults(handler=_bid)
