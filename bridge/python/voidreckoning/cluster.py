"""Read-only attach to a running vr cluster: universes, columns, turns.

Layout knowledge used here is limited to the frozen headers of
:mod:`voidreckoning._layout`; the tables and columns of an arena and the
fields of a universe record are read from the directories in the segments.

Lifetime of mappings: every numpy array handed out is a zero-copy view of an
``mmap`` and holds a reference to it.  :meth:`Cluster.close` unmaps what no
array uses and forgets the rest; a mapping still used by arrays stays mapped
(and valid to read) until the last of those arrays is freed.  Nothing the
bridge does ever removes a segment.
"""

from __future__ import annotations

import mmap
import re
import time
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

T = TypeVar("T")

import numpy as np

from . import _layout as L
from ._shm import Segment, check_name, cluster_segment, segment_file
from .errors import AttachError, NotYetError, SchemaError, TornReadError, VrError

#: How long a read retries before giving up when the writer keeps a sequence
#: counter odd (a writer that died in the middle of an update).
RETRY_SECONDS = 2.0

# numpy type strings accepted in a directory: byte order, kind, size
_DTYPE_RE = re.compile(r"[<>|=]?[biufcSV][0-9]{1,4}")


def _dtype(text: str, where: str) -> np.dtype:
    if not _DTYPE_RE.fullmatch(text):
        raise SchemaError(f"{where}: unsupported numpy type string {text!r}")
    try:
        return np.dtype(text)
    except TypeError as e:
        raise SchemaError(f"{where}: bad numpy type string {text!r}: {e}") from None


class _Spinner:
    """Retry helper: spins briefly, then yields the CPU, then gives up."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.n = 0
        self.deadline = 0.0

    def again(self) -> None:
        self.n += 1
        if self.n < 64:
            return
        now = time.monotonic()
        if self.deadline == 0.0:
            self.deadline = now + RETRY_SECONDS
        elif now > self.deadline:
            raise TornReadError(
                f"{self.what}: the writer kept it busy for more than {RETRY_SECONDS} s "
                f"(sequence counter stays odd: writer dead mid-update?)")
        time.sleep(0)


def decode_names(arr: np.ndarray) -> List[str]:
    """Decodes a name column: one ``str`` per row.

    ``arr`` is a ``(rows, width)`` uint8 array as :meth:`View.column` returns
    for a name column (``factions.name``, ``designs.name``, ...); for one
    row ``r`` pass ``arr[r:r + 1]``.  Each row holds UTF-8, NUL-padded; a
    name that fills the row has no NUL.  The rows are reinterpreted in place
    as fixed-width byte strings (no copy of the array); only the ``str``
    objects returned are new.  Bytes after the first NUL are ignored and
    undecodable bytes become U+FFFD, so a damaged row never raises.  Names
    longer than the width were cut by the writer at a UTF-8 character
    boundary.

    Raises :class:`TypeError` if ``arr`` is not a 2-D uint8 array.
    """
    a = np.asarray(arr)
    if a.dtype != np.uint8 or a.ndim != 2:
        raise TypeError(f"not a name column: expected a (rows, width) uint8 array, "
                        f"got a {a.ndim}-D {a.dtype} array")
    rows, width = a.shape
    if rows == 0 or width == 0:
        return [""] * rows
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)  # a slice with a step: the one case that copies
    raw = a.view(f"S{width}").reshape(rows)  # numpy drops the trailing NULs
    return [b.split(b"\0", 1)[0].decode("utf-8", "replace") for b in raw.tolist()]


def _name_column(a: "_Arena", table: str, column: str) -> "ColumnInfo":
    ci = a.info(table, column)
    if ci.dtype != np.uint8 or ci.lanes < 2:
        raise TypeError(f"{table}.{column} is not a name column "
                        f"({ci.dtype}, {ci.lanes} lane{'s' if ci.lanes > 1 else ''}; "
                        f"names are uint8 columns of several lanes)")
    return ci


class ColumnInfo(NamedTuple):
    """One entry of an arena's column directory."""
    table: str
    name: str
    dtype: np.dtype
    lanes: int      #: elements per row; arrays are (rows, lanes) when > 1
    capacity: int   #: rows reserved
    offset: int     #: from the start of a buffer
    nbytes: int     #: bytes reserved in each buffer


