/* path.h: optimal paths on the galaxy graph (pathfinding module of workers/).
 *
 * Two objects.  A vr_graph is an immutable directed weighted graph in CSR
 * form (nodes 0..n-1, edge costs >= 0, optional 2-D node coordinates that
 * let A* use a Euclidean lower bound).  A vr_pathfinder answers shortest-path
 * queries on one graph: it owns the set of blocked edges (blockades, storms),
 * a topology version bumped by every change of that set, a contraction
 * hierarchy (CH) built for some topology, a (src, dst) result cache keyed by
 * the topology version, and counters.
 *
 * Algorithms.  Plain Dijkstra (the reference) and plain A* (the floor the
 * benchmarks compare with) run on the graph itself.  The fast path is a
 * contraction hierarchy: nodes are contracted in a deterministic order
 * (edge difference + contracted neighbours + level, ties by node id) with
 * settle-bounded witness searches; a query sweeps the upward search spaces
 * of s and t in topological order (no priority queue), and shortcuts
 * remember their middle node, so the path unpacks into the full node
 * sequence.
 *
 * Blocked edges.  A CH built for the current set of blocked edges is
 * "exact".  When the set changes the CH goes stale.  The rebuild policy
 * (vr_path_opts.rebuild) says what happens then:
 *   VR_PATH_REBUILD_EAGER (default): the next query rebuilds the CH first.
 *     Every answer is then a pure function of (graph, blocked set, query):
 *     the same node sequence whatever the history, cache or restarts, which
 *     is what DESIGN §5 needs for bit-exact replays.
 *   VR_PATH_REBUILD_LAZY: queries keep running on the stale CH when it is
 *     still usable (only edges were blocked since it was built: its answer
 *     is taken when the unpacked path avoids every blocked edge), else they
 *     fall back to A* on the live graph; the CH is rebuilt once the fallback
 *     work (settled nodes) since it went stale exceeds lazy_budget.  Costs
 *     are still exact-optimal; among equal-cost paths the one returned may
 *     depend on when the rebuild happened (a deterministic function of the
 *     sequence of calls, not of a clock).
 *   VR_PATH_REBUILD_MANUAL: like LAZY, but only vr_path_rebuild() rebuilds.
 * No answer ever goes through a blocked edge.
 *
 * Costs.  Edge costs are doubles; distances accumulate in double.  Dijkstra
 * and A* add edge costs from the source along the path, so they agree
 * exactly; the CH adds them in shortcut order, so its cost equals theirs
 * exactly on integer weights (and any weights whose sums are exact) and to
 * within a few ulps (far below 1e-9 relative) otherwise.
 *
 * Determinism.  Heaps order by (distance, node id), labels change only on a
 * strict improvement, adjacency is in input order: the same graph and calls
 * give the same paths on every machine.
 *
 * Threads.  Objects are not thread-safe; use one pathfinder per thread.  A
 * vr_graph is read-only after vr_graph_set_coords and may be shared.
 *
 * Errors: functions return 0 (or a count) or a negative code: -VR_EBADARG
 * (NULL or destroyed object, node or edge out of range, negative/NaN/infinite
 * cost), -VR_ENOPATH (no path), -VR_ENOTFOUND (no such edge), -ENOMEM.
 */
#ifndef VR_PATH_H
#define VR_PATH_H

#include "vr_schema.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cost reported when there is no path. */
#define VR_PATH_INF ((double)INFINITY)
/* Node id meaning "none" (e.g. next hop of an unreachable pair). */
#define VR_PATH_NONE UINT32_MAX
/* Largest node and edge counts (ids above are reserved as markers). */
#define VR_PATH_MAX_NODES 0x7fffffffu
#define VR_PATH_MAX_EDGES 0x7fffffffu

/* ---- graph ------------------------------------------------------------- */

/* One directed edge.  Its edge id is its index in the array given to
 * vr_graph_new.  An undirected lane is two edges. */
typedef struct vr_edge {
    uint32_t from;
    uint32_t to;
    double cost; /* >= 0 and finite */
} vr_edge;

typedef struct vr_graph vr_graph;

/* Builds the CSR graph of n nodes (1..VR_PATH_MAX_NODES) from m edges
 * (copied; parallel edges and self-loops are allowed).  On success *out owns
 * the graph.  Returns 0, -VR_EBADARG (out NULL, n 0 or too big, edges NULL
 * with m > 0, an endpoint >= n, a cost negative, NaN or infinite) or -ENOMEM;
 * *out is untouched on error. */
int vr_graph_new(vr_graph **out, uint32_t n, const vr_edge *edges, size_t m);

/* Frees the graph and sets *g to NULL; NULL and *g == NULL are no-ops.  Every
 * pathfinder on g must be destroyed first. */
void vr_graph_destroy(vr_graph **g);

/* Gives node coordinates (x[i], y[i], copied) so that A* uses the Euclidean
 * distance as its heuristic.  It must be a lower bound: every edge must cost
 * at least the Euclidean length between its ends (to 1e-6 relative, for
 * float rounding).  Call before creating pathfinders.  Returns 0 or
 * -VR_EBADARG (NULL arguments, a non-finite coordinate, an edge cheaper than
 * its length: the graph then keeps no coordinates) or -ENOMEM. */
int vr_graph_set_coords(vr_graph *g, const float *x, const float *y);

uint32_t vr_graph_nodes(const vr_graph *g); /* 0 for a bad object */
size_t vr_graph_edges(const vr_graph *g);   /* 0 for a bad object */

/* ---- pathfinder -------------------------------------------------------- */

