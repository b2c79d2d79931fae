"""The REST client shared by the role commands (`operator`, `regulator`, `market`, `orders`,
`trust`): which node (--node URL, or the port in --data-dir's node.toml), which API key
(--api-key, else the role's key file in --data-dir, else GRIDLEDGER_API_KEY), one request with the
node's error shown as `error: STATUS NAME: message`.

Exit codes: 0 done; 1 the node refused (any 4xx/5xx) or does not answer; 2 bad usage (an
argument the command cannot use, no key)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from gridledger.node.errors import NodeError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
TIMEOUT_S = 90.0
DEFAULT_NODE = "http://127.0.0.1:8545"


class CliError(NodeError):
    """A failure the command reports as `error: message` with `code` as its exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def add_node_args(parser: argparse.ArgumentParser, role: str | None, read: bool = False) -> None:
    """--node, --data-dir and (with a role) --api-key; --json for reads."""
    parser.add_argument(
        "--node", default=None, help=f"the node's HTTP URL (default {DEFAULT_NODE})"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="a local node's folder: its URL from node.toml"
        + (f", its {role} key from the key file" if role else ""),
    )
    if role is not None:
        parser.add_argument(
            "--api-key", default=None, help=f"the {role}'s API key (or GRIDLEDGER_API_KEY)"
        )
    parser.add_argument("--json", action="store_true", help="print the node's answer as JSON")


def node_url(args: argparse.Namespace) -> str:
    if args.node:
        return str(args.node).rstrip("/")
    if args.data_dir is not None:
        path = args.data_dir / "node.toml"
        try:
            port = tomllib.loads(path.read_text(encoding="utf-8"))["node"]["port"]
        except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
            raise CliError(f"cannot read the node's port from {path}: {exc}", EXIT_USAGE) from None
        return f"http://127.0.0.1:{int(port)}"
    return DEFAULT_NODE


def api_key(args: argparse.Namespace, role: str) -> str:
    from gridledger.node.keys.api_key import API_KEY_ENV, api_key_file

    if getattr(args, "api_key", None):
        return str(args.api_key)
    if args.data_dir is not None:  # the role's own file, before a key in the environment
        path = Path(args.data_dir) / api_key_file(role)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"cannot read the {role}'s key {path}: {exc}", EXIT_USAGE) from None
    from_env = os.environ.get(API_KEY_ENV)
    if from_env:
        return from_env
    raise CliError(
        f"give --api-key, set {API_KEY_ENV}, or --data-dir of the node (its {api_key_file(role)})",
        EXIT_USAGE,
    )


def call(
    method: str,
    url: str,
    key: str | None = None,
    body: Any = None,
    ok: tuple[int, ...] = (200, 201),
) -> Any:
    """The JSON answer of one request; CliError with the node's error otherwise."""
    import requests

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        reply = requests.request(method, url, json=body, headers=headers, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise CliError(f"cannot reach {url}: {type(exc).__name__}", EXIT_REFUSED) from None
    try:
        answer = reply.json()
    except ValueError:
        answer = {"error": "NotJson", "message": reply.text[:300]}
    if reply.status_code not in ok:
        error = answer.get("error") if isinstance(answer, dict) else None
        message = answer.get("message") if isinstance(answer, dict) else answer
        raise CliError(f"{reply.status_code} {error}: {message}", EXIT_REFUSED)
    return answer


def run(handler: Any, args: argparse.Namespace) -> int:
    """Run `handler(args)` (which prints), turning CliError and ValueError into `error:`."""
    try:
        handler(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def show(args: argparse.Namespace, answer: Any, text: str) -> None:
    print(json.dumps(answer, indent=1) if args.json else text)
