/* test_arena.c: Check suite for shm/arena.c (and the segment code under it).
 *
 * Covers the arena's life cycle and its promises to other processes: the
 * self-describing directories match the schema, attach refuses every kind of
 * damaged or foreign segment with the right code and a reason, a read-only
 * mapping really is read-only, generational entity ids never let a stale id
 * reach a reused row, and the double-buffered publish protocol shows readers
 * whole committed turns only.  Each test makes its own segments under a
 * unique name (vr_test_shm.h) and unlinks them; main sweeps what a failed
 * test left behind.
 */
#include "vr_shm.h"
#include "vr_test_shm.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLUSTER_ID 0x00C0FFEE12345678ull

static vr_arena_spec small_spec(void)
{
    vr_arena_spec s;
    memset(&s, 0, sizeof s);
    s.universe = 3;
    s.cluster_id = CLUSTER_ID;
    s.seed = 42;
    s.capacity[VR_TAB_systems] = 10;
    s.capacity[VR_TAB_lanes] = 40;
    s.capacity[VR_TAB_fleets] = 4;
    return s;
}

/* Creates an arena named after `tag` in *seg. */
static vr_arena *make(char *seg, size_t seglen, const char *tag, const vr_arena_spec *spec)
{
    vt_segname(seg, seglen, tag);
    vr_arena *a = NULL;
    int rc = vr_arena_create(&a, seg, spec, 0600);
    ck_assert_msg(rc == 0, "create %s: %s", seg, vr_strerror(rc));
    ck_assert_ptr_nonnull(a);
    return a;
}

static void drop(vr_arena **a, const char *seg)
{
    vr_arena_detach(a);
    ck_assert_ptr_null(*a);
    ck_assert_int_eq(shm_unlink(seg), 0);
    ck_assert(!vt_exists(seg));
}

static vr_arena_hdr *hdr_rw(vr_arena *a) { return (vr_arena_hdr *)vr_arena_base(a); }

static vr_coldesc *coldir_rw(vr_arena *a)
{
    return (vr_coldesc *)((uint8_t *)vr_arena_base(a) + hdr_rw(a)->coldir_offset);
}

static vr_tabledesc *tabdir_rw(vr_arena *a)
{
    return (vr_tabledesc *)((uint8_t *)vr_arena_base(a) + hdr_rw(a)->tabdir_offset);
}

/* Attach must fail with `want`, give no arena, and say why. */
static void expect_attach_fails(const char *seg, bool writable, uint64_t cluster_id, int want,
                                const char *what)
{
    vr_arena *b = (vr_arena *)&b; /* not NULL: attach must clear it */
    char why[256] = "";
    int rc = vr_arena_attach(&b, seg, writable, cluster_id, why, sizeof why);
    ck_assert_msg(rc == want, "%s: attach returned %d (%s), expected %d (%s); why: %s", what, rc,
                  vr_strerror(rc), want, vr_strerror(want), why);
    ck_assert_ptr_null(b);
    ck_assert_msg(why[0] != 0, "%s: no reason given", what);
}

static vr_arena *attach_ok(const char *seg, bool writable)
{
    vr_arena *b = NULL;
    char why[256] = "";
    int rc = vr_arena_attach(&b, seg, writable, CLUSTER_ID, why, sizeof why);
    ck_assert_msg(rc == 0, "attach %s: %s (%s)", seg, vr_strerror(rc), why);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* ---- create, attach, directories ---------------------------------------------- */

START_TEST(test_create_attach_detach)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "cad", &spec);
    ck_assert(vt_exists(seg));

    const vr_arena_hdr *h = vr_arena_header(a);
    ck_assert_uint_eq(h->seg.magic, VR_MAGIC_ARENA);
    ck_assert_uint_eq(h->seg.layout_version, VR_LAYOUT_VERSION);
    ck_assert_uint_eq(h->seg.schema_hash, vr_schema_hash());
    ck_assert_uint_eq(h->seg.cluster_id, CLUSTER_ID);
    ck_assert_int_eq(h->seg.creator_pid, getpid());
    ck_assert_uint_eq(h->seg.total_size, vr_arena_size(&spec));
    ck_assert_uint_eq(vr_arena_bytes(a), vr_arena_size(&spec));
    ck_assert_uint_ge(h->seg.header_size, sizeof(vr_arena_hdr));
    ck_assert_uint_eq(h->universe, 3);
    ck_assert_uint_eq(h->seed, 42);
    ck_assert_uint_eq(h->ntables, VR_NTABLES);
    ck_assert_uint_eq(h->ncolumns, VR_NCOLUMNS);
    ck_assert_uint_eq(h->nbuffers, 2);
    ck_assert_uint_eq(atomic_load(&h->published), VR_NO_BUFFER);
    /* buffers: page aligned, after the header, inside the segment, disjoint */
    ck_assert_uint_eq(h->buffer_offset[0] % 4096, 0);
    ck_assert_uint_eq(h->buffer_offset[1] % 4096, 0);
    ck_assert_uint_ge(h->buffer_offset[0], h->seg.header_size);
    ck_assert_uint_ge(h->buffer_offset[1], h->buffer_offset[0] + h->buffer_size);
    ck_assert_uint_le(h->buffer_offset[1] + h->buffer_size, h->seg.total_size);
    ck_assert_ptr_eq(vr_arena_base(a), (const void *)h);
    vr_arena_detach(&a);
    ck_assert_ptr_null(a);
    vr_arena_detach(&a); /* a second detach is harmless */
    ck_assert(vt_exists(seg)); /* detach never unlinks */

    /* attach from scratch, read-only and writable, with and without the id */
    vr_arena *r = attach_ok(seg, false);
    ck_assert_uint_eq(vr_arena_header(r)->universe, 3);
    ck_assert_uint_eq(vr_arena_bytes(r), vr_arena_size(&spec));
    vr_arena *w = attach_ok(seg, true);
    vr_arena *any = NULL;
    ck_assert_int_eq(vr_arena_attach(&any, seg, false, 0, NULL, 0), 0);
    ck_assert_ptr_nonnull(any);
    vr_arena_detach(&any);
    vr_arena_detach(&w);
    drop(&r, seg);
}
END_TEST

