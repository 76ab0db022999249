/* test_snapshot.c: Check suite for shm/snapshot.c: round trip of real arenas
 * (published buffers, column directory, hashes, options), and everything a
 * reader must refuse with a sentence naming the file: a flipped byte
 * anywhere, truncation at several points, a newer or other version, a
 * foreign file, a missing file; the temporary-name/rename write (no
 * temporary left, an old file stays intact when a write fails), and a
 * restore into an arena of other capacities. */
#include "vr_snapshot.h"
#include "vr_test_shm.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define NU 2

typedef struct fix {
    char seg[NU][64];
    vr_arena *a[NU];
    char dir[128], path[192];
    uint64_t hash[NU];
} fix;

static void make_arena(fix *f, uint32_t u, uint32_t rows, uint64_t turn)
{
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.universe = u;
    spec.seed = 7;
    for (int t = 0; t < VR_NTABLES; t++)
        spec.capacity[t] = 64;
    spec.capacity[VR_TAB_fleets] = rows;
    char tag[16];
    snprintf(tag, sizeof tag, "snap%u", u);
    vt_segname(f->seg[u], sizeof f->seg[u], tag);
    ck_assert_int_eq(vr_arena_create(&f->a[u], f->seg[u], &spec, 0600), 0);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(f->a[u], &c), 0);
    for (uint32_t i = 0; i < rows / 2; i++) {
        uint64_t id;
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
        c.fleets_ships[i] = i * 3 + u;
        c.fleets_speed[i] = (float)i / 7.0f;
    }
    f->hash[u] = vr_arena_hash(f->a[u]);
    ck_assert_int_eq(vr_arena_publish(f->a[u], turn, f->hash[u]), 0);
}

static void setup(fix *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/vr-snaptest-%d", (int)getpid());
    mkdir(f->dir, 0700);
    snprintf(f->path, sizeof f->path, "%s/a.vrsnap", f->dir);
    for (uint32_t u = 0; u < NU; u++)
        make_arena(f, u, 1000 + 24 * u, 42);
}

