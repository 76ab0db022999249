/* path_ch.c: the contraction hierarchy of the pathfinder (build, query,
 * unpacking).
 *
 * Build.  Every node gets a priority 4*(shortcuts - degree) + contracted
 * neighbours + 2*level (level: 1 + the level of the deepest contracted
 * neighbour), computed by simulating its contraction.  The node with the
 * smallest (priority, id) is contracted next after re-checking its priority
 * (lazy update); its neighbours' priorities are then recomputed.
 * Contracting v adds u->w (cost c(u,v) + c(v,w), middle v) unless a witness
 * search from u that avoids v, bounded by `witness_settle` settled nodes and
 * by the largest candidate cost, finds a path no longer.  A bounded search
 * can only miss witnesses, so it adds shortcuts, never loses a distance.
 * When v is contracted it leaves its neighbours' lists, so its own lists are
 * frozen at that moment and are exactly its upward arcs.  Everything is
 * single-threaded and ordered by node id on ties: the CH is a pure function
 * of the graph and the blocked set.
 *
 * Query.  Upward arcs go from a lower to a higher level, so the upward
 * space of s (and of t, on reversed arcs) is a DAG: a depth-first search
 * collects it in topological order and one sweep gives its distances; the
 * backward sweep meets the forward labels and prunes at the best meeting
 * cost (vr__ch_query).  Unpacking replaces a shortcut a->b (middle v) by
 * a->v, found in v's backward arcs, and v->b, found in v's forward arcs,
 * until only original edges remain.
 */
#include "path_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- build ------------------------------------------------------------- */

typedef struct dlist {
    vr__arc *a;
    uint32_t n, cap;
} dlist;

typedef struct scut {
    uint32_t u, w;
    double c;
} scut;

typedef struct bld {
    uint32_t n;
    dlist *out, *in;
    uint32_t *deleted, *level, *mark;
    uint8_t *done;
    vr__search ws;       /* witness searches */
    uint32_t *tstamp;    /* witness targets: tstamp[w] == tcur */
    uint32_t tcur;
    uint32_t settle;
    scut *sc;            /* shortcuts of the last find_shortcuts */
    size_t nsc, sc_cap;
    bool oom;
} bld;

static int dl_push(dlist *l, uint32_t to, uint32_t data, double cost)
{
    if (l->n == l->cap) {
        uint32_t c = l->cap ? 2 * l->cap : 4;
        vr__arc *na = realloc(l->a, sizeof *na * c);
        if (!na)
            return -ENOMEM;
        l->a = na;
        l->cap = c;
    }
    l->a[l->n++] = (vr__arc){.to = to, .data = data, .cost = cost};
    return 0;
}

static void dl_remove(dlist *l, uint32_t to)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->a[i].to == to) {
            memmove(&l->a[i], &l->a[i + 1], sizeof *l->a * (l->n - i - 1));
            l->n--;
            return;
        }
}

/* Bounded Dijkstra from u on the remaining graph without v; stops past
 * `limit`, after b->settle nodes, or when its `targets` marked nodes are
 * settled.  Labels stay in b->ws: any label is the length of a real path. */
static void witness(bld *b, uint32_t u, uint32_t v, double limit, uint32_t targets)
{
    vr__search *s = &b->ws;
    vr__search_start(s);
    s->l[u].stamp = s->cur;
    s->l[u].dist = 0;
    vr__heap_set(&s->h, u, 0);
    uint32_t settled = 0;
    while (s->h.size) {
        double d;
        uint32_t x = vr__heap_pop(&s->h, &d);
        if (d > limit || ++settled > b->settle)
            break;
        if (b->tstamp[x] == b->tcur && --targets == 0)
            break;
        const dlist *o = &b->out[x];
        for (uint32_t i = 0; i < o->n; i++) {
            uint32_t y = o->a[i].to;
            if (y == v)
                continue;
            double nd = d + o->a[i].cost;
            if (s->l[y].stamp != s->cur || nd < s->l[y].dist) {
                s->l[y].stamp = s->cur;
                s->l[y].dist = nd;
                vr__heap_set(&s->h, y, nd);
            }
        }
    }
    vr__heap_clear(&s->h);
}