START_TEST(test_size_grows_with_capacity)
{
    vr_arena_spec s = small_spec();
    uint64_t base = vr_arena_size(&s);
    ck_assert_uint_eq(base % 4096, 0);
    s.capacity[VR_TAB_fleets] = 100000;
    uint64_t big = vr_arena_size(&s);
    /* both buffers hold every fleet column for 100000 rows */
    uint64_t row = 0;
    for (int c = 0; c < VR_NCOLUMNS; c++)
        if (vr_columns[c].table == VR_TAB_fleets)
            row += (uint64_t)vr_columns[c].elem_size * vr_columns[c].lanes;
    ck_assert_uint_ge(big - base, 2 * (row * 100000 - 4096 - 64 * VR_NCOLUMNS));
    ck_assert_uint_le(big - base, 2 * row * 100000 + 2 * 4096 + 2 * 64 * VR_NCOLUMNS);
}
END_TEST

START_TEST(test_column_directory)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    spec.capacity[VR_TAB_fleets] = 1000;
    vr_arena *w = make(seg, sizeof seg, "coldir", &spec);
    vr_arena *a = attach_ok(seg, false);
    const vr_arena_hdr *h = vr_arena_header(a);
    const uint8_t *base = vr_arena_base(a);
    const vr_coldesc *cd = (const vr_coldesc *)(base + h->coldir_offset);
    const vr_tabledesc *td = (const vr_tabledesc *)(base + h->tabdir_offset);
    uint64_t bufhdr = sizeof(vr_bufhdr) + VR_NTABLES * sizeof(vr_tabstate);

    for (int t = 0; t < VR_NTABLES; t++) {
        ck_assert_str_eq(td[t].name, vr_tables[t].name);
        ck_assert_uint_eq(td[t].capacity, spec.capacity[t]);
        /* a table's columns: the declared ones plus _gen and _free */
        uint32_t n = 0, first = UINT32_MAX;
        for (uint32_t c = 0; c < VR_NCOLUMNS; c++)
            if (vr_columns[c].table == (uint32_t)t) {
                n++;
                if (first == UINT32_MAX)
                    first = c;
            }
        ck_assert_uint_eq(td[t].ncolumns, n);
        ck_assert_uint_eq(td[t].first_column, first);
    }
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++) {
        const vr_column_def *d = &vr_columns[c];
        ck_assert_str_eq(cd[c].name, d->name);
        ck_assert_str_eq(cd[c].dtype, d->dtype);
        ck_assert_uint_eq(cd[c].table, d->table);
        ck_assert_uint_eq(cd[c].elem_size, d->elem_size);
        ck_assert_uint_eq(cd[c].lanes, d->lanes);
        ck_assert_uint_eq(cd[c].capacity, spec.capacity[d->table]);
        ck_assert_msg(cd[c].offset % 64 == 0, "column %s at %llu", d->name,
                      (unsigned long long)cd[c].offset);
        ck_assert_uint_ge(cd[c].offset, bufhdr);
        ck_assert_uint_ge(cd[c].bytes, (uint64_t)cd[c].capacity * d->lanes * d->elem_size);
        ck_assert_uint_le(cd[c].offset + cd[c].bytes, h->buffer_size);
        for (uint32_t e = 0; e < c; e++) {
            bool disjoint = cd[e].offset + cd[e].bytes <= cd[c].offset ||
                            cd[c].offset + cd[c].bytes <= cd[e].offset;
            ck_assert_msg(disjoint, "columns %s and %s overlap", cd[e].name, cd[c].name);
        }
    }
    /* the column directory is what a reader uses: the view finds columns
     * where the directory says (fleets.speed, for one) */
    vr_cols cols;
    ck_assert_int_eq(vr_arena_begin(w, &cols), 0);
    uint64_t id;
    ck_assert_int_eq(vr_ent_alloc(&cols, VR_TAB_fleets, &id), 0);
    cols.fleets_speed[0] = 12.5f;
    ck_assert_int_eq(vr_arena_publish(w, 1, vr_arena_hash(w)), 0);
    vr_view v;
    ck_assert_int_eq(vr_arena_read_begin(a, &v), 0);
    const float *speed = (const float *)(base + h->buffer_offset[v.buffer] +
                                         cd[VR_COL_fleets_speed].offset);
    ck_assert_float_eq(speed[0], 12.5f);
    ck_assert_ptr_eq(vr_view_column(a, &v, VR_COL_fleets_speed, NULL), (const void *)speed);
    ck_assert_int_eq(vr_arena_read_end(a, &v), 0);
    vr_arena_detach(&w);
    drop(&a, seg);
}
END_TEST

START_TEST(test_create_twice)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "twice", &spec);
    vr_arena *b = NULL;
    ck_assert_int_eq(vr_arena_create(&b, seg, &spec, 0600), -EEXIST);
    ck_assert_ptr_null(b);
    /* the first one is untouched */
    ck_assert_uint_eq(vr_arena_header(a)->seg.magic, VR_MAGIC_ARENA);
    vr_arena *r = attach_ok(seg, false);
    vr_arena_detach(&r);
    drop(&a, seg);
}
END_TEST

/* The mode asked for is the mode the segment gets, whatever the umask. */
START_TEST(test_create_mode)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    umask(077);
    vt_segname(seg, sizeof seg, "mode");
    vr_arena *a = NULL;
    ck_assert_int_eq(vr_arena_create(&a, seg, &spec, 0640), 0);
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", seg);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0640);
    ck_assert_uint_eq((uint64_t)st.st_size, vr_arena_size(&spec));
    drop(&a, seg);
}
END_TEST

START_TEST(test_zero_capacity_table)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    spec.capacity[VR_TAB_lanes] = 0;
    vr_arena *a = make(seg, sizeof seg, "zerocap", &spec);
    vr_arena *r = attach_ok(seg, false);
    vr_arena_detach(&r);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    uint64_t id;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_lanes, &id), -VR_EFULL);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    drop(&a, seg);
}
END_TEST

/* ---- attach validation ----------------------------------------------------------- */

START_TEST(test_attach_missing)
{
    char seg[64];
    vt_segname(seg, sizeof seg, "missing");
    expect_attach_fails(seg, false, 0, -ENOENT, "missing segment");
    expect_attach_fails(seg, true, 0, -ENOENT, "missing segment, writable");
    ck_assert(!vt_exists(seg)); /* attach never creates */
}
END_TEST

