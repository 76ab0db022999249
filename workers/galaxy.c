/* galaxy.c: turn-0 world of a universe: the two-level galaxy graph,
 * factions and relations, planets, asteroid fields, stations, fleets, ships.
 *
 * Level 1: star systems at random positions in a square whose side grows with
 * the square root of their number (about 10 ly between neighbours).
 * Hyperlanes are a minimum spanning tree (every system reachable) plus links
 * to each system's 3 nearest neighbours, one row per direction grouped by
 * source system (CSR: systems.lane_begin/lane_count).  Nearest neighbours
 * come from a uniform grid, and the tree is Kruskal's over the 8-nearest-
 * neighbour graph, joined into one component if that graph is not connected
 * (it equals the Euclidean MST whenever the latter lies in the 8-NN graph,
 * which is the norm for scattered stars), so generation is O(n log n) and
 * scales to tens of thousands of systems.
 *
 * Level 2: each system has an internal graph: a star, 1-4 planets, 0-2
 * asteroid fields, sometimes a nebula, and one gate per outgoing lane.
 * Bodies link to the star (cost = distance; x1.5 for an asteroid field, x2
 * into or out of a nebula); a nebula also offers a second route to a gate;
 * gates link to the star and, across each lane, to the facing gate of the
 * neighbouring system (cost = lane length).  All edges are stored once per
 * direction, grouped by source node (CSR: nodes.edge_begin/edge_count).
 *
 * Names: factions.name and the designs table copy the loaded content (ids,
 * hull classes, prices, ship stats), so readers of the arena (Python) can
 * show names instead of indices without the content at hand.
 *
 * Everything is a pure function of (seed, universe, scenario): ties are
 * broken by row index and all randomness comes from vr_rand.
 */
#include "sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KNN 3      /* lanes to nearest neighbours */
#define KCAND 8    /* candidate edges for the spanning tree */
#define MAXPLANETS 4
#define MAXASTEROIDS 2
#define LOCAL 0.4f /* internal distances, light years per unit */


/* Body counts of system i, drawn once so capacity and genesis agree. */
static void bodies(const vr_scenario *s, uint32_t i, uint32_t *planets, uint32_t *asteroids,
                   uint32_t *nebula)
{
    uint64_t r = vr_rand(s->seed, s->universe, 0, i, VR_RS_BODIES);
    *planets = 1 + (uint32_t)(r % MAXPLANETS);
    *asteroids = (uint32_t)((r >> 8) % (MAXASTEROIDS + 1));
    *nebula = ((r >> 16) & 3) == 0;
}

void vr_sim_capacity(const vr_scenario *s, uint32_t cap[VR_NTABLES])
{
    memset(cap, 0, sizeof(uint32_t) * VR_NTABLES);
    uint32_t n = s->systems, f = s->factions ? s->factions : 1;
    uint32_t lanes = n ? 2 * (n - 1 + KNN * n) : 0;
    cap[VR_TAB_systems] = n;
    cap[VR_TAB_lanes] = lanes;
    /* star + bodies + nebula per system, one gate per lane row */
    cap[VR_TAB_nodes] = n * (2 + MAXPLANETS + MAXASTEROIDS) + lanes;
    /* per system: star<->body 2 each, asteroid<->planet 2 each, nebula<->gate 2;
     * per lane row: gate<->star 2 and the gate-to-gate edge 1 */
    cap[VR_TAB_edges] = n * (2 * (MAXPLANETS + 2 * MAXASTEROIDS + 2) + 2) + 3 * lanes;
    cap[VR_TAB_factions] = f;
    cap[VR_TAB_relations] = f * f;
    uint32_t nd = VR_CONTENT_BUILTIN_DESIGNS;
    if (s->content)
        vr_content_designs(s->content, &nd);
    cap[VR_TAB_designs] = nd;
    cap[VR_TAB_planets] = n * MAXPLANETS;
    cap[VR_TAB_asteroids] = n * MAXASTEROIDS;
    cap[VR_TAB_stations] = n;
    cap[VR_TAB_fleets] = s->fleets + s->fleets / 8 + 16;
    /* fleets have 1..VR_MAX_FLEET_SHIPS ships, 10.5 on average (standard
     * deviation 5.8): 11 per fleet plus a margin holds the total by tens of
     * standard deviations for large universes and the margin covers small
     * ones (a fuller arena is reported as -VR_EFULL, never overrun;
     * production stops at 15/16) */
    cap[VR_TAB_ships] = cap[VR_TAB_fleets] * 11 + 4 * VR_MAX_FLEET_SHIPS + 1024;
    cap[VR_TAB_findings] = 1024;
    cap[VR_TAB_markets] = 1;
    cap[VR_TAB_ledger] = 1;
    cap[VR_TAB_decisions] = 4096 < cap[VR_TAB_fleets] ? 4096 : cap[VR_TAB_fleets];
    cap[VR_TAB_commands] = VR_TURN_MAX_CMDS;
    /* at most one battle per system and turn, so this never overflows; about
     * 100 bytes per system with both buffers, under 1 byte per ship */
    cap[VR_TAB_battles] = n;
    vr__portal_capacity(s, cap);
}

