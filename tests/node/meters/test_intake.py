"""POST /v1/readings on a node in the test process: signed readings are checked (meter,
signature, contiguous sequence, interval) before anything is relayed, batched into Metering
transactions, and each one's fate answered; refusals are precise and store nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.contracts.typed import SECP256K1_N, MeterSignature, SignedReading
from gridledger.node.meters.fates import FateState
from gridledger.node.meters.intake import ReadingIntake
from gridledger.node.meters.relay import MeterRelay
from gridledger.node.views.chain import ChainView
from tests.node.meters.helpers import body, resigned, separator_of, sign
from tests.node.rest.inprocess import InProcessNode

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    node = InProcessNode(tmp_path_factory.mktemp("meters") / "data")
    yield node
    node.stop()


class Meter:
    """A participant admitted with a fresh meter on `node`."""

    def __init__(self, node: InProcessNode) -> None:
        self.node = node
        self.participant: LocalAccount = Account.create()
        self.key: LocalAccount = Account.create()
        node.admit(self.participant.address, self.key.address)
        self.separator = separator_of(node.w3, node.contract("Metering").address)

    def sign(self, start_ts: int, seqs: range, **kw: Any) -> list[SignedReading]:
        return sign(self.key, self.participant.address, self.separator, start_ts, seqs, **kw)

    def state(self) -> tuple[int, int]:
        last_seq, last_end = (
            self.node.contract("Metering").functions.meterState(self.key.address).call()
        )
        return int(last_seq), int(last_end)

    def past(self, minutes: int = 600) -> int:
        head = self.node.head_ts()
        return head - head % 60 - minutes * 60


def _post(node: InProcessNode, payload: object, wait_s: float = 0, **kw: Any) -> requests.Response:
    headers = kw.pop("headers", node.auth)
    params = {"wait": wait_s} if wait_s else {}
    return requests.post(
        f"{node.url}/v1/readings", json=payload, headers=headers, params=params, timeout=90
    )


def _nonce(node: InProcessNode) -> int:
    return int(node.w3.eth.get_transaction_count(node.address("prosumer"), "pending"))


def _refused(
    node: InProcessNode, meter: Meter, payload: object, status: int, error: str
) -> dict[str, Any]:
    """Post `payload`; assert the refusal and that nothing was stored or sent."""
    before = (_nonce(node), meter.state(), node.get(f"/v1/meters/{meter.key.address}").json())
    reply = _post(node, payload)
    assert reply.status_code == status, reply.text
    answer: dict[str, Any] = reply.json()
    assert answer["error"] == error, answer
    after = (_nonce(node), meter.state(), node.get(f"/v1/meters/{meter.key.address}").json())
    assert after == before
    return answer


def test_signed_readings_are_relayed_and_each_answers_its_fate(node: InProcessNode) -> None:
    meter = Meter(node)
    start = meter.past()
    readings = meter.sign(start, range(1, 6))
    reply = _post(node, body(readings), wait_s=30)
    assert reply.status_code == 202, reply.text
    answer = reply.json()
    assert [f["fate"] for f in answer["readings"]] == ["accepted"] * 5
    assert [f["seq"] for f in answer["readings"]] == [1, 2, 3, 4, 5]
    assert answer["next_seq"] == {meter.key.address: 6}
    (tx_hash,) = {f["tx_hash"] for f in answer["readings"]}  # one Metering batch
    receipt = node.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["from"] == node.address("prosumer") and receipt["status"] == 1
    assert meter.state() == (5, start + 5 * 60)

    state = node.get(f"/v1/meters/{meter.key.address}").json()
    assert state == {
        "meter": meter.key.address,
        "chain_last_seq": 5,
        "chain_last_end_ts": start + 300,
        "pending": 0,
        "next_seq": 6,
        "next_start_min_ts": start + 300,
    }
    fate = node.get(f"/v1/meters/{meter.key.address.lower()}/readings/3").json()
    assert fate["fate"] == "accepted" and fate["tx_hash"] == tx_hash
    assert fate["block_number"] == receipt["blockNumber"]
    events = node.get("/v1/readings", participant=meter.participant.address).json()
    assert [e["seq"] for e in events["readings"]] == [1, 2, 3, 4, 5]
    unknown = node.get(f"/v1/meters/{meter.key.address}/readings/9")
    assert unknown.status_code == 404 and unknown.json()["error"] == "ReadingUnknown"
    assert "next reading is 6" in unknown.json()["message"]


def test_readings_waiting_for_the_chains_clock_count_for_the_sequence(
    node: InProcessNode,
) -> None:
    """Readings ending after the head wait in the queue; the next request continues from
    them (contiguous with what the chain holds plus what is queued)."""
    meter = Meter(node)
    head = node.head_ts()
    start = head - head % 60 + 60  # ends two minutes ahead of the chain's clock
    first = _post(node, body(meter.sign(start, range(1, 2))))
    assert first.status_code == 202 and first.json()["readings"][0]["fate"] == "queued"
    later = meter.sign(start + 60, range(2, 4))
    second = _post(node, body(later))
    assert second.status_code == 202, second.text
    assert second.json()["next_seq"] == {meter.key.address: 4}
    state = node.get(f"/v1/meters/{meter.key.address}").json()
    assert (state["chain_last_seq"], state["pending"], state["next_seq"]) == (0, 3, 4)
    assert node.get(f"/v1/meters/{meter.key.address}/readings/2").json()["fate"] == "queued"
    # the same seq again is a replay of the queued one, not of anything on chain
    replay = _refused(node, meter, body(later[:1]), 409, "MeteringSequenceReplayed")
    assert replay["readings"][0]["refusal"]["args"]["lastSeq"] == 3

    node.jump_to(start + 4 * 60)
    waited = _post(node, body(meter.sign(start + 180, range(4, 5))), wait_s=30)
    assert waited.json()["readings"][0]["fate"] == "accepted"
    assert meter.state() == (4, start + 240)


def test_a_bad_signature_refuses_the_whole_request(node: InProcessNode) -> None:
    meter = Meter(node)
    readings = meter.sign(meter.past(), range(1, 4))
    forger: LocalAccount = Account.create()
    readings[1] = resigned(readings[1], forger, meter.separator)
    answer = _refused(node, meter, body(readings), 422, "MeteringSignatureInvalid")
    fates = answer["readings"]
    assert [f["fate"] for f in fates] == ["refused"] * 3
    assert fates[1]["refusal"]["args"] == {
        "index": 1,
        "expected": meter.key.address,
        "recovered": forger.address,
    }
    assert [fates[0]["refusal"]["error"], fates[2]["refusal"]["error"]] == ["NotQueued"] * 2
    # signed for another domain (chain id): recovers to a stranger as well
    other = sign(
        meter.key,
        meter.participant.address,
        separator_of(node.w3, forger.address),
        meter.past(),
        range(1, 2),
    )
    _refused(node, meter, body(other), 422, "MeteringSignatureInvalid")


def test_a_high_s_signature_is_refused(node: InProcessNode) -> None:
    meter = Meter(node)
    (good,) = meter.sign(meter.past(), range(1, 2))
    s = SECP256K1_N - int.from_bytes(good.signature.s, "big")
    flipped = MeterSignature(55 - good.signature.v, good.signature.r, s.to_bytes(32, "big"))
    answer = _refused(
        node, meter, body([SignedReading(good.reading, flipped)]), 422, "MeteringSignatureHighS"
    )
    assert answer["readings"][0]["refusal"]["args"]["s"] == "0x" + s.to_bytes(32, "big").hex()


def test_an_unknown_meter_is_refused(node: InProcessNode) -> None:
    meter = Meter(node)
    stranger: LocalAccount = Account.create()
    readings = sign(stranger, meter.participant.address, meter.separator, meter.past(), range(1, 2))
    answer = _refused(node, meter, body(readings), 403, "MeteringUnregisteredMeter")
    assert answer["readings"][0]["refusal"]["args"] == {
        "index": 0,
        "participant": meter.participant.address,
        "meter": stranger.address,
        "registered": meter.key.address,
    }


def test_a_gap_a_replay_an_overlap_and_a_future_interval_are_refused(
    node: InProcessNode,
) -> None:
    meter = Meter(node)
    start = meter.past()
    assert _post(node, body(meter.sign(start, range(1, 3))), wait_s=30).status_code == 202
    gap = _refused(
        node, meter, body(meter.sign(start + 120, range(4, 5))), 409, "MeteringSequenceGap"
    )
    assert gap["readings"][0]["refusal"]["args"] == {
        "index": 0,
        "meter": meter.key.address,
        "seq": 4,
        "expectedSeq": 3,
    }
    replay = _refused(
        node, meter, body(meter.sign(start, range(2, 3))), 409, "MeteringSequenceReplayed"
    )
    assert replay["readings"][0]["refusal"]["args"]["lastSeq"] == 2
    overlap = _refused(
        node, meter, body(meter.sign(start + 60, range(3, 4))), 409, "MeteringIntervalOverlap"
    )
    assert overlap["readings"][0]["refusal"]["args"]["lastEndTs"] == start + 120
    future = node.head_ts() + 3600
    ahead = _refused(
        node, meter, body(meter.sign(future, range(3, 4))), 422, "MeteringIntervalInFuture"
    )
    assert ahead["readings"][0]["refusal"]["args"]["intervalEndTs"] == future + 60
    zero = _refused(
        node,
        meter,
        body(meter.sign(start + 120, range(3, 4), duration_s=0)),
        422,
        "MeteringZeroDuration",
    )
    assert zero["readings"][0]["index"] == 0


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("signature"), "readings.0.signature"),
        (lambda r: r.update(seq="3"), "readings.0.seq"),
        (lambda r: r.update(import_wh=2**64), "readings.0.import_wh"),
        (lambda r: r.update(meter="0x1234"), "readings.0.meter"),
        (lambda r: r.update(extra=1), "readings.0.extra"),
        (lambda r: r["signature"].update(v=29), "readings.0.signature.v"),
        (lambda r: r["signature"].update(r="0x12"), "readings.0.signature.r"),
    ],
)
def test_a_malformed_body_is_a_validation_error(
    node: InProcessNode, mutate: Any, field: str
) -> None:
    meter = Meter(node)
    payload = body(meter.sign(meter.past(), range(1, 2)))
    mutate(payload["readings"][0])
    answer = _refused(node, meter, payload, 422, "ValidationError")
    assert field in [f["field"] for f in answer["fields"]]


def test_batch_bounds_and_the_api_key(node: InProcessNode) -> None:
    meter = Meter(node)
    _refused(node, meter, {"readings": []}, 422, "ValidationError")
    many = body(meter.sign(meter.past(2000), range(1, 130)))  # 129 > Metering.MAX_BATCH
    assert len(many["readings"]) == 129
    assert len(json.dumps(many)) < 65_536  # under the body limit: the schema refuses it
    answer = _refused(node, meter, many, 422, "ValidationError")
    assert [f["field"] for f in answer["fields"]] == ["readings"]
    ok = body(meter.sign(meter.past(), range(1, 2)))
    reply = _post(node, ok, headers={"Authorization": "Bearer wrong"})
    assert reply.status_code == 401 and reply.json()["error"] == "Unauthorized"
    assert meter.state() == (0, 0)


def test_a_batch_the_chain_refuses_is_dropped_with_the_decoded_error(
    node: InProcessNode,
) -> None:
    """The meter's reading reached the chain by another relayer between this node's re-check
    and its send: the batch's preflight is refused, its readings are dropped with the
    reason, and the meter's next expected seq comes back from the chain."""
    intake = ReadingIntake(ChainView(node.service))
    relay = MeterRelay(intake)
    meter = Meter(node)
    readings = meter.sign(meter.past(), range(1, 4))
    intake.post(readings)
    batch = intake.take_batch(node.head_ts(), 128)
    assert intake.recheck(batch) == batch  # nothing on chain yet: all three to send
    direct = node.contract("Metering").functions.submitReadings(
        [s.reading.as_abi() for s in readings[:2]], [s.signature.as_abi() for s in readings[:2]]
    )
    node.send("admin", direct)
    relay._relay(batch)
    fate = intake.fate(meter.key.address, 1)
    assert fate.fate is FateState.DROPPED and fate.refusal is not None
    assert fate.refusal.error == "MeteringSequenceReplayed"
    assert fate.refusal.args == {"index": 0, "meter": meter.key.address, "seq": 1, "lastSeq": 2}
    assert intake.meter(meter.key.address).next_seq == 3
    retry = intake.post(readings[2:])
    assert retry.readings[0].fate is FateState.QUEUED
    assert relay.relay_once() == 1
    assert intake.fate(meter.key.address, 3).fate is FateState.ACCEPTED
    assert meter.state()[0] == 3