/* One way of damaging a freshly created arena, and the code attach returns. */
typedef struct corruption {
    const char *what;
    int rc;
    void (*apply)(vr_arena *a);
} corruption;

static void c_magic0(vr_arena *a) { hdr_rw(a)->seg.magic = 0; }
static void c_magic_cluster(vr_arena *a) { hdr_rw(a)->seg.magic = VR_MAGIC_CLUSTER; }
static void c_layout_newer(vr_arena *a) { hdr_rw(a)->seg.layout_version = VR_LAYOUT_VERSION + 1; }
static void c_layout_zero(vr_arena *a) { hdr_rw(a)->seg.layout_version = 0; }
static void c_schema(vr_arena *a) { hdr_rw(a)->seg.schema_hash ^= 1; }
static void c_total_bigger(vr_arena *a) { hdr_rw(a)->seg.total_size += 4096; }
static void c_hdrsize_tiny(vr_arena *a) { hdr_rw(a)->seg.header_size = 8; }
static void c_hdrsize_huge(vr_arena *a) { hdr_rw(a)->seg.header_size = (uint32_t)hdr_rw(a)->seg.total_size + 1; }
static void c_hdrsize_short(vr_arena *a) { hdr_rw(a)->seg.header_size = 100; }
static void c_ntables(vr_arena *a) { hdr_rw(a)->ntables = VR_NTABLES + 1; }
static void c_ncolumns(vr_arena *a) { hdr_rw(a)->ncolumns = VR_NCOLUMNS - 1; }
static void c_nbuffers(vr_arena *a) { hdr_rw(a)->nbuffers = 3; }
static void c_tabdir_out(vr_arena *a) { hdr_rw(a)->tabdir_offset = hdr_rw(a)->seg.header_size; }
static void c_coldir_out(vr_arena *a) { hdr_rw(a)->coldir_offset = hdr_rw(a)->seg.header_size - 64; }
/* offsets so large that offset + directory size wraps around to a small number */
static void c_tabdir_wrap(vr_arena *a) { hdr_rw(a)->tabdir_offset = UINT64_MAX - 63; }
static void c_coldir_wrap(vr_arena *a) { hdr_rw(a)->coldir_offset = UINT64_MAX - 1023; }
static void c_buf1_out(vr_arena *a) { hdr_rw(a)->buffer_offset[1] = hdr_rw(a)->seg.total_size; }
static void c_buf0_misaligned(vr_arena *a) { hdr_rw(a)->buffer_offset[0] += 1; }
static void c_buf0_in_header(vr_arena *a) { hdr_rw(a)->buffer_offset[0] = 64; }
static void c_bufsize_huge(vr_arena *a) { hdr_rw(a)->buffer_size = hdr_rw(a)->seg.total_size; }
static void c_bufsize_wrap(vr_arena *a) { hdr_rw(a)->buffer_size = UINT64_MAX - 4095; }
static void c_col_offset_out(vr_arena *a)
{
    coldir_rw(a)[VR_COL_fleets_speed].offset = hdr_rw(a)->buffer_size + 64;
}
static void c_col_offset_end(vr_arena *a)
{
    /* starts inside the buffer, ends outside */
    coldir_rw(a)[VR_COL_fleets_speed].offset = hdr_rw(a)->buffer_size - 64;
    coldir_rw(a)[VR_COL_fleets_speed].bytes = 128;
}
static void c_col_offset_misaligned(vr_arena *a) { coldir_rw(a)[VR_COL_fleets_ships].offset += 4; }
static void c_col_offset_zero(vr_arena *a) { coldir_rw(a)[VR_COL_systems_x].offset = 0; }
static void c_col_bytes_small(vr_arena *a) { coldir_rw(a)[VR_COL_fleets_ships].bytes = 4; }
static void c_col_bytes_wrap(vr_arena *a) { coldir_rw(a)[VR_COL_fleets_ships].bytes = UINT64_MAX; }
static void c_col_name(vr_arena *a) { memcpy(coldir_rw(a)[VR_COL_fleets_ships].name, "shipz", 6); }
static void c_col_lanes(vr_arena *a) { coldir_rw(a)[VR_COL_lanes_to].lanes = 2; }
static void c_col_elem(vr_arena *a) { coldir_rw(a)[VR_COL_lanes_to].elem_size = 8; }
static void c_col_table(vr_arena *a) { coldir_rw(a)[VR_COL_lanes_to].table = VR_TAB_fleets; }
static void c_col_capacity(vr_arena *a) { coldir_rw(a)[VR_COL_GEN(VR_TAB_fleets)].capacity = 1u << 30; }
static void c_tab_capacity(vr_arena *a) { tabdir_rw(a)[VR_TAB_fleets].capacity = 1u << 30; }
static void c_published(vr_arena *a) { atomic_store(&hdr_rw(a)->published, 2); }

static const corruption corruptions[] = {
    {"magic 0", -VR_EBADMAGIC, c_magic0},
    {"cluster magic", -VR_EBADMAGIC, c_magic_cluster},
    {"newer layout version", -VR_EBADVERSION, c_layout_newer},
    {"layout version 0", -VR_EBADVERSION, c_layout_zero},
    {"schema hash", -VR_EBADSCHEMA, c_schema},
    {"total size beyond the segment", -VR_ETRUNCATED, c_total_bigger},
    {"header size 8", -VR_EBADHEADER, c_hdrsize_tiny},
    {"header size beyond total", -VR_EBADHEADER, c_hdrsize_huge},
    {"header size below the arena header", -VR_EBADHEADER, c_hdrsize_short},
    {"table count", -VR_EBADHEADER, c_ntables},
    {"column count", -VR_EBADHEADER, c_ncolumns},
    {"buffer count", -VR_EBADHEADER, c_nbuffers},
    {"table directory outside the header", -VR_EBADHEADER, c_tabdir_out},
    {"column directory outside the header", -VR_EBADHEADER, c_coldir_out},
    {"table directory offset wraps", -VR_EBADHEADER, c_tabdir_wrap},
    {"column directory offset wraps", -VR_EBADHEADER, c_coldir_wrap},
    {"buffer 1 outside the segment", -VR_EBADHEADER, c_buf1_out},
    {"buffer 0 misaligned", -VR_EBADHEADER, c_buf0_misaligned},
    {"buffer 0 inside the header", -VR_EBADHEADER, c_buf0_in_header},
    {"buffer size the whole segment", -VR_EBADHEADER, c_bufsize_huge},
    {"buffer size wraps", -VR_EBADHEADER, c_bufsize_wrap},
    {"column offset beyond the buffer", -VR_EBADHEADER, c_col_offset_out},
    {"column ends beyond the buffer", -VR_EBADHEADER, c_col_offset_end},
    {"column offset misaligned", -VR_EBADHEADER, c_col_offset_misaligned},
    {"column over the buffer header", -VR_EBADHEADER, c_col_offset_zero},
    {"column bytes too few", -VR_EBADHEADER, c_col_bytes_small},
    {"column bytes wrap", -VR_EBADHEADER, c_col_bytes_wrap},
    {"column name", -VR_EBADHEADER, c_col_name},
    {"column lanes", -VR_EBADHEADER, c_col_lanes},
    {"column element size", -VR_EBADHEADER, c_col_elem},
    {"column table", -VR_EBADHEADER, c_col_table},
    {"column capacity", -VR_EBADHEADER, c_col_capacity},
    {"table capacity", -VR_EBADHEADER, c_tab_capacity},
    {"published index 2", -VR_EBADHEADER, c_published},
};
#define NCORRUPTIONS (int)(sizeof corruptions / sizeof corruptions[0])

