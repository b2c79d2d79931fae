"""JSON-RPC representations of blocks, transactions, receipts and logs."""

from __future__ import annotations

from typing import Any

import rlp
from eth.abc import BlockAPI, SignedTransactionAPI

from gridledger.node.ledger.embedded.chain import MinedReceipt, contract_address
from gridledger.node.ledger.embedded.params import checksum, hexb, hexq
from gridledger.node.ledger.embedded.store import LogRow

EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


def transaction_json(
    tx: SignedTransactionAPI, block: BlockAPI | None, index: int | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "hash": hexb(tx.hash),
        "nonce": hexq(tx.nonce),
        "from": checksum(tx.sender),
        "to": checksum(tx.to) if tx.to else None,
        "value": hexq(tx.value),
        "gas": hexq(tx.gas),
        "input": hexb(tx.data),
        "type": hexq(tx.type_id or 0),
        "v": hexq(tx.y_parity if tx.type_id else tx.v),  # type: ignore[attr-defined]
        "r": hexq(tx.r),
        "s": hexq(tx.s),
        "blockHash": hexb(block.hash) if block else None,
        "blockNumber": hexq(block.number) if block else None,
        "transactionIndex": hexq(index) if index is not None else None,
    }
    if tx.chain_id is not None:
        out["chainId"] = hexq(tx.chain_id)
    if tx.type_id:
        out["maxFeePerGas"] = hexq(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = hexq(tx.max_priority_fee_per_gas)
        out["accessList"] = [
            {"address": checksum(a), "storageKeys": [hexb(k.to_bytes(32, "big")) for k in keys]}
            for a, keys in tx.access_list
        ]
        out["yParity"] = hexq(tx.y_parity)
        base_fee = block.header.base_fee_per_gas if block else 0
        out["gasPrice"] = hexq(_effective_gas_price(tx, base_fee or 0))
    else:
        out["gasPrice"] = hexq(tx.gas_price)
    return out


def _effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    if not tx.type_id:
        return int(tx.gas_price)
    return int(min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas))


def block_json(block: BlockAPI, full: bool) -> dict[str, Any]:
    h = block.header
    txs: list[Any] = [
        transaction_json(tx, block, i) if full else hexb(tx.hash)
        for i, tx in enumerate(block.transactions)
    ]
    out: dict[str, Any] = {
        "number": hexq(h.block_number),
        "hash": hexb(h.hash),
        "parentHash": hexb(h.parent_hash),
        "nonce": hexb(h.nonce),
        "sha3Uncles": EMPTY_UNCLES_HASH,
        "logsBloom": hexb(h.bloom.to_bytes(256, "big")),
        "transactionsRoot": hexb(h.transaction_root),
        "stateRoot": hexb(h.state_root),
        "receiptsRoot": hexb(h.receipt_root),
        "miner": checksum(h.coinbase),
        "difficulty": hexq(h.difficulty),
        "totalDifficulty": hexq(0),
        "extraData": hexb(h.extra_data),
        "size": hexq(len(rlp.encode(block))),
        "gasLimit": hexq(h.gas_limit),
        "gasUsed": hexq(h.gas_used),
        "timestamp": hexq(h.timestamp),
        "transactions": txs,
        "uncles": [],
        "mixHash": hexb(h.mix_hash),
        "baseFeePerGas": hexq(h.base_fee_per_gas or 0),
        "withdrawals": [],
        "withdrawalsRoot": hexb(h.withdrawals_root or b""),
        "blobGasUsed": hexq(h.blob_gas_used),
        "excessBlobGas": hexq(h.excess_blob_gas),
        "parentBeaconBlockRoot": hexb(h.parent_beacon_block_root or b""),
    }
    return out


def log_json(row: LogRow) -> dict[str, Any]:
    return {
        "address": checksum(row.address),
        "topics": [hexb(t) for t in row.topics],
        "data": hexb(row.data),
        "blockNumber": hexq(row.block_number),
        "blockHash": hexb(row.block_hash),
        "transactionHash": hexb(row.tx_hash),
        "transactionIndex": hexq(row.tx_index),
        "logIndex": hexq(row.log_index),
        "removed": False,
    }


def receipt_json(mined: MinedReceipt) -> dict[str, Any]:
    tx, receipt, header = mined.tx, mined.receipt, mined.header
    created = contract_address(tx.sender, tx.nonce) if not tx.to else None
    return {
        "transactionHash": hexb(tx.hash),
        "transactionIndex": hexq(mined.index),
        "blockHash": hexb(header.hash),
        "blockNumber": hexq(header.block_number),
        "from": checksum(tx.sender),
        "to": checksum(tx.to) if tx.to else None,
        "cumulativeGasUsed": hexq(receipt.gas_used),
        "gasUsed": hexq(mined.gas_used),
        "effectiveGasPrice": hexq(_effective_gas_price(tx, header.base_fee_per_gas or 0)),
        "contractAddress": checksum(created) if created else None,
        "logs": [log_json(row) for row in mined.logs],
        "logsBloom": hexb(receipt.bloom.to_bytes(256, "big")),
        "status": hexq(1 if receipt.state_root == b"\x01" else 0),
        "type": hexq(tx.type_id or 0),
    }
