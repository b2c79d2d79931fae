"""The harness's Engine protocol on anvil (npm `@foundry-rs/anvil`, pinned in contracts/).

A test helper: anvil runs as a child process on a loopback port it picks itself, for one
test session; `close()` (or leaving the `with` block) stops it. Production code reaches
anvil through the `--ledger rpc` mode instead.

Behaviour matched to the eth-tester engine, so the same tests pass on both:
- Automine: every transaction is mined in its own block as it arrives (the harness sends one
  transaction at a time and waits for its receipt).
- The clock: each block is exactly one second after its parent unless the harness sets the
  next timestamp (`anvil_setBlockTimestampInterval 1`), not the wall clock plus an offset.
  Block times then do not depend on how fast the machine runs the tests.
- Snapshots can be reverted to more than once: anvil deletes a snapshot (and every later
  one) when it reverts to it, so the engine takes it again right after the revert.
  Reverting to a snapshot taken after the one last reverted to is refused (eth-tester
  allows it; no test needs it).
- Transactions are signed locally with the accounts' keys (web3's
  SignAndSendRawMiddlewareBuilder) and sent raw, as a node talking JSON-RPC would send them.
- Gas: the base fee is 0 and every account holds 10^9 ether, so the harness's explicit
  25M gas limit never runs into fees.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.conversions import to_bytes
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import RPCEndpoint

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"
CHAIN_ID = 31337
BLOCK_GAS_LIMIT = 60_000_000  # eth-tester's genesis gas limit in node/ledger/ephemeral.py
HARDFORK = "cancun"  # the contracts' evmVersion
BALANCE_WEI = 10**9 * 10**18
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
_SIGNER = "anvil-signer"
_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")

# Run in the child between fork and exec (via a tiny Python launcher, not preexec_fn, which is
# unsafe with threads): ask Linux to SIGKILL anvil when the test process dies, even by SIGKILL,
# so a crashed or killed session never leaves an orphan anvil behind. Linux ties the signal to
# the thread that started the child: create the engine on the main thread (pytest fixtures are).
_LAUNCHER = """
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):
        sys.exit(1)  # the parent is already gone
