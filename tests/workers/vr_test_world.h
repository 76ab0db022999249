/* vr_test_world.h: a generated universe in a fresh arena, for the suites of
 * workers/, and the one Check runner they share.
 *
 * Header-only and static, like vr_test_shm.h (whose unique names and
 * /dev/shm sweep it uses): each suite is one executable.
 */
#ifndef VR_TEST_WORLD_H
#define VR_TEST_WORLD_H

#include "sim_internal.h"
#include "vr_test_shm.h"

#include <check.h>
#include <string.h>

/* Creates an arena sized for *s under a unique name from tag, and builds
 * turn 0 into its work buffer (not published): *a, *c and *sim are the
 * caller's until vt_world_drop. */
static inline void vt_world_make(const char *tag, const vr_scenario *s, char *seg, size_t seglen, vr_arena **a,
                                 vr_cols *c, vr_sim **sim)
{
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.universe = s->universe;
    spec.seed = s->seed;
    vr_sim_capacity(s, spec.capacity);
    vt_segname(seg, seglen, tag);
    *a = NULL;
    *sim = NULL;
    ck_assert_int_eq(vr_arena_create(a, seg, &spec, 0600), 0);
    ck_assert_int_eq(vr_arena_begin(*a, c), 0);
    ck_assert_int_eq(vr_sim_new(sim, s), 0);
    int rc = vr_sim_genesis(*sim, c);
    ck_assert_msg(rc == 0, "genesis: %s", vr_strerror(rc));
}

/* Puts fleet f at the star of system at, heading for the star of dest
 * through next (next == at: standing; else setting off along the lane
 * at -> next, as combat sends a fleet back, with progress along that leg). */
static inline void vt_place(vr_cols *c, uint32_t f, uint32_t at, uint32_t next, uint32_t dest, float progress)
{
    c->fleets_at[f] = at, c->fleets_next[f] = next, c->fleets_dest[f] = dest;
    c->fleets_node[f] = c->systems_node_begin[at];
    c->fleets_dest_node[f] = c->systems_node_begin[dest];
    c->fleets_leg[f] = 0.0f;
    c->fleets_progress[f] = progress;
    c->fleets_route_dest[f] = UINT32_MAX;
}

static inline void vt_world_drop(const char *seg, vr_arena **a, vr_sim **sim)
{
    vr_sim_destroy(sim);
    vr_arena_detach(a);
    ck_assert_int_eq(shm_unlink(seg), 0);
}

/* Runs suite s (fork mode) and checks nothing was left in /dev/shm; the
 * exit status of the suite's main. */
static inline int vt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}

#endif
