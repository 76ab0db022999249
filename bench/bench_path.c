/* bench_path.c: pathfinding benchmark (vr-bench-path): contraction
 * hierarchy vs plain A* and Dijkstra on a 100k-node two-level galaxy.
 *
 * The galaxy is built here, not by workers/galaxy.c, so the figure does not
 * move when the game's content does: star systems at random positions,
 * hyperlanes = minimum spanning tree + links to the 3 nearest neighbours,
 * and inside each system a star, 1-4 planets, 0-2 asteroid fields (edges
 * x1.5), sometimes a nebula (edges x2, a second route to a gate) and one
 * gate per lane; facing gates are joined across the lane.  Every edge costs
 * at least its Euclidean length, so A* has an admissible heuristic.
 *
 * Usage: vr-bench-path [systems (default 11800)] [queries (default 100000)]
 * Prints timings and a Markdown table; exits 1 if a CH cost differs from
 * Dijkstra's on the sample.
 */
#include "path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this thread: the figures are per core, and other processes
 * on a shared machine would otherwise inflate them. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t k, uint32_t stream) { return vr_rand(42, 0, 0, k, stream); }

typedef struct gbuild {
    uint32_t n, cap_n;
    float *x, *y;
    vr_edge *e;
    size_t m, cap_m;
} gbuild;

static uint32_t add_node(gbuild *b, float x, float y)
{
    if (b->n == b->cap_n) {
        b->cap_n = b->cap_n ? 2 * b->cap_n : 1024;
        b->x = realloc(b->x, sizeof *b->x * b->cap_n);
        b->y = realloc(b->y, sizeof *b->y * b->cap_n);
        if (!b->x || !b->y)
            abort();
    }
    b->x[b->n] = x;
    b->y[b->n] = y;
    return b->n++;
}

/* Both directions; cost = length * factor. */
static void add_lane(gbuild *b, uint32_t u, uint32_t v, double factor)
{
    if (b->m + 2 > b->cap_m) {
        b->cap_m = b->cap_m ? 2 * b->cap_m : 4096;
        b->e = realloc(b->e, sizeof *b->e * b->cap_m);
        if (!b->e)
            abort();
    }
    double c = hypot((double)b->x[u] - b->x[v], (double)b->y[u] - b->y[v]) * factor;
    b->e[b->m++] = (vr_edge){u, v, c};
    b->e[b->m++] = (vr_edge){v, u, c};
}

typedef struct cand {
    uint32_t a, b;
    float d;
} cand;

static int cand_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