static void teardown(fix *f)
{
    for (uint32_t u = 0; u < NU; u++) {
        vr_arena_detach(&f->a[u]);
        shm_unlink(f->seg[u]);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    ck_assert_int_eq(system(cmd), 0);
}

static vr_snap_info info42(void)
{
    return (vr_snap_info){.turn = 42, .cluster_hash = 0xabcdef, .seed = 7, .systems = 16, .fleets = 100,
                          .factions = 3, .content_hash = 0x1234, .portal_hash = 0x5678, .cluster_name = "tst",
                          .content_dir = "/some/pack", .portals = "off", .universe_names = "a,b"};
}

static uint64_t write_it(fix *f)
{
    char err[512] = "";
    uint64_t bytes = 0;
    vr_snap_info in = info42();
    int rc = vr_snapshot_write(f->path, f->a, NU, &in, &bytes, err, sizeof err);
    ck_assert_msg(rc == 0, "write: %s", err);
    struct stat sb;
    ck_assert_int_eq(stat(f->path, &sb), 0);
    ck_assert_uint_eq((uint64_t)sb.st_size, bytes);
    return bytes;
}

static int open_err(const char *path, char *err, size_t len)
{
    vr_snapshot *s = NULL;
    err[0] = 0;
    int rc = vr_snapshot_open(&s, path, err, len);
    if (rc == 0)
        vr_snapshot_close(&s);
    else
        ck_assert_ptr_null(s);
    return rc;
}

static void patch(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static void fix_header_xxh(const char *path)
{
    uint8_t block[VR_SNAP_HDR_SIZE];
    int fd = open(path, O_RDWR);
    ck_assert_int_eq(pread(fd, block, sizeof block, 0), (ssize_t)sizeof block);
    ((vr_snap_hdr *)(void *)block)->header_xxh = 0;
    uint64_t x = XXH3_64bits(block, sizeof block);
    ((vr_snap_hdr *)(void *)block)->header_xxh = x;
    ck_assert_int_eq(pwrite(fd, block, sizeof block, 0), (ssize_t)sizeof block);
    close(fd);
}

START_TEST(test_round_trip)
{
    fix f;
    setup(&f);
    uint64_t bytes = write_it(&f);
    ck_assert_uint_gt(bytes, VR_SNAP_HDR_SIZE);
    vr_snapshot *s = NULL;
    char err[512] = "";
    ck_assert_msg(vr_snapshot_open(&s, f.path, err, sizeof err) == 0, "%s", err);
    const vr_snap_hdr *h = vr_snapshot_header(s);
    ck_assert_uint_eq(h->version, VR_SNAPSHOT_VERSION);
    ck_assert_uint_eq(h->turn, 42);
    ck_assert_uint_eq(h->nuniverses, NU);
    ck_assert_uint_eq(h->seed, 7);
    ck_assert_uint_eq(h->systems, 16);
    ck_assert_uint_eq(h->fleets, 100);
    ck_assert_uint_eq(h->factions, 3);
    ck_assert_uint_eq(h->cluster_hash, 0xabcdef);
    ck_assert_uint_eq(h->content_hash, 0x1234);
    ck_assert_uint_eq(h->portal_hash, 0x5678);
    ck_assert_str_eq(h->content_dir, "/some/pack");
    ck_assert_str_eq(h->portals, "off");
    ck_assert_str_eq(h->universe_names, "a,b");
    ck_assert_str_eq(h->cluster_name, "tst");
    for (uint32_t u = 0; u < NU; u++) {
        ck_assert_uint_eq(vr_snapshot_universe(s, u)->hash, f.hash[u]);
        /* into a fresh arena of the same capacities: same turn, hash, rows */
        vr_arena_detach(&f.a[u]);
        vr_arena *old = NULL;
        ck_assert_int_eq(vr_arena_attach(&old, f.seg[u], false, 0, NULL, 0), 0);
        char seg2[64];
        char tag[16];
        snprintf(tag, sizeof tag, "rst%u", u);
        vt_segname(seg2, sizeof seg2, tag);
        vr_arena_spec spec = {.universe = u, .seed = 7};
        for (int t = 0; t < VR_NTABLES; t++)
            spec.capacity[t] = 64;
        spec.capacity[VR_TAB_fleets] = 1000 + 24 * u;
        vr_arena *na = NULL;
        ck_assert_int_eq(vr_arena_create(&na, seg2, &spec, 0600), 0);
        ck_assert_msg(vr_snapshot_load_arena(s, u, na, err, sizeof err) == 0, "%s", err);
        uint64_t turn = 0, hash = 0;
        ck_assert_int_eq(vr_arena_published(na, &turn, &hash), 0);
        ck_assert_uint_eq(turn, 42);
        ck_assert_uint_eq(hash, f.hash[u]);
        vr_view v1, v2;
        ck_assert_int_eq(vr_arena_read_begin(old, &v1), 0);
        ck_assert_int_eq(vr_arena_read_begin(na, &v2), 0);
        ck_assert_uint_eq(v1.tables[VR_TAB_fleets].live, v2.tables[VR_TAB_fleets].live);
        uint32_t r1, r2;
        const uint32_t *s1 = vr_view_column(old, &v1, VR_COL_fleets_ships, &r1);
        const uint32_t *s2 = vr_view_column(na, &v2, VR_COL_fleets_ships, &r2);
        ck_assert_uint_eq(r1, r2);
        ck_assert_int_eq(memcmp(s1, s2, r1 * sizeof *s1), 0);
        /* a writer continues from it as from the original */
        vr_cols c;
        ck_assert_int_eq(vr_arena_begin(na, &c), 0);
        ck_assert_uint_eq(c.fleets_ships[5], 15 + u);
        /* loading twice is refused */
        vr_arena_publish(na, 43, vr_arena_hash(na));
        ck_assert_int_ne(vr_snapshot_load_arena(s, u, na, err, sizeof err), 0);
        vr_arena_detach(&na);
        shm_unlink(seg2);
        f.a[u] = old;
    }
    vr_snapshot_close(&s);
    teardown(&f);
}
END_TEST

START_TEST(test_other_capacities_refused)
{
    fix f;
    setup(&f);
    write_it(&f);
    vr_snapshot *s = NULL;
    char err[512] = "";
    ck_assert_int_eq(vr_snapshot_open(&s, f.path, err, sizeof err), 0);
    char seg2[64];
    vt_segname(seg2, sizeof seg2, "cap");
    vr_arena_spec spec = {.universe = 0, .seed = 7};
    for (int t = 0; t < VR_NTABLES; t++)
        spec.capacity[t] = 64;
    spec.capacity[VR_TAB_fleets] = 999;
    vr_arena *na = NULL;
    ck_assert_int_eq(vr_arena_create(&na, seg2, &spec, 0600), 0);
    int rc = vr_snapshot_load_arena(s, 0, na, err, sizeof err);
    ck_assert_int_eq(rc, -VR_EBADHEADER);
    ck_assert_msg(strstr(err, "universe 0"), "%s", err);
    ck_assert_int_eq(vr_arena_published(na, NULL, NULL), -VR_ENOTYET);
    vr_arena_detach(&na);
    shm_unlink(seg2);
    vr_snapshot_close(&s);
    teardown(&f);
}
END_TEST

START_TEST(test_flipped_bytes)
{
    fix f;
    setup(&f);
    uint64_t bytes = write_it(&f);
    /* every region: header fields, first record, an arena directory, a
     * column deep in the last buffer, the last byte */
    const off_t at[] = {40, 200, 3000, VR_SNAP_HDR_SIZE + 8, VR_SNAP_HDR_SIZE + 64 + 300,
                        (off_t)bytes / 2, (off_t)bytes - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        uint8_t b;
        int fd = open(f.path, O_RDWR);
        ck_assert_int_eq(pread(fd, &b, 1, at[i]), 1);
        uint8_t x = b ^ 0x10;
        ck_assert_int_eq(pwrite(fd, &x, 1, at[i]), 1);
        close(fd);
        char err[512];
        int rc = open_err(f.path, err, sizeof err);
        ck_assert_msg(rc == -VR_ECHECKSUM, "byte %lld flipped: rc %d (%s)", (long long)at[i], rc, err);
        ck_assert_msg(strstr(err, f.path) && strstr(err, "corrupted"), "%s", err);
        patch(f.path, at[i], &b, 1);
        ck_assert_int_eq(open_err(f.path, err, sizeof err), 0);
    }
    teardown(&f);
}
END_TEST

START_TEST(test_truncated)
{
    fix f;
    setup(&f);
    uint64_t bytes = write_it(&f);
    const off_t cut[] = {0, 5, 100, VR_SNAP_HDR_SIZE - 1, VR_SNAP_HDR_SIZE, VR_SNAP_HDR_SIZE + 10,
                         (off_t)bytes / 2, (off_t)bytes - 1};
    char copy[256];
    snprintf(copy, sizeof copy, "%s/cut.vrsnap", f.dir);
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "cp %s %s", f.path, copy);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(truncate(copy, cut[i]), 0);
        char err[512];
        int rc = open_err(copy, err, sizeof err);
        if (cut[i] < 8) /* not even a magic number: an empty / foreign file */
            ck_assert_msg(rc == -VR_ETRUNCATED || rc == -VR_EBADMAGIC, "cut %lld: %d %s", (long long)cut[i], rc, err);
        else
            ck_assert_msg(rc == -VR_ETRUNCATED, "cut at %lld: rc %d (%s)", (long long)cut[i], rc, err);
        ck_assert_msg(strstr(err, copy), "%s", err);
        if (cut[i] >= 8)
            ck_assert_msg(strstr(err, "truncated"), "%s", err);
    }
    /* one byte too many is refused as well */
    int fd = open(f.path, O_WRONLY | O_APPEND);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    close(fd);
    char err[512];
    ck_assert_int_eq(open_err(f.path, err, sizeof err), -VR_EBADHEADER);
    teardown(&f);
}
END_TEST

