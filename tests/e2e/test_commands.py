"""End-to-end tests of the game commands (order, spawn, policy, result):
real coordinator and workers, the Python command client over ZeroMQ, and the
effects read back through the read-only Python attach API."""
import json
import subprocess

import numpy as np
import pytest

import voidreckoning as vr
from conftest import BIN, Cluster, shm_segments, wait_until

SMALL = ("--paused", "--universes", "2", "--systems", "64", "--fleets", "200", "--seed", "5")
NO_SYSTEM = 0xFFFFFFFF
HOLD_TURNS = 10


def fleet_ids(v):
    """Ids (generation << 32 | row) of the live fleets of a view, by row."""
    gen = v.table("fleets", implicit=True)["_gen"]
    rows = np.nonzero(v.alive("fleets"))[0]
    return {int(r): (int(gen[r]) << 32) | int(r) for r in rows}


def fleet(u, row):
    """One fleet row's columns (and whether it is alive) at the committed turn."""
    with u.read() as v:
        t = v.table("fleets", implicit=True)
        out = {k: t[k][row].copy() for k in ("at", "next", "dest", "dest_node", "node", "order", "hold_until",
                                            "faction", "ships", "leg", "_gen")}
        out["star"] = int(v.column("systems", "node_begin")[int(out["dest"])])
        out["turn"] = v.turn
        out = {k: (int(x) if k != "leg" else float(x)) for k, x in out.items()}
    return out


def alive_with(u, fid):
    row, gen = fid & 0xFFFFFFFF, fid >> 32
    with u.read() as v:
        return row < v.rows("fleets") and int(v.table("fleets", implicit=True)["_gen"][row]) == gen


class Stepper:
    """The client, with step() waiting until every worker has published the
    committed turn (the coordinator replies once it sent COMMIT; a worker
    publishes a moment later)."""

    def __init__(self, cmd, att):
        self.cmd, self.att = cmd, att

    def __getattr__(self, name):
        return getattr(self.cmd, name)

    def step(self, n=1):
        r = self.cmd.step(n)
        assert wait_until(lambda: all(u.turn >= r["turn"] for u in self.att.universes), 10)
        return r


@pytest.fixture
def small(cluster):
    c = cluster().start(*SMALL)
    with vr.connect(c.name, timeout=10) as cmd, vr.attach(c.name) as att:
        yield c, Stepper(cmd, att), att


def standing_fleets(u, n):
    """n live fleets of universe u, those standing at a system (not
    travelling) first."""
    with u.read() as v:
        ids = fleet_ids(v)
        at, nxt = v.column("fleets", "at"), v.column("fleets", "next")
        return sorted(ids.values(), key=lambda fid: (at[fid & 0xFFFFFFFF] != nxt[fid & 0xFFFFFFFF], fid))[:n]