class _Arena:
    """A mapped, validated arena and its directories."""

    def __init__(self, seg: str, cluster_id: int, schema_hash: int) -> None:
        self.seg = Segment(seg, L.MAGIC_ARENA, "arena", L.ARENA_HDR_SIZE)
        try:
            self._load(cluster_id, schema_hash)
        except BaseException:
            self.seg.close()
            raise

    def _load(self, cluster_id: int, schema_hash: int) -> None:
        s = self.seg
        name = s.name
        if s.cluster_id != cluster_id:
            raise AttachError(
                f"{name}: cluster id {s.cluster_id:016x}, the cluster segment has "
                f"{cluster_id:016x} (a segment of another cluster)")
        if s.schema_hash != schema_hash:
            raise SchemaError(
                f"{name}: schema hash {s.schema_hash:016x}, the cluster segment has "
                f"{schema_hash:016x}")
        (self.universe, ntables, ncolumns, nbuffers, tabdir, coldir, b0, b1, bufsize,
         self.seed) = L.ARENA_HDR.unpack_from(s.mm, L.ARENA_UNIVERSE)
        hs, total = s.header_size, s.total_size
        if nbuffers != L.ARENA_NBUFFERS_MAX:
            raise AttachError(f"{name}: {nbuffers} buffers, expected {L.ARENA_NBUFFERS_MAX}")
        if (ntables == 0 or tabdir < L.ARENA_HDR_SIZE or coldir < L.ARENA_HDR_SIZE
                or tabdir + ntables * L.TABLEDESC_SIZE > hs
                or coldir + ncolumns * L.COLDESC_SIZE > hs):
            raise AttachError(f"{name}: table or column directory lies outside the header")
        self.tabstate_end = L.BUFHDR_SIZE + ntables * L.TABSTATE_SIZE
        if bufsize < self.tabstate_end or any(
                b < hs or b + bufsize > total or b % 8 for b in (b0, b1)):
            raise AttachError(f"{name}: buffers lie outside the segment")
        self.ntables = ntables
        self.buffer_offset = (b0, b1)
        self.buffer_size = bufsize

        self.table_names: List[str] = []
        capacity: List[int] = []
        for t in range(ntables):
            raw, cap, _first, _n = L.TABLEDESC.unpack_from(s.mm, tabdir + t * L.TABLEDESC_SIZE)
            tname = L.cstr(raw)
            if not tname or tname in self.table_names:
                raise SchemaError(f"{name}: table {t} has an empty or repeated name {tname!r}")
            self.table_names.append(tname)
            capacity.append(cap)
        self.capacity = dict(zip(self.table_names, capacity))
        self.table_index = {n: i for i, n in enumerate(self.table_names)}

        self.columns: Dict[str, Dict[str, ColumnInfo]] = {n: {} for n in self.table_names}
        for c in range(ncolumns):
            (raw, rawdt, table, elem, lanes, cap, off, nbytes) = L.COLDESC.unpack_from(
                s.mm, coldir + c * L.COLDESC_SIZE)
            cname = L.cstr(raw)
            where = f"{name}: column {c} ({cname})"
            if table >= ntables:
                raise SchemaError(f"{where}: table index {table} >= {ntables}")
            tname = self.table_names[table]
            dt = _dtype(L.cstr(rawdt), where)
            need = cap * lanes * elem
            if (not cname or cname in self.columns[tname] or dt.itemsize != elem or lanes < 1
                    or cap != capacity[table] or off < self.tabstate_end or nbytes < need
                    or off + nbytes > bufsize):
                raise SchemaError(f"{where}: directory entry does not fit the table or the buffer")
            self.columns[tname][cname] = ColumnInfo(tname, cname, dt, lanes, cap, off, nbytes)

    # ---- read protocol ----------------------------------------------------
    def begin(self) -> Tuple[int, int, int, int, int]:
        """Pins the published buffer: (index, base offset, seq, turn, hash).
        Raises NotYetError when nothing is published."""
        s = self.seg
        spin = _Spinner(f"{s.name}: published buffer")
        while True:
            p = s.u32(L.ARENA_PUBLISHED)
            if p == L.NO_BUFFER:
                raise NotYetError(f"{s.name}: no turn published yet")
            if p >= L.ARENA_NBUFFERS_MAX:
                raise AttachError(f"{s.name}: published buffer index {p} out of range")
            base = self.buffer_offset[p]
            seq = s.u64(base + L.BUF_SEQ)
            if seq & 1:  # the writer moved on twice since we loaded p: retry
                spin.again()
                continue
            turn = s.u64(base + L.BUF_TURN)
            h = s.u64(base + L.BUF_HASH)
            return p, base, seq, turn, h

    def pin(self, turn: int) -> Optional[Tuple[int, int, int, int, int]]:
        """Pins whichever buffer holds ``turn`` (the published one, or the
        previous one the writer has not started to reuse): (index, base,
        seq, turn, hash), or None when neither holds it right now."""
        s = self.seg
        p = s.u32(L.ARENA_PUBLISHED)
        if p >= L.ARENA_NBUFFERS_MAX:
            return None
        for b in (p, 1 - p):
            base = self.buffer_offset[b]
            seq = s.u64(base + L.BUF_SEQ)
            if seq & 1 or (b != p and seq == 0):  # being written, or never written
                continue
            t, h = s.u64(base + L.BUF_TURN), s.u64(base + L.BUF_HASH)
            if t == turn and s.u64(base + L.BUF_SEQ) == seq:
                return b, base, seq, t, h
        return None

    def tabstate(self, base: int, table: int) -> Tuple[int, int, int, int]:
        """(count, live, free_count, reserved) of a table in a buffer."""
        return L.TABSTATE.unpack_from(self.seg.mm, base + L.BUFHDR_SIZE + table * L.TABSTATE_SIZE)

    def seq(self, base: int) -> int:
        return self.seg.u64(base + L.BUF_SEQ)

    def info(self, table: str, name: str) -> ColumnInfo:
        try:
            cols = self.columns[table]
        except KeyError:
            raise KeyError(f"{self.seg.name}: no table {table!r} "
                           f"(tables: {', '.join(self.table_names)})") from None
        try:
            return cols[name]
        except KeyError:
            raise KeyError(f"{self.seg.name}: table {table!r} has no column {name!r} "
                           f"(columns: {', '.join(cols)})") from None

    def array(self, base: int, ci: ColumnInfo, rows: int) -> np.ndarray:
        """Zero-copy, read-only view of ``rows`` rows of a column."""
        rows = min(rows, ci.capacity)
        a = np.frombuffer(self.seg.mm, dtype=ci.dtype, count=rows * ci.lanes,
                          offset=base + ci.offset)
        if ci.lanes > 1:
            a = a.reshape(rows, ci.lanes)
        return a

    def rows(self, base: int, ci: ColumnInfo) -> int:
        count, _live, free_count, _ = self.tabstate(base, self.table_index[ci.table])
        # the implicit free-row stack's used part is free_count entries
        return free_count if ci.name == "_free" else count

    def close(self) -> None:
        self.seg.close()


