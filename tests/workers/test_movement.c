/* test_movement.c: Check suite for workers/movement.c (vr_sim_turn).
 *
 * Determinism is the core promise: two arenas running the same scenario give
 * the same state hash after every turn, also when one of them loses its
 * worker-side caches (a restarted worker) or recomputes a turn it never
 * published.  Alongside, the invariants of movement: fleets stand on real
 * systems, travel only along lanes, never spend more than their speed in a
 * turn, and disband/respawn keeps the number of live fleets constant.
 */
#include "vr_test_world.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TURNS 50

static vr_scenario scenario(void)
{
    vr_scenario s = {.seed = 99, .universe = 1, .systems = 200, .fleets = 500, .factions = 4};
    return s;
}

/* One universe: its arena and its worker-side state. */
typedef struct world {
    char seg[64];
    vr_arena *a;
    vr_sim *sim;
    vr_cols c;
} world;

/* Creates the arena, runs genesis and publishes turn 0. */
static void world_init(world *w, const vr_scenario *s, const char *tag)
{
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.universe = s->universe;
    spec.seed = s->seed;
    vr_sim_capacity(s, spec.capacity);
    vt_segname(w->seg, sizeof w->seg, tag);
    w->a = NULL;
    ck_assert_int_eq(vr_arena_create(&w->a, w->seg, &spec, 0600), 0);
    w->sim = NULL;
    ck_assert_int_eq(vr_sim_new(&w->sim, s), 0);
    ck_assert_int_eq(vr_arena_begin(w->a, &w->c), 0);
    ck_assert_int_eq(vr_sim_genesis(w->sim, &w->c), 0);
    ck_assert_int_eq(vr_arena_publish(w->a, 0, vr_arena_hash(w->a)), 0);
}

/* Computes `turn` into the work buffer; returns its hash (not published). */
static uint64_t world_turn(world *w, uint64_t turn, vr_turn_stats *st)
{
    ck_assert_int_eq(vr_arena_begin(w->a, &w->c), 0);
    int rc = vr_sim_turn(w->sim, &w->c, turn, st);
    ck_assert_msg(rc == 0, "turn %llu: %s", (unsigned long long)turn, vr_strerror(rc));
    return vr_arena_hash(w->a);
}

static void world_fini(world *w)
{
    vr_sim_destroy(&w->sim);
    vr_arena_detach(&w->a);
    ck_assert_int_eq(shm_unlink(w->seg), 0);
}

static float lane_length(const vr_cols *c, uint32_t a, uint32_t b)
{
    for (uint32_t l = c->systems_lane_begin[a]; l < c->systems_lane_begin[a] + c->systems_lane_count[a]; l++)
        if (c->lanes_to[l] == b)
            return c->lanes_length[l];
    return -1.0f;
}

static uint32_t lane_row(const vr_cols *c, uint32_t a, uint32_t b)
{
    for (uint32_t l = c->systems_lane_begin[a]; l < c->systems_lane_begin[a] + c->systems_lane_count[a]; l++)
        if (c->lanes_to[l] == b)
            return l;
    return UINT32_MAX;
}

/* The gate-to-gate edge row of lane l. */
static uint32_t lane_edge(const vr_cols *c, uint32_t l)
{
    uint32_t g = c->lanes_gate[l];
    for (uint32_t e = c->nodes_edge_begin[g]; e < c->nodes_edge_begin[g] + c->nodes_edge_count[g]; e++)
        if (c->edges_lane[e] == l)
            return e;
    ck_abort_msg("lane %u has no gate edge", l);
    return UINT32_MAX;
}

