/* test_cluster.c: Check suite for shm/cluster.c and the naming and stale-
 * segment helpers of shm/segment.c.
 *
 * The cluster segment is the directory Python and vrctl read by offset: its
 * header, the field directory describing vr_urec, and the seqlock around the
 * coordinator's updates.  Cluster names become segment names, so they are
 * validated; listing and removal must find exactly one cluster's segments,
 * never those of another cluster whose name merely starts the same way.
 */
#include "vr_shm.h"
#include "vr_test_shm.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLUSTER_ID 0x1122334455667788ull

static vr_cluster *make_cluster(char *name, size_t len, const char *tag, uint32_t n)
{
    vt_name(name, len, tag);
    vr_cluster *c = NULL;
    int rc = vr_cluster_create(&c, name, n, CLUSTER_ID, 0600);
    ck_assert_msg(rc == 0, "create cluster %s: %s", name, vr_strerror(rc));
    ck_assert_ptr_nonnull(c);
    return c;
}

static void unlink_cluster(const char *name)
{
    char seg[VR_SEGNAME_MAX];
    vr_segname(seg, sizeof seg, name, -1);
    ck_assert_int_eq(shm_unlink(seg), 0);
}

/* ---- names ------------------------------------------------------------------ */

START_TEST(test_name_check)
{
    static const char *good[] = {"a", "Z", "0", "_", "-", "vr", "my-cluster_01", "ABCxyz789",
                                 "abcdefghijklmnopqrstuvwxyz012345" /* 32 */};
    static const char *bad[] = {"", "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */, "a/b", "/",
                                "a.b", ".", "..", "a b", " a", "a ", "a\tb", "a\nb", "caf\xc3\xa9",
                                "a:b", "a*", "a%s", "a\\b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(vr_name_check(good[i]) == 0, "\"%s\" refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(vr_name_check(bad[i]) == -VR_EBADNAME, "\"%s\" accepted", bad[i]);
    ck_assert_int_eq(vr_name_check(NULL), -VR_EBADNAME);
    char longest[VR_NAME_MAX + 2];
    memset(longest, 'x', sizeof longest);
    longest[VR_NAME_MAX] = 0;
    ck_assert_int_eq(vr_name_check(longest), 0);
    longest[VR_NAME_MAX] = 'x';
    longest[VR_NAME_MAX + 1] = 0;
    ck_assert_int_eq(vr_name_check(longest), -VR_EBADNAME);
}
END_TEST

START_TEST(test_segname)
{
    char out[VR_SEGNAME_MAX];
    vr_segname(out, sizeof out, "abc", -1);
    ck_assert_str_eq(out, "/vr.abc.cluster");
    vr_segname(out, sizeof out, "abc", 0);
    ck_assert_str_eq(out, "/vr.abc.u0");
    vr_segname(out, sizeof out, "my-c_1", 12);
    ck_assert_str_eq(out, "/vr.my-c_1.u12");
    vr_segname(out, sizeof out, "x", 4095);
    ck_assert_str_eq(out, "/vr.x.u4095");
    /* the longest name still fits VR_SEGNAME_MAX */
    char name[VR_NAME_MAX + 1];
    memset(name, 'n', VR_NAME_MAX);
    name[VR_NAME_MAX] = 0;
    vr_segname(out, sizeof out, name, -1);
    ck_assert_uint_eq(strlen(out), strlen("/vr..cluster") + VR_NAME_MAX);
    vr_segname(out, sizeof out, name, 4095);
    ck_assert_uint_eq(strlen(out), strlen("/vr..u4095") + VR_NAME_MAX);
    /* never overflows a short buffer */
    char small[8];
    memset(small, 'q', sizeof small);
    vr_segname(small, 6, "abc", -1);
    ck_assert_str_eq(small, "/vr.a");
    ck_assert_int_eq(small[6], 'q');
}
END_TEST

START_TEST(test_status_names)
{
    ck_assert_str_eq(vr_cluster_status_name(VR_CLUSTER_STARTING), "starting");
    ck_assert_str_eq(vr_cluster_status_name(VR_CLUSTER_RUNNING), "running");
    ck_assert_str_eq(vr_cluster_status_name(VR_CLUSTER_FAILED), "failed");
    ck_assert_str_eq(vr_cluster_status_name(99), "?");
    ck_assert_str_eq(vr_worker_status_name(VR_WORKER_READY), "ready");
    ck_assert_str_eq(vr_worker_status_name(VR_WORKER_HUNG), "hung");
    ck_assert_str_eq(vr_worker_status_name(VR_WORKER_STOPPED), "stopped");
    ck_assert_str_eq(vr_worker_status_name(1000), "?");
}
END_TEST

