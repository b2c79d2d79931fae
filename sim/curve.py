"""CurveZMQ key pairs, private key files and the ZAP allow-list.

Shared by the federation bus (``sim.federation``) and the node's peer-to-peer transport
(``node.p2p``); it lives here because ``sim`` imports nothing from ``node``. What is in a key
file and how it is protected is the caller's business (the node encrypts its secret with the
node passphrase, ``node.keys.curve``; the simulator writes the run's keys in the clear,
``sim.federation.keys``); both write them with `write_private` and read them only after
`check_private` (mode 0600 or stricter).

`Admission` is the ZAP handler (RFC 27, ``inproc://zeromq.zap.01``) of one ZMQ context: it
admits a CurveZMQ client only if its public key is on the allow-list, and gives the
connection the name listed for that key as its ZAP User-Id, so every frame received on it
carries the authenticated name (`authenticated_name`) and a receiver never trusts a claimed
one. Secrets never reach it.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from zmq.utils import z85

from gridledger.sim.errors import CurveKeyError

Z85_KEY_CHARS = 40
CURVE_KEY_BYTES = 32
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
_ZAP_VERSION = b"1.0"

RefusalSink = Callable[[str, str], None]
"""Told ``(key or mechanism, peer address)`` of each connection ZAP refused."""


@dataclass(frozen=True, slots=True)
class CurveKeys:
    """A Curve25519 key pair in Z85 (40 ASCII characters each), as pyzmq's socket options take.
    The secret stays out of the repr."""

    public_z85: bytes
    secret_z85: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> CurveKeys:
        """A fresh key pair from libzmq (the OS's entropy)."""
        public_z85, secret_z85 = zmq.curve_keypair()
        return cls(bytes(public_z85), bytes(secret_z85))

    @classmethod
    def from_secret(cls, secret_z85: bytes, what: str) -> CurveKeys:
        """The key pair of a Z85 secret; `CurveKeyError` naming `what` if it is not one."""
        check_z85_key(secret_z85, what)
        return cls(bytes(zmq.curve_public(secret_z85)), secret_z85)


def check_z85_key(value: bytes, what: str) -> bytes:
    """`value` if it is a 40-character Z85 key, else `CurveKeyError` naming `what`."""
    if not isinstance(value, bytes) or len(value) != Z85_KEY_CHARS:
        raise CurveKeyError(f"{what} must be a {Z85_KEY_CHARS}-character Z85 Curve key")
    try:
        z85.decode(value)
    except (ValueError, KeyError, TypeError, struct.error):
        raise CurveKeyError(f"{what} is not valid Z85") from None
    return value


def make_private_dir(path: Path) -> None:
    """Create `path` (and its parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` (0600) via a temporary file, so a crash leaves no half key."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def check_private(path: Path) -> None:
    """`CurveKeyError` unless `path` is readable by its owner only (no group or world bits)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        who = (
            "group and others"
            if mode & 0o070 and mode & 0o007
            else ("its group" if mode & 0o070 else "others")
        )
        raise CurveKeyError(
            f"{path} has mode {mode:04o} (open to {who}); a secret key file must be 0600: "
            f"chmod 600 {path}"
        )


def authenticated_name(frame: zmq.Frame) -> str | None:
    """The ZAP User-Id (the allow-listed name) of the connection `frame` came on, or None."""
    try:
        return str(frame.get("User-Id"))
    except zmq.ZMQError:  # no ZAP handler decided on this connection
        return None


class Admission:
    """The ZAP handler of one context: admits the keys in `allowed` ({public Z85: name}).

    Serve it from the thread that polls the context's sockets: `socket` becomes readable with
    each request and `handle()` answers one (`zmq.Again` if none is waiting). Each refused
    connection is reported to `on_refused`.
    """

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        allowed: Mapping[bytes, str],
        on_refused: RefusalSink,
        domain: str,
    ) -> None:
        self.domain = domain.encode()
        self._allowed = {z85.decode(key): name for key, name in allowed.items()}
        self._on_refused = on_refused
        self.socket = context.socket(zmq.REP)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(ZAP_ENDPOINT)

    def handle(self) -> None:
        request = self.socket.recv_multipart(zmq.NOBLOCK)
        if len(request) < 6 or request[0] != _ZAP_VERSION:
            self._on_refused(f"a malformed ZAP request of {len(request)} frames", "")
            self._reply(request[1] if len(request) > 1 else b"", b"500", b"malformed", b"")
            return
        request_id, domain, address, mechanism = request[1], request[2], request[3], request[5]
        key = request[6] if len(request) > 6 else b""
        name = self._allowed.get(key) if mechanism == b"CURVE" and domain == self.domain else None
        if name is not None:
            self._reply(request_id, b"200", b"OK", name.encode())
            return
        who = z85.encode(key).decode() if len(key) == CURVE_KEY_BYTES else mechanism.decode()
        self._on_refused(who, address.decode(errors="replace"))
        self._reply(request_id, b"400", b"key not on the allow-list", b"")

    def _reply(self, request_id: bytes, status: bytes, text: bytes, user_id: bytes) -> None:
        self.socket.send_multipart([_ZAP_VERSION, request_id, status, text, user_id, b""])

    def close(self) -> None:
        self.socket.close(linger=0)


def curve_server(sock: zmq.Socket[bytes], keys: CurveKeys, domain: str) -> None:
    """Make `sock` a CurveZMQ server with `keys`, asking the context's ZAP handler (`domain`)."""
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public_z85)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret_z85)
    sock.setsockopt(zmq.ZAP_DOMAIN, domain.encode())


def curve_client(sock: zmq.Socket[bytes], keys: CurveKeys, server_public_z85: bytes) -> None:
    """Make `sock` a CurveZMQ client with `keys` of the server whose public key is given."""
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_public_z85)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public_z85)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret_z85)
