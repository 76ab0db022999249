"""Galaxy maps: a universe's systems, lanes, faction territory and fleets,
drawn with matplotlib (Debian: python3-matplotlib) into a PNG.

From Python::

    import voidreckoning as vr
    from voidreckoning.map import draw_map
    with vr.attach("default") as world:
        draw_map(world, universe=0, out="u0.png")

From the shell: ``vrctl [-n NAME] map [--universe U] [--out FILE.png]``
(or ``python3 -m voidreckoning.map NAME ...``).

What is drawn, all from one committed turn: hyperlanes (grey; lanes closed
by a storm dashed red), star systems coloured by owner (unclaimed ones
small and grey), a faint disc of its colour around each owned system (the
territory), and fleets as triangles in their faction's colour at their
position: a standing fleet at its system, a travelling one along its lane
in proportion to the leg it has covered.  The legend names the factions.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Optional, Union

import numpy as np

from .cluster import Cluster, attach
from .errors import TornReadError


def _positions(v: Any) -> "tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]":
    """Fleet x, y, faction and alive mask from a view (a copy)."""
    sx, sy = v.column("systems", "x"), v.column("systems", "y")
    f = v.table("fleets")
    alive = f.alive & (f["ships"] > 0)
    at, nxt = f["at"][alive], f["next"][alive]
    leg, prog = np.abs(f["leg"][alive]), f["progress"][alive]
    t = np.where((at != nxt) & (leg > 0), np.clip(prog / np.where(leg > 0, leg, 1), 0, 1), 0.0)
    x = sx[at] + (sx[nxt] - sx[at]) * t
    y = sy[at] + (sy[nxt] - sy[at]) * t
    return x, y, f["faction"][alive].astype(np.int64), alive


def _copy(u: Any) -> tuple:
    """Everything the map draws, copied from one consistent turn of u."""
    with u.read() as v:
        sx, sy = v.column("systems", "x").copy(), v.column("systems", "y").copy()
        owner = v.column("systems", "owner").astype(np.int64)
        lf, lt = v.column("lanes", "from").copy(), v.column("lanes", "to").copy()
        eb, elane = v.column("edges", "blocked"), v.column("edges", "lane")
        closed = np.zeros(lf.shape[0], dtype=bool)
        hit = (eb > 0) & (elane != 0xFFFFFFFF)  # closed gate-to-gate edges
        closed[elane[hit][elane[hit] < lf.shape[0]]] = True
        fx, fy, ffac, _ = _positions(v)
        names = v.names("factions")
        return (v.turn, sx, sy, owner, lf, lt, closed, fx, fy, ffac, names)


def draw_map(world: Union[Cluster, str], universe: int = 0, out: str = "map.png",
             size: float = 10.0, dpi: int = 120, title: Optional[str] = None) -> str:
    """Draws universe ``universe`` of ``world`` (a :class:`Cluster` or a
    cluster name) at its last committed turn into the PNG ``out``; returns
    ``out``.  ``size`` is the figure's side in inches.  Raises
    :class:`ImportError` with a hint when matplotlib is missing and
    :class:`IndexError` for a universe the cluster does not have."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection
    except ImportError as e:
        raise ImportError("draw_map needs matplotlib (Debian: apt install python3-matplotlib)") from e
    own = isinstance(world, str)
    cl = attach(world) if isinstance(world, str) else world
    try:
        if not 0 <= universe < cl.nuniverses:
            raise IndexError(f"cluster {cl.name!r} has universes 0..{cl.nuniverses - 1}, not {universe}")
        # copy what is drawn inside one consistent read (retried while the
        # workers outrun it), draw afterwards
        for attempt in range(100):
            try:
                got = _copy(cl.universes[universe])
                break
            except TornReadError:
                if attempt == 99:
                    raise
    finally:
        if own:
            cl.close()
    turn, sx, sy, owner, lf, lt, closed, fx, fy, ffac, names = got
    nf = len(names)
    cmap = plt.get_cmap("tab10" if nf <= 10 else "tab20")
    colour = [cmap(k % cmap.N) for k in range(max(nf, 1))]
    fig, ax = plt.subplots(figsize=(size, size), dpi=dpi)
    ax.set_facecolor("#0b0d17")
    keep = lf < lt  # one line per lane
    segs = np.stack([np.stack([sx[lf], sy[lf]], 1), np.stack([sx[lt], sy[lt]], 1)], 1)
    ax.add_collection(LineCollection(segs[keep & ~closed], colors="#5a6275", linewidths=0.4, zorder=1))
    if np.any(keep & closed):
        ax.add_collection(LineCollection(segs[keep & closed], colors="#d0453a", linewidths=0.8,
                                         linestyles="dashed", zorder=1))
    span = float(max(np.ptp(sx), np.ptp(sy), 1.0))
    owned = owner > 0
    for g in range(1, nf + 1):
        m = owner == g
        if np.any(m):
            c = colour[g - 1]
            ax.scatter(sx[m], sy[m], s=(span / 30) ** 2 * 4, color=c, alpha=0.12, linewidths=0, zorder=0)
            ax.scatter(sx[m], sy[m], s=14, color=c, edgecolors="white", linewidths=0.3, zorder=3,
                       label=f"{names[g - 1]} ({int(m.sum())} systems)")
    ax.scatter(sx[~owned], sy[~owned], s=4, color="#9aa0ad", linewidths=0, zorder=2, label="unclaimed")
    for g in range(1, nf + 1):
        m = ffac == g
        if np.any(m):
            ax.scatter(fx[m], fy[m], s=10, marker="^", color=colour[g - 1], edgecolors="black",
                       linewidths=0.2, zorder=4)
    ax.set_title(title or f"{cl.name}: universe {universe}, turn {turn} - {len(sx)} systems, "
                 f"{len(fx)} fleets, {int(closed.sum()) // 2} lanes closed", color="black")
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.legend(loc="upper right", fontsize=7, markerscale=1.2, framealpha=0.8)
    ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: Optional[list] = None) -> int:
    """``python3 -m voidreckoning.map NAME [--universe U] [--out FILE]``."""
    ap = argparse.ArgumentParser(prog="vrctl map",
                                 description="Draw a universe's galaxy (territory, lanes, fleets) to a PNG.")
    ap.add_argument("name", help="cluster name")
    ap.add_argument("-u", "--universe", type=int, default=0, help="universe (default 0)")
    ap.add_argument("-o", "--out", default="map.png", help="PNG file to write (default map.png)")
    ap.add_argument("--size", type=float, default=10.0, help="figure side, inches (default 10)")
    ap.add_argument("--dpi", type=int, default=120, help="dots per inch (default 120)")
    a = ap.parse_args(argv)
    from .errors import VrError
    try:
        out = draw_map(a.name, a.universe, a.out, a.size, a.dpi)
    except (VrError, IndexError, ImportError, OSError) as e:
        print(f"vrctl map: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
