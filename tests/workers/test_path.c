/* test_path.c: Check suite for workers/path.c and path_ch.c (path.h).
 *
 * The five cases of the original engine's pathfinding tests on hand-built
 * graphs (chain, branch, blocked edge, no path, start = goal), then the
 * contraction hierarchy against plain Dijkstra on a few hundred random
 * graphs (geometric plus random long edges, some one-way, integer and float
 * weights, with and without coordinates), blocked edges under every rebuild
 * policy, the result cache and its invalidation by the topology version,
 * determinism, and bad input.  Random graphs come from vr_rand with fixed
 * seeds, so every run checks the same graphs.
 */
#include "path.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { A, B, C, D };

/* Adds the two directions of an undirected edge. */
static size_t lane(vr_edge *e, size_t m, uint32_t u, uint32_t v, double cost)
{
    e[m++] = (vr_edge){u, v, cost};
    e[m++] = (vr_edge){v, u, cost};
    return m;
}

static vr_graph *graph_of(uint32_t n, const vr_edge *e, size_t m)
{
    vr_graph *g = NULL;
    ck_assert_int_eq(vr_graph_new(&g, n, e, m), 0);
    ck_assert_ptr_nonnull(g);
    return g;
}

static vr_pathfinder *pf_of(const vr_graph *g, int policy)
{
    vr_pathfinder *p = NULL;
    vr_path_opts o = {.rebuild = policy};
    ck_assert_int_eq(vr_pathfinder_new(&p, g, &o), 0);
    ck_assert_ptr_nonnull(p);
    return p;
}

typedef long (*query_fn)(vr_pathfinder *, uint32_t, uint32_t, double *, uint32_t *, size_t);
static const query_fn algos[3] = {vr_path_query, vr_path_dijkstra, vr_path_astar};
static const char *algo_names[3] = {"ch", "dijkstra", "astar"};

/* Asserts that every algorithm finds cost `want` and the path `nodes`. */
static void expect_path(vr_pathfinder *p, uint32_t s, uint32_t t, double want,
                        const uint32_t *nodes, size_t len)
{
    for (int a = 0; a < 3; a++) {
        double cost = -1;
        uint32_t out[16];
        long rc = algos[a](p, s, t, &cost, out, 16);
        ck_assert_msg(rc == (long)len, "%s: %u->%u returned %ld, want %zu", algo_names[a], s, t,
                      rc, len);
        ck_assert_msg(cost == want, "%s: %u->%u cost %g, want %g", algo_names[a], s, t, cost,
                      want);
        for (size_t i = 0; i < len; i++)
            ck_assert_msg(out[i] == nodes[i], "%s: node %zu is %u, want %u", algo_names[a], i,
                          out[i], nodes[i]);
        cost = -1;
        ck_assert_int_eq(algos[a](p, s, t, &cost, NULL, 0), 0); /* cost only */
        ck_assert(cost == want);
    }
}

/* ---- the original engine's cases ---------------------------------------- */

START_TEST(test_chain)
{
    vr_edge e[8];
    size_t m = lane(e, 0, A, B, 10);
    m = lane(e, m, B, C, 10);
    vr_graph *g = graph_of(3, e, m);
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
    expect_path(p, A, C, 20, (uint32_t[]){A, B, C}, 3);
    expect_path(p, C, A, 20, (uint32_t[]){C, B, A}, 3);
    vr_pathfinder_destroy(&p);
    ck_assert_ptr_null(p);
    vr_graph_destroy(&g);
    ck_assert_ptr_null(g);
}
END_TEST

static vr_graph *branch_graph(void)
{
    vr_edge e[8];
    size_t m = lane(e, 0, A, B, 10);
    m = lane(e, m, B, D, 10);
    m = lane(e, m, A, C, 30);
    m = lane(e, m, C, D, 30);
    return graph_of(4, e, m);
}

START_TEST(test_branch)
{
    vr_graph *g = branch_graph();
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
    expect_path(p, A, D, 20, (uint32_t[]){A, B, D}, 3);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
}
END_TEST

/* Blocking A-B forces the 60 route under every policy; unblocking restores
 * 20; the version moves with every change and only then. */
