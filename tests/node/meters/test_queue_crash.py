"""A prosumer node's queued readings survive a crash.

Real node processes (`gridledger node run`, embedded chain): readings answered `queued` and
then SIGKILLed before the relay sent them reach the chain exactly once after the restart; a
batch sent before the kill and mined after the restart is not sent again (its resend would
be refused as MeteringSequenceReplayed), and the meter's later readings follow it. In the
test process, step by step: the relay waits for a batch still pending from before the
restart before it re-checks and sends, and the restart's re-check accepts what the chain
holds and drops, with the chain's error, what it would refuse."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.typed import SignedReading
from gridledger.node.keys import PASSPHRASE_ENV, load_role
from gridledger.node.keys.api_key import load_or_create_api_key
from gridledger.node.ledger.embedded.provider import BlockProducer
from gridledger.node.ledger.http import rpc_web3
from gridledger.node.ledger.reverts import decode_revert
from gridledger.node.meters.fates import FateState
from gridledger.node.meters.intake import ReadingIntake
from gridledger.node.meters.queue_store import QueueStore
from gridledger.node.meters.relay import MeterRelay
from gridledger.node.views.chain import ChainView
from tests.node.meters.helpers import body, separator_of, sign
from tests.node.nodeproc import PASSPHRASE, start_node, write_config
from tests.node.rest.inprocess import TX_GAS, InProcessNode
from tests.node.testnet.harness import wait_for
from tests.node.txs import signed_transfer

QUEUE = Path("meters") / "queue.sqlite"
SLOW_BLOCKS_S = 8.0
"""The block period of the life in which a batch is sent and the node killed before the
next block: the kill must land within it."""


class ProcessNode:
    """A node process in `data_dir` and what a test does with it over HTTP and JSON-RPC."""

    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        self.fast = write_config(tmp_path / "fast.toml", {}, block_period_s=0.05)
        self.slow = write_config(tmp_path / "slow.toml", {}, block_period_s=SLOW_BLOCKS_S)
        self.proc = start_node(self.data_dir, self.fast)
        self.operator = load_role(self.data_dir / "keystore", "operator")
        self.prosumer = load_role(self.data_dir / "keystore", "prosumer").address
        self.api_key = load_or_create_api_key(self.data_dir)

    def restart(self, config: Path, kill: bool = False) -> None:
        if kill:
            self.proc.kill()  # SIGKILL: no chance to clean up
        else:
            self.proc.stop()
        self.proc = start_node(self.data_dir, config, port=self.proc.port)

    @property
    def w3(self) -> Web3:
        return rpc_web3(f"{self.proc.url}/rpc", timeout_s=30)

    def contract(self, name: str) -> Contract:
        addresses = requests.get(f"{self.proc.url}/v1/contracts/addresses", timeout=10).json()
        return self.w3.eth.contract(address=addresses[name], abi=load_artifact(name).abi)

    def operator_sends(self, fn: Any = None) -> int:
        """A transaction from the operator (`fn`, or a transfer that just seals a block),
        once mined; its block's timestamp [unix s]."""
        w3 = self.w3
        nonce = w3.eth.get_transaction_count(self.operator.address, "pending")
        if fn is None:
            raw = signed_transfer(self.operator, nonce, value=0)
        else:
            tx = fn.build_transaction(
                {
                    "from": self.operator.address,
                    "nonce": nonce,
                    "gas": TX_GAS,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 1,
                    "chainId": w3.eth.chain_id,
                }
            )
            raw = self.operator.sign_transaction(tx).raw_transaction
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), 60)
        assert receipt["status"] == 1
        return int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])

    def head_ts(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def post(self, readings: list[SignedReading]) -> dict[str, Any]:
        reply = requests.post(
            f"{self.proc.url}/v1/readings",
            json=body(readings),
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=60,
        )
        assert reply.status_code == 202, reply.text
        answer: dict[str, Any] = reply.json()
        return answer

    def get(self, path: str) -> dict[str, Any]:
        reply = requests.get(f"{self.proc.url}{path}", timeout=10)
        assert reply.status_code == 200, reply.text
        answer: dict[str, Any] = reply.json()
        return answer


class Meter:
    """A participant admitted by the node's operator, and its meter's key."""

    def __init__(self, node: ProcessNode) -> None:
        self.participant: LocalAccount = Account.create()
        self.key: LocalAccount = Account.create()
        registry = node.contract("Registry").functions
        node.operator_sends(registry.admit(self.participant.address, self.key.address))
        self.separator = separator_of(node.w3, node.contract("Metering").address)

    def sign(self, start_ts: int, seqs: range, duration_s: int = 60) -> list[SignedReading]:
        return sign(
            self.key, self.participant.address, self.separator, start_ts, seqs, 100, duration_s
        )


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessNode]:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    node = ProcessNode(tmp_path)
    yield node
    node.proc.stop()


