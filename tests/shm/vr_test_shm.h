/* vr_test_shm.h: unique segment names for Check suites, and a /dev/shm sweep.
 *
 * Check forks every test from the runner, so a name made of the runner's pid
 * (captured once in main, before any fork) and the test process's pid is
 * unique across suites running in parallel and across the tests of a suite.
 * Every name starts with "/vr.t<runner pid>_", which is what vt_sweep()
 * removes after the run: a test that crashes before its own shm_unlink still
 * leaves /dev/shm clean, and a test that passes but forgets a segment is
 * reported (vt_sweep returns how many it had to remove).  Suites register
 * vt_teardown as an unchecked fixture of each test case and end main with
 * vt_finish().
 *
 * Header-only and static: each suite is one executable.
 */
#ifndef VR_TEST_SHM_H
#define VR_TEST_SHM_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int vt_runner_pid;

/* Call once in main, before srunner_run_all. */
static inline void vt_init(void) { vt_runner_pid = (int)getpid(); }

/* A cluster name unique to this test process: "t<runner>_<pid>_<tag>"
 * (at most 32 characters for a tag of up to 14). */
static inline void vt_name(char *out, size_t len, const char *tag)
{
    snprintf(out, len, "t%d_%d_%s", vt_runner_pid, (int)getpid(), tag);
}

/* An arena segment name unique to this test process: "/vr.<vt_name>.u0". */
static inline void vt_segname(char *out, size_t len, const char *tag)
{
    int n = snprintf(out, len, "/vr.");
    if (n > 0 && (size_t)n < len)
        vt_name(out + n, len - (size_t)n, tag);
    n = (int)strlen(out);
    if ((size_t)n < len)
        snprintf(out + n, len - (size_t)n, ".u0");
}

/* Whether segment `segname` ("/vr....") exists in /dev/shm. */
static inline int vt_exists(const char *segname)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", segname);
    return access(path, F_OK) == 0;
}

/* Unlinks every segment of this runner; returns how many there were. */
static inline int vt_sweep(void)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "vr.t%d_", vt_runner_pid);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, (size_t)plen) != 0)
            continue;
        char seg[300];
        snprintf(seg, sizeof seg, "/%s", de->d_name);
        fprintf(stderr, "left in /dev/shm, removed: %s\n", seg);
        shm_unlink(seg);
        n++;
    }
    closedir(d);
    return n;
}

/* Segments swept by vt_teardown so far (the runner process keeps count). */
static int vt_leftovers;

/* Unchecked teardown for every test case: it runs in the runner process, so
 * it cleans up even after a test that crashed or failed an assertion (a
 * checked teardown runs in the test's process and is skipped then). */
static inline void vt_teardown(void) { vt_leftovers += vt_sweep(); }

/* For main: how many segments were left behind over the whole run. */
static inline int vt_finish(void) { return vt_leftovers + vt_sweep(); }

#endif