static float dist(const vr_cols *c, uint32_t a, uint32_t b)
{
    float dx = c->systems_x[a] - c->systems_x[b];
    float dy = c->systems_y[a] - c->systems_y[b];
    return sqrtf(dx * dx + dy * dy);
}

/* ---- nearest neighbours on a uniform grid ---------------------------------- */

typedef struct grid {
    uint32_t side;            /* cells per side */
    float cell;               /* cell width */
    uint32_t *start, *items;  /* CSR of systems by cell */
} grid;

static int grid_build(grid *g, const vr_cols *c, uint32_t n, float extent)
{
    g->side = (uint32_t)ceilf(sqrtf((float)n / 2.0f));
    if (g->side < 1)
        g->side = 1;
    g->cell = extent / (float)g->side;
    size_t cells = (size_t)g->side * g->side;
    g->start = calloc(cells + 1, sizeof *g->start);
    g->items = malloc(n * sizeof *g->items);
    if (!g->start || !g->items)
        return -ENOMEM;
    uint32_t *cellof = malloc(n * sizeof *cellof);
    if (!cellof)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t cx = (uint32_t)(c->systems_x[i] / g->cell), cy = (uint32_t)(c->systems_y[i] / g->cell);
        cx = cx >= g->side ? g->side - 1 : cx;
        cy = cy >= g->side ? g->side - 1 : cy;
        cellof[i] = cy * g->side + cx;
        g->start[cellof[i] + 1]++;
    }
    for (size_t k = 0; k < cells; k++)
        g->start[k + 1] += g->start[k];
    uint32_t *fill = malloc(cells * sizeof *fill);
    if (!fill) {
        free(cellof);
        return -ENOMEM;
    }
    memcpy(fill, g->start, cells * sizeof *fill);
    for (uint32_t i = 0; i < n; i++) /* row order inside each cell */
        g->items[fill[cellof[i]]++] = i;
    free(fill);
    free(cellof);
    return 0;
}

static void grid_free(grid *g)
{
    free(g->start);
    free(g->items);
}

/* The k nearest systems to u (ties: lower row first), sorted; returns count. */
static int knn(const grid *g, const vr_cols *c, uint32_t n, uint32_t u, int k, uint32_t *nb, float *nd)
{
    int have = 0;
    int cx = (int)(c->systems_x[u] / g->cell), cy = (int)(c->systems_y[u] / g->cell);
    cx = cx >= (int)g->side ? (int)g->side - 1 : cx;
    cy = cy >= (int)g->side ? (int)g->side - 1 : cy;
    for (int ring = 0; ring <= (int)g->side; ring++) {
        /* every point outside rings 0..ring-1 is at least (ring-1)*cell away */
        if (have == k && nd[k - 1] < (float)(ring - 1) * g->cell)
            break;
        for (int y = cy - ring; y <= cy + ring; y++) {
            if (y < 0 || y >= (int)g->side)
                continue;
            for (int x = cx - ring; x <= cx + ring; x++) {
                if (x < 0 || x >= (int)g->side || (abs(x - cx) != ring && abs(y - cy) != ring))
                    continue;
                uint32_t cell = (uint32_t)y * g->side + (uint32_t)x;
                for (uint32_t q = g->start[cell]; q < g->start[cell + 1]; q++) {
                    uint32_t v = g->items[q];
                    if (v == u)
                        continue;
                    float d = dist(c, u, v);
                    int pos = have;
                    while (pos > 0 && (d < nd[pos - 1] || (d == nd[pos - 1] && v < nb[pos - 1])))
                        pos--;
                    if (pos >= k)
                        continue;
                    for (int j = (have < k ? have : k - 1); j > pos; j--)
                        nb[j] = nb[j - 1], nd[j] = nd[j - 1];
                    nb[pos] = v, nd[pos] = d;
                    if (have < k)
                        have++;
                }
            }
        }
    }
    (void)n;
    return have;
}

