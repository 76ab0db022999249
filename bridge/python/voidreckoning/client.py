"""Command client of a running vr cluster: one method per coordinator command.

The coordinator serves commands on a ZeroMQ ROUTER socket; each request is
one msgpack map ``{"cmd": NAME, "v": WIRE_VERSION, fields...}`` and each
reply a map with ``"ok": True`` and the command's fields, or ``"ok": False``
and ``"error"`` (plus ``"code"``, a negative project error code, for game
commands).  This module turns the error replies into :class:`CommandError`
and missing replies into :class:`CommandTimeout`::

    import voidreckoning as vr

    with vr.connect("demo") as c:
        c.pause()
        t = c.spawn_fleet(0, "Ithzar_Dominion", 0, at=5, ships=3)
        c.step()
        fleet = t.result(timeout=5)          # the new fleet's id
        c.order(fleet, "move", to=9, universe=0).result(timeout=5)
        c.set_policy(0, 1, stance="aggressive", budget=[2, 1, 1])

Game commands (order, spawn, policy) are checked by the coordinator at once
(a bad fleet, faction, design or system raises :class:`CommandError` right
away) and applied by the universe's worker at the start of the next turn it
computes.  They return a :class:`Ticket`; its :meth:`Ticket.result` waits for
that turn (the cluster must be running, or be stepped).

Only pyzmq and msgpack are used.  A client owns its own ZeroMQ context and
socket: do not share one between threads, and do not fork while it is open.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, Optional, Sequence, Union

import msgpack
import zmq

from .cluster import attach
from .errors import ClusterNotFound, VrError

#: wire version of the command protocol this client speaks (schemas/vr_schema.h)
WIRE_VERSION = 2

#: order kinds the coordinator knows
ORDER_KINDS = ("move", "attack", "hold", "retreat")
#: faction stances ("auto" hands the stance back to the faction AI)
STANCES = ("balanced", "aggressive", "defensive", "auto")

#: names of the project error codes a reply's "code" may carry (errors.def)
ERROR_NAMES = {
    -1001: "BADVERSION", -1005: "FULL", -1006: "BADID", -1008: "NOTFOUND", -1009: "TORN",
    -1010: "BADMSG", -1011: "TIMEOUT", -1014: "BADARG", -1016: "NOTYET",
}


class CommandError(VrError):
    """The coordinator (or, for a ticket, the worker) refused a command.

    ``str(e)`` is the server's sentence naming what was wrong; ``code`` the
    negative project error code when the server sent one (else None),
    ``name`` its name (e.g. ``"BADID"`` for an unknown or dead fleet), and
    ``reply`` the whole reply map.
    """

    def __init__(self, message: str, code: Optional[int] = None,
                 reply: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.name = ERROR_NAMES.get(code) if code is not None else None
        self.reply = reply or {}


class CommandFailed(CommandError):
    """A queued command was applied and failed (e.g. its fleet died before
    the turn it was to apply to); raised by :meth:`Ticket.result`."""


class CommandTimeout(VrError, TimeoutError):
    """No reply (or, for a ticket, no result) within the timeout.  A
    :class:`TimeoutError`, so ``except TimeoutError`` catches it too."""


class ClusterNotRunning(ClusterNotFound):
    """No running coordinator for this cluster name: no cluster segment and
    no command socket, or segments left behind by a dead coordinator."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _endpoint_of(name: str) -> str:
    """The command endpoint of cluster ``name``: from its cluster segment, or
    the default ipc://$VR_RUNDIR/vr-NAME.cmd when that socket file exists."""
    rundir = os.environ.get("VR_RUNDIR") or "/tmp"
    path = os.path.join(rundir, f"vr-{name}.cmd")
    try:
        cl = attach(name)
    except ClusterNotFound:
        if os.path.exists(path):
            return "ipc://" + path
        raise ClusterNotRunning(
            f"cluster {name!r} is not running: no /dev/shm/vr.{name}.cluster and no command "
            f"socket {path} (start it with vr-coordinator --name {name})") from None
    try:
        pid = cl.coordinator_pid or cl.creator_pid  # a resumed cluster has a new coordinator
        ep = cl.cmd_endpoint
    finally:
        cl.close()
    if pid > 0 and not _pid_alive(pid):
        raise ClusterNotRunning(
            f"cluster {name!r} is not running: its coordinator (pid {pid}) is gone and left "
            f"segments behind (vr-coordinator --name {name} --reclaim removes them)")
    if not ep:
        raise ClusterNotRunning(f"cluster {name!r} publishes no command endpoint")
    return ep


