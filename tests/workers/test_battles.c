/* test_battles.c: Check suite for workers/battles.c (combat in the turn) and
 * the interception rule of movement.
 *
 * A generated universe is arranged by hand: every relation at peace but one
 * pair at war, and exactly two fleets of that pair standing at one system.
 * They must fight there (and nowhere else), the loser or the routed retreat,
 * destroyed ships and empty fleets are freed and replaced, the state stays
 * valid for the auditor, and the same arrangement gives the same result.
 * The battles table logs each battle of the turn (and only this turn's).
 */
#include "audit.h"
#include "sim_internal.h"
#include "vr_test_world.h"

#include <check.h>
#include <string.h>

typedef struct world {
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
    char seg[VR_SEGNAME_MAX];
    vr_scenario s;
    uint32_t fa, fb, sys; /* the two fleets and their system */
} world;

/* Everyone at peace except factions 1 and 2 (war == 1 when `war`); fleets
 * fa (faction 1) and fb (faction 2) stand at system sys; every other fleet
 * is on a lane, so nothing else can fight. */
static void arrange(world *w, int war)
{
    vr_cols *c = &w->c;
    uint32_t nf = w->s.factions;
    for (uint32_t a = 0; a < nf; a++)
        for (uint32_t b = 0; b < nf; b++)
            c->relations_state[a * nf + b] = a == b ? 3 : 0;
    c->relations_state[0 * nf + 1] = c->relations_state[1 * nf + 0] = war ? 1 : 0;
    w->fa = w->fb = UINT32_MAX;
    w->sys = 5;
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++) {
        uint16_t fac = c->fleets_faction[f];
        if (fac == 1 && w->fa == UINT32_MAX)
            w->fa = f;
        else if (fac == 2 && w->fb == UINT32_MAX)
            w->fb = f;
        else { /* on a lane out of some other system */
            uint32_t to = c->lanes_to[c->systems_lane_begin[7]];
            vt_place(c, f, 7, to, to, 0.5f);
            continue;
        }
        vt_place(c, f, w->sys, w->sys, w->sys, 0.0f);
    }
    ck_assert_uint_ne(w->fa, UINT32_MAX);
    ck_assert_uint_ne(w->fb, UINT32_MAX);
}

static void world_init(world *w, const char *tag, int war)
{
    memset(w, 0, sizeof *w);
    w->s = (vr_scenario){.seed = 4, .universe = 0, .systems = 60, .fleets = 40, .factions = 3};
    vt_world_make(tag, &w->s, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim);
    arrange(w, war);
}

