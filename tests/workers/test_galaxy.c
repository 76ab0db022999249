/* test_galaxy.c: Check suite for workers/galaxy.c (turn 0 of a universe).
 *
 * The galaxy is the graph every later system walks, so its shape is checked
 * directly on the arena columns: every system has a lane, lanes come in
 * symmetric pairs whose length is the Euclidean distance, the CSR grouping
 * is exact, the graph is connected, and every system is linked to its
 * nearest neighbours; the internal graph of each system follows the cost
 * rules (nebula x2, asteroid field x1.5) and gates join neighbouring
 * systems.  Genesis must be a pure function of the scenario:
 * two arenas give the same state hash, another seed another hash.
 * The content's names reach the arena: factions.name and one designs row
 * per content design (its id, hull class, price and the stats its ships
 * get), from built-in content and from the real pack, with names too long
 * for their column cut between UTF-8 characters.
 */
#include "vr_sim.h"
#include "vr_test_world.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static vr_scenario scenario(uint64_t seed)
{
    vr_scenario s = {.seed = seed, .universe = 2, .systems = 300, .fleets = 400, .factions = 5};
    return s;
}

/* An arena sized for s by vr_sim_capacity, created under tag; the caller
 * detaches and unlinks. */
static vr_arena *arena_for(const vr_scenario *s, const char *tag, char *seg, size_t seglen)
{
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.universe = s->universe;
    spec.seed = s->seed;
    vr_sim_capacity(s, spec.capacity);
    vt_segname(seg, seglen, tag);
    vr_arena *a = NULL;
    int rc = vr_arena_create(&a, seg, &spec, 0600);
    ck_assert_msg(rc == 0, "create %s: %s", seg, vr_strerror(rc));
    return a;
}

static void drop(vr_arena **a, const char *seg)
{
    vr_arena_detach(a);
    ck_assert_int_eq(shm_unlink(seg), 0);
}

/* Genesis of s into a new arena; returns the arena with turn 0 in its work
 * buffer (not published) and *cols pointing at it. */
static vr_arena *genesis(const vr_scenario *s, const char *tag, char *seg, size_t seglen, vr_cols *cols)
{
    vr_arena *a = arena_for(s, tag, seg, seglen);
    ck_assert_int_eq(vr_arena_begin(a, cols), 0);
    vr_sim *sim = NULL;
    ck_assert_int_eq(vr_sim_new(&sim, s), 0);
    int rc = vr_sim_genesis(sim, cols);
    ck_assert_msg(rc == 0, "genesis: %s", vr_strerror(rc));
    vr_sim_destroy(&sim);
    ck_assert_ptr_null(sim);
    return a;
}

static float dist(const vr_cols *c, uint32_t a, uint32_t b)
{
    float dx = c->systems_x[a] - c->systems_x[b];
    float dy = c->systems_y[a] - c->systems_y[b];
    return sqrtf(dx * dx + dy * dy);
}

/* Row of the lane a->b, or -1. */
static int64_t lane(const vr_cols *c, uint32_t a, uint32_t b)
{
    uint32_t l = c->systems_lane_begin[a], e = l + c->systems_lane_count[a];
    for (; l < e; l++)
        if (c->lanes_to[l] == b)
            return l;
    return -1;
}

START_TEST(test_capacity)
{
    vr_scenario s = scenario(1);
    uint32_t cap[VR_NTABLES];
    memset(cap, 0xFF, sizeof cap);
    vr_sim_capacity(&s, cap);
    ck_assert_uint_eq(cap[VR_TAB_systems], s.systems);
    ck_assert_uint_ge(cap[VR_TAB_fleets], s.fleets);
    /* a tree plus 3 neighbours each, both directions */
    ck_assert_uint_ge(cap[VR_TAB_lanes], 2 * (s.systems - 1 + 3 * s.systems));
}
END_TEST

