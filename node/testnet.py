"""A local multi-node testnet: keys, the shared genesis, one process per node, status, stop.

Layout of the data directory (kept by `down`, resumed by `up`)::

    DIR/testnet.json     the nodes: name, HTTP port, P2P port, role
    DIR/genesis.json     the shared genesis (authorities, period, contracts' deploy transactions)
    DIR/nodeK/node.toml  node K's config; keystore/ (encrypted keys), p2p/ (Curve keys),
                         chain/ (its replica), node.log, node.pid

Node 1 holds the stack's admin, operator, regulator and treasury roles ("operator"); the
others are "prosumer" nodes. Every node is an authority. With `operator_service`, node 1
runs the operator service ([operator] in its node.toml): it admits every node's prosumer
account with that node's meter (a key per node in DIR/meters/, standing in for the meter
device) and funds it, then clears and settles every market interval by itself. HTTP port of
node K: base + K - 1; P2P port: base + 1000 + K - 1.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from gridledger.node.errors import ConfigError, NodeError
from gridledger.node.keys import PASSPHRASE_ENV, load_or_create, load_or_create_key, passphrase
from gridledger.node.keys.authority import load_or_create_authority_key
from gridledger.node.keys.curve import load_or_create_curve_keys, read_public_key
from gridledger.node.launch import node_run_command
from gridledger.node.ledger.deploy import MarketTiming, RegulationRules, Roles
from gridledger.node.ledger.embedded.genesis import ROLE_FUND_WEI, GenesisConfig
from gridledger.node.ledger.embedded.genesis_file import load_genesis_file, write_genesis_file
from gridledger.node.ledger.genesis_deploy import record_deployment

P2P_PORT_OFFSET = 1000
START_TIMEOUT_S = 90.0


class TestnetError(NodeError):
    """The testnet cannot be created, started, read or stopped (the message says why)."""


@dataclass(frozen=True, slots=True)
class NodeEntry:
    name: str
    http_port: int
    p2p_port: int
    role: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def free_base_port(nodes: int, first: int = 20_000) -> int:
    """A base port from `first` on whose HTTP and P2P ports for `nodes` nodes are all free
    right now, below Linux's ephemeral range (32768+), so no outgoing connection can take one
    while a node restarts. (Parallel callers pass different `first`s.)"""
    for base in itertools.chain(range(first, 31_700 - nodes, 37), range(20_000, first, 37)):
        ports = [base + i for i in range(nodes)]
        ports += [base + P2P_PORT_OFFSET + i for i in range(nodes)]
        if all(_port_free(p) for p in ports):
            return base
    raise TestnetError("no free port range between 20000 and 32700")


def _port_free(port: int) -> bool:
    """Whether a listener could bind `port` on loopback now (SO_REUSEADDR, as uvicorn and
    ZMQ bind, so connections in TIME_WAIT do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_port_free(port: int, name: str, timeout_s: float = 15.0) -> None:
    """Wait until `port` can be bound (a node just stopped may still hold it)."""
    deadline = time.monotonic() + timeout_s
    while not _port_free(port):
        if time.monotonic() > deadline:
            raise TestnetError(f"port {port} of {name} is in use by another program")
        time.sleep(0.1)


def _layout_path(data_dir: Path) -> Path:
    return data_dir / "testnet.json"


def load_layout(data_dir: Path) -> list[NodeEntry]:
    path = _layout_path(data_dir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [NodeEntry(**entry) for entry in doc["nodes"]]
    except FileNotFoundError:
        raise TestnetError(
            f"{data_dir} holds no testnet (no {path.name}); run testnet up"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise TestnetError(f"{path} is damaged: {exc}") from exc


@dataclass(frozen=True, slots=True)
class TestnetSpec:
    """What a new testnet is made of: `nodes` processes, HTTP ports from `base_port`, blocks
    every `period_s` [s] on the "wall" or "sim" clock, the genesis time `genesis_ts` [unix s]
    (default: now), `participants` (node name -> microgrid names: a funded participant key per
    microgrid in that node's keystore/participants/MG.json), the market's gate closure lead
    [s] and its interval length [s]. Only `up` on an empty data dir reads it; a resumed
    testnet keeps its own."""

    nodes: int = 4
    base_port: int = 8545
    period_s: int = 1
    clock: str = "wall"
    genesis_ts: int | None = None
    participants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    gate_closure_lead_s: int = 300
    interval_length_s: int = 900
    operator_service: bool = False
    auto_bid: bool = False

    def __post_init__(self) -> None:
        if not self.period_s <= self.interval_length_s <= 86_400:
            raise TestnetError(
                f"--interval-s must be in [{self.period_s} (the block period), 86400], "
                f"got {self.interval_length_s}"
            )
        if not 3 * self.period_s <= self.gate_closure_lead_s <= 86_400:
            raise TestnetError(
                f"--gate-lead-s must be at least 3 block periods ({3 * self.period_s} s) for "
                f"the operator to clear before delivery, got {self.gate_closure_lead_s}"
            )
        if self.clock not in ("wall", "sim"):
            raise TestnetError(f"--clock must be wall or sim, got {self.clock!r}")
        if not 1 <= self.nodes <= 16:
            raise TestnetError(f"--nodes must be 1..16, got {self.nodes}")
        if not 1024 <= self.base_port <= 65535 - P2P_PORT_OFFSET - self.nodes:
            raise TestnetError(f"--base-port must leave room for {self.nodes} HTTP and P2P ports")


def create(data_dir: Path, spec: TestnetSpec, say: Callable[[str], None]) -> list[NodeEntry]:
    """Keys for every node, the shared genesis with the contracts, and each node's config."""
    nodes, base_port, period_s = spec.nodes, spec.base_port, spec.period_s
    passphrase()  # fail before creating anything
    data_dir.mkdir(parents=True, exist_ok=True)
    entries = [
        NodeEntry(
            f"node{k}",
            base_port + k - 1,
            base_port + P2P_PORT_OFFSET + k - 1,
            "operator" if k == 1 else "prosumer",
        )
        for k in range(1, nodes + 1)
    ]
    accounts: list[dict[str, LocalAccount]] = []
    authorities: list[str] = []
    for entry in entries:
        node_dir = data_dir / entry.name
        say(f"keys for {entry.name}")
        accounts.append(load_or_create(node_dir / "keystore"))
        key = load_or_create_authority_key(node_dir / "keystore")
        authorities.append(key.public_key.to_checksum_address())
        load_or_create_curve_keys(node_dir / "p2p")
    prefund: dict[str, int] = {
        str(a.address): ROLE_FUND_WEI for roles in accounts for a in roles.values()
    }
    for node_name, microgrids in spec.participants.items():
        for microgrid in microgrids:
            account = load_or_create_key(participant_key_path(data_dir / node_name, microgrid))
            prefund[str(account.address)] = ROLE_FUND_WEI
    prefund.update({address: ROLE_FUND_WEI for address in authorities})
    now_ts = int(time.time()) if spec.genesis_ts is None else spec.genesis_ts
    base = GenesisConfig(
        timestamp_ts=now_ts - now_ts % period_s,
        prefund=prefund,
        authorities=tuple(authorities),
        period_s=period_s,
    )
    operator = accounts[0]
    roles = Roles(*(operator[r].address for r in ("admin", "operator", "regulator", "treasury")))
    day_start_ts = base.timestamp_ts - base.timestamp_ts % 86_400
    say("recording the contracts' deployment into the genesis")
    txs, contracts = record_deployment(
        base,
        operator["admin"],
        roles,
        RegulationRules(),
        MarketTiming(
            day_start_ts,
            interval_length_s=spec.interval_length_s,
            gate_closure_lead_s=spec.gate_closure_lead_s,
        ),
    )
    write_genesis_file(
        data_dir / "genesis.json", dataclasses.replace(base, deploy_txs=txs), contracts
    )
    members = []
    if spec.operator_service:
        for entry, node_accounts in zip(entries, accounts, strict=True):
            meter = load_or_create_key(meter_key_path(data_dir, entry.name))
            members.append((str(node_accounts["prosumer"].address), str(meter.address)))
        for node_name, microgrids in spec.participants.items():
            for microgrid in microgrids:  # a microgrid's meter reports for its participant
                account = load_or_create_key(participant_key_path(data_dir / node_name, microgrid))
                meter = load_or_create_key(meter_key_path(data_dir, microgrid))
                members.append((str(account.address), str(meter.address)))
    for entry in entries:
        _write_node_config(data_dir, entry, entries, spec.clock)
        if spec.operator_service and entry.role == "operator":
            _append_operator_section(data_dir / entry.name / "node.toml", members)
        if spec.auto_bid:
            with (data_dir / entry.name / "node.toml").open("a", encoding="utf-8") as f:
                f.write("\n[prosumer]\nauto_bid = true\n")
    layout = {"nodes": [asdict(e) for e in entries], "period_s": period_s}
    _layout_path(data_dir).write_text(json.dumps(layout, indent=1), encoding="utf-8")
    return entries


def meter_key_path(data_dir: Path, name: str) -> Path:
    """Where a testnet keeps the key of the meter of node `name`'s prosumer or of microgrid
    `name` (the device's, not the node's: a meter feed signs with it; the node never reads
    it)."""
    return data_dir / "meters" / f"{name}.json"


def _append_operator_section(path: Path, members: list[tuple[str, str]]) -> None:
    lines = ["", "[operator]", "auto_clear = true", "faucet = true"]
    for participant, meter in members:
        lines += [
            "",
            "[[operator.members]]",
            f'participant = "{participant}"',
            f'meter = "{meter}"',
        ]
    with path.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def participant_key_path(node_dir: Path, microgrid: str) -> Path:
    """Where a node keeps the participant key of `microgrid`."""
    return node_dir / "keystore" / "participants" / f"{microgrid}.json"


def _write_node_config(
    data_dir: Path, entry: NodeEntry, entries: list[NodeEntry], clock: str
) -> None:
    lines = [
        "[node]",
        f'name = "{entry.name}"',
        f'clock = "{clock}"',
        'host = "127.0.0.1"',
        f"port = {entry.http_port}",
        "",
        "[chain]",
        'genesis_file = "../genesis.json"',
        "",
        "[p2p]",
        f"port = {entry.p2p_port}",
    ]
    for peer in entries:
        if peer.name == entry.name:
            continue
        public = read_public_key(data_dir / peer.name / "p2p").decode()
        lines += [
            "",
            "[[p2p.peers]]",
            f'name = "{peer.name}"',
            f'endpoint = "tcp://127.0.0.1:{peer.p2p_port}"',
            f'public_key = "{public}"',
        ]
    (data_dir / entry.name / "node.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- processes
def _pid_path(data_dir: Path, entry: NodeEntry) -> Path:
    return data_dir / entry.name / "node.pid"


def running_pid(data_dir: Path, entry: NodeEntry) -> int | None:
    """The pid of the node's process if it runs (the pid file names a live node process)."""
    return live_pid(_pid_path(data_dir, entry), data_dir.resolve() / entry.name)


def live_pid(pid_file: Path, argument: Path) -> int | None:
    """The pid in `pid_file` if that process lives and has `argument` on its command line
    (a recycled pid of another program is not taken for it)."""
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if stat.rpartition(")")[2].split()[0] == "Z":
        return None  # exited, not yet reaped
    if not cmdline:
        return pid  # just spawned: the command line appears once exec completes
    return pid if str(argument).encode() in cmdline.split(b"\0") else None


def spawn_detached(command: list[str], log_path: Path, pid_file: Path) -> int:
    """Start `command` in its own session (it outlives the caller) with the passphrase in its
    environment and its output appended to `log_path`; its pid, also written to `pid_file`."""
    env = {**os.environ, PASSPHRASE_ENV: passphrase()}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n", encoding="utf-8")
    return proc.pid


def _spawn(data_dir: Path, entry: NodeEntry) -> int:
    node_dir = data_dir.resolve() / entry.name
    command = node_run_command(node_dir, "--config", str(node_dir / "node.toml"))
    return spawn_detached(command, node_dir / "node.log", _pid_path(data_dir, entry))


def health(entry: NodeEntry, timeout_s: float = 1.0) -> dict[str, Any] | None:
    try:
        reply = requests.get(f"{entry.url}/healthz", timeout=timeout_s)
        body = reply.json() if reply.ok else None
    except (requests.RequestException, ValueError):
        return None
    return body if isinstance(body, dict) else None


def up(data_dir: Path, spec: TestnetSpec, say: Callable[[str], None]) -> list[NodeEntry]:
    """Create the testnet of `spec` if `data_dir` has none, start every node that is not
    running, and return once all serve. With the "sim" clock the nodes seal only when told
    the simulation's time (POST /v1/admin/clock)."""
    if _layout_path(data_dir).exists():
        entries = load_layout(data_dir)
        say(f"resuming the testnet in {data_dir} ({len(entries)} nodes)")
    else:
        entries = create(data_dir, spec, say)
    started: list[NodeEntry] = []
    for entry in entries:
        pid = running_pid(data_dir, entry)
        if pid is not None:
            say(f"{entry.name} already running (pid {pid})")
            continue
        for port in (entry.http_port, entry.p2p_port):
            _wait_port_free(port, entry.name)
        pid = _spawn(data_dir, entry)
        say(f"started {entry.name} (pid {pid}), HTTP {entry.url}, log {entry.name}/node.log")
        started.append(entry)
    deadline = time.monotonic() + START_TIMEOUT_S
    waiting = list(started)
    while waiting and time.monotonic() < deadline:
        for entry in list(waiting):
            if running_pid(data_dir, entry) is None:
                tail = _log_tail(data_dir, entry)
                raise TestnetError(f"{entry.name} exited while starting:\n{tail}")
            body = health(entry)
            if body is not None and body.get("status") == "ok":
                say(f"{entry.name} serving at {entry.url} (head {body.get('head')})")
                waiting.remove(entry)
        time.sleep(0.2)
    if waiting:
        names = ", ".join(e.name for e in waiting)
        raise TestnetError(f"{names} not serving after {START_TIMEOUT_S:.0f} s; see their node.log")
    _wait_operator_setup(data_dir, entries, say)
    return entries


def _operator_state(entry: NodeEntry) -> dict[str, Any] | None:
    try:
        reply = requests.get(f"{entry.url}/v1/operator", timeout=2.0)
        body = reply.json() if reply.ok else None
    except (requests.RequestException, ValueError):
        return None
    # None: no answer, or the node runs no operator service (`running` false)
    return body if isinstance(body, dict) and body.get("running") else None


def _wait_operator_setup(
    data_dir: Path, entries: list[NodeEntry], say: Callable[[str], None]
) -> None:
    """If the operator's node runs the operator service, wait until it has admitted and funded
    its members and every node has the block that did it: a bid right after `up` finds its
    prosumer admitted on its own node."""
    operator = next((e for e in entries if e.role == "operator"), None)
    if operator is None or _operator_state(operator) is None:
        return  # no operator service (--no-operator, or a demo's testnet)
    if 'clock = "sim"' in (data_dir / operator.name / "node.toml").read_text(encoding="utf-8"):
        return  # no block before the simulation moves the clock: its admissions wait for it
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = _operator_state(operator)
        if state is not None and state.get("setup_done"):
            break
        time.sleep(0.2)
    else:
        raise TestnetError(f"the operator service on {operator.name} did not admit its members")
    target = (health(operator) or {}).get("head") or 0
    while time.monotonic() < deadline:
        heads = [(health(e) or {}).get("head") or 0 for e in entries]
        if min(heads) >= target:
            break
        time.sleep(0.2)
    say(f"operator on {operator.name}: {len(state['members'])} prosumers admitted and funded")


def _log_tail(data_dir: Path, entry: NodeEntry, lines: int = 15) -> str:
    try:
        text = (data_dir / entry.name / "node.log").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def down(data_dir: Path, say: Callable[[str], None], timeout_s: float = 15.0) -> int:
    """Stop every running node (SIGTERM, then SIGKILL after `timeout_s`); keep the data.
    Returns how many were stopped."""
    stopped = 0
    for entry in load_layout(data_dir):
        pid = running_pid(data_dir, entry)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while running_pid(data_dir, entry) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if running_pid(data_dir, entry) is not None:
            os.kill(pid, signal.SIGKILL)
            say(f"{entry.name} (pid {pid}) did not stop in {timeout_s:.0f} s; killed")
            killed_by = time.monotonic() + 5.0
            while running_pid(data_dir, entry) is not None and time.monotonic() < killed_by:
                time.sleep(0.05)
        else:
            say(f"stopped {entry.name} (pid {pid})")
        _pid_path(data_dir, entry).unlink(missing_ok=True)
        stopped += 1
    return stopped


def status(data_dir: Path) -> dict[str, Any]:
    """Each node's URLs, pid, address, role, head, finalized height and peers; the contracts."""
    entries = load_layout(data_dir)
    try:
        genesis, contracts = load_genesis_file(data_dir / "genesis.json")
    except ConfigError as exc:
        raise TestnetError(str(exc)) from exc
    nodes = []
    for index, entry in enumerate(entries):
        pid = running_pid(data_dir, entry)
        body = health(entry) if pid is not None else None
        nodes.append(
            {
                "name": entry.name,
                "role": entry.role,
                "pid": pid,
                "state": (body or {}).get("status", "down" if pid is None else "not answering"),
                "http_url": entry.url,
                "rpc_url": f"{entry.url}/rpc",
                "p2p_port": entry.p2p_port,
                "address": genesis.authorities[index] if index < len(genesis.authorities) else None,
                "head": (body or {}).get("head"),
                "finalized": (body or {}).get("finalized"),
                "peers": (body or {}).get("peers"),
            }
        )
    return {
        "data_dir": str(data_dir),
        "chain_id": genesis.chain_id,
        "period_s": genesis.period_s,
        "nodes": nodes,
        "contracts": contracts,
    }


def format_status(doc: dict[str, Any]) -> str:
    lines = [
        f"testnet in {doc['data_dir']}: chain id {doc['chain_id']}, period {doc['period_s']} s"
    ]
    header = f"{'node':<8}{'role':<10}{'pid':>8}  {'state':<14}{'head':>7}{'final':>7}  peers  rpc"
    lines.append(header)
    for n in doc["nodes"]:
        peers = ",".join(p.removeprefix("node") for p in n["peers"] or []) or "-"
        lines.append(
            f"{n['name']:<8}{n['role']:<10}{n['pid'] or '-':>8}  {n['state']:<14}"
            f"{_dash(n['head']):>7}{_dash(n['finalized']):>7}  {peers:<6} {n['rpc_url']}"
        )
    for n in doc["nodes"]:
        lines.append(f"{n['name']} authority {n['address']}")
    if doc.get("sim_feed_pid") is not None:
        lines.append(f"simulator feed: pid {doc['sim_feed_pid']}, log {doc['data_dir']}/sim.log")
    lines.append("contracts:")
    lines += [f"  {name:<13}{address}" for name, address in doc["contracts"].items()]
    return "\n".join(lines)


def _dash(value: object) -> str:
    return "-" if value is None else str(value)