START_TEST(test_blocked_edge)
{
    int policy = _i;
    vr_graph *g = branch_graph();
    vr_pathfinder *p = pf_of(g, policy);
    expect_path(p, A, D, 20, (uint32_t[]){A, B, D}, 3);
    uint64_t v0 = vr_path_version(p);
    ck_assert_int_eq(vr_path_block(p, A, B, true), 1);
    ck_assert_int_eq(vr_path_block(p, B, A, true), 1);
    ck_assert_int_eq(vr_path_block(p, A, B, true), 0); /* already blocked */
    ck_assert_uint_eq(vr_path_version(p), v0 + 2);
    expect_path(p, A, D, 60, (uint32_t[]){A, C, D}, 3);
    expect_path(p, D, A, 60, (uint32_t[]){D, C, A}, 3);
    expect_path(p, B, D, 10, (uint32_t[]){B, D}, 2);
    /* Block C-D too: A reaches nothing but C. */
    ck_assert_int_eq(vr_path_block(p, C, D, true), 1);
    double cost = 0;
    for (int a = 0; a < 3; a++) {
        ck_assert_int_eq(algos[a](p, A, D, &cost, NULL, 0), -VR_ENOPATH);
        ck_assert(cost == VR_PATH_INF);
    }
    ck_assert_int_eq(vr_path_block(p, C, D, false), 1);
    ck_assert_int_eq(vr_path_block(p, A, B, false), 1);
    expect_path(p, A, D, 20, (uint32_t[]){A, B, D}, 3);
    vr_path_stats st;
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    if (policy == VR_PATH_REBUILD_EAGER)
        ck_assert_uint_eq(st.fallbacks, 0);
    else
        ck_assert_uint_gt(st.fallbacks + st.ch_queries, 0);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
}
END_TEST

START_TEST(test_no_path)
{
    vr_edge e[8];
    size_t m = lane(e, 0, A, B, 10);
    m = lane(e, m, C, D, 10);
    vr_graph *g = graph_of(4, e, m);
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
    for (int a = 0; a < 3; a++) {
        double cost = 0;
        uint32_t out[4] = {99, 99, 99, 99};
        ck_assert_int_eq(algos[a](p, A, D, &cost, out, 4), -VR_ENOPATH);
        ck_assert(cost == VR_PATH_INF);
        ck_assert_uint_eq(out[0], 99);
    }
    uint32_t src[3] = {A, A, D}, dst[3] = {D, B, B}, next[3];
    double costs[3];
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, costs, next), 2);
    ck_assert(costs[0] == VR_PATH_INF && costs[1] == 10 && costs[2] == VR_PATH_INF);
    ck_assert_uint_eq(next[0], VR_PATH_NONE);
    ck_assert_uint_eq(next[1], B);
    /* One-way edge: B reachable from A, A not from B. */
    vr_edge one[1] = {{A, B, 5}};
    vr_graph *g2 = graph_of(2, one, 1);
    vr_pathfinder *p2 = pf_of(g2, VR_PATH_REBUILD_EAGER);
    expect_path(p2, A, B, 5, (uint32_t[]){A, B}, 2);
    ck_assert_int_eq(vr_path_query(p2, B, A, NULL, NULL, 0), -VR_ENOPATH);
    vr_pathfinder_destroy(&p2);
    vr_graph_destroy(&g2);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
}
END_TEST

START_TEST(test_start_is_goal)
{
    vr_graph *g = branch_graph();
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
    expect_path(p, C, C, 0, (uint32_t[]){C}, 1);
    /* Also on an isolated node. */
    vr_edge e[2];
    size_t m = lane(e, 0, 0, 1, 3);
    vr_graph *g2 = graph_of(3, e, m);
    vr_pathfinder *p2 = pf_of(g2, VR_PATH_REBUILD_EAGER);
    expect_path(p2, 2, 2, 0, (uint32_t[]){2}, 1);
    uint32_t s = 2, next = 0;
    double cost = -1;
    ck_assert_int_eq(vr_path_batch(p2, &s, &s, 1, &cost, &next), 0);
    ck_assert(cost == 0);
    ck_assert_uint_eq(next, 2);
    vr_pathfinder_destroy(&p2);
    vr_graph_destroy(&g2);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
}
END_TEST

/* A path longer than the buffer: the needed length comes back and the
 * buffer is untouched. */