START_TEST(test_systems_and_csr)
{
    vr_scenario s = scenario(7);
    char seg[64];
    vr_cols c;
    vr_arena *a = genesis(&s, "csr", seg, sizeof seg, &c);
    uint32_t n = s.systems;
    ck_assert_uint_eq(c.tables[VR_TAB_systems].count, n);
    ck_assert_uint_eq(c.tables[VR_TAB_systems].live, n);
    uint32_t nl = c.tables[VR_TAB_lanes].count;
    ck_assert_uint_eq(c.tables[VR_TAB_lanes].live, nl);
    ck_assert_uint_le(nl, c.capacity[VR_TAB_lanes]);
    ck_assert_uint_eq(nl % 2, 0);
    ck_assert_uint_ge(nl, 2 * (n - 1)); /* at least a spanning tree */
    float side = 10.0f * sqrtf((float)n);
    uint32_t next = 0;
    int owned = 0;
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(c.gen[VR_TAB_systems][i] & 1, 1);
        ck_assert(c.systems_x[i] >= 0.0f && c.systems_x[i] < side);
        ck_assert(c.systems_y[i] >= 0.0f && c.systems_y[i] < side);
        ck_assert_uint_le(c.systems_owner[i], s.factions);
        owned += c.systems_owner[i] != 0;
        /* CSR: each system's lanes follow the previous system's, from it */
        ck_assert_uint_eq(c.systems_lane_begin[i], next);
        ck_assert_msg(c.systems_lane_count[i] >= 1, "system %u has no lane", i);
        for (uint32_t l = c.systems_lane_begin[i]; l < c.systems_lane_begin[i] + c.systems_lane_count[i]; l++) {
            ck_assert_uint_eq(c.lanes_from[l], i);
            ck_assert_uint_lt(c.lanes_to[l], n);
            ck_assert_uint_ne(c.lanes_to[l], i);
            /* no duplicate lane */
            for (uint32_t m = c.systems_lane_begin[i]; m < l; m++)
                ck_assert_uint_ne(c.lanes_to[m], c.lanes_to[l]);
        }
        next += c.systems_lane_count[i];
    }
    ck_assert_uint_eq(next, nl);
    ck_assert_int_gt(owned, 0);
    ck_assert_int_lt(owned, (int)n);
    drop(&a, seg);
}
END_TEST

START_TEST(test_lanes_symmetric_euclidean)
{
    vr_scenario s = scenario(8);
    char seg[64];
    vr_cols c;
    vr_arena *a = genesis(&s, "sym", seg, sizeof seg, &c);
    uint32_t nl = c.tables[VR_TAB_lanes].count;
    ck_assert_uint_gt(nl, 0);
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t from = c.lanes_from[l], to = c.lanes_to[l];
        float d = dist(&c, from, to);
        ck_assert_msg(fabsf(c.lanes_length[l] - d) <= 1e-5f * d, "lane %u->%u: length %g, distance %g",
                      from, to, (double)c.lanes_length[l], (double)d);
        ck_assert(c.lanes_length[l] > 0.0f);
        int64_t back = lane(&c, to, from);
        ck_assert_msg(back >= 0, "lane %u->%u has no way back", from, to);
        ck_assert_uint_eq(c.lanes_from[back], to);
        ck_assert_float_eq(c.lanes_length[back], c.lanes_length[l]);
    }
    drop(&a, seg);
}
END_TEST

START_TEST(test_connected)
{
    vr_scenario s = scenario(9);
    char seg[64];
    vr_cols c;
    vr_arena *a = genesis(&s, "conn", seg, sizeof seg, &c);
    uint32_t n = s.systems;
    uint8_t *seen = calloc(n, 1);
    uint32_t *queue = malloc(n * sizeof *queue);
    ck_assert(seen && queue);
    uint32_t head = 0, tail = 0;
    seen[0] = 1;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t u = queue[head++];
        for (uint32_t l = c.systems_lane_begin[u]; l < c.systems_lane_begin[u] + c.systems_lane_count[u]; l++) {
            uint32_t v = c.lanes_to[l];
            if (!seen[v]) {
                seen[v] = 1;
                queue[tail++] = v;
            }
        }
    }
    ck_assert_uint_eq(tail, n);
    free(seen);
    free(queue);
    drop(&a, seg);
}
END_TEST

/* Every system is linked to its nearest neighbour, and to each of its three
 * nearest (the documented construction). */
START_TEST(test_nearest_neighbours_linked)
{
    vr_scenario s = scenario(10);
    char seg[64];
    vr_cols c;
    vr_arena *a = genesis(&s, "knn", seg, sizeof seg, &c);
    uint32_t n = s.systems;
    for (uint32_t u = 0; u < n; u++) {
        /* the three smallest distances from u */
        float best[3] = {INFINITY, INFINITY, INFINITY};
        for (uint32_t v = 0; v < n; v++) {
            if (v == u)
                continue;
            float d = dist(&c, u, v);
            if (d < best[2]) {
                best[2] = d;
                for (int j = 2; j > 0 && best[j] < best[j - 1]; j--) {
                    float t = best[j];
                    best[j] = best[j - 1];
                    best[j - 1] = t;
                }
            }
        }
        int linked_nearest = 0;
        for (uint32_t v = 0; v < n; v++) {
            if (v == u)
                continue;
            float d = dist(&c, u, v);
            if (d == best[0])
                linked_nearest |= lane(&c, u, v) >= 0;
            if (d < best[2])
                ck_assert_msg(lane(&c, u, v) >= 0, "system %u: neighbour %u at %g not linked", u, v,
                              (double)d);
        }
        ck_assert_msg(linked_nearest, "system %u is not linked to its nearest neighbour", u);
        ck_assert_uint_ge(c.systems_lane_count[u], 3);
    }
    drop(&a, seg);
}
END_TEST