/* Fills b->sc with the shortcuts contracting v needs now; returns their
 * number (b->oom set on allocation failure). */
static size_t find_shortcuts(bld *b, uint32_t v)
{
    b->nsc = 0;
    const dlist *in = &b->in[v], *out = &b->out[v];
    for (uint32_t i = 0; i < in->n; i++) {
        uint32_t u = in->a[i].to;
        double cuv = in->a[i].cost, limit = 0;
        if (++b->tcur == 0) {
            memset(b->tstamp, 0, sizeof *b->tstamp * (size_t)b->n);
            b->tcur = 1;
        }
        uint32_t targets = 0;
        for (uint32_t j = 0; j < out->n; j++) {
            uint32_t w = out->a[j].to;
            if (w == u)
                continue;
            b->tstamp[w] = b->tcur;
            targets++;
            if (cuv + out->a[j].cost > limit)
                limit = cuv + out->a[j].cost;
        }
        if (targets == 0)
            continue;
        witness(b, u, v, limit, targets);
        const vr__search *s = &b->ws;
        for (uint32_t j = 0; j < out->n; j++) {
            uint32_t w = out->a[j].to;
            if (w == u)
                continue;
            double need = cuv + out->a[j].cost;
            if (s->l[w].stamp == s->cur && s->l[w].dist <= need)
                continue;
            if (vr__grow((void **)&b->sc, &b->sc_cap, b->nsc + 1, sizeof *b->sc)) {
                b->oom = true;
                return b->nsc;
            }
            b->sc[b->nsc++] = (scut){.u = u, .w = w, .c = need};
        }
    }
    return b->nsc;
}

static double priority(bld *b, uint32_t v)
{
    double sc = (double)find_shortcuts(b, v);
    double deg = (double)b->in[v].n + (double)b->out[v].n;
    /* Weights tuned on the bench galaxy: a heavier level term spreads the
     * contraction more evenly, which shrinks the query's search spaces. */
    return 4.0 * (sc - deg) + b->deleted[v] + 2.0 * b->level[v];
}

/* Adds or improves arc u->w in both lists. */
static int add_arc(bld *b, uint32_t u, uint32_t w, double c, uint32_t data)
{
    dlist *o = &b->out[u];
    for (uint32_t i = 0; i < o->n; i++)
        if (o->a[i].to == w) {
            if (c < o->a[i].cost) {
                o->a[i].cost = c;
                o->a[i].data = data;
                dlist *in = &b->in[w];
                for (uint32_t j = 0; j < in->n; j++)
                    if (in->a[j].to == u) {
                        in->a[j].cost = c;
                        in->a[j].data = data;
                        break;
                    }
            }
            return 0;
        }
    if (dl_push(o, w, data, c) || dl_push(&b->in[w], u, data, c))
        return -ENOMEM;
    return 0;
}

/* Contracts v with the shortcuts of the last find_shortcuts(b, v). */
static int contract(bld *b, uint32_t v)
{
    const dlist *in = &b->in[v], *out = &b->out[v];
    b->done[v] = 1;
    for (uint32_t i = 0; i < in->n; i++)
        dl_remove(&b->out[in->a[i].to], v);
    for (uint32_t i = 0; i < out->n; i++)
        dl_remove(&b->in[out->a[i].to], v);
    for (int side = 0; side < 2; side++) {
        const dlist *l = side ? out : in;
        for (uint32_t i = 0; i < l->n; i++) {
            uint32_t x = l->a[i].to;
            b->deleted[x]++;
            if (b->level[x] < b->level[v] + 1)
                b->level[x] = b->level[v] + 1;
        }
    }
    for (size_t k = 0; k < b->nsc; k++)
        if (add_arc(b, b->sc[k].u, b->sc[k].w, b->sc[k].c, VR__SC | v))
            return -ENOMEM;
    return 0;
}

