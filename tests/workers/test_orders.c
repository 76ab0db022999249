/* test_orders.c: Check suite for workers/orders.c (user commands applied at
 * the start of a turn) on a real generated arena: each order kind, spawn,
 * policy, what the AI does with them afterwards (decisions.c), failures
 * that change nothing, the commands table, and determinism. */
#include "vr_test_world.h"

static const vr_scenario SC = {.seed = 11, .universe = 0, .systems = 64, .fleets = 200, .factions = 4};

typedef struct world {
    char seg[64];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
} world;

static void make(world *w) { vt_world_make("ord", &SC, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim); }
static void drop(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

/* a live fleet standing at a system, at or after row `from` */
static uint32_t standing(const vr_cols *c, uint32_t from)
{
    for (uint32_t f = from; f < c->tables[VR_TAB_fleets].count; f++)
        if ((c->gen[VR_TAB_fleets][f] & 1) && c->fleets_at[f] == c->fleets_next[f] && c->fleets_leg[f] == 0.0f)
            return f;
    ck_abort_msg("no standing fleet");
    return 0;
}

static vr_wresult apply1(world *w, uint64_t turn, vr_wcmd cmd)
{
    vr_wresult r[1];
    ck_assert_int_eq(vr_sim_commands(w->sim, &w->c, turn, &cmd, 1, r), 0);
    return r[0];
}

START_TEST(test_move_and_attack_set_destination)
{
    world w;
    make(&w);
    uint32_t f = standing(&w.c, 0), to = (w.c.fleets_at[f] + 7) % SC.systems;
    uint64_t id = vr_ent_id(&w.c, VR_TAB_fleets, f);
    vr_wresult r = apply1(&w, 1, (vr_wcmd){.ticket = 5, .op = VR_OP_MOVE, .fleet = id, .system = to});
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(r.entity, id);
    ck_assert_uint_eq(r.ticket, 5);
    ck_assert_uint_eq(w.c.fleets_dest[f], to);
    ck_assert_uint_eq(w.c.fleets_dest_node[f], w.c.systems_node_begin[to]);
    ck_assert_uint_eq(w.c.fleets_order[f], VR_OP_MOVE);
    ck_assert_uint_eq(w.c.fleets_hold_until[f], VR_HOLD_UNTIL_ARRIVAL);
    ck_assert_uint_eq(w.c.fleets_route_dest[f], UINT32_MAX);
    /* recorded in this turn's commands table */
    ck_assert_uint_eq(w.c.tables[VR_TAB_commands].count, 1);
    ck_assert_uint_eq(w.c.commands_ticket[0], 5);
    ck_assert_uint_eq(w.c.commands_op[0], VR_OP_MOVE);
    ck_assert_uint_eq(w.c.commands_entity[0], id);
    ck_assert_uint_eq(w.c.commands_system[0], to);
    ck_assert_int_eq(w.c.commands_code[0], 0);
    r = apply1(&w, 1, (vr_wcmd){.op = VR_OP_ATTACK, .fleet = id, .system = 3});
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(w.c.fleets_dest[f], 3);
    ck_assert_uint_eq(w.c.fleets_order[f], VR_OP_ATTACK);
    ck_assert_uint_eq(w.c.tables[VR_TAB_commands].count, 1); /* a new turn's records replace the last */
    drop(&w);
}
END_TEST

START_TEST(test_hold_and_retreat)
{
    world w;
    make(&w);
    uint32_t f = standing(&w.c, 0);
    uint64_t id = vr_ent_id(&w.c, VR_TAB_fleets, f);
    w.c.fleets_dest[f] = (w.c.fleets_at[f] + 1) % SC.systems; /* about to leave */
    vr_wresult r = apply1(&w, 4, (vr_wcmd){.op = VR_OP_HOLD, .fleet = id, .system = VR_NO_SYSTEM});
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(w.c.fleets_dest[f], w.c.fleets_at[f]);
    ck_assert_uint_eq(w.c.fleets_dest_node[f], w.c.fleets_node[f]);
    ck_assert_uint_eq(w.c.fleets_order[f], VR_OP_HOLD);
    ck_assert_uint_eq(w.c.fleets_hold_until[f], 4 + VR_ORDER_HOLD_TURNS);
    /* between systems: it stops at the one it flies to */
    uint32_t g = standing(&w.c, f + 1), nxt = w.c.lanes_to[w.c.systems_lane_begin[w.c.fleets_at[g]]];
    vt_place(&w.c, g, w.c.fleets_at[g], nxt, (nxt + 5) % SC.systems, 0.0f);
    r = apply1(&w, 4, (vr_wcmd){.op = VR_OP_HOLD, .fleet = vr_ent_id(&w.c, VR_TAB_fleets, g)});
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(w.c.fleets_dest[g], nxt);
    /* retreat: to the faction's first owned system */
    uint32_t home = UINT32_MAX;
    for (uint32_t s = 0; s < SC.systems && home == UINT32_MAX; s++)
        if (w.c.systems_owner[s] == w.c.fleets_faction[f])
            home = s;
    r = apply1(&w, 5, (vr_wcmd){.op = VR_OP_RETREAT, .fleet = id});
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(w.c.fleets_order[f], VR_OP_RETREAT);
    if (home != UINT32_MAX)
        ck_assert_uint_eq(w.c.fleets_dest[f], home);
    drop(&w);
}
END_TEST

/* decisions.c respects an order until it expires, then takes over */
START_TEST(test_ai_respects_hold_then_takes_over)
{
    world w;
    make(&w);
    uint32_t f = standing(&w.c, 0);
    uint64_t id = vr_ent_id(&w.c, VR_TAB_fleets, f);
    ck_assert_int_eq(apply1(&w, 1, (vr_wcmd){.op = VR_OP_HOLD, .fleet = id}).code, 0);
    uint32_t at = w.c.fleets_at[f];
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    for (uint64_t t = 1; t <= 1 + VR_ORDER_HOLD_TURNS; t++) {
        ck_assert_int_eq(vr__decide(w.sim, &w.c, t, &st), 0);
        ck_assert_uint_eq(w.c.fleets_dest[f], at);
        ck_assert_uint_eq(w.c.fleets_order[f], VR_OP_HOLD);
    }
    ck_assert_int_eq(vr__decide(w.sim, &w.c, 2 + VR_ORDER_HOLD_TURNS, &st), 0);
    ck_assert_uint_eq(w.c.fleets_order[f], 0);
    ck_assert_uint_eq(w.c.fleets_choice[f] != 0xff, 1); /* the AI decided */
    /* an order to go somewhere holds until arrival, then VR_ORDER_HOLD_TURNS */
    ck_assert_int_eq(apply1(&w, 20, (vr_wcmd){.op = VR_OP_MOVE, .fleet = id, .system = at}).code, 0);
    w.c.fleets_node[f] = w.c.fleets_dest_node[f]; /* standing at its ordered destination */
    ck_assert_int_eq(vr__decide(w.sim, &w.c, 21, &st), 0);
    ck_assert_uint_eq(w.c.fleets_hold_until[f], 21 + VR_ORDER_HOLD_TURNS);
    ck_assert_uint_eq(w.c.fleets_dest[f], at);
    drop(&w);
}
END_TEST

START_TEST(test_spawn)
{
    world w;
    make(&w);
    uint32_t ships0 = w.c.factions_ships[2], live0 = w.c.tables[VR_TAB_ships].live;
    int64_t ledger[50];
    memcpy(ledger, w.c.ledger_amount, sizeof ledger);
    int64_t treasury = w.c.factions_treasury[2];
    vr_wresult r = apply1(&w, 1, (vr_wcmd){.op = VR_OP_SPAWN, .faction = 3, .design = 1, .system = 9, .ships = 7});
    ck_assert_msg(r.code == 0, "%s", r.text);
    int64_t row = vr_ent_row(&w.c, VR_TAB_fleets, r.entity);
    ck_assert_int_ge(row, 0);
    uint32_t f = (uint32_t)row;
    ck_assert_uint_eq(w.c.fleets_faction[f], 3);
    ck_assert_uint_eq(w.c.fleets_ships[f], 7);
    ck_assert_uint_eq(w.c.fleets_at[f], 9);
    ck_assert_uint_eq(w.c.fleets_node[f], w.c.systems_node_begin[9]);
    ck_assert_uint_eq(w.c.factions_ships[2], ships0 + 7);
    ck_assert_uint_eq(w.c.tables[VR_TAB_ships].live, live0 + 7);
    uint32_t n = 0;
    for (uint32_t s = 0; s < w.c.tables[VR_TAB_ships].count; s++)
        if ((w.c.gen[VR_TAB_ships][s] & 1) && w.c.ships_fleet[s] == f) {
            ck_assert_uint_eq(w.c.ships_design[s], 1);
            ck_assert_uint_eq(w.c.ships_faction[s], 3);
            ck_assert(w.c.ships_hull[s] == w.c.designs_hull[1]);
            n++;
        }
    ck_assert_uint_eq(n, 7);
    for (int k = 0; k < VR_NRES; k++)
        ck_assert_int_eq(w.c.fleets_cargo[(size_t)f * VR_NRES + (size_t)k], 0);
    /* free: no resource moved */
    ck_assert_int_eq(memcmp(ledger, w.c.ledger_amount, sizeof ledger), 0);
    ck_assert_int_eq(w.c.factions_treasury[2], treasury);
    char why[256];
    ck_assert_msg(vr__economy_check(w.sim, &w.c, why, sizeof why) == 0, "%s", why);
    drop(&w);
}
END_TEST

/* A spawn applied by a fresh process (a restarted worker, a restore,
 * vr-replay: a vr_sim that has run no turn yet) charges the same upkeep as
 * one applied by a long-running worker: the economy's cost table is built by
 * vr_sim_new, not lazily by the first economy turn. */
START_TEST(test_spawn_upkeep_in_fresh_sim)
{
    world w;
    make(&w);
    vr_sim *fresh = NULL;
    ck_assert_int_eq(vr_sim_new(&fresh, &SC), 0);
    ck_assert_ptr_nonnull(fresh->design_credits);
    vr_wcmd cmd = {.op = VR_OP_SPAWN, .faction = 2, .design = 1, .system = 4, .ships = 3};
    vr_wresult r[1];
    ck_assert_int_eq(vr_sim_commands(fresh, &w.c, 1, &cmd, 1, r), 0);
    ck_assert_msg(r[0].code == 0, "%s", r[0].text);
    int64_t row = vr_ent_row(&w.c, VR_TAB_fleets, r[0].entity);
    ck_assert_int_ge(row, 0);
    int64_t want = 3 * (w.sim->design_credits[1] / VR_UPKEEP_DIVISOR);
    ck_assert_int_gt(want, 0);
    ck_assert_int_eq(w.c.fleets_upkeep[row], want);
    vr_sim_destroy(&fresh);
    drop(&w);
}
END_TEST

START_TEST(test_policy)
{
    world w;
    make(&w);
    vr_wresult r = apply1(&w, 1, (vr_wcmd){.op = VR_OP_POLICY, .faction = 2, .stance = VR_STANCE_DEFENSIVE,
                                           .budget_mode = VR_BUDGET_SET, .budget = {0.5f, 0.25f, 0.25f}});
    ck_assert_msg(r.code == 0, "%s", r.text);
    ck_assert_uint_eq(r.entity, vr_ent_id(&w.c, VR_TAB_factions, 1));
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    for (uint64_t t = 1; t < 8; t++) { /* the faction AI keeps the user's values */
        ck_assert_int_eq(vr__decide(w.sim, &w.c, t, &st), 0);
        ck_assert_uint_eq(w.c.factions_stance[1], VR_STANCE_DEFENSIVE);
        ck_assert(w.c.factions_budget[3] == 0.5f && w.c.factions_budget[4] == 0.25f);
        ck_assert_uint_eq(w.c.factions_policy[1], 3);
    }
    /* auto hands both back */
    r = apply1(&w, 8, (vr_wcmd){.op = VR_OP_POLICY, .faction = 2, .stance = VR_STANCE_AUTO,
                                .budget_mode = VR_BUDGET_AUTO});
    ck_assert_int_eq(r.code, 0);
    ck_assert_uint_eq(w.c.factions_policy[1], 0);
    ck_assert_int_eq(vr__decide(w.sim, &w.c, 8, &st), 0);
    float b[3] = {w.c.factions_budget[3], w.c.factions_budget[4], w.c.factions_budget[5]};
    ck_assert(!(b[0] == 0.5f && b[1] == 0.25f && b[2] == 0.25f)); /* the AI's split again */
    drop(&w);
}
END_TEST

/* Failures change nothing but their result and their row. */
START_TEST(test_failures_change_nothing)
{
    world w;
    make(&w);
    uint32_t f = standing(&w.c, 0);
    uint64_t id = vr_ent_id(&w.c, VR_TAB_fleets, f);
    const vr_wcmd bad[] = {
        {.ticket = 1, .op = VR_OP_MOVE, .fleet = id + (2ull << 32), .system = 1}, /* dead generation */
        {.ticket = 2, .op = VR_OP_MOVE, .fleet = 0xFFFFFFFFFFFFFFFFull, .system = 1},
        {.ticket = 3, .op = VR_OP_MOVE, .fleet = id, .system = 64},
        {.ticket = 4, .op = 99, .fleet = id},
        {.ticket = 5, .op = VR_OP_SPAWN, .faction = 5, .design = 0, .system = 1, .ships = 1},
        {.ticket = 6, .op = VR_OP_SPAWN, .faction = 1, .design = 60000, .system = 1, .ships = 1},
        {.ticket = 7, .op = VR_OP_SPAWN, .faction = 1, .design = 0, .system = 1, .ships = 0},
        {.ticket = 8, .op = VR_OP_SPAWN, .faction = 1, .design = 0, .system = 1, .ships = 101},
        {.ticket = 9, .op = VR_OP_POLICY, .faction = 0, .stance = 1},
        {.ticket = 10, .op = VR_OP_POLICY, .faction = 1, .stance = 7},
        {.ticket = 11, .op = VR_OP_POLICY, .faction = 1, .budget_mode = VR_BUDGET_SET, .budget = {0, 0, 0}},
    };
    const char *words[] = {"dead", "dead", "out of range", "unknown", "unknown faction", "unknown design",
                           "ships", "ships", "unknown faction", "stance", "budget"};
    uint32_t n = sizeof bad / sizeof bad[0];
    /* hash the turn without the commands, then with them: only the
     * commands table differs */
    vr_wresult res[16];
    ck_assert_int_eq(vr_sim_commands(w.sim, &w.c, 3, bad, 0, res), 0);
    uint64_t h0 = vr_arena_hash(w.a);
    ck_assert_int_eq(vr_sim_commands(w.sim, &w.c, 3, bad, n, res), 0);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_msg(res[i].code < 0, "command %u applied", i);
        ck_assert_uint_eq(res[i].ticket, bad[i].ticket);
        ck_assert_uint_eq(res[i].entity, 0);
        ck_assert_msg(strstr(res[i].text, words[i]), "command %u: \"%s\" lacks \"%s\"", i, res[i].text, words[i]);
        ck_assert_int_eq(w.c.commands_code[i], res[i].code);
    }
    ck_assert_int_eq(res[0].code, -VR_EBADID);
    ck_assert_uint_eq(w.c.tables[VR_TAB_commands].count, n);
    ck_assert_int_eq(vr_sim_commands(w.sim, &w.c, 3, bad, 0, res), 0);
    ck_assert_uint_eq(vr_arena_hash(w.a), h0);
    /* too many for one turn */
    vr_wcmd many[VR_TURN_MAX_CMDS + 1];
    memset(many, 0, sizeof many);
    ck_assert_int_eq(vr_sim_commands(w.sim, &w.c, 3, many, VR_TURN_MAX_CMDS + 1, res), -VR_EBADARG);
    drop(&w);
}
END_TEST

