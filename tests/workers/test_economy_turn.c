/* test_economy_turn.c: Check suite for workers/economy_turn.c (the economy
 * system of the turn on the arena).
 *
 * Over whole turns of a generated universe: planets produce, owners earn and
 * pay upkeep, planets build ships that join the universe as new fleets,
 * planets buy the food they eat and the alloys their queue takes from the
 * market (numbers by hand on turn 1) and sell it their surplus while it is
 * short, prices follow, the ledger accounts for every unit (the
 * conservation check passes every turn), an unrecorded change is caught and
 * reported by the auditor under the RESOURCES rule, and production stops at
 * the fleet cap instead of filling the arena.
 */
#include "audit.h"
#include "economy.h"
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
} world;

static void world_init(world *w, const char *tag, uint32_t fleets)
{
    memset(w, 0, sizeof *w);
    w->s = (vr_scenario){.seed = 12, .universe = 0, .systems = 80, .fleets = fleets, .factions = 3};
    vt_world_make(tag, &w->s, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim);
    ck_assert_int_eq(vr_arena_publish(w->a, 0, vr_arena_hash(w->a)), 0);
}

static void world_fini(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

/* Runs whole turns first..last, publishing each; sums the metrics. */
static void run(world *w, uint64_t first, uint64_t last, vr_turn_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (uint64_t t = first; t <= last; t++) {
        vr_turn_stats st;
        ck_assert_int_eq(vr_arena_begin(w->a, &w->c), 0);
        int rc = vr_sim_turn(w->sim, &w->c, t, &st);
        ck_assert_msg(rc == 0, "turn %llu: %s", (unsigned long long)t, vr_strerror(rc));
        char why[256] = "";
        ck_assert_msg(vr__economy_check(w->sim, &w->c, why, sizeof why) == 0, "turn %llu: %s",
                      (unsigned long long)t, why);
        for (int k = 0; k < VR_NMETRICS; k++)
            sum->m[k] += st.m[k];
        ck_assert_int_eq(vr_arena_publish(w->a, t, vr_arena_hash(w->a)), 0);
    }
}

START_TEST(test_turns_conserve_and_build)
{
    world w;
    world_init(&w, "econ", 120);
    vr_turn_stats sum;
    run(&w, 1, 60, &sum);
    vr_cols *c = &w.c;
    const int64_t *amount = c->ledger_amount;
    ck_assert_int_gt(amount[VR_CAUSE_PRODUCED * VR_NLEDGER + VR_RES_ALLOYS], 0);
    ck_assert_int_gt(amount[VR_CAUSE_INCOME * VR_NLEDGER + VR_RES_CREDITS], 0);
    ck_assert_int_gt(amount[VR_CAUSE_UPKEEP * VR_NLEDGER + VR_RES_CREDITS], 0);
    ck_assert_int_gt(amount[VR_CAUSE_CONSTRUCTION * VR_NLEDGER + VR_RES_CREDITS], 0);
    ck_assert_uint_gt(sum.m[VR_M_produced], 0);
    ck_assert_uint_gt(sum.m[VR_M_economy_ns], 0);
    ck_assert_uint_gt(c->tables[VR_TAB_fleets].live, w.s.fleets); /* ships were built */
    /* planets traded with the market, people ate, and prices moved within
     * their bounds */
    ck_assert_int_gt(amount[VR_CAUSE_TRADED * VR_NLEDGER + VR_RES_CREDITS], 0);
    ck_assert_int_gt(amount[VR_CAUSE_TRADED * VR_NLEDGER + VR_RES_FOOD], 0);
    ck_assert_int_gt(amount[VR_CAUSE_CONSUMED * VR_NLEDGER + VR_RES_FOOD], 0);
    int moved = 0;
    for (int r = 0; r < VR_NRES; r++) {
        int64_t price = c->markets_price[r], base = c->markets_base[r];
        ck_assert(price >= base / 4 && price <= 4 * base);
        moved |= price != base;
    }
    ck_assert(moved);
    ck_assert_uint_eq(sum.m[VR_M_findings], 0);
    world_fini(&w);
}
END_TEST

/* Turn 1 with no food anywhere: every owned planet buys exactly what its
 * population eats (ceil(population / 2000)) at the base price, 4000, and
 * eats it; the market loses that food, gains its price, and the food price
 * rises by a quarter of the way to 4000 * (1000 + D) / (1000 - D) for D
 * units asked.  Nobody sells: at the base price the market's bid is below
 * it. */
START_TEST(test_planets_buy_what_they_lack)
{
    world w;
    world_init(&w, "buy", 60);
    vr_cols *c = &w.c;
    ck_assert_int_eq(vr_arena_begin(w.a, c), 0);
    int64_t removed = 0, need = 0;
    uint32_t owned = 0;
    for (uint32_t p = 0; p < c->tables[VR_TAB_planets].count; p++) {
        removed += c->planets_stock[(size_t)p * VR_NRES + VR_RES_FOOD];
        c->planets_stock[(size_t)p * VR_NRES + VR_RES_FOOD] = 0;
        c->planets_production[(size_t)p * VR_NRES + VR_RES_FOOD] = 0;
        if (c->planets_owner[p]) {
            need += (c->planets_population[p] + 1999) / 2000;
            owned++;
        }
    }
    c->ledger_start[VR_RES_FOOD] -= removed; /* the books restart here */
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++)
        ck_assert_int_eq(c->fleets_cargo[(size_t)f * VR_NRES + VR_RES_FOOD], 0);
    ck_assert_uint_gt(owned, 0);
    ck_assert_int_gt(need, 0);
    ck_assert_int_lt(need, 1000);
    ck_assert_int_eq(c->markets_stock[VR_RES_FOOD], 1000);
    ck_assert_int_eq(c->markets_price[VR_RES_FOOD], 4000);
    ck_assert_int_eq(c->markets_price[VR_RES_ALLOYS], 2000);
    int64_t credits = c->markets_credits[0];
    const int64_t *amount = c->ledger_amount;

    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__economy(w.sim, c, 1, &st), 0);
    char why[256] = "";
    ck_assert_msg(vr__economy_check(w.sim, c, why, sizeof why) == 0, "%s", why);
    for (uint32_t p = 0; p < c->tables[VR_TAB_planets].count; p++)
        ck_assert_int_eq(c->planets_stock[(size_t)p * VR_NRES + VR_RES_FOOD], 0); /* bought and eaten */
    ck_assert_int_eq(amount[VR_CAUSE_TRADED * VR_NLEDGER + VR_RES_FOOD], need);
    ck_assert_int_eq(amount[VR_CAUSE_CONSUMED * VR_NLEDGER + VR_RES_FOOD], need);
    ck_assert_int_eq(c->markets_stock[VR_RES_FOOD], 1000 - need);
    /* only buys: the market gained the price of the food and of the alloys
     * queues took */
    int64_t alloys = amount[VR_CAUSE_TRADED * VR_NLEDGER + VR_RES_ALLOYS];
    ck_assert_int_eq(c->markets_stock[VR_RES_ALLOYS], 1000 - alloys);
    ck_assert_int_eq(c->markets_credits[0], credits + 4000 * need + 2000 * alloys);
    ck_assert_int_eq(amount[VR_CAUSE_TRADED * VR_NLEDGER + VR_RES_ORE], 0);
    int64_t want = 4000 * (1000 + need) / (1000 - need);
    ck_assert_int_eq(c->markets_price[VR_RES_FOOD], 4000 + (want - 4000 + 3) / 4);
    world_fini(&w);
}
END_TEST