def test_readings_another_relayer_brought_on_chain_are_accepted_not_sent_again(
    node: InProcessNode,
) -> None:
    """The re-check before each send: readings whose seq the chain holds already leave the
    batch as accepted (no transaction of this node), and the meter's later readings go in
    the batch instead of being dropped with a MeteringSequenceReplayed refusal."""
    intake = ReadingIntake(ChainView(node.service))
    relay = MeterRelay(intake)
    meter = Meter(node)
    readings = meter.sign(meter.past(), range(1, 5))
    intake.post(readings)
    direct = node.contract("Metering").functions.submitReadings(
        [s.reading.as_abi() for s in readings[:2]], [s.signature.as_abi() for s in readings[:2]]
    )
    node.send("admin", direct)
    nonce = _nonce(node)
    assert relay.relay_once() == 4
    assert _nonce(node) == nonce + 1  # one batch: seq 3 and 4
    fates = [intake.fate(meter.key.address, seq) for seq in (1, 2, 3, 4)]
    assert [f.fate for f in fates] == [FateState.ACCEPTED] * 4
    assert [f.tx_hash for f in fates[:2]] == [None, None]
    assert fates[2].tx_hash is not None and fates[2].tx_hash == fates[3].tx_hash
    receipt = node.w3.eth.get_transaction_receipt(fates[2].tx_hash)
    assert receipt["from"] == node.address("prosumer") and receipt["status"] == 1
    assert meter.state() == (4, readings[3].reading.interval_start_ts + 60)
    assert intake.meter(meter.key.address).pending == 0


