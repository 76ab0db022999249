"""End-to-end tests of the cluster backbone: real processes, sockets, shm."""
import json
import os
import random
import re
import signal
import subprocess
import time

import msgpack
import numpy as np
import pytest
import zmq
from pathlib import Path

from conftest import BIN, Cluster, pid_alive, run_to_end, shm_segments, wait_until


def test_100_turns_same_seed_same_hash_every_turn(tmp_path):
    final1, log1, c1 = run_to_end(tmp_path, "--universes", "4", "--turns", "100", "--seed", "7")
    final2, log2, c2 = run_to_end(tmp_path, "--universes", "4", "--turns", "100", "--seed", "7")
    assert re.fullmatch(r"final turn 100 cluster hash [0-9a-f]{16}", final1)
    assert len(log1) == 101  # turn 0 .. 100
    assert [l.split()[0] for l in log1] == [str(t) for t in range(101)]
    assert log1 == log2
    assert final1 == final2
    # a cluster hash changes from turn to turn: the world really moves
    assert len({l.split()[1] for l in log1}) == 101
    assert shm_segments(c1.name) == [] and shm_segments(c2.name) == []


def test_different_seed_gives_different_hashes(tmp_path):
    _, log1, _ = run_to_end(tmp_path, "--turns", "20", "--seed", "1")
    _, log2, _ = run_to_end(tmp_path, "--turns", "20", "--seed", "2")
    for a, b in zip(log1, log2):
        assert a.split()[1:] != b.split()[1:]
        # every universe differs, not just one
        assert all(x != y for x, y in zip(a.split()[2:], b.split()[2:]))


def test_hashes_do_not_depend_on_pinning(tmp_path):
    _, log1, _ = run_to_end(tmp_path, "--turns", "30", "--pin", "node")
    _, log2, _ = run_to_end(tmp_path, "--turns", "30", "--pin", "core")
    assert log1 == log2