START_TEST(test_two_arenas_same_hashes)
{
    vr_scenario s = scenario();
    world A, B;
    world_init(&A, &s, "hasha");
    world_init(&B, &s, "hashb");
    uint64_t prev = vr_arena_hash(A.a);
    ck_assert_uint_eq(vr_arena_hash(B.a), prev);
    uint64_t arrivals = 0, moved = 0;
    for (uint64_t t = 1; t <= TURNS; t++) {
        vr_turn_stats sa, sb;
        uint64_t ha = world_turn(&A, t, &sa);
        uint64_t hb = world_turn(&B, t, &sb);
        ck_assert_msg(ha == hb, "turn %llu: hashes %016llx and %016llx differ", (unsigned long long)t,
                      (unsigned long long)ha, (unsigned long long)hb);
        ck_assert_uint_ne(ha, prev); /* the state moves on */
        /* counts are equal; times (…_ns) are measurements, not state */
        ck_assert_uint_eq(sa.entities, sb.entities);
        for (int k = 0; k < VR_NMETRICS; k++)
            if (!strstr(vr_metric_names[k], "_ns"))
                ck_assert_uint_eq(sa.m[k], sb.m[k]);
        /* fleets never drop below the scenario's (every loss is replaced;
         * production adds more); ships come and go with them */
        ck_assert_uint_ge(A.c.tables[VR_TAB_fleets].live, s.fleets);
        ck_assert_uint_eq(sa.entities, (uint64_t)A.c.tables[VR_TAB_fleets].live + s.systems +
                                           A.c.tables[VR_TAB_ships].live);
        arrivals += sa.m[VR_M_arrivals];
        moved += sa.m[VR_M_moved];
        ck_assert_int_eq(vr_arena_publish(A.a, t, ha), 0);
        ck_assert_int_eq(vr_arena_publish(B.a, t, hb), 0);
        uint64_t pt, ph;
        ck_assert_int_eq(vr_arena_published(A.a, &pt, &ph), 0);
        ck_assert_uint_eq(pt, t);
        ck_assert_uint_eq(ph, ha);
        prev = ha;
    }
    ck_assert_uint_gt(moved, 0);
    ck_assert_uint_gt(arrivals, 0);
    world_fini(&A);
    world_fini(&B);
}
END_TEST

/* A worker restarted mid-run (its caches gone) and a turn computed, thrown
 * away and computed again, give the same hashes as an undisturbed run. */
START_TEST(test_restart_and_replay)
{
    vr_scenario s = scenario();
    world A, B;
    world_init(&A, &s, "resta");
    world_init(&B, &s, "restb");
    for (uint64_t t = 1; t <= TURNS; t++) {
        uint64_t ha = world_turn(&A, t, NULL);
        if (t == 20) {
            /* B's worker dies: new caches, same arena */
            vr_sim_destroy(&B.sim);
            ck_assert_int_eq(vr_sim_new(&B.sim, &s), 0);
        }
        uint64_t hb = world_turn(&B, t, NULL);
        if (t % 7 == 0) {
            /* B computes the turn, is "killed" before COMMIT, and replays it */
            vr_arena_detach(&B.a);
            char why[256] = "";
            ck_assert_int_eq(vr_arena_attach(&B.a, B.seg, true, 0, why, sizeof why), 0);
            vr_sim_destroy(&B.sim);
            ck_assert_int_eq(vr_sim_new(&B.sim, &s), 0);
            hb = world_turn(&B, t, NULL);
        }
        ck_assert_msg(ha == hb, "turn %llu: %016llx vs %016llx", (unsigned long long)t,
                      (unsigned long long)ha, (unsigned long long)hb);
        ck_assert_int_eq(vr_arena_publish(A.a, t, ha), 0);
        ck_assert_int_eq(vr_arena_publish(B.a, t, hb), 0);
    }
    world_fini(&A);
    world_fini(&B);
}
END_TEST

/* What a fleet looked like after the previous turn. */
typedef struct fleetwas {
    uint32_t gen, at, next;
    float leg, progress;
} fleetwas;