def far_system(u, fid):
    f = fleet(u, fid & 0xFFFFFFFF)
    with u.read() as v:
        nsys = v.rows("systems")
    return (int(f["at"]) + nsys // 2) % nsys


def test_order_move_heads_there_arrives_and_holds(small):
    c, cmd, att = small
    u = att.universes[0]
    fids = standing_fleets(u, 3)
    targets = {fid: far_system(u, fid) for fid in fids}
    tickets = {fid: cmd.order(fid, "move", to=targets[fid], universe=0) for fid in fids}
    assert all(t.poll()["state"] == "pending" for t in tickets.values())
    cmd.step(1)
    for fid, t in tickets.items():
        assert t.result(timeout=5) == fid
        r = cmd.result(t.ticket)
        assert r["state"] == "done" and r["turn"] == 1 and r["op"] == "move"
        f = fleet(u, fid & 0xFFFFFFFF)
        assert int(f["order"]) == 1 and int(f["hold_until"]) == 2**64 - 1  # until it arrives
        # heading there, unless a battle this turn threw it back along a lane (combat wins)
        assert int(f["dest"]) == targets[fid] or int(f["dest"]) == int(f["next"]) != int(f["at"]), f
    # travel: the AI never takes the fleet off its ordered way; once there,
    # it holds HOLD_TURNS turns (only a lost battle may throw it out)
    arrived, held = {}, {}
    for _ in range(80):
        cmd.step(1)
        for fid in fids:
            if not alive_with(u, fid):
                continue
            f = fleet(u, fid & 0xFFFFFFFF)
            if fid not in arrived:
                assert int(f["order"]) == 1 and int(f["hold_until"]) == 2**64 - 1, f
                if int(f["at"]) == targets[fid] == int(f["next"]) == int(f["dest"]) and f["leg"] == 0:
                    arrived[fid] = f["turn"]
            elif f["turn"] - arrived[fid] < HOLD_TURNS:
                # the AI leaves it alone (a lost battle may still throw it along a lane)
                assert int(f["order"]) == 1 and int(f["hold_until"]) >= f["turn"], f
                if int(f["at"]) == targets[fid] == int(f["dest"]):
                    held[fid] = held.get(fid, 0) + 1
        now = u.turn
        if len(arrived) == len(fids) and all(now - t >= 4 for t in arrived.values()):
            break
    assert arrived, "no ordered fleet reached its destination"
    assert max(held.values(), default=0) >= 3, held  # it stayed there (the AI did not send it off)


def test_order_hold_attack_retreat(small):
    c, cmd, att = small
    u = att.universes[1]
    with u.read() as v:
        ids = fleet_ids(v)
        at, nxt, dest = v.column("fleets", "at"), v.column("fleets", "next"), v.column("fleets", "dest")
        moving = [ids[r] for r in sorted(ids) if at[r] != dest[r]]
        owner = v.column("systems", "owner").copy()
        faction = v.column("fleets", "faction").copy()
    hold_f, attack_f, retreat_f = moving[0], moving[1], moving[2]
    home = int(np.nonzero(owner == faction[retreat_f & 0xFFFFFFFF])[0][0])
    t_hold = cmd.order(hold_f, "hold", universe=1)
    t_att = cmd.order(attack_f, "attack", to=7, universe=1)
    t_ret = cmd.order(retreat_f, "retreat", universe=1)
    cmd.step(1)
    assert t_hold.result(5) == hold_f and t_att.result(5) == attack_f and t_ret.result(5) == retreat_f
    h = fleet(u, hold_f & 0xFFFFFFFF)
    assert int(h["order"]) == 3 and int(h["hold_until"]) == 1 + HOLD_TURNS
    assert int(h["dest"]) in (int(h["at"]), int(h["next"]))  # stops where it can stand
    a = fleet(u, attack_f & 0xFFFFFFFF)
    assert int(a["order"]) == 2 and int(a["dest"]) == 7
    r = fleet(u, retreat_f & 0xFFFFFFFF)
    assert int(r["order"]) == 4 and int(r["dest"]) == home
    # the held fleet stays put for the hold (no new AI destination)
    cmd.step(4)
    if alive_with(u, hold_f):
        h2 = fleet(u, hold_f & 0xFFFFFFFF)
        assert int(h2["dest"]) == int(h["dest"]) and int(h2["order"]) == 3
    # after the hold the AI takes over again: the order is cleared
    cmd.step(HOLD_TURNS)
    if alive_with(u, hold_f):
        assert int(fleet(u, hold_f & 0xFFFFFFFF)["order"]) == 0


def test_spawn_creates_the_fleet_by_number_and_by_name(small):
    c, cmd, att = small
    u = att.universes[0]
    with u.read() as v:
        facnames = v.names("factions")
        desnames = v.names("designs")
        ships_before = v.column("factions", "ships").copy()
        dfac = v.column("designs", "faction").copy()
    d_named = len(desnames) - 1
    t1 = cmd.spawn_fleet(0, 1, 0, at=3, ships=4)
    t2 = cmd.spawn_fleet(0, facnames[1], desnames[d_named], at=9)
    cmd.step(1)
    for t, fac, des, at, n in ((t1, 1, 0, 3, 4), (t2, 2, d_named, 9, 1)):
        fid = t.result(timeout=5)
        assert cmd.result(t)["fleet"] == fid and t.op == "spawn"
        row = fid & 0xFFFFFFFF
        with u.read() as v:
            assert (int(v.table("fleets", implicit=True)["_gen"][row]) << 32 | row) == fid
            assert int(v.column("fleets", "faction")[row]) == fac
            assert int(v.column("fleets", "ships")[row]) == n
            alive = v.alive("ships")
            mine = alive & (v.column("ships", "fleet") == row)
            assert int(mine.sum()) == n
            assert set(v.column("ships", "design")[mine].tolist()) == {des}
            assert set(v.column("ships", "faction")[mine].tolist()) == {fac}
            assert (v.column("fleets", "cargo")[row] == 0).all()
            # spawned at `at`; the AI may already have sent it off this turn
            assert int(v.column("fleets", "at")[row]) == at or int(v.column("fleets", "next")[row]) != at
            ships_now = v.column("factions", "ships")
            cmds = v.table("commands")
            assert v.rows("commands") == 2
            assert cmds["ticket"].tolist() == [t1.ticket, t2.ticket]
            assert cmds["op"].tolist() == [5, 5] and cmds["code"].tolist() == [0, 0]
            assert int(cmds["entity"][0 if t is t1 else 1]) == fid
    assert int(ships_now[0]) >= int(ships_before[0])  # battles may have cost ships, but not 4 of a free spawn


def test_policy_sticks_and_auto_hands_back(small):
    c, cmd, att = small
    u = att.universes[0]
    t = cmd.set_policy(0, 1, stance="aggressive", budget=[1, 1, 2])
    t2 = cmd.set_policy(0, 2, stance="defensive")
    cmd.step(1)
    assert t.result(5) == 1 and t2.result(5) == 2
    stances, budgets = [], []
    for _ in range(6):
        cmd.step(1)
        with u.read() as v:
            st, bu, pol = v.column("factions", "stance"), v.column("factions", "budget"), v.column("factions", "policy")
            assert int(st[0]) == 1 and np.allclose(bu[0], [0.25, 0.25, 0.5]) and int(pol[0]) == 3
            assert int(st[1]) == 2 and int(pol[1]) == 1
            stances.append(int(st[2])), budgets.append(bu[2].copy())
    # a faction without a policy is still driven by its AI (budget varies)
    assert any(not np.allclose(b, budgets[0]) for b in budgets) or len(set(stances)) > 1
    cmd.set_policy(0, 1, stance="auto", budget="auto")
    cmd.step(1)
    with u.read() as v:
        assert int(v.column("factions", "policy")[0]) == 0


def test_every_error_is_named_and_changes_nothing(small):
    c, cmd, att = small
    u = att.universes[0]
    cmd.step(1)
    before = cmd.hash()
    fid = standing_fleets(u, 1)[0]
    dead = fid + (2 << 32)  # a later generation of the same row: not alive now
    cases = [
        (lambda: cmd.order(12345, "move", to=1), "unknown fleet", "BADID"),
        (lambda: cmd.order(dead, "move", to=1), "fleet", "BADID"),
        (lambda: cmd.order(2**64 - 1, "hold"), "unknown fleet", "BADID"),
        (lambda: cmd.order(fid, "fly", to=1), "bad order kind", "BADARG"),
        (lambda: cmd.order(fid, "move"), "needs \"to\"", "BADARG"),
        (lambda: cmd.order(fid, "hold", to=3), "\"to\" is only valid", "BADARG"),
        (lambda: cmd.order(fid, "move", to=64), "target system 64 is out of range", "BADARG"),
        (lambda: cmd.order(fid, "move", to=2**40), "\"to\"", "BADARG"),
        (lambda: cmd.order(fid, "move", to=1, universe=2), "unknown universe 2", "BADARG"),
        (lambda: cmd.order(fid, "move", to=1, universe=5000), "\"universe\"", "BADARG"),
        (lambda: cmd.request("order", universe=0, fleet="abc", kind="hold"), "\"fleet\"", "BADARG"),
        (lambda: cmd.request("order", universe=0, kind="hold"), "needs the field \"fleet\"", "BADARG"),
        (lambda: cmd.request("order", universe=0, fleet=fid, kind="hold", ships=3), "does not take", "BADARG"),
        (lambda: cmd.spawn_fleet(0, 99, 0, at=1), "unknown faction 99", "BADARG"),
        (lambda: cmd.spawn_fleet(0, "Nobody", 0, at=1), "unknown faction \"Nobody\"", "BADARG"),
        (lambda: cmd.spawn_fleet(0, 1, "no_such_design", at=1), "unknown design \"no_such_design\"", "BADARG"),
        (lambda: cmd.spawn_fleet(0, 1, 60000, at=1), "unknown design 60000", "BADARG"),
        (lambda: cmd.spawn_fleet(0, 1, 0, at=1, ships=0), "\"ships\"", "BADARG"),
        (lambda: cmd.spawn_fleet(0, 1, 0, at=1, ships=10**6), "\"ships\"", "BADARG"),
        (lambda: cmd.spawn_fleet(0, 1, 0, at=99), "out of range", "BADARG"),
        (lambda: cmd.set_policy(0, 1), "needs \"stance\", \"budget\"", "BADARG"),
        (lambda: cmd.set_policy(0, 1, stance="furious"), "bad stance \"furious\"", "BADARG"),
        (lambda: cmd.set_policy(0, 1, budget=[0, 0, 0]), "bad budget", "BADARG"),
        (lambda: cmd.set_policy(0, 1, budget=[1, 2]), "bad budget", "BADARG"),
        (lambda: cmd.set_policy(0, 1, budget=[1, -1, 1]), "bad budget", "BADARG"),
        (lambda: cmd.set_policy(0, 1, budget="lots"), "bad budget", "BADARG"),
        (lambda: cmd.set_policy(0, 0, stance="balanced"), "\"faction\"", "BADARG"),
        (lambda: cmd.result(999), "unknown ticket 999", "BADARG"),
        (lambda: cmd.request("result"), "needs the field \"ticket\"", "BADARG"),
        (lambda: cmd.request("explode"), "unknown command", "BADMSG"),
    ]
    for call, words, name in cases:
        with pytest.raises(vr.CommandError) as e:
            call()
        assert words in str(e.value), (words, str(e.value))
        assert e.value.name == name, (words, e.value.code)
    cmd.step(1)
    with u.read() as v:
        assert v.rows("commands") == 0  # nothing was queued
    # the same two turns without any command: the errors changed nothing
    c2 = Cluster(c.rundir)
    try:
        c2.start(*SMALL)
        with vr.connect(c2.name) as cmd2:
            cmd2.step(3)
            cmd.step(0 + 1)
            assert cmd2.hash()["cluster_hash"] == cmd.hash()["cluster_hash"]
            assert before["turn"] == 1
    finally:
        c2.cleanup()


def test_command_failing_when_applied_reports_why(small):
    c, cmd, att = small
    u = att.universes[0]
    with u.read() as v:
        cap = u.capacity("ships") - v.rows("ships")
    # more ships than the arena holds: the coordinator cannot know, the worker says so
    tickets = [cmd.spawn_fleet(0, 1, 0, at=1, ships=100) for _ in range(cap // 100 + 2)]
    cmd.step(1)
    outcomes = []
    for t in tickets:
        try:
            outcomes.append(t.result(5))
        except vr.CommandFailed as e:
            assert "no room" in str(e) and e.name == "FULL" and e.reply["state"] == "failed"
            outcomes.append(None)
    assert None in outcomes and any(o is not None for o in outcomes)
    assert cmd.status()["status"] == "paused"  # the cluster goes on
    cmd.step(1)


def test_timeouts_and_cluster_not_running(cluster, tmp_path):
    with pytest.raises(vr.ClusterNotRunning) as e:
        vr.connect("nosuchclusterxyz")
    assert "not running" in str(e.value)
    assert isinstance(e.value, vr.ClusterNotFound)
    c = cluster().start(*SMALL)
    cmd = vr.connect(c.name, timeout=5)
    u = vr.attach(c.name).universes[0]
    t = cmd.order(standing_fleets(u, 1)[0], "hold")
    with pytest.raises(vr.CommandTimeout) as e:  # paused: the ticket never applies
        t.result(timeout=0.3)
    assert isinstance(e.value, TimeoutError) and "paused" in str(e.value)
    cmd.shutdown()
    rc, out, err = c.wait(30)
    assert rc == 0 and shm_segments(c.name) == []
    with pytest.raises(vr.CommandTimeout) as e:  # nobody answers any more
        cmd.request("status", timeout=0.3)
    assert "no reply" in str(e.value)
    cmd.close()
    with pytest.raises(vr.ClusterNotRunning):
        vr.connect(c.name)


def test_vrctl_game_commands(small):
    c, cmd, att = small
    u = att.universes[0]
    fid = standing_fleets(u, 1)[0]
    r = json.loads(c.ctl("--json", "order", "0", hex(fid), "move", "--to", "4").stdout)
    assert r["ok"] and r["op"] == "move" and r["state"] == "pending"
    s = json.loads(c.ctl("--json", "spawn", "0", "1", "0", "6", "--ships", "2").stdout)
    p = json.loads(c.ctl("--json", "policy", "0", "1", "--stance", "defensive", "--budget", "1,0,1").stdout)
    out = c.ctl("result", str(s["ticket"])).stdout
    assert "pending" in out
    c.ctl("step", "1")
    assert wait_until(lambda: u.turn >= 1)
    res = json.loads(c.ctl("--json", "result", str(r["ticket"])).stdout)
    assert res["state"] == "done" and res["fleet"] == fid and res["turn"] == 1
    sres = json.loads(c.ctl("--json", "result", str(s["ticket"])).stdout)
    assert alive_with(u, sres["fleet"])
    assert "done at turn 1: faction 1" in c.ctl("result", str(p["ticket"])).stdout
    bad = c.ctl("order", "0", "77", "move", "--to", "4", check=False)
    assert bad.returncode == 1 and "unknown fleet 77" in bad.stderr
    bad = c.ctl("order", "0", str(fid), "move", check=False)
    assert bad.returncode == 1 and "needs \"to\"" in bad.stderr
    assert c.ctl("spawn", "0", "1", check=False).returncode == 2  # usage
    assert c.ctl("policy", "0", "1", "--budget", "1,x,1", check=False).returncode == 2


def run_script(tmp_path, with_commands):
    """A paused cluster driven by one command script; returns its hash log."""
    c = Cluster(tmp_path)
    log = tmp_path / f"{c.name}.hashes"
    try:
        c.start(*SMALL, "--hash-log", str(log))
        with vr.connect(c.name) as client, vr.attach(c.name) as att:
            cmd = Stepper(client, att)
            cmd.step(2)
            if with_commands:
                u0, u1 = att.universes[0], att.universes[1]
                cmd.order(standing_fleets(u0, 1)[0], "move", to=11, universe=0)
                cmd.spawn_fleet(1, 2, 0, at=5, ships=3)
                cmd.set_policy(0, 3, stance="aggressive", budget=[3, 1, 1])
                cmd.order(standing_fleets(u1, 1)[0], "hold", universe=1)
            cmd.step(3)
            if with_commands:
                cmd.order(standing_fleets(att.universes[0], 2)[1], "retreat", universe=0)
            cmd.step(4)
            cmd.shutdown()
        rc, out, err = c.wait(60)
        assert rc == 0, err
        return log.read_text().splitlines()
    finally:
        c.cleanup()


def test_same_commands_same_hashes(tmp_path):
    a = run_script(tmp_path, True)
    b = run_script(tmp_path, True)
    plain = run_script(tmp_path, False)
    assert len(a) == 10 and a == b
    assert a[:3] == plain[:3]  # the same world until the first commands apply (turn 3)
    assert all(x != y for x, y in zip(a[3:], plain[3:]))