START_TEST(test_small_buffer)
{
    vr_edge e[64];
    size_t m = 0;
    for (uint32_t i = 0; i + 1 < 10; i++)
        m = lane(e, m, i, i + 1, 1);
    vr_graph *g = graph_of(10, e, m);
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
    uint32_t out[10];
    memset(out, 0xab, sizeof out);
    double cost;
    ck_assert_int_eq(vr_path_query(p, 0, 9, &cost, out, 4), 10);
    ck_assert_uint_eq(out[0], 0xabababab);
    ck_assert_int_eq(vr_path_query(p, 0, 9, &cost, out, 10), 10);
    ck_assert(cost == 9);
    for (uint32_t i = 0; i < 10; i++)
        ck_assert_uint_eq(out[i], i);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
}
END_TEST

/* ---- random graphs ------------------------------------------------------ */

typedef struct rgraph {
    uint32_t n;
    size_t m;
    vr_edge *e;
    float *x, *y;
    bool coords;
    bool integer;
} rgraph;

static uint64_t rnd(uint64_t seed, uint64_t k, uint32_t stream) { return vr_rand(seed, 7, 0, k, stream); }

/* Random graph number `seed`: n in [50, 2000] nodes in a square, each linked
 * to its 3 nearest neighbours (both ways, 15% one-way), plus n/10 random
 * long edges; weights are the length times 1, 1.5 or 2 (kind 0: float,
 * kind 1: rounded up to integers), or (kind 2) small integers 1..5 without
 * coordinates, which makes many equal-cost paths. */
static rgraph random_graph(uint64_t seed, uint32_t nmax)
{
    rgraph r = {0};
    uint64_t k = 0;
    r.n = 50 + (uint32_t)(rnd(seed, k++, 1) % (nmax - 49));
    int kind = (int)(rnd(seed, k++, 1) % 3);
    r.integer = kind != 0;
    r.coords = kind != 2;
    r.x = malloc(sizeof *r.x * r.n);
    r.y = malloc(sizeof *r.y * r.n);
    float side = sqrtf((float)r.n) * 10.0f;
    for (uint32_t i = 0; i < r.n; i++) {
        r.x[i] = vr_unit(rnd(seed, k++, 2)) * side;
        r.y[i] = vr_unit(rnd(seed, k++, 2)) * side;
    }
    size_t cap = (size_t)r.n * 8 + 8;
    r.e = malloc(sizeof *r.e * cap);
    for (uint32_t i = 0; i < r.n; i++) {
        uint32_t best[3] = {i, i, i};
        double bd[3] = {INFINITY, INFINITY, INFINITY};
        for (uint32_t j = 0; j < r.n; j++) {
            if (j == i)
                continue;
            double dx = (double)r.x[i] - r.x[j], dy = (double)r.y[i] - r.y[j];
            double d = sqrt(dx * dx + dy * dy);
            for (int q = 0; q < 3; q++)
                if (d < bd[q]) {
                    for (int z = 2; z > q; z--) {
                        bd[z] = bd[z - 1];
                        best[z] = best[z - 1];
                    }
                    bd[q] = d;
                    best[q] = j;
                    break;
                }
        }
        for (int q = 0; q < 3; q++) {
            uint32_t j = best[q];
            uint64_t h = rnd(seed, k++, 3);
            double factor = (h % 4 == 0) ? 1.5 : (h % 4 == 1) ? 2.0 : 1.0;
            double c = bd[q] * factor;
            if (kind == 1)
                c = ceil(c);
            else if (kind == 2)
                c = (double)(1 + (h >> 8) % 5);
            r.e[r.m++] = (vr_edge){i, j, c};
            if ((h >> 16) % 100 >= 15)
                r.e[r.m++] = (vr_edge){j, i, c};
        }
    }
    for (uint32_t q = 0; q < r.n / 25; q++) {
        uint32_t u = (uint32_t)(rnd(seed, k++, 4) % r.n), v = (uint32_t)(rnd(seed, k++, 4) % r.n);
        double c = hypot((double)r.x[u] - r.x[v], (double)r.y[u] - r.y[v]) * 1.2;
        if (kind == 1)
            c = ceil(c);
        else if (kind == 2)
            c = (double)(1 + rnd(seed, k++, 4) % 5);
        r.e[r.m++] = (vr_edge){u, v, c};
    }
    return r;
}

static void rgraph_free(rgraph *r)
{
    free(r->e);
    free(r->x);
    free(r->y);
}

/* Out-edge index per node for fast path checks: first[u] .. first[u+1]. */
typedef struct adjx {
    uint32_t *first;
    uint32_t *idx;
} adjx;