START_TEST(test_fleets)
{
    vr_scenario s = scenario(11);
    char seg[64];
    vr_cols c;
    vr_arena *a = genesis(&s, "fleets", seg, sizeof seg, &c);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].count, s.fleets);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].live, s.fleets);
    uint32_t moving = 0;
    for (uint32_t i = 0; i < s.fleets; i++) {
        ck_assert_uint_eq(c.gen[VR_TAB_fleets][i] & 1, 1);
        ck_assert_uint_lt(c.fleets_at[i], s.systems);
        ck_assert_uint_eq(c.fleets_next[i], c.fleets_at[i]);
        ck_assert_uint_lt(c.fleets_dest[i], s.systems);
        ck_assert_uint_ge(c.fleets_faction[i], 1);
        ck_assert_uint_le(c.fleets_faction[i], s.factions);
        ck_assert_uint_ge(c.fleets_ships[i], 1);
        ck_assert(c.fleets_speed[i] > 0.0f);
        ck_assert_float_eq(c.fleets_progress[i], 0.0f);
        ck_assert_uint_eq(c.fleets_arrivals[i], 0);
        moving += c.fleets_dest[i] != c.fleets_at[i];
    }
    ck_assert_uint_gt(moving, s.fleets / 2);
    drop(&a, seg);
}
END_TEST

START_TEST(test_deterministic)
{
    vr_scenario s = scenario(12345);
    char sa[64], sb[64], sc[64], sd[64];
    vr_cols ca, cb, cc, cd;
    vr_arena *a = genesis(&s, "deta", sa, sizeof sa, &ca);
    vr_arena *b = genesis(&s, "detb", sb, sizeof sb, &cb);
    uint64_t ha = vr_arena_hash(a);
    ck_assert_uint_ne(ha, 0);
    ck_assert_uint_eq(vr_arena_hash(b), ha);
    /* every column, not only the hash */
    for (int col = 0; col < VR_NCOLUMNS; col++) {
        uint32_t t = vr_columns[col].table;
        size_t bytes = (size_t)ca.tables[t].count * vr_columns[col].elem_size * vr_columns[col].lanes;
        ck_assert_msg(memcmp(ca.col[col], cb.col[col], bytes) == 0, "column %s.%s differs",
                      vr_tables[t].name, vr_columns[col].name);
    }
    /* published and read back, still the same */
    ck_assert_int_eq(vr_arena_publish(a, 0, ha), 0);
    ck_assert_uint_eq(vr_arena_hash(a), ha);

    /* another seed (in the arena spec and the scenario): another galaxy */
    vr_scenario s2 = scenario(12346);
    vr_arena *c2 = genesis(&s2, "detc", sc, sizeof sc, &cc);
    ck_assert_uint_ne(vr_arena_hash(c2), ha);
    ck_assert(memcmp(cc.systems_x, ca.systems_x, s.systems * sizeof(float)) != 0);
    /* another universe of the same seed: another galaxy too */
    vr_scenario s3 = s;
    s3.universe = 3;
    vr_arena *d = genesis(&s3, "detd", sd, sizeof sd, &cd);
    ck_assert_uint_ne(vr_arena_hash(d), ha);
    drop(&d, sd);
    drop(&c2, sc);
    drop(&b, sb);
    drop(&a, sa);
}
END_TEST

START_TEST(test_too_small)
{
    vr_scenario s = scenario(5);
    for (int t = 0; t < VR_NTABLES; t++) {
        vr_arena_spec spec;
        memset(&spec, 0, sizeof spec);
        vr_sim_capacity(&s, spec.capacity);
        if (spec.capacity[t] == 0) /* a table this scenario does not use (portals without a network) */
            continue;
        spec.capacity[t] -= 1;
        char seg[64], tag[16];
        snprintf(tag, sizeof tag, "small%d", t);
        vt_segname(seg, sizeof seg, tag);
        vr_arena *a = NULL;
        ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0600), 0);
        vr_cols c;
        ck_assert_int_eq(vr_arena_begin(a, &c), 0);
        vr_sim *sim = NULL;
        ck_assert_int_eq(vr_sim_new(&sim, &s), 0);
        ck_assert_int_eq(vr_sim_genesis(sim, &c), -VR_EFULL);
        /* refused before writing anything */
        for (int u = 0; u < VR_NTABLES; u++)
            ck_assert_uint_eq(c.tables[u].count, 0);
        vr_sim_destroy(&sim);
        drop(&a, seg);
    }
}
END_TEST

