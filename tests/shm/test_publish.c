/* test_publish.c: Check suite for the consistent-read protocol of shm/arena.c
 * under real concurrency.
 *
 * A forked writer attaches read-write and publishes turn after turn, filling
 * every used row of fleets.ships and fleets.speed with the turn number; the
 * test process attaches read-only and reads all of them again and again.  A
 * read that read_end accepts must show one turn only (every value equal to
 * the view's turn, and the hash the writer published with it); torn reads
 * are allowed and counted, never silently mixed data.  Turns seen never go
 * backwards.  No timing is asserted: the writer runs until the reader has
 * seen enough turns, with a turn cap as a safety net.
 */
#include "vr_shm.h"
#include "vr_test_shm.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROWS 4096
#define MIN_TURNS 20000u     /* the writer publishes at least this many turns */
#define MAX_TURNS 20000000u  /* and stops here whatever happens */
#define MIN_CONSISTENT 2000  /* accepted reads the reader wants before it stops */

/* The hash the writer publishes with turn t (any function of t will do). */
static uint64_t hash_of(uint64_t t) { return vr_mix64(t + 1); }

/* Shared between the writer child and the reader (anonymous shared mapping). */
typedef struct control {
    _Atomic int stop;          /* reader -> writer: enough, finish */
    _Atomic uint64_t last;     /* writer: last turn it published */
} control;

/* The writer child: never returns; exit code 0 when all went well. */
static void writer(const char *seg, control *ctl, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test never leaves it behind */
    if (getppid() != parent)
        _exit(3);
    vr_arena *a = NULL;
    if (vr_arena_attach(&a, seg, true, 0, NULL, 0) != 0)
        _exit(10);
    uint64_t turn;
    for (turn = 1; turn <= MAX_TURNS; turn++) {
        vr_cols c;
        if (vr_arena_begin(a, &c) != 0)
            _exit(11);
        uint32_t n = c.tables[VR_TAB_fleets].count;
        if (n != ROWS)
            _exit(12);
        for (uint32_t i = 0; i < n; i++) {
            c.fleets_ships[i] = (uint32_t)turn;
            c.fleets_speed[i] = (float)turn;
        }
        if (vr_arena_publish(a, turn, hash_of(turn)) != 0)
            _exit(13);
        atomic_store(&ctl->last, turn);
        if (turn >= MIN_TURNS && atomic_load(&ctl->stop))
            break;
    }
    vr_arena_detach(&a);
    _exit(0);
}

START_TEST(test_concurrent_reads_are_consistent)
{
    char seg[64];
    vt_segname(seg, sizeof seg, "pub");
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.capacity[VR_TAB_fleets] = ROWS;
    spec.capacity[VR_TAB_systems] = 1;
    vr_arena *a = NULL;
    ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0600), 0);
    /* turn 0: ROWS fleets with value 0 */
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (uint32_t i = 0; i < ROWS; i++) {
        uint64_t id;
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    }
    ck_assert_int_eq(vr_arena_publish(a, 0, hash_of(0)), 0);
    vr_arena_detach(&a); /* the child is the only writer from now on */

    control *ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(ctl, MAP_FAILED);
    atomic_store(&ctl->stop, 0);
    atomic_store(&ctl->last, 0);

    vr_arena *r = NULL;
    char why[256] = "";
    ck_assert_int_eq(vr_arena_attach(&r, seg, false, 0, why, sizeof why), 0);

    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        writer(seg, ctl, parent);

    uint64_t consistent = 0, torn = 0, last_turn = 0, distinct = 0, published_calls = 0;
    int writer_status = -1;
    for (uint64_t iter = 0;; iter++) {
        if (writer_status < 0) {
            int st;
            pid_t w = waitpid(pid, &st, WNOHANG);
            ck_assert_int_ge(w, 0);
            if (w == pid)
                writer_status = st;
        }
        if (writer_status >= 0)
            break;

        vr_view v;
        ck_assert_int_eq(vr_arena_read_begin(r, &v), 0);
        uint32_t rows = 0, rows2 = 0;
        const uint32_t *ships = vr_view_column(r, &v, VR_COL_fleets_ships, &rows);
        const float *speed = vr_view_column(r, &v, VR_COL_fleets_speed, &rows2);
        uint32_t live = v.tables[VR_TAB_fleets].live;
        uint32_t bad_ships = 0, bad_speed = 0, first_bad = UINT32_MAX;
        uint32_t want = (uint32_t)v.turn;
        float wantf = (float)v.turn;
        for (uint32_t i = 0; i < rows; i++) {
            if (ships[i] != want) {
                bad_ships++;
                if (first_bad == UINT32_MAX)
                    first_bad = i;
            }
            if (speed[i] != wantf)
                bad_speed++;
        }
        if (vr_arena_read_end(r, &v) != 0) {
            torn++;
            continue;
        }
        consistent++;
        ck_assert_uint_eq(rows, ROWS);
        ck_assert_uint_eq(rows2, ROWS);
        ck_assert_uint_eq(live, ROWS);
        ck_assert_msg(bad_ships == 0 && bad_speed == 0,
                      "turn %llu accepted with %u ships and %u speeds of another turn "
                      "(first: row %u = %u)",
                      (unsigned long long)v.turn, bad_ships, bad_speed, first_bad,
                      first_bad < rows ? ships[first_bad] : 0);
        ck_assert_uint_eq(v.hash, hash_of(v.turn));
        ck_assert_msg(v.turn >= last_turn, "turn went back from %llu to %llu",
                      (unsigned long long)last_turn, (unsigned long long)v.turn);
        distinct += v.turn != last_turn;
        last_turn = v.turn;

        /* vr_arena_published retries by itself: its pair always matches */
        if (iter % 8 == 0) {
            uint64_t t = 0, h = 0;
            ck_assert_int_eq(vr_arena_published(r, &t, &h), 0);
            ck_assert_uint_eq(h, hash_of(t));
            ck_assert_uint_ge(t, last_turn);
            published_calls++;
        }
        if (consistent >= MIN_CONSISTENT && last_turn >= MIN_TURNS)
            atomic_store(&ctl->stop, 1);
    }
    ck_assert_msg(WIFEXITED(writer_status) && WEXITSTATUS(writer_status) == 0,
                  "writer ended with status %#x", writer_status);
    uint64_t final = atomic_load(&ctl->last);
    ck_assert_uint_ge(final, MIN_TURNS);
    ck_assert_uint_lt(final, MAX_TURNS); /* stopped because the reader was done */

    /* the writer is gone: the last turn is what everyone sees */
    vr_view v;
    ck_assert_int_eq(vr_arena_read_begin(r, &v), 0);
    ck_assert_uint_eq(v.turn, final);
    uint32_t rows = 0;
    const uint32_t *ships = vr_view_column(r, &v, VR_COL_fleets_ships, &rows);
    for (uint32_t i = 0; i < rows; i++)
        ck_assert_uint_eq(ships[i], (uint32_t)final);
    ck_assert_int_eq(vr_arena_read_end(r, &v), 0);

    printf("publish: %llu turns written; %llu consistent reads (%llu distinct turns), %llu torn, "
           "%llu published() calls\n",
           (unsigned long long)final, (unsigned long long)consistent,
           (unsigned long long)distinct, (unsigned long long)torn,
           (unsigned long long)published_calls);
    ck_assert_uint_ge(consistent, MIN_CONSISTENT);
    ck_assert_uint_gt(distinct, 1); /* the reads did overlap the writer's turns */
    vr_arena_detach(&r);
    munmap(ctl, sizeof *ctl);
    ck_assert_int_eq(shm_unlink(seg), 0);
}
END_TEST

