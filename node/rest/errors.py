"""The REST layer's domain errors and the one place where exceptions become HTTP answers.

Every error body has the same shape: ``{"error": NAME, "message": TEXT}``, plus ``fields``
for validation errors (422) and ``args`` / ``revert_data`` for contract reverts. Routes never
build error responses themselves; they raise, and `install_handlers` maps.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import requests
from eth_utils.address import is_hex_address, to_checksum_address
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3.exceptions import TimeExhausted, Web3RPCError

from gridledger.node.errors import (
    ContractRevertError,
    LedgerError,
    NodeError,
    NotDeployedError,
    TransactionFailedError,
)
from gridledger.node.ledger.reverts import error_arg_names
from gridledger.node.meters.errors import (
    ReadingQueueStorageError,
    ReadingsRefusedError,
    ReadingUnknownError,
)
from gridledger.node.operator.service import (
    FaucetLimitError,
    FaucetOffError,
    NothingToClearError,
    OperatorError,
    UnknownParticipantError,
)

log = logging.getLogger(__name__)


class RestError(NodeError):
    """A refusal with its HTTP status and a stable error name."""

    status = 400
    error = "BadRequest"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthError(RestError):
    """The request lacks the node's API key or carries a wrong one."""

    status = 401
    error = "Unauthorized"


class ForbiddenRoleError(RestError):
    """The request carries a valid API key of another role than the endpoint's."""

    status = 403
    error = "WrongRole"


class BodyTooLargeError(RestError):
    """The request body is over its route's limit (node.http_limits); refused unread."""

    status = 413
    error = "PayloadTooLarge"


class JsonTooDeepError(RestError):
    """The request body nests JSON deeper than node.http_limits allows; refused unparsed."""

    status = 400
    error = "JsonTooDeep"


# The read model's ledger errors (node/errors.py) -> status and error name.
LEDGER_STATUS: dict[type[LedgerError], tuple[int, str]] = {
    NotDeployedError: (503, "ContractsNotDeployed"),
    TransactionFailedError: (409, "TransactionFailed"),
}


# The operator service's refusals (node/operator/service.py) -> status and error name;
# the first class in this order that the error is an instance of.
OPERATOR_STATUS: dict[type[OperatorError], tuple[int, str]] = {
    UnknownParticipantError: (404, "UnknownParticipant"),
    FaucetOffError: (409, "FaucetOff"),
    FaucetLimitError: (409, "FaucetLimitReached"),
    NothingToClearError: (409, "NothingToClear"),
    OperatorError: (409, "OperatorRefused"),
}


# Decoded contract errors -> status. Anything decoded but not listed is a 409: the request
# was well formed, the ledger's current state refuses it.
REVERT_STATUS: dict[str, int] = {
    "AccessControlUnauthorizedAccount": 403,
    "MarketTrustTooLow": 403,
    "ERC20InsufficientBalance": 402,
    "ERC20InsufficientAllowance": 402,
    "MarketPriceOutsideBand": 422,
    "MarketZeroQuantity": 422,
    "MarketUnknownOrder": 404,
    "ImportCapUnknownContract": 404,
    "MarketUnexpectedPhase": 409,
    "MarketDuplicateSell": 409,
    "MarketIntervalFull": 409,
    "EnforcedPause": 409,
    "RegistryAdmissionUnauthorized": 403,
    "RegistryAdmissionClosed": 403,
    "RegistryZeroAddress": 422,
    "ImportCapBoundOutsideRegulation": 422,
    "ImportCapPenaltyAboveRegulation": 422,
    "ImportCapBetaAboveRegulation": 422,
    "ImportCapInvalidBounds": 422,
    "ImportCapInvalidWindow": 422,
    "ImportCapInvalidValidity": 422,
    "ImportCapNoConsent": 403,
    "ImportCapInactiveImporter": 404,
    "RegulationInvalidPriceBand": 422,
    "RegulationChargeAboveFloor": 422,
    "RegulationInvalidCapBounds": 422,
    "RegulationTrustAboveOne": 422,
}
UNDECODED_REVERT_STATUS = 400
_KNOWN_STATUSES = {s.value for s in HTTPStatus}


class NotAnOperatorNodeError(RestError):
    """The node runs no operator service ([operator] in its config; node 1 of a testnet)."""

    status = 409
    error = "NotAnOperatorNode"


class NotThisNodesParticipantError(RestError):
    """Consent asked for terms whose importer is not this node's prosumer account."""

    status = 422
    error = "NotThisNodesParticipant"


class NotFinalError(RestError):
    """The block is above this node's final block (or above its head)."""

    status = 404
    error = "BlockNotFinal"


class AuditCannotRunError(RestError):
    """The audit cannot start (a block past the head)."""

    status = 422
    error = "AuditCannotRun"


class NotATestnetNodeError(RestError):
    """The node runs no consensus (a lone node or an external ledger)."""

    status = 409
    error = "NotATestnetNode"


class UnknownPeerError(RestError):
    """A link request names a peer this node does not know."""

    status = 422
    error = "UnknownPeer"


