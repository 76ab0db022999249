/* test_portals.c: the coordinator's cluster-wide portal conservation audit
 * (coordinator/portals.c): balanced traffic passes, a fleet, a ship or a
 * unit of cargo that did not arrive is a violation naming both universes
 * and the quantities, and a DONE that comes twice is not counted twice. */
#include "vr_coord.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static char said[8][400];
static int nsaid;
static void report(void *arg, uint32_t src, uint32_t dst, const char *why)
{
    (void)arg;
    if (nsaid < 8)
        snprintf(said[nsaid++], sizeof said[0], "%u>%u %s", src, dst, why);
}

static vr_portal_stat st(uint32_t peer, uint32_t dir, uint64_t turn, uint64_t fleets, uint64_t ships, int64_t ore)
{
    return (vr_portal_stat){.peer = peer, .dir = dir, .turn = turn, .fleets = fleets, .ships = ships,
                            .res = {ore, 0, 0, ore ? 1 : 0}};
}

START_TEST(test_balanced_and_lost)
{
    vr_xfer *x = NULL;
    ck_assert_int_eq(vr_xfer_new(&x, 3), 0);
    nsaid = 0;
    /* turn 1: u0 sends 2 fleets (7 ships) to u1, u2 sends 1 (3 ships) to u1 */
    vr_portal_stat a[2] = {st(1, 0, 1, 2, 7, 5), st(2, 0, 1, 0, 0, 0)};
    vr_portal_stat c[2] = {st(1, 0, 1, 1, 3, 0), st(0, 0, 1, 0, 0, 0)};
    vr_xfer_record(x, 0, 1, a, 2);
    vr_xfer_record(x, 2, 1, c, 2);
    ck_assert_uint_eq(vr_xfer_check(x, 1, report, NULL), 0);
    /* turn 2: u1 received all of it; u1 says it twice (a replayed DONE) */
    vr_portal_stat b[2] = {st(0, 1, 1, 2, 7, 5), st(2, 1, 1, 1, 3, 0)};
    vr_xfer_record(x, 1, 2, b, 2);
    vr_xfer_record(x, 1, 2, b, 2);
    ck_assert_uint_eq(vr_xfer_check(x, 2, report, NULL), 0);
    ck_assert_int_eq(nsaid, 0);
    uint64_t fo, so, fi, si;
    vr_xfer_totals(x, &fo, &so, &fi, &si);
    ck_assert_uint_eq(fo, 3);
    ck_assert_uint_eq(so, 10);
    ck_assert_uint_eq(fi, 3);
    ck_assert_uint_eq(si, 10);
    /* turn 3: u0 sends 1 fleet of 4 ships with 9 ore; turn 4: u1 got 3 ships and 8 ore */
    vr_portal_stat d[1] = {st(1, 0, 3, 1, 4, 9)};
    vr_xfer_record(x, 0, 3, d, 1);
    ck_assert_uint_eq(vr_xfer_check(x, 3, report, NULL), 0);
    vr_portal_stat e[1] = {st(0, 1, 3, 1, 3, 8)};
    vr_xfer_record(x, 1, 4, e, 1);
    ck_assert_uint_eq(vr_xfer_check(x, 4, report, NULL), 1);
    ck_assert_int_eq(nsaid, 1);
    ck_assert_msg(strstr(said[0], "0>1") && strstr(said[0], "universe 0 sent 1 fleets, 4 ships") &&
                      strstr(said[0], "received 1 fleets, 3 ships") && strstr(said[0], "[9, 0, 0, 1]") &&
                      strstr(said[0], "[8, 0, 0, 1]"),
                  "%s", said[0]);
    /* turn 5: a batch that never arrived at all */
    vr_portal_stat f[1] = {st(2, 0, 5, 2, 2, 0)};
    vr_xfer_record(x, 1, 5, f, 1);
    ck_assert_uint_eq(vr_xfer_check(x, 5, report, NULL), 0);
    ck_assert_uint_eq(vr_xfer_check(x, 6, report, NULL), 1);
    ck_assert_ptr_nonnull(strstr(said[1], "1>2"));
    vr_xfer_destroy(&x);
    ck_assert_ptr_null(x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("portals");
    TCase *tc = tcase_create("audit");
    tcase_add_test(tc, test_balanced_and_lost);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