START_TEST(test_bad_scenario)
{
    vr_sim *sim = (vr_sim *)&sim;
    vr_scenario s = scenario(1);
    s.systems = 1;
    ck_assert_int_eq(vr_sim_new(&sim, &s), -VR_EBADARG);
    ck_assert_ptr_null(sim);
    s = scenario(1);
    s.factions = 0;
    ck_assert_int_eq(vr_sim_new(&sim, &s), -VR_EBADARG);
    s.factions = 65536;
    ck_assert_int_eq(vr_sim_new(&sim, &s), -VR_EBADARG);
    s.factions = 65535;
    ck_assert_int_eq(vr_sim_new(&sim, &s), 0);
    vr_sim_destroy(&sim);
    ck_assert_ptr_null(sim);
    vr_sim_destroy(&sim);
}
END_TEST


/* ---- the internal (two-level) graph ------------------------------------- */

enum { STAR = 1, PLANET, ASTEROID, NEBULA, GATE };

static float ndist(const vr_cols *c, uint32_t a, uint32_t b)
{
    float dx = c->nodes_x[a] - c->nodes_x[b], dy = c->nodes_y[a] - c->nodes_y[b];
    return sqrtf(dx * dx + dy * dy);
}

/* Row of the edge a->b, or -1. */
static int64_t edge(const vr_cols *c, uint32_t a, uint32_t b)
{
    for (uint32_t e = c->nodes_edge_begin[a], x = e + c->nodes_edge_count[a]; e < x; e++)
        if (c->edges_to[e] == b)
            return e;
    return -1;
}

START_TEST(test_internal_graph_shape)
{
    vr_scenario s = scenario(21);
    char seg[VR_SEGNAME_MAX];
    vr_cols c;
    vr_arena *a = genesis(&s, "int", seg, sizeof seg, &c);
    uint32_t nn = c.tables[VR_TAB_nodes].count, ne = c.tables[VR_TAB_edges].count;
    uint32_t next_node = 0, next_edge = 0, kinds[6] = {0};
    for (uint32_t i = 0; i < s.systems; i++) {
        /* nodes of a system are contiguous, start with its star, and one gate per lane */
        ck_assert_uint_eq(c.systems_node_begin[i], next_node);
        next_node += c.systems_node_count[i];
        uint32_t first = c.systems_node_begin[i], gates = 0, planets = 0;
        ck_assert_uint_eq(c.nodes_kind[first], STAR);
        for (uint32_t v = first; v < first + c.systems_node_count[i]; v++) {
            ck_assert_uint_eq(c.nodes_system[v], i);
            gates += c.nodes_kind[v] == GATE;
            planets += c.nodes_kind[v] == PLANET;
        }
        ck_assert_uint_eq(gates, c.systems_lane_count[i]);
        ck_assert_uint_ge(planets, 1);
    }
    ck_assert_uint_eq(next_node, nn);
    for (uint32_t v = 0; v < nn; v++) {
        ck_assert_uint_eq(c.nodes_edge_begin[v], next_edge); /* CSR grouped by source */
        next_edge += c.nodes_edge_count[v];
        ck_assert_uint_ge(c.nodes_edge_count[v], 1);
        kinds[c.nodes_kind[v]]++;
    }
    ck_assert_uint_eq(next_edge, ne);
    ck_assert_uint_gt(kinds[ASTEROID], 0);
    ck_assert_uint_gt(kinds[NEBULA], 0);
    ck_assert_uint_eq(c.tables[VR_TAB_planets].count, kinds[PLANET]);
    ck_assert_uint_eq(c.tables[VR_TAB_asteroids].count, kinds[ASTEROID]);
    drop(&a, seg);
}
END_TEST