class NotASimClockError(RestError):
    """The node's consensus runs on the wall clock."""

    status = 409
    error = "NotASimulationClock"


class TooManySubscribersError(RestError):
    """The node holds live.MAX_SUBSCRIBERS event streams already."""

    status = 503
    error = "TooManySubscribers"


def json_value(value: object) -> object:
    """A decoded ABI value as JSON: bytes as 0x-hex, addresses checksummed, tuples as lists."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


def revert_body(exc: ContractRevertError) -> dict[str, Any]:
    """The JSON body of a contract revert: name, named arguments, message and raw data."""
    names = error_arg_names().get(exc.name, ())
    args: dict[str, object] = {}
    for position, value in enumerate(exc.error_args):
        key = names[position] if position < len(names) and names[position] else f"arg{position}"
        args[key] = json_value(value)
    rendered = ", ".join(f"{k}={v}" for k, v in args.items())
    return {
        "error": exc.name,
        "message": f"the contract refused: {exc.name}({rendered})",
        "args": args,
        "revert_data": "0x" + exc.data.hex(),
    }


def revert_status(exc: ContractRevertError) -> int:
    """The HTTP status of a decoded revert (see REVERT_STATUS)."""
    if exc.name == "Unknown":
        return UNDECODED_REVERT_STATUS
    return REVERT_STATUS.get(exc.name, 409)


def _validation_fields(exc: RequestValidationError) -> list[dict[str, str]]:
    fields = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "request"
        field = ".".join(loc[1:]) or location
        fields.append({"location": location, "field": field, "reason": str(err.get("msg", ""))})
    return fields


def _body(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = _validation_fields(exc)
    summary = "; ".join(f"{f['field']}: {f['reason']}" for f in fields)
    return _body(
        422,
        {"error": "ValidationError", "message": f"invalid request: {summary}", "fields": fields},
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's own refusals (unknown path 404, wrong method 405, unparsable body 400).
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    name = HTTPStatus(status).phrase.replace(" ", "") if status in _KNOWN_STATUSES else "HTTPError"
    headers = dict(exc.headers or {})
    if status == 405:  # Starlette names the first matching route's methods only
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return _body(status, {"error": name, "message": str(exc.detail)}, headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the app documents on the request's path (GET and POST /v1/readings are
    routes of two routers), from its OpenAPI description."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    methods: set[str] = set()
    for template, operations in paths.items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), request.url.path):
            methods |= {m.upper() for m in operations}
    return sorted(methods)


def error_response(exc: RestError) -> JSONResponse:
    """A RestError as its status and error body (also used by node.http_limits, which
    refuses bodies before the app's handlers are reached)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
    return _body(exc.status, {"error": exc.error, "message": exc.message}, headers)


async def _on_node_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ContractRevertError):
        return _body(revert_status(exc), revert_body(exc))
    if isinstance(exc, RestError):
        return error_response(exc)
    if isinstance(exc, OperatorError):
        status, name = next(v for k, v in OPERATOR_STATUS.items() if isinstance(exc, k))
        return _body(status, {"error": name, "message": str(exc)})
    if isinstance(exc, ReadingsRefusedError):
        first = exc.first
        readings = [f.model_dump(mode="json") for f in exc.fates]
        body = {"error": first.error, "message": str(exc), "readings": readings}
        return _body(exc.status, body)
    if isinstance(exc, ReadingUnknownError):
        return _body(404, {"error": "ReadingUnknown", "message": exc.message})
    if isinstance(exc, ReadingQueueStorageError):
        log.error("meter readings refused: %s", exc.message)
        message = f"{exc.message}; no reading of the request was queued, send it again later"
        return _body(503, {"error": "ReadingQueueUnavailable", "message": message})
    if isinstance(exc, LedgerError):
        status, name = LEDGER_STATUS.get(type(exc), (503, "LedgerError"))
        return _body(status, {"error": name, "message": str(exc)})
    raise exc  # another NodeError is a bug: let it be a 500 with a logged traceback


async def _on_ledger_timeout(_: Request, exc: Exception) -> JSONResponse:
    return _body(504, {"error": "LedgerTimeout", "message": str(exc)})


async def _on_ledger_refusal(_: Request, exc: Exception) -> JSONResponse:
    # The ledger refused a transaction for a reason outside the contracts (gas funds, nonce).
    return _body(503, {"error": "LedgerRefused", "message": f"the ledger refused: {exc}"})


async def _on_ledger_unreachable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("the ledger does not answer: %s", type(exc).__name__)
    return _body(503, {"error": "LedgerUnreachable", "message": "the ledger does not answer"})


def install_handlers(app: FastAPI) -> None:
    """Map validation errors, domain errors and ledger failures to HTTP (the one mapping)."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(NodeError, _on_node_error)
    app.add_exception_handler(TimeExhausted, _on_ledger_timeout)
    app.add_exception_handler(Web3RPCError, _on_ledger_refusal)
    app.add_exception_handler(requests.ConnectionError, _on_ledger_unreachable)
