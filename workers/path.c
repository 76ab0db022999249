/* path.c: graph, searches, result cache and the pathfinder object (path.h).
 *
 * The contraction hierarchy itself (build, query, unpacking) lives in
 * path_ch.c; both files share the structures of path_internal.h, which
 * nothing outside this module includes.
 *
 * Invariants: a vr_graph never changes after vr_graph_set_coords; the
 * pathfinder's blocked[] is indexed by edge id and every change of it bumps
 * `version` and keeps `extra`/`missing` (the difference from the set the CH
 * was built for) exact, so ch_state() needs no scan.  Search labels are
 * valid only where stamp[v] == cur, so a search never clears arrays of n.
 */
#include "path_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRAPH_TAG 0x48505247u /* "GRPH" */
#define PF_TAG 0x48544150u    /* "PATH" */
#define DEAD_TAG 0xdeaddeadu

/* ---- heap -------------------------------------------------------------- */

int vr__heap_init(vr__heap *h, uint32_t n)
{
    h->node = malloc(sizeof *h->node * (size_t)n);
    h->key = malloc(sizeof *h->key * (size_t)n);
    h->pos = malloc(sizeof *h->pos * (size_t)n);
    h->size = 0;
    if (!h->node || !h->key || !h->pos) {
        vr__heap_fini(h);
        return -ENOMEM;
    }
    memset(h->pos, 0xff, sizeof *h->pos * (size_t)n);
    return 0;
}

void vr__heap_fini(vr__heap *h)
{
    free(h->node);
    free(h->key);
    free(h->pos);
    h->node = h->pos = NULL;
    h->key = NULL;
    h->size = 0;
}

static inline bool hless(double ka, uint32_t a, double kb, uint32_t b)
{
    return ka < kb || (ka == kb && a < b);
}

static void sift_up(vr__heap *h, uint32_t i, uint32_t v, double k)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!hless(k, v, h->key[parent], h->node[parent]))
            break;
        h->node[i] = h->node[parent];
        h->key[i] = h->key[parent];
        h->pos[h->node[i]] = i;
        i = parent;
    }
    h->node[i] = v;
    h->key[i] = k;
    h->pos[v] = i;
}

static void sift_down(vr__heap *h, uint32_t i, uint32_t v, double k)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= h->size)
            break;
        if (c + 1 < h->size && hless(h->key[c + 1], h->node[c + 1], h->key[c], h->node[c]))
            c++;
        if (!hless(h->key[c], h->node[c], k, v))
            break;
        h->node[i] = h->node[c];
        h->key[i] = h->key[c];
        h->pos[h->node[i]] = i;
        i = c;
    }
    h->node[i] = v;
    h->key[i] = k;
    h->pos[v] = i;
}

void vr__heap_set(vr__heap *h, uint32_t v, double k)
{
    uint32_t i = h->pos[v];
    if (i == VR_PATH_NONE) {
        sift_up(h, h->size++, v, k);
    } else if (hless(k, v, h->key[i], v)) {
        sift_up(h, i, v, k);
    } else {
        sift_down(h, i, v, k);
    }
}

uint32_t vr__heap_pop(vr__heap *h, double *k)
{
    uint32_t v = h->node[0];
    *k = h->key[0];
    h->pos[v] = VR_PATH_NONE;
    if (--h->size > 0)
        sift_down(h, 0, h->node[h->size], h->key[h->size]);
    return v;
}

void vr__heap_clear(vr__heap *h)
{
    for (uint32_t i = 0; i < h->size; i++)
        h->pos[h->node[i]] = VR_PATH_NONE;
    h->size = 0;
}

/* ---- search labels ----------------------------------------------------- */

int vr__search_init(vr__search *s, uint32_t n)
{
    memset(s, 0, sizeof *s);
    s->l = calloc(n, sizeof *s->l);
    if (!s->l || vr__heap_init(&s->h, n) != 0) {
        vr__search_fini(s);
        return -ENOMEM;
    }
    s->n = n;
    return 0;
}