START_TEST(test_attach_corrupt)
{
    const corruption *k = &corruptions[_i];
    char seg[64], tag[16];
    snprintf(tag, sizeof tag, "bad%d", _i);
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, tag, &spec);
    /* undamaged, it attaches */
    vr_arena *ok = attach_ok(seg, false);
    vr_arena_detach(&ok);
    k->apply(a);
    expect_attach_fails(seg, false, CLUSTER_ID, k->rc, k->what);
    expect_attach_fails(seg, true, 0, k->rc, k->what);
    drop(&a, seg);
}
END_TEST

/* The layout version written by another process through the file itself; the
 * reason names both versions. */
START_TEST(test_attach_wrong_layout_version_pwrite)
{
    char seg[64], path[128];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "pwrite", &spec);
    vr_arena_detach(&a);
    snprintf(path, sizeof path, "/dev/shm%s", seg);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint32_t v = 7;
    ck_assert_int_eq(pwrite(fd, &v, sizeof v, offsetof(vr_seghdr, layout_version)), (ssize_t)sizeof v);
    close(fd);
    vr_arena *b = NULL;
    char why[256] = "";
    ck_assert_int_eq(vr_arena_attach(&b, seg, false, 0, why, sizeof why), -VR_EBADVERSION);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(why, "7") != NULL, "why \"%s\" does not name version 7", why);
    char mine[16];
    snprintf(mine, sizeof mine, "version %u", VR_LAYOUT_VERSION);
    ck_assert_msg(strstr(why, mine) != NULL, "why \"%s\" does not name %s", why, mine);
    /* attach without a `why` buffer fails the same way */
    ck_assert_int_eq(vr_arena_attach(&b, seg, false, 0, NULL, 0), -VR_EBADVERSION);
    ck_assert_int_eq(shm_unlink(seg), 0);
}
END_TEST

START_TEST(test_attach_truncated)
{
    static const off_t sizes[] = {-4096, -1, 32, 0};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char seg[64], tag[16];
        snprintf(tag, sizeof tag, "trunc%zu", i);
        vr_arena_spec spec = small_spec();
        vr_arena *a = make(seg, sizeof seg, tag, &spec);
        off_t total = (off_t)vr_arena_bytes(a);
        vr_arena_detach(&a); /* no mapping may outlive the truncation */
        int fd = shm_open(seg, O_RDWR, 0);
        ck_assert_int_ge(fd, 0);
        off_t to = sizes[i] < 0 ? total + sizes[i] : sizes[i];
        ck_assert_int_eq(ftruncate(fd, to), 0);
        close(fd);
        char what[64];
        snprintf(what, sizeof what, "truncated to %lld bytes", (long long)to);
        expect_attach_fails(seg, false, 0, -VR_ETRUNCATED, what);
        ck_assert_int_eq(shm_unlink(seg), 0);
    }
}
END_TEST

START_TEST(test_attach_wrong_cluster)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "cluster", &spec);
    char why[256] = "";
    vr_arena *b = NULL;
    ck_assert_int_eq(vr_arena_attach(&b, seg, false, CLUSTER_ID + 1, why, sizeof why), -VR_EBADHEADER);
    ck_assert_ptr_null(b);
    ck_assert_uint_gt(strlen(why), 0);
    ck_assert_msg(strstr(why, "cluster") != NULL, "why: %s", why);
    /* the right id, or none, attaches */
    ck_assert_int_eq(vr_arena_attach(&b, seg, false, CLUSTER_ID, NULL, 0), 0);
    vr_arena_detach(&b);
    ck_assert_int_eq(vr_arena_attach(&b, seg, false, 0, NULL, 0), 0);
    vr_arena_detach(&b);
    drop(&a, seg);
}
END_TEST

/* A cluster segment is not an arena. */
START_TEST(test_attach_cluster_segment)
{
    char name[40], seg[64];
    vt_name(name, sizeof name, "notarena");
    vr_cluster *c = NULL;
    ck_assert_int_eq(vr_cluster_create(&c, name, 2, CLUSTER_ID, 0600), 0);
    vr_segname(seg, sizeof seg, name, -1);
    expect_attach_fails(seg, false, 0, -VR_EBADMAGIC, "cluster segment");
    vr_cluster_detach(&c);
    ck_assert_int_eq(shm_unlink(seg), 0);
}
END_TEST

/* ---- read-only means read-only ------------------------------------------------------ */

START_TEST(test_readonly_cannot_begin)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *w = make(seg, sizeof seg, "robegin", &spec);
    vr_arena *r = attach_ok(seg, false);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(r, &c), -EROFS);
    ck_assert_int_eq(vr_arena_publish(r, 1, 0), -EROFS);
    ck_assert_int_eq(vr_arena_prefault(r), -EROFS);
    ck_assert_int_eq(vr_arena_read_begin(r, &(vr_view){0}), -VR_ENOTYET); /* nothing published */
    ck_assert_int_eq(vr_arena_prefault(w), 0);
    vr_arena_detach(&r);
    drop(&w, seg);
}
END_TEST

/* Writes one byte at `off` in a read-only mapping, in a child; returns the
 * child's wait status. */