/* ---- create and attach ----------------------------------------------------------- */

START_TEST(test_create_header)
{
    char name[40];
    vr_cluster *c = make_cluster(name, sizeof name, "hdr", 3);
    vr_cluster_hdr *h = vr_cluster_header(c);
    ck_assert_uint_eq(h->seg.magic, VR_MAGIC_CLUSTER);
    ck_assert_uint_eq(h->seg.layout_version, VR_LAYOUT_VERSION);
    ck_assert_uint_eq(h->seg.schema_hash, vr_schema_hash());
    ck_assert_uint_eq(h->seg.cluster_id, CLUSTER_ID);
    ck_assert_int_eq(h->seg.creator_pid, getpid());
    ck_assert_str_eq(h->name, name);
    ck_assert_uint_eq(h->nuniverses, 3);
    ck_assert_int_eq(h->coordinator_pid, getpid());
    ck_assert_uint_eq(h->status, VR_CLUSTER_STARTING);
    ck_assert_uint_eq(h->urec_size, sizeof(vr_urec));
    ck_assert_uint_eq(atomic_load(&h->seq) % 2, 0);
    ck_assert_uint_gt(h->started_unix_ns, 1600000000ull * 1000000000ull);
    ck_assert_uint_eq(h->urec_offset % 64, 0);
    ck_assert_uint_ge(h->ufield_offset, sizeof(vr_cluster_hdr));
    ck_assert_uint_ge(h->urec_offset, h->ufield_offset + h->nufields * sizeof(vr_fielddesc));
    ck_assert_uint_le(h->urec_offset + 3 * sizeof(vr_urec), h->seg.total_size);
    ck_assert_uint_eq(h->seg.header_size, h->urec_offset);

    char seg[VR_SEGNAME_MAX], path[128];
    vr_segname(seg, sizeof seg, name, -1);
    ck_assert(vt_exists(seg));
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", seg);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_eq((uint64_t)st.st_size, h->seg.total_size);

    /* universe records: consecutive, zeroed, and only n of them */
    for (uint32_t i = 0; i < 3; i++) {
        vr_urec *u = vr_cluster_universe(c, i);
        ck_assert_ptr_nonnull(u);
        ck_assert_ptr_eq(u, (vr_urec *)((uint8_t *)h + h->urec_offset) + i);
        ck_assert_int_eq(u->worker_pid, 0);
        ck_assert_uint_eq(u->committed_turn, 0);
    }
    ck_assert_ptr_null(vr_cluster_universe(c, 3));
    ck_assert_ptr_null(vr_cluster_universe(c, UINT32_MAX));
    vr_cluster_detach(&c);
    ck_assert_ptr_null(c);
    vr_cluster_detach(&c);
    ck_assert(vt_exists(seg)); /* detach never unlinks */
    unlink_cluster(name);
}
END_TEST

