/* arena.c: one universe's arena: layout, attach, double-buffered publish,
 * consistent reads, generational entity ids, state hash.
 *
 * Layout (all offsets from the segment start, frozen by VR_LAYOUT_VERSION):
 *   vr_arena_hdr | table directory | column directory | pad to 4 KiB
 *   buffer 0: vr_bufhdr, vr_tabstate[ntables], columns (each 64-byte aligned)
 *   buffer 1: the same, at buffer_offset[1]
 * Column offsets are relative to a buffer, identical in both buffers.
 *
 * The writer only ever writes the buffer that is not published, so a worker
 * killed mid-turn leaves the last committed turn intact for restart and for
 * readers.  See vr_shm.h for the read protocol.
 */
#include "shm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

struct vr_arena {
    vr_mapping m;
    vr_arena_hdr *h;
    uint32_t work; /* buffer being written, VR_NO_BUFFER when none */
};

#define PAGE 4096u
#define LINE 64u

static uint64_t col_bytes(uint32_t c, uint32_t capacity)
{
    return VR__ALIGN((uint64_t)capacity * vr_columns[c].lanes * vr_columns[c].elem_size, LINE);
}

static uint64_t bufhdr_bytes(void)
{
    return VR__ALIGN(sizeof(vr_bufhdr) + VR_NTABLES * sizeof(vr_tabstate), LINE);
}

/* Fills offsets for a spec; returns the total segment size. */
static uint64_t layout(const vr_arena_spec *s, uint64_t *coloff, uint64_t *tabdir, uint64_t *coldir,
                       uint64_t *buf0, uint64_t *bufsize)
{
    *tabdir = VR__ALIGN(sizeof(vr_arena_hdr), LINE);
    *coldir = VR__ALIGN(*tabdir + VR_NTABLES * sizeof(vr_tabledesc), LINE);
    *buf0 = VR__ALIGN(*coldir + VR_NCOLUMNS * sizeof(vr_coldesc), PAGE);
    uint64_t off = bufhdr_bytes();
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++) {
        if (coloff)
            coloff[c] = off;
        off += col_bytes(c, s->capacity[vr_columns[c].table]);
    }
    *bufsize = VR__ALIGN(off, PAGE);
    return *buf0 + 2 * *bufsize;
}

uint64_t vr_arena_size(const vr_arena_spec *spec)
{
    uint64_t a, b, c, d;
    return layout(spec, NULL, &a, &b, &c, &d);
}

static vr_bufhdr *buf(const vr_arena *a, uint32_t i)
{
    return (vr_bufhdr *)((uint8_t *)a->m.base + a->h->buffer_offset[i]);
}

static const vr_tabledesc *tabdir(const vr_arena *a)
{
    return (const vr_tabledesc *)((const uint8_t *)a->m.base + a->h->tabdir_offset);
}

static const vr_coldesc *coldir(const vr_arena *a)
{
    return (const vr_coldesc *)((const uint8_t *)a->m.base + a->h->coldir_offset);
}

