"""Benchmark of the cluster backbone: turn protocol and read-only attach.

Run through bench/run.sh, which builds what is needed first.  Prints a
Markdown table (what | figure | floor | ratio): every figure beside the floor
it is compared with, measured in the same run where possible (DESIGN §11
figures otherwise).  It never judges a timing: a slow machine still exits 0.

1. Turn-protocol overhead.  vr-coordinator with N empty universes
   (--systems 2 --fleets 0) is timed as a whole process for T turns and for
   10 turns; (wall(T) - wall(10)) / (T - 10) is the wall time of one turn,
   start-up and teardown cancelled out.  T is picked so that a run lasts about
   --target seconds.  Floor: vr-bench-zmq-rtt, one ROUTER and N DEALER peers
   over ipc://, a 32-byte message to every peer and all replies back per
   round: peers as processes (the cluster's topology) and as threads.
2. Read-only attach from Python (bench/attach.py in /usr/bin/python3) to a
   paused cluster, a small arena and a large one (1M fleets): the raw
   open + mmap + np.frombuffer path, and the voidreckoning bridge.

Every cluster started here is stopped (vrctl shutdown, else SIGTERM, else
SIGKILL and its segments removed) even when the benchmark fails.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"
DESIGN_RTT_US = 53.0      # DESIGN §11: ZeroMQ ipc 64 B round trip
DESIGN_ATTACH_MS = 0.05   # DESIGN §11: read-only attach (open + mmap)

_started: List[subprocess.Popen] = []   # coordinators we started and have not reaped
_names: List[str] = []                  # every cluster name we used
_files: List[str] = []                  # files a killed child may leave behind


def _die_with_parent() -> None:
    """preexec_fn of every child: SIGTERM when this process dies, however it
    dies (a coordinator stops cleanly on SIGTERM and removes its segments)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- clusters ----------------------------------------------------------------

class Bench:
    def __init__(self, build: str) -> None:
        self.bin = os.path.join(build, "bin")
        for exe in ("vr-coordinator", "vr-worker", "vrctl", "vr-bench-zmq-rtt"):
            if not os.access(os.path.join(self.bin, exe), os.X_OK):
                sys.exit(f"bench: {self.bin}/{exe} is missing; build it first (bench/run.sh does)")
        self.tag = f"b{os.getpid()}"

    def exe(self, name: str) -> str:
        return os.path.join(self.bin, name)

    def name(self, what: str) -> str:
        n = f"vrbench-{self.tag}-{what}"
        _names.append(n)
        return n

    def vrctl(self, name: str, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
        return subprocess.run([self.exe("vrctl"), "-n", name, "-t", str(int(timeout)), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout + 5)

    def run_coordinator(self, name: str, universes: int, turns: int, *extra: str) -> float:
        """Runs a cluster to its turn limit; returns the wall time in seconds."""
        cmd = [self.exe("vr-coordinator"), "--name", name, "--universes", str(universes),
               "--turns", str(turns), "--systems", "2", "--fleets", "0", "--quiet", *extra]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=_die_with_parent)
        _started.append(p)
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            stop(p, name)
            raise RuntimeError(f"{' '.join(cmd)}: still running after 120 s; stopped it")
        wall = time.perf_counter() - t0
        _started.remove(p)
        m = re.search(r"final turn (\d+) cluster hash ([0-9a-f]{16})", out)
        if p.returncode != 0 or not m or int(m.group(1)) != turns:
            raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}, stdout {out.strip()!r}, "
                               f"stderr {err.strip()[-400:]!r}")
        return wall

    def start_paused(self, name: str, *args: str) -> subprocess.Popen:
        """Starts a paused cluster and waits until every worker has built turn 0
        (status no longer "starting")."""
        cmd = [self.exe("vr-coordinator"), "--name", name, "--paused", "--quiet", *args]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=_die_with_parent)
        _started.append(p)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if p.poll() is not None:
                out, err = p.communicate()
                _started.remove(p)
                raise RuntimeError(f"{' '.join(cmd)}: exited {p.returncode} at start-up: "
                                   f"{err.strip()[-400:]}")
            r = self.vrctl(name, "--json", "status", timeout=2)
            if r.returncode == 0 and '"status":"starting"' not in r.stdout:
                return p
            time.sleep(0.05)
        stop(p, name)
        raise RuntimeError(f"{' '.join(cmd)}: `vrctl -n {name} status` did not answer within 120 s")

    def shutdown(self, p: subprocess.Popen, name: str) -> None:
        stop(p, name, self.exe("vrctl"))