START_TEST(test_edge_cost_rules)
{
    vr_scenario s = scenario(22);
    char seg[VR_SEGNAME_MAX];
    vr_cols c;
    vr_arena *a = genesis(&s, "cost", seg, sizeof seg, &c);
    uint32_t nn = c.tables[VR_TAB_nodes].count, checked_neb = 0, checked_ast = 0, gate_links = 0;
    for (uint32_t v = 0; v < nn; v++)
        for (uint32_t e = c.nodes_edge_begin[v], x = e + c.nodes_edge_count[v]; e < x; e++) {
            uint32_t w = c.edges_to[e];
            float d = ndist(&c, v, w), cost = c.edges_cost[e];
            ck_assert_uint_eq(c.edges_blocked[e], 0);
            /* every edge exists in both directions with the same cost, except
             * gate-to-gate edges, which exist per lane row in each direction */
            int64_t back = edge(&c, w, v);
            ck_assert_int_ge(back, 0);
            ck_assert(c.edges_cost[back] == cost);
            if (c.edges_lane[e] != UINT32_MAX) {
                /* gates join neighbouring systems, at the lane's length */
                uint32_t l = c.edges_lane[e];
                ck_assert_uint_eq(c.nodes_kind[v], GATE);
                ck_assert_uint_eq(c.nodes_kind[w], GATE);
                ck_assert_uint_eq(c.lanes_gate[l], v);
                ck_assert_uint_eq(c.nodes_system[v], c.lanes_from[l]);
                ck_assert_uint_eq(c.nodes_system[w], c.lanes_to[l]);
                ck_assert(cost == c.lanes_length[l]);
                gate_links++;
            } else if (c.nodes_kind[v] == NEBULA || c.nodes_kind[w] == NEBULA) {
                ck_assert_float_eq_tol(cost, 2.0f * d, 1e-4f * d + 1e-6f);
                checked_neb++;
            } else if (c.nodes_kind[v] == ASTEROID || c.nodes_kind[w] == ASTEROID) {
                ck_assert_float_eq_tol(cost, 1.5f * d, 1e-4f * d + 1e-6f);
                checked_ast++;
            } else {
                ck_assert_float_eq_tol(cost, d, 1e-4f * d + 1e-6f);
            }
        }
    ck_assert_uint_eq(gate_links, c.tables[VR_TAB_lanes].count);
    ck_assert_uint_gt(checked_neb, 0);
    ck_assert_uint_gt(checked_ast, 0);
    drop(&a, seg);
}
END_TEST

/* BFS over the two-level graph from node 0 reaches every node. */
static void check_fine_connected(const vr_cols *c)
{
    uint32_t nn = c->tables[VR_TAB_nodes].count;
    uint32_t *q = malloc(nn * sizeof *q);
    uint8_t *seen = calloc(nn, 1);
    ck_assert(q && seen);
    uint32_t head = 0, tail = 0;
    q[tail++] = 0;
    seen[0] = 1;
    while (head < tail) {
        uint32_t v = q[head++];
        for (uint32_t e = c->nodes_edge_begin[v], x = e + c->nodes_edge_count[v]; e < x; e++)
            if (!seen[c->edges_to[e]]) {
                seen[c->edges_to[e]] = 1;
                q[tail++] = c->edges_to[e];
            }
    }
    ck_assert_uint_eq(tail, nn);
    free(q);
    free(seen);
}

START_TEST(test_fine_graph_connected)
{
    vr_scenario s = scenario(23);
    char seg[VR_SEGNAME_MAX];
    vr_cols c;
    vr_arena *a = genesis(&s, "fine", seg, sizeof seg, &c);
    check_fine_connected(&c);
    drop(&a, seg);
}
END_TEST

/* Tens of thousands of systems: the generator must scale (grid + Kruskal),
 * and stay connected with a spanning tree's worth of lanes at least. */
START_TEST(test_large_galaxy)
{
    vr_scenario s = {.seed = 5, .universe = 0, .systems = 20000, .fleets = 10, .factions = 4};
    char seg[VR_SEGNAME_MAX];
    vr_cols c;
    vr_arena *a = genesis(&s, "large", seg, sizeof seg, &c);
    ck_assert_uint_ge(c.tables[VR_TAB_lanes].count, 2 * (s.systems - 1));
    ck_assert_uint_ge(c.tables[VR_TAB_nodes].count, 5 * s.systems);
    check_fine_connected(&c);
    drop(&a, seg);
}
END_TEST