/* ---- spanning tree ------------------------------------------------------------ */

typedef struct cand { float d; uint32_t a, b; } cand;

static int cmp_cand(const void *pa, const void *pb)
{
    const cand *x = pa, *y = pb;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return (x->b > y->b) - (x->b < y->b);
}

static int cmp_u64(const void *pa, const void *pb)
{
    const uint64_t *a = pa, *b = pb;
    return *a < *b ? -1 : *a > *b;
}

static uint32_t find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* Hyperlanes as sorted undirected pairs (min << 32 | max); returns count. */
static int64_t make_lanes(const vr_cols *c, uint32_t n, float extent, uint64_t **out)
{
    grid g = {0};
    cand *cands = malloc((size_t)n * KCAND * sizeof *cands);
    uint64_t *edges = malloc(((size_t)n * (KNN + 1)) * sizeof *edges);
    uint32_t *parent = malloc(n * sizeof *parent);
    int64_t ne = -ENOMEM;
    if (!cands || !edges || !parent || grid_build(&g, c, n, extent))
        goto out;
    size_t nc = 0, m = 0;
    uint32_t nb[KCAND];
    float nd[KCAND];
    for (uint32_t u = 0; u < n; u++) {
        int k = knn(&g, c, n, u, KCAND, nb, nd);
        for (int j = 0; j < k; j++) {
            if (j < KNN) {
                uint32_t a = u < nb[j] ? u : nb[j], b = u < nb[j] ? nb[j] : u;
                edges[m++] = ((uint64_t)a << 32) | b;
            }
            if (u < nb[j] || nd[j] > 0) /* both directions are listed: dedupe below */
                cands[nc++] = (cand){nd[j], u < nb[j] ? u : nb[j], u < nb[j] ? nb[j] : u};
        }
    }
    qsort(cands, nc, sizeof *cands, cmp_cand);
    for (uint32_t i = 0; i < n; i++)
        parent[i] = i;
    uint32_t comps = n;
    for (size_t i = 0; i < nc && comps > 1; i++) {
        uint32_t ra = find(parent, cands[i].a), rb = find(parent, cands[i].b);
        if (ra == rb)
            continue;
        parent[ra > rb ? ra : rb] = ra < rb ? ra : rb;
        edges[m++] = ((uint64_t)cands[i].a << 32) | cands[i].b;
        comps--;
    }
    /* rare: the candidate graph is not connected; join the component of
     * system 0 to its nearest outside system until one remains (O(n^2) per
     * join, only on pathological layouts) */
    while (comps > 1) {
        float best = INFINITY;
        uint32_t ba = 0, bb = 0;
        uint32_t r0 = find(parent, 0);
        for (uint32_t a = 0; a < n; a++) {
            if (find(parent, a) != r0)
                continue;
            for (uint32_t b = 0; b < n; b++) {
                if (find(parent, b) == r0)
                    continue;
                float d = dist(c, a, b);
                if (d < best)
                    best = d, ba = a, bb = b;
            }
        }
        uint32_t rb = find(parent, bb);
        parent[r0 > rb ? r0 : rb] = r0 < rb ? r0 : rb;
        edges[m++] = ((uint64_t)(ba < bb ? ba : bb) << 32) | (ba < bb ? bb : ba);
        comps--;
    }
    qsort(edges, m, sizeof *edges, cmp_u64);
    size_t w = 0;
    for (size_t i = 0; i < m; i++)
        if (w == 0 || edges[i] != edges[w - 1])
            edges[w++] = edges[i];
    *out = edges;
    edges = NULL;
    ne = (int64_t)w;
out:
    grid_free(&g);
    free(cands);
    free(edges);
    free(parent);
    return ne;
}

/* ---- the internal graphs ---------------------------------------------------------- */