static adjx adj_of(const rgraph *r)
{
    adjx a;
    a.first = calloc(r->n + 1, sizeof *a.first);
    a.idx = malloc(sizeof *a.idx * (r->m ? r->m : 1));
    for (size_t i = 0; i < r->m; i++)
        a.first[r->e[i].from + 1]++;
    for (uint32_t v = 0; v < r->n; v++)
        a.first[v + 1] += a.first[v];
    uint32_t *fill = malloc(sizeof *fill * r->n);
    memcpy(fill, a.first, sizeof *fill * r->n);
    for (size_t i = 0; i < r->m; i++)
        a.idx[fill[r->e[i].from]++] = (uint32_t)i;
    free(fill);
    return a;
}

static double edge_cost_fast(const rgraph *r, const adjx *a, vr_pathfinder *p, uint32_t u,
                             uint32_t v)
{
    double best = -1;
    for (uint32_t k = a->first[u]; k < a->first[u + 1]; k++) {
        uint32_t i = a->idx[k];
        if (r->e[i].to == v && !vr_path_is_blocked(p, i) && (best < 0 || r->e[i].cost < best))
            best = r->e[i].cost;
    }
    return best;
}

static bool close_enough(double got, double want, bool exact)
{
    if (exact)
        return got == want;
    return fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want));
}

/* Compares the CH (path and cost), A* and Dijkstra on `pairs` random pairs;
 * checks each CH path edge by edge. */
static void compare(const rgraph *r, const adjx *a, vr_pathfinder *p, uint64_t seed, int pairs)
{
    uint32_t *path = malloc(sizeof *path * r->n);
    for (int q = 0; q < pairs; q++) {
        uint32_t s = (uint32_t)(rnd(seed, 1000 + q, 5) % r->n);
        uint32_t t = (uint32_t)(rnd(seed, 1000 + q, 6) % r->n);
        double dc = -1, ac = -1, cc = -1;
        long drc = vr_path_dijkstra(p, s, t, &dc, NULL, 0);
        long arc = vr_path_astar(p, s, t, &ac, NULL, 0);
        long len = vr_path_query(p, s, t, &cc, path, r->n);
        ck_assert_msg(drc == 0 || drc == -VR_ENOPATH, "dijkstra rc %ld", drc);
        ck_assert_int_eq(arc, drc);
        ck_assert_msg(ac == dc, "seed %llu %u->%u: astar %.17g dijkstra %.17g",
                      (unsigned long long)seed, s, t, ac, dc);
        if (drc == -VR_ENOPATH) {
            ck_assert_msg(len == -VR_ENOPATH, "seed %llu %u->%u: ch found %g, dijkstra none",
                          (unsigned long long)seed, s, t, cc);
            ck_assert(cc == VR_PATH_INF);
            continue;
        }
        ck_assert_msg(len >= 1, "seed %llu %u->%u: ch rc %ld, dijkstra %g",
                      (unsigned long long)seed, s, t, len, dc);
        ck_assert_msg(close_enough(cc, dc, r->integer), "seed %llu %u->%u: ch %.17g dijkstra %.17g",
                      (unsigned long long)seed, s, t, cc, dc);
        ck_assert_uint_eq(path[0], s);
        ck_assert_uint_eq(path[len - 1], t);
        double sum = 0;
        for (long i = 0; i + 1 < len; i++) {
            double c = edge_cost_fast(r, a, p, path[i], path[i + 1]);
            ck_assert_msg(c >= 0, "seed %llu: path uses a missing or blocked edge %u->%u",
                          (unsigned long long)seed, path[i], path[i + 1]);
            sum += c;
        }
        ck_assert_msg(close_enough(sum, cc, r->integer), "seed %llu: path sums to %.17g, cost %.17g",
                      (unsigned long long)seed, sum, cc);
    }
    free(path);
}

static vr_graph *graph_of_r(const rgraph *r)
{
    vr_graph *g = graph_of(r->n, r->e, r->m);
    if (r->coords)
        ck_assert_int_eq(vr_graph_set_coords(g, r->x, r->y), 0);
    return g;
}