START_TEST(test_movement_invariants)
{
    vr_scenario s = scenario();
    world A;
    world_init(&A, &s, "inv");
    uint32_t cap = A.c.capacity[VR_TAB_fleets];
    fleetwas *was = calloc(cap, sizeof *was);
    ck_assert(was);
    uint64_t respawns = 0, same_leg = 0, new_leg = 0, walks = 0, storms = 0;
    for (uint64_t t = 1; t <= TURNS; t++) {
        uint32_t nprev = A.c.tables[VR_TAB_fleets].count;
        for (uint32_t i = 0; i < nprev; i++)
            was[i] = (fleetwas){A.c.gen[VR_TAB_fleets][i], A.c.fleets_at[i], A.c.fleets_next[i], A.c.fleets_leg[i],
                                A.c.fleets_progress[i]};
        vr_turn_stats st;
        uint64_t h = world_turn(&A, t, &st);
        respawns += st.m[VR_M_spawned];
        storms += st.m[VR_M_storms];
        const vr_cols *c = &A.c;
        ck_assert_uint_ge(c->tables[VR_TAB_fleets].live, s.fleets);
        ck_assert_uint_le(c->tables[VR_TAB_fleets].count, c->capacity[VR_TAB_fleets]);
        ck_assert_uint_eq(c->tables[VR_TAB_systems].live, s.systems);
        uint32_t alive = 0;
        for (uint32_t i = 0; i < c->tables[VR_TAB_fleets].count; i++) {
            if (!(c->gen[VR_TAB_fleets][i] & 1))
                continue;
            alive++;
            uint32_t at = c->fleets_at[i], next = c->fleets_next[i], dest = c->fleets_dest[i];
            float leg = c->fleets_leg[i], p = c->fleets_progress[i];
            ck_assert_uint_lt(at, s.systems);
            ck_assert_uint_lt(next, s.systems);
            ck_assert_uint_lt(dest, s.systems);
            /* it stands at (or left from) a node of its system; it heads for a node of its destination */
            ck_assert_uint_eq(c->nodes_system[c->fleets_node[i]], at);
            ck_assert_uint_eq(c->nodes_system[c->fleets_dest_node[i]], dest);
            ck_assert(p >= 0.0f);
            if (leg == 0.0f) { /* standing, or just sent back by combat */
                ck_assert_float_eq(p, 0.0f);
            } else if (leg < 0.0f) { /* a walk between bodies of its destination system */
                ck_assert_uint_eq(at, next);
                ck_assert_uint_eq(at, dest);
                ck_assert(p < -leg);
                walks++;
            } else { /* a leg across a lane: it costs at least the lane */
                float len = lane_length(c, at, next);
                ck_assert_msg(len > 0.0f, "turn %llu fleet %u: %u -> %u is not a lane", (unsigned long long)t, i,
                              at, next);
                ck_assert_msg(leg >= len, "turn %llu fleet %u: leg %g < lane %g", (unsigned long long)t, i,
                              (double)leg, (double)len);
                ck_assert_msg(p < leg, "turn %llu fleet %u: progress %g of %g", (unsigned long long)t, i, (double)p,
                              (double)leg);
            }
            if (i >= nprev || was[i].gen != c->gen[VR_TAB_fleets][i] || leg == 0.0f)
                continue;
            float speed = c->fleets_speed[i] * 1.0001f + 1e-4f;
            if (was[i].at == at && was[i].next == next && was[i].leg == leg) {
                /* on the same leg as last turn: at most its speed further */
                ck_assert_msg(p >= was[i].progress && p - was[i].progress <= speed,
                              "turn %llu fleet %u: %g -> %g with speed %g", (unsigned long long)t, i,
                              (double)was[i].progress, (double)p, (double)c->fleets_speed[i]);
                same_leg += p > was[i].progress;
            } else {
                /* a leg begun this turn: never on a closed lane, never more than its speed along */
                ck_assert_msg(p <= speed, "turn %llu fleet %u: %g along a new leg, speed %g", (unsigned long long)t,
                              i, (double)p, (double)c->fleets_speed[i]);
                if (leg > 0.0f)
                    ck_assert_msg(!c->edges_blocked[lane_edge(c, lane_row(c, at, next))],
                                  "turn %llu fleet %u set off on closed lane %u -> %u", (unsigned long long)t, i, at,
                                  next);
                new_leg++;
            }
        }
        ck_assert_uint_ge(alive, s.fleets);
        ck_assert_int_eq(vr_arena_publish(A.a, t, h), 0);
    }
    ck_assert_uint_gt(respawns, 0); /* so the constant count above means something */
    ck_assert_uint_gt(same_leg, (uint64_t)s.fleets * TURNS / 8);
    ck_assert_uint_gt(new_leg, (uint64_t)s.fleets);
    ck_assert_uint_gt(walks, 0);
    ck_assert_uint_gt(storms, 0);
    free(was);
    world_fini(&A);
}
END_TEST

/* The full node graph of the arena as a vr_graph (edge id = edge row), with
 * the closed lanes of the arena blocked. */
static void node_graph(const vr_cols *c, vr_graph **g, vr_pathfinder **pf)
{
    uint32_t nn = c->tables[VR_TAB_nodes].count, ne = c->tables[VR_TAB_edges].count;
    vr_edge *e = malloc(ne * sizeof *e);
    ck_assert(e);
    for (uint32_t v = 0; v < nn; v++)
        for (uint32_t k = c->nodes_edge_begin[v]; k < c->nodes_edge_begin[v] + c->nodes_edge_count[v]; k++)
            e[k] = (vr_edge){v, c->edges_to[k], (double)c->edges_cost[k]};
    *g = NULL, *pf = NULL;
    ck_assert_int_eq(vr_graph_new(g, nn, e, ne), 0);
    free(e);
    ck_assert_int_eq(vr_pathfinder_new(pf, *g, &(vr_path_opts){.no_cache = true}), 0);
    for (uint32_t k = 0; k < ne; k++)
        if (c->edges_blocked[k])
            ck_assert_int_eq(vr_path_block_edge(*pf, k, true), 1);
}