/* Builds the galaxy of `S` systems. */
static void galaxy(gbuild *b, uint32_t S)
{
    enum { K = 8 };
    float side = sqrtf((float)S) * 10.0f;
    float *sx = malloc(sizeof *sx * S), *sy = malloc(sizeof *sy * S);
    for (uint32_t i = 0; i < S; i++) {
        sx[i] = vr_unit(rnd(i, 1)) * side;
        sy[i] = vr_unit(rnd(i, 2)) * side;
    }
    /* K nearest neighbours through a uniform grid of about 2 systems/cell. */
    uint32_t gside = (uint32_t)sqrtf((float)S / 2.0f) + 1;
    float cell = side / (float)gside;
    uint32_t *cstart = calloc((size_t)gside * gside + 1, sizeof *cstart);
    uint32_t *cidx = malloc(sizeof *cidx * S);
    uint32_t *cof = malloc(sizeof *cof * S);
    for (uint32_t i = 0; i < S; i++) {
        uint32_t cx = (uint32_t)(sx[i] / cell), cy = (uint32_t)(sy[i] / cell);
        cx = cx >= gside ? gside - 1 : cx;
        cy = cy >= gside ? gside - 1 : cy;
        cof[i] = cy * gside + cx;
        cstart[cof[i] + 1]++;
    }
    for (uint32_t c = 0; c < gside * gside; c++)
        cstart[c + 1] += cstart[c];
    uint32_t *fill = malloc(sizeof *fill * gside * gside);
    memcpy(fill, cstart, sizeof *fill * gside * gside);
    for (uint32_t i = 0; i < S; i++)
        cidx[fill[cof[i]]++] = i;
    cand *cands = malloc(sizeof *cands * (size_t)S * K);
    size_t nc = 0;
    for (uint32_t i = 0; i < S; i++) {
        uint32_t best[K];
        float bd[K];
        int have = 0;
        int cx = (int)(cof[i] % gside), cy = (int)(cof[i] / gside);
        for (int r = 1;; r++) {
            have = 0;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    int gx = cx + dx, gy = cy + dy;
                    if (gx < 0 || gy < 0 || gx >= (int)gside || gy >= (int)gside)
                        continue;
                    uint32_t c = (uint32_t)gy * gside + (uint32_t)gx;
                    for (uint32_t k = cstart[c]; k < cstart[c + 1]; k++) {
                        uint32_t j = cidx[k];
                        if (j == i)
                            continue;
                        float d = hypotf(sx[i] - sx[j], sy[i] - sy[j]);
                        int q = have < K ? have++ : K;
                        if (q == K && d >= bd[K - 1])
                            continue;
                        if (q == K)
                            q = K - 1;
                        while (q > 0 && (bd[q - 1] > d || (bd[q - 1] == d && best[q - 1] > j))) {
                            bd[q] = bd[q - 1];
                            best[q] = best[q - 1];
                            q--;
                        }
                        bd[q] = d;
                        best[q] = j;
                    }
                }
            if (have >= K && bd[K - 1] <= (float)(r - 1) * cell)
                break;
            if (r > (int)gside)
                break;
        }
        for (int q = 0; q < have; q++)
            cands[nc++] = (cand){i, best[q], bd[q]};
    }
    /* Lanes: MST over the candidates (Kruskal) + each system's 3 nearest. */
    qsort(cands, nc, sizeof *cands, cand_cmp);
    uint32_t *uf = malloc(sizeof *uf * S);
    for (uint32_t i = 0; i < S; i++)
        uf[i] = i;
    uint8_t *lane = calloc(nc, 1);
    for (size_t k = 0; k < nc; k++) {
        uint32_t ra = uf_find(uf, cands[k].a), rb = uf_find(uf, cands[k].b);
        if (ra != rb) {
            uf[ra] = rb;
            lane[k] = 1;
        }
    }
    /* 3 nearest: after the sort by length, a system's first 3 candidates. */
    uint32_t *nearest_cnt = calloc(S, sizeof *nearest_cnt);
    for (size_t k = 0; k < nc; k++)
        if (nearest_cnt[cands[k].a] < 3) {
            nearest_cnt[cands[k].a]++;
            lane[k] = 1;
        }
    /* Deduplicate undirected lanes. */
    cand *lanes = malloc(sizeof *lanes * nc);
    size_t nl = 0;
    for (size_t k = 0; k < nc; k++)
        if (lane[k]) {
            uint32_t a = cands[k].a < cands[k].b ? cands[k].a : cands[k].b;
            uint32_t c = cands[k].a ^ cands[k].b ^ a;
            lanes[nl++] = (cand){a, c, 0};
        }
    qsort(lanes, nl, sizeof *lanes, cand_cmp);
    size_t w = 0;
    for (size_t k = 0; k < nl; k++)
        if (w == 0 || lanes[k].a != lanes[w - 1].a || lanes[k].b != lanes[w - 1].b)
            lanes[w++] = lanes[k];
    nl = w;
    /* Systems' internal graphs. */
    uint32_t *star = malloc(sizeof *star * S);
    uint32_t *neb = malloc(sizeof *neb * S);
    for (uint32_t i = 0; i < S; i++) {
        uint64_t r = rnd(i, 3);
        star[i] = add_node(b, sx[i], sy[i]);
        uint32_t planets = 1 + (uint32_t)(r % 4), asteroids = (uint32_t)((r >> 8) % 3);
        uint32_t first_planet = b->n;
        for (uint32_t k = 0; k < planets + asteroids; k++) {
            float ang = vr_unit(rnd(i * 16 + k, 4)) * 6.2831853f;
            float rad = 0.3f + vr_unit(rnd(i * 16 + k, 5)) * 1.2f;
            uint32_t v = add_node(b, sx[i] + rad * cosf(ang), sy[i] + rad * sinf(ang));
            add_lane(b, star[i], v, k < planets ? 1.0 : 1.5);
            if (k >= planets) /* an asteroid field also links to a planet */
                add_lane(b, v, first_planet + (uint32_t)(rnd(i * 16 + k, 6) % planets), 1.5);
        }
        neb[i] = UINT32_MAX;
        if (((r >> 16) & 3) == 0) {
            neb[i] = add_node(b, sx[i] + 0.5f, sy[i] - 0.5f);
            add_lane(b, star[i], neb[i], 2.0);
        }
    }
    for (size_t k = 0; k < nl; k++) {
        uint32_t a = lanes[k].a, c = lanes[k].b;
        float dx = sx[c] - sx[a], dy = sy[c] - sy[a], len = hypotf(dx, dy);
        float ux = len > 0 ? dx / len : 1, uy = len > 0 ? dy / len : 0;
        uint32_t ga = add_node(b, sx[a] + ux, sy[a] + uy);
        uint32_t gc = add_node(b, sx[c] - ux, sy[c] - uy);
        add_lane(b, star[a], ga, 1.0);
        add_lane(b, star[c], gc, 1.0);
        add_lane(b, ga, gc, 1.0);
        if (neb[a] != UINT32_MAX && (k & 1))
            add_lane(b, neb[a], ga, 2.0);
    }
    free(sx), free(sy), free(cstart), free(cidx), free(cof), free(fill), free(cands);
    free(uf), free(lane), free(nearest_cnt), free(lanes), free(star), free(neb);
}