typedef struct ebuf { /* undirected internal edges before CSR */
    uint32_t a, b, lane;
    float cost;
} ebuf;

static int alloc_rows(vr_cols *c, uint32_t table, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id;
        int rc = vr_ent_alloc(c, table, &id);
        if (rc)
            return rc;
    }
    return 0;
}

/* Lays out a CSR from per-source degrees: begin[v] = running sum, count[v]
 * = 0 (filled by the caller), and allocates the rows of `table`.  Returns
 * 0 or -VR_EFULL. */
static int csr_layout(vr_cols *c, uint32_t table, const uint32_t *deg, uint32_t n, uint32_t *begin,
                      uint32_t *count)
{
    uint32_t acc = 0;
    for (uint32_t v = 0; v < n; v++) {
        begin[v] = acc;
        count[v] = 0;
        acc += deg[v];
    }
    return alloc_rows(c, table, acc);
}

static uint32_t add_node(vr_cols *c, uint32_t sys, uint8_t kind, float x, float y)
{
    uint64_t id;
    if (vr_ent_alloc(c, VR_TAB_nodes, &id))
        return UINT32_MAX;
    uint32_t r = (uint32_t)id;
    c->nodes_system[r] = sys;
    c->nodes_kind[r] = kind;
    c->nodes_x[r] = x;
    c->nodes_y[r] = y;
    return r;
}

static float ndist(const vr_cols *c, uint32_t a, uint32_t b)
{
    float dx = c->nodes_x[a] - c->nodes_x[b], dy = c->nodes_y[a] - c->nodes_y[b];
    return sqrtf(dx * dx + dy * dy);
}

