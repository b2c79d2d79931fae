"""Driving a simulation-clock testnet's time: the simulation's time posted to every node
(POST /v1/admin/clock), then a wait until every node holds the block of the step reached."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from gridledger.node import testnet
from gridledger.node.keys.api_key import load_or_create_api_key


class ChainClock:
    """Posts the simulation's time to every node (POST /v1/admin/clock).

    Before moving the nodes to a new time it waits until every node holds the block of the
    step it posted last, so the next proposer always builds on it (no forks from a lagging
    node), while the block of the latest post is produced as the simulation goes on."""

    def __init__(self, data_dir: Path, entries: list[testnet.NodeEntry]) -> None:
        self.session = requests.Session()
        self.urls = [e.url for e in entries]
        self.keys = [load_or_create_api_key(data_dir / e.name) for e in entries]
        self.now_ts = 0
        self.posted_step = -1
        self.waits_timed_out = 0

    def advance(self, now_ts: int, settle_timeout_s: float = 10.0) -> None:
        """Wait for the last posted step's block everywhere, then move every node to `now_ts`."""
        self.settle(settle_timeout_s)
        self.now_ts = max(self.now_ts, now_ts)
        steps = set()
        for url, key in zip(self.urls, self.keys, strict=True):
            reply = self.session.post(
                f"{url}/v1/admin/clock",
                json={"now_ts": self.now_ts},
                headers={"Authorization": f"Bearer {key}"},
            )
            reply.raise_for_status()
            steps.add(int(reply.json()["step"]))
        self.posted_step = max(steps)

    def settle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every node's head is at the last posted step; False on timeout."""
        deadline = time.monotonic() + timeout_s
        for url in self.urls:
            while int(self.session.get(f"{url}/healthz").json().get("head_step", 0)) < (
                self.posted_step
            ):
                if time.monotonic() > deadline:
                    self.waits_timed_out += 1
                    return False
                time.sleep(0.01)
        return True