class View:
    """One published buffer of a universe, pinned: every column read through
    it belongs to :attr:`turn` as long as :meth:`check` passes.

    Use it as a context manager; on exit the buffer's sequence counter is read
    again and :class:`TornReadError` is raised if the writer has started
    overwriting the buffer since the view began (a reader slower than about
    one turn).  The arrays are live views of the shared buffer: compare or
    copy them *inside* the ``with`` block; after the block they may already
    hold a later turn.
    """

    def __init__(self, universe: "Universe", arena: _Arena,
                 pinned: Optional[Tuple[int, int, int, int, int]] = None) -> None:
        self._u = universe
        self._a = arena
        self.buffer, self._base, self._seq, self.turn, self.hash = pinned or arena.begin()
        #: the universe's metrics of this turn (``{"combat_ns": ..., "battles": ...}``)
        #: when the view comes from :meth:`Cluster.turn`, else None
        self.metrics: Optional[Dict[str, int]] = None
        #: (count, live, free_count) per table, read from the pinned buffer
        self._state = [arena.tabstate(self._base, t)[:3] for t in range(arena.ntables)]
        self._open = True

    turn: int  #: committed turn held by the pinned buffer
    hash: int  #: state hash of that turn
    buffer: int  #: index of the pinned buffer (0 or 1)

    def _live_arena(self) -> _Arena:
        if not self._open:
            raise VrError("the view is closed (read through a new Universe.read())")
        if self._a.seg.mm is None:
            raise VrError("the cluster was closed")
        return self._a

    def column(self, table: str, name: str) -> np.ndarray:
        """Read-only zero-copy array of a column: shape (rows,), or
        (rows, lanes) for a multi-lane column; rows = the table's row count
        (high-water mark, alive or free) in this turn."""
        a = self._live_arena()
        ci = a.info(table, name)
        count, _live, free_count = self._state[a.table_index[table]]
        return a.array(self._base, ci, free_count if name == "_free" else count)

    def table(self, name: str, implicit: bool = False) -> "Table":
        """A table of this turn: ``t["hull"]`` is a zero-copy column, ``len(t)``
        the rows alive, ``t.alive`` their mask; iterating gives the column
        names (declared ones; with ``implicit`` also ``_gen`` and ``_free``).
        See :class:`Table`."""
        a = self._live_arena()
        if name not in a.columns:
            a.info(name, "")  # raises a KeyError naming the tables
        return Table(self, name, [c for c in a.columns[name] if implicit or not c.startswith("_")])

    @property
    def universe(self) -> "Universe":
        """The universe this view reads."""
        return self._u

    def ids(self, table: str) -> np.ndarray:
        """Entity ids (``generation << 32 | row``) of every row of this turn
        (uint64; a new array).  Only rows with an odd generation are alive."""
        gen = self.column(table, "_gen").astype(np.uint64)
        return (gen << np.uint64(32)) | np.arange(gen.shape[0], dtype=np.uint64)

    def row(self, table: str, entity: int) -> int:
        """The row of entity id ``entity`` (``generation << 32 | row``, as in
        ``decisions.entity`` or the ids commands return) in this turn.
        Raises :class:`KeyError` naming the reason when the id is not alive
        here: row out of range, freed, or reused by a later entity."""
        entity = int(entity)
        r, g = entity & 0xFFFFFFFF, entity >> 32
        gen = self.column(table, "_gen")
        if entity < 0 or r >= gen.shape[0]:
            raise KeyError(f"{table}: no entity {entity:#x} (row {r} is beyond the "
                           f"{gen.shape[0]} rows of turn {self.turn})")
        now = int(gen[r])
        if now != g:
            why = ("freed" if now == g + 1 else "reused by a later entity") if now > g else \
                "not created yet"
            raise KeyError(f"{table}: entity {entity:#x} is not alive in turn {self.turn} "
                           f"(row {r}: generation {now}, the id has {g}: {why})")
        if not g & 1:
            raise KeyError(f"{table}: {entity:#x} is not an entity id (even generation {g})")
        return r

    def rows_of(self, table: str, entities: Sequence[int]) -> np.ndarray:
        """Rows of many entity ids at once (int64 array), -1 where an id is
        not alive in this turn."""
        ids = np.asarray(entities, dtype=np.uint64)
        gen = self.column(table, "_gen")
        r = (ids & np.uint64(0xFFFFFFFF)).astype(np.int64)
        g = (ids >> np.uint64(32)).astype(np.int64)
        ok = (r < gen.shape[0]) & (g & 1 == 1)
        ok[ok] &= gen[r[ok]].astype(np.int64) == g[ok]
        return np.where(ok, r, -1)

    def names(self, table: str, column: str = "name") -> List[str]:
        """The names of a name column, one ``str`` per row of this turn:
        ``v.names("factions")[f - 1]`` is the name of faction ``f``,
        ``v.names("designs")[d]`` that of design ``d`` (``ships.design``).
        Decoded by :func:`decode_names` from the zero-copy column; check the
        view (or leave the ``with`` block) before trusting the result.
        Raises :class:`TypeError` for a column that is not a name column."""
        _name_column(self._live_arena(), table, column)
        return decode_names(self.column(table, column))

    def alive(self, table: str) -> np.ndarray:
        """Boolean mask of the rows alive in this turn (generation is odd)."""
        return (self.column(table, "_gen") & 1).astype(bool)

    def rows(self, table: str) -> int:
        """Rows in use (alive or free) of a table in this turn."""
        a = self._live_arena()
        if table not in a.table_index:
            a.info(table, "")
        return min(self._state[a.table_index[table]][0], a.capacity[table])

    def live(self, table: str) -> int:
        """Rows alive of a table in this turn."""
        a = self._live_arena()
        if table not in a.table_index:
            a.info(table, "")
        return self._state[a.table_index[table]][1]

    def consistent(self) -> bool:
        """True while nothing read through this view can have been
        overwritten (the pinned buffer's sequence counter is unchanged)."""
        a = self._a
        if a.seg.mm is None:
            raise VrError("the cluster was closed")
        return a.seq(self._base) == self._seq

    def check(self) -> None:
        """Raises :class:`TornReadError` if the writer has overwritten (or is
        overwriting) the pinned buffer since the view began."""
        if not self.consistent():
            raise TornReadError(
                f"{self._a.seg.name}: turn {self.turn} was overwritten by the writer while "
                f"it was being read; read again")

    def close(self) -> None:
        """Ends the view without checking it."""
        self._open = False

    def __enter__(self) -> "View":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # Checked even when the block raised: an error inside the block may
        # well come from torn data, and the TornReadError then says so (the
        # original exception stays attached as its __context__).
        try:
            self.check()
        finally:
            self._open = False

    def __repr__(self) -> str:
        return f"<View {self._a.seg.name} turn {self.turn} buffer {self.buffer}>"


