"""End-to-end tests of recovery: a real coordinator and real workers killed
with SIGKILL (or stopped with SIGSTOP) at chosen or random moments, with
portal traffic between the universes (the default ring).

What is checked: a worker killed between turns, in the middle of a turn, or
after its DONE but before the COMMIT reached it (roll-forward) is restarted on
its arena and the run ends with the hashes of an undisturbed run, turn by
turn; a hung worker is killed and restarted; restarts are counted in the
cluster segment; with no restarts left (or --max-restarts 0) the cluster stops
with status 3 and a sentence; a coordinator killed with SIGKILL leaves arenas
that `vr-coordinator --resume NAME` continues with the same hashes, also when
it died between its COMMIT and the workers' publishing; --resume refuses what
it cannot do.  The chaos test does all of it at random in one long run and
compares hashes, ship counts and resource totals with an undisturbed run.

VR_TEST_TURN_DELAY_MS, VR_TEST_DIE_AFTER_DONE and
VR_TEST_COORD_DIE_AFTER_COMMIT are test-only knobs of the binaries (README,
"Failure guarantees").
"""
import json
import os
import random
import signal
import subprocess
import time

import numpy as np
import pytest

import voidreckoning as vr

from conftest import BIN, Cluster, pid_alive, shm_segments, wait_until

SMALL = ["--universes", "3", "--systems", "64", "--fleets", "600"]


def hashes_of(path):
    """{turn: line} of a hash log; lines written again after a resume must agree."""
    out = {}
    for line in path.read_text().splitlines():
        turn = int(line.split()[0])
        assert out.get(turn, line) == line, f"turn {turn} logged twice with different hashes"
        out[turn] = line
    return out


def reference(tmp_path, turns, *args):
    """An undisturbed run: its hash log as {turn: line}."""
    c = Cluster(tmp_path)
    log = tmp_path / f"{c.name}.ref"
    try:
        c.start(*SMALL, "--turns", str(turns), "--hash-log", str(log), *args, wait=False)
        rc, out, err = c.wait(120)
        assert rc == 0, err
    finally:
        c.cleanup()
    return hashes_of(log)


def worker_pids(c):
    return [u["pid"] for u in c.status()["universes"]]