static int write_in_child(const char *seg, uint64_t off)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the default action, even under a sanitizer that catches SIGSEGV */
        signal(SIGSEGV, SIG_DFL);
        vr_arena *r = NULL;
        if (vr_arena_attach(&r, seg, false, 0, NULL, 0) != 0)
            _exit(2);
        volatile uint8_t *p = (volatile uint8_t *)vr_arena_base(r) + off;
        *p = 0xAB; /* must raise SIGSEGV */
        _exit(0);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

START_TEST(test_readonly_write_faults)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *w = make(seg, sizeof seg, "rofault", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(w, &c), 0);
    ck_assert_int_eq(vr_arena_publish(w, 1, 0), 0);
    const vr_arena_hdr *h = vr_arena_header(w);
    uint64_t offs[] = {
        h->buffer_offset[0] + 256,                                   /* column data */
        h->buffer_offset[1],                                         /* a buffer's seq */
        offsetof(vr_arena_hdr, published),                           /* the published index */
    };
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        int st = write_in_child(seg, offs[i]);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
                      "write at offset %llu of a read-only mapping: status %#x",
                      (unsigned long long)offs[i], st);
        /* and nothing changed */
        ck_assert_uint_ne(((const uint8_t *)vr_arena_base(w))[offs[i]], 0xAB);
    }
    drop(&w, seg);
}
END_TEST

/* ---- entity ids ---------------------------------------------------------------- */

START_TEST(test_alloc_until_full)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "full", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_uint_eq(c.capacity[VR_TAB_fleets], 4);
    for (uint32_t i = 0; i < 4; i++) {
        uint64_t id = 0;
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
        ck_assert_uint_eq((uint32_t)id, i);
        ck_assert_uint_eq(id >> 32, 1); /* first generation, odd */
        ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, id), (int64_t)i);
        ck_assert_uint_eq(vr_ent_id(&c, VR_TAB_fleets, i), id);
        ck_assert_uint_eq(c.tables[VR_TAB_fleets].count, i + 1);
        ck_assert_uint_eq(c.tables[VR_TAB_fleets].live, i + 1);
        ck_assert_uint_eq(c.tables[VR_TAB_fleets].free_count, 0);
    }
    uint64_t id = 0x5555;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), -VR_EFULL);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), -VR_EFULL);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].count, 4);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].live, 4);
    /* other tables are separate */
    ck_assert_uint_eq(c.tables[VR_TAB_systems].count, 0);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_systems, &id), 0);
    ck_assert_uint_eq((uint32_t)id, 0);
    drop(&a, seg);
}
END_TEST

START_TEST(test_free_and_reuse)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "reuse", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    uint64_t ids[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &ids[i]), 0);
        c.fleets_ships[i] = 100 + (uint32_t)i;
        c.fleets_speed[i] = 1.5f;
        c.fleets_faction[i] = 7;
        c.fleets_dest[i] = 9;
    }
    vr_tabstate *ts = &c.tables[VR_TAB_fleets];

    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[2]), 0);
    ck_assert_uint_eq(ts->live, 3);
    ck_assert_uint_eq(ts->count, 4); /* rows stay in use, as free rows */
    ck_assert_uint_eq(ts->free_count, 1);
    ck_assert_uint_eq(c.freerows[VR_TAB_fleets][0], 2);
    ck_assert_uint_eq(c.gen[VR_TAB_fleets][2] & 1, 0); /* even: dead */
    /* the stale id is refused everywhere, and a double free changes nothing */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[2]), -VR_EBADID);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[2]), -VR_EBADID);
    ck_assert_uint_eq(ts->live, 3);
    ck_assert_uint_eq(ts->free_count, 1);
    /* the other ids are unaffected */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[1]), 1);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[3]), 3);

    /* the freed row comes back with a new odd generation, zeroed */
    uint64_t nid;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &nid), 0);
    ck_assert_uint_eq((uint32_t)nid, 2);
    ck_assert_uint_ne(nid, ids[2]);
    ck_assert_uint_eq((nid >> 32) & 1, 1);
    ck_assert_uint_gt(nid >> 32, ids[2] >> 32);
    ck_assert_uint_eq(ts->live, 4);
    ck_assert_uint_eq(ts->count, 4);
    ck_assert_uint_eq(ts->free_count, 0);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, nid), 2);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[2]), -VR_EBADID);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[2]), -VR_EBADID);
    ck_assert_uint_eq(c.fleets_ships[2], 0);
    ck_assert_float_eq(c.fleets_speed[2], 0.0f);
    ck_assert_uint_eq(c.fleets_faction[2], 0);
    ck_assert_uint_eq(c.fleets_dest[2], 0);
    ck_assert_uint_eq(c.fleets_ships[3], 103); /* neighbours untouched */
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &nid), -VR_EFULL);

    /* two freed rows are both reused before the table is full again */
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[1]), 0);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[3]), 0);
    ck_assert_uint_eq(ts->free_count, 2);
    ck_assert_uint_eq(ts->live, 2);
    uint64_t x, y;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &x), 0);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &y), 0);
    ck_assert_uint_eq((1u << (uint32_t)x) | (1u << (uint32_t)y), (1u << 1) | (1u << 3));
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &nid), -VR_EFULL);
    ck_assert_uint_eq(ts->live, 4);
    drop(&a, seg);
}
END_TEST

/* A row's content never depends on what the buffer held before. */
START_TEST(test_new_rows_zeroed)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "zeroed", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (int col = 0; col < VR_NCOLUMNS_DECLARED; col++)
        if (vr_columns[col].table == VR_TAB_fleets)
            memset(c.col[col], 0xFF,
                   (size_t)c.capacity[VR_TAB_fleets] * vr_columns[col].elem_size * vr_columns[col].lanes);
    uint64_t ids[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &ids[i]), 0);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[1]), 0);
    memset(c.col[VR_COL_fleets_ships] + 4, 0xEE, 4);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &ids[1]), 0);
    for (int col = 0; col < VR_NCOLUMNS_DECLARED; col++) {
        if (vr_columns[col].table != VR_TAB_fleets)
            continue;
        size_t sz = (size_t)vr_columns[col].elem_size * vr_columns[col].lanes;
        for (size_t b = 0; b < 4 * sz; b++)
            ck_assert_msg(c.col[col][b] == 0, "fleets.%s byte %zu is %#x", vr_columns[col].name, b,
                          c.col[col][b]);
    }
    drop(&a, seg);
}
END_TEST