enum vr_path_rebuild {
    VR_PATH_REBUILD_EAGER = 0,
    VR_PATH_REBUILD_LAZY = 1,
    VR_PATH_REBUILD_MANUAL = 2,
};

/* Options; a zero field takes its default.  Designated initialisers, please. */
typedef struct vr_path_opts {
    uint32_t cache_slots;    /* result cache entries, rounded up to a power of
                                two (default 65536); see no_cache */
    bool no_cache;           /* disable the result cache */
    uint32_t witness_settle; /* witness-search bound in settled nodes during
                                contraction (default 120) */
    int rebuild;             /* enum vr_path_rebuild (default EAGER) */
    uint64_t lazy_budget;    /* LAZY: fallback settled nodes before a
                                rebuild (default 40 * nodes) */
} vr_path_opts;

typedef struct vr_pathfinder vr_pathfinder;

/* Creates a pathfinder on g (borrowed: g must outlive it).  opts may be
 * NULL.  No edge is blocked; the topology version is 1.  The CH is built on
 * the first query that needs it (or by vr_path_rebuild).  Returns 0,
 * -VR_EBADARG or -ENOMEM; *out is untouched on error. */
int vr_pathfinder_new(vr_pathfinder **out, const vr_graph *g, const vr_path_opts *opts);

/* Frees p and sets *p to NULL; NULL and *p == NULL are no-ops. */
void vr_pathfinder_destroy(vr_pathfinder **p);

/* Blocks (blocked = true) or unblocks every edge u->v (one direction only:
 * block v->u too for an undirected lane).  Bumps the topology version when
 * the set of blocked edges changed.  Returns the number of edges whose state
 * changed (0 when already so), -VR_EBADARG (u or v out of range) or
 * -VR_ENOTFOUND (no edge u->v). */
int vr_path_block(vr_pathfinder *p, uint32_t u, uint32_t v, bool blocked);

/* The same for one edge id.  Returns 1 when its state changed, 0 when it
 * already was so, or -VR_EBADARG. */
int vr_path_block_edge(vr_pathfinder *p, uint32_t edge, bool blocked);

/* Whether edge id `edge` is blocked (false for a bad id). */
bool vr_path_is_blocked(const vr_pathfinder *p, uint32_t edge);

/* The topology version (starts at 1, +1 per change of the blocked set);
 * 0 for a bad object. */
uint64_t vr_path_version(const vr_pathfinder *p);

/* Builds the CH for the current topology unless it is already current (then
 * a no-op returning 0).  Returns 0, -VR_EBADARG or -ENOMEM (the old CH, if
 * any, is kept). */
int vr_path_rebuild(vr_pathfinder *p);

/* Shortest path from s to t honouring blocked edges, with the CH (and the
 * rebuild policy).  *cost (when cost is not NULL) receives the cost, or
 * VR_PATH_INF.  When nodes is not NULL, the node sequence s..t is written to
 * nodes[0..len-1] if len <= cap, and len is returned (> cap means nothing
 * was written: call again with cap >= the return value); when nodes is NULL
 * the path is not unpacked and 0 is returned.  Returns that, -VR_ENOPATH,
 * -VR_EBADARG or -ENOMEM.  s == t costs 0 and has the path [s].  Does not use the
 * result cache (which keeps costs and next hops only). */
long vr_path_query(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                   size_t cap);

/* The reference algorithms on the live graph (blocked edges honoured), same
 * contract as vr_path_query: plain Dijkstra, and plain A* (Euclidean
 * heuristic when the graph has coordinates, else none). */
long vr_path_dijkstra(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                      size_t cap);
long vr_path_astar(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                   size_t cap);

/* Answers n queries (src[i] -> dst[i]) through the result cache: cost_out[i]
 * is the cost (VR_PATH_INF when unreachable) and, when next_out is not NULL,
 * next_out[i] the node after src[i] on the path (src[i] itself when
 * src[i] == dst[i], VR_PATH_NONE when unreachable).  Every index is checked
 * before anything is computed.  Returns the number of unreachable pairs,
 * -VR_EBADARG (NULL arrays with n > 0, a node out of range: nothing is
 * written) or -ENOMEM (a needed CH build failed). */
long vr_path_batch(vr_pathfinder *p, const uint32_t *src, const uint32_t *dst, size_t n,
                   double *cost_out, uint32_t *next_out);

/* Counters since creation (or the last vr_path_stats_reset). */
typedef struct vr_path_stats {
    uint64_t queries;         /* answered by query, batch, dijkstra, astar */
    uint64_t cache_hits;      /* batch answers taken from the cache */
    uint64_t cache_misses;    /* batch answers computed */
    uint64_t settled;         /* nodes settled by every search (no witness) */
    uint64_t ch_queries;      /* answered by the CH */
    uint64_t fallbacks;       /* answered by A* because the CH was stale */
    uint64_t verify_rejects;  /* stale-CH paths rejected (blocked edge) */
    uint64_t rebuilds;        /* CH builds */
    uint64_t shortcuts;       /* shortcuts of the current CH */
    uint64_t build_ns;        /* wall time of the last CH build */
    uint64_t version;         /* current topology version */
    uint64_t ch_version;      /* topology version of the CH (0: none) */
} vr_path_stats;

/* Fills *st; returns 0 or -VR_EBADARG. */
int vr_path_stats_get(const vr_pathfinder *p, vr_path_stats *st);
/* Zeroes the counters (not versions or shortcuts). */
void vr_path_stats_reset(vr_pathfinder *p);

#endif