static void bld_free(bld *b)
{
    if (b->out)
        for (uint32_t v = 0; v < b->n; v++)
            free(b->out[v].a);
    if (b->in)
        for (uint32_t v = 0; v < b->n; v++)
            free(b->in[v].a);
    free(b->out);
    free(b->in);
    free(b->deleted);
    free(b->level);
    free(b->mark);
    free(b->done);
    free(b->tstamp);
    free(b->sc);
    vr__search_fini(&b->ws);
}

/* Copies one side of the frozen per-node lists (out: forward arcs, in:
 * backward arcs) into CSR arrays in CH-id order, translating node ids (arc
 * ends, shortcut middles) to CH ids. */
static int side_csr(const dlist *l, const vr__ch *ch, uint32_t **offp, vr__arc **arcp)
{
    uint32_t n = ch->n;
    size_t total = 0;
    for (uint32_t v = 0; v < n; v++)
        total += l[v].n;
    uint32_t *off = *offp = malloc(sizeof *off * ((size_t)n + 1));
    vr__arc *arc = *arcp = malloc(sizeof *arc * (total ? total : 1));
    if (!off || !arc || total > UINT32_MAX)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t c = 0; c < n; c++) {
        const dlist *dl = &l[ch->old[c]];
        off[c] = k;
        for (uint32_t i = 0; i < dl->n; i++) {
            vr__arc x = dl->a[i];
            x.to = ch->id[x.to];
            if (x.data & VR__SC)
                x.data = VR__SC | ch->id[x.data & ~VR__SC];
            arc[k++] = x;
        }
    }
    off[n] = k;
    return 0;
}

/* The query's copy of the arcs (path_internal.h: vr__qunit), labels
 * cleared. */
static int query_blocks(vr__ch *ch)
{
    uint32_t n = ch->n;
    size_t total = (size_t)n * VR__QHEAD + ch->fo[n] + ch->bo[n];
    ch->qo = malloc(sizeof *ch->qo * ((size_t)n + 1));
    ch->q = malloc(sizeof *ch->q * total);
    if (!ch->qo || !ch->q || total > UINT32_MAX)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t c = 0; c < n; c++) {
        ch->qo[c] = k;
        k += VR__QHEAD + (ch->fo[c + 1] - ch->fo[c]) + (ch->bo[c + 1] - ch->bo[c]);
    }
    for (uint32_t c = 0; c < n; c++) {
        vr__qunit *u = &ch->q[ch->qo[c]];
        u[0].h0.nf = ch->fo[c + 1] - ch->fo[c];
        u[0].h0.nb = ch->bo[c + 1] - ch->bo[c];
        u[0].h0.id = c;
        u[0].h0.pad = 0;
        u[1].h1.df = u[1].h1.db = VR_PATH_INF;
        u[2].h2.sf = u[2].h2.sb = 0;
        u[2].h2.pf = u[2].h2.pb = VR_PATH_NONE;
        u += VR__QHEAD;
        for (int side = 0; side < 2; side++) {
            const uint32_t *off = side ? ch->bo : ch->fo;
            const vr__arc *arc = side ? ch->ba : ch->fa;
            for (uint32_t i = off[c]; i < off[c + 1]; i++, u++) {
                u->arc.toff = ch->qo[arc[i].to];
                u->arc.tid = arc[i].to;
                u->arc.cost = arc[i].cost;
            }
        }
    }
    return 0;
}

/* Spreads the 16 low bits of x to the even bits. */
static uint32_t spread16(uint32_t x)
{
    x &= 0xffff;
    x = (x | (x << 8)) & 0x00ff00ffu;
    x = (x | (x << 4)) & 0x0f0f0f0fu;
    x = (x | (x << 2)) & 0x33333333u;
    x = (x | (x << 1)) & 0x55555555u;
    return x;
}

typedef struct kv {
    uint64_t k;
    uint32_t v;
} kv;

static int kv_cmp(const void *pa, const void *pb)
{
    const kv *a = pa, *b = pb;
    if (a->k != b->k)
        return (a->k > b->k) - (a->k < b->k);
    return (a->v > b->v) - (a->v < b->v);
}

/* Chooses the CH ids (ch->id, ch->old): highest level first, so the top of
 * the hierarchy, which every query visits, is contiguous; within a level,
 * nodes close in the plane (Z-order of the coordinates) or, without
 * coordinates, in input order, are close in memory.  Queries only follow
 * arcs, so any numbering is correct; this one saves cache misses. */
