#!/usr/bin/python3
"""Recovery benchmark: time from SIGKILL of a worker to the next committed
turn, beside its floors measured in the same run.

    /usr/bin/python3 bench/recovery.py [BUILD_DIR] [--universes 3] [--kills 9]

A real paused cluster (default scenario per universe: 256 systems, 4096
fleets, portals on) is driven with the Python command client:

* floor 1, a turn: `step(1)` round trips with nobody killed (median);
* floor 2, a process start: `vr-worker --help` spawned and reaped (median),
  the least a restart costs before it attaches the arena, loads the content
  and rebuilds its caches;
* the figure: SIGKILL of one worker (round robin), then at once `step(1)`:
  the coordinator notices the death, starts a new worker on the arena, waits
  for its HELLO, sends it the turn (peers re-send their portal batches) and
  commits; median and worst over the kills.

Prints one Markdown table; exit 0 whatever the figures.
"""
import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bridge" / "python"))
import voidreckoning as vr  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default=str(ROOT / "build-rel"))
    ap.add_argument("--universes", type=int, default=3)
    ap.add_argument("--kills", type=int, default=9)
    ap.add_argument("--turns", type=int, default=30, help="timed turns without kills")
    a = ap.parse_args()
    bin_ = Path(a.build) / "bin"
    rundir = tempfile.mkdtemp(prefix="vr-bench-recovery-")
    env = dict(os.environ, VR_RUNDIR=rundir)
    os.environ["VR_RUNDIR"] = rundir
    name = f"vrrec{os.getpid()}"
    proc = subprocess.Popen([str(bin_ / "vr-coordinator"), "--name", name, "--universes", str(a.universes),
                             "--paused", "--quiet", "--max-restarts", str(a.kills + 1)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ctl = None
        for _ in range(600):
            try:
                ctl = vr.connect(name, timeout=2.0)
                if ctl.status()["status"] == "paused":
                    break
            except vr.VrError:
                time.sleep(0.05)
        ctl.step(5, timeout=60)  # warm: routes planned, caches built
        turn = []
        for _ in range(a.turns):
            t0 = time.perf_counter()
            ctl.step(1, timeout=60)
            turn.append(time.perf_counter() - t0)
        spawn = []
        for _ in range(20):
            t0 = time.perf_counter()
            subprocess.run([str(bin_ / "vr-worker"), "--help"], stdout=subprocess.DEVNULL)
            spawn.append(time.perf_counter() - t0)
        rec = []
        for k in range(a.kills):
            u = k % a.universes
            pid = ctl.status()["universes"][u]["pid"]
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            ctl.step(1, timeout=60)
            rec.append(time.perf_counter() - t0)
            back = ctl.status()["universes"][u]
            assert back["pid"] != pid and back["metrics"]["restarts"] == k // a.universes + 1, back
        ctl.shutdown()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in Path("/dev/shm").glob(f"vr.{name}.*"):
            p.unlink()
    med = statistics.median
    ms = lambda s: f"{s * 1e3:.1f} ms"  # noqa: E731
    print("## Recovery after a worker kill\n")
    print(f"- {platform.node()}: {os.cpu_count()} CPUs, {platform.platform()}; load {os.getloadavg()[0]:.2f}")
    print(f"- {a.universes} universes x (256 systems, 4096 fleets), portals on; {a.kills} kills, round robin\n")
    print("| what | figure | floor (same run) | ratio |")
    print("|---|---|---|---|")
    print(f"| SIGKILL of a worker -> next turn committed (median; worst) | {ms(med(rec))}; {ms(max(rec))} | "
          f"one turn, nobody killed: {ms(med(turn))} + a bare process start: {ms(med(spawn))} | "
          f"{med(rec) / (med(turn) + med(spawn)):.1f} |")
    print(f"| one turn (`step(1)` round trip) | {ms(med(turn))} | — | — |")
    print(f"| bare process start (`vr-worker --help`) | {ms(med(spawn))} | — | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