void vr__search_fini(vr__search *s)
{
    free(s->l);
    vr__heap_fini(&s->h);
    memset(s, 0, sizeof *s);
}

void vr__search_start(vr__search *s)
{
    vr__heap_clear(&s->h);
    if (++s->cur == 0) { /* wrapped after 2^32 searches: forget every label */
        for (uint32_t v = 0; v < s->n; v++)
            s->l[v].stamp = 0;
        s->cur = 1;
    }
}

/* ---- growable buffers -------------------------------------------------- */

int vr__grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *nb = realloc(*buf, c * elem);
    if (!nb)
        return -ENOMEM;
    *buf = nb;
    *cap = c;
    return 0;
}

uint64_t vr__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- graph ------------------------------------------------------------- */

static bool graph_ok(const vr_graph *g) { return g && g->tag == GRAPH_TAG; }

int vr_graph_new(vr_graph **out, uint32_t n, const vr_edge *edges, size_t m)
{
    if (!out || n == 0 || n > VR_PATH_MAX_NODES || m > VR_PATH_MAX_EDGES || (m > 0 && !edges))
        return -VR_EBADARG;
    for (size_t i = 0; i < m; i++) {
        double c = edges[i].cost;
        if (edges[i].from >= n || edges[i].to >= n || !(c >= 0.0) || !isfinite(c))
            return -VR_EBADARG;
    }
    vr_graph *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->n = n;
    g->m = m;
    g->off = calloc((size_t)n + 1, sizeof *g->off);
    g->to = malloc(sizeof *g->to * (m ? m : 1));
    g->cost = malloc(sizeof *g->cost * (m ? m : 1));
    g->eid = malloc(sizeof *g->eid * (m ? m : 1));
    g->edges = malloc(sizeof *g->edges * (m ? m : 1));
    if (!g->off || !g->to || !g->cost || !g->eid || !g->edges) {
        g->tag = GRAPH_TAG;
        vr_graph_destroy(&g);
        return -ENOMEM;
    }
    if (m)
        memcpy(g->edges, edges, sizeof *edges * m);
    /* Counting sort by source, stable: a node's edges keep input order. */
    for (size_t i = 0; i < m; i++)
        g->off[edges[i].from + 1]++;
    for (uint32_t v = 0; v < n; v++)
        g->off[v + 1] += g->off[v];
    uint32_t *fill = malloc(sizeof *fill * (size_t)n);
    if (!fill) {
        g->tag = GRAPH_TAG;
        vr_graph_destroy(&g);
        return -ENOMEM;
    }
    memcpy(fill, g->off, sizeof *fill * (size_t)n);
    for (size_t i = 0; i < m; i++) {
        uint32_t k = fill[edges[i].from]++;
        g->to[k] = edges[i].to;
        g->cost[k] = edges[i].cost;
        g->eid[k] = (uint32_t)i;
    }
    free(fill);
    g->tag = GRAPH_TAG;
    *out = g;
    return 0;
}

void vr_graph_destroy(vr_graph **gp)
{
    if (!gp || !*gp)
        return;
    vr_graph *g = *gp;
    if (g->tag == GRAPH_TAG) {
        free(g->off);
        free(g->to);
        free(g->cost);
        free(g->eid);
        free(g->edges);
        free(g->x);
        free(g->y);
        g->tag = DEAD_TAG;
        free(g);
    }
    *gp = NULL;
}

int vr_graph_set_coords(vr_graph *g, const float *x, const float *y)
{
    if (!graph_ok(g) || !x || !y)
        return -VR_EBADARG;
    free(g->x);
    free(g->y);
    g->x = g->y = NULL;
    for (uint32_t v = 0; v < g->n; v++)
        if (!isfinite(x[v]) || !isfinite(y[v]))
            return -VR_EBADARG;
    for (size_t i = 0; i < g->m; i++) {
        const vr_edge *e = &g->edges[i];
        double len = hypot((double)x[e->from] - x[e->to], (double)y[e->from] - y[e->to]);
        if (e->cost < len * (1.0 - 1e-6))
            return -VR_EBADARG;
    }
    g->x = malloc(sizeof *g->x * (size_t)g->n);
    g->y = malloc(sizeof *g->y * (size_t)g->n);
    if (!g->x || !g->y) {
        free(g->x);
        free(g->y);
        g->x = g->y = NULL;
        return -ENOMEM;
    }
    memcpy(g->x, x, sizeof *x * (size_t)g->n);
    memcpy(g->y, y, sizeof *y * (size_t)g->n);
    return 0;
}