def stop(p: subprocess.Popen, name: str, vrctl: Optional[str] = None) -> None:
    """Stops a coordinator we started: vrctl shutdown, SIGTERM, then SIGKILL
    (and then its segments and socket files are ours to remove)."""
    if p.poll() is None and vrctl:
        try:
            subprocess.run([vrctl, "-n", name, "-t", "5", "shutdown"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
        except subprocess.TimeoutExpired:
            pass
    for sig, wait in ((None, 10), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if sig is not None and p.poll() is None:
            p.send_signal(sig)
        try:
            p.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if p in _started:
        _started.remove(p)


def cleanup() -> None:
    """Last resort at exit: stop what still runs, remove what a killed
    coordinator left (only segments and sockets of our own cluster names)."""
    for p in list(_started):
        stop(p, "", None)
    for n in _names:
        for d, prefix in (("/dev/shm", f"vr.{n}."), ("/tmp", f"vr-{n}.")):
            try:
                for f in os.listdir(d):
                    if f.startswith(prefix):
                        log(f"removing leftover {d}/{f}")
                        os.unlink(os.path.join(d, f))
            except OSError:
                pass
    for f in _files:
        if os.path.exists(f):
            log(f"removing leftover {f}")
            os.unlink(f)


# ---- 1. turn protocol ------------------------------------------------------------

def protocol(b: Bench, n: int, target: float, repeats: int) -> Dict:
    name = b.name(f"t{n}")
    small = 10
    t_small = statistics.median(b.run_coordinator(name, n, small) for _ in range(3))
    calib = 2000
    t_cal = b.run_coordinator(name, n, calib)
    est = max((t_cal - t_small) / (calib - small), 1e-6)
    turns = int(min(max(target / est, 2000), 500000))
    per_turn = []
    for _ in range(repeats):
        w = b.run_coordinator(name, n, turns)
        per_turn.append((w - t_small) / (turns - small) * 1e6)
    return {"universes": n, "turns": turns, "startup_s": t_small, "runs_us": per_turn,
            "us_per_turn": statistics.median(per_turn)}


def zmq_rtt(b: Bench, n: int, mode: str, seconds: float) -> Dict:
    sock = f"/tmp/vr-bench-{b.tag}-rtt.ipc"
    if sock not in _files:
        _files.append(sock)
    cmd = [b.exe("vr-bench-zmq-rtt"), "--peers", str(n), "--mode", mode, "--seconds", str(seconds),
           "--endpoint", f"ipc://{sock}"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                       preexec_fn=_die_with_parent)
    m = re.search(r"^zmq_rtt .*$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    kv = dict(f.split("=", 1) for f in m.group(0).split()[1:])
    return {k: (v if k == "mode" else float(v)) for k, v in kv.items()}


# ---- 2. attach ----------------------------------------------------------------------

def attach(b: Bench, what: str, iterations: int, *args: str) -> Dict:
    name = b.name(what)
    p = b.start_paused(name, "--universes", "1", *args)
    try:
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bridge", "python"),
                   PYTHONDONTWRITEBYTECODE="1")
        cmd = [PYTHON, os.path.join(HERE, "attach.py"), "--name", name, "--iterations", str(iterations)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300, env=env, preexec_fn=_die_with_parent)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()[-600:]}")
        return json.loads(r.stdout)
    finally:
        b.shutdown(p, name)


# ---- report ---------------------------------------------------------------------------

def machine() -> List[str]:
    lines = [f"nproc: {os.cpu_count()} (available to this process: {len(os.sched_getaffinity(0))})"]
    try:
        cpu = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        lines += [ln.strip() for ln in cpu.splitlines() if ln.startswith("Model name")]
    except OSError:
        pass
    lines.append(f"kernel: {platform.release()}; loadavg at start: "
                 f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return lines


def size(nbytes: int) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= k:
            return f"{nbytes / k:.0f} {unit}"
    return f"{nbytes} B"


def ms(s: Dict) -> str:
    return f"{s['median_ms']:.3f} ms (p90 {s['p90_ms']:.3f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    ap.add_argument("--universes", default="1,2,4,8", help="N values of the protocol benchmark")
    ap.add_argument("--target", type=float, default=1.5, help="seconds per timed coordinator run")
    ap.add_argument("--repeats", type=int, default=3, help="timed coordinator runs per N (median)")
    ap.add_argument("--rtt-seconds", type=float, default=1.0)
    ap.add_argument("--attach-iterations", type=int, default=1000)
    ap.add_argument("--big-fleets", type=int, default=1000000)
    a = ap.parse_args()

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    b = Bench(os.path.abspath(a.build))
    t_start = time.monotonic()
    mach = machine()

    rows: List[List[str]] = []
    details: List[str] = []
    ns = [int(x) for x in a.universes.split(",")]
    proto, rtt_p, rtt_t = {}, {}, {}
    for n in ns:
        log(f"turn protocol, {n} empty universe(s)")
        proto[n] = protocol(b, n, a.target, a.repeats)
        rtt_p[n] = zmq_rtt(b, n, "process", a.rtt_seconds)
        rtt_t[n] = zmq_rtt(b, n, "thread", a.rtt_seconds)
    for n in ns:
        pr, fl = proto[n], rtt_p[n]
        rows.append([f"turn protocol, {n} empty universe{'s' if n > 1 else ''} (wall time per turn)",
                     f"{pr['us_per_turn']:.1f} us/turn",
                     f"raw ZeroMQ round, {n} DEALER process{'es' if n > 1 else ''}: {fl['mean_us']:.1f} us",
                     f"{pr['us_per_turn'] / fl['mean_us']:.2f}"])
        details.append(f"N={n}: T={pr['turns']} turns per timed run, start-up+teardown "
                       f"{pr['startup_s'] * 1e3:.0f} ms, runs {', '.join(f'{x:.1f}' for x in pr['runs_us'])} "
                       f"us/turn; raw round (processes) p50 {fl['p50_us']:.1f} p99 {fl['p99_us']:.1f} us, "
                       f"(threads) mean {rtt_t[n]['mean_us']:.1f} p50 {rtt_t[n]['p50_us']:.1f} us")
    for n in ns:
        th = rtt_t[n]
        rows.append([f"raw ZeroMQ round, {n} DEALER thread{'s' if n > 1 else ''} (one process)",
                     f"{th['mean_us']:.1f} us", f"same with processes: {rtt_p[n]['mean_us']:.1f} us",
                     f"{th['mean_us'] / rtt_p[n]['mean_us']:.2f}"])
    if 1 in ns:
        rows.append(["raw ZeroMQ ipc round trip, 32 B, 1 peer (process)", f"{rtt_p[1]['mean_us']:.1f} us",
                     f"DESIGN §11: {DESIGN_RTT_US:.0f} us (64 B)", f"{rtt_p[1]['mean_us'] / DESIGN_RTT_US:.2f}"])

    log("read-only attach, small arena")
    small = attach(b, "asmall", a.attach_iterations, "--systems", "2", "--fleets", "0")
    log(f"read-only attach, large arena (--fleets {a.big_fleets})")
    big = attach(b, "abig", a.attach_iterations, "--fleets", str(a.big_fleets))
    have_bridge = "bridge_arena" in small
    for res, label in ((small, "small"), (big, "large")):
        arena = f"{size(res['arena_bytes'])} arena"
        if label == "small":
            rows.append([f"Python attach, raw open+mmap+np.frombuffer, {arena}", ms(res["raw"]),
                         f"DESIGN §11: {DESIGN_ATTACH_MS} ms",
                         f"{res['raw']['median_ms'] / DESIGN_ATTACH_MS:.2f}"])
        else:
            rows.append([f"Python attach, raw open+mmap+np.frombuffer, {arena}", ms(res["raw"]),
                         f"same, {size(small['arena_bytes'])} arena: {small['raw']['median_ms']:.3f} ms",
                         f"{res['raw']['median_ms'] / small['raw']['median_ms']:.2f}"])
        if have_bridge:
            for key, what in (("bridge_arena", "bridge Universe.column() on an unmapped arena"),
                              ("bridge_full", "bridge attach(name) + universes[0].column()")):
                rows.append([f"Python attach, {what}, {arena}", ms(res[key]),
                             f"raw, same arena: {res['raw']['median_ms']:.3f} ms",
                             f"{res[key]['median_ms'] / res['raw']['median_ms']:.2f}"])
        details.append(f"attach {label}: {res['arena']} {res['arena_bytes']} bytes, column {res['column']} "
                       f"({res['rows']} rows), {res['raw']['n']} attaches each; raw = open+mmap+close "
                       f"{res['raw_map']['median_ms']:.3f} ms + first reads and frombuffer "
                       f"{res['raw_read']['median_ms']:.3f} ms (medians); {res['python']} "
                       f"numpy {res['numpy']}" + (f"; {res['bridge_error']}" if "bridge_error" in res else ""))

    print("## vr cluster backbone benchmark\n")
    for ln in mach:
        print(f"- {ln}")
    print()
    print("| what | figure | floor | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("Ratio = figure / floor; medians, except us/turn and raw rounds, which are means.")
    for d in details:
        print(f"- {d}")
    print(f"- total benchmark time {time.monotonic() - t_start:.0f} s; loadavg at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"bench: {e}", file=sys.stderr)
        sys.exit(1)
