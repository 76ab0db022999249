/* path_ch.c: the contraction hierarchy of the pathfinder (build, query,
 * unpacking).
 *
 * Build.  Every node gets a priority 2*(shortcuts - degree) + contracted
 * neighbours + level (level: 1 + the level of the deepest contracted
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
 * Query.  Forward search on upward arcs from s, backward search on upward
 * arcs (reversed) from t, alternating; a direction stops once its smallest
 * key reaches the best meeting cost.  Stall-on-demand: a node u settled at d
 * is not expanded when some higher neighbour x reaches it for less
 * (dist(x) + c(x,u) < d), since then no shortest up-down path climbs
 * through u.  Unpacking replaces a shortcut a->b (middle v) by a->v, found
 * in v's backward arcs, and v->b, found in v's forward arcs, until only
 * original edges remain.
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
    return 2.0 * (sc - deg) + b->deleted[v] + b->level[v];
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

/* Copies the frozen per-node lists into the CSR array in CH-id order, a
 * node's forward arcs then its backward arcs, translating node ids (arc
 * ends, shortcut middles) to CH ids. */
static int to_csr(const dlist *out, const dlist *in, vr__ch *ch)
{
    uint32_t n = ch->n;
    size_t total = 0;
    for (uint32_t v = 0; v < n; v++)
        total += (size_t)out[v].n + in[v].n;
    ch->off = malloc(sizeof *ch->off * (2 * (size_t)n + 1));
    ch->arc = malloc(sizeof *ch->arc * (total ? total : 1));
    if (!ch->off || !ch->arc || total > UINT32_MAX)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t c = 0; c < n; c++) {
        for (int side = 0; side < 2; side++) {
            const dlist *dl = side ? &in[ch->old[c]] : &out[ch->old[c]];
            ch->off[2 * c + side] = k;
            for (uint32_t i = 0; i < dl->n; i++) {
                vr__arc x = dl->a[i];
                x.to = ch->id[x.to];
                if (x.data & VR__SC)
                    x.data = VR__SC | ch->id[x.data & ~VR__SC];
                ch->arc[k++] = x;
            }
        }
    }
    ch->off[2 * (size_t)n] = k;
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
    if (layout(ch, g, b.level) || to_csr(b.out, b.in, ch))
        goto fail;
    for (uint32_t c = 0; c < n; c++) /* count each shortcut once */
        for (uint32_t i = ch->off[2 * c]; i < ch->off[2 * c + 1]; i++)
            ch->shortcuts += (ch->arc[i].data & VR__SC) != 0;
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
    free(ch->off);
    free(ch->arc);
    free(ch->blocked);
    memset(ch, 0, sizeof *ch);
}

/* ---- query ------------------------------------------------------------- */

static inline void label(vr__search *s, uint32_t v, double d, uint32_t pred, uint32_t arc)
{
    s->l[v].stamp = s->cur;
    s->l[v].dist = d;
    s->l[v].pred = pred;
    s->l[v].parc = arc;
    vr__heap_set(&s->h, v, d);
}

