"""Snapshots with portal traffic in flight: 3 universes on the default portal
ring, a snapshot taken on a turn where fleets are in transit (rows of the
`transit` tables, the committed outbox).  A --restore from it, vr-replay from
it, and a restored run whose coordinator is SIGKILLed and --resume'd without
the snapshot file all reach the undisturbed run's hashes, and the portal
audit reports nothing (the first turn after a restore checks the arrivals
against the restored outboxes)."""
import subprocess
import time

import voidreckoning as vr
from conftest import BIN, Cluster, pid_alive, shm_segments, wait_until

SCEN = ("--universes", "3", "--systems", "64", "--fleets", "600", "--seed", "5")
AFTER = 25  # turns run after the snapshot


def hash_lines(path):
    out = {}
    for line in path.read_text().splitlines():
        t, rest = line.split(" ", 1)
        assert out.get(int(t), rest) == rest, f"turn {t} logged twice with different hashes"
        out[int(t)] = rest
    return out


def in_transit(att, turn):
    """Rows of each universe's transit table at committed turn `turn`
    (waits for the workers to publish it)."""
    def look(t):
        return [len(u.table("transit").live("fleet")) for u in t.universes] if t.number == turn else None
    for _ in range(1000):
        got = att.read_turn(look)
        if got is not None:
            return got
        time.sleep(0.01)
    raise AssertionError(f"turn {turn} never became readable")


def reference(tmp):
    """Steps a paused run until fleets are in transit at a committed turn,
    snapshots it there, then runs AFTER more turns.  Returns (snapshot path,
    its turn, hash log, command log, final line)."""
    c = Cluster(tmp)
    hl, cl = tmp / "ref.hashes", tmp / "ref.cmdlog"
    try:
        c.start("--paused", "--hash-log", str(hl), "--command-log", str(cl), *SCEN)
        with vr.connect(c.name, timeout=20) as cmd, vr.attach(c.name) as att:
            snap = None
            for _ in range(300):
                turn = cmd.step(1)["turn"]
                if turn >= 3 and sum(in_transit(att, turn)) > 0:
                    snap = cmd.snapshot(tmp / "transit.vrsnap")
                    break
            assert snap, "no fleet ever in transit in 300 turns: the scenario has no portal traffic"
            assert snap["turn"] == turn
            cmd.step(AFTER)
            cmd.shutdown()
        rc, out, err = c.wait(120)
        assert rc == 0, err
        assert "portal conservation" not in err, err
    finally:
        c.cleanup()
    return tmp / "transit.vrsnap", turn, hash_lines(hl), cl


def test_restore_replay_and_resume_with_fleets_in_transit(tmp_path):
    snap, t, ref, cmdlog = reference(tmp_path)
    end = t + AFTER
    assert max(ref) == end

    # --restore: the fleets in transit are in the restored arenas and arrive
    c = Cluster(tmp_path)
    hl = tmp_path / "restored.hashes"
    try:
        c.start("--restore", str(snap), "--paused", "--turns", str(end), "--hash-log", str(hl))
        with vr.attach(c.name) as att:
            assert sum(in_transit(att, t)) > 0
        c.ctl("resume")
        rc, out, err = c.wait(120)
        assert rc == 0, err
        assert "portal conservation" not in err and "Host unreachable" not in err, err
    finally:
        c.cleanup()
    got = hash_lines(hl)
    assert sorted(got) == list(range(t, end + 1))
    assert all(got[k] == ref[k] for k in got), [k for k in got if got[k] != ref[k]]

    # vr-replay: the batches handed over in-process give the same hashes
    r = subprocess.run([str(BIN / "vr-replay"), str(snap), str(cmdlog), "--until", str(end)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith(f"final turn {end} cluster hash {ref[end].split()[0]} ")

    # a restored run's coordinator killed, then --resume'd: the run file holds
    # the snapshot's world, so the snapshot file is no longer needed
    c = Cluster(tmp_path)
    first, second = tmp_path / "first.hashes", tmp_path / "second.hashes"
    try:
        c.start("--restore", str(snap), "--paused", "--turns", str(end), "--hash-log", str(first))
        c.ctl("step", "4")
        assert wait_until(lambda: c.status()["turn"] == t + 4, 10)
        run_file = (tmp_path / f"vr-{c.name}.run").read_text()
        assert "--restore" not in run_file
        assert "arg --universes\narg 3\n" in run_file and "arg --seed\narg 5\n" in run_file
        pids = c.worker_pids
        c.proc.kill()
        c.proc.communicate()
        assert wait_until(lambda: not any(pid_alive(p) for p in pids), 10), "workers outlived the coordinator"
        snap.rename(snap.with_suffix(".gone"))
        res = subprocess.Popen([str(BIN / "vr-coordinator"), "--resume", c.name, "--quiet",
                                "--hash-log", str(second)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=c.env())
        c.proc = res
        assert wait_until(lambda: c.ctl("status", check=False).returncode == 0, 30), "resumed cluster not up"
        c.worker_pids = [u["pid"] for u in c.status()["universes"]]
        c.ctl("resume")  # the run was --paused: so is the resumed one
        out, err = res.communicate(timeout=120)
        assert res.returncode == 0, err
        assert f"final turn {end}" in out
        assert "portal conservation" not in err, err
    finally:
        c.cleanup()
    merged = {**hash_lines(first), **hash_lines(second)}
    assert merged == {k: ref[k] for k in range(t, end + 1)}
    assert shm_segments(c.name) == []


def test_resume_refuses_restore():
    r = subprocess.run([str(BIN / "vr-coordinator"), "--resume", "whatever", "--restore", "x.vrsnap"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--restore x.vrsnap cannot be given with it" in r.stderr, r.stderr