static int layout(vr__ch *ch, const vr_graph *g, const uint32_t *level)
{
    uint32_t n = g->n, maxlevel = 0;
    for (uint32_t v = 0; v < n; v++)
        if (level[v] > maxlevel)
            maxlevel = level[v];
    float x0 = 0, y0 = 0, sx = 0, sy = 0;
    if (g->x) {
        float x1 = g->x[0], y1 = g->y[0];
        x0 = x1, y0 = y1;
        for (uint32_t v = 0; v < n; v++) {
            x0 = g->x[v] < x0 ? g->x[v] : x0;
            y0 = g->y[v] < y0 ? g->y[v] : y0;
            x1 = g->x[v] > x1 ? g->x[v] : x1;
            y1 = g->y[v] > y1 ? g->y[v] : y1;
        }
        sx = x1 > x0 ? 65535.0f / (x1 - x0) : 0;
        sy = y1 > y0 ? 65535.0f / (y1 - y0) : 0;
    }
    /* Sort key: levels from the top, then locality; ties by node id. */
    kv *kvs = malloc(sizeof *kvs * (size_t)n);
    if (!kvs)
        return -ENOMEM;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t loc = v;
        if (g->x)
            loc = spread16((uint32_t)((g->x[v] - x0) * sx)) |
                  (spread16((uint32_t)((g->y[v] - y0) * sy)) << 1);
        kvs[v] = (kv){((uint64_t)(maxlevel - level[v]) << 32) | loc, v};
    }
    qsort(kvs, n, sizeof *kvs, kv_cmp);
    for (uint32_t c = 0; c < n; c++) {
        ch->old[c] = kvs[c].v;
        ch->id[kvs[c].v] = c;
    }
    free(kvs);
    return 0;
}