uint32_t vr_graph_nodes(const vr_graph *g) { return graph_ok(g) ? g->n : 0; }
size_t vr_graph_edges(const vr_graph *g) { return graph_ok(g) ? g->m : 0; }

/* ---- pathfinder -------------------------------------------------------- */

static bool pf_ok(const vr_pathfinder *p) { return p && p->tag == PF_TAG; }

int vr_pathfinder_new(vr_pathfinder **out, const vr_graph *g, const vr_path_opts *opts)
{
    if (!out || !graph_ok(g))
        return -VR_EBADARG;
    vr_path_opts o = opts ? *opts : (vr_path_opts){0};
    if (o.rebuild < VR_PATH_REBUILD_EAGER || o.rebuild > VR_PATH_REBUILD_MANUAL)
        return -VR_EBADARG;
    if (o.cache_slots == 0)
        o.cache_slots = 65536;
    if (o.cache_slots > (1u << 28))
        o.cache_slots = 1u << 28;
    if (o.witness_settle == 0)
        o.witness_settle = 120;
    if (o.lazy_budget == 0)
        o.lazy_budget = 40ull * g->n;
    vr_pathfinder *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->tag = PF_TAG;
    p->g = g;
    p->o = o;
    p->version = 1;
    p->blocked = calloc(g->m ? g->m : 1, 1);
    int rc = p->blocked ? 0 : -ENOMEM;
    if (rc == 0)
        rc = vr__search_init(&p->f, g->n);
    if (rc == 0)
        rc = vr__search_init(&p->b, g->n);
    if (rc == 0) {
        p->qord = malloc(sizeof *p->qord * (size_t)g->n);
        p->qstack = malloc(sizeof *p->qstack * (size_t)g->n);
        if (!p->qord || !p->qstack)
            rc = -ENOMEM;
    }
    if (rc == 0 && !o.no_cache) {
        uint32_t slots = 1;
        while (slots < o.cache_slots)
            slots *= 2;
        p->cache = calloc(slots, sizeof *p->cache);
        p->cache_mask = slots - 1;
        if (!p->cache)
            rc = -ENOMEM;
    }
    if (rc != 0) {
        vr_pathfinder_destroy(&p);
        return rc;
    }
    *out = p;
    return 0;
}

void vr_pathfinder_destroy(vr_pathfinder **pp)
{
    if (!pp || !*pp)
        return;
    vr_pathfinder *p = *pp;
    if (p->tag == PF_TAG) {
        vr__ch_free(&p->ch);
        vr__search_fini(&p->f);
        vr__search_fini(&p->b);
        free(p->qord);
        free(p->qstack);
        free(p->blocked);
        free(p->cache);
        free(p->pn);
        free(p->pe);
        free(p->chain);
        free(p->stack);
        p->tag = DEAD_TAG;
        free(p);
    }
    *pp = NULL;
}

/* Sets one edge's state, keeping version and the CH difference counters. */
static int set_blocked(vr_pathfinder *p, uint32_t e, bool blocked)
{
    if ((p->blocked[e] != 0) == blocked)
        return 0;
    p->blocked[e] = blocked;
    p->version++;
    if (p->ch.built) {
        bool was = p->ch.blocked[e] != 0;
        if (blocked) {
            if (was)
                p->missing--;
            else
                p->extra++;
        } else {
            if (was)
                p->missing++;
            else
                p->extra--;
        }
    }
    return 1;
}