START_TEST(test_versions)
{
    fix f;
    setup(&f);
    write_it(&f);
    char err[512];
    uint32_t v = VR_SNAPSHOT_VERSION + 1; /* a newer writer, checksums right */
    patch(f.path, offsetof(vr_snap_hdr, version), &v, sizeof v);
    fix_header_xxh(f.path);
    ck_assert_int_eq(open_err(f.path, err, sizeof err), -VR_EBADVERSION);
    ck_assert_msg(strstr(err, "newer") && strstr(err, f.path), "%s", err);
    v = 0; /* an unknown older one */
    patch(f.path, offsetof(vr_snap_hdr, version), &v, sizeof v);
    fix_header_xxh(f.path);
    ck_assert_int_eq(open_err(f.path, err, sizeof err), -VR_EBADVERSION);
    ck_assert_msg(strstr(err, "not supported"), "%s", err);
    v = VR_SNAPSHOT_VERSION;
    patch(f.path, offsetof(vr_snap_hdr, version), &v, sizeof v);
    uint32_t lv = VR_LAYOUT_VERSION + 1; /* other arena layout */
    patch(f.path, offsetof(vr_snap_hdr, layout_version), &lv, sizeof lv);
    fix_header_xxh(f.path);
    ck_assert_int_eq(open_err(f.path, err, sizeof err), -VR_EBADVERSION);
    ck_assert_msg(strstr(err, "layout"), "%s", err);
    lv = VR_LAYOUT_VERSION;
    patch(f.path, offsetof(vr_snap_hdr, layout_version), &lv, sizeof lv);
    uint64_t sh = vr_schema_hash() ^ 1; /* other components.def */
    patch(f.path, offsetof(vr_snap_hdr, schema_hash), &sh, sizeof sh);
    fix_header_xxh(f.path);
    ck_assert_int_eq(open_err(f.path, err, sizeof err), -VR_EBADSCHEMA);
    ck_assert_msg(strstr(err, "schema"), "%s", err);
    teardown(&f);
}
END_TEST

