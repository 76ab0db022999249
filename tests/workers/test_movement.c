/* test_movement.c: Check suite for workers/movement.c (vr_sim_turn).
 *
 * Determinism is the core promise: two arenas running the same scenario give
 * the same state hash after every turn, also when one of them loses its
 * worker-side caches (a restarted worker) or recomputes a turn it never
 * published.  Alongside, the invariants of movement: fleets stand on real
 * systems, travel only along lanes, never spend more than their speed in a
 * turn, and disband/respawn keeps the number of live fleets constant.
 */
#include "vr_sim.h"
#include "vr_test_shm.h"

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

/* Where fleet i is, in the plane. */
static void position(const vr_cols *c, uint32_t i, float *x, float *y)
{
    uint32_t a = c->fleets_at[i], b = c->fleets_next[i];
    float t = 0.0f;
    if (a != b)
        t = c->fleets_progress[i] / lane_length(c, a, b);
    *x = c->systems_x[a] + (c->systems_x[b] - c->systems_x[a]) * t;
    *y = c->systems_y[a] + (c->systems_y[b] - c->systems_y[a]) * t;
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

START_TEST(test_movement_invariants)
{
    vr_scenario s = scenario();
    world A;
    world_init(&A, &s, "inv");
    uint32_t cap = A.c.capacity[VR_TAB_fleets];
    uint32_t *pgen = malloc(cap * sizeof *pgen);
    float *px = malloc(cap * sizeof *px), *py = malloc(cap * sizeof *py);
    ck_assert(pgen && px && py);
    uint64_t respawns = 0, checked_moves = 0;
    for (uint64_t t = 1; t <= TURNS; t++) {
        /* positions at the end of the previous turn */
        uint32_t nprev = A.c.tables[VR_TAB_fleets].count;
        for (uint32_t i = 0; i < nprev; i++) {
            pgen[i] = A.c.gen[VR_TAB_fleets][i];
            if (pgen[i] & 1)
                position(&A.c, i, &px[i], &py[i]);
        }
        vr_turn_stats st;
        uint64_t h = world_turn(&A, t, &st);
        respawns += st.m[VR_M_spawned];
        const vr_cols *c = &A.c;
        ck_assert_uint_ge(c->tables[VR_TAB_fleets].live, s.fleets);
        ck_assert_uint_le(c->tables[VR_TAB_fleets].count, c->capacity[VR_TAB_fleets]);
        ck_assert_uint_eq(c->tables[VR_TAB_systems].live, s.systems);
        uint32_t alive = 0;
        for (uint32_t i = 0; i < c->tables[VR_TAB_fleets].count; i++) {
            if (!(c->gen[VR_TAB_fleets][i] & 1))
                continue;
            alive++;
            uint32_t at = c->fleets_at[i], next = c->fleets_next[i];
            ck_assert_uint_lt(at, s.systems);
            ck_assert_uint_lt(next, s.systems);
            ck_assert_uint_lt(c->fleets_dest[i], s.systems);
            ck_assert(c->fleets_progress[i] >= 0.0f);
            if (next == at) {
                ck_assert_float_eq(c->fleets_progress[i], 0.0f);
            } else {
                float len = lane_length(c, at, next);
                ck_assert_msg(len > 0.0f, "turn %llu fleet %u: %u -> %u is not a lane",
                              (unsigned long long)t, i, at, next);
                ck_assert_msg(c->fleets_progress[i] < len, "turn %llu fleet %u: progress %g of %g",
                              (unsigned long long)t, i, (double)c->fleets_progress[i], (double)len);
            }
            /* the same fleet as last turn: it moved at most its speed */
            if (i < nprev && pgen[i] == c->gen[VR_TAB_fleets][i]) {
                float x, y;
                position(c, i, &x, &y);
                float d = hypotf(x - px[i], y - py[i]);
                ck_assert_msg(d <= c->fleets_speed[i] * 1.0001f + 1e-3f,
                              "turn %llu fleet %u moved %g with speed %g", (unsigned long long)t, i,
                              (double)d, (double)c->fleets_speed[i]);
                checked_moves += d > 0.0f;
            }
        }
        ck_assert_uint_ge(alive, s.fleets);
        ck_assert_int_eq(vr_arena_publish(A.a, t, h), 0);
    }
    ck_assert_uint_gt(respawns, 0); /* so the constant count above means something */
    ck_assert_uint_gt(checked_moves, (uint64_t)s.fleets * TURNS / 4);
    free(pgen);
    free(px);
    free(py);
    world_fini(&A);
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
