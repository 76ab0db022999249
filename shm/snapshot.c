/* snapshot.c: snapshot files of a whole cluster (layout in vr_snapshot.h).
 *
 * Writer: streams each arena's header region and published buffer to a
 * temporary file in the destination's directory with large write()s,
 * hashing as it goes, then writes the header (with both checksums) at
 * offset 0, fsyncs, renames over the destination and fsyncs the directory.
 * Reader: maps the file read-only and verifies all of it before returning,
 * so a restore never starts from a file it would refuse half-way.
 */
#include "shm_internal.h"
#include "vr_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define ERR(code, ...)                                                                                       \
    do {                                                                                                     \
        if (err)                                                                                             \
            snprintf(err, errlen, __VA_ARGS__);                                                              \
        return (code);                                                                                       \
    } while (0)

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint64_t header_xxh(const vr_snap_hdr *h)
{
    uint8_t block[VR_SNAP_HDR_SIZE];
    memset(block, 0, sizeof block);
    memcpy(block, h, sizeof *h);
    ((vr_snap_hdr *)(void *)block)->header_xxh = 0;
    return XXH3_64bits(block, sizeof block);
}

static uint64_t now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vr_snapshot_write(const char *path, vr_arena *const *arenas, uint32_t n, const vr_snap_info *info,
                      uint64_t *bytes, char *err, size_t errlen)
{
    if (!path || !*path || n == 0)
        ERR(-VR_EBADARG, "snapshot: no path or no universes");
    char tmp[PATH_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        ERR(-ENAMETOOLONG, "snapshot %s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        ERR(-e, "snapshot %s: cannot create %s: %s", path, tmp, strerror(e));
    }
    vr_snap_hdr h;
    memset(&h, 0, sizeof h);
    h.magic = VR_SNAPSHOT_MAGIC;
    h.version = VR_SNAPSHOT_VERSION;
    h.header_size = VR_SNAP_HDR_SIZE;
    h.layout_version = VR_LAYOUT_VERSION;
    h.nuniverses = n;
    h.schema_hash = vr_schema_hash();
    h.turn = info->turn;
    h.cluster_hash = info->cluster_hash;
    h.seed = info->seed;
    h.systems = info->systems, h.fleets = info->fleets, h.factions = info->factions;
    h.content_hash = info->content_hash;
    h.portal_hash = info->portal_hash;
    h.next_ticket = info->next_ticket;
    h.created_unix_ns = now_unix_ns();
    copy_str(h.cluster_name, sizeof h.cluster_name, info->cluster_name);
    copy_str(h.content_dir, sizeof h.content_dir, info->content_dir);
    copy_str(h.portals, sizeof h.portals, info->portals);
    copy_str(h.universe_names, sizeof h.universe_names, info->universe_names);

    int rc = 0;
    uint8_t zero[VR_SNAP_HDR_SIZE];
    memset(zero, 0, sizeof zero);
    if ((rc = write_all(fd, zero, sizeof zero))) /* the header goes here at the end */
        goto io;
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    uint64_t total = VR_SNAP_HDR_SIZE;
    for (uint32_t u = 0; u < n; u++) {
        const vr_arena *a = arenas[u];
        const vr_arena_hdr *ah = vr_arena_header(a);
        vr_view v;
        if ((rc = vr_arena_read_begin(a, &v))) {
            close(fd), unlink(tmp);
            ERR(rc, "snapshot %s: universe %u has no committed turn", path, u);
        }
        if (v.turn != info->turn) {
            close(fd), unlink(tmp);
            ERR(-VR_EBADARG, "snapshot %s: universe %u holds turn %" PRIu64 ", not turn %" PRIu64, path, u, v.turn,
                info->turn);
        }
        vr_snap_urec r = {.universe = u, .turn = v.turn, .hash = v.hash, .meta_bytes = ah->buffer_offset[0],
                          .buffer_bytes = ah->buffer_size};
        const uint8_t *base = vr_arena_base(a);
        XXH3_64bits_update(&st, &r, sizeof r);
        XXH3_64bits_update(&st, base, r.meta_bytes);
        XXH3_64bits_update(&st, v.base, r.buffer_bytes);
        if ((rc = write_all(fd, &r, sizeof r)) || (rc = write_all(fd, base, r.meta_bytes)) ||
            (rc = write_all(fd, v.base, r.buffer_bytes)))
            goto io;
        if (vr_arena_read_end(a, &v)) { /* the worker moved on: not one turn any more */
            close(fd), unlink(tmp);
            ERR(-VR_ETORN, "snapshot %s: universe %u published a new turn while it was being written", path, u);
        }
        total += sizeof r + r.meta_bytes + r.buffer_bytes;
    }
    h.file_size = total;
    h.payload_xxh = XXH3_64bits_digest(&st);
    h.header_xxh = header_xxh(&h);
    memcpy(zero, &h, sizeof h);
    if (pwrite(fd, zero, sizeof zero, 0) != (ssize_t)sizeof zero) {
        rc = errno ? -errno : -EIO;
        goto io;
    }
    if (fsync(fd) < 0) {
        rc = -errno;
        goto io;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = -errno;
        goto io;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = -errno;
        goto io;
    }
    {
        char dir[PATH_MAX + 32];
        copy_str(dir, sizeof dir, path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if (bytes)
        *bytes = total;
    return 0;
io:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    ERR(rc, "snapshot %s: writing %s: %s", path, tmp, strerror(-rc));
}

/* ---- reading -------------------------------------------------------------- */

struct vr_snapshot {
    const uint8_t *base;
    size_t size;
    const vr_snap_hdr *h;
    const vr_snap_urec **u; /* nuniverses records, in order */
};

void vr_snapshot_close(vr_snapshot **s)
{
    if (!s || !*s)
        return;
    if ((*s)->base)
        munmap((void *)(*s)->base, (*s)->size);
    free((*s)->u);
    free(*s);
    *s = NULL;
}

const vr_snap_hdr *vr_snapshot_header(const vr_snapshot *s) { return s->h; }

const vr_snap_urec *vr_snapshot_universe(const vr_snapshot *s, uint32_t u)
{
    return u < s->h->nuniverses ? s->u[u] : NULL;
}

static int verify(vr_snapshot *s, const char *path, char *err, size_t errlen)
{
    const vr_snap_hdr *h = s->h;
    if (s->size < sizeof(uint64_t) || h->magic != VR_SNAPSHOT_MAGIC)
        ERR(-VR_EBADMAGIC, "%s is not a vr snapshot (wrong magic number)", path);
    if (s->size < VR_SNAP_HDR_SIZE)
        ERR(-VR_ETRUNCATED, "%s: truncated: %zu bytes, shorter than the %u-byte snapshot header", path, s->size,
            VR_SNAP_HDR_SIZE);
    if (h->version > VR_SNAPSHOT_VERSION)
        ERR(-VR_EBADVERSION, "%s: snapshot version %u is newer than this build reads (%u); use a newer vr", path,
            h->version, VR_SNAPSHOT_VERSION);
    if (h->version != VR_SNAPSHOT_VERSION)
        ERR(-VR_EBADVERSION, "%s: snapshot version %u is not supported (this build reads %u)", path, h->version,
            VR_SNAPSHOT_VERSION);
    if (h->header_size != VR_SNAP_HDR_SIZE)
        ERR(-VR_EBADHEADER, "%s: snapshot header size %u, expected %u", path, h->header_size, VR_SNAP_HDR_SIZE);
    if (header_xxh(h) != h->header_xxh)
        ERR(-VR_ECHECKSUM, "%s: the snapshot header's checksum does not match: the file is corrupted", path);
    if (s->size < h->file_size)
        ERR(-VR_ETRUNCATED, "%s: truncated: %zu bytes of the %" PRIu64 " the snapshot header announces", path,
            s->size, h->file_size);
    if (s->size > h->file_size)
        ERR(-VR_EBADHEADER, "%s: %zu bytes, longer than the %" PRIu64 " the snapshot header announces", path,
            s->size, h->file_size);
    if (h->layout_version != VR_LAYOUT_VERSION)
        ERR(-VR_EBADVERSION, "%s: written by a build with arena layout version %u; this build has %u", path,
            h->layout_version, VR_LAYOUT_VERSION);
    if (h->schema_hash != vr_schema_hash())
        ERR(-VR_EBADSCHEMA, "%s: schema hash %016" PRIx64 " differs from this build's %016" PRIx64
            " (built from another components.def)", path, h->schema_hash, vr_schema_hash());
    if (h->nuniverses == 0 || h->nuniverses > 1024)
        ERR(-VR_EBADHEADER, "%s: %u universes is out of range (1..1024)", path, h->nuniverses);
    if (XXH3_64bits(s->base + VR_SNAP_HDR_SIZE, s->size - VR_SNAP_HDR_SIZE) != h->payload_xxh)
        ERR(-VR_ECHECKSUM, "%s: the snapshot's checksum does not match its contents: the file is corrupted", path);
    s->u = calloc(h->nuniverses, sizeof *s->u);
    if (!s->u)
        ERR(-ENOMEM, "%s: out of memory", path);
    uint64_t off = VR_SNAP_HDR_SIZE;
    for (uint32_t u = 0; u < h->nuniverses; u++) {
        if (s->size - off < sizeof(vr_snap_urec))
            ERR(-VR_EBADHEADER, "%s: record of universe %u lies past the end", path, u);
        const vr_snap_urec *r = (const vr_snap_urec *)(const void *)(s->base + off);
        off += sizeof *r;
        if (r->universe != u || r->turn != h->turn)
            ERR(-VR_EBADHEADER, "%s: record %u is universe %u at turn %" PRIu64 "; expected universe %u at turn %" PRIu64,
                path, u, r->universe, r->turn, u, h->turn);
        if (r->meta_bytes < sizeof(vr_arena_hdr) || r->meta_bytes > s->size - off ||
            r->buffer_bytes > s->size - off - r->meta_bytes || r->buffer_bytes < sizeof(vr_bufhdr))
            ERR(-VR_EBADHEADER, "%s: universe %u's arena lies past the end of the file", path, u);
        const vr_arena_hdr *ah = (const vr_arena_hdr *)(const void *)(s->base + off);
        if (ah->seg.magic != VR_MAGIC_ARENA || ah->ntables != VR_NTABLES || ah->ncolumns != VR_NCOLUMNS ||
            ah->buffer_size != r->buffer_bytes || ah->buffer_offset[0] != r->meta_bytes ||
            ah->coldir_offset > r->meta_bytes || r->meta_bytes - ah->coldir_offset < VR_NCOLUMNS * sizeof(vr_coldesc))
            ERR(-VR_EBADHEADER, "%s: universe %u's arena header does not describe this schema", path, u);
        s->u[u] = r;
        off += r->meta_bytes + r->buffer_bytes;
    }
    if (off != s->size)
        ERR(-VR_EBADHEADER, "%s: %" PRIu64 " bytes after the last universe's arena", path, (uint64_t)(s->size - off));
    return 0;
}

int vr_snapshot_open(vr_snapshot **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        ERR(-e, "snapshot %s: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        ERR(-VR_EBADMAGIC, "%s is not a regular file, so not a vr snapshot", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        ERR(-VR_ETRUNCATED, "%s: empty file, not a complete vr snapshot", path);
    }
    vr_snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        ERR(-ENOMEM, "%s: out of memory", path);
    }
    s->size = (size_t)sb.st_size;
    void *m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        free(s);
        ERR(-e, "snapshot %s: mmap: %s", path, strerror(e));
    }
    s->base = m;
    s->h = m;
    /* a header shorter than the struct: read magic/version only after the size checks */
    if (s->size < VR_SNAP_HDR_SIZE) {
        uint64_t magic = 0;
        memcpy(&magic, m, s->size < sizeof magic ? s->size : sizeof magic);
        vr_snapshot_close(&s);
        if (magic != VR_SNAPSHOT_MAGIC)
            ERR(-VR_EBADMAGIC, "%s is not a vr snapshot (wrong magic number)", path);
        ERR(-VR_ETRUNCATED, "%s: truncated: shorter than the %u-byte snapshot header", path, VR_SNAP_HDR_SIZE);
    }
    int rc = verify(s, path, err, errlen);
    if (rc) {
        vr_snapshot_close(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int vr_snapshot_load_arena(const vr_snapshot *s, uint32_t u, vr_arena *a, char *err, size_t errlen)
{
    const vr_snap_urec *r = vr_snapshot_universe(s, u);
    if (!r)
        ERR(-VR_EBADARG, "the snapshot has no universe %u", u);
    const uint8_t *meta = (const uint8_t *)(r + 1);
    const uint8_t *buffer = meta + r->meta_bytes;
    const vr_arena_hdr *sh = (const vr_arena_hdr *)(const void *)meta;
    vr_arena_hdr *ah = vr_arena_base(a);
    if (ah->buffer_size != sh->buffer_size)
        ERR(-VR_EBADHEADER, "universe %u: the snapshot's arena buffer is %" PRIu64 " bytes, this arena's %" PRIu64
            " (different --systems/--fleets/content?)", u, sh->buffer_size, ah->buffer_size);
    const vr_coldesc *sc = (const vr_coldesc *)(const void *)(meta + sh->coldir_offset);
    const vr_coldesc *ac = (const vr_coldesc *)(const void *)((const uint8_t *)ah + ah->coldir_offset);
    for (uint32_t c = 0; c < VR_NCOLUMNS; c++)
        if (strncmp(sc[c].name, ac[c].name, sizeof sc[c].name) || strncmp(sc[c].dtype, ac[c].dtype, sizeof sc[c].dtype) ||
            sc[c].capacity != ac[c].capacity || sc[c].offset != ac[c].offset || sc[c].lanes != ac[c].lanes ||
            sc[c].bytes != ac[c].bytes)
            ERR(-VR_EBADHEADER, "universe %u: column %.24s of the snapshot (capacity %u) does not match this arena's "
                "(capacity %u)", u, sc[c].name, sc[c].capacity, ac[c].capacity);
    if (atomic_load(&ah->published) != VR_NO_BUFFER)
        ERR(-VR_EBADARG, "universe %u: the arena already holds a committed turn", u);
    vr_bufhdr *b = (vr_bufhdr *)(void *)((uint8_t *)ah + ah->buffer_offset[0]);
    atomic_store(&b->seq, 1); /* odd while written */
    memcpy((uint8_t *)b + sizeof(vr_bufhdr), buffer + sizeof(vr_bufhdr), r->buffer_bytes - sizeof(vr_bufhdr));
    b->turn = r->turn;
    b->hash = r->hash;
    atomic_store(&b->seq, 2);
    atomic_store(&ah->published, 0);
    uint64_t h = vr_arena_hash(a);
    if (h != r->hash) {
        atomic_store(&ah->published, VR_NO_BUFFER);
        ERR(-VR_ECHECKSUM, "universe %u: the restored arena hashes to %016" PRIx64 ", the snapshot recorded %016" PRIx64,
            u, h, r->hash);
    }
    return 0;
}
