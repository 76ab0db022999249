"""Scale benchmark of the simulation: one universe of 1M ships, and 10M ships
across 8 universes on a real cluster.

Run through bench/run.sh (which builds what is needed and runs bench.py
first), or alone:  /usr/bin/python3 bench/scale.py BUILD_DIR [--quick].
Prints a Markdown table (what | figure | floor | ratio): every figure beside
the floor or target it is compared with, measured in the same run where
possible (DESIGN §11 figures otherwise).  It never judges a timing: a slow
machine still exits 0.

1. One universe in process (vr-bench-turn --json, default 95000 fleets, about
   1M ships): the whole worker turn (arena copy, every system, hash, publish)
   against the 100 ms target; movement against a plain loop over the same
   fleet columns (goal: within 1.5x); per-system times (movement, combat, AI,
   audit) from the turn metrics; the first turns (pathfinder built, caches
   cold) against the steady state; arena bytes per ship (goal <= 200).
2. 10M ships across 8 universes (skipped with --quick): vr-coordinator -u 8
   --fleets 119000 --systems 8192 --paused; warm-up turns stepped one by one
   (each reported), then `vrctl step N` timed as a whole (target: under 1 s
   per turn on this machine's 2 cores), with every universe's turn_ns and
   metrics from `vrctl --json status`; memory from /dev/shm and the workers'
   /proc/PID/status.
3. Arena bytes per ship from `vr-coordinator --plan` (vr_arena_size, both
   buffers) divided by the live ships.

With --backbone FILE (bench.py's output), its table rows and notes are merged
into the one table printed here.

The cluster is always stopped (vrctl shutdown, SIGTERM, SIGKILL) and its
/dev/shm/vr.NAME.* segments and /tmp/vr-NAME.* sockets removed, also on a
failure or Ctrl-C.
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
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGET_TURN_1M_MS = 100.0    # issue: a whole turn of 1M ships
TARGET_MOVE_RATIO = 1.5      # issue: movement within 1.5x of the plain loop
TARGET_TURN_10M_S = 1.0      # issue: 10M ships over 8 universes, 2 cores
TARGET_BYTES_SHIP = 200.0    # issue: arena bytes per ship, both buffers
DESIGN_MOVE_NS = 0.4         # DESIGN §11: pos += vel*dt, 1M entities
DESIGN_ASTAR_US = 167.0      # DESIGN §11: A* on a 10k-node galaxy graph, careful C
DESIGN_BW_GBS = 20.0         # DESIGN §11: memory bandwidth, 1 thread (low end)
SHIPS_PER_FLEET = 10.5       # 1..20 ships, uniform (workers/galaxy.c)

_procs: List[Tuple[subprocess.Popen, str]] = []   # coordinators we started, by cluster name
_names: List[str] = []                            # every cluster name we used
_logs: List[str] = []                             # temporary log files


def log(msg: str) -> None:
    print(f"scale: {msg}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:
    """preexec_fn of every child: SIGTERM when this process dies, however it
    dies (a coordinator stops cleanly on SIGTERM and removes its segments)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# ---- processes and cleanup ------------------------------------------------------