static void world_fini(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

START_TEST(test_war_means_battle_and_aftermath)
{
    world w;
    world_init(&w, "war", 1);
    vr_cols *c = &w.c;
    uint32_t fleets = c->tables[VR_TAB_fleets].live, ships = c->tables[VR_TAB_ships].live;
    uint32_t ships_a = c->fleets_ships[w.fa], ships_b = c->fleets_ships[w.fb];
    int16_t opinion = c->relations_opinion[0 * w.s.factions + 1];
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(w.sim, c, 1, &st), 0);
    ck_assert_uint_eq(st.m[VR_M_battles], 1);
    ck_assert_uint_gt(st.m[VR_M_combat_ns], 0);
    /* destroyed ships are freed; an emptied fleet is replaced by a new one
     * (with up to VR_MAX_FLEET_SHIPS ships), so the fleet count holds */
    if (st.m[VR_M_spawned] == 0)
        ck_assert_uint_eq(c->tables[VR_TAB_ships].live, ships - st.m[VR_M_kills]);
    else
        ck_assert_uint_le(c->tables[VR_TAB_ships].live,
                          ships - st.m[VR_M_kills] + st.m[VR_M_spawned] * VR_MAX_FLEET_SHIPS);
    ck_assert_uint_eq(c->tables[VR_TAB_fleets].live, fleets);
    ck_assert_int_lt(c->relations_opinion[0 * w.s.factions + 1], opinion);
    ck_assert_int_eq(c->relations_opinion[0 * w.s.factions + 1], c->relations_opinion[1 * w.s.factions + 0]);
    /* no ship is left marked routed or destroyed */
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++)
        if (c->gen[VR_TAB_ships][r] & 1)
            ck_assert_uint_eq(c->ships_state[r], 0);
    /* a surviving loser, or a fleet with routed ships, is falling back */
    int retreating = 0;
    for (int k = 0; k < 2; k++) {
        uint32_t f = k ? w.fb : w.fa;
        if ((c->gen[VR_TAB_fleets][f] & 1) && c->fleets_next[f] != c->fleets_at[f])
            retreating = 1;
    }
    ck_assert_msg(retreating || st.m[VR_M_kills] > 0, "a battle with no loss and no retreat");
    /* the battles table logs it: where, who, how many, how it ended */
    ck_assert_uint_eq(c->tables[VR_TAB_battles].count, 1);
    ck_assert_uint_eq(c->tables[VR_TAB_battles].live, 1);
    ck_assert_uint_eq(c->gen[VR_TAB_battles][0] & 1, 1);
    ck_assert_uint_eq(c->battles_turn[0], 1);
    ck_assert_uint_eq(c->battles_system[0], w.sys);
    ck_assert_uint_eq(c->battles_faction[0], 1);
    ck_assert_uint_eq(c->battles_faction[1], 2);
    ck_assert_uint_eq(c->battles_ships[0], ships_a);
    ck_assert_uint_eq(c->battles_ships[1], ships_b);
    ck_assert_uint_eq(c->battles_destroyed[0] + c->battles_destroyed[1], st.m[VR_M_kills]);
    ck_assert_uint_le(c->battles_destroyed[0] + c->battles_routed[0], ships_a);
    ck_assert_uint_le(c->battles_destroyed[1] + c->battles_routed[1], ships_b);
    ck_assert_int_ge(c->battles_winner[0], -1);
    ck_assert_int_le(c->battles_winner[0], 1);
    ck_assert_uint_ge(c->battles_end[0], 1);
    ck_assert_uint_le(c->battles_end[0], 3);
    if (c->battles_end[0] != 1) /* not decided: fought until stalemate or the limit */
        ck_assert_uint_gt(c->battles_rounds[0], 0);
    vr_audit_params ap = {.turn = 100, .factions = w.s.factions, .design_hull = w.sim->design_hull,
                          .ndesigns = w.sim->ndesigns};
    ck_assert_int_eq(vr_audit_run(&ap, c, 3), 0);
    world_fini(&w);
}
END_TEST

/* The table holds this turn's battles only: a turn without battles empties
 * it; its capacity is one battle per system. */
START_TEST(test_battles_table_is_per_turn)
{
    world w;
    world_init(&w, "log", 1);
    vr_cols *c = &w.c;
    ck_assert_uint_eq(c->capacity[VR_TAB_battles], w.s.systems);
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(w.sim, c, 1, &st), 0);
    ck_assert_uint_eq(c->tables[VR_TAB_battles].live, 1);
    arrange(&w, 0); /* peace everywhere */
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(w.sim, c, 2, &st), 0);
    ck_assert_uint_eq(st.m[VR_M_battles], 0);
    ck_assert_uint_eq(c->tables[VR_TAB_battles].count, 0);
    ck_assert_uint_eq(c->tables[VR_TAB_battles].live, 0);
    /* two battles in one turn: two rows, one per system, in system order */
    arrange(&w, 1);
    uint32_t fa2 = UINT32_MAX, fb2 = UINT32_MAX;
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++) {
        if (!(c->gen[VR_TAB_fleets][f] & 1) || f == w.fa || f == w.fb)
            continue;
        if (c->fleets_faction[f] == 1 && fa2 == UINT32_MAX)
            fa2 = f;
        else if (c->fleets_faction[f] == 2 && fb2 == UINT32_MAX)
            fb2 = f;
    }
    ck_assert_uint_ne(fa2, UINT32_MAX);
    ck_assert_uint_ne(fb2, UINT32_MAX);
    vt_place(c, fa2, 3, 3, 3, 0.0f);
    vt_place(c, fb2, 3, 3, 3, 0.0f);
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(w.sim, c, 3, &st), 0);
    ck_assert_uint_eq(st.m[VR_M_battles], 2);
    ck_assert_uint_eq(c->tables[VR_TAB_battles].live, 2);
    ck_assert_uint_eq(c->battles_system[0], 3);
    ck_assert_uint_eq(c->battles_system[1], w.sys);
    ck_assert_uint_eq(c->battles_turn[0], 3);
    ck_assert_uint_eq(c->battles_turn[1], 3);
    world_fini(&w);
}
END_TEST

