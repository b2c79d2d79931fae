#!/usr/bin/env bash
# What CurveZMQ costs a bus message: DEALER -> ROUTER -> DEALER round trips of a tick-sized
# message (600 bytes) over tcp loopback, in the clear and with Curve (the bus's sockets:
# sim/curve.py, ZAP allow-list), alternating blocks of 2,000 in one process, 5 blocks each.
# Prints the median round trip [us] of each and the ratio. Recorded in BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
.venv/bin/python - <<'PY'
import json, statistics, time
import zmq
from gridledger.sim.curve import Admission, CurveKeys, curve_client, curve_server

MESSAGE = b"x" * 600
ROUND_TRIPS = 2000

def pair(curve: bool):
    ctx = zmq.Context()
    server, client = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    admission = None
    if curve:
        server_keys, client_keys = CurveKeys.generate(), CurveKeys.generate()
        admission = Admission(ctx, {client_keys.public_z85: "c"}, lambda *a: None, "bench")
        curve_server(server, server_keys, "bench")
        curve_client(client, client_keys, server_keys.public_z85)
    server.bind("tcp://127.0.0.1:*")
    client.connect(server.getsockopt_string(zmq.LAST_ENDPOINT))
    poller = zmq.Poller()
    poller.register(server, zmq.POLLIN)
    if admission is not None:
        poller.register(admission.socket, zmq.POLLIN)
    client.send(b"hello")
    while True:  # serve the handshake's ZAP request, then take the first message
        ready = dict(poller.poll(5000))
        if admission is not None and admission.socket in ready:
            admission.handle()
        if server in ready:
            identity, _ = server.recv_multipart()
            break
    return ctx, server, client, identity, admission

def block(curve: bool) -> float:
    ctx, server, client, identity, admission = pair(curve)
    started = time.perf_counter()
    for _ in range(ROUND_TRIPS):
        server.send_multipart([identity, MESSAGE])
        client.send(client.recv())
        server.recv_multipart()
    elapsed = time.perf_counter() - started
    for sock in (server, client):
        sock.close(0)
    if admission is not None:
        admission.close()
    ctx.term()
    return elapsed / ROUND_TRIPS * 1e6

times = {"clear": [], "curve": []}
for _ in range(5):
    for side in ("clear", "curve"):
        times[side].append(block(side == "curve"))
med = {side: round(statistics.median(v), 1) for side, v in times.items()}
print(json.dumps({"round_trip_us": times, "median_us": med,
                  "ratio_curve_to_clear": round(med["curve"] / med["clear"], 3)}))
PY