/* Route costs through the overlay (star to star, plus the ways to and from
 * the stars) equal plain Dijkstra's on the whole node graph, for random
 * pairs of stars and bodies (where fleets stand), with lanes closed: some before the routing was built (a
 * restarted worker finds them in the arena), more by storms afterwards. */
static void compare_routes(vr_sim *sim, const vr_cols *c, uint64_t seed, int pairs)
{
    vr_graph *g;
    vr_pathfinder *pf;
    node_graph(c, &g, &pf);
    uint32_t nn = c->tables[VR_TAB_nodes].count;
    int unreachable = 0;
    for (int k = 0; k < pairs; k++) {
        uint64_t r = vr_mix64(seed * 1000003u + (uint64_t)k);
        uint32_t a = (uint32_t)(r % nn), b = (uint32_t)((r >> 32) % nn);
        if (c->nodes_kind[a] == VR_NODE_GATE || c->nodes_kind[b] == VR_NODE_GATE) {
            k--; /* fleets stand at stars and bodies; gates are on the way */
            seed++;
            continue;
        }
        double want, got;
        long len = vr_path_dijkstra(pf, a, b, &want, NULL, 0);
        ck_assert(len >= 0 || len == -VR_ENOPATH);
        ck_assert_int_eq(vr__route_cost(sim, c, a, b, &got), 0);
        if (len == -VR_ENOPATH) {
            ck_assert(got == VR_PATH_INF);
            unreachable++;
            continue;
        }
        ck_assert_msg(fabs(got - want) <= 1e-9 * (want > 1 ? want : 1), "%u -> %u: overlay %.12g, Dijkstra %.12g",
                      a, b, got, want);
    }
    ck_assert_int_lt(unreachable, pairs / 10);
    vr_pathfinder_destroy(&pf);
    vr_graph_destroy(&g);
}

START_TEST(test_route_costs_equal_dijkstra)
{
    vr_scenario s = scenario();
    world A;
    world_init(&A, &s, "route");
    vr_cols *c = &A.c;
    ck_assert_int_eq(vr_arena_begin(A.a, c), 0);
    /* close every 23rd lane (both ways) before the routing exists */
    for (uint32_t l = 0; l < c->tables[VR_TAB_lanes].count; l += 23) {
        c->edges_blocked[lane_edge(c, l)] = 5;
        c->edges_blocked[lane_edge(c, lane_row(c, c->lanes_to[l], c->lanes_from[l]))] = 5;
    }
    compare_routes(A.sim, c, 1, 2000);
    /* storms open and close lanes; the pathfinder follows */
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    uint64_t closed = 0;
    for (uint64_t t = 1; t <= 12; t++) {
        ck_assert_int_eq(vr__storms(A.sim, c, t, &st), 0);
        closed += st.m[VR_M_storms];
    }
    ck_assert_uint_gt(closed, 0);
    compare_routes(A.sim, c, 2, 2000);
    /* and a worker starting afresh on this arena routes the same */
    vr_sim_destroy(&A.sim);
    ck_assert_int_eq(vr_sim_new(&A.sim, &s), 0);
    compare_routes(A.sim, c, 3, 500);
    world_fini(&A);
}
END_TEST

/* Storms: edges.blocked counts the turns left, for both ways of a lane; a
 * lane opens again when it reaches 0. */
START_TEST(test_storms_count_down)
{
    vr_scenario s = scenario();
    world A;
    world_init(&A, &s, "storm");
    vr_cols *c = &A.c;
    ck_assert_int_eq(vr_arena_begin(A.a, c), 0);
    uint32_t nl = c->tables[VR_TAB_lanes].count;
    uint8_t *prev = calloc(nl, 1);
    ck_assert(prev);
    int opened = 0, closed = 0;
    for (uint64_t t = 1; t <= 60; t++) {
        vr_turn_stats st;
        memset(&st, 0, sizeof st);
        ck_assert_int_eq(vr__storms(A.sim, c, t, &st), 0);
        uint64_t now = 0;
        for (uint32_t l = 0; l < nl; l++) {
            uint8_t b = c->edges_blocked[lane_edge(c, l)];
            uint32_t back = lane_row(c, c->lanes_to[l], c->lanes_from[l]);
            ck_assert_uint_eq(b, c->edges_blocked[lane_edge(c, back)]); /* both ways */
            ck_assert_uint_le(b, 11);
            if (prev[l] && b != prev[l] - 1) /* counting down, or a longer storm */
                ck_assert_uint_gt(b, prev[l] - 1);
            opened += prev[l] == 1 && b == 0;
            closed += prev[l] == 0 && b > 0;
            now += b > 0 && l < back;
            prev[l] = b;
        }
        ck_assert_uint_eq(st.m[VR_M_storms], now);
    }
    ck_assert_int_gt(opened, 0);
    ck_assert_int_gt(closed, 0);
    free(prev);
    world_fini(&A);
}
END_TEST