START_TEST(test_field_directory)
{
    static const struct {
        const char *name, *dtype;
        uint32_t offset, size;
    } want[] = {
#define W(fname, ctype, dt, arr) {#fname, dt, offsetof(vr_urec, fname), sizeof(((vr_urec *)0)->fname)},
        VR_UFIELDS(W)
#undef W
#define VR_METRIC(mname, doc) {"m_" #mname, "<u8", offsetof(vr_urec, m_##mname), 8},
#include "metrics.def"
#undef VR_METRIC
    };
    const size_t nwant = sizeof want / sizeof want[0];
    char name[40];
    vr_cluster *c = make_cluster(name, sizeof name, "fields", 2);
    vr_cluster *r = NULL;
    ck_assert_int_eq(vr_cluster_attach(&r, name, false, NULL, 0), 0);
    const vr_cluster_hdr *h = vr_cluster_header(r);
    ck_assert_uint_eq(h->nufields, nwant);
    const vr_fielddesc *fd = (const vr_fielddesc *)((const uint8_t *)h + h->ufield_offset);
    for (size_t i = 0; i < nwant; i++) {
        ck_assert_str_eq(fd[i].name, want[i].name);
        ck_assert_str_eq(fd[i].dtype, want[i].dtype);
        ck_assert_uint_eq(fd[i].offset, want[i].offset);
        /* the dtype's size is the field's size, and it fits the record */
        ck_assert_uint_eq((uint32_t)atoi(fd[i].dtype + 2), want[i].size);
        ck_assert_uint_le(fd[i].offset + want[i].size, h->urec_size);
        if (i > 0)
            ck_assert_uint_ge(fd[i].offset, fd[i - 1].offset + want[i - 1].size);
    }
    /* a few fixed by hand, as a reader built elsewhere would hard-code them */
    ck_assert_str_eq(fd[0].name, "arena");
    ck_assert_uint_eq(fd[0].offset, 0);
    ck_assert_str_eq(fd[0].dtype, "|S64");
    ck_assert_str_eq(fd[2].name, "worker_pid");
    ck_assert_uint_eq(fd[2].offset, 128);
    ck_assert_str_eq(fd[2].dtype, "<i4");
    ck_assert_str_eq(fd[7].name, "committed_turn");
    ck_assert_uint_eq(fd[7].offset, 152);
    ck_assert_str_eq(fd[7].dtype, "<u8");

    /* what the coordinator writes is where the directory says */
    vr_urec *u = vr_cluster_universe(c, 1);
    vr_cluster_write_begin(c);
    u->committed_turn = 0xABCDEF;
    snprintf(u->arena, sizeof u->arena, "/vr.%s.u1", name);
    vr_cluster_write_end(c);
    const uint8_t *rec = (const uint8_t *)h + h->urec_offset + 1 * h->urec_size;
    uint64_t turn;
    memcpy(&turn, rec + fd[7].offset, sizeof turn);
    ck_assert_uint_eq(turn, 0xABCDEF);
    ck_assert_str_eq((const char *)rec + fd[0].offset, u->arena);
    ck_assert_uint_eq(vr_cluster_universe(r, 1)->committed_turn, 0xABCDEF);
    vr_cluster_detach(&r);
    vr_cluster_detach(&c);
    unlink_cluster(name);
}
END_TEST

START_TEST(test_seqlock)
{
    char name[40];
    vr_cluster *c = make_cluster(name, sizeof name, "seq", 1);
    vr_cluster *r = NULL;
    ck_assert_int_eq(vr_cluster_attach(&r, name, false, NULL, 0), 0);
    vr_cluster_hdr *h = vr_cluster_header(c);
    const vr_cluster_hdr *rh = vr_cluster_header(r);
    uint64_t s0 = atomic_load(&rh->seq);
    ck_assert_uint_eq(s0 % 2, 0);
    for (int k = 0; k < 3; k++) {
        uint64_t before = atomic_load(&rh->seq);
        vr_cluster_write_begin(c);
        uint64_t during = atomic_load(&rh->seq);
        ck_assert_uint_eq(during % 2, 1);
        ck_assert_uint_gt(during, before);
        h->committed_turn = (uint64_t)k + 1;
        vr_cluster_write_end(c);
        uint64_t after = atomic_load(&rh->seq);
        ck_assert_uint_eq(after % 2, 0);
        ck_assert_uint_gt(after, during);
        ck_assert_uint_eq(rh->committed_turn, (uint64_t)k + 1);
    }
    ck_assert_uint_eq(atomic_load(&rh->seq), s0 + 6);
    vr_cluster_detach(&r);
    vr_cluster_detach(&c);
    unlink_cluster(name);
}
END_TEST

START_TEST(test_create_errors)
{
    char name[40];
    vr_cluster *c = make_cluster(name, sizeof name, "twice", 2);
    vr_cluster *d = NULL;
    ck_assert_int_eq(vr_cluster_create(&d, name, 2, CLUSTER_ID, 0600), -EEXIST);
    ck_assert_ptr_null(d);
    /* the first one is intact */
    ck_assert_uint_eq(vr_cluster_header(c)->nuniverses, 2);
    vr_cluster_detach(&c);

    char other[40];
    vt_name(other, sizeof other, "zero");
    ck_assert_int_eq(vr_cluster_create(&d, other, 0, CLUSTER_ID, 0600), -VR_EBADARG);
    ck_assert_int_eq(vr_cluster_create(&d, other, 4097, CLUSTER_ID, 0600), -VR_EBADARG);
    ck_assert_int_eq(vr_cluster_create(&d, "a.b", 1, CLUSTER_ID, 0600), -VR_EBADNAME);
    ck_assert_int_eq(vr_cluster_create(&d, "", 1, CLUSTER_ID, 0600), -VR_EBADNAME);
    ck_assert_ptr_null(d);
    char seg[VR_SEGNAME_MAX];
    vr_segname(seg, sizeof seg, other, -1);
    ck_assert(!vt_exists(seg));
    unlink_cluster(name);
}
END_TEST

