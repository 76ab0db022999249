#!/usr/bin/python3
"""Event stream benchmark: events per second through the stream, beside the
raw pyzmq PUB/SUB rate for the same messages measured in the same run.

    /usr/bin/python3 bench/events.py [--build build-rel] [--universes 2] [--seconds 5]

1. Starts a real cluster (vr-coordinator of the build, default scenario) and
   captures its event messages for a few seconds with a raw SUB socket: what
   a cluster produces (events/s, messages/s, bytes).
2. Reads the live stream with voidreckoning.events() (one Event object per
   record) and with EventStream.batches() (one Batch per message): events/s
   received and messages dropped (a subscriber slower than the cluster loses
   messages, never slows it).
3. Floor: a separate publisher process replays the captured payloads as fast
   as pyzmq can over ipc; this process receives them raw (recv_multipart
   only), then decodes them as the bridge does (Event per record, or Batch).
4. The batching choice: the same records replayed as one message per record
   (a msgpack map each) against one message per kind and turn.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import zmq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bridge" / "python"))
import voidreckoning as vr  # noqa: E402

PUBLISHER = r"""
import sys, time, zmq, msgpack
ep, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
msgs = msgpack.unpackb(open(path, "rb").read())
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.SNDHWM, 0)
s.bind(ep)
time.sleep(0.5)  # the subscriber connects
k = len(msgs)
for i in range(n):
    t, p = msgs[i % k]
    s.send(t, zmq.SNDMORE)
    s.send(p)