int vr_arena_create(vr_arena **out, const char *segname, const vr_arena_spec *spec, mode_t mode)
{
    *out = NULL;
    uint64_t coloff[VR_NCOLUMNS], td, cd, b0, bs;
    uint64_t total = layout(spec, coloff, &td, &cd, &b0, &bs);
    vr_arena *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    int rc = vr__seg_create(&a->m, segname, total, mode);
    if (rc) {
        free(a);
        return rc;
    }
    a->h = a->m.base;
    a->work = VR_NO_BUFFER;
    vr_arena_hdr *h = a->h;
    h->universe = spec->universe;
    h->ntables = VR_NTABLES;
    h->ncolumns = VR_NCOLUMNS;
    h->nbuffers = 2;
    h->tabdir_offset = td;
    h->coldir_offset = cd;
    h->buffer_offset[0] = b0;
    h->buffer_offset[1] = b0 + bs;
    h->buffer_size = bs;
    h->seed = spec->seed;
    atomic_store(&h->published, VR_NO_BUFFER);
    atomic_store(&h->writer_pid, 0);
    vr_tabledesc *tds = (vr_tabledesc *)((uint8_t *)a->m.base + td);
    vr_coldesc *cds = (vr_coldesc *)((uint8_t *)a->m.base + cd);
    for (uint32_t t = 0; t < VR_NTABLES; t++) {
        snprintf(tds[t].name, sizeof tds[t].name, "%s", vr_tables[t].name);
        tds[t].capacity = spec->capacity[t];
        tds[t].first_column = UINT32_MAX;
    }
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++) {
        const vr_column_def *d = &vr_columns[c];
        snprintf(cds[c].name, sizeof cds[c].name, "%s", d->name);
        snprintf(cds[c].dtype, sizeof cds[c].dtype, "%s", d->dtype);
        cds[c].table = d->table;
        cds[c].elem_size = d->elem_size;
        cds[c].lanes = d->lanes;
        cds[c].capacity = spec->capacity[d->table];
        cds[c].offset = coloff[c];
        cds[c].bytes = col_bytes(c, spec->capacity[d->table]);
        if (tds[d->table].first_column == UINT32_MAX)
            tds[d->table].first_column = c;
        tds[d->table].ncolumns++;
    }
    vr__seghdr_init(&h->seg, VR_MAGIC_ARENA, (uint32_t)b0, total, spec->cluster_id);
    *out = a;
    return 0;
}

/* Checks the directories against the mapping: nothing in them is trusted. */
static int check_dirs(const vr_arena *a, char *why, size_t whylen)
{
    const vr_arena_hdr *h = a->h;
    uint64_t total = h->seg.total_size;
#define FAIL(...)                                                                         \
    do {                                                                                  \
        if (why)                                                                          \
            snprintf(why, whylen, __VA_ARGS__);                                           \
        return -VR_EBADHEADER;                                                            \
    } while (0)
    if (h->seg.header_size < sizeof(vr_arena_hdr))
        FAIL("arena header size %u is smaller than %zu", h->seg.header_size, sizeof(vr_arena_hdr));
    if (h->ntables != VR_NTABLES || h->ncolumns != VR_NCOLUMNS || h->nbuffers != 2)
        FAIL("arena has %u tables, %u columns, %u buffers; expected %d, %d, 2", h->ntables,
             h->ncolumns, h->nbuffers, VR_NTABLES, VR_NCOLUMNS);
    /* written as differences: a hostile offset must not wrap the sum */
    if (h->tabdir_offset > h->seg.header_size ||
        h->seg.header_size - h->tabdir_offset < VR_NTABLES * sizeof(vr_tabledesc) ||
        h->coldir_offset > h->seg.header_size ||
        h->seg.header_size - h->coldir_offset < VR_NCOLUMNS * sizeof(vr_coldesc))
        FAIL("arena directories lie outside the header");
    if (h->buffer_size < bufhdr_bytes() || h->buffer_offset[0] < h->seg.header_size ||
        h->buffer_offset[0] % LINE || h->buffer_offset[1] % LINE ||
        h->buffer_offset[0] > total || h->buffer_offset[1] > total ||
        total - h->buffer_offset[0] < h->buffer_size || total - h->buffer_offset[1] < h->buffer_size)
        FAIL("arena buffers lie outside the segment");
    const vr_tabledesc *tds = tabdir(a);
    const vr_coldesc *cds = coldir(a);
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++) {
        const vr_column_def *d = &vr_columns[c];
        const vr_coldesc *x = &cds[c];
        if (x->table != d->table || x->elem_size != d->elem_size || x->lanes != d->lanes ||
            x->capacity != tds[d->table].capacity || strncmp(x->name, d->name, sizeof x->name) ||
            x->offset % LINE || x->offset < bufhdr_bytes() || x->offset > h->buffer_size ||
            x->bytes > h->buffer_size - x->offset ||
            x->bytes < (uint64_t)x->capacity * x->lanes * x->elem_size)
            FAIL("column %u (%.24s) of the directory does not match the schema or the buffer", c,
                 x->name);
    }
    uint32_t pub = atomic_load(&h->published);
    if (pub != VR_NO_BUFFER && pub > 1)
        FAIL("published buffer index %u out of range", pub);
