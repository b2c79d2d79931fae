"""Replaying a measured CSV as a meter: sign each row with the meter's key and post the
readings to a node's ``POST /v1/readings`` in batches, paced at a chosen speed.

The CSV (docs/meters.md): a header naming at least ``interval_start_ts,duration_s,import_wh,
export_wh`` (other columns are ignored), then one row per metering interval, in time order,
without overlap: the interval's start [unix s], its length [s], and the energy imported into
and exported from the microgrid over it [Wh], all non-negative integers.

The replay asks the node where the meter stands (``GET /v1/meters/{meter}``) and resumes
there: rows that start before the meter's last accepted interval ended are skipped, and the
first row posted takes the next sequence number. ``speed`` is simulated seconds per wall
second (60: a minute of data per second; 0: as fast as the node takes them).
"""

from __future__ import annotations

import csv
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account

from gridledger.contracts.typed import MeterReading, SignedReading, domain_separator, sign_reading
from gridledger.node.errors import ConfigError, NodeError
from gridledger.node.keys.roles import read_key
from gridledger.node.meters.relay import MAX_BATCH
from gridledger.sim.federation.readings import signed_reading_json

CSV_COLUMNS = ("interval_start_ts", "duration_s", "import_wh", "export_wh")
WAIT_S = 30.0
HTTP_TIMEOUT_S = 60.0


class MeterReplayError(NodeError):
    """The CSV, the key or the node refused the replay (the message says which and why)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One metered interval: [interval_start_ts, +duration_s) [unix s], energies [Wh]."""

    interval_start_ts: int
    duration_s: int
    import_wh: int
    export_wh: int

    @property
    def end_ts(self) -> int:
        return self.interval_start_ts + self.duration_s


def read_csv(path: Path) -> list[Row]:
    """The rows of a meter CSV; MeterReplayError names the line of the first bad one."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise MeterReplayError(f"{path}: the header lacks {', '.join(missing)}")
            rows = [_row(path, reader.line_num, raw) for raw in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MeterReplayError(f"{path}: {exc}") from None
    for before, after in itertools.pairwise(rows):
        if after.interval_start_ts < before.end_ts:
            raise MeterReplayError(
                f"{path}: the interval starting {after.interval_start_ts} overlaps the one "
                f"before it, which ends at {before.end_ts} (rows must be in time order)"
            )
    if not rows:
        raise MeterReplayError(f"{path} holds no rows")
    return rows


def _row(path: Path, line: int, raw: dict[str, Any]) -> Row:
    values = []
    for column in CSV_COLUMNS:
        text = (raw.get(column) or "").strip()
        if not text.isdigit():
            raise MeterReplayError(
                f"{path}, line {line}: {column} must be a non-negative integer, got {text!r}"
            )
        values.append(int(text))
    if values[1] == 0:
        raise MeterReplayError(f"{path}, line {line}: duration_s must be > 0")
    return Row(*values)


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow((r.interval_start_ts, r.duration_s, r.import_wh, r.export_wh))


def load_meter_key(path: Path) -> bytes:
    """The meter's private key from its encrypted keystore file (GRIDLEDGER_PASSPHRASE)."""
    try:
        return bytes(read_key(path).key)
    except FileNotFoundError:
        raise MeterReplayError(f"no keystore file {path}") from None
    except ConfigError as exc:
        raise MeterReplayError(str(exc)) from None


class NodeClient:
    """The REST calls a meter makes to one node."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}

    def _json(self, method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        try:
            reply = requests.request(method, self.url + path, timeout=HTTP_TIMEOUT_S, **kw)
            body = reply.json()
        except (requests.RequestException, ValueError) as exc:
            raise MeterReplayError(f"the node at {self.url} does not answer: {exc}") from None
        if not isinstance(body, dict):
            raise MeterReplayError(f"{self.url}{path} answered {body!r}")
        return reply.status_code, body

    def active(self, participant: str) -> bool:
        """Whether the node's replica sees `participant` admitted (GET /v1/balances)."""
        status, body = self._json("GET", f"/v1/balances/{participant}")
        if status != 200:
            raise MeterReplayError(f"GET /v1/balances/{participant}: {status} {body}")
        return bool(body.get("active"))

    def separator(self) -> bytes:
        """The EIP-712 domain separator of the node's Metering contract."""
        _, addresses = self._json("GET", "/v1/contracts/addresses")
        _, chain = self._json(
            "POST", "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
        )
        if "Metering" not in addresses or "result" not in chain:
            raise MeterReplayError(f"the node at {self.url} has no Metering contract yet")
        return domain_separator(int(chain["result"], 16), addresses["Metering"])

    def meter(self, meter: str) -> dict[str, Any]:
        status, body = self._json("GET", f"/v1/meters/{meter}")
        if status != 200:
            raise MeterReplayError(f"GET /v1/meters/{meter}: {status} {body}")
        return body

    def post(self, readings: list[SignedReading], wait_s: float) -> dict[str, Any]:
        status, body = self._json(
            "POST",
            "/v1/readings",
            params={"wait": wait_s},
            json={"readings": [signed_reading_json(s) for s in readings]},
            headers=self._headers,
        )
        if status != 202:
            raise MeterReplayError(
                f"the node refused the batch: {status} {body.get('error')}: {body.get('message')}"
            )
        return body


@dataclass
class ReplayOutcome:
    posted: int = 0
    skipped: int = 0
    accepted: int = 0
    first_seq: int = 0
    last_seq: int = 0


def replay(
    rows: list[Row],
    meter_key: bytes,
    participant: str,
    node: NodeClient,
    speed: float,
    batch: int = 60,
    progress: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReplayOutcome:
    """Sign and post `rows` as the meter of `participant`, `batch` readings per request,
    paced at `speed` simulated seconds per wall second (0: unpaced)."""
    if not 1 <= batch <= MAX_BATCH:
        raise MeterReplayError(f"--batch must be 1..{MAX_BATCH}, got {batch}")
    if speed < 0:
        raise MeterReplayError(f"--speed must be >= 0, got {speed}")
    meter = Account.from_key(meter_key).address
    separator = node.separator()
    state = node.meter(meter)
    todo = [r for r in rows if r.interval_start_ts >= state["next_start_min_ts"]]
    out = ReplayOutcome(skipped=len(rows) - len(todo), first_seq=int(state["next_seq"]))
    if out.skipped:
        progress(f"skipping {out.skipped} rows the chain holds already (meter {meter})")
    seq = out.first_seq
    origin_ts = todo[0].interval_start_ts if todo else 0
    started = clock()
    k = 0
    while k < len(todo):
        due = [
            r
            for r in todo[k : k + batch]
            if speed == 0 or (r.end_ts - origin_ts) / speed <= clock() - started
        ]
        if not due:
            sleep(max(0.0, (todo[k].end_ts - origin_ts) / speed - (clock() - started)))
            continue
        signed = []
        for r in due:
            reading = MeterReading(
                meter, participant, r.interval_start_ts, r.duration_s, r.import_wh, r.export_wh, seq
            )
            signed.append(SignedReading(reading, sign_reading(reading, meter_key, separator)))
            seq += 1
        answer = node.post(signed, WAIT_S)
        fates = [f["fate"] for f in answer["readings"]]
        out.posted += len(signed)
        out.accepted += fates.count("accepted")
        k += len(due)
        progress(
            f"{k}/{len(todo)} rows: seq {signed[0].reading.seq}..{signed[-1].reading.seq} "
            f"to {due[-1].end_ts}: {fates.count('accepted')} accepted, "
            f"{len(fates) - fates.count('accepted')} pending"
        )
    out.last_seq = seq - 1
    return out
