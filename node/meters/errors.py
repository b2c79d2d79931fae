"""The meter intake's refusals (members of the node's exception tree, mapped to HTTP in
node/rest/errors.py)."""

from __future__ import annotations

from pathlib import Path

from gridledger.node.errors import NodeError
from gridledger.node.meters.fates import Fate


class MeterIntakeError(NodeError):
    """A request to the meter intake was refused; nothing was stored."""


class ReadingsRefusedError(MeterIntakeError):
    """At least one reading of a request was refused, so none was queued (a request is taken
    whole or not at all). `fates` holds every reading's fate in request order; the first
    refusal's error name, message and HTTP status stand for the request."""

    def __init__(self, fates: list[Fate]) -> None:
        self.fates = fates
        first = next(f for f in fates if f.refusal is not None and f.refusal.cause)
        assert first.refusal is not None
        self.first = first.refusal
        self.status = first.refusal.status
        super().__init__(f"reading {first.index} refused: {first.refusal.message}")


class ReadingUnknownError(MeterIntakeError):
    """The node never queued that reading and the chain does not hold it."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ReadingQueueStorageError(MeterIntakeError):
    """The node's queue file (DATA_DIR/meters/queue.sqlite, node/meters/queue_store.py)
    could not be opened, read or written. Raised by a request: none of its readings was
    queued. `path` is the file, `action` what failed ("opened", "read", "written")."""

    def __init__(self, path: Path, action: str, cause: str) -> None:
        self.path = path
        self.action = action
        self.message = f"the meter reading queue {path} cannot be {action}: {cause}"
        super().__init__(self.message)