def cpus_allowed(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Cpus_allowed_list")


@pytest.mark.parametrize("pin", ["node", "core"])
def test_worker_affinity_matches_plan(cluster, pin):
    c = cluster().start("--paused", "--pin", pin)
    plan = subprocess.run([str(BIN / "vr-coordinator"), "--plan", "--pin", pin, "--name", "planonly"],
                          capture_output=True, text=True, check=True).stdout
    planned = {}
    for line in plan.splitlines():
        m = re.match(r"u(\d+)\s+(\d+)\s+(\S+)\s+\d+$", line)
        if m:
            planned[int(m.group(1))] = m.group(3)
    st = c.status()
    assert len(planned) == 4
    for u in st["universes"]:
        assert u["cpus"] == planned[u["universe"]]
        assert cpus_allowed(u["pid"]) == planned[u["universe"]], f"u{u['universe']}"
        assert u["bind"] & 1, "CPU binding not reported as applied"
    if pin == "core" and os.cpu_count() >= 2:
        assert len({u["cpus"] for u in st["universes"]}) > 1


def test_synthetic_topology_binding_is_reported_not_fatal(cluster):
    c = cluster()
    env = c.env()
    env["HWLOC_SYNTHETIC"] = "package:2 numa:1 core:4 pu:1"
    c.proc = subprocess.Popen([str(BIN / "vr-coordinator"), "--name", c.name, "--quiet", "--turns", "5"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = c.proc.communicate(timeout=60)
    assert c.proc.returncode == 0, err
    assert "final turn 5" in out
    assert "not this machine" in err


def test_status_says_starting_until_every_worker_is_ready(cluster, tmp_path):
    # one universe whose turn 0 (100,000 systems) takes a while to build
    c = cluster()
    c.start("--paused", "--universes", "1", "--systems", "100000", "--fleets", "0", wait=False)
    seen = set()
    def ready():
        r = c.ctl("--json", "status", check=False)
        if r.returncode == 0:
            st = json.loads(r.stdout)
            seen.add(st["status"])
            if st["status"] == "starting":
                assert st["turn"] == 0
            return st["status"] == "paused"
        return False
    assert wait_until(ready, 60, step=0.005)
    assert "starting" in seen
    assert all(u["status"] == "ready" for u in c.status()["universes"])


def test_vrctl_step_pause_resume_hash(cluster):
    c = cluster().start("--paused")
    st = c.status()
    assert st["status"] == "paused" and st["turn"] == 0
    assert len(st["universes"]) == 4
    assert all(u["entities"] > 0 for u in st["universes"])
    r = c.ctl("step", "5")
    assert r.stdout.strip() == "turn 5 (paused)"
    time.sleep(0.3)
    assert c.status()["turn"] == 5  # paused means paused
    h = c.ctl("hash").stdout.splitlines()
    assert re.fullmatch(r"turn 5 cluster hash [0-9a-f]{16}", h[0])
    assert len(h) == 5 and all(re.fullmatch(r"u\d [0-9a-f]{16}", x) for x in h[1:])
    c.ctl("resume")
    assert wait_until(lambda: c.status()["turn"] > 20)
    r = c.ctl("pause")
    t = int(re.match(r"turn (\d+)", r.stdout).group(1))
    time.sleep(0.3)
    assert c.status()["turn"] == t
    assert c.status()["status"] == "paused"
    c.ctl("shutdown")
    rc, out, err = c.wait()
    assert rc == 0, err
    assert out.strip().startswith(f"final turn {t} cluster hash ")


def test_step_results_match_free_run(cluster, tmp_path):
    _, log, _ = run_to_end(tmp_path, "--turns", "12")
    c = cluster().start("--paused")
    for _ in range(4):
        c.ctl("step", "3")
    h = c.ctl("hash").stdout.split()
    assert h[:5] == ["turn", "12", "cluster", "hash", log[12].split()[1]]


def test_vrctl_errors(cluster, tmp_path):
    r = subprocess.run([str(BIN / "vrctl"), "-n", "nosuchcluster", "status"], capture_output=True, text=True)
    assert r.returncode == 3 and "not running" in r.stderr
    r = subprocess.run([str(BIN / "vrctl"), "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown command" in r.stderr
    c = cluster().start("--paused", "--turns", "3")
    r = c.ctl("step", "10", check=False)
    assert r.returncode == 1 and "turn limit" in r.stderr


def test_python_attaches_and_sees_turns_advance(cluster):
    import voidreckoning as vr
    c = cluster().start()
    w = vr.attach(c.name)
    try:
        assert len(w.universes) == 4
        u = w.universes[0]
        ships, t0 = u.column("fleets", "ships")
        assert not ships.flags.writeable
        with pytest.raises(ValueError):
            ships[0] = 1
        assert len(ships) > 0
        assert wait_until(lambda: u.column("fleets", "ships")[1] > t0 + 5)
        # a consistent read of one turn; a read slower than a turn is refused
        # (TornReadError) and simply retried, as a user would
        for attempt in range(100):
            try:
                with u.read() as view:
                    x = view.column("systems", "x").copy()
                    alive = int(view.alive("fleets").sum())
                    turn = view.turn
                break
            except vr.TornReadError:
                continue
        else:
            raise AssertionError("no consistent read in 100 attempts")
        assert len(x) == 256 and turn >= t0 and alive >= 4096  # production adds fleets
    finally:
        w.close()
    c.ctl("shutdown")
    assert c.wait()[0] == 0


def test_shutdown_leaves_nothing(cluster):
    c = cluster().start()
    pids = c.worker_pids
    assert len(pids) == 4 and all(pid_alive(p) for p in pids)
    assert len(shm_segments(c.name)) == 5
    c.proc.send_signal(signal.SIGINT)
    rc, out, err = c.wait()
    assert rc == 0, err
    assert re.fullmatch(r"final turn \d+ cluster hash [0-9a-f]{16}", out.strip())
    assert shm_segments(c.name) == []
    assert not any(pid_alive(p) for p in pids)
    assert list(c.rundir.glob(f"vr-{c.name}.*")) == []  # ipc socket files removed


def test_sigkill_coordinator_workers_exit_and_stale_segments_reported(cluster):
    c = cluster().start()
    pids = c.worker_pids
    c.proc.kill()
    c.proc.communicate()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5.0), "workers outlived the coordinator"
    assert len(shm_segments(c.name)) == 5  # arenas stay for a later resume
    again = Cluster(c.rundir, name=c.name)
    r = subprocess.run([str(BIN / "vr-coordinator"), "--name", c.name, "--turns", "3", "--quiet"],
                       capture_output=True, text=True, env=again.env(), timeout=60)
    assert r.returncode == 1
    assert "stale" in r.stderr and f"vr.{c.name}.cluster" in r.stderr and "--reclaim" in r.stderr
    assert len(shm_segments(c.name)) == 5  # reported, not touched
    r = subprocess.run([str(BIN / "vr-coordinator"), "--name", c.name, "--turns", "3", "--quiet", "--reclaim"],
                       capture_output=True, text=True, env=again.env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "final turn 3" in r.stdout
    assert shm_segments(c.name) == []


def test_second_coordinator_with_same_name_is_refused(cluster):
    c = cluster().start("--paused")
    r = subprocess.run([str(BIN / "vr-coordinator"), "--name", c.name, "--turns", "1", "--quiet"],
                       capture_output=True, text=True, env=c.env(), timeout=30)
    assert r.returncode == 1 and "already running" in r.stderr
    assert c.status()["status"] == "paused"  # the first one is untouched


def test_killed_worker_is_detected_and_cluster_stops(cluster):
    c = cluster().start("--paused", "--max-restarts", "0")  # restarts: tests/e2e/test_recovery.py
    os.kill(c.worker_pids[2], signal.SIGKILL)
    rc, out, err = c.wait(timeout=30)
    assert rc == 3
    assert "u2" in err and "signal 9" in err
    assert shm_segments(c.name) == []
    assert not any(pid_alive(p) for p in c.worker_pids)


def test_hung_worker_is_detected_within_timeout(cluster):
    c = cluster().start("--worker-timeout", "1", "--max-restarts", "0")
    os.kill(c.worker_pids[1], signal.SIGSTOP)
    try:
        rc, out, err = c.wait(timeout=30)
    finally:
        try:
            os.kill(c.worker_pids[1], signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert rc == 3
    assert "u1" in err and ("did not answer" in err or "hung" in err)
    assert wait_until(lambda: not any(pid_alive(p) for p in c.worker_pids), 10)


def test_bad_options_are_named():
    for args, word in [(["--name", "bad/name"], "--name"), (["--universes", "0"], "--universes"),
                       (["--turns", "ten"], "--turns"), (["--pin", "socket"], "--pin"),
                       (["--topology", "nonsense:9"], "topology")]:
        r = subprocess.run([str(BIN / "vr-coordinator"), *args], capture_output=True, text=True, timeout=30)
        assert r.returncode in (1, 2), args
        assert word in r.stderr, (args, r.stderr)


def raw_request(endpoint, frames, timeout_ms=5000):
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout_ms)
    s.connect(endpoint)
    try:
        s.send_multipart([b""] + frames)
        reply = s.recv_multipart()
        assert reply[0] == b""
        return msgpack.unpackb(reply[-1], raw=False)
    finally:
        s.close()
        ctx.term()


def test_hostile_command_input_gets_errors_and_changes_nothing(cluster):
    c = cluster().start("--paused")
    c.ctl("step", "2")
    before = c.status()
    ep = f"ipc://{c.rundir}/vr-{c.name}.cmd"
    rng = random.Random(1234)
    bad = [
        b"",
        b"\xc1",  # never-used msgpack byte
        msgpack.packb([1, 2, 3]),
        msgpack.packb("status"),
        msgpack.packb({"cmd": 5}),
        msgpack.packb({"cmd": "explode"}),
        msgpack.packb({"cmd": "step", "n": -1}),
        msgpack.packb({"cmd": "step", "n": "10"}),
        msgpack.packb({"cmd": "step", "n": 10**12}),
        msgpack.packb({"cmd": "status", "v": 99}),
        msgpack.packb({"cmd": "status", "extra": 1}),
        msgpack.packb({1: "status"}),
        b"\xdb\xff\xff\xff\xffabc",  # str32 claiming 4 GiB
        b"\xdd\xff\xff\xff\xff",  # array32 claiming 4G elements
        b"\x91" * 100000 + b"\xc0",  # deep nesting, also over the size limit
        msgpack.packb({"cmd": "status"}) + b"junk",
        msgpack.packb({"cmd": "x" * 70000}),  # oversized
    ] + [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64))) for _ in range(200)]
    for payload in bad:
        rep = raw_request(ep, [payload])
        if rep.get("ok"):  # random bytes can, rarely, spell a valid request
            continue
        assert rep["ok"] is False and isinstance(rep["error"], str) and rep["error"], payload[:20]
    rep = raw_request(ep, [msgpack.packb({"cmd": "explode"})])
    assert "explode" in rep["error"]
    rep = raw_request(ep, [msgpack.packb({"cmd": "status", "v": 99})])
    assert "99" in rep["error"] and "speaks 2" in rep["error"]  # wire version 2: commands in TURN
    rep = raw_request(ep, [b"a", b"b"])  # two frames
    assert rep["ok"] is False and "frame" in rep["error"]
    after = c.status()
    assert after["turn"] == before["turn"] == 2
    assert after["cluster_hash"] == before["cluster_hash"]
    assert after["status"] == "paused"
    assert [u["pid"] for u in after["universes"]] == [u["pid"] for u in before["universes"]]
    c.ctl("step", "1")  # still works


def test_per_system_metrics_reach_cluster_segment_and_vrctl(cluster):
    import voidreckoning as vr
    c = cluster().start("--paused")
    c.ctl("step", "3")
    with vr.attach(c.name) as w:
        r = w.records()
        names = r.dtype.names
        assert {"m_movement_ns", "m_moved", "m_ships", "m_arrivals"} <= set(names)
        assert (r["committed_turn"] == 3).all()
        assert (r["m_moved"] > 0).all() and (r["m_ships"] > 0).all() and (r["m_movement_ns"] > 0).all()
    st = c.status()
    for u in st["universes"]:
        assert u["metrics"]["moved"] == int(r["m_moved"][u["universe"]])
        assert u["metrics"]["ships"] == int(r["m_ships"][u["universe"]])


CONTENT = Path(os.environ.get("VR_CONTENT_DIR",
                              Path(__file__).resolve().parents[3] / "shared" / "data" / "void_reckoning"))


@pytest.mark.skipif(not CONTENT.is_dir(), reason="content pack not found (set VR_CONTENT_DIR)")
def test_content_pack_runs_deterministically_with_its_factions_and_designs(cluster, tmp_path):
    import voidreckoning as vr
    _, log1, _ = run_to_end(tmp_path, "--turns", "15", "--content", str(CONTENT))
    _, log2, _ = run_to_end(tmp_path, "--turns", "15", "--content", str(CONTENT))
    _, builtin, _ = run_to_end(tmp_path, "--turns", "15")
    assert log1 == log2 and log1 != builtin
    c = cluster().start("--paused", "--universes", "1", "--content", str(CONTENT))
    with vr.attach(c.name) as w:
        with w.universes[0].read() as v:
            assert v.rows("factions") == 10  # the pack's 10 factions
            design = v.column("ships", "design")[v.alive("ships")]
            assert design.max() < 420 and len(np.unique(design)) > 20
            hull = v.column("ships", "hull")[v.alive("ships")]
            assert hull.min() > 0


@pytest.mark.skipif(not CONTENT.is_dir(), reason="content pack not found (set VR_CONTENT_DIR)")
def test_python_reads_faction_and_design_names_of_the_pack(cluster):
    import voidreckoning as vr
    uni = CONTENT / "universes" / "void_reckoning"
    registry = json.loads((uni / "factions" / "faction_registry.json").read_text())
    roster = json.loads((uni / "units" / "procedural_roster.json").read_text())
    c = cluster().start("--paused", "--universes", "2", "--content", str(CONTENT))
    c.ctl("step", "2")
    with vr.attach(c.name) as w:
        for u in w.universes:
            # step returns at the commit; the worker publishes a moment later
            assert wait_until(lambda: u.turn == 2, 10)
            with u.read() as v:
                assert v.turn == 2
                factions = v.names("factions")
                designs = v.names("designs")
                hulls = v.names("designs", "hull_class")
                owner = v.column("designs", "faction").copy()
                alive = v.alive("ships")
                ship_design = v.column("ships", "design")[alive].copy()
                ship_faction = v.column("ships", "faction")[alive].copy()
            assert "Templars_of_the_Flux" in factions
            assert factions == sorted(registry)  # one universe faction per pack faction, by id
            assert designs == sorted(roster)     # row = ships.design = the content's index
            assert set(hulls) <= {"corvette", "destroyer", "cruiser", "battleship", "titan",
                                  "missile_destroyer", "command_cruiser",
                                  "exterminator_battleship", "mothership"}
            for d, name in enumerate(designs):
                assert factions[owner[d] - 1] == roster[name]["faction"]
            # every ship: its faction's name is the faction of its design in the pack
            assert len(ship_design) > 0
            for d, f in set(zip(ship_design.tolist(), ship_faction.tolist())):
                assert roster[designs[d]]["faction"] == factions[f - 1]
            assert u.names("factions") == (factions, 2)


def test_broken_content_pack_is_refused_naming_file_and_field(tmp_path):
    import shutil
    if not CONTENT.is_dir():
        pytest.skip("content pack not found")
    bad = tmp_path / "pack"
    shutil.copytree(CONTENT, bad)
    roster = bad / "universes" / "void_reckoning" / "units" / "procedural_roster.json"
    roster.write_text(roster.read_text().replace('"hp": 80', '"hp": "eighty"', 1))
    r = subprocess.run([str(BIN / "vr-coordinator"), "--name", f"bad{os.getpid()}", "--turns", "1",
                        "--content", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "procedural_roster.json" in r.stderr and "base_stats.hp" in r.stderr
    (bad / "universes" / "void_reckoning" / "factions" / "weapon_registry.json").unlink()
    r = subprocess.run([str(BIN / "vr-coordinator"), "--name", f"bad{os.getpid()}", "--turns", "1",
                        "--content", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "weapon_registry.json" in r.stderr
    assert shm_segments(f"bad{os.getpid()}") == []