START_TEST(test_unrecorded_change_is_reported)
{
    world w;
    world_init(&w, "leak", 60);
    vr_turn_stats sum;
    run(&w, 1, 5, &sum);
    /* an alloy appears from nowhere in the work buffer of turn 10 */
    vr_cols *c = &w.c;
    ck_assert_int_eq(vr_arena_begin(w.a, c), 0);
    c->planets_stock[0 * VR_NRES + VR_RES_ALLOYS] += 1;
    char why[256] = "";
    ck_assert_int_ne(vr__economy_check(w.sim, c, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "alloys"));
    vr_turn_stats st;
    ck_assert_int_eq(vr_sim_turn(w.sim, c, 10, &st), 0); /* a full audit turn */
    ck_assert_uint_ge(st.m[VR_M_findings], 1);
    int found = 0;
    for (uint32_t r = 0; r < c->tables[VR_TAB_findings].count; r++)
        found |= c->findings_rule[r] == VR_AUDIT_RESOURCES && c->findings_turn[r] == 10;
    ck_assert(found);
    ck_assert_int_eq(c->planets_stock[0 * VR_NRES + VR_RES_ALLOYS] >= 1, 1); /* reported, not repaired */
    world_fini(&w);
}
END_TEST

START_TEST(test_fleet_cap_stops_production)
{
    world w;
    world_init(&w, "cap", 40); /* small tables fill quickly */
    vr_cols *c = &w.c;
    /* a new turn 0 where every faction is rich enough to build all the time;
     * the treasuries changed outside the ledger, so the books restart here */
    ck_assert_int_eq(vr_arena_begin(w.a, c), 0);
    for (uint32_t f = 0; f < c->tables[VR_TAB_factions].count; f++) {
        c->ledger_start[VR_RES_CREDITS] += (INT64_C(1) << 50) - c->factions_treasury[f];
        c->factions_treasury[f] = INT64_C(1) << 50;
    }
    ck_assert_int_eq(vr_arena_publish(w.a, 0, vr_arena_hash(w.a)), 0);
    vr_turn_stats sum;
    run(&w, 1, 200, &sum);
    ck_assert_uint_le(c->tables[VR_TAB_fleets].live, c->capacity[VR_TAB_fleets]);
    ck_assert_uint_ge(c->tables[VR_TAB_fleets].live, c->capacity[VR_TAB_fleets] * 15 / 16 - 8);
    world_fini(&w);
}
END_TEST