/* Several readers at once, each in its own process, while the writer runs:
 * readers do not disturb each other or the writer. */
START_TEST(test_many_readers)
{
    char seg[64];
    vt_segname(seg, sizeof seg, "readers");
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.capacity[VR_TAB_fleets] = ROWS;
    vr_arena *a = NULL;
    ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0600), 0);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (uint32_t i = 0; i < ROWS; i++) {
        uint64_t id;
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    }
    ck_assert_int_eq(vr_arena_publish(a, 0, hash_of(0)), 0);
    vr_arena_detach(&a);

    control *ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(ctl, MAP_FAILED);
    atomic_store(&ctl->stop, 1); /* the writer stops at MIN_TURNS */
    atomic_store(&ctl->last, 0);
    pid_t parent = getpid();
    pid_t wpid = fork();
    ck_assert_int_ge(wpid, 0);
    if (wpid == 0)
        writer(seg, ctl, parent);

    enum { NREADERS = 3 };
    pid_t readers[NREADERS];
    for (int k = 0; k < NREADERS; k++) {
        readers[k] = fork();
        ck_assert_int_ge(readers[k], 0);
        if (readers[k] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            vr_arena *r = NULL;
            if (vr_arena_attach(&r, seg, false, 0, NULL, 0) != 0)
                _exit(20);
            uint64_t last = 0, ok = 0;
            /* read until the writer's final turn is seen */
            while (last < MIN_TURNS) {
                vr_view v;
                if (vr_arena_read_begin(r, &v) != 0)
                    _exit(21);
                uint32_t rows = 0, bad = 0;
                const uint32_t *ships = vr_view_column(r, &v, VR_COL_fleets_ships, &rows);
                for (uint32_t i = 0; i < rows; i++)
                    bad += ships[i] != (uint32_t)v.turn;
                if (vr_arena_read_end(r, &v) != 0)
                    continue;
                if (bad || rows != ROWS)
                    _exit(22); /* an accepted read showed a mix of turns */
                if (v.turn < last)
                    _exit(23);
                last = v.turn;
                ok++;
            }
            vr_arena_detach(&r);
            _exit(ok > 0 ? 0 : 24);
        }
    }
    for (int k = 0; k < NREADERS; k++) {
        int st;
        ck_assert_int_eq(waitpid(readers[k], &st, 0), readers[k]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader %d ended with status %#x", k, st);
    }
    int st;
    ck_assert_int_eq(waitpid(wpid, &st, 0), wpid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer ended with status %#x", st);
    ck_assert_uint_eq(atomic_load(&ctl->last), MIN_TURNS);
    munmap(ctl, sizeof *ctl);
    ck_assert_int_eq(shm_unlink(seg), 0);
}
END_TEST

static Suite *publish_suite(void)
{
    Suite *s = suite_create("publish");
    TCase *tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_concurrent_reads_are_consistent);
    tcase_add_test(tc, test_many_readers);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    vt_init();
    SRunner *sr = srunner_create(publish_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}