START_TEST(test_attach)
{
    char name[40];
    vr_cluster *c = make_cluster(name, sizeof name, "att", 4);
    vr_cluster_header(c)->status = VR_CLUSTER_RUNNING;
    vr_cluster *r = NULL;
    char why[256] = "";
    ck_assert_int_eq(vr_cluster_attach(&r, name, false, why, sizeof why), 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(vr_cluster_header(r)->nuniverses, 4);
    ck_assert_uint_eq(vr_cluster_header(r)->status, VR_CLUSTER_RUNNING);
    ck_assert_str_eq(vr_cluster_header(r)->name, name);
    vr_cluster *w = NULL;
    ck_assert_int_eq(vr_cluster_attach(&w, name, true, NULL, 0), 0);
    vr_cluster_universe(w, 3)->restarts = 5;
    ck_assert_uint_eq(vr_cluster_universe(r, 3)->restarts, 5);
    vr_cluster_detach(&w);
    vr_cluster_detach(&r);
    vr_cluster_detach(&c);
    unlink_cluster(name);
}
END_TEST

START_TEST(test_attach_missing_or_bad_name)
{
    char name[40];
    vt_name(name, sizeof name, "nobody");
    vr_cluster *r = (vr_cluster *)&r;
    char why[256] = "";
    ck_assert_int_eq(vr_cluster_attach(&r, name, false, why, sizeof why), -ENOENT);
    ck_assert_ptr_null(r);
    ck_assert_uint_gt(strlen(why), 0);

    static const char *bad[] = {"", "a.b", "a/b", "a b", "abcdefghijklmnopqrstuvwxyz0123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = (vr_cluster *)&r;
        why[0] = 0;
        ck_assert_int_eq(vr_cluster_attach(&r, bad[i], false, why, sizeof why), -VR_EBADNAME);
        ck_assert_ptr_null(r);
        ck_assert_msg(strlen(why) > 0, "no reason for \"%s\"", bad[i]);
    }
    ck_assert_int_eq(vr_cluster_attach(&r, NULL, false, NULL, 0), -VR_EBADNAME);
}
END_TEST

/* Attach refuses a damaged cluster segment. */
START_TEST(test_attach_damaged)
{
    char name[40];
    vr_cluster *c = make_cluster(name, sizeof name, "damaged", 2);
    vr_cluster_hdr *h = vr_cluster_header(c);
    struct {
        const char *what;
        int rc;
        size_t off;
        size_t len;
        uint64_t value;
    } cases[] = {
        {"arena magic", -VR_EBADMAGIC, offsetof(vr_seghdr, magic), 8, VR_MAGIC_ARENA},
        {"layout version", -VR_EBADVERSION, offsetof(vr_seghdr, layout_version), 4, VR_LAYOUT_VERSION + 1},
        {"schema hash", -VR_EBADSCHEMA, offsetof(vr_seghdr, schema_hash), 8, vr_schema_hash() ^ 1},
        {"total size", -VR_ETRUNCATED, offsetof(vr_seghdr, total_size), 8, h->seg.total_size + 4096},
        {"no universes", -VR_EBADHEADER, offsetof(vr_cluster_hdr, nuniverses), 4, 0},
        {"too many universes", -VR_EBADHEADER, offsetof(vr_cluster_hdr, nuniverses), 4, 1000},
        {"record size", -VR_EBADHEADER, offsetof(vr_cluster_hdr, urec_size), 4, 128},
        {"record offset", -VR_EBADHEADER, offsetof(vr_cluster_hdr, urec_offset), 8, 1u << 20},
        {"field offset", -VR_EBADHEADER, offsetof(vr_cluster_hdr, ufield_offset), 8, 0},
        {"field count", -VR_EBADHEADER, offsetof(vr_cluster_hdr, nufields), 4, 99},
    };
    uint8_t *base = (uint8_t *)h;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t saved[8];
        memcpy(saved, base + cases[i].off, cases[i].len);
        memcpy(base + cases[i].off, &cases[i].value, cases[i].len); /* little-endian */
        vr_cluster *r = (vr_cluster *)&r;
        char why[256] = "";
        int rc = vr_cluster_attach(&r, name, false, why, sizeof why);
        ck_assert_msg(rc == cases[i].rc, "%s: attach returned %d (%s), expected %d", cases[i].what,
                      rc, vr_strerror(rc), cases[i].rc);
        ck_assert_ptr_null(r);
        ck_assert_msg(strlen(why) > 0, "%s: no reason", cases[i].what);
        memcpy(base + cases[i].off, saved, cases[i].len);
        ck_assert_int_eq(vr_cluster_attach(&r, name, false, NULL, 0), 0);
        vr_cluster_detach(&r);
    }
    vr_cluster_detach(&c);
    unlink_cluster(name);
}
END_TEST

