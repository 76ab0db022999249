/* vr_test_world.h: a generated universe in a fresh arena, for the suites of
 * workers/, the one Check runner they share, and content packs (the real one,
 * small ones written to a temp dir).
 *
 * Header-only and static, like vr_test_shm.h (whose unique names and
 * /dev/shm sweep it uses): each suite is one executable.
 */
#ifndef VR_TEST_WORLD_H
#define VR_TEST_WORLD_H

#include "sim_internal.h"
#include "vr_test_shm.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The original engine's content pack: $VR_CONTENT_DIR, else
 * ../shared/data/void_reckoning next to the source tree. */
static inline const char *vt_pack_dir(void)
{
    static char buf[4096];
    const char *env = getenv("VR_CONTENT_DIR");
    if (env && *env)
        return env;
    char here[2048];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(here, sizeof here, ".");
    snprintf(buf, sizeof buf, "%s/../../../shared/data/void_reckoning", here);
    return buf;
}

static inline void vt_write(const char *dir, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "create %s", path);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* A content pack of the three required files (JSON texts) in a new temp
 * directory, written to dir (at least 32 bytes); vt_rmtree removes it. */
static inline void vt_pack_write(char *dir, size_t len, const char *factions, const char *weapons,
                                 const char *roster)
{
    snprintf(dir, len, "/tmp/vr_pack_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    vt_write(dir, "universes/vt/factions/faction_registry.json", factions);
    vt_write(dir, "universes/vt/factions/weapon_registry.json", weapons);
    vt_write(dir, "universes/vt/units/procedural_roster.json", roster);
}

static inline int vt_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void vt_rmtree(const char *dir) { nftw(dir, vt_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

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
