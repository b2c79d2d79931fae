"""SQLite persistence of the embedded chain: py-evm's key-value state plus our own indexes.

Why SQLite: it ships with Python (no native wheel to build), its transactions are atomic and
durable across a killed process in WAL mode, and the same file holds the log index with real
SQL indexes, so log queries never scan the chain. py-evm's writes are buffered in memory and
committed together with the block's log rows and the removal of its transactions from the
pool, in one SQLite transaction: a node killed at any instant reopens at its last committed
block with every acknowledged (pooled) transaction still on disk.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth.db.backends.base import BaseDB

CACHE_ENTRIES = 500_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB UNIQUE NOT NULL, raw BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS logs (
    block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL, block_hash BLOB NOT NULL, address BLOB NOT NULL,
    topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB, data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_address ON logs (address, block_number);
CREATE INDEX IF NOT EXISTS logs_topic0 ON logs (topic0, block_number);
CREATE INDEX IF NOT EXISTS logs_topic1 ON logs (topic1, block_number);
CREATE INDEX IF NOT EXISTS logs_topic2 ON logs (topic2, block_number);
CREATE TABLE IF NOT EXISTS justifications (
    number INTEGER PRIMARY KEY, hash BLOB NOT NULL, data BLOB NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class LogRow:
    """One indexed log."""

    block_number: int
    log_index: int
    tx_index: int
    tx_hash: bytes
    block_hash: bytes
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


class ChainStore(BaseDB):
    """py-evm's key-value database on SQLite, buffered until `commit_block`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives the process being killed
        # (not necessarily a power cut), which is the failure this node must survive.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._pending: dict[bytes, bytes | None] = {}
        # Committed values read or written recently. Most keys are content-addressed trie
        # nodes (immutable), and every write goes through this object, so it never goes stale.
        self._cache: dict[bytes, bytes] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------ py-evm BaseDB
    def __getitem__(self, key: bytes) -> bytes:
        with self._lock:
            if key in self._pending:
                value = self._pending[key]
                if value is None:
                    raise KeyError(key)
                return value
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            value = bytes(row[0])
            self._remember(key, value)
            return value

    def _remember(self, key: bytes, value: bytes) -> None:
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()  # crude but O(1) amortised; the hot set refills quickly
        self._cache[key] = value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        with self._lock:
            self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        with self._lock:
            self._pending[key] = None

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    # ------------------------------------------------------------ commits
    def commit_block(
        self,
        logs: Sequence[LogRow] = (),
        mined_tx_hashes: Iterable[bytes] = (),
        meta: dict[str, str] | None = None,
        drop_logs_after: int | None = None,
        pooled: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        """Write every buffered state change, the block's logs, the pool removals, `pooled`
        (hash, raw) transactions returned to the pool by a rewind, and `meta` (and drop the
        index of logs after a rewound head) in one SQLite transaction."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                writes = [(k, v) for k, v in self._pending.items() if v is not None]
                deletes = [(k,) for k, v in self._pending.items() if v is None]
                cur.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", writes)
                cur.executemany("DELETE FROM kv WHERE key = ?", deletes)
                if drop_logs_after is not None:
                    cur.execute("DELETE FROM logs WHERE block_number > ?", (drop_logs_after,))
                cur.executemany(
                    "INSERT OR REPLACE INTO logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [_log_values(row) for row in logs],
                )
                cur.executemany("DELETE FROM pool WHERE hash = ?", [(h,) for h in mined_tx_hashes])
                cur.executemany("INSERT OR IGNORE INTO pool (hash, raw) VALUES (?, ?)", pooled)
                cur.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    list((meta or {}).items()),
                )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            for key, value in self._pending.items():
                if value is None:
                    self._cache.pop(key, None)
                else:
                    self._remember(key, value)
            self._pending.clear()

    def discard_pending(self) -> None:
        """Drop buffered state changes (a block that failed half-way)."""
        with self._lock:
            self._pending.clear()

    # ------------------------------------------------------------ pool
    def add_pool_tx(self, tx_hash: bytes, raw: bytes) -> None:
        """Persist an accepted transaction before it is acknowledged."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO pool (hash, raw) VALUES (?, ?)", (tx_hash, raw)
            )

    def pool_txs(self) -> list[bytes]:
        """Raw pooled transactions in arrival order."""
        with self._lock:
            rows = self._conn.execute("SELECT raw FROM pool ORDER BY seq").fetchall()
        return [bytes(r[0]) for r in rows]

    # ------------------------------------------------------------ meta and logs
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_meta(self, key: str, value: str) -> None:
        """Write one meta entry now (durable when this returns), outside any block."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )

    # ------------------------------------------------------------ justifications
    def put_justification(self, number: int, block_hash: bytes, data: bytes) -> None:
        """Store the justification (encoded votes) that made block `number` final."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO justifications (number, hash, data) VALUES (?, ?, ?)",
                (number, block_hash, data),
            )

    def justifications_down(self) -> list[tuple[int, bytes]]:
        """(number, hash) of every stored justification, highest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT number, hash FROM justifications ORDER BY number DESC"
            ).fetchall()
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def justification_covering(self, number: int) -> tuple[int, bytes, bytes] | None:
        """The lowest stored justification at or above block `number`: (number, hash, data)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT number, hash, data FROM justifications WHERE number >= ? "
                "ORDER BY number LIMIT 1",
                (number,),
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]), bytes(row[2]))

    def drop_justifications_after(self, number: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM justifications WHERE number > ?", (number,))

    def query_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes],
        topics: Sequence[Sequence[bytes] | None],
        limit: int,
    ) -> list[LogRow]:
        """Logs in [from_block, to_block] matching any of `addresses` (all if empty) and, per
        position, any of the given topics (None: any). Uses the indexes; at most `limit` + 1."""
        sql = ["SELECT * FROM logs WHERE block_number BETWEEN ? AND ?"]
        args: list[object] = [from_block, to_block]
        if addresses:
            sql.append(f"AND address IN ({','.join('?' * len(addresses))})")
            args.extend(addresses)
        for position, options in enumerate(topics[:4]):
            if options:
                sql.append(f"AND topic{position} IN ({','.join('?' * len(options))})")
                args.extend(options)
        sql.append("ORDER BY block_number, log_index LIMIT ?")
        args.append(limit + 1)
        with self._lock:
            rows = self._conn.execute(" ".join(sql), args).fetchall()
        return [_log_row(r) for r in rows]

    def logs_of_transaction(self, block_number: int, tx_index: int) -> list[LogRow]:
        """The logs of transaction `tx_index` of block `block_number`, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM logs WHERE block_number = ? AND tx_index = ? ORDER BY log_index",
                (block_number, tx_index),
            ).fetchall()
        return [_log_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _log_values(row: LogRow) -> tuple[object, ...]:
    topics = list(row.topics[:4]) + [None] * (4 - min(len(row.topics), 4))
    return (
        row.block_number,
        row.log_index,
        row.tx_index,
        row.tx_hash,
        row.block_hash,
        row.address,
        *topics,
        row.data,
    )


def _log_row(r: Sequence[Any]) -> LogRow:
    topics = tuple(bytes(t) for t in r[6:10] if t is not None)
    return LogRow(
        int(r[0]), int(r[1]), int(r[2]), bytes(r[3]), bytes(r[4]), bytes(r[5]), topics, bytes(r[10])
    )