/* A fleet that chose "mine" standing at a system with an asteroid field mines
 * into its hold; unloading at its faction's planet is a recorded haul; a
 * fleet freed with cargo loses it as recorded destruction. */
START_TEST(test_mine_haul_and_lose_cargo)
{
    world w;
    world_init(&w, "mine", 60);
    vr_cols *c = &w.c;
    ck_assert_int_eq(vr_arena_begin(w.a, c), 0);
    uint32_t ast_sys = c->nodes_system[c->asteroids_node[0]];
    uint32_t f = 0;
    int64_t reserve = c->asteroids_reserve[0];
    c->fleets_at[f] = c->fleets_next[f] = c->fleets_dest[f] = ast_sys;
    c->fleets_choice[f] = 3; /* mine */
    ck_assert_int_gt(c->fleets_capacity[f], 0);
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__economy(w.sim, c, 1, &st), 0);
    int64_t ore = c->fleets_cargo[(size_t)f * VR_NRES + VR_RES_ORE];
    ck_assert_int_gt(ore, 0);
    ck_assert_int_eq(c->asteroids_reserve[0], reserve - ore);
    ck_assert_int_eq(c->ledger_amount[VR_CAUSE_MINED * VR_NLEDGER + VR_RES_ORE], ore);
    char why[256] = "";
    ck_assert_msg(vr__economy_check(w.sim, c, why, sizeof why) == 0, "%s", why);
    /* at a system with a planet of its own faction, choosing trade: unload */
    uint32_t p = 0;
    while (c->planets_owner[p] == 0)
        p++;
    uint32_t home = c->nodes_system[c->planets_node[p]];
    c->fleets_faction[f] = c->planets_owner[p];
    c->fleets_at[f] = c->fleets_next[f] = c->fleets_dest[f] = home;
    c->fleets_choice[f] = 4; /* trade */
    int64_t stock = c->planets_stock[(size_t)p * VR_NRES + VR_RES_ORE];
    ck_assert_int_eq(vr__economy(w.sim, c, 2, &st), 0);
    ck_assert_int_eq(c->fleets_cargo[(size_t)f * VR_NRES + VR_RES_ORE], 0);
    ck_assert_int_ge(c->planets_stock[(size_t)p * VR_NRES + VR_RES_ORE], stock + ore);
    ck_assert_int_eq(c->ledger_amount[VR_CAUSE_HAULED * VR_NLEDGER + VR_RES_ORE], ore);
    ck_assert_msg(vr__economy_check(w.sim, c, why, sizeof why) == 0, "%s", why);
    /* mine again, then lose the cargo with the fleet */
    c->fleets_at[f] = c->fleets_next[f] = c->fleets_dest[f] = ast_sys;
    c->fleets_choice[f] = 3;
    ck_assert_int_eq(vr__economy(w.sim, c, 3, &st), 0);
    int64_t more = c->fleets_cargo[(size_t)f * VR_NRES + VR_RES_ORE];
    ck_assert_int_gt(more, 0);
    ck_assert_int_eq(vr__economy_lose_cargo(w.sim, c, f), 0);
    ck_assert_int_eq(c->fleets_cargo[(size_t)f * VR_NRES + VR_RES_ORE], 0);
    ck_assert_int_eq(c->ledger_amount[VR_CAUSE_DESTROYED * VR_NLEDGER + VR_RES_ORE], more);
    ck_assert_msg(vr__economy_check(w.sim, c, why, sizeof why) == 0, "%s", why);
    world_fini(&w);
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("economy_turn");
    TCase *tc = tcase_create("economy_turn");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_turns_conserve_and_build);
    tcase_add_test(tc, test_planets_buy_what_they_lack);
    tcase_add_test(tc, test_unrecorded_change_is_reported);
    tcase_add_test(tc, test_fleet_cap_stops_production);
    tcase_add_test(tc, test_mine_haul_and_lose_cargo);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