int main(int argc, char **argv)
{
    uint32_t S = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 11800;
    size_t Q = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    const size_t QA = 2000, QD = 300;
    if (S < 10 || Q < QA)
        return fprintf(stderr, "usage: vr-bench-path [systems >= 10] [queries >= 2000]\n"), 2;

    double t0 = now_s();
    gbuild b = {0};
    galaxy(&b, S);
    vr_graph *g = NULL;
    int rc = vr_graph_new(&g, b.n, b.e, b.m);
    if (rc == 0)
        rc = vr_graph_set_coords(g, b.x, b.y);
    if (rc != 0)
        return fprintf(stderr, "vr_graph_new: %s\n", vr_strerror(rc)), 1;
    printf("galaxy: %u systems, %u nodes, %zu directed edges (%.2f s to generate)\n", S, b.n, b.m,
           now_s() - t0);

    vr_pathfinder *p = NULL;
    if ((rc = vr_pathfinder_new(&p, g, &(vr_path_opts){.cache_slots = 1u << 20})) != 0)
        return fprintf(stderr, "vr_pathfinder_new: %s\n", vr_strerror(rc)), 1;
    t0 = now_s();
    rc = vr_path_rebuild(p);
    double build = now_s() - t0;
    vr_path_stats st;
    vr_path_stats_get(p, &st);
    printf("CH build: %.3f s, %llu shortcuts (%.2f per edge)\n", build,
           (unsigned long long)st.shortcuts, (double)st.shortcuts / (double)b.m);

    uint32_t *src = malloc(sizeof *src * Q), *dst = malloc(sizeof *dst * Q);
    uint32_t *next = malloc(sizeof *next * Q), *path = malloc(sizeof *path * b.n);
    double *cost = malloc(sizeof *cost * Q);
    for (size_t i = 0; i < Q; i++) {
        src[i] = (uint32_t)(rnd(1000000 + i, 7) % b.n);
        dst[i] = (uint32_t)(rnd(1000000 + i, 8) % b.n);
    }
    /* CH, batched: cost + next hop (what movement needs), cold cache. */
    vr_path_stats_reset(p);
    t0 = now_s();
    long unreachable = vr_path_batch(p, src, dst, Q, cost, next);
    double ch_batch = (now_s() - t0) / (double)Q;
    vr_path_stats_get(p, &st);
    double ch_settled = (double)st.settled / (double)Q;
    /* Same batch again: all from the cache. */
    t0 = now_s();
    vr_path_batch(p, src, dst, Q, cost, next);
    double cached = (now_s() - t0) / (double)Q;
    vr_path_stats_get(p, &st);
    double hit_rate = (double)st.cache_hits / (double)Q;
    /* CH with the full node sequence. */
    size_t QP = Q / 5;
    double plen = 0;
    t0 = now_s();
    for (size_t i = 0; i < QP; i++) {
        double c;
        long len = vr_path_query(p, src[i], dst[i], &c, path, b.n);
        plen += len > 0 ? (double)len : 0;
    }
    double ch_path = (now_s() - t0) / (double)QP;
    /* Plain A* and Dijkstra on samples; check the CH against them. */
    int bad = 0;
    vr_path_stats_reset(p);
    t0 = now_s();
    for (size_t i = 0; i < QA; i++) {
        double c;
        vr_path_astar(p, src[i], dst[i], &c, NULL, 0);
        if (!(fabs(c - cost[i]) <= 1e-9 * fmax(1.0, c)) && !(isinf(c) && isinf(cost[i])))
            bad++;
    }
    double astar = (now_s() - t0) / (double)QA;
    vr_path_stats_get(p, &st);
    double astar_settled = (double)st.settled / (double)QA;
    t0 = now_s();
    for (size_t i = 0; i < QD; i++) {
        double c;
        vr_path_dijkstra(p, src[i], dst[i], &c, NULL, 0);
        if (!(fabs(c - cost[i]) <= 1e-9 * fmax(1.0, c)) && !(isinf(c) && isinf(cost[i])))
            bad++;
    }
    double dijk = (now_s() - t0) / (double)QD;

    /* Blockades: 20 lanes (both directions) blocked, then the lazy policy
     * (stale CH verified, A* fallback) and the eager rebuild. */
    vr_pathfinder *pl = NULL;
    vr_pathfinder_new(&pl, g, &(vr_path_opts){.rebuild = VR_PATH_REBUILD_MANUAL, .no_cache = true});
    vr_path_rebuild(pl);
    for (uint32_t k = 0; k < 20; k++) {
        uint32_t e = (uint32_t)(rnd(k, 9) % b.m) & ~1u; /* edges come in pairs */
        vr_path_block_edge(pl, e, true);
        vr_path_block_edge(pl, e + 1, true);
        vr_path_block_edge(p, e, true);
        vr_path_block_edge(p, e + 1, true);
    }
    vr_path_stats_reset(pl);
    size_t QL = 20000;
    t0 = now_s();
    vr_path_batch(pl, src, dst, QL, cost, next);
    double stale = (now_s() - t0) / (double)QL;
    vr_path_stats_get(pl, &st);
    double fallback_rate = (double)st.fallbacks / (double)QL;
    t0 = now_s();
    vr_path_rebuild(p);
    double rebuild = now_s() - t0;
    for (size_t i = 0; i < QD; i++) { /* blocked: CH vs Dijkstra again */
        double c1, c2;
        vr_path_query(p, src[i], dst[i], &c1, NULL, 0);
        vr_path_dijkstra(p, src[i], dst[i], &c2, NULL, 0);
        if (!(fabs(c1 - c2) <= 1e-9 * fmax(1.0, c2)) && !(isinf(c1) && isinf(c2)))
            bad++;
    }

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("\n%zu queries (%ld unreachable), mean path %.0f nodes, %.0f nodes settled per CH "
           "query, %.0f per A* query\n",
           Q, unreachable, plen / (double)QP, ch_settled, astar_settled);
    printf("CH vs Dijkstra/A* on %zu + %zu sampled queries (+%zu blocked): %s\n\n", QD, QA, QD,
           bad ? "MISMATCH" : "all costs equal");
    printf("| pathfinding, %u-node galaxy, 1 core (nproc %ld) | per query | queries/s | vs A* |\n",
           b.n, ncpu);
    printf("|---|---|---|---|\n");
    printf("| CH batch, cost + next hop (%zu) | %.2f us | %.0f | %.0fx |\n", Q, ch_batch * 1e6,
           1 / ch_batch, astar / ch_batch);
    printf("| CH query, full node path (%zu) | %.2f us | %.0f | %.0fx |\n", QP, ch_path * 1e6,
           1 / ch_path, astar / ch_path);
    printf("| same batch again (%.0f%% cache hits) | %.3f us | %.0f | %.0fx |\n",
           100 * hit_rate, cached * 1e6, 1 / cached, astar / cached);
    printf("| 20 lanes blocked, stale CH + A* fallback (%.1f%% fell back) | %.2f us | %.0f | "
           "%.0fx |\n",
           100 * fallback_rate, stale * 1e6, 1 / stale, astar / stale);
    printf("| plain A*, Euclidean heuristic (%zu) | %.1f us | %.0f | 1x |\n", QA, astar * 1e6,
           1 / astar);
    printf("| plain Dijkstra (%zu) | %.1f us | %.0f | %.2fx |\n", QD, dijk * 1e6, 1 / dijk,
           astar / dijk);
    printf("| CH build / rebuild after blocking | %.2f s / %.2f s | | |\n", build, rebuild);
    vr_pathfinder_destroy(&pl);
    vr_pathfinder_destroy(&p);
    vr_graph_destroy(&g);
    free(src), free(dst), free(next), free(path), free(cost), free(b.x), free(b.y), free(b.e);
    return bad ? 1 : 0;
}
