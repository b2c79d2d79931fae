"""Running real `gridledger node run` processes on loopback for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

PASSPHRASE = "test-passphrase"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, prefund: dict[str, int], block_period_s: float = 0.05) -> Path:
    lines = ["[node]", f"block_period_s = {block_period_s}", "", "[chain.prefund]"]
    lines += [f'"{address}" = "{balance}"' for address, balance in prefund.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class NodeProcess:
    """One node process; `start()` waits until it serves with its contracts deployed."""

    def __init__(self, data_dir: Path, config: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.config = config
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> NodeProcess:
        env = {**os.environ, "GRIDLEDGER_PASSPHRASE": PASSPHRASE}
        log = open(self.data_dir.parent / f"node-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node.cli",
                "node",
                "run",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--config",
                str(self.config),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}")
            try:
                if requests.get(f"{self.url}/v1/contracts/addresses", timeout=1).json():
                    return self
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"node on port {self.port} did not start in {timeout_s} s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
