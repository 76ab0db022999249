/* test_decisions.c: Check suite for workers/decisions.c (AI in the turn).
 *
 * A generated universe arranged by hand: factions 1 and 2 at war, everyone
 * else at peace, one fleet of faction 1 standing at its destination S and a
 * fleet of faction 2 standing one lane away at T.  A strong fleet attacks
 * (heads for T), a weak one retreats home; the decision is logged with its
 * six scores; fleets still travelling do not decide; the same arrangement
 * gives the same state.
 */
#include "ai.h"
#include "diplomacy.h"
#include "sim_internal.h"
#include "vr_test_world.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct world {
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
    char seg[VR_SEGNAME_MAX];
    vr_scenario s;
    uint32_t fa, fb, S, T, moving;
} world;

static void world_init(world *w, const char *tag, uint32_t own_ships, uint32_t enemy_ships)
{
    memset(w, 0, sizeof *w);
    w->s = (vr_scenario){.seed = 8, .universe = 0, .systems = 60, .fleets = 40, .factions = 3};
    vt_world_make(tag, &w->s, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim);
    vr_cols *c = &w->c;
    uint32_t nf = w->s.factions;
    for (uint32_t a = 0; a < nf; a++)
        for (uint32_t b = 0; b < nf; b++)
            c->relations_state[a * nf + b] = a == b ? 3 : 0;
    c->relations_state[1] = c->relations_state[nf] = 1; /* 1 <-> 2 at war */
    /* S: a system faction 1 does not own; T: its first neighbour */
    w->S = 0;
    while (c->systems_owner[w->S] == 1)
        w->S++;
    w->T = c->lanes_to[c->systems_lane_begin[w->S]];
    w->fa = w->fb = w->moving = UINT32_MAX;
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++) {
        uint16_t fac = c->fleets_faction[f];
        uint32_t far = 40; /* everyone else travels far away */
        if (fac == 1 && w->fa == UINT32_MAX) {
            w->fa = f;
            vt_place(c, f, w->S, w->S, w->S, 0.0f);
            c->fleets_ships[f] = own_ships;
        } else if (fac == 2 && w->fb == UINT32_MAX) {
            w->fb = f;
            vt_place(c, f, w->T, w->T, w->T, 0.0f);
            c->fleets_ships[f] = enemy_ships;
        } else {
            uint32_t to = c->lanes_to[c->systems_lane_begin[far]];
            vt_place(c, f, far, to, to, 0.25f);
            if (w->moving == UINT32_MAX)
                w->moving = f;
        }
    }
    ck_assert(w->fa != UINT32_MAX && w->fb != UINT32_MAX && w->moving != UINT32_MAX);
}

static void world_fini(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

/* Faction 1's home: its first owned system. */
static uint32_t home1(const vr_cols *c)
{
    for (uint32_t s = 0; s < c->tables[VR_TAB_systems].count; s++)
        if (c->systems_owner[s] == 1)
            return s;
    return UINT32_MAX;
}

START_TEST(test_strong_fleet_attacks_and_is_logged)
{
    world w;
    world_init(&w, "attack", 20, 1);
    vr_cols *c = &w.c;
    uint32_t moving_dest = c->fleets_dest[w.moving];
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__decide(w.sim, c, 3, &st), 0);
    ck_assert_uint_ge(st.m[VR_M_decisions], 1);
    ck_assert_uint_eq(c->fleets_choice[w.fa], VR_AI_ATTACK);
    ck_assert_uint_eq(c->fleets_dest[w.fa], w.T);
    ck_assert_uint_eq(c->fleets_dest[w.moving], moving_dest); /* travelling: no decision */
    /* logged: the fleet's id, its choice, where it leads, six scores with attack the best */
    int found = 0;
    for (uint32_t r = 0; r < c->tables[VR_TAB_decisions].count; r++) {
        if (c->decisions_kind[r] != VR_AI_KIND_FLEET || c->decisions_entity[r] != vr_ent_id(c, VR_TAB_fleets, w.fa))
            continue;
        found = 1;
        ck_assert_uint_eq(c->decisions_turn[r], 3);
        ck_assert_uint_eq(c->decisions_choice[r], VR_AI_ATTACK);
        ck_assert_uint_eq(c->decisions_prev[r], 0xff);
        ck_assert_uint_eq(c->decisions_dest[r], w.T);
        const float *sc = c->decisions_score + (size_t)r * VR_AI_NOPTIONS;
        for (int k = 1; k < VR_AI_NOPTIONS; k++)
            ck_assert(sc[VR_AI_ATTACK] >= sc[k]);
    }
    ck_assert(found);
    world_fini(&w);
}
END_TEST

START_TEST(test_weak_fleet_retreats_home)
{
    world w;
    world_init(&w, "retreat", 1, 500);
    vr_cols *c = &w.c;
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__decide(w.sim, c, 3, &st), 0);
    ck_assert_uint_eq(c->fleets_choice[w.fa], VR_AI_RETREAT);
    ck_assert_uint_ne(home1(c), UINT32_MAX);
    ck_assert_uint_eq(c->fleets_dest[w.fa], home1(c));
    world_fini(&w);
}
END_TEST

