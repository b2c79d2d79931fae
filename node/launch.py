"""Running `gridledger node run` as a child process (tests, benchmarks, and later the testnet)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import requests

from gridledger.node.keys import PASSPHRASE_ENV


def node_run_command(data_dir: Path, *args: str) -> list[str]:
    """`gridledger node run --data-dir DATA_DIR ARGS...` with this Python."""
    return [
        sys.executable,
        "-m",
        "gridledger.node.cli",
        "node",
        "run",
        "--data-dir",
        str(data_dir),
        *args,
    ]


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """One node process on loopback. `start(ready)` returns once `ready(self)` holds."""

    def __init__(
        self,
        data_dir: Path,
        passphrase: str,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        log_path: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.passphrase = passphrase
        self.port = port or free_port()
        self.extra_args = tuple(extra_args)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(
        self, ready: Callable[[NodeProcess], bool] | None = None, timeout_s: float = 60
    ) -> NodeProcess:
        """Start the node and wait until `ready` (default: /healthz answers) [s]."""
        command = node_run_command(self.data_dir, "--port", str(self.port), *self.extra_args)
        env = {**os.environ, PASSPHRASE_ENV: self.passphrase}
        if self.log_path is None:
            self.proc = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            with self.log_path.open("ab") as log:  # the child keeps its own copy of the fd
                self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        check = ready or (lambda node: node.get("/healthz") is not None)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node on port {self.port} exited with {self.proc.returncode}")
            if check(self):
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"node on port {self.port} was not ready in {timeout_s} s")

    def get(self, path: str) -> object | None:
        """GET `path` as JSON, or None if the node does not answer (yet)."""
        try:
            reply = requests.get(f"{self.url}{path}", timeout=2)
            return reply.json() if reply.ok else None
        except (requests.RequestException, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