int vr__ch_build(vr__ch *ch, const vr_graph *g, const uint8_t *blocked, uint32_t witness_settle)
{
    uint32_t n = g->n;
    memset(ch, 0, sizeof *ch);
    bld b;
    memset(&b, 0, sizeof b);
    b.n = n;
    b.settle = witness_settle;
    b.out = calloc(n, sizeof *b.out);
    b.in = calloc(n, sizeof *b.in);
    b.deleted = calloc(n, sizeof *b.deleted);
    b.level = calloc(n, sizeof *b.level);
    b.mark = malloc(sizeof *b.mark * (size_t)n);
    b.done = calloc(n, 1);
    b.tstamp = calloc(n, sizeof *b.tstamp);
    vr__heap order = {0};
    int rc = -ENOMEM;
    if (!b.out || !b.in || !b.deleted || !b.level || !b.mark || !b.done || !b.tstamp ||
        vr__search_init(&b.ws, n) || vr__heap_init(&order, n))
        goto fail;
    memset(b.mark, 0xff, sizeof *b.mark * (size_t)n);

    /* Live edges, one arc per node pair (the cheapest, first on ties), no
     * self-loops (useless with costs >= 0). */
    for (uint32_t u = 0; u < n; u++) {
        dlist *o = &b.out[u];
        for (uint32_t k = g->off[u]; k < g->off[u + 1]; k++) {
            uint32_t w = g->to[k], e = g->eid[k];
            if (blocked[e] || w == u)
                continue;
            if (b.mark[w] == u) {
                for (uint32_t i = 0; i < o->n; i++)
                    if (o->a[i].to == w && g->cost[k] < o->a[i].cost) {
                        o->a[i].cost = g->cost[k];
                        o->a[i].data = e;
                    }
                continue;
            }
            b.mark[w] = u;
            if (dl_push(o, w, e, g->cost[k]))
                goto fail;
        }
    }
    for (uint32_t u = 0; u < n; u++)
        for (uint32_t i = 0; i < b.out[u].n; i++)
            if (dl_push(&b.in[b.out[u].a[i].to], u, b.out[u].a[i].data, b.out[u].a[i].cost))
                goto fail;
    memset(b.mark, 0xff, sizeof *b.mark * (size_t)n);

    for (uint32_t v = 0; v < n; v++)
        vr__heap_set(&order, v, priority(&b, v));
    if (b.oom)
        goto fail;
    ch->n = n;
    ch->id = malloc(sizeof *ch->id * (size_t)n);
    ch->old = malloc(sizeof *ch->old * (size_t)n);
    if (!ch->id || !ch->old)
        goto fail;
    uint32_t next_rank = 0;
    while (order.size) {
        double k;
        uint32_t v = vr__heap_pop(&order, &k);
        double pk = priority(&b, v);
        if (b.oom)
            goto fail;
        if (order.size && (order.key[0] < pk || (order.key[0] == pk && order.node[0] < v))) {
            vr__heap_set(&order, v, pk); /* no longer the smallest: later */
            continue;
        }
        if (contract(&b, v))
            goto fail;
        next_rank++;
        for (int side = 0; side < 2; side++) {
            const dlist *l = side ? &b.out[v] : &b.in[v];
            for (uint32_t i = 0; i < l->n; i++) {
                uint32_t x = l->a[i].to;
                if (b.mark[x] == v)
                    continue;
                b.mark[x] = v;
                vr__heap_set(&order, x, priority(&b, x));
            }
        }
        if (b.oom)
            goto fail;
    }
    (void)next_rank;
    if (layout(ch, g, b.level) || side_csr(b.out, ch, &ch->fo, &ch->fa) ||
        side_csr(b.in, ch, &ch->bo, &ch->ba) ||
        query_blocks(ch))
        goto fail;
    /* Each arc is in exactly one frozen list: its lower end's. */
    for (uint32_t i = 0; i < ch->fo[n]; i++)
        ch->shortcuts += (ch->fa[i].data & VR__SC) != 0;
    for (uint32_t i = 0; i < ch->bo[n]; i++)
        ch->shortcuts += (ch->ba[i].data & VR__SC) != 0;
    ch->blocked = malloc(g->m ? g->m : 1);
    if (!ch->blocked)
        goto fail;
    if (g->m)
        memcpy(ch->blocked, blocked, g->m);
    ch->built = true;
    rc = 0;
fail:
    vr__heap_fini(&order);
    bld_free(&b);
    if (rc != 0)
        vr__ch_free(ch);
    return rc;
}

void vr__ch_free(vr__ch *ch)
{
    free(ch->id);
    free(ch->old);
    free(ch->fo);
    free(ch->bo);
    free(ch->fa);
    free(ch->ba);
    free(ch->qo);
    free(ch->q);
    free(ch->blocked);
    memset(ch, 0, sizeof *ch);
}

/* ---- query ------------------------------------------------------------- */

/* Collects the upward search space of block b0 in direction `side` (0:
 * forward arcs, 1: backward arcs) by a depth-first search: ord[0..k)
 * receives its blocks in post-order, so ord[k-1] .. ord[0] is a
 * topological order of the upward arcs; their labels of that side get
 * stamp cur, distance infinity and no predecessor.  Returns k. */
static uint32_t upward_space(vr__qunit *q, int side, uint32_t cur, uint32_t b0, vr__dfs *st,
                             uint32_t *ord)
{
    uint32_t sp = 0, k = 0, b = b0;
    for (;;) { /* push b, whose label is not yet stamped */
        if (side) {
            q[b + 1].h1.db = VR_PATH_INF;
            q[b + 2].h2.sb = cur;
            q[b + 2].h2.pb = VR_PATH_NONE;
        } else {
            q[b + 1].h1.df = VR_PATH_INF;
            q[b + 2].h2.sf = cur;
            q[b + 2].h2.pf = VR_PATH_NONE;
        }
        uint32_t lo = b + VR__QHEAD + (side ? q[b].h0.nf : 0);
        st[sp++] = (vr__dfs){b, lo, lo + (side ? q[b].h0.nb : q[b].h0.nf)};
        b = VR_PATH_NONE;
        while (sp) {
            vr__dfs *top = &st[sp - 1];
            if (top->pos < top->end) {
                uint32_t w = q[top->pos++].arc.toff;
                if ((side ? q[w + 2].h2.sb : q[w + 2].h2.sf) != cur) {
                    b = w;
                    break;
                }
            } else {
                ord[k++] = top->block;
                sp--;
            }
        }
        if (b == VR_PATH_NONE)
            return k;
    }
}

