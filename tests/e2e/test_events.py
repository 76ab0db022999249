"""End-to-end tests of the event stream: a real cluster publishes, Python
subscribes (voidreckoning.events and raw pyzmq SUB sockets).

What is checked: battles, decisions and turns arrive with their fields and
match the arena's tables of that turn; events only describe committed turns;
filtering by kind and by universe really filters; a worker killed is
announced; a subscriber that never reads does not slow the cluster (its
messages are dropped instead).
"""
import collections
import os
import signal
import time

import msgpack
import pytest
import zmq

import voidreckoning as vr

from conftest import wait_until


def drain(stream, until, timeout=20.0):
    """Events from stream until until(events) is true or timeout passes."""
    got = []
    end = time.monotonic() + timeout
    while time.monotonic() < end and not until(got):
        b = stream.recv_batch(0.2)
        if b is not None:
            got.extend(b.events())
    return got


def connected(c, stream):
    """Steps the paused cluster until the stream sees a turn event from the
    coordinator and an event from every worker (ZeroMQ connects
    asynchronously: events published before that are lost).  Returns the
    last committed turn."""
    seen = set()
    for _ in range(40):
        c.ctl("step", "1")
        for ev in drain(stream, lambda g: False, timeout=0.3):
            seen.add(ev.universe)
        if None in seen and all(u in seen for u in range(len(c.worker_pids))):
            return c.status()["turn"]
    raise AssertionError(f"no events from some publishers after 40 turns: saw {seen}")


def test_battles_decisions_and_turns_match_the_committed_tables(cluster):
    c = cluster().start("--universes", "2", "--paused")
    with vr.attach(c.name) as cl, vr.events(c.name, timeout=5) as stream:
        assert stream.endpoints[0] == cl.events_endpoint
        assert len(stream.endpoints) == 3
        start = connected(c, stream)
        c.ctl("step", "3")
        target = start + 3
        evs = drain(stream, lambda g: any(e.kind == "turn" and e.turn == target for e in g))
        # paused at target: nothing newer may come (no turn is computed)
        evs += drain(stream, lambda g: False, timeout=1.0)
        assert max(e.turn for e in evs) == target
        kinds = collections.Counter(e.kind for e in evs)
        assert kinds["turn"] == 3 and kinds["battle"] > 0 and kinds["decision"] > 0, kinds
        turns = {e.turn for e in evs if e.kind == "turn"}
        assert turns == {start + 1, start + 2, start + 3}

        last = [e for e in evs if e.turn == target]
        tev = next(e for e in last if e.kind == "turn")
        assert tev.universe is None
        assert tev["cluster_hash"] == cl.cluster_hash
        assert tev["hashes"] == [int(h) for h in cl.records()["state_hash"]]
        for u in range(2):
            with cl.universes[u].read() as v:
                assert v.turn == target
                bt = v.table("battles")
                alive = v.alive("battles")
                table = sorted(
                    (int(bt["system"][r]), list(map(int, bt["faction"][r])), list(map(int, bt["ships"][r])),
                     list(map(int, bt["destroyed"][r])), list(map(int, bt["routed"][r])),
                     int(bt["rounds"][r]), int(bt["winner"][r]), int(bt["end"][r]))
                    for r in alive.nonzero()[0])
                dt = v.table("decisions")
                dec = sorted((int(dt["entity"][r]), int(dt["choice"][r]), [float(x) for x in dt["score"][r]])
                             for r in v.alive("decisions").nonzero()[0])
            got_b = sorted((e["system"], e["factions"], e["ships"], e["destroyed"], e["routed"], e["rounds"],
                            e["winner"], e["end"]) for e in last if e.kind == "battle" and e.universe == u)
            assert got_b == table
            got_d = sorted((e["entity"], e["choice"], e["scores"])
                           for e in last if e.kind == "decision" and e.universe == u)
            assert got_d == dec
        for e in evs:
            if e.kind == "battle":
                assert e["factions"][0] < e["factions"][1]
                assert e["winner"] in (-1, 0, 1) and e["end"] in (1, 2, 3)
                for s in range(2):
                    assert e["destroyed"][s] + e["routed"][s] <= e["ships"][s]
            if e.kind == "decision":
                assert len(e["scores"]) == 6 and all(isinstance(x, float) for x in e["scores"])
                assert 0 <= e["choice"] < 6 and e["kind"] in (1, 2)
        assert stream.dropped == 0 and stream.malformed == 0


def test_events_describe_committed_turns_only(cluster):
    c = cluster().start("--universes", "2", "--systems", "64", "--fleets", "512")
    with vr.attach(c.name) as cl, vr.events(c.name, kinds={"battle", "decision", "turn"}, timeout=5) as s:
        n = 0
        end = time.monotonic() + 4
        while time.monotonic() < end:
            b = s.recv_batch(1.0)
            if b is None:
                continue
            n += 1
            # read at once: the worker published its arena before the event,
            # the coordinator its cluster segment before the turn event
            if b.universe is None:
                assert cl.committed_turn >= b.turn
            else:
                assert cl.universes[b.universe].turn >= b.turn
        assert n > 20