START_TEST(test_foreign_and_missing)
{
    fix f;
    setup(&f);
    char err[512];
    char p[256];
    snprintf(p, sizeof p, "%s/nope.vrsnap", f.dir);
    ck_assert_int_eq(open_err(p, err, sizeof err), -ENOENT);
    ck_assert_msg(strstr(err, p) && strstr(err, "No such file"), "%s", err);
    snprintf(p, sizeof p, "%s/text.vrsnap", f.dir);
    FILE *fp = fopen(p, "w");
    for (int i = 0; i < 1000; i++)
        fputs("this is not a snapshot\n", fp);
    fclose(fp);
    ck_assert_int_eq(open_err(p, err, sizeof err), -VR_EBADMAGIC);
    ck_assert_msg(strstr(err, p) && strstr(err, "not a vr snapshot"), "%s", err);
    fp = fopen(p, "w");
    fclose(fp);
    ck_assert_int_eq(open_err(p, err, sizeof err), -VR_ETRUNCATED);
    ck_assert_msg(strstr(err, "empty"), "%s", err);
    ck_assert_int_eq(open_err(f.dir, err, sizeof err), -VR_EBADMAGIC);
    teardown(&f);
}
END_TEST

/* the write goes through PATH.tmp.PID + rename: none is left behind, and a
 * write that fails (a universe at another turn) leaves the previous
 * snapshot complete and valid */
