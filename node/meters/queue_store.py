"""The durable side of the meter intake's queue: the readings a node told a meter it queued,
in a SQLite file (DATA_DIR/meters/queue.sqlite), until the chain accepted them or the node
dropped them.

A reading is written before ``POST /v1/readings`` answers ``queued`` and removed once its
fate is final, so a node killed at any instant (SIGKILL, power cut) reopens with every
reading it took and not yet saw on chain. WAL with ``synchronous=FULL``: a committed write
is on disk before the request is answered. Rows are keyed by (meter, seq) and hold the
meter's signed reading as JSON (the bus's format: ``sim.federation.readings``, exact for any
uint64) and its position in the request that posted it; `load` gives them back in the order
they were queued. The file is opened on first use and again after a failure, so a node whose
file was repaired takes readings without a restart. Every failure raises
ReadingQueueStorageError.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from gridledger.contracts.typed import SignedReading
from gridledger.node.meters.errors import ReadingQueueStorageError
from gridledger.sim.errors import ProtocolError
from gridledger.sim.federation.readings import parse_signed_reading, signed_reading_json

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 5.0
"""How long a write waits for another connection's lock before it fails [s]."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queued (
    meter TEXT NOT NULL,
    seq INTEGER NOT NULL,
    position INTEGER NOT NULL,
    request_index INTEGER NOT NULL,
    reading TEXT NOT NULL,
    PRIMARY KEY (meter, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queued_position ON queued (position);
"""
# seq fits SQLite's signed 64-bit INTEGER: a queued reading's seq is the meter's last on
# chain plus the few the node holds, never near 2^63.


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A queued reading as stored: the meter's signed reading and its index in the request
    that posted it."""

    signed: SignedReading
    index: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.signed.reading.meter, self.signed.reading.seq)


class QueueStore:
    """The queued readings in the SQLite file `path` (created with its directory)."""

    def __init__(self, path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def put(self, readings: Sequence[StoredReading]) -> None:
        """Store `readings` after those stored before, in one transaction (all or none);
        a reading with the key of a stored one replaces it."""
        with self._transaction("written") as conn:
            row = conn.execute("SELECT COALESCE(MAX(position), 0) FROM queued").fetchone()
            first = int(row[0]) + 1
            conn.executemany(
                "INSERT OR REPLACE INTO queued (meter, seq, position, request_index, reading)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (*held.key, first + k, held.index, json.dumps(signed_reading_json(held.signed)))
                    for k, held in enumerate(readings)
                ],
            )

    def remove(self, keys: Iterable[tuple[str, int]]) -> None:
        """Forget the readings of `keys` (meter, seq), in one transaction; unknown keys are
        ignored."""
        with self._transaction("written") as conn:
            conn.executemany("DELETE FROM queued WHERE meter = ? AND seq = ?", list(keys))

    def load(self) -> list[StoredReading]:
        """Every stored reading, in the order it was queued."""
        with self._transaction("read") as conn:
            rows = conn.execute(
                "SELECT meter, seq, request_index, reading FROM queued ORDER BY position"
            ).fetchall()
        return [self._decoded(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------ internals
    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """The open connection inside one transaction (BEGIN IMMEDIATE for a write, rolled
        back on error); a failure closes the connection (the next call reopens the file)."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE" if action == "written" else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._drop_connection()
                raise ReadingQueueStorageError(self.path, action, _cause(exc)) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=self.busy_timeout_s,
            )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"journal mode {mode!r}, not WAL")
            conn.execute("PRAGMA synchronous=FULL")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(
                    f"schema version {version}; this node reads version {SCHEMA_VERSION}"
                )
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            raise ReadingQueueStorageError(self.path, "opened", _cause(exc)) from exc
        self._conn = conn
        return conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with suppress(sqlite3.Error):  # closing a broken connection may fail too
                self._conn.close()
            self._conn = None

    def _decoded(self, meter: str, seq: int, index: int, text: str) -> StoredReading:
        try:
            signed = parse_signed_reading(json.loads(text), f"stored reading {seq} of {meter}")
        except (ValueError, ProtocolError) as exc:
            raise ReadingQueueStorageError(self.path, "read", str(exc)) from exc
        if (signed.reading.meter, signed.reading.seq) != (meter, seq):
            raise ReadingQueueStorageError(
                self.path,
                "read",
                f"the row of {meter} seq {seq} holds reading {signed.reading.seq} of "
                f"{signed.reading.meter}",
            )
        return StoredReading(signed, int(index))


def _cause(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
