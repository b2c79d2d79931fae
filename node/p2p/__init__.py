"""Node-to-node transport: gossip and block sync over ZMQ, CurveZMQ with a key allow-list.

The consensus uses three things from here::

    keys = load_or_create_curve_keys(data_dir / "p2p")   # node.keys.curve; GRIDLEDGER_PASSPHRASE
    peers = [Peer("b", "tcp://127.0.0.1:7002", b_public_z85), ...]  # node.p2p.peers
    transport = Transport("a", keys, "tcp://127.0.0.1:7001", peers, handler)
    transport.start()
    transport.broadcast(Tx(raw)) / transport.broadcast(Block(rlp))
    transport.send("b", Status(...))
    reply = transport.request("b", GetBlocks(from_number, count), timeout_s=2.0)  # or None
    transport.peers_alive(); transport.drop_links(["b"]); transport.restore_links()
    transport.stop()

``handler(peer_name, message) -> Message | None`` runs on the transport's handler thread for
every valid incoming message; for a request its return value is the reply. `peer_name` is
the name the *receiving* node configured for the sender's authenticated Curve key.
Messages (`node.p2p.wire`): `Tx`, `Block`, `Status`, `GetBlocks` -> `Blocks`,
`GetBlockByHash` -> `Blocks`, `Error`, `VoteMessage`. Threads, limits and failure behaviour:
`node.p2p.transport`, `node.p2p.ioloop`, `node.p2p.admission`; docs/ledger.md
"P2P transport".
"""

from gridledger.node.keys.curve import CurveKeys, load_or_create_curve_keys, read_public_key
from gridledger.node.p2p.errors import P2PError, WireError
from gridledger.node.p2p.peers import Peer
from gridledger.node.p2p.stats import TransportStats
from gridledger.node.p2p.transport import Handler, Transport
from gridledger.node.p2p.wire import (
    Block,
    Blocks,
    Error,
    GetBlockByHash,
    GetBlocks,
    Message,
    Status,
    Tx,
    VoteMessage,
)

__all__ = [
    "Block",
    "Blocks",
    "CurveKeys",
    "Error",
    "GetBlockByHash",
    "GetBlocks",
    "Handler",
    "Message",
    "P2PError",
    "Peer",
    "Status",
    "Transport",
    "TransportStats",
    "Tx",
    "VoteMessage",
    "WireError",
    "load_or_create_curve_keys",
    "read_public_key",
]