#undef FAIL
    return 0;
}

int vr_arena_attach(vr_arena **out, const char *segname, bool writable, uint64_t cluster_id,
                    char *why, size_t whylen)
{
    *out = NULL;
    vr_arena *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    int rc = vr__seg_attach(&a->m, segname, writable, VR_MAGIC_ARENA, cluster_id, why, whylen);
    if (rc == 0) {
        a->h = a->m.base;
        a->work = VR_NO_BUFFER;
        if (a->m.size < sizeof(vr_arena_hdr)) {
            rc = -VR_ETRUNCATED;
            if (why)
                snprintf(why, whylen, "%s: too short for an arena header", segname);
        } else {
            rc = check_dirs(a, why, whylen);
        }
        if (rc)
            vr__seg_unmap(&a->m);
    }
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void vr_arena_detach(vr_arena **a)
{
    if (!a || !*a)
        return;
    vr__seg_unmap(&(*a)->m);
    free(*a);
    *a = NULL;
}

const vr_arena_hdr *vr_arena_header(const vr_arena *a) { return a->h; }
uint64_t vr_arena_bytes(const vr_arena *a) { return a->m.size; }
void *vr_arena_base(const vr_arena *a) { return a->m.base; }

int vr_arena_prefault(vr_arena *a)
{
    if (!a->m.writable)
        return -EROFS;
    uint8_t *p = (uint8_t *)a->m.base + a->h->buffer_offset[0];
    size_t n = (size_t)(2 * a->h->buffer_size);
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
    if (madvise(p, n, MADV_POPULATE_WRITE) == 0)
        return 0;
    /* older kernels: a read fault allocates a tmpfs page without writing
     * into a buffer that readers may be reading */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i += PAGE)
        sink ^= p[i];
    (void)sink;
    return 0;
}

static void fill_cols(vr_arena *a, uint32_t w, vr_cols *c)
{
    uint8_t *base = (uint8_t *)buf(a, w);
    const vr_coldesc *cds = coldir(a);
    const vr_tabledesc *tds = tabdir(a);
    memset(c, 0, sizeof *c);
    for (uint32_t i = 0; i < VR_NCOLUMNS; i++)
        c->col[i] = base + cds[i].offset;
#define VR_TABLE(t, doc)
#define VR_COLUMN(t, n, ct, dt, l, doc) c->t##_##n = (ct *)(void *)c->col[VR_COL_##t##_##n];
#include "components.def"
#undef VR_TABLE
#undef VR_COLUMN
    for (uint32_t t = 0; t < VR_NTABLES; t++) {
        c->gen[t] = (uint32_t *)(void *)c->col[VR_COL_GEN(t)];
        c->freerows[t] = (uint32_t *)(void *)c->col[VR_COL_FREE(t)];
        c->capacity[t] = tds[t].capacity;
    }
    c->tables = (vr_tabstate *)(void *)(base + sizeof(vr_bufhdr));
}