class Table:
    """One table of one pinned turn (from :meth:`View.table`).

    ``t["hull"]`` is the column as a read-only, zero-copy numpy array over
    every row of the turn (alive or free: rows are stable entity slots), and
    ``t.alive`` is the mask of the rows alive; ``len(t)`` counts the rows
    alive.  Iterating (``list(t)``, ``t.keys()``) gives the column names.
    ``t.live("hull")`` is the alive rows only (a copy), ``t.ids`` the entity
    ids, ``t.to_pandas()`` a DataFrame of the alive rows when pandas is
    installed (it is not required).  Like every array of a view, read it
    inside the view's ``with`` block.
    """

    def __init__(self, view: View, name: str, columns: List[str]) -> None:
        self._v = view
        #: the table's name
        self.name = name
        self._cols = columns

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in self._cols:
            self._v._live_arena().info(self.name, column)  # raises a KeyError naming the columns
        return self._v.column(self.name, column)

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    def __contains__(self, column: object) -> bool:
        return column in self._cols

    def __len__(self) -> int:
        return self._v.live(self.name)

    def keys(self) -> List[str]:
        return list(self._cols)

    def values(self) -> List[np.ndarray]:
        return [self[c] for c in self._cols]

    def items(self) -> List[Tuple[str, np.ndarray]]:
        return [(c, self[c]) for c in self._cols]

    @property
    def rows(self) -> int:
        """Rows of the turn, alive or free (the length of every column)."""
        return self._v.rows(self.name)

    @property
    def alive(self) -> np.ndarray:
        """Boolean mask of the rows alive in this turn."""
        return self._v.alive(self.name)

    @property
    def ids(self) -> np.ndarray:
        """Entity ids of every row (see :meth:`View.ids`)."""
        return self._v.ids(self.name)

    def live(self, column: str) -> np.ndarray:
        """The alive rows of a column (a copy)."""
        return self[column][self.alive]

    def to_pandas(self, alive_only: bool = True) -> Any:
        """A pandas DataFrame of the table (alive rows by default; a copy),
        indexed by entity id; a multi-lane column becomes columns
        ``name_0``, ``name_1``, ...  Raises :class:`ImportError` with a hint
        when pandas is not installed (Debian: python3-pandas)."""
        try:
            import pandas as pd  # optional
        except ImportError as e:
            raise ImportError("Table.to_pandas needs pandas (Debian: apt install python3-pandas)") from e
        mask = self.alive if alive_only else slice(None)
        data: Dict[str, np.ndarray] = {}
        for c in self._cols:
            a = self[c][mask]
            if a.ndim == 2:
                for k in range(a.shape[1]):
                    data[f"{c}_{k}"] = a[:, k].copy()
            else:
                data[c] = a.copy()
        return pd.DataFrame(data, index=pd.Index(self.ids[mask], name="id"))

    def __repr__(self) -> str:
        return f"<Table {self.name}: {len(self)} alive of {self.rows} rows, {len(self._cols)} columns>"


