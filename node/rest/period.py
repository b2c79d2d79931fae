"""The `from` / `to` query pair of the read endpoints: unix seconds on a reading's interval
start, from <= start < to; `to` before `from` is a 422 naming both."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from gridledger.contracts.units import UINT64_LIMIT

FromTs = Annotated[
    int | None,
    Query(alias="from", ge=0, lt=UINT64_LIMIT, description="interval start >= this [unix s]"),
]
ToTs = Annotated[
    int | None,
    Query(alias="to", ge=0, lt=UINT64_LIMIT, description="interval start < this [unix s]"),
]


def check_period(from_ts: int | None, to_ts: int | None) -> None:
    """RequestValidationError (422 on `to`) when `to` is before `from`."""
    if from_ts is not None and to_ts is not None and to_ts < from_ts:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "to"),
                    "msg": f"to ({to_ts}) is before from ({from_ts})",
                    "input": to_ts,
                }
            ]
        )