/* More than 64 factions: the interception filter's bits are shared, an
 * index decides.  Fleet X of faction 1 passes system S where a fleet of
 * faction 66 stands (war), then one of faction 2 (peace, same bit as 66). */
static uint64_t pass_by(uint16_t stander, int war)
{
    vr_scenario s = {.seed = 5, .universe = 0, .systems = 60, .fleets = 40, .factions = 70};
    world A;
    world_init(&A, &s, war ? "f70war" : "f70peace");
    vr_cols *c = &A.c;
    ck_assert_int_eq(vr_arena_begin(A.a, c), 0);
    uint32_t nf = s.factions;
    for (uint32_t k = 0; k < nf * nf; k++)
        c->relations_state[k] = 0; /* peace everywhere */
    if (war)
        c->relations_state[0 * nf + (stander - 1)] = c->relations_state[(stander - 1) * nf + 0] = 1;
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++) /* everyone else far away, travelling */
        vt_place(c, f, 40, c->lanes_to[c->systems_lane_begin[40]], c->lanes_to[c->systems_lane_begin[40]], 0.0f);
    uint32_t s0 = 10, S = c->lanes_to[c->systems_lane_begin[s0]], s2 = UINT32_MAX;
    for (uint32_t l = c->systems_lane_begin[S]; l < c->systems_lane_begin[S] + c->systems_lane_count[S]; l++)
        if (c->lanes_to[l] != s0)
            s2 = c->lanes_to[l];
    ck_assert_uint_ne(s2, UINT32_MAX);
    vt_place(c, 0, s0, S, s2, 0.0f);
    c->fleets_faction[0] = 1, c->fleets_speed[0] = 1e6f;
    vt_place(c, 1, S, S, S, 0.0f);
    c->fleets_faction[1] = stander;
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__move(A.sim, c, 1, &st), 0);
    ck_assert_uint_eq(c->fleets_at[0], st.m[VR_M_intercepted] ? S : s2);
    world_fini(&A);
    return st.m[VR_M_intercepted];
}

START_TEST(test_interception_many_factions)
{
    ck_assert_uint_eq(pass_by(66, 1), 1);
    ck_assert_uint_eq(pass_by(66, 0), 0);
    ck_assert_uint_eq(pass_by(2, 0), 0);
    ck_assert_uint_eq(pass_by(2, 1), 1);
}
END_TEST

/* Other seeds give other histories (the hash is not constant). */
START_TEST(test_seed_matters)
{
    vr_scenario s = scenario(), s2 = scenario();
    s2.seed = s.seed + 1;
    world A, B;
    world_init(&A, &s, "seeda");
    world_init(&B, &s2, "seedb");
    for (uint64_t t = 1; t <= 5; t++) {
        uint64_t ha = world_turn(&A, t, NULL), hb = world_turn(&B, t, NULL);
        ck_assert_uint_ne(ha, hb);
        ck_assert_int_eq(vr_arena_publish(A.a, t, ha), 0);
        ck_assert_int_eq(vr_arena_publish(B.a, t, hb), 0);
    }
    world_fini(&A);
    world_fini(&B);
}
END_TEST

static Suite *movement_suite(void)
{
    Suite *s = suite_create("movement");
    TCase *tc = tcase_create("turns");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_two_arenas_same_hashes);
    tcase_add_test(tc, test_restart_and_replay);
    tcase_add_test(tc, test_movement_invariants);
    tcase_add_test(tc, test_seed_matters);
    tcase_add_test(tc, test_route_costs_equal_dijkstra);
    tcase_add_test(tc, test_storms_count_down);
    tcase_add_test(tc, test_interception_many_factions);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    vt_init();
    SRunner *sr = srunner_create(movement_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}