class Turn:
    """One committed turn of every universe, held consistently (from
    :meth:`Cluster.turn`).

    ``t.universes[k]`` is a :class:`View` of universe ``k`` pinned at turn
    :attr:`number` (all the same turn), with its :attr:`View.hash` and
    :attr:`View.metrics`; :attr:`metrics` sums the universes' metrics.  On
    leaving the ``with`` block every view is checked: if a writer has started
    to overwrite a buffer this turn holds (the reader fell about two turns
    behind), :class:`TornReadError` is raised; a worker is never blocked.
    """

    def __init__(self, number: int, cluster_hash: int, views: List[View],
                 metrics: Dict[str, int]) -> None:
        #: the turn every view holds
        self.number = number
        #: the coordinator's hash of the universes' hashes at this turn
        self.hash = cluster_hash
        #: one pinned view per universe, in universe order
        self.universes = views
        #: every ``m_<name>`` metric of the turn summed over the universes
        #: (``{"combat_ns": ..., "battles": ..., ...}``)
        self.metrics = metrics

    def consistent(self) -> bool:
        """True while no view of this turn has been overwritten."""
        return all(v.consistent() for v in self.universes)

    def check(self) -> None:
        """Raises :class:`TornReadError` if any view was overwritten."""
        for v in self.universes:
            v.check()

    def close(self) -> None:
        for v in self.universes:
            v.close()

    def __enter__(self) -> "Turn":
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.check()
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"<Turn {self.number}: {len(self.universes)} universes>"


