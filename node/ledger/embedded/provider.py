"""web3.py over the embedded chain without an HTTP hop, and the block producer."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Any

from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.params import RpcError
from gridledger.node.ledger.embedded.rpc import JsonRpc

log = logging.getLogger(__name__)


class EmbeddedProvider(BaseProvider):
    """A web3 provider that answers from JsonRpc in-process (same methods, same errors)."""

    def __init__(self, rpc: JsonRpc) -> None:
        super().__init__()
        self.rpc = rpc
        self._ids = itertools.count()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        request_id = next(self._ids)
        try:
            result = self.rpc.call(str(method), list(params or []))
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": request_id, "error": exc.as_json()}  # type: ignore[typeddict-item]
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


class BlockProducer:
    """Seals a block whenever transactions wait: after `coalesce_s` to gather a batch, and at
    most one block per `min_period_s` [s], counted from one block's start to the next (a block
    that took longer to build than the period is followed at once, after `coalesce_s`); a
    block's execution stops at `build_budget_s` [s] (EmbeddedChain.produce_block), so a
    transaction too slow for any block leaves the pool instead of holding the chain's lock.
    Stops when `stop()` is called."""

    def __init__(
        self,
        chain: EmbeddedChain,
        min_period_s: float = 0.2,
        coalesce_s: float = 0.02,
        build_budget_s: float | None = 2.0,
    ):
        self.chain = chain
        self.min_period_s = min_period_s
        self.coalesce_s = coalesce_s
        self.build_budget_s = build_budget_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="block-producer", daemon=True)
        self.last_error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.chain.new_block:
            self.chain.new_block.notify_all()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last = 0.0
        while not self._stop.is_set():
            with self.chain.new_block:
                while not self.chain.has_ready_transactions() and not self._stop.is_set():
                    self.chain.new_block.wait(0.5)
            if self._stop.is_set():
                return
            wait_s = max(self.coalesce_s, self.min_period_s - (time.monotonic() - last))
            if self._stop.wait(wait_s):
                return
            last = time.monotonic()
            try:
                self.chain.produce_block(build_budget_s=self.build_budget_s)
            except Exception as exc:  # keep serving; the error is logged and kept
                self.last_error = exc
                log.exception("block production failed")
                self._stop.wait(1.0)
