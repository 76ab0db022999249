"""End-to-end tests of portals: real coordinator, workers sending batches to
each other over ZeroMQ, shared memory and Python.

What is checked: with the default network fleets really cross (transfer
events, metrics, the transit and arrivals tables); every turn, what left a
universe in turn T arrived in its destination at the start of T + 1 (fleets,
ships, cargo), ledgers balance cluster-wide, no batch is rejected and the
coordinator's audit finds nothing; two runs with the same seed give the same
hashes every turn, also with another pinning and with portals from the
original engine's files; a fleet ordered from Python to a system of another
universe arrives there the next turn after reaching the portal; bad
configurations are refused naming the file and field.
"""
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import voidreckoning as vr

from conftest import BIN, run_to_end, shm_segments

EXAMPLES = Path(os.environ.get("VR_CONTENT_DIR", Path(__file__).resolve().parents[3] / "shared" / "data" /
                               "void_reckoning")) / "config" / "portal_examples"
PORTAL_OUT, PORTAL_IN = 10, 11  # ledger causes (workers/economy.h)


def snapshot(cl, want):
    """Per universe, the transit rows, arrivals rows, ledger and metrics of
    committed turn `want` (waits for the workers to publish it)."""
    def look(t):
        if t.number != want:
            return None
        out = []
        for u in t.universes:
            tr, ar, led = u.table("transit"), u.table("arrivals"), u.table("ledger")
            out.append({
                "transit": [(int(f), int(to), int(n), tuple(int(x) for x in cg)) for f, to, n, cg in
                            zip(tr.live("fleet"), tr.live("to"), tr.live("ships"), tr.live("cargo"))],
                "arrivals": [(int(fr), int(tu), int(f), int(n), int(code)) for fr, tu, f, n, code in
                             zip(ar.live("from"), ar.live("turn"), ar.live("fleet"), ar.live("ships"),
                                 ar.live("code"))],
                "ledger": led["amount"][0].reshape(12, 5).copy(),
                "metrics": dict(u.metrics),
            })
        return out
    for _ in range(1000):
        got = cl.read_turn(look)
        if got is not None:
            return got
        time.sleep(0.01)
    raise AssertionError(f"turn {want} never became readable")


def test_default_network_transfers_conserved_events_and_metrics(cluster):
    c = cluster().start("--universes", "3", "--paused")
    turns = 80
    with vr.attach(c.name) as cl, vr.events(c.name, kinds={"transfer"}, timeout=5) as stream:
        # the portal ends: a ring, two per universe, leading to both neighbours
        with cl.turn() as t:
            for k, u in enumerate(t.universes):
                p = u.table("portals")
                assert sorted(p.live("peer").tolist()) == sorted([(k + 1) % 3, (k + 2) % 3])
        time.sleep(0.5)  # SUB connects asynchronously
        start = c.status()["turn"]
        prev = snapshot(cl, start)
        events, sent, arrived = [], 0, 0
        for n in range(start + 1, start + turns + 1):
            c.ctl("step", "1")
            cur = snapshot(cl, n)
            for d in range(3):
                # what left for d in turn n-1 arrived in d at the start of turn n, in canonical order
                left = sorted((s, f, ships) for s in range(3) for f, to, ships, _ in prev[s]["transit"] if to == d)
                came = [(fr, f, ships) for fr, tu, f, ships, code in cur[d]["arrivals"]]
                assert came == sorted(came), f"turn {n}: arrivals of u{d} not in canonical order"
                assert sorted(came) == left, f"turn {n}: u{d} received {came}, sent to it {left}"
                assert all(tu == n - 1 and code == 0 for _, tu, _, _, code in cur[d]["arrivals"])
                m = cur[d]["metrics"]
                assert m["portal_rejected"] == 0 and m["portal_violations"] == 0
                assert m["transfers"] == len(cur[d]["transit"])
                assert m["transfers_in"] == len(cur[d]["arrivals"])
            # goods: what the ledgers say left and came in, cluster-wide, differ by what is in transit now
            out = sum(s["ledger"][PORTAL_OUT] for s in cur)
            inn = sum(s["ledger"][PORTAL_IN] for s in cur)
            in_transit = np.zeros(5, dtype=np.int64)
            for s in cur:
                for _, _, _, cg in s["transit"]:
                    in_transit[:4] += cg
            assert (out - inn == in_transit).all(), f"turn {n}: out {out} in {inn} in transit {in_transit}"
            sent += sum(len(s["transit"]) for s in cur)
            arrived += sum(len(s["arrivals"]) for s in cur)
            while (b := stream.recv_batch(0.05)) is not None:
                events.extend(b.events())
            prev = cur
        while (b := stream.recv_batch(0.5)) is not None:
            events.extend(b.events())
        assert sent > 5, "the AI sent (almost) nothing through the portals"
        assert arrived >= sent - sum(len(s["transit"]) for s in prev)
        # transfer events: one per fleet, matching the transit tables
        assert len(events) > 0
        for ev in events:
            assert ev.kind == "transfer" and ev.universe in range(3)
            assert ev["to"] in range(3) and ev["to"] != ev.universe and ev["ships"] >= 1
        # the audit of the economy (every 10 turns) found nothing either
        assert all(r == 0 for r in cl.records()["m_findings"])


