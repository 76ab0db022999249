/* path_internal.h: structures shared by path.c and path_ch.c only.
 *
 * Nothing outside the pathfinding module includes this file; the public
 * interface is path.h.
 */
#ifndef VR_PATH_INTERNAL_H
#define VR_PATH_INTERNAL_H

#include "path.h"

/* Arc data: a shortcut has this bit and its middle node in the low bits; an
 * original arc holds its edge id (edge ids are < 2^31). */
#define VR__SC 0x80000000u
/* Cache slot's next hop when the slot was filled by a cost-only batch. */
#define NEXT_UNKNOWN (VR_PATH_NONE - 1)

struct vr_graph {
    uint32_t tag;
    uint32_t n;
    size_t m;
    uint32_t *off;    /* n + 1: node u's arcs are off[u] .. off[u+1]-1 */
    uint32_t *to;     /* per arc */
    double *cost;     /* per arc */
    uint32_t *eid;    /* per arc: its edge id (index in edges) */
    vr_edge *edges;   /* by edge id, as given */
    float *x, *y;     /* coordinates or NULL */
};

/* Binary min-heap on (key, node) with positions, so a key can change. */
typedef struct vr__heap {
    uint32_t *node;
    double *key;
    uint32_t *pos; /* per node: index in the heap or VR_PATH_NONE */
    uint32_t size;
} vr__heap;

int vr__heap_init(vr__heap *h, uint32_t n);
void vr__heap_fini(vr__heap *h);
void vr__heap_set(vr__heap *h, uint32_t v, double k); /* insert or re-key */
uint32_t vr__heap_pop(vr__heap *h, double *k);        /* heap must not be empty */
void vr__heap_clear(vr__heap *h);

/* The label of one node in one search: valid iff stamp == the search's cur.
 * One struct per node (24 bytes), so a relaxation touches one cache line. */
typedef struct vr__label {
    double dist;
    uint32_t stamp;
    uint32_t pred; /* previous node */
    uint32_t parc; /* arc (CH: index in the arc array; plain: edge id) */
    uint32_t pad;
} vr__label;

/* Labels of one search. */
typedef struct vr__search {
    vr__label *l;
    uint32_t cur;
    uint32_t n;
    vr__heap h;
} vr__search;

int vr__search_init(vr__search *s, uint32_t n);
void vr__search_fini(vr__search *s);
void vr__search_start(vr__search *s); /* forget all labels, empty the heap */

/* One arc of the hierarchy (also used while contracting). */
typedef struct vr__arc {
    uint32_t to;
    uint32_t data; /* VR__SC | middle node, or edge id */
    double cost;
} vr__arc;

/* The contraction hierarchy: upward arcs only, on nodes renumbered so that
 * the top of the hierarchy, which every query visits, is contiguous in
 * memory (path_ch.c: layout).  CH ids go by level, highest first, and the
 * level grows strictly along every upward arc, so an upward arc always
 * leads to a smaller CH id: decreasing CH id is a topological order of the
 * upward graph, which the query sweeps in.  Node c's forward arcs, c->w
 * with w higher, are fa[fo[c] .. fo[c+1]); its backward arcs, x->c with x
 * higher, stored with to = x, are ba[bo[c] .. bo[c+1]).  Arc ends and
 * shortcut middles are CH ids; edge ids are the graph's.  One arc per node
 * pair (the cheapest).
 *
 * The query reads its own copy, q: one block per node, in CH-id order, of
 * 16-byte units: a header of QHEAD units (arc counts, CH id, and the
 * node's labels for the current query, both directions), its forward arcs,
 * then its backward arcs; an arc holds the block of its other end.
 * Following an arc thus lands on the next node's labels and arcs at once:
 * about one cache miss per cold node instead of three (offset, arcs,
 * labels).  The labels are per query, so the CH (owned by one pathfinder)
 * is not shared. */