/* The query sweeps instead of running Dijkstra.  Every upward arc leads to
 * a node of a higher level, so the upward space of a node is a DAG; a
 * depth-first search collects it with a topological order, and one pass
 * over its arcs in that order gives every distance: no heap, no
 * decrease-key, and labels live in the nodes' blocks next to their arcs.
 * The forward sweep covers the whole upward space of s; the backward sweep
 * of t's space meets it and stops relaxing from nodes whose distance
 * already reaches the best meeting cost (costs are >= 0).  Labels change
 * only on a strict improvement, in a fixed order: the answer is a pure
 * function of (CH, s, t). */
double vr__ch_query(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t *meet)
{
    vr__ch *ch = &p->ch;
    vr__qunit *q = ch->q;
    uint32_t *ord = p->qord;
    if (++p->qcur == 0) { /* wrapped after 2^32 queries */
        for (uint32_t c = 0; c < ch->n; c++)
            q[ch->qo[c] + 2].h2.sf = q[ch->qo[c] + 2].h2.sb = 0;
        p->qcur = 1;
    }
    const uint32_t cur = p->qcur;
    uint32_t bs = ch->qo[ch->id[s]], bt = ch->qo[ch->id[t]];

    uint32_t kf = upward_space(q, 0, cur, bs, p->qstack, ord);
    q[bs + 1].h1.df = 0;
    for (uint32_t i = kf; i-- > 0;) {
        uint32_t u = ord[i];
        double d = q[u + 1].h1.df;
        const vr__qunit *a = &q[u + VR__QHEAD], *e = a + q[u].h0.nf;
        for (; a < e; a++) {
            uint32_t w = a->arc.toff;
            double nd = d + a->arc.cost;
            if (nd < q[w + 1].h1.df) {
                q[w + 1].h1.df = nd;
                q[w + 2].h2.pf = u;
            }
        }
    }

    uint32_t kb = upward_space(q, 1, cur, bt, p->qstack, ord);
    q[bt + 1].h1.db = 0;
    double best = VR_PATH_INF;
    uint32_t m = VR_PATH_NONE;
    for (uint32_t i = kb; i-- > 0;) {
        uint32_t v = ord[i];
        double d = q[v + 1].h1.db;
        if (q[v + 2].h2.sf == cur && q[v + 1].h1.df + d < best) {
            best = q[v + 1].h1.df + d;
            m = v;
        }
        if (!(d < best)) /* also skips nodes not reached below best */
            continue;
        const vr__qunit *a = &q[v + VR__QHEAD + q[v].h0.nf], *e = a + q[v].h0.nb;
        for (; a < e; a++) {
            uint32_t w = a->arc.toff;
            double nd = d + a->arc.cost;
            if (nd < q[w + 1].h1.db && nd < best) {
                q[w + 1].h1.db = nd;
                q[w + 2].h2.pb = v;
            }
        }
    }
    uint64_t settled = (uint64_t)kf + kb;
    p->st.settled += settled;
    p->last_settled = settled;
    *meet = m == VR_PATH_NONE ? VR_PATH_NONE : q[m].h0.id;
    return best;
}

/* CH id of the forward / backward predecessor of CH node x in the last
 * query. */
static inline uint32_t fpred(const vr__ch *ch, uint32_t x)
{
    return ch->q[ch->q[ch->qo[x] + 2].h2.pf].h0.id;
}

static inline uint32_t bpred(const vr__ch *ch, uint32_t x)
{
    return ch->q[ch->q[ch->qo[x] + 2].h2.pb].h0.id;
}

/* Data of the arc between CH node v and `other` in v's forward (side 0) or
 * backward (side 1) arcs; VR_PATH_NONE when absent (never, for a consistent
 * CH). */