def _accepted_on_chain(node: ProcessNode, meter: Meter) -> list[tuple[int, str]]:
    """(seq, transaction hash) of every ReadingAccepted event of the meter's participant."""
    events = (
        node.contract("Metering")
        .events.ReadingAccepted()
        .get_logs(from_block=0, argument_filters={"participant": meter.participant.address})
    )
    return [(int(e["args"]["seq"]), "0x" + bytes(e["transactionHash"]).hex()) for e in events]


def _meter_state(node: ProcessNode, meter: Meter) -> tuple[int, int]:
    last_seq, last_end_ts = node.contract("Metering").functions.meterState(meter.key.address).call()
    return int(last_seq), int(last_end_ts)


def _settled(node: ProcessNode, meter: Meter) -> tuple[int, int]:
    """The node's view of the meter: the chain's last seq, and the readings it holds (its
    fates are final once it holds none)."""
    state = node.get(f"/v1/meters/{meter.key.address}")
    return int(state["chain_last_seq"]), int(state["pending"])


def test_readings_queued_before_a_sigkill_reach_the_chain_once_after_the_restart(
    node: ProcessNode,
) -> None:
    meter = Meter(node)
    # They end after the chain's clock (its head), before the wall clock: the relay waits for
    # a block past their end, and none comes before the kill (an idle embedded chain seals
    # none). The first block after the restart is stamped at least when the chain opened.
    start = node.head_ts() + 1
    readings = meter.sign(start, range(1, 4), duration_s=1)
    end = start + 3
    wait_for("the wall clock to pass the readings' end", lambda: time.time() > end + 1)
    answer = node.post(readings)
    assert [f["fate"] for f in answer["readings"]] == ["queued"] * 3
    assert node.get(f"/v1/meters/{meter.key.address}")["pending"] == 3
    node.proc.kill()

    disk = QueueStore(node.data_dir / QUEUE)
    assert [r.signed for r in disk.load()] == readings  # answered queued: on disk
    disk.close()
    node.restart(node.fast)
    assert node.get(f"/v1/meters/{meter.key.address}") == {
        "meter": meter.key.address,
        "chain_last_seq": 0,
        "chain_last_end_ts": 0,
        "pending": 3,
        "next_seq": 4,
        "next_start_min_ts": end,
    }
    assert node.get(f"/v1/meters/{meter.key.address}/readings/2")["fate"] == "queued"
    # the node goes on from its restored queue: seq 4, not the chain's next (1)
    more = node.post(meter.sign(end, range(4, 5), duration_s=1))
    assert more["next_seq"] == {meter.key.address: 5}

    assert node.operator_sends() >= end + 1  # a block past their end: the relay sends them
    wait_for("the node to see the readings accepted", lambda: _settled(node, meter) == (4, 0))
    assert _meter_state(node, meter) == (4, end + 1)
    on_chain = _accepted_on_chain(node, meter)
    assert [seq for seq, _ in on_chain] == [1, 2, 3, 4]  # each once
    (tx_hash,) = {h for _, h in on_chain}
    receipt = node.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["from"] == node.prosumer and receipt["status"] == 1
    fate = node.get(f"/v1/meters/{meter.key.address}/readings/1")
    assert (fate["fate"], fate["tx_hash"], fate["index"]) == ("accepted", tx_hash, 0)
    assert node.get(f"/v1/meters/{meter.key.address}")["pending"] == 0
    node.proc.stop()
    assert QueueStore(node.data_dir / QUEUE).load() == []