typedef union vr__qunit {
    struct {
        uint32_t toff, tid; /* block and CH id of the other end */
        double cost;
    } arc;
    struct {
        uint32_t nf, nb, id, pad;
    } h0;
    struct {
        double df, db; /* distances from s / to t */
    } h1;
    struct {
        uint32_t sf, sb; /* stamps: df / db valid iff == the query's */
        uint32_t pf, pb; /* previous block towards s / towards t */
    } h2;
} vr__qunit;
#define VR__QHEAD 3u

typedef struct vr__ch {
    bool built;
    uint32_t n;
    uint32_t *id;  /* graph node -> CH id */
    uint32_t *old; /* CH id -> graph node */
    uint32_t *fo, *bo; /* n + 1 each */
    vr__arc *fa, *ba;
    uint32_t *qo;   /* n: CH id -> its block in q */
    vr__qunit *q;
    uint8_t *blocked; /* per edge id: blocked when this CH was built */
    uint64_t version; /* topology version it was built for */
    uint64_t shortcuts;
} vr__ch;


/* A depth-first search frame of the CH query: a block, the next arc to
 * follow and the end of its arcs (indices in q). */
typedef struct vr__dfs {
    uint32_t block, pos, end;
} vr__dfs;

/* An arc a->b still to unpack. */
typedef struct vr__uitem {
    uint32_t a, b, data;
} vr__uitem;

/* A result-cache slot (version 0 = empty: versions start at 1). */
typedef struct vr__cslot {
    uint64_t version;
    uint32_t src, dst;
    uint32_t next; /* VR_PATH_NONE if unreachable, NEXT_UNKNOWN if not kept */
    uint32_t pad;
    double cost;
} vr__cslot;

struct vr_pathfinder {
    uint32_t tag;
    const vr_graph *g;
    vr_path_opts o;
    uint8_t *blocked;     /* per edge id */
    uint64_t version;
    vr__ch ch;
    uint64_t extra;       /* edges blocked now but not when the CH was built */
    uint64_t missing;     /* edges blocked when the CH was built, not now */
    uint64_t stale_work;  /* fallback settled nodes since the last build */
    uint64_t last_settled;
    vr__search f, b;      /* labels of the plain searches */
    uint32_t qcur;        /* stamp of the last CH query */
    uint32_t *qord;       /* CH query: search space (blocks) */
    struct vr__dfs *qstack; /* CH query: depth-first search stack */
    vr__cslot *cache;
    uint32_t cache_mask;
    /* The last path: nodes pn[0..plen-1], edge ids pe[0..plen-2]. */
    uint32_t *pn, *pe;
    size_t plen, pn_cap, pe_cap;
    /* Scratch of the CH unpacking. */
    uint32_t *chain;
    size_t chain_cap;
    struct vr__uitem *stack;
    size_t stack_cap;
    vr_path_stats st;
};

/* Grows *buf (of elem-byte items) to hold need items; 0 or -ENOMEM. */
int vr__grow(void **buf, size_t *cap, size_t need, size_t elem);
uint64_t vr__now_ns(void);

/* path_ch.c */
/* Builds the CH of g without the edges with blocked[e] != 0.  0 or -ENOMEM
 * (then *ch is left unbuilt). */
int vr__ch_build(vr__ch *ch, const vr_graph *g, const uint8_t *blocked, uint32_t witness_settle);
void vr__ch_free(vr__ch *ch);
/* Upward sweeps on p->ch from graph node s and to graph node t; returns the
 * cost and the meeting node, a CH id, in *meet (VR_PATH_NONE: no path).
 * Labels stay in p->ch.q; p->qord and p->qstack hold p->ch.n. */
double vr__ch_query(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t *meet);
/* Unpacks the path of the last vr__ch_query into p->pn / p->pe / p->plen.
 * 0 or -ENOMEM. */
int vr__ch_unpack(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t meet);
/* The node after s on the path of the last vr__ch_query, without unpacking
 * the rest. */
uint32_t vr__ch_next(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t meet);

#endif