def test_a_ledger_failure_before_the_send_puts_the_batch_back_in_the_queue(
    node: InProcessNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = ReadingIntake(ChainView(node.service))
    relay = MeterRelay(intake)
    meter = Meter(node)
    intake.post(meter.sign(meter.past(), range(1, 4)))

    def unreachable(batch: object) -> list[object]:
        raise requests.ConnectionError("the ledger does not answer")

    monkeypatch.setattr(intake, "recheck", unreachable)
    with pytest.raises(requests.ConnectionError):
        relay.relay_once()
    assert intake.queued() == 3
    assert intake.fate(meter.key.address, 1).fate is FateState.QUEUED
    monkeypatch.undo()
    assert relay.relay_once() == 3
    assert [intake.fate(meter.key.address, k).fate for k in (1, 2, 3)] == [FateState.ACCEPTED] * 3
    assert meter.state()[0] == 3


def test_a_dropped_batch_drops_the_later_queued_readings_of_its_meters(
    node: InProcessNode,
) -> None:
    """Readings queued behind a dropped batch would leave a gap: they are dropped with it,
    as NotQueued naming the batch's first reading, and the queue is empty."""
    intake = ReadingIntake(ChainView(node.service))
    relay = MeterRelay(intake)
    meter = Meter(node)
    readings = meter.sign(meter.past(), range(1, 4))
    intake.post(readings)
    direct = node.contract("Metering").functions.submitReadings(
        [readings[0].reading.as_abi()], [readings[0].signature.as_abi()]
    )
    node.send("admin", direct)
    batch = intake.take_batch(node.head_ts(), 2)
    assert [e.key[1] for e in batch] == [1, 2] and intake.queued() == 1
    relay._relay(batch)
    assert intake.queued() == 0
    fates = [intake.fate(meter.key.address, seq) for seq in (2, 3)]
    assert [f.fate for f in fates] == [FateState.DROPPED] * 2
    assert fates[0].refusal is not None and fates[0].refusal.error == "MeteringSequenceReplayed"
    assert fates[1].refusal is not None and fates[1].refusal.error == "NotQueued"
    assert f"{meter.key.address} seq 1" in fates[1].refusal.message
    assert intake.meter(meter.key.address).next_seq == 2


def test_the_documented_example_signs_with_eth_account_and_posts(node: InProcessNode) -> None:
    meter = Meter(node)
    env = {
        **os.environ,
        "METER_KEY": "0x" + bytes(meter.key.key).hex(),
        "GRIDLEDGER_API_KEY": node.api_key,
    }
    script = ROOT / "docs" / "examples" / "post_readings.py"
    argv = [
        sys.executable,
        str(script),
        "--node",
        node.url,
        "--participant",
        meter.participant.address,
        "--count",
        "3",
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "HTTP 202"
    assert [line.split()[2] for line in done.stdout.splitlines()[1:]] == ["accepted"] * 3
    assert meter.state()[0] == 3
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    # Run within the same minute, the second run's readings end up to 3 min ahead of the
    # chain's clock: they wait in the queue until it passes their end.
    fates = [line.split()[2] for line in again.stdout.splitlines()[1:]]
    assert set(fates) <= {"accepted", "queued"} and len(fates) == 3
    node.jump_to(node.head_ts() + 240)
    deadline = time.monotonic() + 30
    while meter.state()[0] < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert meter.state()[0] == 6


def test_a_wrong_method_names_both_methods_of_the_readings_path(node: InProcessNode) -> None:
    reply = requests.delete(f"{node.url}/v1/readings", timeout=10)
    assert reply.status_code == 405 and reply.headers["Allow"] == "GET, POST"
    reply = requests.delete(f"{node.url}/v1/orders", timeout=10)
    assert reply.status_code == 405 and reply.headers["Allow"] == "POST"