int vr_path_block(vr_pathfinder *p, uint32_t u, uint32_t v, bool blocked)
{
    if (!pf_ok(p) || u >= p->g->n || v >= p->g->n)
        return -VR_EBADARG;
    const vr_graph *g = p->g;
    int found = 0, changed = 0;
    for (uint32_t k = g->off[u]; k < g->off[u + 1]; k++)
        if (g->to[k] == v) {
            found = 1;
            changed += set_blocked(p, g->eid[k], blocked);
        }
    return found ? changed : -VR_ENOTFOUND;
}

int vr_path_block_edge(vr_pathfinder *p, uint32_t edge, bool blocked)
{
    if (!pf_ok(p) || edge >= p->g->m)
        return -VR_EBADARG;
    return set_blocked(p, edge, blocked);
}

bool vr_path_is_blocked(const vr_pathfinder *p, uint32_t edge)
{
    return pf_ok(p) && edge < p->g->m && p->blocked[edge];
}

uint64_t vr_path_version(const vr_pathfinder *p) { return pf_ok(p) ? p->version : 0; }

/* How far the CH can be trusted for the current blocked set. */
enum { CH_NONE, CH_VERIFY, CH_EXACT };
static int ch_state(const vr_pathfinder *p)
{
    if (!p->ch.built || p->missing > 0)
        return CH_NONE; /* an edge usable now is missing from the CH */
    return p->extra == 0 ? CH_EXACT : CH_VERIFY;
}

static int rebuild(vr_pathfinder *p)
{
    vr__ch nc;
    uint64_t t0 = vr__now_ns();
    int rc = vr__ch_build(&nc, p->g, p->blocked, p->o.witness_settle);
    if (rc != 0)
        return rc;
    nc.version = p->version;
    vr__ch_free(&p->ch);
    p->ch = nc;
    p->extra = p->missing = 0;
    p->stale_work = 0;
    p->st.rebuilds++;
    p->st.build_ns = vr__now_ns() - t0;
    return 0;
}

int vr_path_rebuild(vr_pathfinder *p)
{
    if (!pf_ok(p))
        return -VR_EBADARG;
    if (ch_state(p) == CH_EXACT)
        return 0;
    return rebuild(p);
}

/* Applies the rebuild policy before a CH query. */
static int ensure_ch(vr_pathfinder *p)
{
    int state = ch_state(p);
    if (state == CH_EXACT)
        return 0;
    if (!p->ch.built || p->o.rebuild == VR_PATH_REBUILD_EAGER ||
        (p->o.rebuild == VR_PATH_REBUILD_LAZY && p->stale_work > p->o.lazy_budget))
        return rebuild(p);
    return 0;
}

/* ---- plain Dijkstra / A* ----------------------------------------------- */

/* Single-source search from s that stops when t is settled; blocked edges
 * are skipped.  With use_h and coordinates, keys are g + h with h the
 * Euclidean distance to t shrunk by 2e-6 (vr_graph_set_coords guarantees
 * costs >= length * (1 - 1e-6)), so h is admissible even after rounding and
 * the cost equals Dijkstra's; a node whose g improves after it was settled
 * is simply re-queued.  Labels stay in p->f for path extraction. */
static double plain(vr_pathfinder *p, uint32_t s, uint32_t t, bool use_h)
{
    const vr_graph *g = p->g;
    vr__search *f = &p->f;
    const uint8_t *blocked = p->blocked;
    bool h = use_h && g->x;
    double tx = h ? g->x[t] : 0, ty = h ? g->y[t] : 0;
    const double shrink = 1.0 - 2e-6;
    vr__search_start(f);
    f->l[s].stamp = f->cur;
    f->l[s].dist = 0;
    f->l[s].pred = VR_PATH_NONE;
    vr__heap_set(&f->h, s, 0);
    double result = VR_PATH_INF;
    uint64_t settled = 0;
    while (f->h.size) {
        double k;
        uint32_t u = vr__heap_pop(&f->h, &k);
        settled++;
        if (u == t) {
            result = f->l[t].dist;
            break;
        }
        double du = f->l[u].dist;
        for (uint32_t a = g->off[u]; a < g->off[u + 1]; a++) {
            uint32_t e = g->eid[a];
            if (blocked[e])
                continue;
            uint32_t w = g->to[a];
            double nd = du + g->cost[a];
            if (f->l[w].stamp != f->cur || nd < f->l[w].dist) {
                f->l[w].stamp = f->cur;
                f->l[w].dist = nd;
                f->l[w].pred = u;
                f->l[w].parc = e;
                double key = nd;
                if (h) {
                    double dx = (double)g->x[w] - tx, dy = (double)g->y[w] - ty;
                    key += shrink * sqrt(dx * dx + dy * dy);
                }
                vr__heap_set(&f->h, w, key);
            }
        }
    }
    vr__heap_clear(&f->h);
    p->st.settled += settled;
    p->last_settled = settled;
    return result;
}

