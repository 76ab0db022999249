"""Benchmark of the Python bridge (issue 4): attach, column reads, commands.

Run with /usr/bin/python3 (numpy, pyzmq, msgpack) from the repository:

    /usr/bin/python3 bench/bridge.py [BUILD_DIR] [--quick]

Every figure is printed beside the floor it is compared with, measured in
the same run; nothing is judged (exit 0 whatever the figures).

1. Attach (bench/attach.py) to a paused cluster of one universe with about
   1M and about 10M ships (95k and 950k fleets): the whole
   ``vr.attach(name)`` + ``universes[0].column(...)`` against the raw
   ``open + mmap + np.frombuffer`` of the same column.  Goal: under 1 ms,
   flat in the size.
2. Reading a 1M-entity column (``ships.hull`` of the 1M-ship cluster: a
   zero-copy view of the shared mapping) with numpy reductions (sum, mean,
   max) against the same reductions on a private copy of the same array.
   Goal: within 10%.  Best of R interleaved runs each.
3. Command round trip: ``vr.connect(name)`` (the command client) doing
   ``hash`` against a raw pyzmq DEALER round trip of a message of the same
   size to an echo ROUTER in another process (the floor); DESIGN §11 says
   53 us for a 64-byte ZeroMQ ipc round trip.  Medians of N round trips.

Clusters are started by bench.py's helpers and always stopped.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bridge", "python"))

import bench as B  # noqa: E402  (bench/bench.py: cluster start/stop, attach runs)


def column_read(name: str, reps: int) -> dict:
    """Reductions over the zero-copy ships.hull against a private copy."""
    import numpy as np
    import voidreckoning as vr
    with vr.attach(name) as world:
        with world.turn() as t:
            shared = t.universes[0].table("ships")["hull"]
            private = shared.copy()
            assert np.shares_memory(shared, np.frombuffer(t.universes[0].universe.mapping, dtype=np.uint8))
            out = {"rows": int(shared.shape[0]), "bytes": int(shared.nbytes)}
            for op in ("sum", "mean", "max"):
                f = getattr(np, op)
                f(shared), f(private)  # warm (page tables, caches)
                a, b = [], []
                for _ in range(reps):
                    t0 = time.perf_counter_ns(); f(shared); a.append(time.perf_counter_ns() - t0)
                    t0 = time.perf_counter_ns(); f(private); b.append(time.perf_counter_ns() - t0)
                out[op] = {"shared_us": min(a) / 1e3, "private_us": min(b) / 1e3,
                           "shared_median_us": statistics.median(a) / 1e3,
                           "private_median_us": statistics.median(b) / 1e3}
    return out


def _echo(endpoint: str, ready) -> None:
    import zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.bind(endpoint)
    ready.set()
    while True:
        frames = s.recv_multipart()
        if frames[-1] == b"quit":
            break
        s.send_multipart(frames)
    s.close(0)
    ctx.term()


def command_rtt(name: str, n: int) -> dict:
    """Client round trips against raw pyzmq round trips of the same sizes."""
    import msgpack
    import zmq
    import voidreckoning as vr
    client = vr.connect(name)
    client.hash()
    req = msgpack.packb({"cmd": "hash"})
    rep_len = 0
    lat = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        client.hash()
        lat.append(time.perf_counter_ns() - t0)
    # the floor: the same request and a reply of the same size, raw pyzmq, another process
    sock = f"/tmp/vr-bench-{os.getpid()}-echo.ipc"
    endpoint = f"ipc://{sock}"
    ready = mp.Event()
    p = mp.Process(target=_echo, args=(endpoint, ready), daemon=True)
    p.start()
    ready.wait(10)
    ctx = zmq.Context()
    d = ctx.socket(zmq.DEALER)
    d.connect(endpoint)
    raw = []
    try:
        r = vr.connect(name)
        rep_len = len(msgpack.packb(r.hash()))
        payload = req + b"\0" * max(0, rep_len - len(req))  # echo back a reply-sized message
        for _ in range(100):
            d.send(payload); d.recv()
        for _ in range(n):
            t0 = time.perf_counter_ns()
            d.send(payload)
            d.recv()
            raw.append(time.perf_counter_ns() - t0)
        d.send(b"quit")
    finally:
        d.close(0)
        ctx.term()
        p.join(5)
        if os.path.exists(sock):
            os.unlink(sock)
    return {"client_median_us": statistics.median(lat) / 1e3, "client_p90_us": sorted(lat)[int(0.9 * n)] / 1e3,
            "raw_median_us": statistics.median(raw) / 1e3, "raw_p90_us": sorted(raw)[int(0.9 * n)] / 1e3,
            "request_bytes": len(req), "reply_bytes": rep_len, "n": n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default=os.path.join(B.ROOT, "build"))
    ap.add_argument("--quick", action="store_true", help="skip the 10M-entity cluster")
    ap.add_argument("--iterations", type=int, default=300, help="attaches per size")
    ap.add_argument("--reps", type=int, default=50, help="interleaved runs of each reduction")
    ap.add_argument("--rtt", type=int, default=3000, help="command round trips")
    a = ap.parse_args()
    b = B.Bench(a.build)
    sizes = [("1M", 95000)] + ([] if a.quick else [("10M", 950000)])
    rows = []
    try:
        att = {}
        for what, fleets in sizes:
            B.log(f"attach, {what} ships ({fleets} fleets)")
            att[what] = B.attach(b, f"att{what}", a.iterations, "--fleets", str(fleets), "--systems", "8192")
        name = b.name("read")
        p = b.start_paused(name, "--universes", "1", "--fleets", "95000", "--systems", "8192")
        try:
            B.log("column reads and command round trips")
            rd = column_read(name, a.reps)
            rtt = command_rtt(name, a.rtt) if hasattr(__import__("voidreckoning"), "connect") else None
        finally:
            b.shutdown(p, name)
    finally:
        B.cleanup()
    print("## Python bridge\n")
    for line in B.machine():
        print(f"- {line}")
    print("\n| what | figure | floor | ratio |\n|---|---|---|---|")
    for what, r in att.items():
        full, raw = r["bridge_full"], r["raw"]
        print(f"| attach + first column, {what} ships ({r['arena_bytes'] / 2**30:.2f} GiB arena) | "
              f"{full['median_ms']:.3f} ms (p90 {full['p90_ms']:.3f}) | raw open+mmap+frombuffer: "
              f"{raw['median_ms']:.3f} ms; goal < 1 ms | {full['median_ms'] / raw['median_ms']:.1f} |")
    for op in ("sum", "mean", "max"):
        s = rd[op]
        print(f"| np.{op} of a {rd['rows'] / 1e6:.2f}M-row shared column ({rd['bytes'] / 1e6:.1f} MB) | "
              f"{s['shared_us']:.0f} us | same on a private copy: {s['private_us']:.0f} us; goal within 10% | "
              f"{s['shared_us'] / s['private_us']:.2f} |")
    if rtt:
        print(f"| command round trip (`vr.connect().hash()`, {rtt['request_bytes']} B out, {rtt['reply_bytes']} B "
              f"back) | {rtt['client_median_us']:.0f} us (p90 {rtt['client_p90_us']:.0f}) | raw pyzmq round trip, "
              f"same sizes: {rtt['raw_median_us']:.0f} us (p90 {rtt['raw_p90_us']:.0f}); DESIGN §11: 53 us | "
              f"{rtt['client_median_us'] / rtt['raw_median_us']:.2f} |")
    print()
    print(json.dumps({"attach": att, "read": rd, "rtt": rtt}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