static uint32_t find_arc(const vr__ch *ch, uint32_t v, int side, uint32_t other)
{
    const uint32_t *off = side ? ch->bo : ch->fo;
    const vr__arc *arc = side ? ch->ba : ch->fa;
    for (uint32_t i = off[v]; i < off[v + 1]; i++)
        if (arc[i].to == other)
            return arc[i].data;
    return VR_PATH_NONE;
}

/* Appends the original edges of arc a->b (data) to p->pn / p->pe. */
static int unpack_arc(vr_pathfinder *p, uint32_t a, uint32_t b, uint32_t data)
{
    const vr__ch *ch = &p->ch;
    size_t sp = 0;
    if (data == VR_PATH_NONE)
        return -EIO; /* inconsistent hierarchy: a bug, not bad input */
    if (vr__grow((void **)&p->stack, &p->stack_cap, 1, sizeof *p->stack))
        return -ENOMEM;
    p->stack[sp++] = (vr__uitem){a, b, data};
    while (sp) {
        vr__uitem it = p->stack[--sp];
        if (!(it.data & VR__SC)) {
            if (vr__grow((void **)&p->pn, &p->pn_cap, p->plen + 1, sizeof *p->pn) ||
                vr__grow((void **)&p->pe, &p->pe_cap, p->plen + 1, sizeof *p->pe))
                return -ENOMEM;
            p->pe[p->plen - 1] = it.data;
            p->pn[p->plen++] = ch->old[it.b];
            continue;
        }
        uint32_t v = it.data & ~VR__SC;
        uint32_t left = find_arc(ch, v, 1, it.a);  /* it.a -> v */
        uint32_t right = find_arc(ch, v, 0, it.b); /* v -> it.b */
        if (left == VR_PATH_NONE || right == VR_PATH_NONE)
            return -EIO;
        if (vr__grow((void **)&p->stack, &p->stack_cap, sp + 2, sizeof *p->stack))
            return -ENOMEM;
        p->stack[sp++] = (vr__uitem){v, it.b, right};
        p->stack[sp++] = (vr__uitem){it.a, v, left};
    }
    return 0;
}

int vr__ch_unpack(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t meet)
{
    const vr__ch *ch = &p->ch;
    size_t nchain = 0;
    uint32_t gs = s; /* graph id; s and t are CH ids below */
    s = ch->id[s];
    t = ch->id[t];
    for (uint32_t x = meet; x != s; x = fpred(ch, x)) {
        if (vr__grow((void **)&p->chain, &p->chain_cap, nchain + 1, sizeof *p->chain))
            return -ENOMEM;
        p->chain[nchain++] = x;
    }
    if (vr__grow((void **)&p->pn, &p->pn_cap, 1, sizeof *p->pn))
        return -ENOMEM;
    p->pn[0] = gs;
    p->plen = 1;
    int rc = 0;
    for (size_t i = nchain; i-- > 0 && rc == 0;) {
        uint32_t x = p->chain[i], pr = fpred(ch, x); /* arc pr -> x, pr lower */
        rc = unpack_arc(p, pr, x, find_arc(ch, pr, 0, x));
    }
    for (uint32_t x = meet; x != t && rc == 0; x = bpred(ch, x)) {
        uint32_t nx = bpred(ch, x); /* arc x -> nx, nx lower */
        rc = unpack_arc(p, x, nx, find_arc(ch, nx, 1, x));
    }
    return rc;
}

uint32_t vr__ch_next(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t meet)
{
    const vr__ch *ch = &p->ch;
    uint32_t b, data;
    (void)t;
    s = ch->id[s];
    if (meet != s) {
        uint32_t x = meet;
        while (fpred(ch, x) != s)
            x = fpred(ch, x);
        b = x;
        data = find_arc(ch, s, 0, x);
    } else {
        b = bpred(ch, s);
        data = find_arc(ch, b, 1, s);
    }
    /* The first original edge is the leftmost leaf of the arc s->b. */
    while (data != VR_PATH_NONE && (data & VR__SC)) {
        uint32_t v = data & ~VR__SC;
        data = find_arc(ch, v, 1, s);
        b = v;
    }
    return data == VR_PATH_NONE ? VR_PATH_NONE : ch->old[b];
}