START_TEST(test_ships_and_factions)
{
    vr_scenario s = scenario(24);
    char seg[VR_SEGNAME_MAX];
    vr_cols c;
    vr_arena *a = genesis(&s, "ships", seg, sizeof seg, &c);
    uint32_t nf = c.tables[VR_TAB_fleets].count, ns = c.tables[VR_TAB_ships].count;
    uint32_t *count = calloc(nf, sizeof *count), per_faction[8] = {0};
    float *slowest = malloc(nf * sizeof *slowest);
    for (uint32_t f = 0; f < nf; f++)
        slowest[f] = INFINITY;
    for (uint32_t r = 0; r < ns; r++) {
        uint32_t f = c.ships_fleet[r];
        ck_assert_uint_lt(f, nf);
        ck_assert_uint_eq(c.ships_faction[r], c.fleets_faction[f]);
        ck_assert(c.ships_hull[r] > 0);
        ck_assert_uint_le(c.ships_accuracy[r], 100);
        count[f]++;
        per_faction[c.ships_faction[r] - 1]++;
        if (c.ships_speed[r] < slowest[f])
            slowest[f] = c.ships_speed[r];
    }
    for (uint32_t f = 0; f < nf; f++) {
        ck_assert_uint_eq(count[f], c.fleets_ships[f]);
        ck_assert(c.fleets_speed[f] == slowest[f]); /* the slowest hull sets the pace */
    }
    ck_assert_uint_eq(c.tables[VR_TAB_factions].count, s.factions);
    for (uint32_t f = 0; f < s.factions; f++) {
        ck_assert_uint_eq(c.factions_ships[f], per_faction[f]);
        for (uint32_t g = 0; g < s.factions; g++) { /* relations are symmetric */
            ck_assert_uint_eq(c.relations_state[f * s.factions + g], c.relations_state[g * s.factions + f]);
            if (f == g)
                ck_assert_uint_eq(c.relations_state[f * s.factions + g], 3);
        }
    }
    free(count);
    free(slowest);
    drop(&a, seg);
}
END_TEST

/* ---- names and designs from the content ------------------------------------ */

/* Name column row `row` holds exactly `expect` (which fits), then NULs. */
static void check_name(const uint8_t *col, uint32_t width, uint32_t row, const char *expect)
{
    const uint8_t *p = col + (size_t)row * width;
    size_t n = strlen(expect);
    ck_assert_msg(n <= width, "'%s' does not fit %u bytes", expect, width);
    ck_assert_msg(memcmp(p, expect, n) == 0, "row %u: '%.*s', expected '%s'", row, (int)width, (const char *)p,
                  expect);
    for (size_t i = n; i < width; i++)
        ck_assert_msg(p[i] == 0, "row %u: byte %zu after '%s' is %u, not NUL", row, i, expect, p[i]);
}

static uint32_t lanes_of(int col) { return vr_columns[col].lanes; }

/* factions.name and the designs table mirror sim's content; the ships made
 * at turn 0 carry their design's stats.  For content whose names all fit. */
static void check_content_tables(const vr_cols *c, const vr_sim *sim)
{
    uint32_t ncf, nh, nd;
    const vr_faction *cf = vr_content_factions(sim->content, &ncf);
    const vr_hull_class *h = vr_content_hulls(sim->content, &nh);
    const vr_design *d = vr_content_designs(sim->content, &nd);
    uint32_t nf = c->tables[VR_TAB_factions].count;
    ck_assert_uint_eq(nd, sim->ndesigns);
    ck_assert_uint_eq(c->tables[VR_TAB_designs].count, nd);
    ck_assert_uint_eq(c->tables[VR_TAB_designs].live, nd);
    for (uint32_t f = 0; f < nf; f++) {
        ck_assert_uint_lt(c->factions_content[f], ncf);
        check_name(c->factions_name, lanes_of(VR_COL_factions_name), f,
                   vr_content_string(sim->content, cf[c->factions_content[f]].id));
    }
    for (uint32_t i = 0; i < nd; i++) {
        ck_assert_uint_eq(c->gen[VR_TAB_designs][i] & 1, 1);
        check_name(c->designs_name, lanes_of(VR_COL_designs_name), i, vr_content_string(sim->content, d[i].id));
        ck_assert_uint_lt(d[i].hull, nh);
        check_name(c->designs_hull_class, lanes_of(VR_COL_designs_hull_class), i,
                   vr_content_string(sim->content, h[d[i].hull].id));
        uint32_t first = 0;
        for (uint32_t f = nf; f-- > 0;)
            if (c->factions_content[f] == d[i].faction)
                first = f + 1;
        ck_assert_uint_eq(c->designs_faction[i], first);
        ck_assert_int_gt(c->designs_cost[i], 0);
        ck_assert_int_eq(c->designs_cost[i], sim->design_credits[i]);
        ck_assert_int_eq(c->designs_alloys[i], sim->design_alloys[i]);
        ck_assert_uint_eq(c->designs_build_turns[i], sim->design_turns[i]);
        const vr_shipstats *st = &sim->stats[i];
        ck_assert(c->designs_hull[i] == st->hull && c->designs_hull[i] > 0);
        ck_assert(c->designs_shield[i] == st->shield && c->designs_armor[i] == st->armor);
        ck_assert(c->designs_strength[i] == st->strength && c->designs_ap[i] == st->ap);
        ck_assert(c->designs_speed[i] == st->speed && c->designs_speed[i] > 0);
        ck_assert_uint_eq(c->designs_attacks[i], st->attacks);
        ck_assert_uint_eq(c->designs_accuracy[i], st->accuracy);
        ck_assert_uint_eq(c->designs_evasion[i], st->evasion);
        ck_assert_uint_eq(c->designs_morale[i], st->morale);
        ck_assert_uint_eq(c->designs_cargo[i], st->cargo);
    }
    /* a reader can take a ship's stats and owner from its design's row */
    uint32_t ns = c->tables[VR_TAB_ships].count;
    ck_assert_uint_gt(ns, 0);
    for (uint32_t r = 0; r < ns; r++) {
        uint16_t k = c->ships_design[r];
        ck_assert_uint_lt(k, nd);
        ck_assert(c->ships_hull[r] == c->designs_hull[k] && c->ships_speed[r] == c->designs_speed[k]);
        ck_assert_uint_eq(c->ships_attacks[r], c->designs_attacks[k]);
        uint16_t owner = c->designs_faction[k];
        ck_assert_uint_ge(owner, 1);
        ck_assert_uint_eq(c->factions_content[owner - 1], c->factions_content[c->ships_faction[r] - 1]);
    }
}