int vr_arena_begin(vr_arena *a, vr_cols *cols)
{
    if (!a->m.writable)
        return -EROFS;
    uint32_t pub = atomic_load_explicit(&a->h->published, memory_order_acquire);
    uint32_t w = pub == VR_NO_BUFFER ? 0 : 1 - pub;
    vr_bufhdr *b = buf(a, w);
    uint64_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);
    if (!(s & 1)) /* odd already: a writer died mid-turn; stay odd */
        atomic_store_explicit(&b->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    a->work = w;
    atomic_store(&a->h->writer_pid, (int32_t)getpid());
    fill_cols(a, w, cols);
    if (pub == VR_NO_BUFFER) {
        memset(cols->tables, 0, VR_NTABLES * sizeof(vr_tabstate));
        b->turn = 0;
        b->hash = 0;
        return 0;
    }
    const vr_bufhdr *src = buf(a, pub);
    const vr_tabstate *st = (const vr_tabstate *)(const void *)((const uint8_t *)src + sizeof *src);
    memcpy(cols->tables, st, VR_NTABLES * sizeof(vr_tabstate));
    b->turn = src->turn;
    b->hash = src->hash;
    const vr_coldesc *cds = coldir(a);
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++) {
        uint32_t rows = st[cds[c].table].count;
        if (rows > cds[c].capacity)
            rows = cds[c].capacity;
        memcpy(cols->col[c], (const uint8_t *)src + cds[c].offset,
               (size_t)rows * cds[c].lanes * cds[c].elem_size);
    }
    return 0;
}

uint64_t vr_arena_hash(const vr_arena *a)
{
    uint32_t w = a->work;
    if (w == VR_NO_BUFFER)
        w = atomic_load(&a->h->published);
    if (w == VR_NO_BUFFER)
        return 0;
    const uint8_t *base = (const uint8_t *)buf(a, w);
    const vr_tabstate *st = (const vr_tabstate *)(const void *)(base + sizeof(vr_bufhdr));
    const vr_coldesc *cds = coldir(a);
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, st, VR_NTABLES * sizeof(vr_tabstate));
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++) {
        const vr_tabstate *ts = &st[cds[c].table];
        /* the free stack's used part is free_count entries, not count */
        uint32_t rows = c == VR_COL_FREE(cds[c].table) ? ts->free_count : ts->count;
        if (rows > cds[c].capacity)
            rows = cds[c].capacity;
        XXH3_64bits_update(&state, base + cds[c].offset,
                           (size_t)rows * cds[c].lanes * cds[c].elem_size);
    }
    return XXH3_64bits_digest(&state);
}

int vr_arena_computed(vr_arena *a, uint64_t turn, uint64_t hash)
{
    if (!a->m.writable || a->work == VR_NO_BUFFER)
        return -EROFS;
    vr_bufhdr *b = buf(a, a->work);
    b->hash = hash;
    atomic_thread_fence(memory_order_release);
    b->turn = turn;
    return 0;
}

int vr_arena_adopt(vr_arena *a, uint64_t turn, uint64_t hash)
{
    if (!a->m.writable)
        return -EROFS;
    uint32_t pub = atomic_load_explicit(&a->h->published, memory_order_acquire);
    if (pub == VR_NO_BUFFER)
        return -VR_ENOADOPT;
    const vr_bufhdr *p = buf(a, pub);
    uint32_t w = 1 - pub;
    vr_bufhdr *b = buf(a, w);
    if (p->turn + 1 != turn || b->turn != turn || (hash && b->hash != hash))
        return -VR_ENOADOPT;
    a->work = w;
    if (vr_arena_hash(a) != b->hash) { /* marked computed, but not what was computed */
        a->work = VR_NO_BUFFER;
        return -VR_ENOADOPT;
    }
    uint64_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);
    if (!(s & 1)) /* died between the two stores of publish: odd again first */
        atomic_store_explicit(&b->seq, s + 1, memory_order_relaxed);
    atomic_store(&a->h->writer_pid, (int32_t)getpid());
    return vr_arena_publish(a, turn, b->hash);
}

int vr_arena_publish(vr_arena *a, uint64_t turn, uint64_t hash)
{
    if (!a->m.writable || a->work == VR_NO_BUFFER)
        return -EROFS;
    vr_bufhdr *b = buf(a, a->work);
    b->turn = turn;
    b->hash = hash;
    uint64_t s = atomic_load_explicit(&b->seq, memory_order_relaxed);
    atomic_store_explicit(&b->seq, s + 1, memory_order_release); /* even: complete */
    atomic_store_explicit(&a->h->published, a->work, memory_order_release);
    a->work = VR_NO_BUFFER;
    return 0;
}