START_TEST(test_bad_ids)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "badid", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    uint64_t id;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, id), 0);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, (1ull << 32) | 1), -VR_EBADID);  /* row not in use */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, (1ull << 32) | 99), -VR_EBADID); /* beyond capacity */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, 0), -VR_EBADID);                 /* generation 0 */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, 2ull << 32), -VR_EBADID);        /* even */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, 3ull << 32), -VR_EBADID);        /* other odd */
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_systems, id), -VR_EBADID);               /* other table */
    ck_assert_int_eq(vr_ent_row(&c, VR_NTABLES, id), -VR_EBADID);
    ck_assert_int_eq(vr_ent_row(&c, UINT32_MAX, id), -VR_EBADID);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, 3ull << 32), -VR_EBADID);
    ck_assert_int_eq(vr_ent_free(&c, VR_NTABLES, id), -VR_EBADID);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].live, 1);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].free_count, 0);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, id), 0);
    drop(&a, seg);
}
END_TEST

/* Ids stay valid across publish: the next turn starts from the same rows. */
START_TEST(test_ids_survive_publish)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "idpub", &spec);
    vr_cols c;
    uint64_t ids[3];
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &ids[i]), 0);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, ids[0]), 0);
    ck_assert_int_eq(vr_arena_publish(a, 1, 0), 0);
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[0]), -VR_EBADID);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[1]), 1);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, ids[2]), 2);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].free_count, 1);
    ck_assert_uint_eq(c.freerows[VR_TAB_fleets][0], 0);
    uint64_t nid;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &nid), 0);
    ck_assert_uint_eq((uint32_t)nid, 0);
    ck_assert_uint_ne(nid, ids[0]);
    drop(&a, seg);
}
END_TEST

/* ---- publish and consistent reads -------------------------------------------------- */

START_TEST(test_nothing_published_yet)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "notyet", &spec);
    vr_arena *r = attach_ok(seg, false);
    vr_view v;
    uint64_t turn = 5, hash = 5;
    ck_assert_int_eq(vr_arena_read_begin(a, &v), -VR_ENOTYET);
    ck_assert_int_eq(vr_arena_read_begin(r, &v), -VR_ENOTYET);
    ck_assert_int_eq(vr_arena_published(r, &turn, &hash), -VR_ENOTYET);
    /* publishing without begin publishes nothing */
    ck_assert_int_lt(vr_arena_publish(a, 1, 1), 0);
    ck_assert_int_eq(vr_arena_read_begin(r, &v), -VR_ENOTYET);
    /* a turn being written is not visible until published */
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_int_eq(vr_arena_read_begin(r, &v), -VR_ENOTYET);
    ck_assert_int_eq(vr_arena_publish(a, 0, 77), 0);
    ck_assert_int_eq(vr_arena_published(r, &turn, &hash), 0);
    ck_assert_uint_eq(turn, 0);
    ck_assert_uint_eq(hash, 77);
    vr_arena_detach(&r);
    drop(&a, seg);
}
END_TEST

START_TEST(test_publish_then_read)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "pubread", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (uint32_t i = 0; i < 3; i++) {
        uint64_t id;
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
        c.fleets_ships[i] = 10 + i;
        c.fleets_speed[i] = 0.5f * (float)i;
    }
    uint64_t h = vr_arena_hash(a);
    ck_assert_uint_ne(h, 0);
    ck_assert_int_eq(vr_arena_publish(a, 1, h), 0);

    vr_arena *r = attach_ok(seg, false);
    vr_view v;
    ck_assert_int_eq(vr_arena_read_begin(r, &v), 0);
    ck_assert_uint_eq(v.turn, 1);
    ck_assert_uint_eq(v.hash, h);
    ck_assert_uint_eq(v.seq % 2, 0);
    ck_assert_uint_eq(v.tables[VR_TAB_fleets].count, 3);
    ck_assert_uint_eq(v.tables[VR_TAB_fleets].live, 3);
    uint32_t rows = 99;
    const uint32_t *ships = vr_view_column(r, &v, VR_COL_fleets_ships, &rows);
    ck_assert_ptr_nonnull(ships);
    ck_assert_uint_eq(rows, 3);
    const float *speed = vr_view_column(r, &v, VR_COL_fleets_speed, &rows);
    const uint32_t *gen = vr_view_column(r, &v, VR_COL_GEN(VR_TAB_fleets), &rows);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(ships[i], 10 + i);
        ck_assert_float_eq(speed[i], 0.5f * (float)i);
        ck_assert_uint_eq(gen[i], 1);
    }
    vr_view_column(r, &v, VR_COL_systems_x, &rows);
    ck_assert_uint_eq(rows, 0);
    ck_assert_ptr_null(vr_view_column(r, &v, VR_NCOLUMNS, &rows));
    ck_assert_int_eq(vr_arena_read_end(r, &v), 0);

    uint64_t turn = 0, hash = 0;
    ck_assert_int_eq(vr_arena_published(r, &turn, &hash), 0);
    ck_assert_uint_eq(turn, 1);
    ck_assert_uint_eq(hash, h);
    ck_assert_int_eq(vr_arena_published(a, NULL, NULL), 0);
    /* the hash of the published buffer, computed by a reader, is the same */
    ck_assert_uint_eq(vr_arena_hash(r), h);
    vr_arena_detach(&r);
    drop(&a, seg);
}
END_TEST

/* begin starts from the last published turn, even though the buffer it writes
 * holds an older turn. */