/* Builds nodes, bodies and the edge CSR; lanes must exist.  0 or an error. */
static int build_internal(vr_sim *sim, vr_cols *c)
{
    const vr_scenario *s = &sim->sc;
    uint32_t n = s->systems;
    size_t maxe = (size_t)c->capacity[VR_TAB_edges];
    ebuf *eb = malloc(maxe * sizeof *eb);
    uint32_t *star = malloc(n * sizeof *star);
    if (!eb || !star) {
        free(eb), free(star);
        return -ENOMEM;
    }
    size_t ne = 0;
    int rc = 0;
#define EDGE(A, B, COST, LANE) (eb[ne++] = (ebuf){(A), (B), (LANE), (COST)})
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint32_t np, na, neb;
        bodies(s, i, &np, &na, &neb);
        float sx = c->systems_x[i], sy = c->systems_y[i];
        c->systems_node_begin[i] = c->tables[VR_TAB_nodes].count;
        star[i] = add_node(c, i, VR_NODE_STAR, sx, sy);
        uint32_t first_planet = UINT32_MAX;
        for (uint32_t k = 0; k < np + na + neb; k++) {
            uint8_t kind = k < np ? VR_NODE_PLANET : k < np + na ? VR_NODE_ASTEROID : VR_NODE_NEBULA;
            float ang = 6.2831853f * vr_unit(vr_rand(s->seed, s->universe, 0, ((uint64_t)i << 8) | k, VR_RS_ORBIT));
            float rad = LOCAL * (1.0f + (float)k);
            uint32_t b = add_node(c, i, kind, sx + rad * cosf(ang), sy + rad * sinf(ang));
            if (b == UINT32_MAX) {
                rc = -VR_EFULL;
                break;
            }
            float d = ndist(c, star[i], b);
            EDGE(star[i], b, kind == VR_NODE_ASTEROID ? 1.5f * d : kind == VR_NODE_NEBULA ? 2.0f * d : d,
                 UINT32_MAX);
            if (kind == VR_NODE_PLANET) {
                if (first_planet == UINT32_MAX)
                    first_planet = b;
                uint64_t id;
                if ((rc = vr_ent_alloc(c, VR_TAB_planets, &id)))
                    break;
                uint32_t p = (uint32_t)id;
                uint64_t r = vr_rand(s->seed, s->universe, 0, b, VR_RS_PLANET);
                c->planets_node[p] = b;
                c->planets_class[p] = (uint8_t)(r % 6);
                c->planets_population[p] = 100 + (uint32_t)((r >> 8) % 9000);
                c->planets_owner[p] = (k == 0 && c->systems_owner[i]) ? c->systems_owner[i] : 0;
                for (int q = 0; q < VR_NRES; q++) {
                    c->planets_production[p * VR_NRES + q] = (int32_t)((r >> (16 + 4 * q)) % 8);
                    c->planets_stock[p * VR_NRES + q] = 0;
                }
            } else if (kind == VR_NODE_ASTEROID) {
                /* an asteroid field also reaches the first planet (mining route) */
                if (first_planet != UINT32_MAX)
                    EDGE(b, first_planet, 1.5f * ndist(c, b, first_planet), UINT32_MAX);
                uint64_t id;
                if ((rc = vr_ent_alloc(c, VR_TAB_asteroids, &id)))
                    break;
                c->asteroids_node[(uint32_t)id] = b;
                c->asteroids_reserve[(uint32_t)id] =
                    1000 + (int64_t)(vr_rand(s->seed, s->universe, 0, b, VR_RS_PLANET) % 100000);
            }
        }
        if (rc)
            break;
        if (c->systems_owner[i]) { /* an owned system has a station at its star */
            uint64_t id;
            if ((rc = vr_ent_alloc(c, VR_TAB_stations, &id)))
                break;
            c->stations_node[(uint32_t)id] = star[i];
            c->stations_owner[(uint32_t)id] = c->systems_owner[i];
        }
        /* one gate per outgoing lane, on the side facing the neighbour, joined
         * to the star only: every way through or out of a system passes its
         * star (movement.c's two-level routing relies on it) */
        for (uint32_t l = c->systems_lane_begin[i], e = l + c->systems_lane_count[i]; l < e; l++) {
            uint32_t t = c->lanes_to[l];
            float dx = c->systems_x[t] - sx, dy = c->systems_y[t] - sy, len = c->lanes_length[l];
            float rad = LOCAL * (float)(MAXPLANETS + MAXASTEROIDS + 2);
            float gx = sx + (len > 0 ? dx / len * rad : rad), gy = sy + (len > 0 ? dy / len * rad : 0);
            uint32_t g = add_node(c, i, VR_NODE_GATE, gx, gy);
            if (g == UINT32_MAX) {
                rc = -VR_EFULL;
                break;
            }
            c->lanes_gate[l] = g;
            EDGE(star[i], g, ndist(c, star[i], g), UINT32_MAX);
        }
        c->systems_node_count[i] = c->tables[VR_TAB_nodes].count - c->systems_node_begin[i];
    }
    /* gate-to-gate edges across each lane (directed: one per lane row) */
    size_t directed_extra = 0;
    for (uint32_t l = 0; !rc && l < c->tables[VR_TAB_lanes].count; l++)
        directed_extra++;
    uint32_t nn = c->tables[VR_TAB_nodes].count;
    uint32_t *deg = rc ? NULL : calloc(nn, sizeof *deg);
    if (!rc && !deg)
        rc = -ENOMEM;
    if (!rc && 2 * ne + directed_extra > maxe)
        rc = -VR_EFULL;
    if (!rc) {
        for (size_t k = 0; k < ne; k++)
            deg[eb[k].a]++, deg[eb[k].b]++;
        for (uint32_t l = 0; l < c->tables[VR_TAB_lanes].count; l++)
            deg[c->lanes_gate[l]]++;
        rc = csr_layout(c, VR_TAB_edges, deg, nn, c->nodes_edge_begin, c->nodes_edge_count);
    }
    if (!rc) {
#define PUT(FROM, TO, COST, LANE)                                                         \
    do {                                                                                  \
        uint32_t r_ = c->nodes_edge_begin[FROM] + c->nodes_edge_count[FROM]++;            \
        c->edges_to[r_] = (TO), c->edges_cost[r_] = (COST), c->edges_lane[r_] = (LANE);   \
        c->edges_blocked[r_] = 0;                                                         \
    } while (0)
        for (size_t k = 0; k < ne; k++) {
            PUT(eb[k].a, eb[k].b, eb[k].cost, eb[k].lane);
            PUT(eb[k].b, eb[k].a, eb[k].cost, eb[k].lane);
        }
        for (uint32_t l = 0; l < c->tables[VR_TAB_lanes].count; l++) {
            /* the facing gate: the reverse lane's gate */
            uint32_t t = c->lanes_to[l], back = UINT32_MAX;
            for (uint32_t q = c->systems_lane_begin[t], e = q + c->systems_lane_count[t]; q < e; q++)
                if (c->lanes_to[q] == c->lanes_from[l])
                    back = q;
            if (back == UINT32_MAX) {
                rc = -VR_EBADARG;
                break;
            }
            PUT(c->lanes_gate[l], c->lanes_gate[back], c->lanes_length[l], l);
        }
#undef PUT
    }