/* The same commands on the same world give the same state; without them
 * (or in another order) it differs. */
START_TEST(test_deterministic_and_order_matters)
{
    uint64_t h[3];
    for (int k = 0; k < 3; k++) {
        world w;
        make(&w);
        uint32_t f = standing(&w.c, 0);
        uint64_t id = vr_ent_id(&w.c, VR_TAB_fleets, f);
        vr_wcmd cmds[2] = {{.ticket = 1, .op = VR_OP_MOVE, .fleet = id, .system = 5},
                           {.ticket = 2, .op = VR_OP_MOVE, .fleet = id, .system = 6}};
        if (k == 2) { /* the other order */
            vr_wcmd t = cmds[0];
            cmds[0] = cmds[1], cmds[1] = t;
        }
        vr_wresult res[2];
        ck_assert_int_eq(vr_sim_commands(w.sim, &w.c, 1, cmds, 2, res), 0);
        vr_turn_stats st;
        ck_assert_int_eq(vr_sim_turn(w.sim, &w.c, 1, &st), 0);
        h[k] = vr_arena_hash(w.a);
        drop(&w);
    }
    ck_assert_uint_eq(h[0], h[1]);
    ck_assert_uint_ne(h[0], h[2]);
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("orders");
    TCase *tc = tcase_create("apply");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_move_and_attack_set_destination);
    tcase_add_test(tc, test_hold_and_retreat);
    tcase_add_test(tc, test_ai_respects_hold_then_takes_over);
    tcase_add_test(tc, test_spawn);
    tcase_add_test(tc, test_spawn_upkeep_in_fresh_sim);
    tcase_add_test(tc, test_policy);
    tcase_add_test(tc, test_failures_change_nothing);
    tcase_add_test(tc, test_deterministic_and_order_matters);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0 || vt_finish() != 0;
}
