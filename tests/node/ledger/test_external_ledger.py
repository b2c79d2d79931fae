"""`node run --ledger rpc`: the same node code on anvil (npm @foundry-rs/anvil) instead of the
embedded chain: it waits for funds, deploys through web3, and serves /rpc as a pass-through."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.node.nodeproc import PASSPHRASE, NodeProcess, free_port

ANVIL = Path(__file__).resolve().parents[3] / "contracts" / "node_modules" / ".bin" / "anvil"
pytestmark = pytest.mark.skipif(
    not ANVIL.exists(), reason="npm anvil not installed (make test does)"
)


@pytest.fixture
def anvil_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--hardfork", "cancun", "--chain-id", "4242", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _rpc(url, "eth_chainId") == hex(4242), 30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _rpc(url: str, method: str, *params: object) -> object:
    try:
        reply = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
            timeout=5,
        ).json()
    except requests.RequestException:
        return None
    return reply.get("result")


def _until(check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError("condition not met")


def test_node_on_anvil_waits_for_funds_deploys_and_proxies(tmp_path: Path, anvil_url: str) -> None:
    node = NodeProcess(
        tmp_path / "data", PASSPHRASE, extra_args=("--ledger", "rpc", "--rpc-url", anvil_url)
    ).start()
    base = node.url
    try:

        def health() -> dict[str, object]:
            return dict(node.get("/healthz") or {})  # type: ignore[call-overload]

        _until(lambda: health().get("status") == "waiting-for-funds", 60)
        assert requests.get(f"{base}/v1/contracts/addresses", timeout=5).json() == {}
        admin = health()["fund"]
        _rpc(anvil_url, "anvil_setBalance", admin, hex(10**21))
        _until(lambda: health().get("status") == "ok", 60)
        addresses = requests.get(f"{base}/v1/contracts/addresses", timeout=5).json()
        # The contracts live on anvil, and the node's /rpc answers for anvil.
        assert len(str(_rpc(anvil_url, "eth_getCode", addresses["ImportCap"], "latest"))) > 100
        assert _rpc(f"{base}/rpc", "eth_chainId") == hex(4242)
        assert _rpc(f"{base}/rpc", "eth_getCode", addresses["Market"], "latest") == _rpc(
            anvil_url, "eth_getCode", addresses["Market"], "latest"
        )
    finally:
        node.stop()