#undef EDGE
    free(deg);
    free(eb);
    free(star);
    return rc;
}

/* ---- names and designs from the content ---------------------------------------- */

/* Copies what Python needs to read the content's numbers as names: each
 * faction's content id (factions.name), and one designs row per content
 * design (row = the index ships.design holds) with its id, hull class,
 * price and the stats a new ship of it gets.  Factions must exist and the
 * economy's prices be set (vr__economy_genesis).  0 or -VR_EFULL. */
static int content_tables(vr_sim *sim, vr_cols *c)
{
    uint32_t ncf = 0, nh = 0, nd = sim->ndesigns, nf = c->tables[VR_TAB_factions].count;
    const vr_faction *cf = vr_content_factions(sim->content, &ncf);
    const vr_hull_class *hulls = vr_content_hulls(sim->content, &nh);
    const vr_design *d = vr_content_designs(sim->content, NULL);
    const uint32_t wf = vr_columns[VR_COL_factions_name].lanes, wd = vr_columns[VR_COL_designs_name].lanes,
                   wh = vr_columns[VR_COL_designs_hull_class].lanes;
    for (uint32_t f = 0; f < nf; f++) {
        uint16_t k = c->factions_content[f];
        vr_name_put(c->factions_name + (size_t)f * wf, wf, k < ncf ? vr_content_string(sim->content, cf[k].id) : "");
    }
    int rc = alloc_rows(c, VR_TAB_designs, nd);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < nd; i++) {
        const vr_shipstats *st = &sim->stats[i];
        vr_name_put(c->designs_name + (size_t)i * wd, wd, vr_content_string(sim->content, d[i].id));
        vr_name_put(c->designs_hull_class + (size_t)i * wh, wh,
                    d[i].hull < nh ? vr_content_string(sim->content, hulls[d[i].hull].id) : "");
        c->designs_faction[i] = 0; /* the first faction playing the design's content faction */
        for (uint32_t f = 0; f < nf && d[i].faction != VR_CONTENT_NONE; f++)
            if (c->factions_content[f] == d[i].faction) {
                c->designs_faction[i] = (uint16_t)(f + 1);
                break;
            }
        c->designs_cost[i] = sim->design_credits ? sim->design_credits[i] : 0;
        c->designs_alloys[i] = sim->design_alloys ? sim->design_alloys[i] : 0;
        c->designs_build_turns[i] = sim->design_turns ? sim->design_turns[i] : 0;
        c->designs_hull[i] = st->hull;
        c->designs_shield[i] = st->shield;
        c->designs_armor[i] = st->armor;
        c->designs_strength[i] = st->strength;
        c->designs_ap[i] = st->ap;
        c->designs_attacks[i] = st->attacks;
        c->designs_accuracy[i] = st->accuracy;
        c->designs_evasion[i] = st->evasion;
        c->designs_morale[i] = st->morale;
        c->designs_speed[i] = st->speed;
        c->designs_cargo[i] = st->cargo;
    }
    return 0;
}

/* ---- fleets and ships ---------------------------------------------------------- */

/* Gives ship row r the stats of design d, in fleet `fleet` of faction. */
static void ship_init(vr_sim *sim, vr_cols *c, uint32_t r, uint32_t fleet, uint16_t faction, const vr_shipstats *d)
{
    c->ships_fleet[r] = fleet;
    c->ships_faction[r] = faction;
    c->ships_design[r] = d->index;
    c->ships_hull[r] = d->hull;
    c->ships_shield[r] = d->shield;
    c->ships_armor[r] = d->armor;
    c->ships_strength[r] = d->strength;
    c->ships_ap[r] = d->ap;
    c->ships_attacks[r] = d->attacks;
    c->ships_accuracy[r] = d->accuracy;
    c->ships_evasion[r] = d->evasion;
    c->ships_morale[r] = d->morale;
    c->ships_state[r] = 0;
    c->ships_speed[r] = d->speed;
    c->ships_cargo[r] = d->cargo;
    /* upkeep: VR_UPKEEP_DIVISOR-th of the ship's price per turn */
    c->fleets_upkeep[fleet] += sim->design_credits ? sim->design_credits[d->index] / VR_UPKEEP_DIVISOR : 0;
    c->fleets_capacity[fleet] += d->cargo;
}