class Universe:
    """One universe of a cluster, its arena attached read-only on first use."""

    def __init__(self, cluster: "Cluster", index: int, record: np.void) -> None:
        self._cluster = cluster
        self._arena: Optional[_Arena] = None
        #: position in the cluster's universe table
        self.index = index
        #: the universe record (a numpy structured scalar) as read at attach
        self.record = record
        #: /dev/shm file name of the arena ("vr.NAME.uK"; the shm name has a leading slash)
        self.segment = ""
        self._set_segment(record)

    def _set_segment(self, record: np.void) -> None:
        raw = bytes(record["arena"]).split(b"\0", 1)[0].decode("ascii", "replace")
        self.segment = segment_file(raw) if raw else ""

    def _a(self) -> _Arena:
        c = self._cluster
        if c.closed:
            raise VrError(f"cluster {c.name!r} is closed")
        if self._arena is None:
            if not self.segment:  # the coordinator may fill it in later
                self.record = c.records()[self.index]
                self._set_segment(self.record)
                if not self.segment:
                    raise AttachError(f"{c.segment}: universe {self.index} has no arena yet")
            self._arena = _Arena(self.segment, c.cluster_id, c.schema_hash)
        return self._arena

    @property
    def universe_id(self) -> int:
        """The universe number written in the arena header."""
        return self._a().universe

    @property
    def mapping(self) -> mmap.mmap:
        """The read-only mapping of the whole arena segment."""
        mm = self._a().seg.mm
        assert mm is not None
        return mm

    @property
    def tables(self) -> Dict[str, List[str]]:
        """{table name: [column names]} from the arena's directories,
        implicit columns (``_gen``, ``_free``) included."""
        a = self._a()
        return {t: list(a.columns[t]) for t in a.table_names}

    def columns(self, table: str) -> List[ColumnInfo]:
        """The directory entries of a table's columns."""
        a = self._a()
        if table not in a.columns:
            a.info(table, "")
        return list(a.columns[table].values())

    def column_info(self, table: str, name: str) -> ColumnInfo:
        """The directory entry of one column (KeyError if unknown)."""
        return self._a().info(table, name)

    def capacity(self, table: str) -> int:
        """Rows reserved for a table."""
        a = self._a()
        if table not in a.capacity:
            a.info(table, "")
        return a.capacity[table]

    def published(self) -> Tuple[int, int]:
        """(turn, hash) of the last published turn, read consistently.
        Raises :class:`NotYetError` when nothing is published."""
        a = self._a()
        spin = _Spinner(f"{self.segment}: published turn")
        while True:
            _p, base, seq, turn, h = a.begin()
            if a.seq(base) == seq:
                return turn, h
            spin.again()

    @property
    def turn(self) -> int:
        """The last published (committed) turn."""
        return self.published()[0]

    @property
    def hash(self) -> int:
        """The state hash of the last published turn."""
        return self.published()[1]

    def read(self) -> View:
        """Pins the published buffer; use as ``with u.read() as v: ...``.
        Raises :class:`NotYetError` when nothing is published."""
        return View(self, self._a())

    def column(self, table: str, name: str) -> Tuple[np.ndarray, int]:
        """(array, turn): a read-only zero-copy view of one column of the
        last published turn and the turn it belongs to.

        The row count was read consistently, but the array stays a live view
        of its buffer, which the writer reuses about one turn later: to read
        several columns of one turn, or to keep values, use :meth:`read`
        (and copy inside the block)."""
        a = self._a()
        ci = a.info(table, name)
        spin = _Spinner(f"{self.segment}: {table}.{name}")
        while True:
            _p, base, seq, turn, _h = a.begin()
            arr = a.array(base, ci, a.rows(base, ci))
            if a.seq(base) == seq:
                return arr, turn
            spin.again()

    def names(self, table: str, column: str = "name") -> Tuple[List[str], int]:
        """(names, turn): the decoded names of a name column in the last
        published turn (see :meth:`View.names`), decoded and then checked
        against the writer, so they all belong to ``turn``.  Raises
        :class:`TypeError` for a column that is not a name column."""
        a = self._a()
        ci = _name_column(a, table, column)
        spin = _Spinner(f"{self.segment}: {table}.{column}")
        while True:
            _p, base, seq, turn, _h = a.begin()
            names = decode_names(a.array(base, ci, a.rows(base, ci)))
            if a.seq(base) == seq:
                return names, turn
            spin.again()

    def close(self) -> None:
        """Unmaps the arena (or forgets it while arrays still use it)."""
        if self._arena is not None:
            self._arena.close()
            self._arena = None

    def __repr__(self) -> str:
        return f"<Universe {self.index} {self.segment or '(no arena)'}>"