/* Row of the faction named `name`, or -1. */
static int faction_named(const vr_cols *c, const char *name)
{
    uint32_t w = lanes_of(VR_COL_factions_name);
    for (uint32_t f = 0; f < c->tables[VR_TAB_factions].count; f++)
        if (strncmp((const char *)c->factions_name + (size_t)f * w, name, w) == 0 && strlen(name) <= w)
            return (int)f;
    return -1;
}

START_TEST(test_names_builtin)
{
    vr_scenario s = scenario(31); /* 5 factions; the built-in content has 6 */
    char seg[VR_SEGNAME_MAX];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
    vt_world_make("namesb", &s, seg, sizeof seg, &a, &c, &sim);
    ck_assert_uint_eq(sim->ndesigns, VR_CONTENT_BUILTIN_DESIGNS);
    uint32_t cap[VR_NTABLES];
    vr_sim_capacity(&s, cap);
    ck_assert_uint_eq(cap[VR_TAB_designs], VR_CONTENT_BUILTIN_DESIGNS);
    check_content_tables(&c, sim);
    /* the 6th content faction plays no faction here: its designs have none */
    uint32_t none = 0;
    for (uint32_t i = 0; i < sim->ndesigns; i++)
        none += c.designs_faction[i] == 0;
    ck_assert_uint_eq(none, VR_CONTENT_BUILTIN_DESIGNS / 6);
    /* generated names, distinct per faction */
    for (uint32_t f = 0; f < s.factions; f++) {
        ck_assert_uint_ne(c.factions_name[f * lanes_of(VR_COL_factions_name)], 0);
        for (uint32_t g = 0; g < f; g++)
            ck_assert(memcmp(c.factions_name + f * lanes_of(VR_COL_factions_name),
                             c.factions_name + g * lanes_of(VR_COL_factions_name), lanes_of(VR_COL_factions_name)));
    }
    vt_world_drop(seg, &a, &sim);

    /* more factions than the content has: names repeat in order */
    s.factions = 8;
    vt_world_make("namesb8", &s, seg, sizeof seg, &a, &c, &sim);
    check_content_tables(&c, sim);
    uint32_t w = lanes_of(VR_COL_factions_name);
    ck_assert_mem_eq(c.factions_name + 6 * w, c.factions_name, w);
    ck_assert_mem_eq(c.factions_name + 7 * w, c.factions_name + w, w);
    for (uint32_t i = 0; i < sim->ndesigns; i++)
        ck_assert_uint_le(c.designs_faction[i], 6);
    vt_world_drop(seg, &a, &sim);
}
END_TEST