START_TEST(test_peace_means_no_battle)
{
    world w;
    world_init(&w, "peace", 0);
    uint64_t before = vr_arena_hash(w.a);
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(w.sim, &w.c, 1, &st), 0);
    ck_assert_uint_eq(st.m[VR_M_battles], 0);
    ck_assert_uint_eq(vr_arena_hash(w.a), before);
    world_fini(&w);
}
END_TEST

START_TEST(test_same_arrangement_same_outcome)
{
    world a, b;
    world_init(&a, "det_a", 1);
    world_init(&b, "det_b", 1);
    vr_turn_stats sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    ck_assert_int_eq(vr__battles(a.sim, &a.c, 9, &sa), 0);
    ck_assert_int_eq(vr__battles(b.sim, &b.c, 9, &sb), 0);
    ck_assert_uint_eq(vr_arena_hash(a.a), vr_arena_hash(b.a));
    ck_assert_uint_eq(sa.m[VR_M_kills], sb.m[VR_M_kills]);
    world_fini(&a);
    world_fini(&b);
}
END_TEST

/* Interception: fleet X (faction 1) travels through system S where fleet Y
 * (faction 2) stands.  At war X stops at S; at peace it passes through. */
static uint32_t run_through(int war, uint32_t *stop_at, uint32_t *sys)
{
    world w;
    world_init(&w, war ? "icpt_war" : "icpt_peace", war);
    vr_cols *c = &w.c;
    /* X: two lanes away from its destination, through S */
    uint32_t s0 = 10, S = c->lanes_to[c->systems_lane_begin[s0]];
    uint32_t s2 = UINT32_MAX;
    for (uint32_t l = c->systems_lane_begin[S]; l < c->systems_lane_begin[S] + c->systems_lane_count[S]; l++)
        if (c->lanes_to[l] != s0)
            s2 = c->lanes_to[l];
    ck_assert_uint_ne(s2, UINT32_MAX);
    uint32_t x = w.fa, y = w.fb;
    vt_place(c, x, s0, S, s2, 0.0f);
    c->fleets_speed[x] = 1e6f; /* fast enough to go all the way */
    vt_place(c, y, S, S, S, 0.0f);
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__move(w.sim, c, 1, &st), 0);
    *stop_at = c->fleets_at[x];
    *sys = S;
    uint32_t got = (uint32_t)st.m[VR_M_intercepted];
    if (war) /* stopped: standing where the enemy stands */
        ck_assert_uint_eq(c->fleets_next[x], c->fleets_at[x]);
    else
        *sys = s2;
    world_fini(&w);
    return got;
}

START_TEST(test_interception)
{
    uint32_t at, sys;
    ck_assert_uint_ge(run_through(1, &at, &sys), 1);
    ck_assert_uint_eq(at, sys);
    run_through(0, &at, &sys);
    ck_assert_uint_eq(at, sys); /* reached its destination beyond S */
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("battles");
    TCase *tc = tcase_create("battles");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_war_means_battle_and_aftermath);
    tcase_add_test(tc, test_battles_table_is_per_turn);
    tcase_add_test(tc, test_peace_means_no_battle);
    tcase_add_test(tc, test_same_arrangement_same_outcome);
    tcase_add_test(tc, test_interception);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
