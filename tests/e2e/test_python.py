"""The Python package against a real cluster: whole consistent turns across
universes, zero-copy read-only tables, entity ids, pandas, the galaxy map
and `vrctl top`.
"""
import json
import os
import struct
import subprocess
import time

import numpy as np
import pytest

from conftest import BIN, wait_until

vr = pytest.importorskip("voidreckoning")


def retry_turn(world, fn, attempts=200):
    """world.read_turn: fn(turn) inside world.turn(), retried on torn reads."""
    return world.read_turn(fn, attempts)


def test_turn_holds_one_committed_turn_of_every_universe(cluster):
    c = cluster().start("--universes", "3")
    with vr.attach(c.name) as world:
        assert wait_until(lambda: world.committed_turn >= 3)

        def look(t):
            assert len(t.universes) == 3
            assert {v.turn for v in t.universes} == {t.number}
            recs = world.records()
            # the views' hashes are the universes' hashes of that turn
            ships = t.universes[0].table("ships")
            assert len(ships) == t.universes[0].live("ships") > 0
            assert ships.rows >= len(ships)
            col = ships["hull"]
            assert np.shares_memory(col, np.frombuffer(t.universes[0].universe.mapping, dtype=np.uint8))
            assert not col.flags.writeable
            with pytest.raises(ValueError):
                col[0] = 1.0
            assert float(ships.live("hull").mean()) > 0
            assert set(ships) >= {"hull", "shield", "fleet", "faction"}
            assert t.metrics["ships"] == sum(v.metrics["ships"] for v in t.universes)
            assert t.metrics["ships"] == sum(v.live("ships") for v in t.universes)
            return t.number, [v.hash for v in t.universes], recs
        number, hashes, _ = retry_turn(world, look)
        assert number >= 3
        # paused: the turn held is the coordinator's, hash for hash
        c.ctl("pause")
        h = json.loads(c.ctl("--json", "hash").stdout)
        with world.turn() as t:
            assert t.number == h["turn"]
            assert [f"{v.hash:016x}" for v in t.universes] == h["universes"]
            assert f"{t.hash:016x}" == h["cluster_hash"]
    c.ctl("shutdown")
    assert c.wait()[0] == 0


def test_turns_are_never_torn_under_a_fast_writer(cluster):
    """Thousands of whole-turn reads over a thousand turns or more while every
    universe runs as fast as it can: a read either sees one turn everywhere, with the columns' sums equal
    to the counters of that same turn, or is refused with TornReadError."""
    c = cluster().start("--universes", "2", "--systems", "64", "--fleets", "256")
    ok = torn = 0
    with vr.attach(c.name) as world:
        assert wait_until(lambda: world.committed_turn >= 2)
        first = world.committed_turn
        deadline = time.monotonic() + 120
        while (ok < 2000 or world.committed_turn < first + 1000) and time.monotonic() < deadline:
            try:
                with world.turn() as t:
                    for v in t.universes:
                        f = v.table("fleets")
                        alive = f.alive
                        # fleets.ships of the alive fleets == ships alive, in the same turn
                        assert int(f["ships"][alive].sum()) == v.live("ships")
                        assert v.metrics is not None and v.metrics["ships"] == v.live("ships")
                    ok += 1
            except vr.TornReadError:
                torn += 1
        assert ok >= 2000 and world.committed_turn >= first + 1000, (ok, torn, first, world.committed_turn)
    c.ctl("shutdown")
    assert c.wait()[0] == 0