/* Copies the path to t of the last plain() into p->pn / p->pe. */
static int plain_path(vr_pathfinder *p, uint32_t s, uint32_t t)
{
    size_t len = 1;
    for (uint32_t v = t; v != s; v = p->f.l[v].pred)
        len++;
    if (vr__grow((void **)&p->pn, &p->pn_cap, len, sizeof *p->pn) ||
        vr__grow((void **)&p->pe, &p->pe_cap, len, sizeof *p->pe))
        return -ENOMEM;
    size_t i = len;
    for (uint32_t v = t;; v = p->f.l[v].pred) {
        p->pn[--i] = v;
        if (v == s)
            break;
        p->pe[i - 1] = p->f.l[v].parc;
    }
    p->plen = len;
    return 0;
}

/* ---- one query --------------------------------------------------------- */

enum { WANT_COST, WANT_NEXT, WANT_PATH };

/* Answers s -> t with the CH when possible.  Fills *cost, *next (WANT_NEXT)
 * or p->pn/p->plen (WANT_PATH).  Returns 0, -VR_ENOPATH or -ENOMEM. */
static int route(vr_pathfinder *p, uint32_t s, uint32_t t, int want, double *cost, uint32_t *next)
{
    p->st.queries++;
    *next = VR_PATH_NONE;
    if (s == t) {
        *cost = 0;
        *next = s;
        p->plen = 1;
        if (want == WANT_PATH) {
            if (vr__grow((void **)&p->pn, &p->pn_cap, 1, sizeof *p->pn))
                return -ENOMEM;
            p->pn[0] = s;
        }
        return 0;
    }
    int rc = ensure_ch(p);
    if (rc != 0)
        return rc;
    int state = ch_state(p);
    if (state != CH_NONE) {
        uint32_t meet;
        double d = vr__ch_query(p, s, t, &meet);
        if (meet == VR_PATH_NONE) {
            /* The live graph is a subgraph of the CH's: no path there either. */
            p->st.ch_queries++;
            *cost = VR_PATH_INF;
            return -VR_ENOPATH;
        }
        bool ok = true;
        if (state == CH_VERIFY || want == WANT_PATH) {
            rc = vr__ch_unpack(p, s, t, meet);
            if (rc != 0)
                return rc;
            for (size_t i = 0; state == CH_VERIFY && i + 1 < p->plen; i++)
                if (p->blocked[p->pe[i]]) {
                    ok = false;
                    break;
                }
        }
        if (ok) {
            p->st.ch_queries++;
            *cost = d;
            if (want == WANT_NEXT)
                *next = state == CH_VERIFY ? p->pn[1] : vr__ch_next(p, s, t, meet);
            return 0;
        }
        p->st.verify_rejects++;
    }
    p->st.fallbacks++;
    double d = plain(p, s, t, true);
    p->stale_work += p->last_settled;
    *cost = d;
    if (d == VR_PATH_INF)
        return -VR_ENOPATH;
    if (want != WANT_COST) {
        rc = plain_path(p, s, t);
        if (rc != 0)
            return rc;
        *next = p->pn[1];
    }
    return 0;
}

/* Copies p->pn out per the vr_path_query contract. */
static long hand_out(vr_pathfinder *p, uint32_t *nodes, size_t cap)
{
    if (!nodes)
        return 0;
    if (p->plen <= cap)
        memcpy(nodes, p->pn, sizeof *nodes * p->plen);
    return (long)p->plen;
}