def test_killed_workers_restart_and_hashes_match(cluster, tmp_path):
    turns = 80
    ref = reference(tmp_path, turns)
    c = cluster()
    log = tmp_path / "killed.hashes"
    env_delay = {"VR_TEST_TURN_DELAY_MS": "15"}
    os.environ.update(env_delay)
    try:
        c.start(*SMALL, "--turns", str(turns), "--hash-log", str(log))
    finally:
        for k in env_delay:
            del os.environ[k]
    killed = 0
    rng = random.Random(7)
    while killed < 4 and c.proc.poll() is None:
        time.sleep(rng.uniform(0.05, 0.3))
        try:
            st = c.status()
        except (AssertionError, json.JSONDecodeError):
            continue
        victims = [u for u in st["universes"] if u["status"] == "ready"]
        if not victims:
            continue
        v = rng.choice(victims)
        try:
            os.kill(v["pid"], signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    rc, out, err = c.wait(120)
    assert rc == 0, err
    assert killed == 4
    assert err.count("restarting it on its arena") >= 4 and "is back at turn" in err
    assert "portal conservation" not in err  # every transfer arrived exactly once
    assert hashes_of(log) == ref
    assert shm_segments(c.name) == []


def test_worker_dead_between_done_and_commit_rolls_forward(cluster, tmp_path):
    turns = 40
    ref = reference(tmp_path, turns)
    c = Cluster(tmp_path)
    log = tmp_path / "rf.hashes"
    marker = tmp_path / "died"
    env = dict(c.env(), VR_TEST_DIE_AFTER_DONE=f"1:20:{marker}")
    try:
        r = subprocess.run([str(BIN / "vr-coordinator"), "--name", c.name, "--quiet", *SMALL, "--turns",
                            str(turns), "--hash-log", str(log)], capture_output=True, text=True, env=env,
                           timeout=120)
    finally:
        c.cleanup()
    assert r.returncode == 0, r.stderr
    assert marker.exists()
    assert "worker u1" in r.stderr and "restarting it on its arena" in r.stderr
    # either the COMMIT of turn 20 was already out (roll forward) or not (replay): both end the same
    assert "rolling forward: ADOPT of its computed turn 20" in r.stderr or "is back at turn 19" in r.stderr
    assert "portal conservation" not in r.stderr
    assert hashes_of(log) == ref


def test_hung_worker_is_killed_and_restarted(cluster, tmp_path):
    turns = 60
    ref = reference(tmp_path, turns)
    c = cluster()
    log = tmp_path / "hung.hashes"
    c.start(*SMALL, "--turns", str(turns), "--hash-log", str(log), "--worker-timeout", "1", "--paused")
    c.ctl("step", "10")
    victim = worker_pids(c)[2]
    os.kill(victim, signal.SIGSTOP)
    c.ctl("resume")
    rc, out, err = c.wait(60)
    assert rc == 0, err
    assert "worker u2" in err and "hung" in err and "restarting it on its arena" in err
    assert not pid_alive(victim)
    assert hashes_of(log) == ref


def test_restarts_are_counted_in_the_cluster_segment(cluster):
    c = cluster().start(*SMALL, "--paused")
    c.ctl("step", "3")
    old = worker_pids(c)[0]
    os.kill(old, signal.SIGKILL)

    def back():
        u0 = c.status()["universes"][0]
        return u0["status"] == "ready" and u0["pid"] != old
    assert wait_until(back, 20)
    c.worker_pids = worker_pids(c)
    c.ctl("step", "2")
    assert c.status()["turn"] == 5
    assert [u["metrics"]["restarts"] for u in c.status()["universes"]] == [1, 0, 0]
    with vr.attach(c.name) as cl:
        assert cl.read_turn(lambda t: [u.metrics["restarts"] for u in t.universes]) == [1, 0, 0]


def test_no_restarts_left_stops_the_cluster(cluster):
    c = cluster().start(*SMALL, "--paused", "--max-restarts", "1")
    os.kill(worker_pids(c)[1], signal.SIGKILL)
    assert wait_until(lambda: c.status()["universes"][1]["status"] == "ready"
                      and c.status()["universes"][1]["pid"] not in c.worker_pids, 20)
    second = c.status()["universes"][1]["pid"]
    os.kill(second, signal.SIGKILL)
    rc, out, err = c.wait(30)
    assert rc == 3
    assert "u1" in err and "no restarts left (--max-restarts)" in err
    assert shm_segments(c.name) == []


def test_max_restarts_zero_keeps_fail_fast(cluster):
    c = cluster().start(*SMALL, "--paused", "--max-restarts", "0")
    os.kill(c.worker_pids[0], signal.SIGKILL)
    rc, out, err = c.wait(30)
    assert rc == 3
    assert "u0" in err and "signal 9" in err and "restarts are off" in err


def resume(c, *args, env=None, timeout=120):
    return subprocess.run([str(BIN / "vr-coordinator"), "--resume", c.name, "--quiet", *args],
                          capture_output=True, text=True, env=env or c.env(), timeout=timeout)


def test_killed_coordinator_resumes_with_the_same_hashes(cluster, tmp_path):
    turns = 120
    ref = reference(tmp_path, turns)
    c = cluster()
    first, second = tmp_path / "first.hashes", tmp_path / "second.hashes"
    os.environ["VR_TEST_TURN_DELAY_MS"] = "10"  # 120 turns take over a second: the kill lands mid-run
    try:
        c.start(*SMALL, "--turns", str(turns), "--hash-log", str(first))
    finally:
        del os.environ["VR_TEST_TURN_DELAY_MS"]
    pids = c.worker_pids
    assert wait_until(lambda: len(first.read_text().splitlines()) > 30, 30)
    assert c.proc.poll() is None
    c.proc.kill()
    c.proc.communicate()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5), "workers outlived the coordinator"
    assert len(shm_segments(c.name)) == 4
    r = resume(c, "--hash-log", str(second))
    assert r.returncode == 0, r.stderr
    assert f'cluster "{c.name}" resumed at turn' in r.stderr
    assert "portal conservation" not in r.stderr
    assert f"final turn {turns}" in r.stdout
    merged = {**hashes_of(first), **hashes_of(second)}
    assert merged == ref
    assert shm_segments(c.name) == []
    assert not (tmp_path / f"vr-{c.name}.run").exists()