/* 240 random graphs (split over 3 test runs), 60 pairs each. */
START_TEST(test_random_vs_dijkstra)
{
    for (uint64_t seed = 80 * (uint64_t)_i; seed < 80 * (uint64_t)_i + 80; seed++) {
        rgraph r = random_graph(seed, 2000);
        adjx a = adj_of(&r);
        vr_graph *g = graph_of_r(&r);
        vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
        compare(&r, &a, p, seed, 60);
        vr_path_stats st;
        ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
        ck_assert_uint_eq(st.rebuilds, 1);
        ck_assert_uint_eq(st.fallbacks, 0);
        vr_pathfinder_destroy(&p);
        vr_graph_destroy(&g);
        free(a.first);
        free(a.idx);
        rgraph_free(&r);
    }
}
END_TEST

/* Random blocked edges under each policy: block 5%, compare, unblock half
 * of them, compare again; no path may use a blocked edge. */
START_TEST(test_random_blocked)
{
    int policy = _i;
    for (uint64_t seed = 500; seed < 540; seed++) {
        rgraph r = random_graph(seed, 1200);
        adjx a = adj_of(&r);
        vr_graph *g = graph_of_r(&r);
        vr_pathfinder *p = pf_of(g, policy);
        compare(&r, &a, p, seed, 10);
        for (size_t i = 0; i < r.m; i++)
            if (rnd(seed, i, 8) % 100 < 5)
                ck_assert_int_eq(vr_path_block_edge(p, (uint32_t)i, true), 1);
        compare(&r, &a, p, seed + 1, 40);
        for (size_t i = 0; i < r.m; i++)
            if (rnd(seed, i, 8) % 100 < 5 && rnd(seed, i, 9) % 2)
                ck_assert_int_eq(vr_path_block_edge(p, (uint32_t)i, false), 1);
        compare(&r, &a, p, seed + 2, 40);
        vr_path_stats st;
        ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
        if (policy == VR_PATH_REBUILD_EAGER) {
            ck_assert_uint_eq(st.rebuilds, 3);
            ck_assert_uint_eq(st.fallbacks, 0);
        } else if (policy == VR_PATH_REBUILD_MANUAL) {
            ck_assert_uint_eq(st.rebuilds, 1);
            ck_assert_uint_gt(st.fallbacks, 0);
        }
        vr_pathfinder_destroy(&p);
        vr_graph_destroy(&g);
        free(a.first);
        free(a.idx);
        rgraph_free(&r);
    }
}
END_TEST

/* Stale CH with only extra blocked edges: its paths are taken when they
 * avoid the blocked edges, else A* answers; never a blocked edge. */
START_TEST(test_stale_ch_verified)
{
    rgraph r = random_graph(77, 1500);
    adjx a = adj_of(&r);
    vr_graph *g = graph_of_r(&r);
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_MANUAL);
    ck_assert_int_eq(vr_path_rebuild(p), 0);
    for (size_t i = 0; i < r.m; i += 50)
        vr_path_block_edge(p, (uint32_t)i, true);
    compare(&r, &a, p, 78, 200);
    vr_path_stats st;
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_gt(st.ch_queries, 0);
    ck_assert_uint_gt(st.verify_rejects, 0);
    ck_assert_uint_eq(st.verify_rejects, st.fallbacks);
    ck_assert_uint_lt(st.ch_version, st.version);
    ck_assert_int_eq(vr_path_rebuild(p), 0);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.ch_version, st.version);
    ck_assert_uint_eq(st.rebuilds, 2);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
    free(a.first);
    free(a.idx);
    rgraph_free(&r);
}
END_TEST

/* ---- cache -------------------------------------------------------------- */

