"""pytest suite of the read-only attach of the Python bridge.

Runs against vr-test-writer (tests/bridge/test_writer.c) of the build tree
named by $VR_BUILD; $PYTHONPATH must include bridge/python.  Every writer is
started with a cluster name unique to this process and is always stopped,
and every /dev/shm/vr.<name>.* it or a test made is always removed, even when
a test fails.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np
import pytest

import voidreckoning as vr
from voidreckoning import _layout as L

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
BUILD = Path(os.environ.get("VR_BUILD", SOURCE / "build"))
WRITER = BUILD / "tests" / "vr-test-writer"
FLEETS = 500  # fleets the writer allocates per universe
#: what factions.name (48 bytes) holds for the writer's FACTION_NAMES: the
#: last is 47 bytes + U+03A9, cut before the character that does not fit
FACTION_NAMES = [
    "Templars_of_the_Flux",
    "\u00c6r\u00f8_\u03a9mega \u20ac \U0001f680",
    "Exactly_forty_eight_bytes_long_name_0123456789ab",
    "Forty_seven_bytes_then_an_omega_0123456789abcde",
]

_serial = itertools.count()


def unique_name() -> str:
    return f"t{os.getpid()}_{next(_serial)}"


def segments_of(name: str) -> List[str]:
    pat = re.compile(r"vr\.%s\.(cluster|u[0-9]+)" % re.escape(name))
    return [p for p in glob.glob(f"/dev/shm/vr.{glob.escape(name)}.*")
            if pat.fullmatch(os.path.basename(p))]


def remove_segments(name: str) -> None:
    for p in segments_of(name):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def declared_schema() -> Dict[str, Dict[str, tuple]]:
    """{table: {column: (dtype, lanes)}} parsed from schemas/components.def,
    the one definition the arena directory must reflect."""
    out: Dict[str, Dict[str, tuple]] = {}
    text = (SOURCE / "schemas" / "components.def").read_text()
    for m in re.finditer(r"^VR_TABLE\((\w+),", text, re.M):
        out[m.group(1)] = {}
    for m in re.finditer(r'^VR_COLUMN\((\w+),\s*(\w+),\s*\w+,\s*"([^"]+)",\s*(\d+)', text, re.M):
        out[m.group(1)][m.group(2)] = (m.group(3), int(m.group(4)))
    return out


class Writers:
    """Starts vr-test-writer processes and cleans up after them."""

    def __init__(self) -> None:
        self.procs: List[subprocess.Popen] = []
        self.names: List[str] = []

    def name(self) -> str:
        """A fresh cluster name that teardown will clean."""
        n = unique_name()
        self.names.append(n)
        return n

    def start(self, nuniverses: int = 2, turns: int = 10**9, *flags: str) -> str:
        if not WRITER.exists():
            pytest.fail(f"{WRITER} not built (set VR_BUILD to the build tree; "
                        f"cmake --build <build> --target vr-test-writer)")
        name = self.name()
        p = subprocess.Popen([str(WRITER), name, str(nuniverses), str(turns), *flags],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout=10):
                pytest.fail(f"vr-test-writer {name} not ready after 10 s")
            line = p.stdout.readline()
        finally:
            sel.close()
        if line.strip() != b"ready":
            p.wait(timeout=5)
            pytest.fail(f"vr-test-writer {name} failed (rc {p.returncode}): "
                        f"{p.stderr.read().decode(errors='replace')}")
        return name

    def stop(self, p: subprocess.Popen) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for f in (p.stdout, p.stderr):
            if f:
                f.close()

    def cleanup(self) -> None:
        for p in self.procs:
            self.stop(p)
        for n in self.names:
            remove_segments(n)


@pytest.fixture
def writers():
    w = Writers()
    try:
        yield w
    finally:
        w.cleanup()


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            pytest.fail("condition not reached in time")
        time.sleep(0.005)


def held_cluster(writers: Writers, turns: int = 5, nuniverses: int = 1) -> str:
    """A writer that published turns 0..turns and now holds still."""
    name = writers.start(nuniverses, turns, "--fast", "--hold")
    with vr.attach(name) as c:
        wait_for(lambda: c.committed_turn == turns)
    return name


def clone(writers: Writers, name: str) -> str:
    """Copies a held cluster's segments to a new name, pointing the copied
    universe records at the copied arenas.  Returns the new name."""
    new = writers.name()
    with vr.attach(name) as c:
        arena_off = c.record_dtype.fields["arena"][1]
        urec_size = c.record_dtype.itemsize
        n = c.nuniverses
    cl = bytearray(Path(f"/dev/shm/vr.{name}.cluster").read_bytes())
    urec_off = struct.unpack_from("<Q", cl, L.CL_UREC_OFFSET)[0]
    for i in range(n):
        shutil.copyfile(f"/dev/shm/vr.{name}.u{i}", f"/dev/shm/vr.{new}.u{i}")
        field = urec_off + i * urec_size + arena_off
        cl[field:field + 64] = f"/vr.{new}.u{i}".encode().ljust(64, b"\0")
    Path(f"/dev/shm/vr.{new}.cluster").write_bytes(bytes(cl))
    return new


def patch(path: str, offset: int, fmt: str, *values) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(struct.pack(fmt, *values))


def coldesc_offset(seg: str, table: str, column: str) -> int:
    data = Path(seg).read_bytes()
    ntables, ncolumns = struct.unpack_from("<II", data, L.ARENA_UNIVERSE + 4)
    tabdir, coldir = struct.unpack_from("<QQ", data, L.ARENA_TABDIR_OFFSET)
    tnames = [L.cstr(L.TABLEDESC.unpack_from(data, tabdir + t * L.TABLEDESC_SIZE)[0])
              for t in range(ntables)]
    for c in range(ncolumns):
        off = coldir + c * L.COLDESC_SIZE
        d = L.COLDESC.unpack_from(data, off)
        if L.cstr(d[0]) == column and tnames[d[2]] == table:
            return off
    raise AssertionError(f"{table}.{column} not in {seg}")


# ---------------------------------------------------------------------------


def test_attach_lists_universes_tables_and_columns(writers):
    name = writers.start(3)
    schema = declared_schema()
    assert schema["fleets"]["ships"] == ("<u4", 1)
    with vr.attach(name) as c:
        assert c.name == name and c.nuniverses == 3 and len(c.universes) == 3
        assert c.status == "running"
        assert c.cluster_id != 0
        recs = c.records()
        assert list(recs["arena"]) == [f"/vr.{name}.u{i}".encode() for i in range(3)]
        assert recs.dtype == c.record_dtype and recs.flags.writeable
        assert not np.shares_memory(recs, np.frombuffer(c.mapping, np.uint8))
        for i, u in enumerate(c.universes):
            assert u.index == i and u.segment == f"vr.{name}.u{i}"
            assert u.universe_id == i
            tables = u.tables
            assert list(tables) == list(schema)
            for t, cols in schema.items():
                assert tables[t] == list(cols) + ["_gen", "_free"]
                for col, (dt, lanes) in cols.items():
                    ci = u.column_info(t, col)
                    assert (ci.dtype, ci.lanes) == (np.dtype(dt), lanes)
            assert u.capacity("fleets") == 1000 and u.capacity("systems") == 16
            for attempt in range(100):  # the writers run flat out: a slow read may be torn; read again
                try:
                    with u.read() as v:
                        assert v.rows("fleets") == FLEETS and v.live("fleets") == FLEETS
                        assert v.rows("lanes") == 0 and v.column("lanes", "length").shape == (0,)
                        assert set(v.table("fleets")) == set(schema["fleets"])
                        assert v.alive("fleets").all() and v.alive("fleets").dtype == bool
                        assert v.hash != 0
                    break
                except vr.TornReadError:
                    assert attempt < 99, "every read was torn"
        with pytest.raises(KeyError, match="no table"):
            c.universes[0].column("moons", "x")
        with pytest.raises(KeyError, match="no column"):
            c.universes[0].column("fleets", "hull")


def test_columns_are_read_only_zero_copy_views(writers):
    name = writers.start(1)
    with vr.attach(name) as c:
        u = c.universes[0]
        whole = np.frombuffer(u.mapping, np.uint8)
        arr, turn = u.column("fleets", "ships")
        assert arr.shape == (FLEETS,) and arr.dtype == np.dtype("<u4") and turn >= 0
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 1
        with pytest.raises(ValueError):
            arr.flags.writeable = True
        assert np.shares_memory(arr, whole)
        with u.read() as v:
            speed = v.column("fleets", "speed")
            assert not speed.flags.writeable and np.shares_memory(speed, whole)
            with pytest.raises(ValueError):
                speed[:] = 0
            for col in v.table("fleets", implicit=True).values():
                assert not col.flags.writeable
        cl = np.frombuffer(c.mapping, np.uint8)
        assert not cl.flags.writeable


def test_turn_advances(writers):
    name = writers.start(2)
    with vr.attach(name) as c:
        u = c.universes[1]
        t0, h0 = u.published()
        c0 = c.committed_turn
        wait_for(lambda: u.turn >= t0 + 3)
        wait_for(lambda: c.committed_turn >= c0 + 3)
        assert u.hash != h0
        recs = c.records()
        assert (recs["committed_turn"] >= c0).all()


def test_consistent_views_under_fast_writer(writers):
    name = writers.start(1, 10**12, "--fast")
    consistent = torn = 0
    last_turn = -1
    with vr.attach(name) as c:
        u = c.universes[0]
        first = u.turn
        # a view lasts longer than a --fast turn, so most views are torn:
        # read until enough consistent ones were checked (or 20 s)
        end = time.monotonic() + 20
        n = 0
        while (n < 3000 or consistent < 50) and time.monotonic() < end:
            n += 1
            try:
                with u.read() as v:
                    turn = v.turn
                    ships = v.column("fleets", "ships")
                    speed = v.column("fleets", "speed")
                    rows = len(ships)
                    ok_ships = bool((ships == turn).all())
                    ok_speed = bool((speed == np.float32(turn)).all())
                    alive = bool(v.alive("fleets").all())
            except vr.TornReadError:
                torn += 1
                continue
            consistent += 1
            assert rows == FLEETS and alive
            assert ok_ships and ok_speed, f"a view of turn {turn} mixed turns"
            assert turn >= last_turn
            last_turn = turn
        moved = u.turn - first
    print(f"\n{consistent} consistent views, {torn} torn, writer advanced {moved} turns")
    assert consistent > 0
    assert moved > 100, "the writer hardly ran: the test proves nothing"


def test_torn_view_is_reported(writers):
    name = writers.start(1, 10**12, "--fast")
    with vr.attach(name) as c:
        u = c.universes[0]
        v = u.read()
        # relative to the turn the view holds: the writer may have moved on
        # between any earlier read and opening the view
        wait_for(lambda: u.turn >= v.turn + 3)
        assert not v.consistent()
        with pytest.raises(vr.TornReadError, match="overwritten"):
            v.check()
        with pytest.raises(vr.TornReadError):
            with u.read() as v2:  # wait relative to the turn this view holds
                wait_for(lambda: u.turn >= v2.turn + 3)
        v.close()
        with pytest.raises(vr.VrError, match="closed"):
            v.column("fleets", "ships")


def test_cluster_records_are_consistent(writers):
    name = writers.start(3, 10**12, "--fast")
    with vr.attach(name) as c:
        for _ in range(2000):
            r = c.records()
            assert (r["committed_turn"] == r["committed_turn"][0]).all()


def test_wrong_version_is_refused_naming_both_versions(writers):
    name = writers.start(1, 10**12, "--corrupt-version")
    with pytest.raises(vr.VersionError) as ei:
        vr.attach(name)
    msg = str(ei.value)
    assert "layout version 99" in msg and f"version {vr.LAYOUT_VERSION}" in msg and f"vr.{name}.cluster" in msg
    assert isinstance(ei.value, vr.AttachError)


def test_wrong_arena_version_schema_or_cluster_is_refused(writers):
    name = held_cluster(writers)
    cases = [
        (L.SEG_LAYOUT_VERSION, "<I", vr.LAYOUT_VERSION + 1, vr.VersionError,
         f"layout version {vr.LAYOUT_VERSION + 1}"),
        (L.SEG_SCHEMA_HASH, "<Q", 12345, vr.SchemaError, "schema hash"),
        (L.SEG_CLUSTER_ID, "<Q", 12345, vr.AttachError, "cluster id"),
        (L.SEG_MAGIC, "<Q", 0, vr.AttachError, "magic"),
        (L.SEG_TOTAL_SIZE, "<Q", 1 << 40, vr.AttachError, "truncated"),
    ]
    for off, fmt, value, exc, text in cases:
        new = clone(writers, name)
        patch(f"/dev/shm/vr.{new}.u0", off, fmt, value)
        with vr.attach(new) as c:  # the cluster segment itself is fine
            with pytest.raises(exc, match=text):
                c.universes[0].tables
        remove_segments(new)


def test_not_yet_published(writers):
    new = clone(writers, held_cluster(writers))
    patch(f"/dev/shm/vr.{new}.u0", L.ARENA_PUBLISHED, "<I", L.NO_BUFFER)
    with vr.attach(new) as c:
        u = c.universes[0]
        assert "fleets" in u.tables
        for f in (u.read, lambda: u.turn, lambda: u.column("fleets", "ships")):
            with pytest.raises(vr.NotYetError):
                f()


def test_layout_comes_from_the_directory(writers):
    """Python follows the column directory: re-declare fleets.speed (f32) as
    two u2 lanes and the same bytes come back as a (rows, 2) array."""
    turns = 7
    new = clone(writers, held_cluster(writers, turns))
    seg = f"/dev/shm/vr.{new}.u0"
    off = coldesc_offset(seg, "fleets", "speed")
    patch(seg, off + 24, "8s", b"<u2")
    patch(seg, off + 36, "<II", 2, 2)  # elem_size, lanes
    with vr.attach(new) as c:
        u = c.universes[0]
        info = u.column_info("fleets", "speed")
        assert info.lanes == 2 and info.dtype == np.dtype("<u2")
        with u.read() as v:
            a = v.column("fleets", "speed")
            assert a.shape == (FLEETS, 2) and not a.flags.writeable
            assert np.shares_memory(a, np.frombuffer(u.mapping, np.uint8))
            assert (a.view("<f4")[:, 0] == np.float32(turns)).all()
    new2 = clone(writers, held_cluster(writers))
    seg2 = f"/dev/shm/vr.{new2}.u0"
    patch(seg2, coldesc_offset(seg2, "fleets", "ships") + 24, "8s", b"O")
    with vr.attach(new2) as c:
        with pytest.raises(vr.SchemaError, match="type string"):
            c.universes[0].tables


def test_names_decode_from_the_zero_copy_column(writers):
    turns = 4
    name = held_cluster(writers, turns)
    with vr.attach(name) as c:
        u = c.universes[0]
        assert u.column_info("factions", "name").lanes == 48
        with u.read() as v:
            raw = v.column("factions", "name")
            assert raw.shape == (4, 48) and raw.dtype == np.uint8 and not raw.flags.writeable
            assert np.shares_memory(raw, np.frombuffer(u.mapping, np.uint8))
            assert bytes(raw[2]) == FACTION_NAMES[2].encode()  # full width: no NUL
            names = v.names("factions")
            assert vr.decode_names(raw) == names
        assert names == FACTION_NAMES
        assert u.names("factions") == (FACTION_NAMES, turns)
        with u.read() as v:
            # only uint8 columns of several lanes are names
            for table, col in [("fleets", "ships"), ("factions", "stance"), ("ledger", "amount")]:
                with pytest.raises(TypeError, match="not a name column"):
                    v.names(table, col)
            with pytest.raises(KeyError, match="no column"):
                v.names("fleets")
        with pytest.raises(TypeError):
            u.names("fleets", "speed")


def test_decode_names_rules():
    def rows(*raw: bytes, width: int = 8) -> np.ndarray:
        a = np.zeros((len(raw), width), np.uint8)
        for i, b in enumerate(raw):
            a[i, :len(b)] = np.frombuffer(b, np.uint8)
        a.flags.writeable = False  # as the bridge hands columns out
        return a

    assert vr.decode_names(rows(b"abc", b"", b"12345678")) == ["abc", "", "12345678"]
    assert vr.decode_names(rows()) == []
    assert vr.decode_names(np.zeros((3, 0), np.uint8)) == ["", "", ""]
    # multi-byte UTF-8; after the first NUL nothing counts; bad bytes never raise
    assert vr.decode_names(rows("\u03a9\u20ac".encode(), b"ab\0cd", b"\xff\xfeok", b"x\xce")) == [
        "\u03a9\u20ac", "ab", "\ufffd\ufffdok", "x\ufffd"]
    # a strided slice (every other row) decodes the rows it shows
    a = rows(b"one", b"two", b"three", b"four")
    assert vr.decode_names(a[::2]) == ["one", "three"]
    assert vr.decode_names(a[1:2]) == ["two"]
    for bad in (a[0], a.astype(np.uint16), a.reshape(2, 2, 8), np.array(["ab"])):
        with pytest.raises(TypeError, match="not a name column"):
            vr.decode_names(bad)


def test_missing_cluster(writers):
    name = writers.name()  # never created
    with pytest.raises(vr.ClusterNotFound) as ei:
        vr.attach(name)
    assert name in str(ei.value) and f"vr.{name}.cluster" in str(ei.value)
    assert isinstance(ei.value, vr.AttachError)


@pytest.mark.parametrize("bad", ["", "a/b", "x" * 33, "a.b", "with space", "ünï", "ok\n",
                                 "../etc", None, 7])
def test_bad_name(bad):
    with pytest.raises(ValueError):
        vr.attach(bad)


def test_truncated_or_foreign_segment(writers):
    name = writers.start(1)
    head = Path(f"/dev/shm/vr.{name}.cluster").read_bytes()[:100]
    for content, text in [(head, "truncated"), (head[:10], "truncated"), (b"", "truncated"),
                          (b"\0" * 4096, "magic")]:
        other = writers.name()
        Path(f"/dev/shm/vr.{other}.cluster").write_bytes(content)
        with pytest.raises(vr.AttachError, match=text) as ei:
            vr.attach(other)
        assert not isinstance(ei.value, (vr.ClusterNotFound, vr.VersionError))
        remove_segments(other)


def test_python_exit_keeps_segments(writers):
    name = writers.start(2, 3, "--hold")
    code = (
        "import sys, voidreckoning as vr\n"
        "c = vr.attach(sys.argv[1])\n"
        "a, t = c.universes[1].column('fleets', 'ships')\n"
        "print(t, int(a.sum()))\n"
    )
    r = subprocess.run([sys.executable, "-c", code, name], capture_output=True, timeout=60,
                       env=dict(os.environ))
    assert r.returncode == 0, r.stderr.decode()
    assert sorted(os.path.basename(p) for p in segments_of(name)) == sorted(
        [f"vr.{name}.cluster", f"vr.{name}.u0", f"vr.{name}.u1"])
    with vr.attach(name) as c:
        assert c.universes[1].turn >= 0


def test_close_keeps_arrays_alive(writers):
    name = writers.start(1, 3, "--hold")
    with vr.attach(name) as c:
        u = c.universes[0]
        wait_for(lambda: u.turn == 3)
        arr, turn = u.column("fleets", "ships")
    assert c.closed
    assert (arr == 3).all() and turn == 3  # still mapped through the array
    c.close()  # idempotent
    with pytest.raises(vr.VrError, match="closed"):
        c.committed_turn
    with pytest.raises(vr.VrError, match="closed"):
        u.read()
    del arr
    c2 = vr.attach(name)
    c2.universes[0].tables
    c2.close()  # nothing exported: unmapped at once
    assert c2.closed