def test_resume_after_a_half_done_commit_rolls_forward(cluster, tmp_path):
    turns = 60
    ref = reference(tmp_path, turns)
    c = Cluster(tmp_path)
    first, second = tmp_path / "h1", tmp_path / "h2"
    env = dict(c.env(), VR_TEST_COORD_DIE_AFTER_COMMIT="30")
    try:
        r = subprocess.run([str(BIN / "vr-coordinator"), "--name", c.name, "--quiet", *SMALL, "--turns",
                            str(turns), "--hash-log", str(first)], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == -signal.SIGKILL
        time.sleep(0.2)
        r = resume(c, "--hash-log", str(second))
        assert r.returncode == 0, r.stderr
        assert "resumed at turn 30" in r.stderr or "resumed at turn 29" in r.stderr
        assert {**hashes_of(first), **hashes_of(second)} == ref
    finally:
        c.cleanup()


def test_resume_refuses_what_it_cannot_do(cluster, tmp_path):
    c = cluster().start(*SMALL, "--paused")
    # a live cluster is not resumed
    r = resume(c)
    assert r.returncode == 1 and "still running" in r.stderr
    assert c.status()["status"] == "paused"
    # the world comes from the dead run
    r = resume(c, "--seed", "9")
    assert r.returncode == 2 and "--seed" in r.stderr
    # no run file: nothing to resume
    r = subprocess.run([str(BIN / "vr-coordinator"), "--resume", "nosuchcluster"], capture_output=True,
                       text=True, env=c.env(), timeout=30)
    assert r.returncode == 1 and "vr-nosuchcluster.run" in r.stderr


def totals(cl):
    """Per universe: live ships, and every good held anywhere (planets,
    fleets' holds, fleets in transit) plus treasuries."""
    def look(t):
        out = []
        for u in t.universes:
            ships = u.table("ships")
            held = []
            for name in ("planets", "fleets", "transit"):
                tab = u.table(name)
                col = "stock" if name == "planets" else "cargo"
                a = np.asarray(tab.live(col), dtype=np.int64)
                held.append(a.reshape(len(tab), -1).sum(axis=0) if len(tab) else None)
            held = tuple(tuple(int(x) for x in h) if h is not None else () for h in held)
            treasury = int(u.table("factions").live("treasury").sum())
            out.append((t.number, len(ships), held, treasury, u.hash))
        return out
    return cl.read_turn(look)


def test_chaos_kills_everywhere_same_end(cluster, tmp_path):
    """3 universes, 300 turns with portal traffic, turns that take real time;
    workers killed at random moments (seeded) six times and the coordinator
    once: the final hashes, ship counts and resource totals equal an
    undisturbed run's, and every logged turn's hashes too."""
    turns = 300
    args = ["--universes", "3", "--systems", "128", "--fleets", "2000", "--turns", str(turns),
            "--max-restarts", "5", "--hold"]
    rng = random.Random(20261204)

    ref_log = tmp_path / "ref.hashes"
    ref = cluster()
    ref.start(*args, "--hash-log", str(ref_log))
    assert wait_until(lambda: ref.status()["turn"] == turns, 120)
    with vr.attach(ref.name) as cl:
        want = totals(cl)
    ref.ctl("shutdown")
    assert ref.wait(30)[0] == 0

    os.environ["VR_TEST_TURN_DELAY_MS"] = "8"
    try:
        c = cluster()
        first, second = tmp_path / "c1.hashes", tmp_path / "c2.hashes"
        c.start(*args, "--hash-log", str(first))
        kills, coordinator_killed, seen = 0, False, set()
        proc = None
        while True:
            try:
                st = c.status()
            except AssertionError:
                st = None
            if st and st["turn"] >= turns:
                break
            time.sleep(rng.uniform(0.02, 0.25))
            if st is None:
                continue
            if not coordinator_killed and st["turn"] > 150:
                pids = worker_pids(c)
                (proc or c.proc).kill()
                (proc or c.proc).communicate()
                coordinator_killed = True
                assert wait_until(lambda: not any(pid_alive(p) for p in pids), 10)
                proc = subprocess.Popen([str(BIN / "vr-coordinator"), "--resume", c.name, "--quiet",
                                         "--hash-log", str(second), "--hold"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=c.env())
                c.proc = proc
                assert wait_until(lambda: c.ctl("--json", "status", check=False).returncode == 0, 30)
                continue
            if kills < 6 and st["turn"] > 10:
                ready = [u for u in st["universes"] if u["status"] == "ready" and u["pid"] > 0]
                if ready:
                    v = rng.choice(ready)
                    try:
                        os.kill(v["pid"], signal.SIGKILL)
                        kills += 1
                        seen.add(v["pid"])
                    except ProcessLookupError:
                        pass
        c.worker_pids = worker_pids(c)
        with vr.attach(c.name) as cl:
            got = totals(cl)
        c.ctl("shutdown")
        rc, out, err = c.wait(60)
        assert rc == 0, err
        assert "portal conservation" not in err
    finally:
        del os.environ["VR_TEST_TURN_DELAY_MS"]
    assert kills == 6 and coordinator_killed
    assert got == want
    merged = {**hashes_of(first), **hashes_of(second)}
    full = hashes_of(ref_log)
    assert merged[turns] == full[turns]
    assert all(full[t] == line for t, line in merged.items())


def test_resume_continues_command_tickets(cluster, tmp_path):
    """Tickets are in the state hash: commands issued after a --resume get the
    tickets they would have had, so the hashes equal a run never stopped."""
    def drive(c, log, kill_at=None):
        c.start(*SMALL, "--paused", "--hash-log", str(log))
        ctl = vr.connect(c.name, timeout=30)
        ctl.step(4)
        ctl.set_policy(0, 1, stance="aggressive")
        ctl.step(3)
        if kill_at:
            pids = worker_pids(c)
            c.proc.kill()
            c.proc.communicate()
            assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5)
            c.proc = subprocess.Popen([str(BIN / "vr-coordinator"), "--resume", c.name, "--quiet", "--paused",
                                       "--hash-log", str(kill_at)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=c.env())
            assert wait_until(lambda: c.ctl("--json", "status", check=False).returncode == 0, 30)
            c.worker_pids = worker_pids(c)
            ctl = vr.connect(c.name, timeout=30)
        t = ctl.set_policy(1, 2, budget=[1, 2, 3])
        ctl.step(5)
        t.result(timeout=30)  # applied (raises if it failed)
        got = ctl.hash()
        ctl.shutdown()
        c.wait(30)
        return t.ticket, got
    ref_log, log1, log2 = tmp_path / "ref", tmp_path / "a", tmp_path / "b"
    want = drive(cluster(), ref_log)
    got = drive(cluster(), log1, kill_at=log2)
    assert got[0] == want[0] == 2  # the second command's ticket, after the resume too
    assert {**hashes_of(log1), **hashes_of(log2)} == hashes_of(ref_log)