def test_kind_and_universe_filters_really_filter(cluster):
    c = cluster().start("--universes", "3", "--systems", "64", "--fleets", "512")
    with vr.events(c.name, kinds={"battle"}, universes=[1], timeout=5) as only_b1, \
            vr.events(c.name, kinds="turn", timeout=5) as only_turns, \
            vr.events(c.name, kinds={"audit"}, timeout=5) as only_audit, \
            vr.events(c.name, kinds={"decision", "battle"}, universes=[0, 2], timeout=5) as d02:
        assert len(only_b1.endpoints) == 1 and len(only_turns.endpoints) == 1
        got = collections.defaultdict(list)
        end = time.monotonic() + 4
        while time.monotonic() < end:
            for key, s in (("b1", only_b1), ("t", only_turns), ("a", only_audit), ("d02", d02)):
                b = s.recv_batch(0.01)
                while b is not None:
                    got[key].extend(b.events())
                    b = s.recv_batch(0)
        assert got["b1"] and {(e.kind, e.universe) for e in got["b1"]} == {("battle", 1)}
        assert got["t"] and {(e.kind, e.universe) for e in got["t"]} == {("turn", None)}
        assert all(e.kind == "audit" and {"rule", "table", "entity", "value", "level"} <= set(e.fields)
                   for e in got["a"])
        assert {e.universe for e in got["d02"]} == {0, 2}
        assert {e.kind for e in got["d02"]} == {"decision", "battle"}
    with pytest.raises(ValueError):
        vr.events(c.name, kinds={"battles"})
    with pytest.raises(ValueError):
        vr.events(c.name, universes=[3])


def test_killed_worker_is_announced(cluster):
    c = cluster().start("--universes", "2", "--systems", "64", "--fleets", "512", "--max-restarts", "0")
    with vr.events(c.name, kinds="worker", timeout=10) as s:
        time.sleep(0.5)  # the SUB connects asynchronously
        victim = c.worker_pids[1]
        os.kill(victim, signal.SIGKILL)
        evs = drain(s, lambda g: any(e.universe == 1 for e in g), timeout=10)
    mine = [e for e in evs if e.universe == 1]
    assert mine, evs
    assert mine[0]["pid"] == victim and mine[0]["status"] == "dead"
    assert "signal 9" in mine[0]["reason"]
    rc, _, _ = c.wait()
    assert rc == 3


def test_a_subscriber_that_never_reads_does_not_slow_the_cluster(cluster):
    turns = 1500
    c = cluster().start("--universes", "2", "--systems", "32", "--fleets", "256", "--paused",
                        "--turns", str(turns))
    ctx = zmq.Context()
    stuck = ctx.socket(zmq.SUB)
    stuck.setsockopt(zmq.RCVHWM, 1)
    stuck.setsockopt(zmq.LINGER, 0)
    stuck.setsockopt(zmq.SUBSCRIBE, b"")
    try:
        with vr.attach(c.name) as cl:
            eps = [cl.events_endpoint] + [bytes(e).decode() for e in cl.records()["events"]]
        for ep in eps:
            stuck.connect(ep)
        # make sure it is connected: it receives a turn event, then never reads again
        assert wait_until(lambda: (c.ctl("step", "1"), stuck.poll(200))[1], 20)
        c.ctl("resume")
        t0 = time.monotonic()
        rc, out, err = c.wait(120)
        elapsed = time.monotonic() - t0
        assert rc == 0, err
        assert out.startswith(f"final turn {turns} ")
        # what the stuck subscriber holds: a queue's worth, the rest was dropped
        seqs = collections.defaultdict(list)
        while stuck.poll(100):
            topic, payload = stuck.recv_multipart()
            m = msgpack.unpackb(payload)
            seqs[(m["universe"], m["kind"])].append(m["seq"])
        # it holds a few messages from the start of the run: the publishers
        # dropped the rest (a blocking publisher would have hung the cluster)
        assert seqs, "the stuck subscriber got nothing at all"
        turn_seqs = seqs[(None, "turn")]
        assert turn_seqs and min(turn_seqs) <= 2, seqs.keys()
        assert len(turn_seqs) < turns // 2, (len(turn_seqs), elapsed)
        assert all(len(v) < turns // 2 for v in seqs.values())
    finally:
        stuck.close(0)
        ctx.term()


def test_python_and_c_layout_versions_agree():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "schemas" / "vr_schema.h").read_text()
    line = next(l for l in text.splitlines() if l.startswith("#define VR_LAYOUT_VERSION"))
    assert int(line.split()[2].rstrip("u")) == vr.LAYOUT_VERSION