/* ---- listing, removal, owner --------------------------------------------------- */

static int listed(char (*names)[VR_SEGNAME_MAX], int n, const char *seg)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], seg) == 0)
            return 1;
    return 0;
}

/* A raw segment with `size` bytes of `fill`, outside the vr API. */
static void raw_segment(const char *seg, size_t size, int fill)
{
    int fd = shm_open(seg, O_CREAT | O_EXCL | O_RDWR, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    if (size) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        memset(p, fill, size);
        munmap(p, size);
    }
    close(fd);
}

START_TEST(test_list_and_remove)
{
    char ab[40], abc[40], seg[VR_SEGNAME_MAX];
    vr_cluster *c1 = make_cluster(ab, sizeof ab, "ab", 2);
    vr_cluster *c2 = make_cluster(abc, sizeof abc, "abc", 1);
    ck_assert_int_eq(strncmp(ab, abc, strlen(ab)), 0); /* "ab" is a prefix of "abc" */
    vr_arena_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.capacity[VR_TAB_fleets] = 4;
    vr_arena *a = NULL;
    for (int u = 0; u < 2; u++) {
        vr_segname(seg, sizeof seg, ab, u);
        ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0600), 0);
        vr_arena_detach(&a);
    }
    vr_segname(seg, sizeof seg, ab, 10);
    ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0600), 0);
    vr_arena_detach(&a);
    vr_segname(seg, sizeof seg, abc, 0);
    ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0600), 0);
    vr_arena_detach(&a);
    /* names that look like ab's but are not segments of a cluster */
    char odd1[VR_SEGNAME_MAX], odd2[VR_SEGNAME_MAX], odd3[VR_SEGNAME_MAX];
    snprintf(odd1, sizeof odd1, "/vr.%s.ux", ab);
    snprintf(odd2, sizeof odd2, "/vr.%s.cluster2", ab);
    snprintf(odd3, sizeof odd3, "/vr.%s.u", ab);
    raw_segment(odd1, 64, 0);
    raw_segment(odd2, 64, 0);
    raw_segment(odd3, 64, 0);

    char names[8][VR_SEGNAME_MAX];
    int n = vr_shm_list(ab, names, 8);
    ck_assert_int_eq(n, 4);
    vr_segname(seg, sizeof seg, ab, -1);
    ck_assert(listed(names, n, seg));
    vr_segname(seg, sizeof seg, ab, 0);
    ck_assert(listed(names, n, seg));
    vr_segname(seg, sizeof seg, ab, 1);
    ck_assert(listed(names, n, seg));
    vr_segname(seg, sizeof seg, ab, 10);
    ck_assert(listed(names, n, seg));
    for (int i = 0; i < n; i++)
        ck_assert_msg(strncmp(names[i], "/vr.", 4) == 0, "listed %s", names[i]);

    n = vr_shm_list(abc, names, 8);
    ck_assert_int_eq(n, 2);
    vr_segname(seg, sizeof seg, abc, -1);
    ck_assert(listed(names, n, seg));
    vr_segname(seg, sizeof seg, abc, 0);
    ck_assert(listed(names, n, seg));

    /* max smaller than the count: the count is still returned, nothing
     * is written past max */
    char few[2][VR_SEGNAME_MAX];
    memset(few, 0x7F, sizeof few);
    char guard[VR_SEGNAME_MAX];
    memset(guard, 0x7F, sizeof guard);
    ck_assert_int_eq(vr_shm_list(ab, few, 1), 4);
    ck_assert_int_eq(strncmp(few[0], "/vr.", 4), 0);
    ck_assert_int_eq(memcmp(few[1], guard, sizeof guard), 0);

    /* a cluster with nothing */
    char none[40];
    vt_name(none, sizeof none, "none");
    ck_assert_int_eq(vr_shm_list(none, names, 8), 0);
    ck_assert_int_eq(vr_shm_remove_all(none), 0);

    /* removing ab removes exactly ab's four segments */
    vr_cluster_detach(&c1);
    ck_assert_int_eq(vr_shm_remove_all(ab), 4);
    ck_assert_int_eq(vr_shm_list(ab, names, 8), 0);
    vr_segname(seg, sizeof seg, ab, -1);
    ck_assert(!vt_exists(seg));
    ck_assert(vt_exists(odd1));
    ck_assert(vt_exists(odd2));
    ck_assert(vt_exists(odd3));
    ck_assert_int_eq(vr_shm_list(abc, names, 8), 2);
    vr_segname(seg, sizeof seg, abc, -1);
    ck_assert(vt_exists(seg));
    /* a mapping still open does not prevent removal */
    ck_assert_int_eq(vr_shm_remove_all(abc), 2);
    ck_assert(!vt_exists(seg));
    ck_assert_uint_eq(vr_cluster_header(c2)->nuniverses, 1);
    vr_cluster_detach(&c2);
    ck_assert_int_eq(vr_shm_remove_all(abc), 0);
    ck_assert_int_eq(shm_unlink(odd1), 0);
    ck_assert_int_eq(shm_unlink(odd2), 0);
    ck_assert_int_eq(shm_unlink(odd3), 0);
}
END_TEST