START_TEST(test_cache)
{
    vr_graph *g = branch_graph();
    vr_pathfinder *p = pf_of(g, VR_PATH_REBUILD_EAGER);
    uint32_t src[3] = {A, D, B}, dst[3] = {D, A, C}, next[3];
    double cost[3];
    vr_path_stats st;
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, cost, next), 0);
    ck_assert(cost[0] == 20 && cost[1] == 20 && cost[2] == 40);
    ck_assert_uint_eq(next[0], B);
    ck_assert_uint_eq(next[1], B);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.cache_misses, 3);
    ck_assert_uint_eq(st.cache_hits, 0);
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, cost, next), 0);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.cache_hits, 3);
    ck_assert_uint_eq(st.cache_misses, 3);
    ck_assert_uint_eq(st.queries, 6);
    ck_assert(cost[0] == 20 && next[0] == B);
    /* A topology change makes every entry a miss, with the new answer. */
    ck_assert_int_eq(vr_path_block(p, A, B, true), 1);
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, cost, next), 0);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.cache_hits, 3);
    ck_assert_uint_eq(st.cache_misses, 6);
    ck_assert(cost[0] == 60 && next[0] == C);
    ck_assert(cost[1] == 20 && next[1] == B); /* D->B->A still open */
    /* Cost-only entries do not serve a request for next hops. */
    ck_assert_int_eq(vr_path_block(p, A, B, false), 1);
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, cost, NULL), 0);
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, cost, NULL), 0);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.cache_hits, 6);
    ck_assert_int_eq(vr_path_batch(p, src, dst, 3, cost, next), 0);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.cache_hits, 6);
    ck_assert_uint_eq(next[0], B);
    vr_path_stats_reset(p);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.queries, 0);
    ck_assert_uint_gt(st.settled + st.shortcuts + 1, 0);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
}
END_TEST

/* ---- determinism -------------------------------------------------------- */

/* Many equal-cost paths (kind 2 weights 1..5): two pathfinders, one with a
 * warm cache and a block/unblock history, the other fresh, give the same
 * node sequences and next hops. */