class Ticket:
    """A queued game command (order, spawn, policy): the coordinator's
    ticket number and a way to wait for what the worker did with it."""

    def __init__(self, client: "Client", reply: Dict[str, Any]) -> None:
        self.client = client
        #: the coordinator's number for the command (``vrctl result K``)
        self.ticket: int = int(reply["ticket"])
        #: "move", "attack", "hold", "retreat", "spawn" or "policy"
        self.op: str = reply.get("op", "?")
        #: universe the command applies to
        self.universe: int = int(reply.get("universe", 0))
        #: last committed turn when it was accepted (it applies to a later turn)
        self.accepted_turn: int = int(reply.get("turn", 0))

    def poll(self) -> Dict[str, Any]:
        """The coordinator's current answer for this ticket: a map with
        ``state`` "pending", "done" (with ``turn`` and ``fleet`` or
        ``faction``) or "failed" (with ``turn``, ``error`` and ``code``)."""
        return self.client.result(self.ticket)

    def done(self) -> bool:
        """True once the command has been applied (successfully or not)."""
        return self.poll()["state"] != "pending"

    def result(self, timeout: Optional[float] = None, interval: float = 0.02) -> int:
        """Waits until the command is applied and returns what it acted on:
        the fleet id (order, spawn: the new fleet) or the 1-based faction
        number (policy).  Raises :class:`CommandFailed` with the worker's
        message when it failed, :class:`CommandTimeout` after ``timeout``
        seconds (default: the client's timeout) if it is still pending (is
        the cluster paused?)."""
        limit = self.client.timeout if timeout is None else timeout
        end = time.monotonic() + limit
        while True:
            r = self.poll()
            if r["state"] == "done":
                return int(r["fleet"] if "fleet" in r else r["faction"])
            if r["state"] == "failed":
                raise CommandFailed(r.get("error", "command failed"), r.get("code"), r)
            if time.monotonic() >= end:
                raise CommandTimeout(
                    f"ticket {self.ticket} ({self.op}) still pending after {limit:g} s: it applies at "
                    f"the next turn; is the cluster paused? (step or resume it)")
            time.sleep(interval)

    def __repr__(self) -> str:
        return f"<Ticket {self.ticket} {self.op} u{self.universe}>"