double vr__ch_query(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t *meet)
{
    const vr__ch *ch = &p->ch;
    vr__search *F = &p->f, *B = &p->b;
    vr__search_start(F);
    vr__search_start(B);
    label(F, ch->id[s], 0, VR_PATH_NONE, VR_PATH_NONE);
    label(B, ch->id[t], 0, VR_PATH_NONE, VR_PATH_NONE);
    double best = VR_PATH_INF;
    uint32_t m = VR_PATH_NONE;
    uint64_t settled = 0;
    int turn = 0;
    for (;;) {
        bool fgo = F->h.size && F->h.key[0] < best;
        bool bgo = B->h.size && B->h.key[0] < best;
        if (!fgo && !bgo)
            break;
        bool fwd = fgo && (!bgo || turn == 0);
        turn ^= 1;
        vr__search *S = fwd ? F : B, *O = fwd ? B : F;
        const vr__arc *arcs = ch->arc;
        double d;
        uint32_t u = vr__heap_pop(&S->h, &d);
        settled++;
        if (O->l[u].stamp == O->cur && d + O->l[u].dist < best) {
            best = d + O->l[u].dist;
            m = u;
        }
        bool stalled = false;
        const uint32_t *o = &ch->off[2 * (size_t)u];
        uint32_t own_lo = o[!fwd], own_hi = o[1 + !fwd], opp_lo = o[fwd], opp_hi = o[1 + fwd];
        for (uint32_t a = opp_lo; a < opp_hi; a++) {
            uint32_t x = arcs[a].to;
            if (S->l[x].stamp == S->cur && S->l[x].dist + arcs[a].cost < d) {
                stalled = true;
                break;
            }
        }
        if (stalled)
            continue;
        for (uint32_t a = own_lo; a < own_hi; a++) {
            uint32_t w = arcs[a].to;
            double nd = d + arcs[a].cost;
            if (nd >= best) /* cannot improve the best meeting */
                continue;
            if (S->l[w].stamp != S->cur || nd < S->l[w].dist)
                label(S, w, nd, u, a);
        }
    }
    p->st.settled += settled;
    p->last_settled = settled;
    *meet = m;
    return best;
}

/* Data of the arc between CH node v and `other` in v's forward (side 0) or
 * backward (side 1) arcs; VR_PATH_NONE when absent (never, for a consistent
 * CH). */
static uint32_t find_arc(const vr__ch *ch, uint32_t v, int side, uint32_t other)
{
    for (uint32_t i = ch->off[2 * (size_t)v + side]; i < ch->off[2 * (size_t)v + side + 1]; i++)
        if (ch->arc[i].to == other)
            return ch->arc[i].data;
    return VR_PATH_NONE;
}

/* Appends the original edges of arc a->b (data) to p->pn / p->pe. */
static int unpack_arc(vr_pathfinder *p, uint32_t a, uint32_t b, uint32_t data)
{
    const vr__ch *ch = &p->ch;
    size_t sp = 0;
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
            return -EIO; /* inconsistent hierarchy: a bug, not bad input */
        if (vr__grow((void **)&p->stack, &p->stack_cap, sp + 2, sizeof *p->stack))
            return -ENOMEM;
        p->stack[sp++] = (vr__uitem){v, it.b, right};
        p->stack[sp++] = (vr__uitem){it.a, v, left};
    }
    return 0;
}

int vr__ch_unpack(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t meet)
{
    const vr__search *F = &p->f, *B = &p->b;
    size_t nchain = 0;
    uint32_t gs = s; /* graph id; s and t are CH ids below */
    s = p->ch.id[s];
    t = p->ch.id[t];
    for (uint32_t x = meet; x != s; x = F->l[x].pred) {
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
        uint32_t x = p->chain[i];
        rc = unpack_arc(p, F->l[x].pred, x, p->ch.arc[F->l[x].parc].data);
    }
    for (uint32_t x = meet; x != t && rc == 0; x = B->l[x].pred)
        rc = unpack_arc(p, x, B->l[x].pred, p->ch.arc[B->l[x].parc].data);
    return rc;
}

uint32_t vr__ch_next(vr_pathfinder *p, uint32_t s, uint32_t t, uint32_t meet)
{
    const vr__ch *ch = &p->ch;
    const vr__search *F = &p->f, *B = &p->b;
    uint32_t b, data;
    (void)t;
    s = ch->id[s];
    if (meet != s) {
        uint32_t x = meet;
        while (F->l[x].pred != s)
            x = F->l[x].pred;
        b = x;
        data = ch->arc[F->l[x].parc].data;
    } else {
        b = B->l[s].pred;
        data = ch->arc[B->l[s].parc].data;
    }
    /* The first original edge is the leftmost leaf of the arc s->b. */
    while (data & VR__SC) {
        uint32_t v = data & ~VR__SC;
        data = find_arc(ch, v, 1, s);
        b = v;
        if (data == VR_PATH_NONE)
            return VR_PATH_NONE;
    }
    return ch->old[b];
}