def test_same_seed_same_hashes_with_portals(tmp_path):
    args = ("--universes", "3", "--turns", "60", "--seed", "3")
    f1, log1, _ = run_to_end(tmp_path, *args)
    f2, log2, _ = run_to_end(tmp_path, *args, "--pin", "core")
    assert log1 == log2 and f1 == f2
    f3, log3, _ = run_to_end(tmp_path, *args, "--portals", "off")
    assert log3 != log1  # the portals change the game


def test_portal_files_run_deterministically(tmp_path):
    if not EXAMPLES.is_dir():
        pytest.skip("original engine's portal examples not found")
    args = ("--universes", "3", "--turns", "30", "--universe-names", "star_wars,star_trek,warhammer40k",
            "--portals", f"star_wars={EXAMPLES / 'multi_portal_network.json'}")
    f1, log1, _ = run_to_end(tmp_path, *args)
    f2, log2, _ = run_to_end(tmp_path, *args)
    assert log1 == log2
    _, log3, _ = run_to_end(tmp_path, "--universes", "3", "--turns", "30")
    assert log3 != log1  # not the default network


def test_python_order_through_a_portal_arrives_next_turn(cluster):
    c = cluster().start("--universes", "2", "--paused", "--systems", "64", "--fleets", "300")
    with vr.connect(c.name, timeout=10) as cmd, vr.attach(c.name) as cl:
        cmd.step()
        def pick(t):
            u = t.universes[0]
            f = u.table("fleets")
            ids = f.ids[f.alive]
            return int(ids[0]), int(f["ships"][int(ids[0]) & 0xFFFFFFFF])
        fid, ships = cl.read_turn(pick)
        ticket = cmd.order(fid, "move", to=5, universe=0, to_universe=1)
        cmd.step()
        assert ticket.result(timeout=10) == fid
        left = None
        for _ in range(80):
            n = cmd.status()["turn"]
            snap = snapshot(cl, n)
            if left is None and any(f == fid for f, _, _, _ in snap[0]["transit"]):
                left = n
                assert [to for f, to, _, _ in snap[0]["transit"] if f == fid] == [1]
            elif left is not None:
                assert n == left + 1
                got = [a for a in snap[1]["arrivals"] if a[2] == fid]
                assert len(got) == 1 and got[0][0] == 0 and got[0][1] == left and got[0][3] == ships
                def there(t):
                    u = t.universes[1]
                    a = u.table("arrivals")
                    k = int(np.nonzero(a.live("fleet") == fid)[0][0])
                    new = int(a.live("entity")[k])
                    row = u.row("fleets", new)
                    f = u.table("fleets")
                    return int(f["dest"][row]), int(f["ships"][row]), int(f["order"][row])
                dest, nships, order = cl.read_turn(there)
                assert dest == 5 and nships == ships and order == 1
                break
            cmd.step()
        else:
            raise AssertionError("the ordered fleet never went through the portal")
        # an order to a universe no portal leads to (there is one: to itself is a plain move)
        with pytest.raises(vr.CommandError):
            cmd.order(fid, "move", to=5, universe=0, to_universe=7)


def test_bad_portal_configuration_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"portals": [{"portal_id": "x", "source_coords": [1, 2], "dest_universe": "nowhere", '
                   '"dest_coords": [3, 4]}]}')
    name = f"badp{os.getpid()}"
    r = subprocess.run([str(BIN / "vr-coordinator"), "--name", name, "--turns", "1", "--universes", "2",
                        "--portals", f"u0={bad}"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "bad.json" in r.stderr and "dest_universe" in r.stderr and "nowhere" in r.stderr
    assert shm_segments(name) == []