START_TEST(test_begin_copies_published)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "copies", &spec);
    vr_cols c;
    uint64_t id;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
        c.fleets_ships[i] = 1;
    }
    ck_assert_int_eq(vr_arena_publish(a, 1, 11), 0);

    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].count, 3);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(c.fleets_ships[i], 1);
        c.fleets_ships[i] = 2;
    }
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    c.fleets_ships[3] = 2;
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, vr_ent_id(&c, VR_TAB_fleets, 0)), 0);
    /* the work buffer is not the published one */
    vr_view v;
    ck_assert_int_eq(vr_arena_read_begin(a, &v), 0);
    ck_assert_ptr_ne(vr_view_column(a, &v, VR_COL_fleets_ships, NULL), (const void *)c.fleets_ships);
    ck_assert_int_eq(vr_arena_read_end(a, &v), 0);
    ck_assert_int_eq(vr_arena_publish(a, 2, 22), 0);

    /* turn 3 is written into the buffer of turn 1: it must start from turn 2 */
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].count, 4);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].live, 3);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].free_count, 1);
    for (uint32_t i = 0; i < 4; i++)
        ck_assert_uint_eq(c.fleets_ships[i], 2);
    ck_assert_int_eq(vr_ent_row(&c, VR_TAB_fleets, vr_ent_id(&c, VR_TAB_fleets, 3)), 3);
    ck_assert_uint_eq(c.gen[VR_TAB_fleets][0], 2);
    drop(&a, seg);
}
END_TEST

/* A reader holding turn N is undisturbed while the writer computes N+1, and is
 * told (never silently shown mixed data) once its buffer is reused. */
START_TEST(test_reader_undisturbed_then_torn)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "torn", &spec);
    vr_arena *r = attach_ok(seg, false);
    vr_cols c;
    uint64_t id;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    c.fleets_ships[0] = 1;
    ck_assert_int_eq(vr_arena_publish(a, 1, 100), 0);

    vr_view v1;
    ck_assert_int_eq(vr_arena_read_begin(r, &v1), 0);
    ck_assert_uint_eq(v1.turn, 1);
    const uint32_t *ships1 = vr_view_column(r, &v1, VR_COL_fleets_ships, NULL);

    /* turn 2 is computed and published: turn 1's buffer is untouched */
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    c.fleets_ships[0] = 2;
    ck_assert_int_eq(vr_arena_read_end(r, &v1), 0);
    ck_assert_int_eq(vr_arena_publish(a, 2, 200), 0);
    ck_assert_uint_eq(ships1[0], 1);
    ck_assert_int_eq(vr_arena_read_end(r, &v1), 0);

    /* turn 3 reuses turn 1's buffer: the old view is torn from begin on */
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_int_eq(vr_arena_read_end(r, &v1), -VR_ETORN);
    vr_view v2;
    ck_assert_int_eq(vr_arena_read_begin(r, &v2), 0); /* still turn 2 */
    ck_assert_uint_eq(v2.turn, 2);
    ck_assert_uint_eq(v2.hash, 200);
    ck_assert_uint_eq(((const uint32_t *)vr_view_column(r, &v2, VR_COL_fleets_ships, NULL))[0], 2);
    c.fleets_ships[0] = 3;
    ck_assert_int_eq(vr_arena_read_end(r, &v2), 0);
    ck_assert_int_eq(vr_arena_publish(a, 3, 300), 0);
    ck_assert_int_eq(vr_arena_read_end(r, &v1), -VR_ETORN);
    ck_assert_int_eq(vr_arena_read_end(r, &v2), 0);
    vr_view v3;
    ck_assert_int_eq(vr_arena_read_begin(r, &v3), 0);
    ck_assert_uint_eq(v3.turn, 3);
    ck_assert_uint_eq(v3.hash, 300);
    ck_assert_int_eq(vr_arena_read_end(r, &v3), 0);
    /* and the writer was never blocked by a reader holding a view */
    for (uint64_t t = 4; t < 10; t++) {
        ck_assert_int_eq(vr_arena_begin(a, &c), 0);
        ck_assert_int_eq(vr_arena_publish(a, t, t), 0);
    }
    ck_assert_int_eq(vr_arena_read_end(r, &v3), -VR_ETORN);
    ck_assert_int_eq(vr_arena_published(r, &id, NULL), 0);
    ck_assert_uint_eq(id, 9);
    vr_arena_detach(&r);
    drop(&a, seg);
}
END_TEST

/* A writer that dies mid-turn (begin, no publish) leaves the committed turn;
 * the next begin starts again from it. */
START_TEST(test_abandoned_turn)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(seg, sizeof seg, "abandon", &spec);
    vr_cols c;
    uint64_t id;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    c.fleets_ships[0] = 1;
    uint64_t h1 = vr_arena_hash(a);
    ck_assert_int_eq(vr_arena_publish(a, 1, h1), 0);

    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    c.fleets_ships[0] = 99;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_fleets, &id), 0);
    vr_arena_detach(&a); /* killed */

    vr_arena *w = attach_ok(seg, true);
    vr_view v;
    ck_assert_int_eq(vr_arena_read_begin(w, &v), 0);
    ck_assert_uint_eq(v.turn, 1);
    ck_assert_uint_eq(((const uint32_t *)vr_view_column(w, &v, VR_COL_fleets_ships, NULL))[0], 1);
    ck_assert_int_eq(vr_arena_read_end(w, &v), 0);
    ck_assert_int_eq(vr_arena_begin(w, &c), 0);
    ck_assert_uint_eq(c.fleets_ships[0], 1);
    ck_assert_uint_eq(c.tables[VR_TAB_fleets].count, 1);
    ck_assert_uint_eq(vr_arena_hash(w), h1);
    c.fleets_ships[0] = 2;
    ck_assert_int_eq(vr_arena_publish(w, 2, vr_arena_hash(w)), 0);
    ck_assert_int_eq(vr_arena_read_begin(w, &v), 0);
    ck_assert_uint_eq(v.turn, 2);
    ck_assert_uint_eq(((const uint32_t *)vr_view_column(w, &v, VR_COL_fleets_ships, NULL))[0], 2);
    ck_assert_int_eq(vr_arena_read_end(w, &v), 0);
    drop(&w, seg);
}
END_TEST

/* ---- state hash ---------------------------------------------------------------- */

static void fill_turn(vr_cols *c, int nfleets, uint32_t ships)
{
    for (int i = 0; i < nfleets; i++) {
        uint64_t id;
        ck_assert_int_eq(vr_ent_alloc(c, VR_TAB_fleets, &id), 0);
        c->fleets_ships[i] = ships + (uint32_t)i;
        c->fleets_speed[i] = 1.25f * (float)i;
    }
    uint64_t id;
    ck_assert_int_eq(vr_ent_alloc(c, VR_TAB_systems, &id), 0);
    c->systems_x[0] = 3.0f;
}