int vr__spawn_ships(vr_sim *sim, vr_cols *c, uint16_t faction, uint32_t design, uint32_t sys, uint32_t n,
                    uint64_t *id)
{
    if (design >= sim->ndesigns || n == 0)
        return -VR_EBADARG;
    const vr_tabstate *ft = &c->tables[VR_TAB_fleets], *st = &c->tables[VR_TAB_ships];
    if (c->capacity[VR_TAB_fleets] - ft->count + ft->free_count < 1 ||
        c->capacity[VR_TAB_ships] - st->count + st->free_count < n)
        return -VR_EFULL;
    uint64_t fid, sid;
    int rc = vr_ent_alloc(c, VR_TAB_fleets, &fid);
    if (rc)
        return rc;
    uint32_t row = (uint32_t)fid;
    c->fleets_faction[row] = faction;
    c->fleets_at[row] = c->fleets_next[row] = c->fleets_dest[row] = sys;
    c->fleets_node[row] = c->fleets_dest_node[row] = c->systems_node_begin[sys]; /* its star */
    c->fleets_choice[row] = 0xff;
    c->fleets_route_dest[row] = UINT32_MAX;
    for (uint32_t k = 0; k < n; k++) {
        if ((rc = vr_ent_alloc(c, VR_TAB_ships, &sid)))
            return rc;
        ship_init(sim, c, (uint32_t)sid, row, faction, &sim->stats[design]);
    }
    c->fleets_ships[row] = n;
    c->fleets_speed[row] = sim->stats[design].speed;
    c->factions_ships[faction - 1] += n;
    if (id)
        *id = fid;
    return 0;
}

int vr__spawn_built(vr_sim *sim, vr_cols *c, uint16_t faction, uint32_t design, uint32_t sys)
{
    return vr__spawn_ships(sim, c, faction, design, sys, 1, NULL);
}

int vr__spawn_fleet(vr_sim *sim, vr_cols *c, uint64_t turn, uint64_t k)
{
    const vr_scenario *s = &sim->sc;
    uint64_t id;
    int rc = vr_ent_alloc(c, VR_TAB_fleets, &id);
    if (rc)
        return rc;
    uint32_t row = (uint32_t)id;
    uint32_t n = s->systems;
    uint32_t at = (uint32_t)(vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_AT) % n);
    uint32_t dest = (uint32_t)(vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_DEST) % n);
    uint16_t faction =
        (uint16_t)(1 + vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_FACTION) % s->factions);
    uint32_t nships = 1 + (uint32_t)(vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_SHIPS) %
                                     VR_MAX_FLEET_SHIPS);
    c->fleets_faction[row] = faction;
    c->fleets_at[row] = at;
    c->fleets_next[row] = at;
    c->fleets_dest[row] = dest;
    c->fleets_node[row] = c->systems_node_begin[at]; /* stars */
    c->fleets_dest_node[row] = c->systems_node_begin[dest];
    c->fleets_progress[row] = 0.0f;
    c->fleets_choice[row] = 0xff; /* no decision yet */
    c->fleets_route_dest[row] = UINT32_MAX; /* no route yet */
    float slowest = INFINITY;
    uint32_t made = 0;
    for (uint32_t j = 0; j < nships; j++) {
        uint64_t sid;
        if ((rc = vr_ent_alloc(c, VR_TAB_ships, &sid)))
            break;
        uint32_t r = (uint32_t)sid;
        uint64_t key = (k << 8) | j;
        const vr_shipstats *d = vr__design_for(sim, faction, vr_rand(s->seed, s->universe, turn, key, VR_RS_DESIGN));
        ship_init(sim, c, r, row, faction, d);
        if (d->speed < slowest)
            slowest = d->speed;
        made++;
    }
    c->fleets_ships[row] = made;
    /* a fleet moves at the speed of its slowest hull */
    c->fleets_speed[row] = made ? slowest : 0.0f;
    return rc;
}

