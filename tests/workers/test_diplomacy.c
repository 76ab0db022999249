/* test_diplomacy.c: Check suite for workers/diplomacy.c. */
#include "diplomacy.h"
#include "vr_sim.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define F 6

/* A relations table in plain memory, shaped like the arena's. */
typedef struct rel {
    uint8_t state[F * F];
    int16_t opinion[F * F];
    vr_tabstate tables[VR_NTABLES];
    vr_cols c;
} rel;

static void rel_init(rel *r, int16_t opinion, uint8_t state)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < F * F; i++)
        r->state[i] = state, r->opinion[i] = opinion;
    r->tables[VR_TAB_relations].count = F * F;
    r->c.relations_state = r->state;
    r->c.relations_opinion = r->opinion;
    r->c.tables = r->tables;
}

START_TEST(test_state_machine_hysteresis)
{
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_PEACE, -301), VR_REL_WAR);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_PEACE, -300), VR_REL_PEACE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_WAR, -200), VR_REL_WAR);  /* hysteresis */
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_WAR, -99), VR_REL_PEACE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_PEACE, 301), VR_REL_TRADE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_TRADE, 200), VR_REL_TRADE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_TRADE, 149), VR_REL_PEACE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_TRADE, 701), VR_REL_ALLIANCE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_ALLIANCE, 600), VR_REL_ALLIANCE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_ALLIANCE, 499), VR_REL_TRADE);
    ck_assert_uint_eq(vr_diplomacy_next(VR_REL_WAR, 900), VR_REL_PEACE); /* one step at a time */
}
END_TEST

START_TEST(test_symmetric_deterministic_and_moving)
{
    rel a, b;
    rel_init(&a, 0, VR_REL_PEACE);
    rel_init(&b, 0, VR_REL_PEACE);
    int changes = 0;
    for (uint64_t t = 1; t <= 2000; t++) {
        vr_diplomacy_params p = {.seed = 3, .universe = 1, .turn = t, .factions = F};
        int ca = vr_diplomacy_turn(&p, &a.c), cb = vr_diplomacy_turn(&p, &b.c);
        ck_assert_int_eq(ca, cb);
        changes += ca;
        for (int i = 0; i < F; i++)
            for (int j = 0; j < F; j++) {
                ck_assert_uint_eq(a.state[i * F + j], a.state[j * F + i]);
                ck_assert_int_eq(a.opinion[i * F + j], a.opinion[j * F + i]);
                ck_assert_int_le(abs(a.opinion[i * F + j]), 1000);
            }
        for (int i = 0; i < F; i++)
            ck_assert_uint_eq(a.state[i * F + i], VR_REL_ALLIANCE);
    }
    ck_assert_mem_eq(a.state, b.state, sizeof a.state);
    ck_assert_mem_eq(a.opinion, b.opinion, sizeof a.opinion);
    ck_assert_int_gt(changes, 0); /* relations really change over time */
}
END_TEST

START_TEST(test_push_from_events_leads_to_war)
{
    rel a;
    rel_init(&a, 0, VR_REL_PEACE);
    int16_t push[F * F];
    memset(push, 0, sizeof push);
    push[0 * F + 1] = -100; /* faction 0 keeps attacking faction 1 */
    for (uint64_t t = 1; t <= 20; t++) {
        vr_diplomacy_params p = {.seed = 3, .universe = 1, .turn = t, .factions = F, .push = push};
        ck_assert_int_ge(vr_diplomacy_turn(&p, &a.c), 0);
    }
    ck_assert_uint_eq(a.state[0 * F + 1], VR_REL_WAR);
    ck_assert_uint_eq(a.state[1 * F + 0], VR_REL_WAR);
}
END_TEST

START_TEST(test_bad_input)
{
    rel a;
    rel_init(&a, 0, VR_REL_PEACE);
    vr_diplomacy_params p = {.seed = 3, .turn = 1, .factions = F + 1}; /* table too small */
    ck_assert_int_eq(vr_diplomacy_turn(&p, &a.c), -VR_EBADARG);
    p.factions = 0;
    ck_assert_int_eq(vr_diplomacy_turn(&p, &a.c), -VR_EBADARG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("diplomacy");
    TCase *tc = tcase_create("diplomacy");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_state_machine_hysteresis);
    tcase_add_test(tc, test_symmetric_deterministic_and_moving);
    tcase_add_test(tc, test_push_from_events_leads_to_war);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
