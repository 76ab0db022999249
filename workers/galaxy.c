/* galaxy.c: turn-0 world of a universe: star systems, hyperlanes, fleets.
 *
 * Systems lie at random positions in a square whose side grows with the
 * square root of their number (about 10 ly between neighbours).  Hyperlanes
 * are the minimum spanning tree (so every system is reachable) plus links to
 * each system's 3 nearest neighbours, stored once per direction and grouped
 * by source system (CSR: systems.lane_begin/lane_count).  Ties are broken by
 * row index, so the galaxy is a pure function of (seed, universe, size).
 *
 * The O(n^2) construction is fine for the backbone's galaxies (a few
 * thousand systems); the content-driven galaxy of the game replaces it.
 */
#include "sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KNN 3

void vr_sim_capacity(const vr_scenario *s, uint32_t cap[VR_NTABLES])
{
    memset(cap, 0, sizeof(uint32_t) * VR_NTABLES);
    cap[VR_TAB_systems] = s->systems;
    /* at most (n - 1) tree edges + 3n neighbour edges, two directions each */
    cap[VR_TAB_lanes] = s->systems ? 2 * (s->systems - 1 + KNN * s->systems) : 0;
    cap[VR_TAB_fleets] = s->fleets + s->fleets / 8 + 16;
}

static float dist(const vr_cols *c, uint32_t a, uint32_t b)
{
    float dx = c->systems_x[a] - c->systems_x[b];
    float dy = c->systems_y[a] - c->systems_y[b];
    return sqrtf(dx * dx + dy * dy);
}

static int cmp_edge(const void *pa, const void *pb)
{
    const uint64_t *a = pa, *b = pb;
    return *a < *b ? -1 : *a > *b;
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
    c->fleets_faction[row] =
        (uint16_t)(1 + vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_FACTION) % s->factions);
    c->fleets_ships[row] = 1 + (uint32_t)(vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_SHIPS) % 20);
    c->fleets_at[row] = at;
    c->fleets_next[row] = at;
    c->fleets_dest[row] = dest;
    c->fleets_progress[row] = 0.0f;
    c->fleets_speed[row] = 5.0f + 15.0f * vr_unit(vr_rand(s->seed, s->universe, turn, k, VR_RS_FLEET_SPEED));
    return 0;
}

int vr_sim_genesis(vr_sim *sim, vr_cols *c)
{
    const vr_scenario *s = &sim->sc;
    uint32_t n = s->systems;
    uint32_t cap[VR_NTABLES];
    vr_sim_capacity(s, cap);
    for (int t = 0; t < VR_NTABLES; t++)
        if (c->capacity[t] < cap[t])
            return -VR_EFULL;
    if (n < 2 || s->factions == 0)
        return -VR_EBADARG;

    float side = 10.0f * sqrtf((float)n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id;
        int rc = vr_ent_alloc(c, VR_TAB_systems, &id);
        if (rc)
            return rc;
        c->systems_x[i] = side * vr_unit(vr_rand(s->seed, s->universe, 0, i, VR_RS_SYSTEM_X));
        c->systems_y[i] = side * vr_unit(vr_rand(s->seed, s->universe, 0, i, VR_RS_SYSTEM_Y));
        uint64_t r = vr_rand(s->seed, s->universe, 0, i, VR_RS_OWNER);
        c->systems_owner[i] = (r & 3) ? 0 : (uint16_t)(1 + (r >> 8) % s->factions);
    }

    /* undirected edges as (min << 32 | max), deduplicated by sorting */
    size_t maxe = (size_t)(n - 1) + (size_t)KNN * n;
    uint64_t *edges = malloc(maxe * sizeof *edges);
    float *best = malloc(n * sizeof *best);
    uint32_t *from = malloc(n * sizeof *from);
    uint8_t *in = calloc(n, 1);
    if (!edges || !best || !from || !in) {
        free(edges), free(best), free(from), free(in);
        return -ENOMEM;
    }
    size_t ne = 0;
    /* Prim's minimum spanning tree */
    for (uint32_t i = 0; i < n; i++)
        best[i] = INFINITY, from[i] = 0;
    best[0] = 0;
    for (uint32_t step = 0; step < n; step++) {
        uint32_t u = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++)
            if (!in[i] && (u == UINT32_MAX || best[i] < best[u]))
                u = i;
        in[u] = 1;
        if (step > 0) {
            uint32_t a = u < from[u] ? u : from[u], b = u < from[u] ? from[u] : u;
            edges[ne++] = ((uint64_t)a << 32) | b;
        }
        for (uint32_t v = 0; v < n; v++)
            if (!in[v]) {
                float d = dist(c, u, v);
                if (d < best[v])
                    best[v] = d, from[v] = u;
            }
    }
    /* the KNN nearest neighbours of each system */
    for (uint32_t u = 0; u < n; u++) {
        uint32_t nb[KNN];
        float nd[KNN];
        int k = 0;
        for (uint32_t v = 0; v < n; v++) {
            if (v == u)
                continue;
            float d = dist(c, u, v);
            int pos = k;
            while (pos > 0 && d < nd[pos - 1])
                pos--;
            if (pos >= KNN)
                continue;
            for (int j = (k < KNN ? k : KNN - 1); j > pos; j--)
                nb[j] = nb[j - 1], nd[j] = nd[j - 1];
            nb[pos] = v, nd[pos] = d;
            if (k < KNN)
                k++;
        }
        for (int j = 0; j < k; j++) {
            uint32_t a = u < nb[j] ? u : nb[j], b = u < nb[j] ? nb[j] : u;
            edges[ne++] = ((uint64_t)a << 32) | b;
        }
    }
    qsort(edges, ne, sizeof *edges, cmp_edge);
    size_t m = 0;
    for (size_t i = 0; i < ne; i++)
        if (m == 0 || edges[i] != edges[m - 1])
            edges[m++] = edges[i];

    /* CSR, one row per direction, grouped by source */
    uint32_t *deg = calloc(n, sizeof *deg);
    if (!deg) {
        free(edges), free(best), free(from), free(in);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m; i++)
        deg[edges[i] >> 32]++, deg[(uint32_t)edges[i]]++;
    uint32_t acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        c->systems_lane_begin[i] = acc;
        c->systems_lane_count[i] = 0;
        acc += deg[i];
    }
    for (uint32_t r = 0; r < acc; r++) {
        uint64_t id;
        int rc = vr_ent_alloc(c, VR_TAB_lanes, &id);
        if (rc) {
            free(edges), free(best), free(from), free(in), free(deg);
            return rc;
        }
    }
    for (size_t i = 0; i < m; i++) {
        uint32_t a = (uint32_t)(edges[i] >> 32), b = (uint32_t)edges[i];
        float d = dist(c, a, b);
        uint32_t ra = c->systems_lane_begin[a] + c->systems_lane_count[a]++;
        uint32_t rb = c->systems_lane_begin[b] + c->systems_lane_count[b]++;
        c->lanes_from[ra] = a, c->lanes_to[ra] = b, c->lanes_length[ra] = d;
        c->lanes_from[rb] = b, c->lanes_to[rb] = a, c->lanes_length[rb] = d;
    }
    free(edges), free(best), free(from), free(in), free(deg);

    for (uint32_t k = 0; k < s->fleets; k++) {
        int rc = vr__spawn_fleet(sim, c, 0, k);
        if (rc)
            return rc;
    }
    return 0;
}