START_TEST(test_unchanged_decision_is_not_logged_again)
{
    world w;
    world_init(&w, "again", 20, 1);
    vr_cols *c = &w.c;
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__decide(w.sim, c, 3, &st), 0);
    /* standing at its destination again with the same view: same choice, no new record */
    c->fleets_dest[w.fa] = c->fleets_at[w.fa];
    c->fleets_dest_node[w.fa] = c->fleets_node[w.fa];
    ck_assert_int_eq(vr__decide(w.sim, c, 4, &st), 0);
    for (uint32_t r = 0; r < c->tables[VR_TAB_decisions].count; r++)
        ck_assert(c->decisions_kind[r] != VR_AI_KIND_FLEET ||
                  c->decisions_entity[r] != vr_ent_id(c, VR_TAB_fleets, w.fa));
    world_fini(&w);
}
END_TEST

START_TEST(test_deterministic)
{
    world a, b;
    world_init(&a, "det_a", 7, 5);
    world_init(&b, "det_b", 7, 5);
    vr_turn_stats sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    ck_assert_int_eq(vr__decide(a.sim, &a.c, 11, &sa), 0);
    ck_assert_int_eq(vr__decide(b.sim, &b.c, 11, &sb), 0);
    ck_assert_uint_eq(vr_arena_hash(a.a), vr_arena_hash(b.a));
    world_fini(&a);
    world_fini(&b);
}
END_TEST

/* Factions decide too: a posture for each (logged with its scores the
 * first time), which sets its stance and budget split; the diplomacy it
 * seeks pushes its opinions in the next turn's diplomacy. */
START_TEST(test_factions_decide_and_steer)
{
    world w;
    world_init(&w, "factions", 20, 1);
    vr_cols *c = &w.c;
    uint32_t nf = c->tables[VR_TAB_factions].count;
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__decide(w.sim, c, 3, &st), 0);
    uint32_t logged = 0;
    for (uint32_t r = 0; r < c->tables[VR_TAB_decisions].count; r++) {
        if (c->decisions_kind[r] != VR_AI_KIND_FACTION)
            continue;
        uint32_t g = (uint32_t)c->decisions_entity[r]; /* row */
        ck_assert_uint_lt(g, nf);
        ck_assert_uint_eq(c->decisions_prev[r], 0xff);
        ck_assert_uint_eq(c->decisions_choice[r], c->factions_posture[g]);
        ck_assert_uint_eq(c->decisions_dest[r], UINT32_MAX);
        const float *sc = c->decisions_score + (size_t)r * VR_AI_NOPTIONS;
        for (int k = 0; k < VR_AI_NOPTIONS; k++)
            ck_assert(sc[c->decisions_choice[r]] >= sc[k] - 0.2f); /* best, up to exploration noise */
        logged++;
    }
    ck_assert_uint_eq(logged, nf);
    for (uint32_t g = 0; g < nf; g++) {
        uint8_t p = c->factions_posture[g];
        ck_assert_uint_lt(p, VR_AI_NOPTIONS);
        const float *b = c->factions_budget + (size_t)g * 3;
        ck_assert_float_eq_tol(b[0] + b[1] + b[2], 1.0f, 1e-4f);
        /* ai.h: aggressive after attack, defensive after defend or retreat */
        if (p == VR_AI_ATTACK)
            ck_assert_uint_eq(c->factions_stance[g], VR_AI_AGGRESSIVE);
        if (p == VR_AI_DEFEND || p == VR_AI_RETREAT)
            ck_assert_uint_eq(c->factions_stance[g], VR_AI_DEFENSIVE);
    }
    /* a second look logs only the factions whose posture changed */
    ck_assert_int_eq(vr__decide(w.sim, c, 4, &st), 0);
    for (uint32_t r = 0; r < c->tables[VR_TAB_decisions].count; r++)
        if (c->decisions_kind[r] == VR_AI_KIND_FACTION)
            ck_assert_uint_ne(c->decisions_choice[r], c->decisions_prev[r]);
    /* seeking peace warms a faction to those it is at war with; seeking war
     * cools it to the weakest faction it is at peace with */
    int16_t *push = calloc((size_t)nf * nf, sizeof *push);
    ck_assert_ptr_nonnull(push);
    for (uint32_t k = 0; k < nf * nf; k++)
        c->relations_state[k] = k % (nf + 1) == 0 ? VR_REL_ALLIANCE : VR_REL_PEACE;
    c->relations_state[0 * nf + 1] = c->relations_state[1 * nf + 0] = VR_REL_WAR;
    for (uint32_t g = 0; g < nf; g++)
        c->factions_seek[g] = VR_AI_DIPLO_KEEP;
    c->factions_seek[0] = VR_AI_DIPLO_SEEK_PEACE;
    c->factions_seek[2] = VR_AI_DIPLO_SEEK_WAR;
    c->factions_ships[1] = 1, c->factions_ships[0] = 5;
    ck_assert_int_eq(vr__diplomacy_push(c, nf, push), 0);
    ck_assert_int_gt(push[0 * nf + 1], 0); /* 1 toward its enemy 2 */
    ck_assert_int_lt(push[2 * nf + 1], 0); /* 3 toward the weakest, 2 */
    int nonzero = 0;
    for (uint32_t k = 0; k < nf * nf; k++)
        nonzero += push[k] != 0;
    ck_assert_int_eq(nonzero, 2);
    free(push);
    world_fini(&w);
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("decisions");
    TCase *tc = tcase_create("decisions");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_strong_fleet_attacks_and_is_logged);
    tcase_add_test(tc, test_factions_decide_and_steer);
    tcase_add_test(tc, test_weak_fleet_retreats_home);
    tcase_add_test(tc, test_unchanged_decision_is_not_logged_again);
    tcase_add_test(tc, test_deterministic);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
