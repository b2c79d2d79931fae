"""The read model's ledger errors (node/errors.py) keep their HTTP answers through the one
mapping in node/rest/errors.py: no deployment 503 ContractsNotDeployed, a transaction that
reverted when mined 409 TransactionFailed, any other ledger error 503 LedgerError."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from gridledger.node.errors import LedgerError, NotDeployedError, TransactionFailedError
from gridledger.node.rest.errors import _on_node_error


@pytest.mark.parametrize(
    ("exc", "status", "name"),
    [
        (NotDeployedError("no contracts yet"), 503, "ContractsNotDeployed"),
        (TransactionFailedError("reverted when mined"), 409, "TransactionFailed"),
        (LedgerError("down"), 503, "LedgerError"),
    ],
)
def test_ledger_errors_map_to_their_status(exc: LedgerError, status: int, name: str) -> None:
    # On a thread of its own: a Playwright test in the same worker leaves a loop running here.
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, _on_node_error(None, exc)).result()  # type: ignore[arg-type]
    assert response.status_code == status
    assert json.loads(bytes(response.body)) == {"error": name, "message": str(exc)}
