"""The dashboard on a running testnet started by `gridledger testnet up`, which prints each
node's dashboard URL, on the wall clock and on the simulation clock (the demo's): the page
loads without a console error, lists the peers with their heads, and shows a new block
within a second of the node importing it."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, expect

from gridledger.node import testnet
from gridledger.node.keys import PASSPHRASE_ENV
from gridledger.node.keys.api_key import load_or_create_api_key
from tests.node.dashboard.conftest import SCREENSHOTS, open_page
from tests.node.nodeproc import PASSPHRASE

NODES = 3


@dataclass
class Net:
    url: str
    data_dir: Path
    clock: str

    def next_block(self) -> None:
        """On the simulation clock, move every node's clock one block period on."""
        if self.clock != "sim":
            return  # the wall clock seals every second by itself
        genesis_ts = json.loads((self.data_dir / "genesis.json").read_text())["timestamp_ts"]
        for entry in testnet.load_layout(self.data_dir):
            key = load_or_create_api_key(self.data_dir / entry.name)
            now = requests.get(entry.url + "/healthz", timeout=5).json()["head"]
            reply = requests.post(
                entry.url + "/v1/admin/clock",
                json={"now_ts": genesis_ts + now + 1},
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            assert reply.status_code == 200, reply.text


@pytest.fixture(params=["wall", "sim"])
def net(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Net]:
    clock = request.param
    data_dir = tmp_path / "testnet"
    base_port = testnet.free_base_port(NODES, first=random.randrange(20_000, 31_000, 37))
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE}
    try:
        up = subprocess.run(
            [sys.executable, "-m", "gridledger.node.cli", "testnet", "up", "--nodes", str(NODES),
             "--base-port", str(base_port), "--data-dir", str(data_dir), "--clock", clock],
            env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert up.returncode == 0, up.stderr[-2000:]
        printed = re.findall(r"dashboard of (node\d+): (\S+)", up.stderr)
        assert [name for name, _ in printed] == [f"node{i}" for i in range(1, NODES + 1)]
        url = dict(printed)["node1"]
        assert url == f"http://127.0.0.1:{base_port}/"
        yield Net(url, data_dir, clock)
    finally:
        testnet.down(data_dir, lambda _: None)


def test_the_dashboard_follows_a_running_testnet(browser: Browser, net: Net) -> None:
    dashboard_url = net.url
    deadline = time.monotonic() + 60
    while len(requests.get(dashboard_url + "healthz", timeout=5).json().get("peers", [])) < 2:
        assert time.monotonic() < deadline, "the peers did not connect"
        time.sleep(0.2)
    page = open_page(browser, dashboard_url)
    try:
        p = page.page
        expect(p.locator("#live-state")).to_have_text("live")
        expect(p.locator("#peers-table tbody tr")).to_have_count(NODES - 1, timeout=10_000)
        expect(p.locator("#peers-table tbody")).to_contain_text("node2")
        expect(p.locator("#layers-grid article")).to_have_count(7)
        # the next block the node imports is on the page within a second
        shown = int(p.locator("#head").inner_text())
        net.next_block()
        deadline = time.monotonic() + 20
        while (
            head := int(requests.get(dashboard_url + "healthz", timeout=5).json()["head"])
        ) <= shown:
            assert time.monotonic() < deadline, f"no block after {shown}"
            time.sleep(0.01)
        p.wait_for_function(
            f"Number(document.getElementById('head').textContent) >= {head}", timeout=1_000
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        p.locator("section#chain").screenshot(path=SCREENSHOTS / f"chain-testnet-{net.clock}.png")
        assert page.errors == []
    finally:
        page.page.close()