def test_a_batch_sent_before_the_kill_and_mined_after_the_restart_is_not_sent_again(
    node: ProcessNode,
) -> None:
    meter = Meter(node)
    start = node.head_ts() - 600
    readings = meter.sign(start, range(1, 6))
    node.restart(node.slow)  # a block at most every 8 s: the kill lands between two
    relayed_before = node.w3.eth.get_transaction_count(node.prosumer)
    node.operator_sends()  # the block that starts the 8 s
    node.post(readings[:3])
    wait_for(
        "the relay to send the batch",
        lambda: node.get(f"/v1/meters/{meter.key.address}/readings/1")["fate"] != "queued",
        timeout_s=SLOW_BLOCKS_S,
    )
    sent = node.get(f"/v1/meters/{meter.key.address}/readings/1")
    node.post(readings[3:])  # queued behind the batch in flight
    in_flight = node.get(f"/v1/meters/{meter.key.address}/readings/3")
    node.proc.kill()
    killed_ts = time.time()
    assert sent["fate"] == "sent" and in_flight["fate"] == "sent", (sent, in_flight)

    node.restart(node.fast)  # the pooled batch is mined now, then the rest is relayed
    wait_for("the node to see seq 5 accepted", lambda: _settled(node, meter) == (5, 0))
    assert _meter_state(node, meter) == (5, start + 300)
    on_chain = _accepted_on_chain(node, meter)
    assert [seq for seq, _ in on_chain] == [1, 2, 3, 4, 5]  # each once
    assert {h for seq, h in on_chain if seq <= 3} == {sent["tx_hash"]}
    later = {h for seq, h in on_chain if seq > 3}
    assert len(later) == 1 and later != {sent["tx_hash"]}
    w3 = node.w3
    first = w3.eth.get_transaction_receipt(sent["tx_hash"])
    assert first["status"] == 1
    assert w3.eth.get_block(first["blockNumber"])["timestamp"] >= int(killed_ts)
    # two batches from the relayer: no resend, no failed batch
    assert w3.eth.get_transaction_count(node.prosumer) == relayed_before + 2

    # What the re-check spared the node: the batch sent again is refused, and would have
    # taken seq 4 and 5 down with it.
    resend = node.contract("Metering").functions.submitReadings(
        [s.reading.as_abi() for s in readings], [s.signature.as_abi() for s in readings]
    )
    with pytest.raises(ContractCustomError) as caught:
        resend.call({"from": node.prosumer})
    refused = decode_revert(caught.value.data)
    index, replayed_meter, seq, last_seq = refused.error_args
    assert refused.name == "MeteringSequenceReplayed"
    assert (index, to_checksum_address(str(replayed_meter)), seq, last_seq) == (
        0,
        meter.key.address,
        1,
        5,
    )
    fates = [node.get(f"/v1/meters/{meter.key.address}/readings/{k}") for k in range(1, 6)]
    assert [f["fate"] for f in fates] == ["accepted"] * 5
    assert [f["tx_hash"] for f in fates[3:]] == [*later] * 2
    assert node.get(f"/v1/meters/{meter.key.address}")["pending"] == 0


# ---------------------------------------------------------------- in the test process
@pytest.fixture(scope="module")
def chain_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    node = InProcessNode(tmp_path_factory.mktemp("queue-crash") / "data")
    yield node
    node.stop()


class LocalMeter:
    def __init__(self, node: InProcessNode) -> None:
        self.participant: LocalAccount = Account.create()
        self.key: LocalAccount = Account.create()
        node.admit(self.participant.address, self.key.address)
        self.separator = separator_of(node.w3, node.contract("Metering").address)

    def sign(self, start_ts: int, seqs: range) -> list[SignedReading]:
        return sign(self.key, self.participant.address, self.separator, start_ts, seqs)


def _submit(node: InProcessNode, readings: list[SignedReading]) -> Any:
    return node.contract("Metering").functions.submitReadings(
        [s.reading.as_abi() for s in readings], [s.signature.as_abi() for s in readings]
    )


