/* test_audit.c: Check suite for workers/audit.c (the invariant checker).
 *
 * A freshly generated universe has no findings at any level; each injected
 * corruption is reported under its own rule with the offending entity, at
 * the level that owns the rule and not below; the auditor never repairs
 * what it reports; the findings ring keeps the newest findings when full.
 */
#include "audit.h"
#include "vr_test_world.h"

#include <check.h>
#include <math.h>
#include <string.h>

typedef struct world {
    vr_arena *a;
    vr_cols c;
    char seg[VR_SEGNAME_MAX];
    vr_scenario s;
    vr_sim *sim;
} world;

static void world_init(world *w, const char *tag)
{
    memset(w, 0, sizeof *w);
    w->s = (vr_scenario){.seed = 9, .universe = 1, .systems = 120, .fleets = 200, .factions = 4};
    vt_world_make(tag, &w->s, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim);
}

static void world_fini(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

static vr_audit_params params(const world *w, uint64_t turn)
{
    return (vr_audit_params){.turn = turn, .factions = w->s.factions};
}

/* The rule of the newest finding, and its entity's row. */
static int last_rule(const vr_cols *c, uint32_t *row, uint8_t *table)
{
    uint32_t n = c->tables[VR_TAB_findings].count;
    ck_assert_uint_gt(n, 0);
    if (row)
        *row = (uint32_t)c->findings_entity[n - 1];
    if (table)
        *table = c->findings_table[n - 1];
    return c->findings_rule[n - 1];
}

START_TEST(test_clean_world_has_no_findings)
{
    world w;
    world_init(&w, "clean");
    vr_audit_params p = params(&w, 100);
    for (int level = 1; level <= 3; level++)
        ck_assert_int_eq(vr_audit_run(&p, &w.c, level), 0);
    ck_assert_uint_eq(w.c.tables[VR_TAB_findings].count, 0);
    world_fini(&w);
}
END_TEST

START_TEST(test_levels)
{
    ck_assert_int_eq(vr_audit_level(1), 1);
    ck_assert_int_eq(vr_audit_level(10), 2);
    ck_assert_int_eq(vr_audit_level(110), 2);
    ck_assert_int_eq(vr_audit_level(200), 3);
    ck_assert_str_eq(vr_audit_rule_name(VR_AUDIT_SHIP_HULL), "SHIP_HULL");
    ck_assert_str_eq(vr_audit_rule_name(999), "?");
}
END_TEST

/* Each corruption: (what to break, rule, table, lowest level that sees it). */
START_TEST(test_each_rule_is_reported_with_entity)
{
    world w;
    world_init(&w, "rules");
    vr_cols *c = &w.c;
    struct {
        int rule, level;
        uint32_t table, row;
    } cases[] = {
        {VR_AUDIT_FLEET_POSITION, 1, VR_TAB_fleets, 7},
        {VR_AUDIT_FLEET_SPEED, 1, VR_TAB_fleets, 9},
        {VR_AUDIT_SHIP_HULL, 2, VR_TAB_ships, 11},
        {VR_AUDIT_SHIP_SHIELD, 2, VR_TAB_ships, 12},
        {VR_AUDIT_SHIP_FACTION, 2, VR_TAB_ships, 13},
        {VR_AUDIT_STOCK_NEGATIVE, 2, VR_TAB_asteroids, 3},
        {VR_AUDIT_RELATION_SYMMETRY, 2, VR_TAB_relations, 1},
        {VR_AUDIT_LANE_SYMMETRY, 3, VR_TAB_lanes, 5},
        {VR_AUDIT_EDGE_TARGET, 3, VR_TAB_edges, 6},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        world_fini(&w);
        world_init(&w, "rules");
        c = &w.c;
        uint32_t r = cases[k].row;
        float saved_f = 0;
        switch (cases[k].rule) {
        case VR_AUDIT_FLEET_POSITION: c->fleets_dest[r] = 1u << 30; break;
        case VR_AUDIT_FLEET_SPEED: c->fleets_speed[r] = NAN; break;
        case VR_AUDIT_SHIP_HULL: c->ships_hull[r] = -5.0f; break;
        case VR_AUDIT_SHIP_SHIELD: saved_f = c->ships_shield[r] = -1.0f; break;
        case VR_AUDIT_SHIP_FACTION: c->ships_faction[r] = 99; break;
        case VR_AUDIT_STOCK_NEGATIVE: c->asteroids_reserve[r] = -42; break;
        case VR_AUDIT_RELATION_SYMMETRY: c->relations_state[r] = (uint8_t)(c->relations_state[r] ^ 1); break;
        case VR_AUDIT_LANE_SYMMETRY: c->lanes_length[r] += 1.0f; break;
        case VR_AUDIT_EDGE_TARGET: c->edges_to[r] = 1u << 30; break;
        }
        vr_audit_params p = params(&w, 77);
        if (cases[k].level > 1) /* the cheaper levels do not look */
            ck_assert_int_eq(vr_audit_run(&p, c, cases[k].level - 1), 0);
        int64_t n = vr_audit_run(&p, c, cases[k].level);
        ck_assert_msg(n >= 1, "rule %s not reported", vr_audit_rule_name(cases[k].rule));
        /* find the case's finding among those reported */
        int hit = 0;
        for (uint32_t i = 0; i < c->tables[VR_TAB_findings].count; i++)
            if (c->findings_rule[i] == cases[k].rule && c->findings_table[i] == cases[k].table &&
                (uint32_t)c->findings_entity[i] == r && c->findings_turn[i] == 77 &&
                c->findings_level[i] == cases[k].level)
                hit = 1;
        ck_assert_msg(hit, "rule %s: no finding naming %s row %u", vr_audit_rule_name(cases[k].rule),
                      vr_tables[cases[k].table].name, r);
        /* reported, never repaired */
        if (cases[k].rule == VR_AUDIT_SHIP_SHIELD)
            ck_assert(c->ships_shield[r] == saved_f);
        if (cases[k].rule == VR_AUDIT_STOCK_NEGATIVE)
            ck_assert_int_eq(c->asteroids_reserve[r], -42);
    }
    world_fini(&w);
}
END_TEST

START_TEST(test_hull_above_design_and_fleet_counts)
{
    world w;
    world_init(&w, "design");
    vr_cols *c = &w.c;
    float hull[1] = {100.0f};
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++)
        c->ships_design[r] = 0;
    c->ships_hull[3] = 101.0f;
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++)
        if (r != 3)
            c->ships_hull[r] = 50.0f;
    c->fleets_ships[4] += 1;
    vr_audit_params p = {.turn = 10, .factions = w.s.factions, .design_hull = hull, .ndesigns = 1};
    ck_assert_int_eq(vr_audit_run(&p, c, 2), 2);
    ck_assert_int_eq(c->findings_rule[0], VR_AUDIT_SHIP_HULL);
    ck_assert_uint_eq((uint32_t)c->findings_entity[0], 3);
    ck_assert(c->findings_value[0] == 101.0);
    ck_assert_int_eq(c->findings_rule[1], VR_AUDIT_FLEET_SHIP_COUNT);
    ck_assert_uint_eq((uint32_t)c->findings_entity[1], 4);
    world_fini(&w);
}
END_TEST

