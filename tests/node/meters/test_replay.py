"""The CSV replay's parts without a node: the CSV's rules, the meter's keystore, and the
pacing, resumption and sequence numbering against a recording stand-in for the node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from gridledger.contracts.typed import SignedReading, recover_meter
from gridledger.node.cli import main
from gridledger.node.keys import PASSPHRASE_ENV, load_or_create_key
from gridledger.node.launch import free_port
from gridledger.node.meters.replay import (
    MeterReplayError,
    NodeClient,
    Row,
    load_meter_key,
    read_csv,
    replay,
    write_csv,
)

HEADER = "interval_start_ts,duration_s,import_wh,export_wh"
SEPARATOR = b"\x11" * 32


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meter.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_csv_round_trips_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    rows = [Row(1000, 60, 5, 0), Row(1060, 60, 0, 7), Row(1200, 30, 1, 1)]
    write_csv(rows, tmp_path / "a.csv")
    assert read_csv(tmp_path / "a.csv") == rows
    path = _csv(tmp_path, f"note,{HEADER}\nx,1000,60,5,0\n")
    assert read_csv(path) == [Row(1000, 60, 5, 0)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("interval_start_ts,duration_s,import_wh\n1,60,1\n", "the header lacks export_wh"),
        (f"{HEADER}\n1000,60,5.5,0\n", "line 2: import_wh must be a non-negative integer"),
        (f"{HEADER}\n1000,60,-5,0\n", "line 2: import_wh must be a non-negative integer"),
        (f"{HEADER}\n1000,60,5,0\n1000,60,,0\n", "line 3: import_wh"),
        (f"{HEADER}\n1000,0,5,0\n", "line 2: duration_s must be > 0"),
        (f"{HEADER}\n1000,60,5,0\n1030,60,5,0\n", "overlaps the one before it, which ends at 1060"),
        (f"{HEADER}\n", "holds no rows"),
    ],
)
def test_a_bad_csv_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MeterReplayError, match=message):
        read_csv(_csv(tmp_path, text))


def test_the_meter_key_comes_from_its_encrypted_keystore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "meter-pass")
    account = load_or_create_key(tmp_path / "m.json")
    assert load_meter_key(tmp_path / "m.json") == bytes(account.key)
    monkeypatch.setenv(PASSPHRASE_ENV, "other")
    with pytest.raises(MeterReplayError, match="wrong GRIDLEDGER_PASSPHRASE"):
        load_meter_key(tmp_path / "m.json")
    with pytest.raises(MeterReplayError, match="no keystore file"):
        load_meter_key(tmp_path / "missing.json")


class FakeNode(NodeClient):
    """Records the batches and the (fake) time each was posted at."""

    def __init__(self, next_seq: int, next_start_min_ts: int, clock: list[float]) -> None:
        super().__init__("http://node", "key")
        self.state = {"next_seq": next_seq, "next_start_min_ts": next_start_min_ts}
        self.clock = clock
        self.posts: list[tuple[float, list[SignedReading]]] = []

    def separator(self) -> bytes:
        return SEPARATOR

    def meter(self, meter: str) -> dict[str, Any]:
        return dict(self.state, meter=meter)

    def post(self, readings: list[SignedReading], wait_s: float) -> dict[str, Any]:
        self.posts.append((self.clock[0], readings))
        return {"readings": [{"fate": "accepted"} for _ in readings]}


def test_a_paced_replay_posts_each_reading_once_its_interval_ended_at_that_speed() -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        assert seconds > 0
        clock[0] += seconds

    rows = [Row(10_000 + 60 * k, 60, k, 0) for k in range(12)]
    node = FakeNode(1, 0, clock)
    key = bytes(Account.create().key)
    lines: list[str] = []
    out = replay(
        rows,
        key,
        "0x" + "22" * 20,
        node,
        speed=120,
        batch=4,
        progress=lines.append,
        sleep=sleep,
        clock=lambda: clock[0],
    )
    assert (out.posted, out.accepted, out.first_seq, out.last_seq) == (12, 12, 1, 12)
    for at, batch in node.posts:
        for signed in batch:  # never before its end, at 120 simulated s per wall s
            end = signed.reading.interval_start_ts + 60
            assert (end - 10_000) / 120 <= at + 1e-9
    assert clock[0] == pytest.approx(12 * 60 / 120)
    meter = Account.from_key(key).address
    sent = [s for _, batch in node.posts for s in batch]
    assert [s.reading.seq for s in sent] == list(range(1, 13))
    assert all(recover_meter(s.reading, s.signature, SEPARATOR) == meter for s in sent)
    assert len(lines) == len(node.posts)


def test_a_replay_resumes_after_what_the_chain_holds() -> None:
    clock = [0.0]
    rows = [Row(10_000 + 60 * k, 60, k, 0) for k in range(10)]
    node = FakeNode(8, 10_000 + 7 * 60, clock)  # the chain holds 7 readings
    out = replay(
        rows,
        bytes(Account.create().key),
        "0x" + "22" * 20,
        node,
        speed=0,
        batch=2,
        progress=lambda _: None,
    )
    assert (out.skipped, out.posted) == (7, 3)
    sent = [s for _, batch in node.posts for s in batch]
    assert [(s.reading.seq, s.reading.import_wh) for s in sent] == [(8, 7), (9, 8), (10, 9)]
    assert [len(batch) for _, batch in node.posts] == [2, 1]


@pytest.mark.parametrize(("speed", "batch", "message"), [(-1, 10, "--speed"), (0, 129, "--batch")])
def test_replay_arguments_are_checked(speed: float, batch: int, message: str) -> None:
    node = FakeNode(1, 0, [0.0])
    with pytest.raises(MeterReplayError, match=message):
        replay(
            [Row(0, 60, 1, 0)],
            bytes(Account.create().key),
            "0x" + "22" * 20,
            node,
            speed=speed,
            batch=batch,
        )
    assert node.posts == []


def test_the_cli_says_what_is_missing_with_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "meter-pass")
    monkeypatch.delenv("GRIDLEDGER_API_KEY", raising=False)
    write_csv([Row(1000, 60, 1, 0)], tmp_path / "m.csv")
    assert main(["meter", "key", str(tmp_path / "k.json")]) == 0
    address = capsys.readouterr().out.strip()
    assert address == load_or_create_key(tmp_path / "k.json").address
    node = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    argv = [
        "meter",
        "replay",
        str(tmp_path / "m.csv"),
        "--node",
        node,
        "--key",
        str(tmp_path / "k.json"),
        "--participant",
        "0x" + "22" * 20,
    ]
    assert main(argv) == 2
    assert "GRIDLEDGER_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("GRIDLEDGER_API_KEY", "k")
    assert main([*argv[:-1], "0x22"]) == 2
    assert "is not an address" in capsys.readouterr().err
    assert main(argv) == 1
    assert "does not answer" in capsys.readouterr().err