s.send_multipart([b"end", b""])
time.sleep(0.5)
s.close(-1)  # deliver everything, however slow the reader
ctx.term()
"""


def replay(msgs, n, decode):
    """Publishes n messages cycling over msgs from another process; returns
    (seconds, messages, events) as received here with decode(frames)."""
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "msgs"
        data.write_bytes(msgpack.packb(msgs))
        ep = f"ipc://{d}/bench.sock"
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.RCVHWM, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(ep)
        p = subprocess.Popen([sys.executable, "-c", PUBLISHER, ep, str(data), str(n)])
        got = events = 0
        t0 = None
        try:
            while True:
                if not sub.poll(60000):
                    raise RuntimeError("publisher stopped sending")
                f = sub.recv_multipart()
                if t0 is None:
                    t0 = time.perf_counter()
                if f[0] == b"end":
                    break
                got += 1
                events += decode(f)
            dt = time.perf_counter() - t0
        finally:
            p.wait()
            sub.close(0)
            ctx.term()
        return dt, got, events


def dec_raw(f):
    return 0


def dec_events(f):
    m = msgpack.unpackb(f[1])
    b = vr.Batch(m["kind"], m["universe"], m["turn"], m["seq"], tuple(m["fields"]), m["rows"])
    return len(b.events())


def dec_batches(f):
    m = msgpack.unpackb(f[1])
    return len(m["rows"])


def dec_record(f):
    m = msgpack.unpackb(f[1])
    vr.Event(m.pop("kind"), m.pop("universe"), m.pop("turn"), m, m.pop("seq"))
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build-rel"))
    ap.add_argument("--universes", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    coord = Path(a.build) / "bin" / "vr-coordinator"
    if not coord.exists():
        coord = ROOT / "build" / "bin" / "vr-coordinator"
    name = f"bench-ev-{os.getpid()}"
    rundir = tempfile.mkdtemp(prefix="vr-bench-ev-")
    env = dict(os.environ, VR_RUNDIR=rundir)
    proc = subprocess.Popen([str(coord), "-n", name, "-q", "-u", str(a.universes)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with vr.attach(name) as c:
                    if c.status == "running":
                        eps = [c.events_endpoint] + [bytes(e).decode() for e in c.records()["events"]]
                        break
            except vr.VrError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"cluster did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
            time.sleep(0.1)

        # 1. what the cluster produces
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.RCVHWM, 0)
        for ep in eps:
            sub.connect(ep)
        time.sleep(0.5)
        msgs, nev, nbytes = [], 0, 0
        t_first = t_last = None
        turn0 = turn1 = None
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            if not sub.poll(200):
                continue
            t, p = sub.recv_multipart()
            m = msgpack.unpackb(p)
            msgs.append((t, p))
            nev += len(m["rows"])
            nbytes += len(p)
            if t == b"turn":
                turn0 = m["turn"] if turn0 is None else turn0
                turn1 = m["turn"]
                t_first = t_first or time.perf_counter()
                t_last = time.perf_counter()
        sub.close(0)
        ctx.term()
        span = (t_last - t_first) if t_first and t_last and t_last > t_first else a.seconds
        turns = (turn1 - turn0) if turn0 is not None else 0
        kinds = {}
        for t, p in msgs:
            kinds.setdefault(t.decode(), []).append(len(p))
        print(f"## vr event stream: {a.universes} universes, default scenario, {a.seconds:.0f} s per phase\n")
        print(f"cluster: {turns / span:.1f} turns/s; it produced {nev / a.seconds:,.0f} events/s in "
              f"{len(msgs) / a.seconds:,.0f} messages/s ({nbytes / a.seconds / 1e6:.2f} MB/s)")
        for k, v in sorted(kinds.items()):
            print(f"  {k:9s} {len(v):6d} messages, mean {sum(v) / len(v):7.0f} B")
        print()

        # 2. the live stream through the bridge
        rows = []
        for mode in ("Event", "Batch"):
            with vr.events(name, timeout=2) as s:
                time.sleep(0.5)
                n = 0
                t0 = time.perf_counter()
                end = t0 + a.seconds
                if mode == "Event":
                    for _ev in s:
                        n += 1
                        if time.perf_counter() > end:
                            break
                else:
                    for b in s.batches():
                        n += len(b.rows)
                        if time.perf_counter() > end:
                            break
                dt = time.perf_counter() - t0
                rows.append((f"live cluster through vr.events(), one {mode} per "
                             f"{'record' if mode == 'Event' else 'message'}", n / dt, s.dropped))
        print("| what | events/s | dropped messages |\n|---|---|---|")
        for w, r, d in rows:
            print(f"| {w} | {r:,.0f} | {d} |")
        print()
    finally:
        proc.send_signal(2)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(rundir, ignore_errors=True)

    # 3. the floor: same payloads, replayed as fast as pyzmq goes
    per_msg_events = nev / max(1, len(msgs))
    mean = nbytes / max(1, len(msgs))
    n = int(min(200000, 300e6 / max(1.0, mean)))
    print(f"replay of the captured messages ({len(msgs)} distinct, mean {mean:.0f} B, "
          f"{per_msg_events:.1f} events each), {n} messages, publisher in another process:\n")
    print("| what | messages/s | events/s | MB/s |\n|---|---|---|---|")
    for label, dec in (("raw pyzmq PUB/SUB, recv_multipart only (floor)", dec_raw),
                       ("+ msgpack decode, Batch per message", dec_batches),
                       ("+ msgpack decode, Event per record (as vr.events iterates)", dec_events)):
        dt, got, ev = replay(msgs, n, dec)
        evs = got * per_msg_events if dec is dec_raw else ev
        print(f"| {label} | {got / dt:,.0f} | {evs / dt:,.0f} | {got * mean / dt / 1e6:.1f} |")

    # 4. batching: the same records, one message each
    single = []
    for t, p in msgs:
        m = msgpack.unpackb(p)
        for r in m["rows"]:
            rec = dict(zip(m["fields"], r))
            rec.update(kind=m["kind"], universe=m["universe"], turn=m["turn"], seq=m["seq"])
            single.append((t, msgpack.packb(rec)))
    if single:
        n1 = int(min(400000, 300e6 / (sum(len(p) for _, p in single) / len(single))))
        dt, got, ev = replay(single, n1, dec_record)
        dtr, gotr, _ = replay(single, n1, dec_raw)
        print(f"| one message per record ({sum(len(p) for _, p in single) / len(single):.0f} B): raw pyzmq | "
              f"{gotr / dtr:,.0f} | {gotr / dtr:,.0f} | — |")
        print(f"| one message per record, + decode, Event per record | {got / dt:,.0f} | {ev / dt:,.0f} | — |")


if __name__ == "__main__":
    main()