START_TEST(test_faction_count_and_free_list)
{
    world w;
    world_init(&w, "free");
    vr_cols *c = &w.c;
    c->factions_ships[0] += 1;
    vr_audit_params p = params(&w, 1);
    ck_assert_int_eq(vr_audit_run(&p, c, 1), 1);
    ck_assert_int_eq(last_rule(c, NULL, NULL), VR_AUDIT_FACTION_SHIPS);
    c->factions_ships[0] -= 1;
    /* free a fleet properly, then corrupt the free stack to a live row */
    uint64_t id = vr_ent_id(c, VR_TAB_fleets, 2);
    ck_assert_int_eq(vr_ent_free(c, VR_TAB_fleets, id), 0);
    c->freerows[VR_TAB_fleets][0] = 5; /* row 5 is alive */
    p.turn = 100;
    ck_assert_int_ge(vr_audit_run(&p, c, 3), 1);
    int free_hit = 0;
    for (uint32_t i = 0; i < c->tables[VR_TAB_findings].count; i++)
        free_hit |= c->findings_rule[i] == VR_AUDIT_FREE_LIST && c->findings_table[i] == VR_TAB_fleets;
    ck_assert(free_hit);
    world_fini(&w);
}
END_TEST

START_TEST(test_ring_keeps_newest)
{
    world w;
    world_init(&w, "ring");
    vr_cols *c = &w.c;
    uint32_t cap = c->capacity[VR_TAB_findings];
    c->fleets_dest[0] = 1u << 30; /* one finding per audit */
    for (uint64_t t = 1; t <= cap + 10; t++) {
        vr_audit_params p = params(&w, t);
        ck_assert_int_eq(vr_audit_run(&p, c, 1), 1);
    }
    ck_assert_uint_eq(c->tables[VR_TAB_findings].count, cap);
    uint64_t oldest = UINT64_MAX, newest = 0;
    for (uint32_t i = 0; i < cap; i++) {
        oldest = c->findings_turn[i] < oldest ? c->findings_turn[i] : oldest;
        newest = c->findings_turn[i] > newest ? c->findings_turn[i] : newest;
    }
    ck_assert_uint_eq(newest, cap + 10);
    ck_assert_uint_eq(oldest, 11);
    world_fini(&w);
}
END_TEST

static Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_clean_world_has_no_findings);
    tcase_add_test(tc, test_levels);
    tcase_add_test(tc, test_each_rule_is_reported_with_entity);
    tcase_add_test(tc, test_hull_above_design_and_fleet_counts);
    tcase_add_test(tc, test_faction_count_and_free_list);
    tcase_add_test(tc, test_ring_keeps_newest);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    vt_init();
    SRunner *sr = srunner_create(audit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}
