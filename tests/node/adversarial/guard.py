"""What every attack test ends with, on every node of the testnet: the node is up, its head
advances, and the state root and every transaction acknowledged before the attack are
unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from tests.node.testnet.harness import LocalTestnet, transfer, wait_for


@dataclass(frozen=True, slots=True)
class Ledger:
    """A block and the receipts of acknowledged transactions, as read before an attack."""

    number: int
    block_hash: bytes
    state_root: bytes
    receipts: dict[bytes, tuple[bytes, int, int]]  # tx hash -> (block hash, index, status)


def acknowledge(net: LocalTestnet, name: str, sender: LocalAccount, count: int = 2) -> Ledger:
    """Send `count` transfers from `sender` through node `name`, wait until they are final
    (an unfinalized block may be reorganized away on a loaded machine, legitimately), and read
    the block holding the last one."""
    w3 = net.w3(name)
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    hashes = [transfer(net, name, sender, nonce + i) for i in range(count)]
    mined = [w3.eth.wait_for_transaction_receipt(h, timeout=30) for h in hashes]
    last = max(int(r["blockNumber"]) for r in mined)
    wait_for(
        f"block {last} to be final on {name}",
        lambda: int(w3.eth.get_block("finalized")["number"]) >= last,
        60,
    )
    receipts = {h: w3.eth.get_transaction_receipt(h) for h in hashes}
    number = max(int(r["blockNumber"]) for r in receipts.values())
    block = w3.eth.get_block(number)
    return Ledger(
        number=number,
        block_hash=bytes(block["hash"]),
        state_root=bytes(block["stateRoot"]),
        receipts={
            h: (bytes(r["blockHash"]), int(r["transactionIndex"]), int(r["status"]))
            for h, r in receipts.items()
        },
    )


def assert_intact(net: LocalTestnet, name: str, before: Ledger) -> None:
    """Every node answers, seals past its head, and kept `before` exactly (`name`, the node
    attacked, first)."""
    names = [name, *(e.name for e in net.entries if e.name != name)]
    for node in names:
        assert net.pid(node) is not None, f"{node} is down:\n{net.log(node)[-2000:]}"
        head = int(net.health(node)["head"])
        wait_for(f"{node}'s head to pass {head}", lambda n=node, h=head: _head(net, n) > h, 30)
        w3 = net.w3(node)
        block = w3.eth.get_block(before.number)
        assert (bytes(block["hash"]), bytes(block["stateRoot"])) == (
            before.block_hash,
            before.state_root,
        ), node
        for tx_hash, (block_hash, index, status) in before.receipts.items():
            receipt = w3.eth.get_transaction_receipt(tx_hash)
            assert (bytes(receipt["blockHash"]), int(receipt["transactionIndex"])) == (
                block_hash,
                index,
            ), node
            assert int(receipt["status"]) == status


def _head(net: LocalTestnet, name: str) -> int:
    return int(net.health(name).get("head", -1))