int vr_sim_genesis(vr_sim *sim, vr_cols *c)
{
    const vr_scenario *s = &sim->sc;
    uint32_t n = s->systems;
    uint32_t cap[VR_NTABLES];
    vr_sim_capacity(s, cap);
    cap[VR_TAB_designs] = sim->ndesigns; /* the content in use, whatever s says */
    for (int t = 0; t < VR_NTABLES; t++)
        if (c->capacity[t] < cap[t])
            return -VR_EFULL;
    if (n < 2 || s->factions == 0)
        return -VR_EBADARG;

    float side = 10.0f * sqrtf((float)n);
    int rc = alloc_rows(c, VR_TAB_systems, n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        c->systems_x[i] = side * vr_unit(vr_rand(s->seed, s->universe, 0, i, VR_RS_SYSTEM_X));
        c->systems_y[i] = side * vr_unit(vr_rand(s->seed, s->universe, 0, i, VR_RS_SYSTEM_Y));
        uint64_t r = vr_rand(s->seed, s->universe, 0, i, VR_RS_OWNER);
        c->systems_owner[i] = (r & 3) ? 0 : (uint16_t)(1 + (r >> 8) % s->factions);
    }
    uint64_t *edges = NULL;
    int64_t m = make_lanes(c, n, side, &edges);
    if (m < 0)
        return (int)m;
    uint32_t *deg = calloc(n, sizeof *deg);
    if (!deg) {
        free(edges);
        return -ENOMEM;
    }
    for (int64_t i = 0; i < m; i++)
        deg[edges[i] >> 32]++, deg[(uint32_t)edges[i]]++;
    rc = csr_layout(c, VR_TAB_lanes, deg, n, c->systems_lane_begin, c->systems_lane_count);
    for (int64_t i = 0; !rc && i < m; i++) {
        uint32_t a = (uint32_t)(edges[i] >> 32), b = (uint32_t)edges[i];
        float d = dist(c, a, b);
        uint32_t ra = c->systems_lane_begin[a] + c->systems_lane_count[a]++;
        uint32_t rb = c->systems_lane_begin[b] + c->systems_lane_count[b]++;
        c->lanes_from[ra] = a, c->lanes_to[ra] = b, c->lanes_length[ra] = d;
        c->lanes_from[rb] = b, c->lanes_to[rb] = a, c->lanes_length[rb] = d;
    }
    free(edges);
    free(deg);
    if (rc)
        return rc;

    /* factions and relations: everyone starts at peace except a few rivalries */
    if ((rc = alloc_rows(c, VR_TAB_factions, s->factions)) ||
        (rc = alloc_rows(c, VR_TAB_relations, s->factions * s->factions)))
        return rc;
    for (uint32_t f = 0; f < s->factions; f++) {
        c->factions_treasury[f] = 10000000; /* 10,000 credits */
        c->factions_stance[f] = (uint8_t)(vr_rand(s->seed, s->universe, 0, f, VR_RS_FACTION) % 3);
        c->factions_content[f] = vr__faction_content(sim, f + 1);
        c->factions_posture[f] = 0xff; /* no decision yet */
        c->factions_budget[f * 3] = c->factions_budget[f * 3 + 1] = c->factions_budget[f * 3 + 2] = 1.0f / 3;
        c->factions_treasury_seen[f] = c->factions_treasury[f];
        for (uint32_t g = 0; g < s->factions; g++) {
            uint32_t r = f * s->factions + g;
            uint32_t lo = f < g ? f : g, hi = f < g ? g : f; /* symmetric draw */
            uint64_t x = vr_rand(s->seed, s->universe, 0, (uint64_t)lo * 65536 + hi, VR_RS_FACTION);
            c->relations_state[r] = f == g ? 3 : (x % 3 == 0 ? 1 : 0);
            c->relations_opinion[r] = f == g ? 1000 : (int16_t)((int)(x >> 8) % 801 - 400);
        }
    }
    if ((rc = build_internal(sim, c)))
        return rc;
    if ((rc = vr__economy_genesis(sim, c)) || (rc = content_tables(sim, c)))
        return rc;
    for (uint32_t k = 0; k < s->fleets; k++)
        if ((rc = vr__spawn_fleet(sim, c, 0, k)))
            return rc;
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++)
        c->factions_ships[c->ships_faction[r] - 1]++;
    return vr__portal_genesis(sim, c);
}
