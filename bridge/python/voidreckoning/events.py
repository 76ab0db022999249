"""The event stream of a vr cluster: battles, decisions, audit findings, turns.

Each worker publishes what happened in its universe, and the coordinator
what happened to the cluster, on ZeroMQ PUB sockets whose endpoints are in
the cluster segment.  :func:`events` connects one SUB socket to all of them
(or to the workers of the universes asked for), subscribes only to the
kinds asked for (the publishers filter by topic, so unwanted kinds never
cross the socket) and yields one :class:`Event` per record::

    import voidreckoning as vr

    with vr.events("default", kinds={"battle", "turn"}, timeout=5) as stream:
        for ev in stream:
            if ev.kind == "battle":
                print(ev.universe, ev.turn, ev["system"], ev["factions"], ev["winner"])

Kinds (``schemas/events.def`` and ``docs/schema.md`` list their fields):

``battle``, ``decision``, ``audit``, ``transfer`` (fleets leaving through a portal)
    from the workers, for a turn that is committed (published before the
    event was sent), once per turn;
``turn``, ``worker``
    from the coordinator: a turn committed; a worker died, hung, failed or
    stopped.

On the wire a message is ``[topic, payload]``: the topic is the kind, the
payload a msgpack map with ``v``, ``kind``, ``universe``, ``turn``, ``seq``,
``fields`` and ``rows`` (every record of one kind of one turn of one
publisher).  Drop policy: publishers never wait for subscribers.  A
subscriber that falls behind by about 256 messages per publisher (its
receive queue included) loses whole messages; :attr:`EventStream.dropped`
counts the messages known lost (from gaps in ``seq``).  Events sent before
the subscriber connected are not replayed.

Needs pyzmq and msgpack (Debian's ``python3-zmq`` and ``python3-msgpack``).
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

try:
    import msgpack
    import zmq
except ImportError as _e:  # attaching works without them; only the stream needs them
    msgpack = zmq = None  # type: ignore[assignment]
    _IMPORT_ERROR: Optional[ImportError] = _e
else:
    _IMPORT_ERROR = None

from .cluster import attach
from .errors import VrError

#: Kinds published by the workers (one universe each).
WORKER_KINDS = frozenset({"battle", "decision", "audit", "transfer"})
#: Kinds published by the coordinator.
CLUSTER_KINDS = frozenset({"turn", "worker"})
#: Every kind of event.
KINDS = WORKER_KINDS | CLUSTER_KINDS
#: The payload version this module reads (VR_EVENTS_VERSION).
EVENTS_VERSION = 1


@dataclass(frozen=True)
class Event:
    """One record of the event stream.

    ``fields`` maps the kind's field names to values (``ev["system"]`` is
    ``ev.fields["system"]``).  ``universe`` is None for cluster-wide events
    (``turn``).  ``seq`` is the number of the message that carried it among
    its publisher's messages of that kind.
    """
    kind: str
    universe: Optional[int]
    turn: int
    fields: Dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


@dataclass(frozen=True)
class Batch:
    """One message: every record of one kind of one turn of one publisher,
    as ``rows`` (lists in the order of ``fields``), not yet split into
    :class:`Event` objects (what :meth:`EventStream.batches` yields)."""
    kind: str
    universe: Optional[int]
    turn: int
    seq: int
    fields: Tuple[str, ...]
    rows: List[List[Any]]

    def events(self) -> List[Event]:
        f = self.fields
        return [Event(self.kind, self.universe, self.turn, dict(zip(f, r)), self.seq)
                for r in self.rows]


def _kinds(kinds: Union[str, Iterable[str], None]) -> Set[str]:
    if kinds is None:
        return set(KINDS)
    ks = {kinds} if isinstance(kinds, str) else set(kinds)
    bad = ks - KINDS
    if bad:
        raise ValueError(f"unknown event kind(s) {sorted(bad)}; kinds are {sorted(KINDS)}")
    if not ks:
        raise ValueError("no event kind asked for")
    return ks


class EventStream:
    """An iterator of :class:`Event` from a running cluster; see :func:`events`.

    Also a context manager: leaving the block closes the socket.
    """

    def __init__(self, name: str, kinds: Union[str, Iterable[str], None] = None,
                 universes: Optional[Iterable[int]] = None,
                 timeout: Optional[float] = None) -> None:
        if _IMPORT_ERROR is not None:
            raise ImportError(f"the event stream needs pyzmq and msgpack "
                              f"(Debian: python3-zmq python3-msgpack): {_IMPORT_ERROR}")
        self._sock: Optional[zmq.Socket] = None
        self._ctx: Optional[zmq.Context] = None
        self.kinds = _kinds(kinds)
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout {timeout} is negative")
        self.timeout = timeout
        with attach(name) as c:
            n = c.nuniverses
            recs = c.records()
            coord_ep = c.events_endpoint
            worker_eps = [bytes(r).split(b"\0", 1)[0].decode("ascii", "replace")
                          for r in recs["events"]] if "events" in recs.dtype.names else []
        if universes is None:
            self.universes: Optional[Set[int]] = None
            wanted = list(range(n))
        else:
            self.universes = set()
            for u in universes:
                if not isinstance(u, int) or not 0 <= u < n:
                    raise ValueError(f"universe {u!r} out of range: cluster {name!r} has {n} (0..{n - 1})")
                self.universes.add(u)
            wanted = sorted(self.universes)
        #: the endpoints this stream is connected to
        self.endpoints: List[str] = []
        if self.kinds & CLUSTER_KINDS:
            if not coord_ep:
                raise VrError(f"cluster {name!r} records no event endpoint of its coordinator")
            self.endpoints.append(coord_ep)
        if self.kinds & WORKER_KINDS:
            for u in wanted:
                if u >= len(worker_eps) or not worker_eps[u]:
                    raise VrError(f"cluster {name!r} records no event endpoint for universe {u}")
                self.endpoints.append(worker_eps[u])
        #: messages known lost (gaps in a publisher's seq, per kind)
        self.dropped = 0
        #: messages that were not events of this version (skipped)
        self.malformed = 0
        self._last_seq: Dict[Tuple[Optional[int], str], int] = {}
        self._pending: Deque[Event] = collections.deque()
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        for k in sorted(self.kinds):
            self._sock.setsockopt(zmq.SUBSCRIBE, k.encode())
        for ep in self.endpoints:
            self._sock.connect(ep)

    # ---- receiving ----------------------------------------------------------
    def _decode(self, frames: List[bytes]) -> Optional[Batch]:
        if len(frames) != 2:
            self.malformed += 1
            return None
        topic = frames[0].decode("ascii", "replace")
        try:
            m = msgpack.unpackb(frames[1], raw=False, strict_map_key=False)
            kind, universe, turn, seq = m["kind"], m["universe"], m["turn"], m["seq"]
            fields, rows = tuple(m["fields"]), m["rows"]
            ok = (m.get("v") == EVENTS_VERSION and kind == topic and kind in KINDS
                  and isinstance(rows, list) and isinstance(turn, int))
        except (ValueError, KeyError, TypeError, msgpack.UnpackException):
            ok = False
        if not ok:
            self.malformed += 1
            return None
        if kind not in self.kinds:  # a longer topic sharing a subscribed prefix
            return None
        if self.universes is not None and universe is not None and universe not in self.universes:
            return None
        key = (universe, kind)
        last = self._last_seq.get(key)
        if last is not None and seq > last + 1:
            self.dropped += seq - last - 1
        self._last_seq[key] = seq
        return Batch(kind, universe, turn, seq, fields, rows)

    def recv_batch(self, timeout: Optional[float] = None) -> Optional[Batch]:
        """The next message as a :class:`Batch`, or None when nothing came
        within ``timeout`` seconds (None: wait as long as it takes)."""
        sock = self._socket()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not sock.poll(None if left is None else int(left * 1000)):
                return None
            b = self._decode(sock.recv_multipart(zmq.NOBLOCK))
            if b is not None:
                return b
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def batches(self) -> Iterator[Batch]:
        """Iterates over whole messages (faster than one :class:`Event`
        per record); stops after ``timeout`` seconds without one."""
        while True:
            b = self.recv_batch(self.timeout)
            if b is None:
                return
            yield b

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Event:
        while not self._pending:
            b = self.recv_batch(self.timeout)
            if b is None:
                raise StopIteration
            self._pending.extend(b.events())
        return self._pending.popleft()

    # ---- lifetime -----------------------------------------------------------
    def _socket(self) -> zmq.Socket:
        if self._sock is None:
            raise VrError("the event stream is closed")
        return self._sock

    @property
    def closed(self) -> bool:
        return self._sock is None

    def close(self) -> None:
        """Closes the socket and its context.  Idempotent."""
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.endpoints)} endpoints"
        return f"<EventStream {sorted(self.kinds)} {state}>"


def events(name: str, kinds: Union[str, Iterable[str], None] = KINDS,
           universes: Optional[Iterable[int]] = None,
           timeout: Optional[float] = None) -> EventStream:
    """Subscribes to the event stream of the running cluster ``name``.

    ``kinds``: a kind or a set of kinds among :data:`KINDS` (default all);
    only those are subscribed to, so the publishers drop the others.
    ``universes``: universe indices whose workers to listen to (default
    all); cluster events (``turn``, and ``worker`` of those universes) come
    from the coordinator.  ``timeout``: seconds to wait for the next event
    before the iteration stops (None: wait forever).

    Returns an :class:`EventStream`: iterate it for :class:`Event` objects
    (or call :meth:`EventStream.batches` for whole messages), and close it,
    or use it in a ``with`` block.  Only events published after it connected
    arrive.  Raises :class:`ClusterNotFound` and the other attach errors when
    the cluster segment cannot be read, :class:`ValueError` for an unknown
    kind or universe.
    """
    return EventStream(name, kinds, universes, timeout)