def test_the_relay_waits_for_a_batch_pending_from_before_the_restart(
    chain_node: InProcessNode, tmp_path: Path
) -> None:
    """Block production is stopped, so the batch the relayer sent before the "crash" stays
    pending: the restarted relay sends nothing while it is; once it is mined, the re-check
    accepts its readings and the relay sends only the later ones. Sent at once instead,
    the resend would be mined after the batch and fail, dropping seq 4 and 5."""
    node = chain_node
    chain = node.service.chain
    assert chain is not None and node.service.producer is not None
    meter = LocalMeter(node)
    head = node.head_ts()
    readings = meter.sign(head - head % 60 - 600, range(1, 6))
    path = tmp_path / "queue.sqlite"
    ReadingIntake(ChainView(node.service), store=QueueStore(path)).post(readings)

    node.service.producer.stop()
    try:
        prosumer = node.address("prosumer")
        before = _submit(node, readings[:3]).transact({"from": prosumer, "gas": TX_GAS})
        intake = ReadingIntake(ChainView(node.service), store=QueueStore(path))
        intake.restore()  # the chain holds none of them yet: all five stay queued
        assert intake.queued() == 5
        relay = MeterRelay(intake)
        done = threading.Event()
        thread = threading.Thread(target=lambda: (relay.relay_once(), done.set()), daemon=True)
        thread.start()
        assert not done.wait(1.0)  # waiting for the pending batch
        assert len(chain.pool) == 1  # and nothing sent
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            chain.produce_block()
            done.wait(0.05)
        assert done.is_set()
    finally:
        producer = BlockProducer(chain, min_period_s=0.02)
        producer.start()
        node.service.producer = producer
    assert node.w3.eth.get_transaction_receipt(before)["status"] == 1
    fates = [intake.fate(meter.key.address, seq) for seq in range(1, 6)]
    assert [f.fate for f in fates] == [FateState.ACCEPTED] * 5
    assert [f.tx_hash for f in fates[:3]] == [None] * 3  # the re-check found them on chain
    assert fates[3].tx_hash is not None and fates[3].tx_hash == fates[4].tx_hash
    assert node.w3.eth.get_transaction_receipt(fates[3].tx_hash)["status"] == 1
    assert intake.store is not None and intake.store.load() == []


def test_the_restarts_recheck_accepts_what_the_chain_holds_and_drops_what_it_would_refuse(
    chain_node: InProcessNode, tmp_path: Path
) -> None:
    node = chain_node
    kept, deactivated, fine = LocalMeter(node), LocalMeter(node), LocalMeter(node)
    head = node.head_ts()
    start = head - head % 60 - 600
    path = tmp_path / "queue.sqlite"
    before = ReadingIntake(ChainView(node.service), store=QueueStore(path))
    before.post(kept.sign(start, range(1, 5)))
    before.post(deactivated.sign(start, range(1, 3)) + fine.sign(start, range(1, 3)))
    # while the node is down: another relayer brings seq 1-2 of the first meter on chain,
    # and the operator deactivates the second meter's participant
    node.send("admin", _submit(node, kept.sign(start, range(1, 3))))
    registry = node.contract("Registry").functions
    node.send("operator", registry.deactivate(deactivated.participant.address))

    intake = ReadingIntake(ChainView(node.service), store=QueueStore(path))
    intake.restore()
    assert [intake.fate(kept.key.address, k).fate for k in range(1, 5)] == [
        FateState.ACCEPTED,
        FateState.ACCEPTED,
        FateState.QUEUED,
        FateState.QUEUED,
    ]
    first, second = (intake.fate(deactivated.key.address, k) for k in (1, 2))
    assert first.fate is FateState.DROPPED and first.refusal is not None
    assert (first.refusal.error, first.refusal.args) == (
        "MeteringUnregisteredMeter",
        {
            "index": 0,  # its index in the request that posted it
            "participant": deactivated.participant.address,
            "meter": deactivated.key.address,
            "registered": deactivated.key.address,
        },
    )
    assert second.fate is FateState.DROPPED and second.refusal is not None
    assert second.refusal.error == "NotQueued"
    assert f"{deactivated.key.address} seq 1" in second.refusal.message
    kept_state = intake.meter(kept.key.address)
    assert (kept_state.pending, kept_state.next_seq) == (2, 5)
    assert intake.meter(deactivated.key.address).pending == 0
    assert intake.store is not None
    assert [r.key for r in intake.store.load()] == [
        (kept.key.address, 3),
        (kept.key.address, 4),
        (fine.key.address, 1),
        (fine.key.address, 2),
    ]
    assert MeterRelay(intake).relay_once() == 4
    assert intake.store.load() == []
    assert [intake.fate(fine.key.address, k).fate for k in (1, 2)] == [FateState.ACCEPTED] * 2
    last_seq, _ = node.contract("Metering").functions.meterState(kept.key.address).call()
    assert last_seq == 4