long vr_path_query(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                   size_t cap)
{
    if (!pf_ok(p) || s >= p->g->n || t >= p->g->n)
        return -VR_EBADARG;
    double c;
    uint32_t next;
    int rc = route(p, s, t, nodes ? WANT_PATH : WANT_COST, &c, &next);
    if (cost)
        *cost = rc == 0 ? c : VR_PATH_INF;
    if (rc != 0)
        return rc;
    return hand_out(p, nodes, cap);
}

static long reference(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                      size_t cap, bool use_h)
{
    if (!pf_ok(p) || s >= p->g->n || t >= p->g->n)
        return -VR_EBADARG;
    p->st.queries++;
    double d = plain(p, s, t, use_h);
    if (cost)
        *cost = d;
    if (d == VR_PATH_INF)
        return -VR_ENOPATH;
    if (!nodes)
        return 0;
    if (plain_path(p, s, t) != 0)
        return -ENOMEM;
    return hand_out(p, nodes, cap);
}

long vr_path_dijkstra(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                      size_t cap)
{
    return reference(p, s, t, cost, nodes, cap, false);
}

long vr_path_astar(vr_pathfinder *p, uint32_t s, uint32_t t, double *cost, uint32_t *nodes,
                   size_t cap)
{
    return reference(p, s, t, cost, nodes, cap, true);
}

/* ---- batches and the cache --------------------------------------------- */

long vr_path_batch(vr_pathfinder *p, const uint32_t *src, const uint32_t *dst, size_t n,
                   double *cost_out, uint32_t *next_out)
{
    if (!pf_ok(p) || (n > 0 && (!src || !dst || !cost_out)))
        return -VR_EBADARG;
    for (size_t i = 0; i < n; i++)
        if (src[i] >= p->g->n || dst[i] >= p->g->n)
            return -VR_EBADARG;
    long unreachable = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = src[i], t = dst[i], next = s;
        double c = 0;
        if (s == t) {
            p->st.queries++;
        } else {
            vr__cslot *slot = NULL;
            if (p->cache) {
                slot = &p->cache[vr_mix64(((uint64_t)s << 32) | t) & p->cache_mask];
                /* A slot filled by a cost-only batch has no next hop: a miss
                 * for a batch that wants next hops. */
                if (slot->version == p->version && slot->src == s && slot->dst == t &&
                    !(next_out && slot->next == NEXT_UNKNOWN)) {
                    p->st.queries++;
                    p->st.cache_hits++;
                    cost_out[i] = slot->cost;
                    if (next_out)
                        next_out[i] = slot->next;
                    unreachable += slot->cost == VR_PATH_INF;
                    continue;
                }
                p->st.cache_misses++;
            }
            int rc = route(p, s, t, next_out ? WANT_NEXT : WANT_COST, &c, &next);
            if (rc != 0 && rc != -VR_ENOPATH)
                return rc;
            if (rc == 0 && !next_out)
                next = NEXT_UNKNOWN;
            if (slot) {
                slot->version = p->version;
                slot->src = s;
                slot->dst = t;
                slot->cost = c;
                slot->next = next;
            }
        }
        cost_out[i] = c;
        if (next_out)
            next_out[i] = next;
        unreachable += c == VR_PATH_INF;
    }
    return unreachable;
}

int vr_path_stats_get(const vr_pathfinder *p, vr_path_stats *st)
{
    if (!pf_ok(p) || !st)
        return -VR_EBADARG;
    *st = p->st;
    st->version = p->version;
    st->ch_version = p->ch.built ? p->ch.version : 0;
    st->shortcuts = p->ch.built ? p->ch.shortcuts : 0;
    return 0;
}

void vr_path_stats_reset(vr_pathfinder *p)
{
    if (!pf_ok(p))
        return;
    uint64_t build_ns = p->st.build_ns;
    memset(&p->st, 0, sizeof p->st);
    p->st.build_ns = build_ns;
}