START_TEST(test_owner)
{
    char name[40], seg[VR_SEGNAME_MAX], useg[VR_SEGNAME_MAX];
    vt_name(name, sizeof name, "owner");
    vr_segname(seg, sizeof seg, name, -1);
    vr_segname(useg, sizeof useg, name, 0);
    int32_t pid = 0;
    ck_assert_int_eq(vr_shm_owner(seg, &pid), -ENOENT);

    /* created by another process, which then exits */
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        vr_cluster *c = NULL;
        vr_arena *a = NULL;
        vr_arena_spec spec;
        memset(&spec, 0, sizeof spec);
        if (vr_cluster_create(&c, name, 1, CLUSTER_ID, 0600) != 0)
            _exit(1);
        if (vr_arena_create(&a, useg, &spec, 0600) != 0)
            _exit(2);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(child, &st, 0), child);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(vr_shm_owner(seg, &pid), 0);
    ck_assert_int_eq(pid, child);
    pid = 0;
    ck_assert_int_eq(vr_shm_owner(useg, &pid), 0);
    ck_assert_int_eq(pid, child);
    ck_assert_int_ne(pid, getpid());
    ck_assert_int_eq(vr_shm_remove_all(name), 2);

    /* not a vr segment, or too short to hold a header */
    char raw[VR_SEGNAME_MAX];
    vt_segname(raw, sizeof raw, "raw");
    raw_segment(raw, 4096, 0x11);
    ck_assert_int_eq(vr_shm_owner(raw, &pid), -VR_EBADMAGIC);
    ck_assert_int_eq(shm_unlink(raw), 0);
    raw_segment(raw, 10, 0);
    ck_assert_int_eq(vr_shm_owner(raw, &pid), -VR_ETRUNCATED);
    ck_assert_int_eq(shm_unlink(raw), 0);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("names");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_name_check);
    tcase_add_test(tc, test_segname);
    tcase_add_test(tc, test_status_names);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("segment");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_create_header);
    tcase_add_test(tc, test_field_directory);
    tcase_add_test(tc, test_seqlock);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_attach);
    tcase_add_test(tc, test_attach_missing_or_bad_name);
    tcase_add_test(tc, test_attach_damaged);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("stale");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_list_and_remove);
    tcase_add_test(tc, test_owner);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    vt_init();
    SRunner *sr = srunner_create(cluster_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}