class Cluster:
    """A cluster attached read-only by name; see :func:`attach`."""

    def __init__(self, name: str) -> None:
        check_name(name)
        #: the cluster name
        self.name = name
        #: /dev/shm file name of the cluster segment ("vr.NAME.cluster")
        self.segment = cluster_segment(name)
        self._seg: Optional[Segment] = Segment(
            self.segment, L.MAGIC_CLUSTER, "cluster", L.CLUSTER_HDR_SIZE, cluster=name)
        try:
            self._load()
        except BaseException:
            self._seg.close()
            self._seg = None
            raise

    def _load(self) -> None:
        s = self._seg
        assert s is not None
        seg = self.segment
        #: random id shared by the cluster's segments
        self.cluster_id: int = s.cluster_id
        #: schema hash of the creator (every arena must carry the same)
        self.schema_hash: int = s.schema_hash
        #: pid of the process that created the cluster segment
        self.creator_pid: int = s.creator_pid
        self.nuniverses = n = s.u32(L.CL_NUNIVERSES)
        (_t, _h, self.seed, _st, urec_size, urec_off, ufield_off, nufields, _r, self.started_unix_ns,
         _tn) = L.CL_DYN.unpack_from(s.mm, L.CL_COMMITTED_TURN)
        total = s.total_size
        if not 1 <= n <= 4096:
            raise AttachError(f"{seg}: {n} universes, out of range (1..4096)")
        if (urec_size == 0 or nufields == 0 or nufields > 1024
                or ufield_off < L.CLUSTER_HDR_SIZE or urec_off < L.CLUSTER_HDR_SIZE
                or ufield_off + nufields * L.FIELDDESC_SIZE > total
                or urec_off + n * urec_size > total):
            raise AttachError(f"{seg}: universe table does not fit the segment")
        names, formats, offsets = [], [], []
        for i in range(nufields):
            raw, rawdt, off = L.FIELDDESC.unpack_from(s.mm, ufield_off + i * L.FIELDDESC_SIZE)
            fname = L.cstr(raw)
            where = f"{seg}: universe record field {i} ({fname})"
            dt = _dtype(L.cstr(rawdt), where)
            if not fname.isidentifier() or fname in names or off + dt.itemsize > urec_size:
                raise SchemaError(f"{where}: bad name, repeated, or outside the record")
            names.append(fname)
            formats.append(dt)
            offsets.append(off)
        if "arena" not in names or formats[names.index("arena")].kind != "S":
            raise SchemaError(f"{seg}: universe records have no 'arena' string field")
        #: numpy structured dtype of a universe record, built from the field directory
        self.record_dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets,
                                      "itemsize": urec_size})
        self._urec_off = urec_off
        #: where the coordinator's command socket listens ("" if not set)
        self.cmd_endpoint = L.cstr(s.mm[L.CL_CMD_ENDPOINT:L.CL_CMD_ENDPOINT + L.CL_CMD_ENDPOINT_LEN])
        #: where the coordinator publishes cluster events ("" if not set);
        #: each worker's endpoint is the "events" field of its universe record
        self.events_endpoint = L.cstr(
            s.mm[L.CL_EVENTS_ENDPOINT:L.CL_EVENTS_ENDPOINT + L.CL_EVENTS_ENDPOINT_LEN])
        recs = self.records()
        #: one Universe per universe record; arenas are attached on first use
        self.universes: List[Universe] = [Universe(self, i, recs[i]) for i in range(n)]

    # ---- consistent reads of the coordinator's fields ---------------------
    def _s(self) -> Segment:
        if self._seg is None:
            raise VrError(f"cluster {self.name!r} is closed")
        return self._seg

    def _consistent(self, with_records: bool) -> Tuple[tuple, Optional[np.ndarray]]:
        s = self._s()
        spin = _Spinner(f"{self.segment}: cluster header")
        while True:
            seq = s.u64(L.CL_SEQ)
            if seq & 1:
                spin.again()
                continue
            dyn = L.CL_DYN.unpack_from(s.mm, L.CL_COMMITTED_TURN)
            recs = None
            if with_records:
                recs = np.frombuffer(s.mm, dtype=self.record_dtype, count=self.nuniverses,
                                     offset=self._urec_off).copy()
            if s.u64(L.CL_SEQ) == seq:
                return dyn, recs
            spin.again()

    def snapshot(self) -> Dict[str, Any]:
        """The coordinator's header fields, read consistently in one go:
        committed_turn, cluster_hash, status, turn_ns."""
        dyn, _ = self._consistent(False)
        return {"committed_turn": dyn[0], "cluster_hash": dyn[1],
                "status": L.CLUSTER_STATUS.get(dyn[3], f"unknown({dyn[3]})"),
                "turn_ns": dyn[10]}

    def records(self) -> np.ndarray:
        """A copy of every universe record (structured array, one row per
        universe), read consistently through the cluster's sequence lock."""
        return self._consistent(True)[1]  # type: ignore[return-value]

    @property
    def coordinator_pid(self) -> int:
        """pid of the coordinator driving the cluster now (after
        ``vr-coordinator --resume`` not the creator); 0 before it started."""
        import struct
        assert self._seg is not None
        return struct.unpack_from("<i", self._seg.mm, L.CL_COORDINATOR_PID)[0]

    @property
    def status(self) -> str:
        """starting, running, paused, stopping, stopped or failed."""
        return self.snapshot()["status"]

    @property
    def committed_turn(self) -> int:
        """The turn every universe has published."""
        return self._consistent(False)[0][0]

    @property
    def cluster_hash(self) -> int:
        """Hash of the universes' state hashes at the committed turn."""
        return self._consistent(False)[0][1]

    @property
    def mapping(self) -> mmap.mmap:
        """The read-only mapping of the cluster segment."""
        mm = self._s().mm
        assert mm is not None
        return mm

    @property
    def closed(self) -> bool:
        return self._seg is None

    def universe(self, index: int) -> Universe:
        return self.universes[index]

    def read_turn(self, fn: Callable[[Turn], T], attempts: int = 50) -> T:
        """Calls ``fn(t)`` inside ``with self.turn() as t`` and returns what it
        returns; when the turn was overwritten meanwhile (the reader was about
        two turns slower than the workers) it runs ``fn`` again on a newer
        turn, up to ``attempts`` times, then lets the :class:`TornReadError`
        through.  ``fn`` should copy what it keeps (the arrays are views)."""
        for k in range(attempts):
            try:
                with self.turn() as t:
                    return fn(t)
            except TornReadError:
                if k + 1 == attempts:
                    raise
        raise ValueError("attempts must be at least 1")

    def turn(self) -> Turn:
        """Holds the last committed turn of every universe at once; use as
        ``with cluster.turn() as t: ...`` (see :class:`Turn`).

        Every universe keeps its last two published turns; this pins, in
        each, the buffer holding the committed turn read from the cluster
        header (retrying with a newer one when a worker has already moved
        two turns on).  Raises :class:`NotYetError` before turn 0 is
        committed and :class:`TornReadError` if the workers outrun the
        reader for more than ``RETRY_SECONDS``."""
        arenas = [u._a() for u in self.universes]
        spin = _Spinner(f"{self.segment}: committed turn")
        while True:
            dyn, recs = self._consistent(True)
            status = L.CLUSTER_STATUS.get(dyn[3], "")
            if status == "starting":
                raise NotYetError(f"{self.segment}: cluster {self.name!r} is still starting")
            number, chash = dyn[0], dyn[1]
            pinned = [a.pin(number) for a in arenas]
            if all(p is not None for p in pinned):
                break
            spin.again()
        views = [View(u, a, p) for u, a, p in zip(self.universes, arenas, pinned)]
        total: Dict[str, int] = {}
        assert recs is not None
        for v, r in zip(views, recs):
            if int(r["committed_turn"]) != number:
                continue
            v.metrics = {f[2:]: int(r[f]) for f in recs.dtype.names if f.startswith("m_")}
            for k, x in v.metrics.items():
                total[k] = total.get(k, 0) + x
        return Turn(number, chash, views, total)

    def close(self) -> None:
        """Detaches.  Mappings no array uses are unmapped now; a mapping that
        numpy arrays still use stays mapped until the last of them is freed
        (those arrays stay valid).  Never removes a segment.  Idempotent."""
        if self._seg is None:
            return
        for u in getattr(self, "universes", []):
            u.close()
        self._seg.close()
        self._seg = None

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.nuniverses} universes"
        return f"<Cluster {self.name!r} {state}>"


def attach(name: str) -> Cluster:
    """Attaches read-only to the running cluster ``name``.

    Opens /dev/shm/vr.<name>.cluster with O_RDONLY and maps it PROT_READ,
    MAP_SHARED; checks magic, layout version, sizes and the universe field
    directory.  Arenas are attached (and checked against the cluster id and
    schema hash) when a universe is first used.

    Raises :class:`ValueError` (bad name), :class:`ClusterNotFound`,
    :class:`VersionError`, :class:`SchemaError` or :class:`AttachError`.
    """
    return Cluster(name)
