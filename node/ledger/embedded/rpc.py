"""Ethereum JSON-RPC over the embedded chain: the subset web3.py, ethers and cast need.

Errors follow JSON-RPC 2.0 and the Ethereum conventions: -32700 parse error, -32600 invalid
request (also an empty or oversize batch), -32601 unknown method, -32602 invalid params
(wrong types, huge or negative numbers, unknown block tags), 3 for an execution revert with the
revert data so clients decode custom errors, -32000 for a rejected transaction. No input
changes state except an accepted eth_sendRawTransaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from eth.abc import BlockHeaderAPI
from eth.vm.spoof import SpoofTransaction
from eth_utils.exceptions import ValidationError

from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded import budget
from gridledger.node.ledger.embedded import params as p
from gridledger.node.ledger.embedded.chain import EmbeddedChain, TransactionRejectedError
from gridledger.node.ledger.embedded.formatting import (
    block_json,
    log_json,
    receipt_json,
    transaction_json,
)
from gridledger.node.ledger.embedded.params import RpcError
from gridledger.node.ledger.embedded.rpc_batch import answer_batch, answer_one
from gridledger.node.ledger.embedded.rpc_batch import dump as _dump
from gridledger.node.ledger.embedded.rpc_batch import error_response as _error_response
from gridledger.node.ledger.votes import justification_json

log = logging.getLogger(__name__)

MAX_LOGS = 10_000
MAX_FEE_HISTORY_BLOCKS = 1024
MAX_BODY_BYTES = 8 * 1024 * 1024
CLIENT_VERSION = "gridledger/0.1.0/py-evm-0.12.1b1"
PRIORITY_FEE_WEI = 1_000_000_000

Handler = Callable[[list[Any]], Any]


class JsonRpc:
    """Dispatches JSON-RPC requests to the chain."""

    def __init__(self, chain: EmbeddedChain, limits: budget.CallLimits | None = None) -> None:
        self.chain = chain
        self.limits = limits or budget.CallLimits()
        self.methods: dict[str, Handler] = {
            "web3_clientVersion": lambda _: CLIENT_VERSION,
            "net_version": lambda _: str(chain.genesis.chain_id),
            "net_listening": lambda _: True,
            "eth_chainId": lambda _: p.hexq(chain.genesis.chain_id),
            "eth_syncing": lambda _: False,
            "eth_accounts": lambda _: [],
            "eth_blockNumber": lambda _: p.hexq(chain.head_header().block_number),
            "eth_gasPrice": self._gas_price,
            "eth_maxPriorityFeePerGas": lambda _: p.hexq(PRIORITY_FEE_WEI),
            "eth_feeHistory": self._fee_history,
            "eth_getBalance": self._balance,
            "eth_getCode": self._code,
            "eth_getStorageAt": self._storage,
            "eth_getTransactionCount": self._nonce,
            "eth_getBlockByNumber": self._block_by_number,
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getBlockTransactionCountByNumber": self._tx_count_by_number,
            "eth_call": self._call,
            "eth_estimateGas": self._estimate_gas,
            "eth_sendRawTransaction": self._send_raw,
            "eth_getTransactionByHash": self._tx_by_hash,
            "eth_getTransactionReceipt": self._receipt,
            "eth_getLogs": self._logs,
            "gridledger_getJustification": self._justification,
        }

    # ------------------------------------------------------------------ envelope
    def handle_bytes(self, body: bytes) -> bytes | None:
        """One HTTP body in, one HTTP body out (None for a batch of notifications only)."""
        if len(body) > MAX_BODY_BYTES:
            return _dump(_error_response(None, RpcError(-32600, "request body too large")))
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: nesting past the recursion limit; the HTTP server refuses
            # anything nested deeper than 64 before this (node.http_limits).
            return _dump(_error_response(None, RpcError(-32700, f"parse error: {exc}")))
        if isinstance(payload, list):
            return answer_batch(payload, self.handle)
        return answer_one(payload, self.handle)

    def handle(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return _error_response(None, RpcError(-32600, "a request must be an object"))
        request_id = request.get("id")
        if not isinstance(request_id, str | int | type(None)) or isinstance(request_id, bool):
            return _error_response(None, RpcError(-32600, "id must be a string, number or null"))
        if request.get("jsonrpc") != "2.0":
            return _error_response(request_id, RpcError(-32600, 'jsonrpc must be "2.0"'))
        method = request.get("method")
        if not isinstance(method, str):
            return _error_response(request_id, RpcError(-32600, "method must be a string"))
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error_response(request_id, RpcError(-32602, "invalid params: must be a list"))
        try:
            result = self.call(method, params)
        except RpcError as exc:
            response = _error_response(request_id, exc)
        else:
            response = {"jsonrpc": "2.0", "id": request_id, "result": result}
        return None if "id" not in request else response

    def call(self, method: str, params: list[Any]) -> Any:
        handler = self.methods.get(method)
        if handler is None:
            raise RpcError(-32601, f"method not found: {method[:64]}")
        try:
            return handler(params)
        except RpcError:
            raise
        except TransactionRejectedError as exc:
            raise RpcError(-32000, str(exc)) from exc
        except LedgerError as exc:
            raise RpcError(-32000, str(exc)) from exc
        except Exception as exc:  # a bug must not become a crash or leak a traceback
            log.exception("internal error in %s", method)
            raise RpcError(-32603, f"internal error: {type(exc).__name__}") from exc

    # ------------------------------------------------------------------ blocks
    def _number(self, tag: Any, name: str = "block") -> int:
        head = self.chain.head_header().block_number
        if isinstance(tag, dict):
            if "blockHash" in tag:
                block = self.chain.block_by_hash(p.fixed(tag["blockHash"], "blockHash", 32))
                if block is None:
                    raise RpcError(-32001, "unknown block hash")
                return int(block.number)
            tag = tag.get("blockNumber")
        if tag in ("latest", "pending"):
            return head
        if tag in ("safe", "finalized"):
            return self.chain.finalized_number()
        if tag == "earliest":
            return 0
        if isinstance(tag, str) and tag.startswith("0x"):
            number = p.quantity(tag, name)
            if number > head:
                raise RpcError(-32001, f"unknown block {number} (head is {head})")
            return number
        raise p.invalid(f"{name}: unknown block tag {str(tag)[:40]!r}")

    def _block_by_number(self, params: list[Any]) -> Any:
        tag = p.arg(params, 0, "block")
        full = bool(p.arg(params, 1, "full", False))
        try:
            number = self._number(tag)
        except RpcError as exc:
            if exc.code == -32001:
                return None
            raise
        return block_json(self.chain.block_by_number(number), full)

    def _block_by_hash(self, params: list[Any]) -> Any:
        block = self.chain.block_by_hash(p.fixed(p.arg(params, 0, "hash"), "hash", 32))
        return None if block is None else block_json(block, bool(p.arg(params, 1, "full", False)))

    def _justification(self, params: list[Any]) -> Any:
        """The votes that prove block `params[0]` (number or tag) final: its own
        justification or the lowest one above it; null while it is not final."""
        try:
            number = self._number(p.arg(params, 0, "block"))
        except RpcError as exc:
            if exc.code == -32001:
                return None
            raise
        stored = self.chain.justification_covering(number)
        if stored is None:
            return None
        block = (number, bytes(self.chain.header_by_number(number).hash))
        chain_id, domain = self.chain.genesis.chain_id, self.chain.vote_domain
        return justification_json(stored[2], chain_id, domain, block)

    def _tx_count_by_number(self, params: list[Any]) -> Any:
        return p.hexq(
            len(self.chain.block_by_number(self._number(p.arg(params, 0, "block"))).transactions)
        )

    # ------------------------------------------------------------------ state
    def _balance(self, params: list[Any]) -> Any:
        address = p.address(p.arg(params, 0, "address"), "address")
        state = self.chain.state_at(self._number(p.arg(params, 1, "block", "latest")))
        return p.hexq(state.get_balance(address))

    def _code(self, params: list[Any]) -> Any:
        address = p.address(p.arg(params, 0, "address"), "address")
        state = self.chain.state_at(self._number(p.arg(params, 1, "block", "latest")))
        return p.hexb(state.get_code(address))

    def _storage(self, params: list[Any]) -> Any:
        address = p.address(p.arg(params, 0, "address"), "address")
        slot = p.quantity(p.arg(params, 1, "slot"), "slot")
        state = self.chain.state_at(self._number(p.arg(params, 2, "block", "latest")))
        return p.hexb(state.get_storage(address, slot).to_bytes(32, "big"))

    def _nonce(self, params: list[Any]) -> Any:
        address = p.address(p.arg(params, 0, "address"), "address")
        tag = p.arg(params, 1, "block", "latest")
        if tag == "pending":
            return p.hexq(self.chain.pending_nonce(address))
        return p.hexq(self.chain.state_at(self._number(tag)).get_nonce(address))

    # ------------------------------------------------------------------ fees
    def _next_base_fee(self) -> int:
        return int(self.chain.chain.header.base_fee_per_gas or 0)  # the pending header

    def _gas_price(self, _: list[Any]) -> Any:
        return p.hexq(self._next_base_fee() + PRIORITY_FEE_WEI)

    def _fee_history(self, params: list[Any]) -> Any:
        raw_count = p.arg(params, 0, "blockCount")
        count = (
            raw_count
            if isinstance(raw_count, int) and not isinstance(raw_count, bool)
            else (p.quantity(raw_count, "blockCount"))
        )
        if not 1 <= count <= MAX_FEE_HISTORY_BLOCKS:
            raise p.invalid(
                f"blockCount must be in 1..{MAX_FEE_HISTORY_BLOCKS} blocks per answer, got "
                f"{count}; ask for older blocks with an earlier newestBlock"
            )
        newest = self._number(p.arg(params, 1, "newestBlock"))
        percentiles = p.arg(params, 2, "rewardPercentiles", [])
        if not isinstance(percentiles, list) or len(percentiles) > 100:
            raise p.invalid("rewardPercentiles must be a list of at most 100 numbers")
        oldest = max(0, newest - count + 1)
        headers = [self.chain.header_by_number(n) for n in range(oldest, newest + 1)]
        out: dict[str, Any] = {
            "oldestBlock": p.hexq(oldest),
            "baseFeePerGas": [p.hexq(h.base_fee_per_gas or 0) for h in headers]
            + [p.hexq(self._next_base_fee())],
            "gasUsedRatio": [h.gas_used / h.gas_limit for h in headers],
        }
        if percentiles:
            out["reward"] = [[p.hexq(PRIORITY_FEE_WEI)] * len(percentiles) for _ in headers]
        return out

    # ------------------------------------------------------------------ execution
    def _spoof(self, obj: Any, header: BlockHeaderAPI) -> SpoofTransaction:
        if not isinstance(obj, dict):
            raise p.invalid("transaction must be an object")
        sender = p.address(obj["from"], "from") if obj.get("from") else b"\x00" * 20
        to = p.address(obj["to"], "to") if obj.get("to") else b""
        cap = self.limits.gas_cap
        gas = p.quantity(obj["gas"], "gas") if obj.get("gas") else min(header.gas_limit, cap)
        if gas > header.gas_limit:
            raise p.invalid(f"gas {gas} exceeds the block gas limit {header.gas_limit}")
        if gas > cap:
            raise p.invalid(f"gas {gas} exceeds the RPC gas cap {cap} (rpc.gas_cap)")
        value = p.quantity(obj["value"], "value") if obj.get("value") else 0
        payload = obj.get("input", obj.get("data"))
        input_data = p.data(payload, "input") if payload else b""
        return self.chain.call_transaction(header, sender, to, input_data, value, gas)

    def _execute(self, tx: SpoofTransaction, header: BlockHeaderAPI) -> Any:
        """One execution, within rpc.evm_timeout_s (and what is left of the request's),
        throttled past its first 50 ms (budget.limit)."""
        with budget.limit(self.limits.timeout_s, "rpc.evm_timeout_s", throttled=True):
            return self.chain.execute_call(tx, header)

    def _run(self, obj: Any, header: BlockHeaderAPI) -> Any:
        try:
            computation = self._execute(self._spoof(obj, header), header)
        except ValidationError as exc:  # e.g. gas below the intrinsic cost of the call
            raise RpcError(-32000, f"invalid transaction: {exc}") from exc
        if computation.is_error:
            raise _revert(computation)
        return computation

    def _header(self, tag: Any) -> BlockHeaderAPI:
        return self.chain.header_by_number(self._number(tag))

    def _call(self, params: list[Any]) -> Any:
        header = self._header(p.arg(params, 1, "block", "latest"))
        return p.hexb(self._run(p.arg(params, 0, "transaction"), header).output)

    def _estimate_gas(self, params: list[Any]) -> Any:
        obj = p.arg(params, 0, "transaction")
        header = self._header(p.arg(params, 1, "block", "latest"))
        first = self._run({**obj, "gas": None} if isinstance(obj, dict) else obj, header)
        # The gas a call needs can exceed the gas it uses (the 63/64 rule, refunds): search
        # for the smallest limit that succeeds, starting from a bound that usually does.
        used = int(first.get_gas_used())
        low, high = used - 1, min(header.gas_limit, self.limits.gas_cap)
        guess = min(high, used * 64 // 63 + 5_000)
        if self._succeeds(obj, header, guess):
            high = guess
        while high - low > 1:
            mid = (low + high) // 2
            if self._succeeds(obj, header, mid):
                high = mid
            else:
                low = mid
        return p.hexq(high)

    def _succeeds(self, obj: dict[str, Any], header: BlockHeaderAPI, gas: int) -> bool:
        tx = self._spoof({**obj, "gas": hex(gas)}, header)
        try:
            return not self._execute(tx, header).is_error
        except ValidationError:  # below the intrinsic gas: this limit cannot succeed
            return False

    def _send_raw(self, params: list[Any]) -> Any:
        raw = p.data(p.arg(params, 0, "transaction"), "transaction", 128 * 1024)
        return p.hexb(self.chain.submit_raw(raw))

    # ------------------------------------------------------------------ lookups
    def _tx_by_hash(self, params: list[Any]) -> Any:
        tx_hash = p.fixed(p.arg(params, 0, "hash"), "hash", 32)
        pooled = self.chain.pool.get(tx_hash)
        if pooled is not None:
            return transaction_json(pooled, None, None)
        location = self.chain.transaction_location(tx_hash)
        if location is None:
            return None
        block = self.chain.block_by_number(location[0])
        return transaction_json(block.transactions[location[1]], block, location[1])

    def _receipt(self, params: list[Any]) -> Any:
        tx_hash = p.fixed(p.arg(params, 0, "hash"), "hash", 32)
        location = self.chain.transaction_location(tx_hash)
        if location is None:
            return None
        return receipt_json(self.chain.mined_receipt(*location))

    def _logs(self, params: list[Any]) -> Any:
        spec = p.arg(params, 0, "filter")
        if not isinstance(spec, dict):
            raise p.invalid("filter must be an object")
        if spec.get("blockHash") is not None:
            block = self.chain.block_by_hash(p.fixed(spec["blockHash"], "blockHash", 32))
            if block is None:
                raise RpcError(-32001, "unknown block hash")
            from_block = to_block = int(block.number)
        else:
            from_block = self._number(spec.get("fromBlock", "latest"), "fromBlock")
            to_block = self._number(spec.get("toBlock", "latest"), "toBlock")
            if from_block > to_block:
                raise p.invalid(f"fromBlock {from_block} is after toBlock {to_block}")
        raw_addresses = spec.get("address") or []
        if isinstance(raw_addresses, str):
            raw_addresses = [raw_addresses]
        if not isinstance(raw_addresses, list) or len(raw_addresses) > 100:
            raise p.invalid("address must be an address or a list of at most 100")
        addresses = [p.address(a, "address") for a in raw_addresses]
        raw_topics = spec.get("topics") or []
        if not isinstance(raw_topics, list) or len(raw_topics) > 4:
            raise p.invalid("topics must be a list of at most 4 positions")
        topics: list[list[bytes] | None] = []
        for i, position in enumerate(raw_topics):
            if position is None:
                topics.append(None)
            elif isinstance(position, str):
                topics.append([p.fixed(position, f"topics[{i}]", 32)])
            elif isinstance(position, list) and len(position) <= 100:
                topics.append([p.fixed(t, f"topics[{i}]", 32) for t in position] or None)
            else:
                raise p.invalid(f"topics[{i}] must be null, a topic or a list of topics")
        rows = self.chain.store.query_logs(from_block, to_block, addresses, topics, MAX_LOGS)
        if len(rows) > MAX_LOGS:
            raise RpcError(
                -32005,
                f"query returns more than {MAX_LOGS} logs (limit exceeded) in blocks "
                f"{from_block}..{to_block}; narrow fromBlock/toBlock or filter by address or "
                "topics",
            )
        return [log_json(r) for r in rows]


def _revert(computation: Any) -> RpcError:
    error = computation.error
    data = bytes(error.args[0]) if error.args and isinstance(error.args[0], bytes) else b""
    if type(error).__name__ == "Revert":
        return RpcError(3, "execution reverted", "0x" + data.hex())
    return RpcError(-32015, f"execution failed: {type(error).__name__}")


def error_bytes(error: RpcError) -> bytes:
    """The body of a JSON-RPC error answered before a request id could be read."""
    return _dump(_error_response(None, error))
