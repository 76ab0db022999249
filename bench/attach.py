"""Times a read-only attach of one arena of a running cluster, from Python.

Three ways, interleaved iteration by iteration so that load from other
processes falls on all of them alike:

raw            os.open(O_RDONLY) + mmap(PROT_READ, MAP_SHARED) + os.close
               (raw_map), then read the published buffer index and the
               table's row count + np.frombuffer of one column (raw_read:
               the first reads through the new mapping, page faults and
               page-table allocation included).  The floor: nothing but the
               system calls and one numpy view.  Column offset, dtype and
               buffer offsets are read once beforehand from the arena's
               directories (frozen offsets of shm/vr_shm.h).
bridge_arena   voidreckoning: with the cluster segment already attached,
               Universe.column(table, col) on a universe whose arena is not
               mapped: opens, maps and validates the arena, parses its
               directories, pins the published buffer, builds the view.
bridge_full    voidreckoning.attach(name) + universes[0].column(table, col):
               the cluster segment too.

Only the attach is timed; unmapping (and, for the bridge, close()) happens
outside the timed part of each iteration.  Prints one JSON object.

usage: /usr/bin/python3 bench/attach.py --name NAME [--universe 0]
           [--table fleets --column ships] [--iterations 1000] [--no-bridge]
"""

from __future__ import annotations

import argparse
import gc
import json
import mmap
import os
import struct
import sys
import time

import numpy as np

# frozen offsets of shm/vr_shm.h (layout version 1)
_ARENA_HDR = struct.Struct("<IIIIQQQQQQ")  # at 64: universe ntables ncolumns nbuffers tabdir coldir b0 b1 bufsize seed
_COLDESC = struct.Struct("<24s8sIIIIQQ")   # name dtype table elem lanes capacity offset bytes
_U32 = struct.Struct("<I")
_PUBLISHED = 128
_BUFHDR = 64
_TABSTATE = 16


def _cstr(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("ascii", "replace")


def column_layout(path: str, table: str, column: str):
    """(buffer offsets, table index, column offset, dtype, lanes) from the
    arena's directories; parsed once, outside the timed part."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        mm = mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    try:
        (_u, ntables, ncolumns, _nb, tabdir, coldir, b0, b1, _bs, _seed) = _ARENA_HDR.unpack_from(mm, 64)
        tables = [_cstr(mm[tabdir + 48 * t: tabdir + 48 * t + 24]) for t in range(ntables)]
        for c in range(ncolumns):
            raw, rawdt, tab, _elem, lanes, _cap, off, _nbytes = _COLDESC.unpack_from(mm, coldir + 64 * c)
            if tables[tab] == table and _cstr(raw) == column:
                return (b0, b1), tab, off, np.dtype(_cstr(rawdt)), lanes
    finally:
        mm.close()
    sys.exit(f"attach.py: {path}: no column {table}.{column}")


def map_raw(path: str) -> mmap.mmap:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return mmap.mmap(fd, 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def column_raw(mm: mmap.mmap, layout) -> np.ndarray:
    """The first reads through a new mapping (page faults included)."""
    bufs, tab, off, dt, lanes = layout
    base = bufs[_U32.unpack_from(mm, _PUBLISHED)[0]]
    rows = _U32.unpack_from(mm, base + _BUFHDR + _TABSTATE * tab)[0]
    return np.frombuffer(mm, dtype=dt, count=rows * lanes, offset=base + off)


def stats(ns):
    a = np.sort(np.asarray(ns, dtype=np.float64)) / 1e6  # ms
    return {"n": int(a.size), "median_ms": float(np.median(a)), "p90_ms": float(a[int(a.size * 0.9)]),
            "mean_ms": float(a.mean()), "min_ms": float(a[0])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--universe", type=int, default=0)
    ap.add_argument("--table", default="fleets")
    ap.add_argument("--column", default="ships")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--no-bridge", action="store_true", help="time the raw path only")
    a = ap.parse_args()

    path = f"/dev/shm/vr.{a.name}.u{a.universe}"
    layout = column_layout(path, a.table, a.column)
    out = {"python": sys.executable, "numpy": np.__version__, "arena": path,
           "arena_bytes": os.stat(path).st_size, "column": f"{a.table}.{a.column}"}

    vr = None
    if not a.no_bridge:
        try:
            import voidreckoning as vr  # noqa: F811
        except ImportError as e:
            out["bridge_error"] = f"voidreckoning not importable: {e}"
    cluster = vr.attach(a.name) if vr else None
    u = cluster.universes[a.universe] if cluster else None

    times = {"raw": [], "raw_map": [], "raw_read": []}
    if vr:
        times.update(bridge_arena=[], bridge_full=[])
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for i in range(a.warmup + a.iterations):
            keep = i >= a.warmup
            t0 = clock()
            mm = map_raw(path)
            tm = clock()
            arr = column_raw(mm, layout)
            t1 = clock()
            rows_raw = arr.shape[0]
            del arr
            mm.close()
            if keep:
                times["raw"].append(t1 - t0)
                times["raw_map"].append(tm - t0)
                times["raw_read"].append(t1 - tm)
            if not vr:
                continue

            u.close()  # unmap the arena: the next column() attaches it again
            t0 = clock()
            arr, turn = u.column(a.table, a.column)
            t1 = clock()
            if arr.shape[0] != rows_raw:
                sys.exit(f"attach.py: bridge sees {arr.shape[0]} rows, raw path {rows_raw}")
            del arr
            if keep:
                times["bridge_arena"].append(t1 - t0)

            t0 = clock()
            c = vr.attach(a.name)
            arr, turn = c.universes[a.universe].column(a.table, a.column)
            t1 = clock()
            del arr
            c.close()
            if keep:
                times["bridge_full"].append(t1 - t0)
            if i % 100 == 0:
                gc.collect()
    finally:
        gc.enable()
        if cluster:
            cluster.close()
    out["rows"] = int(rows_raw)
    for k, v in times.items():
        out[k] = stats(v)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