class Tools:
    def __init__(self, build: str) -> None:
        self.bin = os.path.join(build, "bin")

    def exe(self, name: str) -> str:
        path = os.path.join(self.bin, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{path} is missing; build it first (bench/run.sh does)")
        return path

    def vrctl(self, name: str, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
        return subprocess.run([self.exe("vrctl"), "-n", name, "-t", str(int(timeout)), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout + 10)

    def status(self, name: str, timeout: float = 60.0) -> Dict:
        r = self.vrctl(name, "--json", "status", timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"vrctl -n {name} status: exit {r.returncode}: {r.stderr.strip()[-400:]}")
        return json.loads(r.stdout)


def segments(name: str) -> List[str]:
    """Files of cluster NAME: /dev/shm/vr.NAME.* and /tmp/vr-NAME.* (sockets)."""
    out = []
    rundir = os.environ.get("VR_RUNDIR", "/tmp")
    for d, prefix in (("/dev/shm", f"vr.{name}."), (rundir, f"vr-{name}.")):
        try:
            out += [os.path.join(d, f) for f in os.listdir(d) if f.startswith(prefix)]
        except OSError:
            pass
    return out


def stop(p: subprocess.Popen, name: str, vrctl: Optional[str]) -> None:
    """Stops a coordinator we started: vrctl shutdown, SIGTERM, then SIGKILL."""
    if p.poll() is None and vrctl:
        # the reply comes once the running turn ends; stop waiting for it as
        # soon as the coordinator exits (e.g. it got the terminal's Ctrl-C too)
        try:
            q = subprocess.Popen([vrctl, "-n", name, "-t", "30", "shutdown"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        except OSError:
            q = None
        deadline = time.monotonic() + 35
        while q and q.poll() is None and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if q and q.poll() is None:
            q.kill()
            q.wait()
    steps = ((None, 30),) if vrctl else ()
    for sig, wait in steps + ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        if sig is not None and p.poll() is None:
            log(f"coordinator {p.pid} still running; sending {sig.name}")
            p.send_signal(sig)
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    _procs[:] = [(q, n) for q, n in _procs if q is not p]


def cleanup() -> None:
    """At exit, whatever happened: stop what still runs, then remove what a
    killed coordinator left (only files of our own cluster names)."""
    for p, n in list(_procs):   # a stop that was cut short: SIGTERM (a clean stop) at once
        stop(p, n, None)
    for n in _names:
        for f in segments(n):
            log(f"removing leftover {f}")
            try:
                os.unlink(f)
            except OSError:
                pass
    for f in _logs:
        try:
            os.unlink(f)
        except OSError:
            pass


def tail(path: str, n: int = 600) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip()
    except OSError:
        return ""


# ---- 1. one universe in process -------------------------------------------------

def bench_turn(t: Tools, fleets: int, systems: int, turns: int, warmup: int) -> Dict:
    cmd = [t.exe("vr-bench-turn"), "--json", "--fleets", str(fleets), "--systems", str(systems),
           "--turns", str(turns), "--warmup", str(warmup)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_die_with_parent)
    try:
        out, err = p.communicate(timeout=300)
    except BaseException:
        p.send_signal(signal.SIGINT)   # it unlinks its segment (it already has, right after creating it)
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        raise
    finally:
        seg = f"/dev/shm/vr.bench{p.pid}.u0"
        if os.path.exists(seg):
            log(f"removing leftover {seg}")
            os.unlink(seg)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {err.strip()[-600:]}")
    return json.loads(out)


def plan_bytes(t: Tools, universes: int, systems: int, fleets: int) -> List[int]:
    cmd = [t.exe("vr-coordinator"), "--plan", "-u", str(universes), "--systems", str(systems),
           "--fleets", str(fleets)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    sizes = [int(m.group(1)) for m in re.finditer(r"^u\d+\s+\S+\s+\S+\s+(\d+)\s*$", r.stdout, re.M)]
    if r.returncode != 0 or len(sizes) != universes:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}, could not read arena bytes from "
                           f"{r.stdout.strip()[-400:]!r} {r.stderr.strip()[-400:]!r}")
    return sizes


# ---- 2. a cluster of 10M ships ------------------------------------------------------

def proc_mem(pid: int) -> Dict[str, int]:
    """RssAnon (private heap: the sim's caches) and RssShmem (arena pages
    mapped) of a process, bytes."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                k, _, v = ln.partition(":")
                if k in ("RssAnon", "RssShmem", "VmHWM"):
                    out[k] = int(v.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def shm_usage(name: str) -> Dict[str, Tuple[int, int]]:
    """Segment -> (size, bytes allocated in tmpfs) of cluster NAME."""
    out = {}
    for f in segments(name):
        if f.startswith("/dev/shm/"):
            try:
                st = os.stat(f)
                out[os.path.basename(f)] = (st.st_size, st.st_blocks * 512)
            except OSError:
                pass
    return out


def universe_rows(st: Dict) -> List[Dict]:
    return st.get("universes", [])


def cluster(t: Tools, a: argparse.Namespace) -> Dict:
    name = f"vrscale-{os.getpid()}"
    _names.append(name)
    for f in segments(name):
        raise RuntimeError(f"{f} exists already (a cluster of the same name?); not touching it")
    fd, logpath = tempfile.mkstemp(prefix="vr-scale-coord.", suffix=".log")
    _logs.append(logpath)
    cmd = [t.exe("vr-coordinator"), "--name", name, "--universes", str(a.universes),
           "--systems", str(a.systems), "--fleets", str(a.fleets), "--paused", "--quiet",
           "--worker-timeout", str(a.worker_timeout)]
    res: Dict = {"name": name, "cmd": " ".join(cmd[1:])}
    t_start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=fd, stderr=fd, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    os.close(fd)
    _procs.append((p, name))
    try:
        # ---- start-up: arenas created, workers pre-fault and build turn 0
        deadline = t_start + 3 * a.worker_timeout + 30
        st = None
        while True:
            if p.poll() is not None:
                raise RuntimeError(f"vr-coordinator exited {p.returncode} at start-up: {tail(logpath)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster {name} not ready after {deadline - t_start:.0f} s: {tail(logpath)}")
            if os.path.exists(f"/dev/shm/vr.{name}.cluster"):
                r = t.vrctl(name, "--json", "status", timeout=a.ctl_timeout)
                if r.returncode == 0:
                    st = json.loads(r.stdout)
                    if st["status"] != "starting" and all(u["status"] == "ready" for u in universe_rows(st)):
                        break
            time.sleep(0.25)
        res["startup_s"] = time.monotonic() - t_start
        res["shm"] = shm_usage(name)
        log(f"cluster ready in {res['startup_s']:.1f} s; warm-up: {a.warmup} turns, one step each")

        # ---- warm-up turns one by one: the first turns build the pathfinder
        res["warm"] = []
        for _ in range(a.warmup):
            t0 = time.perf_counter()
            r = t.vrctl(name, "step", "1", timeout=a.ctl_timeout)
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                raise RuntimeError(f"vrctl step 1: exit {r.returncode}: {r.stderr.strip()[-400:]} {tail(logpath)}")
            st = t.status(name, a.ctl_timeout)
            res["warm"].append({"turn": st["turn"], "wall_s": wall, "universes": universe_rows(st)})
            log(f"turn {st['turn']}: {wall:.2f} s")

        # ---- timed: one `vrctl step N`, N fitted to the time left
        last = res["warm"][-1]["wall_s"] if res["warm"] else 1.0
        left = a.budget - (time.monotonic() - t_start) - 15
        n = int(max(a.min_steps, min(a.steps, left / max(last, 0.05))))
        log(f"timed: vrctl step {n}")
        before = t.status(name, a.ctl_timeout)
        pids = [u["pid"] for u in universe_rows(before)]
        cpu0 = [cpu_s(x) for x in pids] + [cpu_s(p.pid)]
        t0 = time.perf_counter()
        r = t.vrctl(name, "step", str(n), timeout=a.ctl_timeout)
        wall = time.perf_counter() - t0
        cpu1 = [cpu_s(x) for x in pids] + [cpu_s(p.pid)]
        res["cpu_s"] = [y - x for x, y in zip(cpu0[:-1], cpu1[:-1])]   # per worker, over the timed steps
        res["coord_cpu_s"] = cpu1[-1] - cpu0[-1]
        if r.returncode != 0:
            raise RuntimeError(f"vrctl step {n}: exit {r.returncode}: {r.stderr.strip()[-400:]} {tail(logpath)}")
        after = t.status(name, a.ctl_timeout)
        steps = after["turn"] - before["turn"]
        res.update(steps=steps, step_wall_s=wall, s_per_turn=wall / steps, final=after,
                   first_turn=before["turn"] + 1, last_turn=after["turn"])
        # one more single step to see a steady turn's wall beside its turn_ns
        t0 = time.perf_counter()
        r = t.vrctl(name, "step", "1", timeout=a.ctl_timeout)
        res["one_step_s"] = time.perf_counter() - t0
        if r.returncode == 0:
            res["final"] = t.status(name, a.ctl_timeout)
        res["mem"] = {u["universe"]: proc_mem(u["pid"]) for u in universe_rows(res["final"])}
        res["coord_mem"] = proc_mem(p.pid)
        res["shm_end"] = shm_usage(name)
    finally:
        log("stopping the cluster")
        stop(p, name, os.path.join(t.bin, "vrctl"))
        left_over = segments(name)
        for f in left_over:
            log(f"removing leftover {f}")
            try:
                os.unlink(f)
            except OSError:
                pass
        res["leftover"] = left_over
        res["total_s"] = time.monotonic() - t_start
    return res


# ---- report ---------------------------------------------------------------------------

def machine() -> List[str]:
    lines = [f"nproc: {os.cpu_count()} (available to this process: {len(os.sched_getaffinity(0))})"]
    try:
        cpu = subprocess.run(["lscpu"], stdout=subprocess.PIPE, text=True).stdout
        lines += [ln.strip() for ln in cpu.splitlines() if ln.startswith("Model name")]
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
        lines.append(f"memory: {mem / (1 << 30):.1f} GiB")
    except (OSError, ValueError, IndexError):
        pass
    lines.append(f"kernel: {platform.release()}; loadavg at start: "
                 f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return lines


def read_backbone(path: str) -> Tuple[List[str], List[str], List[str]]:
    """bench.py's output: (machine lines, table rows, notes)."""
    mach, rows, notes = [], [], []
    seen_table = False
    with open(path) as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln.startswith("|"):
                seen_table = True
                if not ln.startswith("| what |") and not ln.startswith("|---"):
                    rows.append(ln)
            elif ln.startswith("- "):
                (notes if seen_table else mach).append(ln[2:])
            elif seen_table and ln.strip():
                notes.append(ln.strip())
    return mach, rows, notes


def ms(ns: float) -> str:
    return f"{ns / 1e6:.1f} ms" if ns >= 1e7 else f"{ns / 1e6:.2f} ms"


def row(what: str, figure: str, floor: str, ratio: Optional[float]) -> str:
    return f"| {what} | {figure} | {floor} | {'—' if ratio is None else f'{ratio:.2f}'} |"


def report_turn(b: Dict, rows: List[str], notes: List[str]) -> None:
    s = b["steady"]
    ships = b["ships0"]
    nships = f"{ships / 1e6:.2f}M ships"
    tot = s["total"]["median"]
    rows.append(row(f"1 universe, {nships} ({b['fleets0']} fleets, {b['systems0']} systems): whole worker "
                    f"turn (copy + all systems + hash + publish), steady median",
                    f"{ms(tot)} ({tot / ships:.1f} ns/ship)", f"target {TARGET_TURN_1M_MS:.0f} ms",
                    tot / 1e6 / TARGET_TURN_1M_MS))
    rows.append(row(f"1 universe, {nships}: vr_sim_turn only (all systems)", ms(s["sim"]["median"]),
                    f"target {TARGET_TURN_1M_MS:.0f} ms", s["sim"]["median"] / 1e6 / TARGET_TURN_1M_MS))
    mv, fl, fv = s["movement"]["median"], b["floor_move_best_ns"], b["floor_move_vec_best_ns"]
    rows.append(row(f"1 universe, {nships}: movement over {b['fleet_rows']} fleet rows",
                    f"{ms(mv)} ({mv / b['fleet_rows']:.1f} ns/fleet)",
                    f"plain loop, same columns (progress += speed, compare): {fl / 1e6:.3f} ms "
                    f"({fl / b['fleet_rows']:.2f} ns/fleet); goal {TARGET_MOVE_RATIO}x", mv / fl))
    mp = statistics.median(t["movement_ns"] - t["paths_ns"] for t in b["per_turn"] if not t["warmup"])
    rows.append(row(f"1 universe, {nships}: movement without its pathfinding time, steady median",
                    f"{ms(mp)} ({mp / b['fleet_rows']:.1f} ns/fleet)",
                    f"plain loop: {fl / 1e6:.3f} ms", mp / fl))
    q = [t["paths_ns"] / t["metrics"]["paths"] for t in b["per_turn"] if not t["warmup"] and t["metrics"]["paths"]]
    if q:
        nq = statistics.median(t["metrics"]["paths"] for t in b["per_turn"] if not t["warmup"])
        rows.append(row(f"1 universe, {nships}: pathfinding time per path query ({nq:.0f} queries per turn, "
                        f"{b['systems0']} systems), steady median", f"{statistics.median(q) / 1e3:.1f} us",
                        f"DESIGN §11 A*, 10k-node galaxy graph: {DESIGN_ASTAR_US:.0f} us",
                        statistics.median(q) / 1e3 / DESIGN_ASTAR_US))
    rows.append(row("plain movement loop, branch-free (vectorized) form",
                    f"{fv / b['fleet_rows']:.2f} ns/fleet", f"DESIGN §11 pos += vel*dt: {DESIGN_MOVE_NS} ns/entity",
                    fv / b["fleet_rows"] / DESIGN_MOVE_NS))
    for key, what in (("paths", "of which pathfinding"), ("combat", "combat"), ("ai", "AI decisions"),
                      ("audit", "audit"), ("economy", "economy"), ("other", "other (diplomacy; unmetered)"),
                      ("begin", "arena_begin (copy of the published buffer)"),
                      ("hash", "arena_hash (XXH3 of every used row)")):
        v = s[key]
        fl_txt, ratio = f"{100 * v['median'] / tot:.0f}% of the turn", None
        if key == "begin":
            fl_txt, ratio = f"memcpy of the same {b['state_bytes'] / 1e6:.0f} MB: {b['floor_copy_best_ns'] / 1e6:.2f} ms", \
                v["median"] / b["floor_copy_best_ns"]
        elif key == "hash":
            read_ns = b["state_bytes"] / DESIGN_BW_GBS
            fl_txt, ratio = f"reading {b['state_bytes'] / 1e6:.0f} MB at DESIGN §11 {DESIGN_BW_GBS:.0f} GB/s: " \
                f"{read_ns / 1e6:.2f} ms", v["median"] / read_ns
        rows.append(row(f"1 universe, {nships}: {what}, steady median (max)",
                        f"{ms(v['median'])} ({ms(v['max'])})", fl_txt, ratio))
    warm = [t for t in b["per_turn"] if t["warmup"]]
    for t in warm:
        rows.append(row(f"1 universe, {nships}: turn {t['turn']} (warm-up: pathfinder and caches cold)",
                        f"{ms(t['total_ns'])} (movement {ms(t['movement_ns'])}, paths {ms(t['paths_ns'])})",
                        f"steady median: {ms(tot)}", t["total_ns"] / tot))
    bps = b["bytes_per_ship"]
    rows.append(row(f"1 universe: arena bytes per ship (both buffers), {b['arena_bytes'] / 2**20:.0f} MiB "
                    f"/ {ships} ships", f"{bps:.1f} B", f"goal {TARGET_BYTES_SHIP:.0f} B", bps / TARGET_BYTES_SHIP))
    notes.append(f"1 universe in process (vr-bench-turn): seed {b['seed']}, {b['factions']} factions; "
                 f"turns {b['warmup'] + 1}..{b['warmup'] + b['turns']} timed after {b['warmup']} warm-up turns; "
                 f"pre-fault {b['prefault_ns'] / 1e6:.0f} ms, turn 0 (genesis + hash) {b['genesis_ns'] / 1e6:.0f} ms; "
                 f"{b['state_bytes'] / 1e6:.0f} MB of used rows copied and hashed per turn; ships "
                 f"{b['ships0']} at turn 0, {b['ships_end']:.0f} at turn {b['warmup'] + b['turns']}; state hash "
                 f"{b['final_hash']} at turn {b['warmup'] + b['turns']} (the u0 hash a cluster of the same "
                 f"scenario logs with --hash-log)")
    per = b["per_turn"]
    notes.append("1 universe, every turn (ms: total / movement / paths / combat / AI / audit; path queries, "
                 "decisions, battles): " + "; ".join(
                     f"t{t['turn']} {t['total_ns'] / 1e6:.1f}/{t['movement_ns'] / 1e6:.1f}/{t['paths_ns'] / 1e6:.1f}/"
                     f"{t['combat_ns'] / 1e6:.1f}/{t['ai_ns'] / 1e6:.1f}/{t['audit_ns'] / 1e6:.1f} "
                     f"({t['metrics']['paths']}, {t['metrics']['decisions']}, {t['metrics']['battles']})"
                     for t in per))


def report_cluster(c: Dict, plan: List[int], rows: List[str], notes: List[str]) -> None:
    fin = universe_rows(c["final"])
    ships = sum(u["metrics"]["ships"] for u in fin)
    nu = len(fin)
    spt = c["s_per_turn"]
    label = f"{nu} universes, {ships / 1e6:.2f}M ships"
    rows.append(row(f"{label}: wall time per turn (`vrctl step {c['steps']}`, turns {c['first_turn']}.."
                    f"{c['last_turn']}), {len(os.sched_getaffinity(0))} cores",
                    f"{spt * 1e3:.0f} ms ({spt * 1e9 / ships:.1f} ns/ship)",
                    f"target {TARGET_TURN_10M_S * 1e3:.0f} ms", spt / TARGET_TURN_10M_S))
    tns = [u["turn_ns"] for u in fin]
    cores = len(os.sched_getaffinity(0))
    cpu = sum(c["cpu_s"]) / c["steps"]
    rows.append(row(f"{label}: CPU time of all workers per turn (/proc/PID/stat over the timed steps)",
                    f"{cpu * 1e3:.0f} ms ({cpu * 1e3 / nu:.0f} ms per universe of "
                    f"{ships / nu / 1e6:.2f}M ships)", f"wall per turn x {cores} cores: {spt * cores * 1e3:.0f} ms",
                    cpu / (spt * cores)))
    rows.append(row(f"{label}: worker turn_ns (wall time inside each worker, time-sliced: {nu} workers "
                    f"on {cores} cores), last turn, mean", f"{statistics.mean(tns) / 1e6:.0f} ms "
                    f"(max {max(tns) / 1e6:.0f} ms)", f"cluster wall per turn: {spt * 1e3:.0f} ms",
                    statistics.mean(tns) / 1e9 / spt))
    for w in c["warm"]:
        rows.append(row(f"{label}: turn {w['turn']} (warm-up, stepped alone)", f"{w['wall_s'] * 1e3:.0f} ms",
                        f"steady: {spt * 1e3:.0f} ms", w["wall_s"] / spt))
    # per-system sums of the last turn (CPU time over all universes)
    m = {k: sum(u["metrics"][k] for u in fin) for k in fin[0]["metrics"]}
    sysrow = ", ".join(f"{k[:-3]} {m[k] / 1e6:.0f}" for k in ("movement_ns", "paths_ns", "combat_ns", "ai_ns",
                                                              "audit_ns", "economy_ns"))
    total_arena = sum(plan)
    bps = total_arena / ships if ships else float("nan")
    rows.append(row(f"{label}: arena bytes per ship (both buffers; vr-coordinator --plan)",
                    f"{bps:.1f} B ({total_arena / 2**30:.2f} GiB in all)", f"goal {TARGET_BYTES_SHIP:.0f} B",
                    bps / TARGET_BYTES_SHIP))
    shm = c.get("shm_end") or c["shm"]
    alloc = sum(v[1] for v in shm.values())
    size = sum(v[0] for v in shm.values())
    rows.append(row(f"{label}: /dev/shm allocated (all {len(shm)} segments)", f"{alloc / 2**30:.2f} GiB",
                    f"segment sizes: {size / 2**30:.2f} GiB", alloc / size if size else None))
    anon = [v.get("RssAnon", 0) for v in c["mem"].values()]
    w1 = c["warm"][0]["universes"] if c["warm"] else fin
    notes.append(f"{label}: {sum(u['metrics']['ships'] for u in w1)} ships after turn "
                 f"{c['warm'][0]['turn'] if c['warm'] else c['final']['turn']}, {ships} at turn "
                 f"{c['final']['turn']}; CPU seconds per worker over the {c['steps']} timed turns: "
                 f"{', '.join(f'{x:.1f}' for x in c['cpu_s'])}; coordinator {c['coord_cpu_s']:.2f} s")
    notes.append(f"{label}: `vr-coordinator {c['cmd']}`; ready (arenas created, pre-faulted, turn 0 built) in "
                 f"{c['startup_s']:.1f} s; timed `vrctl step {c['steps']}` {c['step_wall_s']:.2f} s; one more "
                 f"`vrctl step 1` {c['one_step_s'] * 1e3:.0f} ms; whole cluster part {c['total_s']:.0f} s")
    notes.append(f"{label}, last turn {c['final']['turn']}, per-system ms (wall time inside the workers, time-sliced) summed over universes: {sysrow}; "
                 f"turn_ns per universe (ms): {', '.join(f'{x / 1e6:.0f}' for x in tns)}; path queries "
                 f"{m['paths']}, decisions {m['decisions']}, battles {m['battles']}, kills {m['kills']}")
    notes.append(f"{label}: worker private memory (RssAnon) {sum(anon) / 2**20:.0f} MiB in all "
                 f"({min(anon) / 2**20:.0f}..{max(anon) / 2**20:.0f} MiB each); arena per universe "
                 f"{plan[0] / 2**20:.0f} MiB (plan); coordinator RssAnon "
                 f"{c['coord_mem'].get('RssAnon', 0) / 2**20:.0f} MiB" +
                 (f"; LEFTOVER files removed: {', '.join(c['leftover'])}" if c["leftover"] else
                  "; nothing left in /dev/shm after shutdown"))
    for w in c["warm"]:
        us = w["universes"]
        per_u = ", ".join(f"{u['turn_ns'] / 1e6:.0f}" for u in us)
        notes.append(f"{label}, warm-up turn {w['turn']}: turn_ns per universe (ms) {per_u}; movement sum "
                     f"{sum(u['metrics']['movement_ns'] for u in us) / 1e6:.0f} ms, paths sum "
                     f"{sum(u['metrics']['paths_ns'] for u in us) / 1e6:.0f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true", help="skip the 10M-ship cluster part")
    ap.add_argument("--no-turn", action="store_true", help="skip the in-process 1M-ship part")
    ap.add_argument("--backbone", metavar="FILE", help="bench.py output to merge into the table")
    ap.add_argument("--turn-fleets", type=int, default=95000, help="fleets of the 1M-ship universe")
    ap.add_argument("--turn-turns", type=int, default=20, help="timed turns in process")
    ap.add_argument("--turn-warmup", type=int, default=4, help="warm-up turns in process (each reported)")
    ap.add_argument("--universes", type=int, default=8)
    ap.add_argument("--fleets", type=int, default=119000, help="fleets per universe (10.5 ships each)")
    ap.add_argument("--systems", type=int, default=8192, help="systems per universe")
    ap.add_argument("--warmup", type=int, default=3, help="cluster warm-up turns, stepped one by one")
    ap.add_argument("--steps", type=int, default=10, help="at most this many timed cluster turns")
    ap.add_argument("--min-steps", type=int, default=3, help="at least this many timed cluster turns")
    ap.add_argument("--budget", type=float, default=170.0, help="seconds for the cluster part (fits N)")
    ap.add_argument("--worker-timeout", type=float, default=120.0)
    ap.add_argument("--ctl-timeout", type=float, default=600.0, help="vrctl -t for status and step")
    a = ap.parse_args()

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:   # nohup: keep running
        signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    t = Tools(os.path.abspath(a.build))
    t_start = time.monotonic()
    mach = machine()
    rows: List[str] = []
    notes: List[str] = []
    bmach: List[str] = []
    if a.backbone:
        bmach, brows, bnotes = read_backbone(a.backbone)
        rows += brows
        notes += bnotes

    if not a.no_turn:
        log(f"one universe in process, {a.turn_fleets} fleets (~{a.turn_fleets * SHIPS_PER_FLEET / 1e6:.1f}M ships)")
        b = bench_turn(t, a.turn_fleets, a.systems, a.turn_turns, a.turn_warmup)
        report_turn(b, rows, notes)
        p1 = plan_bytes(t, 1, a.systems, a.turn_fleets)
        rows.append(row(f"1 universe: `vr-coordinator --plan -u 1 --fleets {a.turn_fleets}` arena bytes per "
                        f"ship", f"{p1[0] / b['ships0']:.1f} B", f"goal {TARGET_BYTES_SHIP:.0f} B",
                        p1[0] / b["ships0"] / TARGET_BYTES_SHIP))
    if not a.quick:
        total = a.universes * a.fleets * SHIPS_PER_FLEET
        log(f"cluster: {a.universes} universes x {a.fleets} fleets (~{total / 1e6:.1f}M ships)")
        plan = plan_bytes(t, a.universes, a.systems, a.fleets)
        c = cluster(t, a)
        report_cluster(c, plan, rows, notes)

    print("## vr benchmark: backbone and simulation at scale\n" if a.backbone else
          "## vr simulation at scale\n")
    for ln in (bmach or mach):
        print(f"- {ln}")
    print()
    print("| what | figure | floor | ratio |")
    print("|---|---|---|---|")
    for r in rows:
        print(r)
    print()
    print("Ratio = figure / floor (or target); below 1 is under the target.  Medians of the timed turns "
          "unless noted; `—`: no floor to compare with (the share of the turn is shown instead).")
    for n in notes:
        print(f"- {n}")
    print(f"- scale part {time.monotonic() - t_start:.0f} s; loadavg at end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        print(f"scale: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("scale: interrupted; cluster stopped and segments removed", file=sys.stderr)
        sys.exit(130)