int vr_arena_published(const vr_arena *a, uint64_t *turn, uint64_t *hash)
{
    vr_view v;
    int rc;
    do {
        rc = vr_arena_read_begin(a, &v);
        if (rc)
            return rc;
        if (turn)
            *turn = v.turn;
        if (hash)
            *hash = v.hash;
    } while (vr_arena_read_end(a, &v) != 0);
    return 0;
}

int vr_arena_read_begin(const vr_arena *a, vr_view *v)
{
    for (;;) {
        uint32_t p = atomic_load_explicit(&a->h->published, memory_order_acquire);
        if (p == VR_NO_BUFFER)
            return -VR_ENOTYET;
        if (p > 1)
            return -VR_EBADHEADER;
        const vr_bufhdr *b = buf(a, p);
        uint64_t s = atomic_load_explicit(&((vr_bufhdr *)b)->seq, memory_order_acquire);
        if (s & 1)
            continue; /* the writer moved on twice since we loaded p: retry */
        v->seq = s;
        v->buffer = p;
        v->base = (const uint8_t *)b;
        v->turn = b->turn;
        v->hash = b->hash;
        v->tables = (const vr_tabstate *)(const void *)(v->base + sizeof(vr_bufhdr));
        return 0;
    }
}

const void *vr_view_column(const vr_arena *a, const vr_view *v, uint32_t column, uint32_t *rows)
{
    if (column >= VR_NCOLUMNS)
        return NULL;
    const vr_coldesc *cd = &coldir(a)[column];
    if (rows) {
        uint32_t n = v->tables[cd->table].count;
        *rows = n > cd->capacity ? cd->capacity : n;
    }
    return v->base + cd->offset;
}

int vr_arena_read_end(const vr_arena *a, const vr_view *v)
{
    atomic_thread_fence(memory_order_acquire);
    const vr_bufhdr *b = buf(a, v->buffer);
    uint64_t s = atomic_load_explicit(&((vr_bufhdr *)b)->seq, memory_order_relaxed);
    return s == v->seq ? 0 : -VR_ETORN;
}

/* ---- entities ------------------------------------------------------------ */

int vr_ent_alloc(vr_cols *c, uint32_t table, uint64_t *id)
{
    vr_tabstate *ts = &c->tables[table];
    uint32_t row;
    uint32_t gen;
    if (ts->free_count > 0) {
        row = c->freerows[table][--ts->free_count];
        gen = c->gen[table][row] + 1;
    } else {
        if (ts->count >= c->capacity[table])
            return -VR_EFULL;
        row = ts->count++;
        gen = 1;
    }
    /* a new row starts zeroed in every declared column, so its content never
     * depends on what the buffer held before (determinism) */
    for (uint32_t col = 0; col < VR_NCOLUMNS_DECLARED; col++)
        if (vr_columns[col].table == table) {
            size_t sz = (size_t)vr_columns[col].elem_size * vr_columns[col].lanes;
            memset(c->col[col] + (size_t)row * sz, 0, sz);
        }
    c->gen[table][row] = gen;
    ts->live++;
    *id = ((uint64_t)gen << 32) | row;
    return 0;
}

int64_t vr_ent_row(const vr_cols *c, uint32_t table, uint64_t id)
{
    uint32_t row = (uint32_t)id;
    uint32_t gen = (uint32_t)(id >> 32);
    if (table >= VR_NTABLES || row >= c->tables[table].count || !(gen & 1) ||
        c->gen[table][row] != gen)
        return -VR_EBADID;
    return row;
}

int vr_ent_free(vr_cols *c, uint32_t table, uint64_t id)
{
    int64_t r = vr_ent_row(c, table, id);
    if (r < 0)
        return (int)r;
    uint32_t row = (uint32_t)r;
    c->gen[table][row]++;
    c->freerows[table][c->tables[table].free_count++] = row;
    c->tables[table].live--;
    return 0;
}