START_TEST(test_names_from_pack)
{
    vr_content *pack = NULL;
    char err[512] = "";
    int rc = vr_content_load(&pack, vt_pack_dir(), err, sizeof err);
    ck_assert_msg(rc == 0, "content pack %s: %s", vt_pack_dir(), err);
    vr_scenario s = scenario(32);
    s.factions = 10;
    s.content = pack;
    char seg[VR_SEGNAME_MAX];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
    vt_world_make("namesp", &s, seg, sizeof seg, &a, &c, &sim);
    uint32_t cap[VR_NTABLES];
    vr_sim_capacity(&s, cap);
    ck_assert_uint_eq(cap[VR_TAB_designs], 420);
    ck_assert_uint_eq(c.tables[VR_TAB_designs].count, 420);
    check_content_tables(&c, sim); /* every name of the pack fits: none is cut */
    int templars = faction_named(&c, "Templars_of_the_Flux");
    ck_assert_int_ge(templars, 0);
    ck_assert_int_ge(faction_named(&c, "VoidSpawn_Entities"), 0);
    int k = vr_content_design_find(pack, "templars_of_the_flux_fighter_standard");
    ck_assert_int_ge(k, 0);
    check_name(c.designs_name, lanes_of(VR_COL_designs_name), (uint32_t)k, "templars_of_the_flux_fighter_standard");
    check_name(c.designs_hull_class, lanes_of(VR_COL_designs_hull_class), (uint32_t)k, "corvette");
    ck_assert_uint_eq(c.designs_faction[k], (uint32_t)templars + 1);
    ck_assert_int_eq(c.designs_cost[k], 200 * 1000); /* "cost": 200 in the pack */
    vt_world_drop(seg, &a, &sim);
    vr_content_destroy(&pack);
}
END_TEST

/* Ids longer than their column: 47 ASCII bytes + U+03A9 (2 bytes) for a
 * faction (48 wide), 63 + U+20AC (3 bytes) for a design (64 wide). */
#define LONG_FACTION "Faction_with_a_rather_long_name_for_one_column_\\u03a9"
#define LONG_DESIGN "design_with_a_name_that_runs_past_the_sixty_four_bytes_it_gets_\\u20ac"

START_TEST(test_names_truncated)
{
    char dir[64];
    vt_pack_write(dir, sizeof dir, "{\"" LONG_FACTION "\": {\"id\": \"" LONG_FACTION "\"}}",
                  "{\"gun\": {\"id\": \"gun\", \"stats\": {\"range\": 20, \"strength\": 5, \"ap\": -1, "
                  "\"attacks\": 2}}}",
                  "{\"" LONG_DESIGN "\": {\"blueprint_id\": \"" LONG_DESIGN "\", \"type\": \"cruiser\", "
                  "\"faction\": \"" LONG_FACTION "\", \"cost\": 500, \"base_stats\": {\"hp\": 900, "
                  "\"speed\": 40}, \"components\": [{\"slot\": \"weapon\", \"component\": \"gun\"}]}}");
    vr_content *pack = NULL;
    char err[512] = "";
    int rc = vr_content_load(&pack, dir, err, sizeof err);
    vt_rmtree(dir);
    ck_assert_msg(rc == 0, "small pack: %s", err);
    ck_assert_uint_eq(strlen(vr_content_string(pack, vr_content_factions(pack, NULL)[0].id)), 49);
    ck_assert_uint_eq(strlen(vr_content_string(pack, vr_content_designs(pack, NULL)[0].id)), 66);
    vr_scenario s = scenario(33);
    s.factions = 2;
    s.content = pack;
    char seg[VR_SEGNAME_MAX];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
    vt_world_make("namest", &s, seg, sizeof seg, &a, &c, &sim);
    /* cut before the character that does not fit whole; nothing beyond the row */
    check_name(c.factions_name, 48, 0, "Faction_with_a_rather_long_name_for_one_column_");
    check_name(c.factions_name, 48, 1, "Faction_with_a_rather_long_name_for_one_column_");
    check_name(c.designs_name, 64, 0, "design_with_a_name_that_runs_past_the_sixty_four_bytes_it_gets_");
    check_name(c.designs_hull_class, 24, 0, "cruiser");
    ck_assert_uint_eq(c.designs_faction[0], 1);
    ck_assert(c.designs_hull[0] == 900.0f);
    vt_world_drop(seg, &a, &sim);
    vr_content_destroy(&pack);
}
END_TEST

static Suite *galaxy_suite(void)
{
    Suite *s = suite_create("galaxy");
    TCase *tc = tcase_create("genesis");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_capacity);
    tcase_add_test(tc, test_systems_and_csr);
    tcase_add_test(tc, test_lanes_symmetric_euclidean);
    tcase_add_test(tc, test_connected);
    tcase_add_test(tc, test_nearest_neighbours_linked);
    tcase_add_test(tc, test_fleets);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_too_small);
    tcase_add_test(tc, test_bad_scenario);
    tcase_add_test(tc, test_internal_graph_shape);
    tcase_add_test(tc, test_edge_cost_rules);
    tcase_add_test(tc, test_fine_graph_connected);
    tcase_add_test(tc, test_large_galaxy);
    tcase_add_test(tc, test_ships_and_factions);
    tcase_add_test(tc, test_names_builtin);
    tcase_add_test(tc, test_names_from_pack);
    tcase_add_test(tc, test_names_truncated);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    vt_init();
    SRunner *sr = srunner_create(galaxy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}