os.execv(sys.argv[2], sys.argv[2:])
"""


class AnvilUnavailableError(RuntimeError):
    """anvil is not installed (run `npm ci` in contracts/) or did not start."""


def anvil_binary() -> Path:
    """The pinned anvil binary: the platform package's executable, else the npm wrapper.

    The platform binary is started directly so signals reach anvil itself, not a Node.js shim.
    """
    scope = CONTRACTS_DIR / "node_modules" / "@foundry-rs"
    for candidate in sorted(scope.glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    wrapper = CONTRACTS_DIR / "node_modules" / ".bin" / "anvil"
    if os.access(wrapper, os.X_OK):
        return wrapper
    raise AnvilUnavailableError(f"anvil not found under {scope}; run `npm ci` in {CONTRACTS_DIR}")


class AnvilEngine:
    """anvil as a subprocess, behind the harness's Engine protocol."""

    def __init__(self, binary: Path | None = None) -> None:
        self._log = tempfile.NamedTemporaryFile(prefix="anvil-", suffix=".log", delete=False)  # noqa: SIM115
        self._log_path = Path(self._log.name)
        self._proc: subprocess.Popen[bytes] | None = None
        self._snapshots: dict[int, str] = {}  # our id -> anvil's current id for that state
        self._order: list[int] = []  # live snapshot ids, oldest first (anvil's order too)
        self._ids = itertools.count(1)
        self._accounts: dict[ChecksumAddress, LocalAccount] = {}
        try:
            self.url = self._start(binary or anvil_binary())
            self._session = requests.Session()
            provider = HTTPProvider(
                self.url,
                session=self._session,
                # The signer asks for the chain id on every transaction: ask anvil once. Only
                # that: cached blocks would go stale when a snapshot is reverted.
                cache_allowed_requests=True,
                cacheable_requests={RPCEndpoint("eth_chainId")},
            )
            self.w3 = Web3(provider)
            self._rpc("anvil_setBlockTimestampInterval", [1])
            self._rpc("anvil_setLoggingEnabled", [False])  # the log was only read for the port
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ process

    def _start(self, binary: Path) -> str:
        args = [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            "0",  # anvil binds a free port and prints it: no race with other workers
            "--hardfork",
            HARDFORK,
            "--chain-id",
            str(CHAIN_ID),
            "--gas-limit",
            str(BLOCK_GAS_LIMIT),
            "--base-fee",
            "0",
            "--accounts",
            "0",
        ]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a unit, not by Ctrl-C
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        url: str | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AnvilUnavailableError(
                    f"anvil exited with {self._proc.returncode}:\n{self._log_tail()}"
                )
            if url is None:
                match = _LISTENING.search(self._log_path.read_bytes())
                if match:
                    url = f"http://{match[1].decode()}:{int(match[2])}"
            if url is not None:
                try:
                    reply = requests.post(
                        url,
                        json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                        timeout=1.0,
                    ).json()
                    if int(reply["result"], 16) == CHAIN_ID:
                        return url
                except (requests.RequestException, ValueError, KeyError):
                    pass
            time.sleep(0.05)
        raise AnvilUnavailableError(
            f"anvil did not answer eth_chainId within {STARTUP_TIMEOUT_S} s:\n{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        text = self._log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop anvil: SIGTERM to its process group, SIGKILL if it lingers. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, None)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if proc is not None:
            proc.wait()
        if hasattr(self, "_session"):
            self._session.close()
        self._log.close()
        self._log_path.unlink(missing_ok=True)

    def __enter__(self) -> AnvilEngine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Last resort if the owner forgot close(); the launcher's death signal covers crashes.
        if getattr(self, "_proc", None) is not None:
            self.close()

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(cast(Any, method), params)
        if "error" in response:
            raise RuntimeError(f"{method}{params}: {response['error']}")
        return response.get("result")

    # ------------------------------------------------------------ Engine protocol

    def set_next_timestamp(self, ts: int) -> None:
        self._rpc("evm_setNextBlockTimestamp", [ts])

    def mine(self) -> None:
        self._rpc("evm_mine", [])

    def snapshot(self) -> int:
        sid = next(self._ids)
        self._snapshots[sid] = self._rpc("evm_snapshot", [])
        self._order.append(sid)
        return sid

    def revert(self, snapshot_id: int) -> None:
        anvil_id = self._snapshots.get(snapshot_id)
        if anvil_id is None:
            raise ValueError(
                f"snapshot {snapshot_id} is unknown, or was taken after a snapshot that has "
                "since been reverted to (anvil deletes those)"
            )
        if self._rpc("evm_revert", [anvil_id]) is not True:
            raise RuntimeError(f"anvil refused to revert to snapshot {anvil_id}")
        # anvil dropped this snapshot and every later one; keep this one usable, as on eth-tester.
        position = self._order.index(snapshot_id)
        for later in self._order[position + 1 :]:
            del self._snapshots[later]
        del self._order[position + 1 :]
        self._snapshots[snapshot_id] = self._rpc("evm_snapshot", [])

    def add_account(self, private_key: bytes) -> ChecksumAddress:
        account: LocalAccount = Account.from_key(private_key)
        address = Web3.to_checksum_address(account.address)
        self._rpc("anvil_setBalance", [address, hex(BALANCE_WEI)])
        if address not in self._accounts:
            self._accounts[address] = account
            if _SIGNER in self.w3.middleware_onion:
                self.w3.middleware_onion.remove(_SIGNER)
            signer = SignAndSendRawMiddlewareBuilder.build(list(self._accounts.values()))
            self.w3.middleware_onion.inject(signer, name=_SIGNER, layer=0)
        return address

    def revert_data(self, exc: Exception) -> bytes | None:
        """Revert bytes from anvil's JSON-RPC error (code 3, `data` the hex revert payload).

        web3 already turns eth_call reverts into ContractCustomError / ContractLogicError,
        which the harness reads itself; this covers what reaches it as a bare Web3RPCError.
        """
        if not isinstance(exc, Web3RPCError) or not exc.rpc_response:
            return None
        error = exc.rpc_response.get("error")
        data = error.get("data") if isinstance(error, dict) else None
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return to_bytes(hexstr=data)
        return None

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])