START_TEST(test_deterministic_paths)
{
    uint64_t seed = 2; /* pick a tie-heavy graph */
    rgraph r;
    for (;; seed++) {
        r = random_graph(seed, 1500);
        if (!r.coords)
            break;
        rgraph_free(&r);
    }
    vr_graph *g = graph_of_r(&r);
    vr_pathfinder *p1 = pf_of(g, VR_PATH_REBUILD_EAGER), *p2 = pf_of(g, VR_PATH_REBUILD_EAGER);
    enum { Q = 300 };
    uint32_t src[Q], dst[Q], n1[Q], n2[Q];
    double c1[Q], c2[Q];
    for (int q = 0; q < Q; q++) {
        src[q] = (uint32_t)(rnd(seed, q, 10) % r.n);
        dst[q] = (uint32_t)(rnd(seed, q, 11) % r.n);
    }
    /* History on p1: queries, a block and its undo. */
    ck_assert_int_ge(vr_path_batch(p1, dst, src, Q, c1, n1), 0);
    ck_assert_int_eq(vr_path_block_edge(p1, 0, true), 1);
    ck_assert_int_ge(vr_path_batch(p1, src, dst, Q, c1, n1), 0);
    ck_assert_int_eq(vr_path_block_edge(p1, 0, false), 1);
    ck_assert_int_ge(vr_path_batch(p1, src, dst, Q / 2, c1, n1), 0); /* warm half */
    ck_assert_int_ge(vr_path_batch(p1, src, dst, Q, c1, n1), 0);
    ck_assert_int_ge(vr_path_batch(p2, src, dst, Q, c2, n2), 0);
    uint32_t *a1 = malloc(sizeof *a1 * r.n), *a2 = malloc(sizeof *a2 * r.n);
    for (int q = 0; q < Q; q++) {
        ck_assert(c1[q] == c2[q]);
        ck_assert_uint_eq(n1[q], n2[q]);
        double x1, x2;
        long l1 = vr_path_query(p1, src[q], dst[q], &x1, a1, r.n);
        long l2 = vr_path_query(p2, src[q], dst[q], &x2, a2, r.n);
        ck_assert_int_eq(l1, l2);
        ck_assert(x1 == c1[q]);
        for (long i = 0; i < l1; i++)
            ck_assert_uint_eq(a1[i], a2[i]);
        if (l1 >= 2)
            ck_assert_uint_eq(a1[1], n1[q]); /* batch next hop = path's */
    }
    free(a1);
    free(a2);
    vr_pathfinder_destroy(&p1);
    vr_pathfinder_destroy(&p2);
    vr_graph_destroy(&g);
    rgraph_free(&r);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(test_bad_input)
{
    vr_graph *g = NULL;
    vr_edge bad_node[1] = {{0, 5, 1}};
    vr_edge neg[1] = {{0, 1, -1}};
    vr_edge nan_cost[1] = {{0, 1, NAN}};
    vr_edge inf_cost[1] = {{0, 1, INFINITY}};
    ck_assert_int_eq(vr_graph_new(&g, 3, bad_node, 1), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_new(&g, 3, neg, 1), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_new(&g, 3, nan_cost, 1), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_new(&g, 3, inf_cost, 1), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_new(&g, 0, NULL, 0), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_new(&g, 3, NULL, 2), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_new(NULL, 3, NULL, 0), -VR_EBADARG);
    ck_assert_ptr_null(g);
    vr_graph_destroy(NULL);
    vr_graph_destroy(&g);

    g = branch_graph();
    /* Coordinates that make an edge cheaper than its length are refused. */
    float x[4] = {0, 100, 0, 0}, y[4] = {0, 0, 0, 0};
    ck_assert_int_eq(vr_graph_set_coords(g, x, y), -VR_EBADARG);
    float xn[4] = {0, NAN, 0, 0};
    ck_assert_int_eq(vr_graph_set_coords(g, xn, y), -VR_EBADARG);
    ck_assert_int_eq(vr_graph_set_coords(g, NULL, y), -VR_EBADARG);
    float xo[4] = {0, 10, 0, 10}, yo[4] = {0, 0, 20, 0};
    ck_assert_int_eq(vr_graph_set_coords(g, xo, yo), 0);
    ck_assert_uint_eq(vr_graph_nodes(g), 4);
    ck_assert_uint_eq(vr_graph_edges(g), 8);

    vr_pathfinder *p = NULL;
    ck_assert_int_eq(vr_pathfinder_new(&p, NULL, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_pathfinder_new(NULL, g, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_pathfinder_new(&p, g, &(vr_path_opts){.rebuild = 9}), -VR_EBADARG);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(vr_pathfinder_new(&p, g, NULL), 0);
    double cost = 5;
    uint32_t out[4];
    for (int a = 0; a < 3; a++) {
        ck_assert_int_eq(algos[a](p, 0, 4, &cost, out, 4), -VR_EBADARG);
        ck_assert_int_eq(algos[a](p, 4, 0, &cost, out, 4), -VR_EBADARG);
        ck_assert_int_eq(algos[a](NULL, 0, 1, &cost, out, 4), -VR_EBADARG);
    }
    uint32_t src[2] = {0, 1}, dst[2] = {1, 7}, next[2] = {42, 42};
    double costs[2] = {-2, -2};
    ck_assert_int_eq(vr_path_batch(p, src, dst, 2, costs, next), -VR_EBADARG);
    ck_assert(costs[0] == -2 && next[0] == 42); /* nothing written */
    ck_assert_int_eq(vr_path_batch(p, NULL, dst, 2, costs, next), -VR_EBADARG);
    ck_assert_int_eq(vr_path_batch(p, src, dst, 0, NULL, NULL), 0);
    ck_assert_int_eq(vr_path_block(p, 0, 9, true), -VR_EBADARG);
    ck_assert_int_eq(vr_path_block(p, A, D, true), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_path_block_edge(p, 8, true), -VR_EBADARG);
    ck_assert(!vr_path_is_blocked(p, 100));
    uint64_t v = vr_path_version(p);
    ck_assert_uint_eq(v, 1);
    vr_path_stats st;
    ck_assert_int_eq(vr_path_stats_get(p, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_path_stats_get(p, &st), 0);
    ck_assert_uint_eq(st.version, v);
    /* The heuristic with coordinates still finds the branch's answer. */
    expect_path(p, A, D, 20, (uint32_t[]){A, B, D}, 3);
    vr_pathfinder_destroy(&p);
    vr_pathfinder_destroy(&p); /* second destroy: no-op on NULL */
    ck_assert_uint_eq(vr_path_version(NULL), 0);
    vr_graph_destroy(&g);
}
END_TEST

static Suite *path_suite(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("engine_cases");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_branch);
    tcase_add_loop_test(tc, test_blocked_edge, VR_PATH_REBUILD_EAGER, VR_PATH_REBUILD_MANUAL + 1);
    tcase_add_test(tc, test_no_path);
    tcase_add_test(tc, test_start_is_goal);
    tcase_add_test(tc, test_small_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_random_vs_dijkstra, 0, 3);
    tcase_add_loop_test(tc, test_random_blocked, VR_PATH_REBUILD_EAGER, VR_PATH_REBUILD_MANUAL + 1);
    tcase_add_test(tc, test_stale_ch_verified);
    tcase_add_test(tc, test_deterministic_paths);
    suite_add_tcase(s, tc);

    tc = tcase_create("cache_and_input");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(path_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
