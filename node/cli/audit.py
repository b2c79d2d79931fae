"""`gridledger audit --rpc URL`: every contract's terms, status and violation events, each
recomputed from the readings on chain by the reference model (node/audit/replay.py).

Exit status: 0 when everything matches, 1 on any mismatch, 2 when the audit cannot run
(unreachable endpoint, no contracts found, bad address or file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridledger.node.audit.chain import ChainReader
    from gridledger.node.audit.replay import AuditSource

    Wrap = Callable[[ChainReader], AuditSource]

EXIT_OK, EXIT_MISMATCH, EXIT_INPUT = 0, 1, 2


def run(args: argparse.Namespace, wrap: Wrap | None = None) -> int:
    """The command; `wrap` lets tests put a tampering source between chain and auditor."""
    import requests
    from web3.exceptions import Web3Exception

    from gridledger.node.audit.chain import open_reader
    from gridledger.node.audit.format import AuditContext, csv_text, document, table
    from gridledger.node.audit.locate import AuditInputError, checked_address, connect, locate
    from gridledger.node.audit.replay import audit
    from gridledger.node.errors import ContractRevertError

    try:
        participant = (
            checked_address(args.participant, "--participant") if args.participant else None
        )
        w3 = connect(args.rpc)
        located = locate(w3, args.rpc, args.contracts, args.import_cap)
        reader = open_reader(w3, located, args.block)
        source = wrap(reader) if wrap is not None else reader
        report = audit(source, participant)
        ctx = AuditContext.of(reader, args.rpc)
    except (AuditInputError, ContractRevertError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (requests.RequestException, Web3Exception) as exc:
        print(
            f"error: {args.rpc} failed during the audit: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_INPUT
    if not report.contracts:
        who = f" of participant {participant}" if participant else ""
        print(f"no contracts{who} on ImportCap {located.import_cap}", file=sys.stderr)
    mismatches = report.mismatches()
    if args.json:
        print(json.dumps(document(ctx, report), indent=1))
    elif args.csv:
        print(csv_text(report), end="")
    else:
        print(table(ctx, report))
    if args.json or args.csv:
        for m in mismatches:
            print(f"MISMATCH {m}", file=sys.stderr)
    return EXIT_MISMATCH if mismatches else EXIT_OK


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "audit",
        help="recompute every contract from the readings on chain and compare",
        description=(
            "Per contract (import caps and market delivery obligations): terms, E_viol, "
            "R_comp, penalty, trust and violation events, each recomputed from the "
            "ReadingAccepted events by the Python reference model. Exit 0: all match; "
            "1: a mismatch (printed with both values); 2: the audit could not run."
        ),
    )
    cmd.add_argument("--rpc", required=True, metavar="URL", help="JSON-RPC endpoint")
    cmd.add_argument(
        "--contracts",
        type=Path,
        default=None,
        metavar="FILE",
        help="addresses: a node's contracts.json, a testnet's genesis.json or status --json",
    )
    cmd.add_argument("--import-cap", default=None, metavar="ADDR", help="ImportCap address")
    cmd.add_argument(
        "--participant", default=None, metavar="ADDR", help="only this importer's contracts"
    )
    cmd.add_argument(
        "--block", type=int, default=None, metavar="N", help="audit at block N (default: head)"
    )
    formats = cmd.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="the full report as JSON")
    formats.add_argument("--csv", action="store_true", help="one CSV row per contract")
    cmd.set_defaults(handler=run)