class Client:
    """A connection to a cluster's command socket; see :func:`connect`."""

    def __init__(self, endpoint: str, timeout: float = 10.0, name: Optional[str] = None) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        #: the cluster name (None when connected by endpoint only)
        self.name = name
        #: the command endpoint
        self.endpoint = endpoint
        #: default seconds to wait for a reply
        self.timeout = float(timeout)
        self._ctx: Optional[zmq.Context] = zmq.Context()
        self._sock: Optional[zmq.Socket] = None

    # ---- the socket ----------------------------------------------------------
    def _socket(self) -> zmq.Socket:
        if self._ctx is None:
            raise VrError("the client is closed")
        if self._sock is None:
            s = self._ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(self.endpoint)
            self._sock = s
        return self._sock

    def _drop_socket(self) -> None:
        # a late reply to a timed-out request must not answer the next one
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None

    def request(self, cmd: str, timeout: Optional[float] = None, **fields: Any) -> Dict[str, Any]:
        """Sends ``{"cmd": cmd, "v": WIRE_VERSION, **fields}`` and returns the
        reply map.  Raises :class:`CommandError` with the server's message
        when it says ``ok: false``, :class:`CommandTimeout` when no reply
        comes within ``timeout`` seconds (default: the client's)."""
        limit = self.timeout if timeout is None else timeout
        body = msgpack.packb({"cmd": cmd, "v": WIRE_VERSION, **fields}, use_bin_type=True)
        s = self._socket()
        s.send_multipart([b"", body])
        if not s.poll(int(limit * 1000), zmq.POLLIN):
            self._drop_socket()
            where = f"cluster {self.name!r} at {self.endpoint}" if self.name else self.endpoint
            raise CommandTimeout(f"no reply to {cmd!r} from {where} within {limit:g} s "
                                 f"(is the coordinator alive?)")
        frames = s.recv_multipart()
        try:
            reply = msgpack.unpackb(frames[-1], raw=False)
        except Exception as e:  # noqa: BLE001 - any decoding failure is the same problem
            raise CommandError(f"unreadable reply to {cmd!r}: {e}") from None
        if not isinstance(reply, dict):
            raise CommandError(f"reply to {cmd!r} is not a map")
        if not reply.get("ok"):
            raise CommandError(str(reply.get("error", "the coordinator refused the command")),
                               reply.get("code"), reply)
        return reply

    # ---- cluster commands ------------------------------------------------------
    def status(self) -> Dict[str, Any]:
        """Cluster state: name, status, turn, turn rate, hashes, and one map
        per universe (worker pid, node, cpus, status, turn, hash, metrics)."""
        return self.request("status")

    def step(self, n: int = 1, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Pauses, runs ``n`` turns and returns once turn +n is committed
        (the timeout should cover n turns)."""
        return self.request("step", timeout=timeout, n=int(n))

    def pause(self) -> Dict[str, Any]:
        """Finishes the running turn, then starts no new one."""
        return self.request("pause")

    def resume(self) -> Dict[str, Any]:
        """Runs freely again."""
        return self.request("resume")

    def hash(self) -> Dict[str, Any]:
        """Turn, cluster hash and per-universe hashes (16 hex digits each)."""
        return self.request("hash")

    def snapshot(self, path: Optional[str] = None, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Writes a snapshot of the whole cluster at the last committed turn
        (taken between turns: during a turn it waits for the commit) to
        ``path`` (made absolute here; default: a file named by turn in the
        coordinator's --snapshot-dir).  Returns ``{"path", "turn", "bytes",
        "cluster_hash"}``; raises :class:`CommandError` naming what was
        wrong (a directory that does not exist, a full disk...).  Start a
        cluster from it with ``vr-coordinator --restore PATH``."""
        fields: Dict[str, Any] = {}
        if path is not None:
            fields["path"] = os.path.abspath(os.fspath(path))
        return self.request("snapshot", timeout=timeout, **fields)

    def shutdown(self) -> Dict[str, Any]:
        """Stops the cluster cleanly (its segments are removed)."""
        return self.request("shutdown")

    # ---- game commands ------------------------------------------------------------
    def order(self, fleet: int, kind: str, to: Optional[int] = None, universe: int = 0,
              to_universe: Optional[int] = None) -> Ticket:
        """Orders fleet ``fleet`` (its id: generation << 32 | row) of
        ``universe``: "move" or "attack" to system ``to``, "hold" where it
        is, "retreat" to its faction's home.  The AI leaves the fleet alone
        until it arrives, then 10 more turns (a hold: 10 turns).  With
        ``to_universe`` (move and attack), ``to`` is a system of that
        universe: the fleet goes through the cheapest portal leading there,
        leaves its universe on reaching it and appears at the portal's end in
        ``to_universe`` at the start of the next turn, still heading for
        ``to`` (a new fleet id there: see the ``arrivals`` table)."""
        fields: Dict[str, Any] = {"universe": int(universe), "fleet": int(fleet), "kind": kind}
        if to is not None:
            fields["to"] = int(to)
        if to_universe is not None:
            fields["to_universe"] = int(to_universe)
        return Ticket(self, self.request("order", **fields))

    def spawn_fleet(self, universe: int, faction: Union[int, str], design: Union[int, str], at: int,
                    ships: int = 1) -> Ticket:
        """Creates a fleet of ``ships`` ships of ``design`` (designs row or
        name) for ``faction`` (1-based number or name) at system ``at``.
        Free (god mode): no resource moves.  ``Ticket.result()`` is the new
        fleet's id."""
        fields = {"universe": int(universe), "faction": faction if isinstance(faction, str) else int(faction),
                  "design": design if isinstance(design, str) else int(design), "at": int(at),
                  "ships": int(ships)}
        return Ticket(self, self.request("spawn", **fields))

    def set_policy(self, universe: int, faction: Union[int, str], stance: Optional[str] = None,
                   budget: Union[Sequence[float], str, None] = None) -> Ticket:
        """Sets a faction's stance ("balanced", "aggressive", "defensive",
        or "auto" to hand it back to the AI) and/or budget split
        ``[military, economy, expansion]`` (normalised to sum 1; "auto" hands
        it back).  The faction AI keeps the user's values."""
        fields: Dict[str, Any] = {"universe": int(universe),
                                  "faction": faction if isinstance(faction, str) else int(faction)}
        if stance is not None:
            fields["stance"] = stance
        if budget is not None:
            fields["budget"] = budget if isinstance(budget, str) else [float(x) for x in budget]
        return Ticket(self, self.request("policy", **fields))

    def result(self, ticket: Union[int, Ticket]) -> Dict[str, Any]:
        """The coordinator's answer for a ticket (see :meth:`Ticket.poll`)."""
        k = ticket.ticket if isinstance(ticket, Ticket) else int(ticket)
        return self.request("result", ticket=k)

    # ---- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        """Closes the socket and the context; the client cannot be used after."""
        self._drop_socket()
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.name or self.endpoint!r}>"


def connect(name: str, timeout: float = 10.0, endpoint: Optional[str] = None) -> Client:
    """Connects to the command socket of cluster ``name``.

    The endpoint is ``endpoint`` when given, else the one the coordinator
    published in its cluster segment (as :func:`attach` reads it), else
    ipc://$VR_RUNDIR/vr-NAME.cmd when that socket file exists.  ``timeout``
    is the default number of seconds each request waits for its reply.

    Raises :class:`ClusterNotRunning` when there is no such cluster (or only
    segments of a dead coordinator), :class:`ValueError` for a bad name.
    """
    ep = endpoint or _endpoint_of(name)
    return Client(ep, timeout=timeout, name=name)