def test_entity_ids_resolve_to_rows(cluster):
    c = cluster().start()
    c.ctl("pause")
    with vr.attach(c.name) as world:
        with world.turn() as t:
            v = t.universes[0]
            f = v.table("fleets")
            ids = f.ids[f.alive]
            assert len(ids) == len(f)
            rows = v.rows_of("fleets", ids)
            assert np.array_equal(rows, np.flatnonzero(f.alive))
            r = int(rows[3])
            assert v.row("fleets", int(ids[3])) == r
            stale = int(ids[3]) + (2 << 32)  # a later generation of the same row
            with pytest.raises(KeyError, match="not alive"):
                v.row("fleets", stale)
            with pytest.raises(KeyError, match="beyond"):
                v.row("fleets", (1 << 32) | 0xFFFFFF)
            assert list(v.rows_of("fleets", [stale, int(ids[0])])) == [-1, int(rows[0])]
            with pytest.raises(KeyError, match="no table"):
                v.table("starships")
            with pytest.raises(KeyError, match="no column"):
                f["warp"]
    c.ctl("shutdown")
    assert c.wait()[0] == 0


def test_table_to_pandas(cluster):
    pd = pytest.importorskip("pandas")
    c = cluster().start()
    c.ctl("pause")
    with vr.attach(c.name) as world:
        with world.turn() as t:
            f = t.universes[1].table("fleets")
            df = f.to_pandas()
            assert isinstance(df, pd.DataFrame)
            assert len(df) == len(f)
            assert list(df.index[:3]) == list(f.ids[f.alive][:3])
            assert "cargo_0" in df and "cargo_3" in df  # a 4-lane column
            assert int(df["ships"].sum()) == t.universes[1].live("ships")
    c.ctl("shutdown")
    assert c.wait()[0] == 0


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", data[16:24])
    return data, w, h


def test_map_png_from_vrctl_and_python(cluster, tmp_path):
    pytest.importorskip("matplotlib")
    c = cluster().start()
    assert wait_until(lambda: json.loads(c.ctl("--json", "status").stdout)["turn"] >= 5)
    out = tmp_path / "u1.png"
    r = subprocess.run([str(BIN / "vrctl"), "-n", c.name, "map", "--universe", "1", "--out", str(out)],
                       capture_output=True, text=True, env=c.env(), timeout=120)
    assert r.returncode == 0, r.stderr
    data, w, h = png_size(out)
    assert w >= 600 and h >= 600 and len(data) > 20000  # a drawing, not an empty canvas
    # non-trivial: many distinct colours (territory, lanes, fleets)
    import matplotlib.image as mpimg
    img = mpimg.imread(str(out))
    colours = np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50
    from voidreckoning.map import draw_map
    with vr.attach(c.name) as world:
        p = draw_map(world, universe=0, out=str(tmp_path / "u0.png"), size=4, dpi=100)
        assert png_size(tmp_path / "u0.png")[1] == 400
        with pytest.raises(IndexError, match="universes 0..3"):
            draw_map(world, universe=7, out=str(tmp_path / "x.png"))
    r = subprocess.run([str(BIN / "vrctl"), "-n", c.name, "map", "--universe", "9"], capture_output=True,
                       text=True, env=c.env(), timeout=60)
    assert r.returncode == 1 and "universes 0..3" in r.stderr
    c.ctl("shutdown")
    assert c.wait()[0] == 0


def test_vrctl_top_shows_turn_rate_and_universes(cluster):
    c = cluster().start("--universes", "2")
    r = c.ctl("top", "--once", "--interval", "0.5")
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"vr top - cluster {c.name}")
    assert "running" in lines[0] and "turns/s" in lines[0] and "- turns/s" not in lines[0]
    rows = [l for l in lines if l.startswith("u0 ") or l.startswith("u1 ") or l.startswith("all ")]
    assert len(rows) == 3
    assert str(c.worker_pids[0]) in rows[0]
    r = c.ctl("top", "--count", "2", "--interval", "0.2")
    assert r.stdout.count("vr top - cluster") == 2
    r = c.ctl("top", "--interval", "0", check=False)
    assert r.returncode == 2 and "--interval" in r.stderr
    c.ctl("shutdown")
    assert c.wait()[0] == 0
    r = subprocess.run([str(BIN / "vrctl"), "-n", c.name, "top", "--once"], capture_output=True, text=True,
                       env=c.env(), timeout=30)
    assert r.returncode == 3 and "cannot attach" in r.stderr
