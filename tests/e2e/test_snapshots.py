"""End-to-end tests of snapshots, --restore, the command log and vr-replay:
a real cluster (coordinator, workers, portals between two universes, ZeroMQ,
shm), commands issued through the Python client during the run, snapshots
through `vrctl snapshot`, Client.snapshot and --snapshot-every."""
import os
import subprocess

import pytest

import voidreckoning as vr
from conftest import BIN, Cluster, shm_segments, wait_until
from test_commands import far_system, standing_fleets

SCEN = ("--universes", "2", "--systems", "64", "--fleets", "200", "--seed", "9")


def hash_lines(path):
    """{turn: "cluster u0 u1"} of a --hash-log."""
    out = {}
    for line in path.read_text().splitlines():
        t, rest = line.split(" ", 1)
        out[int(t)] = rest
    return out


def replay(*args, timeout=120):
    return subprocess.run([str(BIN / "vr-replay"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    """The reference run: commands in turns 2..8 (orders, spawns, a policy),
    snapshots at turns 3 (Client.snapshot, default name) and 7 (vrctl
    snapshot PATH), a spawn after the second snapshot, then free running
    to turn 14.  Yields its files and hashes."""
    tmp = tmp_path_factory.mktemp("snapA")
    c = Cluster(tmp)
    hl, cl = tmp / "a.hashes", tmp / "a.cmdlog"
    try:
        c.start("--paused", "--turns", "14", "--hash-log", str(hl), "--command-log", str(cl), *SCEN)
        with vr.connect(c.name, timeout=20) as cmd, vr.attach(c.name) as att:
            def step(n):
                r = cmd.step(n)
                assert wait_until(lambda: all(u.turn >= r["turn"] for u in att.universes), 10)
            u0, u1 = att.universes
            fids = standing_fleets(u0, 2)
            cmd.order(fids[0], "move", to=far_system(u0, fids[0]), universe=0)
            t_sp = cmd.spawn_fleet(1, 2, 0, at=5, ships=3)
            step(2)
            assert t_sp.result() > 0
            s3 = cmd.snapshot()  # turn 3 below: step first
            assert s3["turn"] == 2
            step(1)
            s3 = cmd.snapshot()
            assert s3["turn"] == 3 and os.path.dirname(s3["path"]) == str(tmp)
            assert os.path.getsize(s3["path"]) == s3["bytes"]
            cmd.order(fids[1], "hold", universe=0)
            cmd.set_policy(0, 1, stance="aggressive")
            cmd.spawn_fleet(0, 1, 1, at=7, ships=2)
            step(2)
            f1 = standing_fleets(u1, 1)[0]
            cmd.order(f1, "attack", to=far_system(u1, f1), universe=1)
            step(2)
            p7 = tmp / "seven.vrsnap"
            r = c.ctl("snapshot", str(p7))
            assert "snapshot of turn 7" in r.stdout and str(p7) in r.stdout
            # after the snapshot: one more command (its ticket continues the numbering)
            cmd.spawn_fleet(0, 2, 0, at=11, ships=4)
            cmd.resume()
        rc, out, err = c.wait(120)
        assert rc == 0, err
        yield {"dir": tmp, "hashes": hash_lines(hl), "cmdlog": cl, "s3": s3["path"], "s7": p7,
               "final": out.strip()}
    finally:
        c.cleanup()


def test_snapshot_files_and_log(run_a):
    a = run_a
    assert sorted(a["hashes"]) == list(range(15))
    assert os.path.basename(a["s3"]).endswith("-t000000000003.vrsnap")
    lines = a["cmdlog"].read_text().splitlines()
    assert lines[0].startswith("# vr command log 1")
    cmds = [l.split() for l in lines if l.startswith("C ")]
    assert {int(c[1]) for c in cmds} == {1, 4, 6, 8}  # the turns commands applied to
    assert {int(c[4]) for c in cmds} == {1, 2, 3, 5, 6}  # move, attack, hold, spawn, policy
    hl = {int(l.split()[1]): " ".join(l.split()[2:]) for l in lines if l.startswith("H ")}
    assert hl == a["hashes"]


def test_restore_continues_with_identical_hashes(run_a, cluster, tmp_path):
    a = run_a
    c = cluster()
    hl = tmp_path / "b.hashes"
    c.start("--restore", str(a["s7"]), "--paused", "--turns", "14", "--hash-log", str(hl))
    st = c.status()
    assert st["turn"] == 7 and len(st["universes"]) == 2 and st["seed"] == 9
    with vr.connect(c.name, timeout=20) as cmd:
        assert cmd.hash()["cluster_hash"] == a["hashes"][7].split()[0]
        cmd.spawn_fleet(0, 2, 0, at=11, ships=4)  # as run A did after its snapshot
        cmd.resume()
    rc, out, err = c.wait(120)
    assert rc == 0, err
    assert out.strip() == a["final"]
    assert "portal conservation" not in err  # the first turn after a restore is not audited blind
    b = hash_lines(hl)
    assert sorted(b) == list(range(7, 15))
    for t in range(7, 15):
        assert b[t] == a["hashes"][t], f"turn {t}"


def test_restore_without_the_command_diverges(run_a, tmp_path):
    """The check above is not vacuous: without the post-snapshot spawn the
    hashes differ from turn 8 on."""
    c = Cluster(tmp_path)
    hl = tmp_path / "c.hashes"
    try:
        c.start("--restore", str(run_a["s7"]), "--turns", "9", "--hash-log", str(hl), wait=False)
        rc, out, err = c.wait(120)
        assert rc == 0, err
    finally:
        c.cleanup()
    b = hash_lines(hl)
    assert b[7] == run_a["hashes"][7] and b[8] != run_a["hashes"][8]


def test_replay_reaches_identical_hashes(run_a):
    a = run_a
    r = replay(a["s3"], a["cmdlog"], "--until", 14)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    cl, u0, u1 = a["hashes"][14].split()
    assert last == f"final turn 14 cluster hash {cl} u0 {u0} u1 {u1}"
    assert "turn 9 cluster hash" in r.stdout and " ok" in r.stdout
    # from the later snapshot, to an earlier --until
    r = replay(a["s7"], a["cmdlog"], "--until", 10, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[5] == a["hashes"][10].split()[0]


def test_replay_reports_doctored_log_at_the_right_turn(run_a, tmp_path):
    a = run_a
    lines = a["cmdlog"].read_text().splitlines()
    # the policy command (applied at turn 4 in universe 0): another stance
    k = next(i for i, l in enumerate(lines) if l.startswith("C ") and l.split()[4] == "6")
    f = lines[k].split()
    assert f[1] == "4" and f[2] == "0"
    f[10] = "2" if f[10] != "2" else "0"
    doctored = tmp_path / "doctored.cmdlog"
    doctored.write_text("\n".join(lines[:k] + [" ".join(f)] + lines[k + 1:]) + "\n")
    r = replay(a["s3"], doctored, "--until", 14)
    assert r.returncode == 1, r.stdout + r.stderr
    exp = a["hashes"][4].split()[1]
    assert f"divergence at turn 4 universe 0: expected {exp} got " in r.stdout
    # a recorded hash changed: reported at its turn and universe
    lines2 = list(lines)
    k = next(i for i, l in enumerate(lines2) if l.startswith("H 11 "))
    h = lines2[k].split()
    h[4] = "%016x" % (int(h[4], 16) ^ 1)  # H TURN CLUSTER U0 U1
    lines2[k] = " ".join(h)
    doctored.write_text("\n".join(lines2) + "\n")
    r = replay(a["s3"], doctored, "--until", 14)
    assert r.returncode == 1 and "divergence at turn 11 universe 1:" in r.stdout, r.stdout
    # a snapshot with a log of another run: divergence at the snapshot's turn
    lines3 = [l for l in lines if not l.startswith("H 3 ")] + ["H 3 0 1 2"]
    doctored.write_text("\n".join(lines3) + "\n")
    r = replay(a["s3"], doctored, "--until", 5)
    assert r.returncode == 1 and "divergence at turn 3 universe 0" in r.stdout, r.stdout
    # an unreadable line: named
    doctored.write_text("\n".join(lines[:3] + ["C 4 zz"] + lines[3:]) + "\n")
    r = replay(a["s3"], doctored, "--until", 14)
    assert r.returncode == 3 and f"{doctored} line 4" in r.stderr, r.stderr


def corrupt_copies(src, tmp_path):
    data = src.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    out = {"flipped": (bytes(flipped), "corrupted"),
           "truncated": (data[: len(data) - 4096], "truncated"),
           "header": (data[:100], "truncated"),
           "foreign": (b"#!/bin/sh\necho hello\n" * 300, "not a vr snapshot")}
    newer = bytearray(data)
    newer[8] = 99  # the version field: refused before the checksum
    out["newer"] = (bytes(newer), "newer")
    paths = {}
    for k, (b, why) in out.items():
        p = tmp_path / f"{k}.vrsnap"
        p.write_bytes(b)
        paths[k] = (p, why)
    paths["missing"] = (tmp_path / "missing.vrsnap", "No such file")
    return paths


def test_corrupted_snapshots_are_refused(run_a, tmp_path):
    for kind, (p, why) in corrupt_copies(run_a["s7"], tmp_path).items():
        c = Cluster(tmp_path)
        try:
            c.start("--restore", str(p), wait=False)
            rc, out, err = c.wait(30)
        finally:
            c.cleanup()
        assert rc != 0 and str(p) in err and why in err, (kind, err)
        assert not shm_segments(c.name)
        r = replay(p, run_a["cmdlog"], "--until", 9)
        assert r.returncode == 3 and str(p) in r.stderr and why in r.stderr, (kind, r.stderr)


def test_restore_refuses_conflicting_options(run_a, tmp_path):
    for opt, val, said in (("--universes", "3", "--universes 3, but the snapshot has 2 universes"),
                           ("--seed", "10", "--seed 10, but the snapshot's seed is 9"),
                           ("--systems", "65", "--systems 65, but the snapshot has 64"),
                           ("--portals", "off", "--portals off")):
        c = Cluster(tmp_path)
        try:
            c.start("--restore", str(run_a["s7"]), opt, val, wait=False)
            rc, out, err = c.wait(30)
        finally:
            c.cleanup()
        assert rc == 2 and said in err, (opt, err)
    # the same values as the snapshot's are fine
    c = Cluster(tmp_path)
    try:
        c.start("--restore", str(run_a["s7"]), "--universes", "2", "--seed", "9", "--turns", "8", wait=False)
        rc, out, err = c.wait(60)
    finally:
        c.cleanup()
    assert rc == 0, err


def test_snapshot_every_and_keep(tmp_path):
    d = tmp_path / "snaps"
    d.mkdir()
    c = Cluster(tmp_path)
    hl = tmp_path / "e.hashes"
    try:
        c.start("--turns", "11", "--snapshot-every", "3", "--snapshot-dir", str(d), "--snapshot-keep", "2",
                "--hash-log", str(hl), *SCEN, wait=False)
        rc, out, err = c.wait(120)
        assert rc == 0, err
    finally:
        c.cleanup()
    names = sorted(p.name for p in d.iterdir())
    assert names == [f"vr-{c.name}-t000000000006.vrsnap", f"vr-{c.name}-t000000000009.vrsnap"]
    # each is a complete snapshot of its turn: a restore from turn 6 gets turn 11's hashes
    h = hash_lines(hl)
    c2 = Cluster(tmp_path)
    hl2 = tmp_path / "e2.hashes"
    try:
        c2.start("--restore", str(d / names[0]), "--turns", "11", "--hash-log", str(hl2), wait=False)
        rc, out, err = c2.wait(120)
        assert rc == 0, err
    finally:
        c2.cleanup()
    assert hash_lines(hl2)[11] == h[11]


def test_snapshot_errors_are_replies(cluster, tmp_path):
    c = cluster().start("--paused", *SCEN)
    with vr.connect(c.name, timeout=20) as cmd:
        with pytest.raises(vr.CommandError) as e:
            cmd.snapshot(tmp_path / "no" / "such" / "dir" / "x.vrsnap")
        assert "no/such/dir" in str(e.value)
        r = c.ctl("snapshot", "a", "b", check=False)
        assert r.returncode == 2 and "at most one argument" in r.stderr
        cmd.step(1)
        assert cmd.snapshot(tmp_path / "ok.vrsnap")["turn"] == 1
        cmd.shutdown()
    assert c.wait(60)[0] == 0
