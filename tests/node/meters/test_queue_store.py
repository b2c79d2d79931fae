"""The meter intake's queue on disk (node/meters/queue_store.py): what goes in comes back in
queue order, also after a reopen; a corrupted, misplaced or locked file raises
ReadingQueueStorageError naming the file and the failure; and on a node, a reading is on disk
while it is queued, leaves it once accepted, and a queue the node cannot write refuses
POST /v1/readings with 503 ReadingQueueUnavailable, queuing nothing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.contracts.typed import SignedReading, domain_separator
from gridledger.node.meters.errors import MeterIntakeError, ReadingQueueStorageError
from gridledger.node.meters.queue_store import QueueStore, StoredReading
from tests.node.meters.helpers import body, separator_of, sign
from tests.node.rest.inprocess import InProcessNode

METER: LocalAccount = Account.from_key(b"\x21" * 32)
PARTICIPANT = Account.from_key(b"\x22" * 32).address
SEPARATOR = domain_separator(31_337, "0x" + "42" * 20)


def _readings(seqs: range, start_ts: int = 1_796_000_000) -> list[StoredReading]:
    signed = sign(METER, PARTICIPANT, SEPARATOR, start_ts, seqs)
    return [StoredReading(s, index=k) for k, s in enumerate(signed)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[QueueStore]:
    store = QueueStore(tmp_path / "meters" / "queue.sqlite")
    yield store
    store.close()


def test_put_load_and_remove_keep_the_queue_order(store: QueueStore) -> None:
    assert store.load() == []
    first, second = _readings(range(1, 4)), _readings(range(4, 6), 1_796_000_180)
    store.put(first)
    store.put(second)
    assert store.load() == first + second
    store.remove([(METER.address, 2), (METER.address, 5), (METER.address, 99)])
    assert store.load() == [first[0], first[2], second[0]]
    # uint64 fields beyond SQLite's signed 64 bits come back exact
    (big,) = sign(METER, PARTICIPANT, SEPARATOR, 2**64 - 61, range(6, 7), import_wh=2**64 - 1)
    store.put([StoredReading(big, index=0)])
    assert store.load()[-1].signed == big
    assert store.path.is_file()


def test_a_reading_stored_again_replaces_the_old_one_at_the_end(store: QueueStore) -> None:
    readings = _readings(range(1, 4))
    store.put(readings)
    (again,) = sign(METER, PARTICIPANT, SEPARATOR, 1_796_001_000, range(1, 2))
    store.put([StoredReading(again, index=7)])
    assert store.load() == [readings[1], readings[2], StoredReading(again, index=7)]


def test_a_reopened_store_holds_what_was_written_before_the_close(tmp_path: Path) -> None:
    path = tmp_path / "meters" / "queue.sqlite"
    readings = _readings(range(1, 6))
    store = QueueStore(path)
    store.put(readings)
    store.remove([(METER.address, 1)])
    store.close()
    again = QueueStore(path)
    assert again.load() == readings[1:]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    again.close()


def test_a_corrupted_file_raises_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    path.write_bytes(b"not a database, " * 512)
    store = QueueStore(path)
    for operation in (store.load, lambda: store.put(_readings(range(1, 2)))):
        with pytest.raises(ReadingQueueStorageError) as caught:
            operation()
        assert caught.value.path == path and caught.value.action == "opened"
        assert str(caught.value) == (
            f"the meter reading queue {path} cannot be opened: "
            "DatabaseError: file is not a database"
        )
    assert isinstance(caught.value, MeterIntakeError)
    path.unlink()  # repaired: the store opens the file again on its next use
    store.put(_readings(range(1, 2)))
    assert len(store.load()) == 1
    store.close()


def test_a_path_that_cannot_hold_the_file_raises_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "meters").write_text("a file where the directory belongs", encoding="utf-8")
    store = QueueStore(tmp_path / "meters" / "queue.sqlite")
    with pytest.raises(ReadingQueueStorageError) as caught:
        store.put(_readings(range(1, 2)))
    assert caught.value.action == "opened"
    assert str(caught.value).startswith(
        f"the meter reading queue {tmp_path / 'meters' / 'queue.sqlite'} cannot be opened: "
        "FileExistsError:"
    )


def test_a_file_locked_by_another_writer_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    store = QueueStore(path, busy_timeout_s=0.1)
    store.put(_readings(range(1, 2)))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    with pytest.raises(ReadingQueueStorageError) as caught:
        store.put(_readings(range(2, 4), 1_796_000_060))
    assert caught.value.action == "written"
    assert str(caught.value) == (
        f"the meter reading queue {path} cannot be written: OperationalError: database is locked"
    )
    other.execute("ROLLBACK")
    other.close()
    assert [r.key[1] for r in store.load()] == [1]  # the failed put left nothing
    store.close()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "Expecting property name enclosed in double quotes"),
        ('{"meter": 1}', "stored reading 1 of"),
    ],
)
def test_a_malformed_row_raises_a_storage_error(store: QueueStore, row: str, message: str) -> None:
    store.put(_readings(range(1, 2)))
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE queued SET reading = ?", (row,))
    with pytest.raises(ReadingQueueStorageError) as caught:
        store.load()
    assert caught.value.action == "read" and message in str(caught.value)


def test_a_row_under_another_key_raises_a_storage_error(store: QueueStore) -> None:
    store.put(_readings(range(1, 2)))
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE queued SET seq = 9")
    with pytest.raises(ReadingQueueStorageError) as caught:
        store.load()
    assert str(caught.value).endswith(
        f"the row of {METER.address} seq 9 holds reading 1 of {METER.address}"
    )


def test_a_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=7")
    with pytest.raises(ReadingQueueStorageError) as caught:
        QueueStore(path).load()
    assert str(caught.value).endswith(
        "cannot be opened: DatabaseError: schema version 7; this node reads version 1"
    )


# ---------------------------------------------------------------- on a node (REST)
QUEUE = Path("meters") / "queue.sqlite"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    node = InProcessNode(tmp_path_factory.mktemp("queue-rest") / "data")
    yield node
    node.stop()


@pytest.fixture
def broken_node(tmp_path: Path) -> Iterator[InProcessNode]:
    """A node whose queue file was corrupted before it started."""
    data_dir = tmp_path / "data"
    (data_dir / "meters").mkdir(parents=True)
    (data_dir / QUEUE).write_bytes(b"garbage " * 1024)
    node = InProcessNode(data_dir)
    yield node
    node.stop()


class _Meter:
    def __init__(self, node: InProcessNode) -> None:
        self.participant: LocalAccount = Account.create()
        self.key: LocalAccount = Account.create()
        node.admit(self.participant.address, self.key.address)
        self.separator = separator_of(node.w3, node.contract("Metering").address)

    def sign(self, start_ts: int, seqs: range) -> list[SignedReading]:
        return sign(self.key, self.participant.address, self.separator, start_ts, seqs)


def _post(node: InProcessNode, readings: list[SignedReading]) -> requests.Response:
    return requests.post(
        f"{node.url}/v1/readings", json=body(readings), headers=node.auth, timeout=90
    )


def _meter_state(node: InProcessNode, meter: _Meter) -> dict[str, Any]:
    state: dict[str, Any] = node.get(f"/v1/meters/{meter.key.address}").json()
    return state


def test_a_node_whose_queue_file_is_corrupted_answers_503_and_queues_nothing(
    broken_node: InProcessNode,
) -> None:
    node = broken_node
    meter = _Meter(node)
    head = node.head_ts()
    readings = meter.sign(head - head % 60 - 600, range(1, 3))
    before = _meter_state(node, meter)
    reply = _post(node, readings)
    assert reply.status_code == 503, reply.text
    assert reply.json() == {
        "error": "ReadingQueueUnavailable",
        "message": f"the meter reading queue {node.data_dir / QUEUE} cannot be opened: "
        "DatabaseError: file is not a database; no reading of the request was queued, "
        "send it again later",
    }
    assert _meter_state(node, meter) == before
    assert node.get("/healthz").json()["status"] == "ok"  # the rest of the node serves on

    (node.data_dir / QUEUE).unlink()  # the operator removes the broken file
    again = _post(node, readings)
    assert again.status_code == 202, again.text
    assert [f["fate"] for f in again.json()["readings"]] == ["queued"] * 2


def test_a_queued_reading_is_on_disk_until_the_chain_accepts_it(node: InProcessNode) -> None:
    meter = _Meter(node)
    head = node.head_ts()
    start = head - head % 60 + 60  # ends after the chain's clock: it waits in the queue
    readings = meter.sign(start, range(1, 3))
    assert _post(node, readings).status_code == 202
    disk = QueueStore(node.data_dir / QUEUE)
    held = [r for r in disk.load() if r.signed.reading.meter == meter.key.address]
    assert held == [StoredReading(s, index=k) for k, s in enumerate(readings)]
    node.jump_to(start + 120)
    deadline = time.monotonic() + 30  # accepted, as the node sees it: it holds none
    while _meter_state(node, meter)["pending"] and time.monotonic() < deadline:
        time.sleep(0.1)
    state = _meter_state(node, meter)
    assert (state["chain_last_seq"], state["pending"]) == (2, 0)
    assert [r for r in disk.load() if r.signed.reading.meter == meter.key.address] == []
    disk.close()


def test_a_queue_file_locked_at_runtime_answers_503_until_it_is_free(node: InProcessNode) -> None:
    """Another process holds the file's write lock: the node waits its busy timeout (5 s),
    answers 503 naming the lock, and takes the same request once the lock is gone."""
    meter = _Meter(node)
    head = node.head_ts()
    readings = meter.sign(head - head % 60 - 600, range(1, 2))
    before = _meter_state(node, meter)
    other = sqlite3.connect(node.data_dir / QUEUE, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        reply = _post(node, readings)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert reply.status_code == 503, reply.text
    assert reply.json() == {
        "error": "ReadingQueueUnavailable",
        "message": f"the meter reading queue {node.data_dir / QUEUE} cannot be written: "
        "OperationalError: database is locked; no reading of the request was queued, "
        "send it again later",
    }
    assert _meter_state(node, meter) == before
    assert _post(node, readings).status_code == 202