START_TEST(test_atomic_write)
{
    fix f;
    setup(&f);
    write_it(&f);
    struct stat before;
    ck_assert_int_eq(stat(f.path, &before), 0);
    /* universe 1 moves to turn 43: a snapshot of turn 42 must fail */
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(f.a[1], &c), 0);
    c.fleets_ships[0] = 999;
    ck_assert_int_eq(vr_arena_publish(f.a[1], 43, vr_arena_hash(f.a[1])), 0);
    char err[512] = "";
    vr_snap_info in = info42();
    int rc = vr_snapshot_write(f.path, f.a, NU, &in, NULL, err, sizeof err);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(err, "universe 1") && strstr(err, "turn 43"), "%s", err);
    ck_assert_int_eq(open_err(f.path, err, sizeof err), 0);
    struct stat after;
    ck_assert_int_eq(stat(f.path, &after), 0);
    ck_assert_uint_eq(before.st_ino, after.st_ino);
    /* a write into a directory that does not exist: clear error, nothing created */
    char bad[256];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.vrsnap", f.dir);
    rc = vr_snapshot_write(bad, f.a, NU, &in, NULL, err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_msg(strstr(err, bad), "%s", err);
    /* a successful write replaces the file by rename (new inode), and no
     * temporary is left in the directory */
    ck_assert_int_eq(vr_arena_begin(f.a[0], &c), 0);
    ck_assert_int_eq(vr_arena_publish(f.a[0], 43, vr_arena_hash(f.a[0])), 0);
    in.turn = 43;
    ck_assert_msg(vr_snapshot_write(f.path, f.a, NU, &in, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(stat(f.path, &after), 0);
    ck_assert_uint_ne(before.st_ino, after.st_ino);
    DIR *d = opendir(f.dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            ck_assert_msg(!strstr(e->d_name, ".tmp."), "temporary left: %s", e->d_name);
            n++;
        }
    closedir(d);
    ck_assert_int_eq(n, 1);
    vr_snapshot *s = NULL;
    ck_assert_int_eq(vr_snapshot_open(&s, f.path, err, sizeof err), 0);
    ck_assert_uint_eq(vr_snapshot_header(s)->turn, 43);
    vr_snapshot_close(&s);
    teardown(&f);
}
END_TEST

/* a writer killed (SIGKILL) at any moment of a write never leaves a corrupt
 * file under the final name: it holds the previous complete snapshot or the
 * new complete one */
START_TEST(test_killed_mid_write)
{
    fix f;
    setup(&f);
    for (uint32_t u = 0; u < NU; u++) { /* bigger arenas: a write takes a while */
        vr_arena_detach(&f.a[u]);
        shm_unlink(f.seg[u]);
        make_arena(&f, u, 400000, 42);
    }
    uint64_t bytes = write_it(&f);
    for (int k = 0; k < 8; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            vr_snap_info in = info42();
            for (;;)
                if (vr_snapshot_write(f.path, f.a, NU, &in, NULL, NULL, 0))
                    _exit(1);
        }
        usleep((useconds_t)(1000 + 2500 * k));
        kill(pid, SIGKILL);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert(WIFSIGNALED(st));
        char err[512];
        ck_assert_msg(open_err(f.path, err, sizeof err) == 0, "after a kill at %d: %s", k, err);
        struct stat sb;
        ck_assert_int_eq(stat(f.path, &sb), 0);
        ck_assert_uint_eq((uint64_t)sb.st_size, bytes);
    }
    teardown(&f); /* removes the temporaries the killed writers left */
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_other_capacities_refused);
    tcase_add_test(tc, test_flipped_bytes);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_versions);
    tcase_add_test(tc, test_foreign_and_missing);
    tcase_add_test(tc, test_atomic_write);
    tcase_add_test(tc, test_killed_mid_write);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0 || vt_finish() != 0;
}