START_TEST(test_hash_equal_content)
{
    char sa[64], sb[64];
    vr_arena_spec spec = small_spec();
    vr_arena *a = make(sa, sizeof sa, "hasha", &spec);
    vr_arena_spec spec_b = spec;
    spec_b.universe = 9; /* header fields are not content */
    spec_b.seed = 1234;
    vr_arena *b = make(sb, sizeof sb, "hashb", &spec_b);
    vr_cols ca, cb;
    ck_assert_int_eq(vr_arena_begin(a, &ca), 0);
    ck_assert_int_eq(vr_arena_begin(b, &cb), 0);
    fill_turn(&ca, 3, 50);
    fill_turn(&cb, 3, 50);
    uint64_t ha = vr_arena_hash(a), hb = vr_arena_hash(b);
    ck_assert_uint_ne(ha, 0);
    ck_assert_uint_eq(ha, hb);

    /* any change in a used row changes it; changing back restores it */
    cb.fleets_ships[1] ^= 1;
    ck_assert_uint_ne(vr_arena_hash(b), ha);
    cb.fleets_ships[1] ^= 1;
    ck_assert_uint_eq(vr_arena_hash(b), ha);
    cb.fleets_speed[2] = -cb.fleets_speed[2];
    ck_assert_uint_ne(vr_arena_hash(b), ha);
    cb.fleets_speed[2] = -cb.fleets_speed[2];
    cb.systems_x[0] = 3.5f;
    ck_assert_uint_ne(vr_arena_hash(b), ha);
    cb.systems_x[0] = 3.0f;
    ck_assert_uint_eq(vr_arena_hash(b), ha);
    /* row counts are part of the state: a zeroed extra row changes it */
    uint64_t id;
    ck_assert_int_eq(vr_ent_alloc(&cb, VR_TAB_fleets, &id), 0);
    ck_assert_uint_ne(vr_arena_hash(b), ha);
    ck_assert_int_eq(vr_ent_free(&cb, VR_TAB_fleets, id), 0);
    ck_assert_uint_ne(vr_arena_hash(b), ha); /* a freed row differs from none */

    /* the hash is of the content, not of which buffer holds it: a publishes
     * twice (the content ends in buffer 1), b's hash is taken in buffer 0 */
    vr_arena_detach(&b);
    ck_assert_int_eq(shm_unlink(sb), 0);
    b = make(sb, sizeof sb, "hashb2", &spec);
    ck_assert_int_eq(vr_arena_begin(b, &cb), 0);
    fill_turn(&cb, 3, 50);
    ck_assert_int_eq(vr_arena_publish(a, 1, ha), 0);
    ck_assert_int_eq(vr_arena_begin(a, &ca), 0);
    ck_assert_uint_eq(vr_arena_hash(a), ha);
    ck_assert_int_eq(vr_arena_publish(a, 2, ha), 0);
    ck_assert_uint_eq(vr_arena_hash(a), vr_arena_hash(b)); /* published vs work buffer */
    vr_arena_detach(&b);
    ck_assert_int_eq(shm_unlink(sb), 0);
    drop(&a, sa);
}
END_TEST

/* Only used rows count: garbage beyond count (and beyond the free stack's top)
 * does not change the hash. */
START_TEST(test_hash_ignores_unused_rows)
{
    char seg[64];
    vr_arena_spec spec = small_spec();
    spec.capacity[VR_TAB_fleets] = 16;
    vr_arena *a = make(seg, sizeof seg, "unused", &spec);
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    fill_turn(&c, 5, 7);
    ck_assert_int_eq(vr_ent_free(&c, VR_TAB_fleets, vr_ent_id(&c, VR_TAB_fleets, 4)), 0);
    uint64_t h = vr_arena_hash(a);
    for (uint32_t i = 5; i < 16; i++) {
        c.fleets_ships[i] = 0xDEAD0000u + i;
        c.fleets_speed[i] = 99.0f;
        c.gen[VR_TAB_fleets][i] = 12345;
    }
    for (uint32_t i = 1; i < 16; i++)
        c.freerows[VR_TAB_fleets][i] = 0xBEEF;
    for (uint32_t i = 1; i < 10; i++)
        c.systems_x[i] = -1.0f;
    ck_assert_uint_eq(vr_arena_hash(a), h);
    /* while the used part is covered, _gen and _free included */
    c.gen[VR_TAB_fleets][4] += 2;
    ck_assert_uint_ne(vr_arena_hash(a), h);
    c.gen[VR_TAB_fleets][4] -= 2;
    c.freerows[VR_TAB_fleets][0] = 3;
    ck_assert_uint_ne(vr_arena_hash(a), h);
    c.freerows[VR_TAB_fleets][0] = 4;
    ck_assert_uint_eq(vr_arena_hash(a), h);
    drop(&a, seg);
}
END_TEST

static Suite *arena_suite(void)
{
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("layout");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_create_attach_detach);
    tcase_add_test(tc, test_size_grows_with_capacity);
    tcase_add_test(tc, test_column_directory);
    tcase_add_test(tc, test_create_twice);
    tcase_add_test(tc, test_create_mode);
    tcase_add_test(tc, test_zero_capacity_table);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("attach");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_attach_missing);
    tcase_add_loop_test(tc, test_attach_corrupt, 0, NCORRUPTIONS);
    tcase_add_test(tc, test_attach_wrong_layout_version_pwrite);
    tcase_add_test(tc, test_attach_truncated);
    tcase_add_test(tc, test_attach_wrong_cluster);
    tcase_add_test(tc, test_attach_cluster_segment);
    tcase_add_test(tc, test_readonly_cannot_begin);
    tcase_add_test(tc, test_readonly_write_faults);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("entities");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_alloc_until_full);
    tcase_add_test(tc, test_free_and_reuse);
    tcase_add_test(tc, test_new_rows_zeroed);
    tcase_add_test(tc, test_bad_ids);
    tcase_add_test(tc, test_ids_survive_publish);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);

    tc = tcase_create("publish");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_nothing_published_yet);
    tcase_add_test(tc, test_publish_then_read);
    tcase_add_test(tc, test_begin_copies_published);
    tcase_add_test(tc, test_reader_undisturbed_then_torn);
    tcase_add_test(tc, test_abandoned_turn);
    tcase_add_test(tc, test_hash_equal_content);
    tcase_add_test(tc, test_hash_ignores_unused_rows);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    vt_init();
    SRunner *sr = srunner_create(arena_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int left = vt_finish();
    return failed != 0 || left != 0;
}
