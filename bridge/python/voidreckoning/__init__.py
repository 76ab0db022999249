"""voidreckoning: the Python bridge of a vr cluster.

Attach read-only, by cluster name, to the shared memory of a running cluster
and read every column of every universe as a zero-copy, read-only numpy
array::

    import voidreckoning as vr

    with vr.attach("demo") as world:
        with world.turn() as t:              # one committed turn, every universe
            u = t.universes[0]
            ships = u.table("ships")         # zero-copy columns of that turn
            print(t.number, len(ships), ships.live("hull").mean(), hex(u.hash))

    with vr.attach("demo") as c:
        print(c.status, c.committed_turn, hex(c.cluster_hash))
        u = c.universes[0]
        print(u.tables)                      # {"systems": ["x", ...], ...}
        with u.read() as v:                  # one consistent turn
            ships = v.column("fleets", "ships")[v.alive("fleets")].sum()
            factions = v.names("factions")   # ["Templars_of_the_Flux", ...]
        print(v.turn, ships)                 # raises TornReadError on exit if overwritten

Send commands with :func:`connect` (a ZeroMQ client of the coordinator)::

    with vr.connect("demo", timeout=5) as cmd:
        cmd.pause()
        t = cmd.spawn_fleet(0, faction=1, design=0, at=5, ships=3)
        cmd.step()
        print(t.result())                    # the new fleet's id

Subscribe to what happens with :func:`events`::

    with vr.events("demo", kinds={"battle", "turn"}, timeout=5) as stream:
        for ev in stream:                    # battles and committed turns, as they happen
            print(ev.kind, ev.universe, ev.turn, ev.fields)

Attaching needs only the stdlib and numpy; the command client and the event
stream also pyzmq and msgpack.  Segments are opened O_RDONLY and mapped
PROT_READ / MAP_SHARED; the bridge never writes, never locks and never
removes a segment.
"""

from __future__ import annotations

from ._layout import LAYOUT_VERSION
from .cluster import (RETRY_SECONDS, Cluster, ColumnInfo, Table, Turn, Universe, View, attach,
                      decode_names)
from .client import (ORDER_KINDS, STANCES, WIRE_VERSION, Client, ClusterNotRunning, CommandError,
                     CommandFailed, CommandTimeout, Ticket, connect)
from .events import CLUSTER_KINDS, KINDS, WORKER_KINDS, Batch, Event, EventStream, events
from .errors import (AttachError, ClusterNotFound, NotYetError, SchemaError, TornReadError,
                     VersionError, VrError)

__version__ = "0.1.0"

__all__ = [
    "LAYOUT_VERSION",
    "RETRY_SECONDS",
    "attach",
    "decode_names",
    "events",
    "Event",
    "EventStream",
    "Batch",
    "KINDS",
    "WORKER_KINDS",
    "CLUSTER_KINDS",
    "Cluster",
    "Universe",
    "View",
    "Turn",
    "Table",
    "ColumnInfo",
    "VrError",
    "AttachError",
    "ClusterNotFound",
    "VersionError",
    "SchemaError",
    "TornReadError",
    "NotYetError",
    "WIRE_VERSION",
    "ORDER_KINDS",
    "STANCES",
    "connect",
    "Client",
    "Ticket",
    "CommandError",
    "CommandFailed",
    "CommandTimeout",
    "ClusterNotRunning",
]
