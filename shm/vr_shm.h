/* vr_shm.h: shared-memory segments of a vr cluster (the public header of shm/).
 *
 * A cluster named NAME owns one cluster segment "/vr.NAME.cluster" (the
 * directory: universes, their arenas, workers, status, committed turn and
 * hashes) and one arena segment "/vr.NAME.uK" per universe.
 *
 * Every segment starts with a vr_seghdr (magic, layout version, header size,
 * total size, creator pid, cluster id, schema hash); attach validates each
 * field and returns an error, never asserts.  An arena is self-describing: a
 * table directory and a column directory (name, numpy type string, lanes,
 * capacity, offset) let a reader built separately (the Python bridge) find
 * every column with no compiled-in layout.  Offsets, never pointers.
 *
 * Consistent reads.  An arena holds two buffers, each a full copy of every
 * column.  The worker (the only writer) computes turn N+1 into the buffer
 * that is not published, then publishes it by storing its index.  Each buffer
 * has a sequence counter, odd while the worker writes into it.  A reader
 * loads the published index, reads that buffer's counter (even), reads what
 * it wants, and reads the counter again: if it is unchanged, everything read
 * belongs to one committed turn.  Readers take no lock and never block the
 * writer; a reader slower than two turns gets -VR_ETORN, never torn data.
 *
 * All layouts below are frozen for VR_LAYOUT_VERSION: the static asserts pin
 * sizes and offsets because Python and older binaries read them by offset.
 */
#ifndef VR_SHM_H
#define VR_SHM_H

#include "vr_schema.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define VR_MAGIC_ARENA 0x414e455241525600ull   /* "\0VRARENA" read little-endian */
#define VR_MAGIC_CLUSTER 0x5254534c43525600ull /* "\0VRCLSTR" */
#define VR_NAME_MAX 32
#define VR_SEGNAME_MAX 64

/* ---- common header: first 64 bytes of every segment --------------------- */
/* Written once by the creator (the coordinator) before any other process can
 * know the segment exists; read-only afterwards. */
typedef struct vr_seghdr {
    uint64_t magic;          /* VR_MAGIC_* */
    uint32_t layout_version; /* VR_LAYOUT_VERSION of the creator */
    uint32_t header_size;    /* bytes of the kind-specific header incl. this */
    uint64_t total_size;     /* bytes of the whole segment */
    uint64_t schema_hash;    /* vr_schema_hash() of the creator */
    uint64_t cluster_id;     /* random, shared by the cluster's segments */
    int32_t creator_pid;
    uint32_t reserved0;
    uint64_t reserved[2];
} vr_seghdr;
_Static_assert(sizeof(vr_seghdr) == 64, "vr_seghdr is frozen");
_Static_assert(offsetof(vr_seghdr, layout_version) == 8, "frozen: Python reads it");
_Static_assert(offsetof(vr_seghdr, cluster_id) == 32, "frozen: Python reads it");

/* ---- arena ---------------------------------------------------------------- */
typedef struct vr_tabledesc { /* 48 bytes; written by the creator */
    char name[24];
    uint32_t capacity;      /* rows */
    uint32_t first_column;  /* index of its first column in the directory */
    uint32_t ncolumns;      /* declared + implicit (_gen, _free) */
    uint32_t reserved[3];
} vr_tabledesc;
_Static_assert(sizeof(vr_tabledesc) == 48, "frozen");

typedef struct vr_coldesc { /* 64 bytes; written by the creator */
    char name[24];
    char dtype[8];     /* numpy array-interface type string, e.g. "<f4" */
    uint32_t table;    /* index in the table directory */
    uint32_t elem_size;
    uint32_t lanes;    /* elements per row */
    uint32_t capacity; /* rows (the table's capacity) */
    uint64_t offset;   /* from the start of a buffer; multiple of 64 */
    uint64_t bytes;    /* reserved bytes, >= capacity * lanes * elem_size */
} vr_coldesc;
_Static_assert(sizeof(vr_coldesc) == 64, "frozen");
_Static_assert(offsetof(vr_coldesc, offset) == 48, "frozen: Python reads it");

/* Row counts of one table in one buffer (copied with the buffer). */
typedef struct vr_tabstate {
    uint32_t count;      /* rows in use, alive or free (high-water mark) */
    uint32_t live;       /* rows alive */
    uint32_t free_count; /* entries of the table's _free column in use */
    uint32_t reserved;
} vr_tabstate;
_Static_assert(sizeof(vr_tabstate) == 16, "frozen");

/* At the start of each buffer.  Written only by the worker; seq is odd while
 * it writes the buffer; readers check seq before and after reading. */
typedef struct vr_bufhdr {
    _Atomic uint64_t seq;
    uint64_t turn;      /* committed turn this buffer holds once published */
    uint64_t hash;      /* state hash of that turn */
    uint64_t reserved[5];
    /* followed by vr_tabstate[ntables] */
} vr_bufhdr;
_Static_assert(sizeof(vr_bufhdr) == 64, "frozen");

#define VR_NO_BUFFER UINT32_MAX

typedef struct vr_arena_hdr {
    vr_seghdr seg;
    uint32_t universe;       /* creator */
    uint32_t ntables;        /* creator */
    uint32_t ncolumns;       /* creator */
    uint32_t nbuffers;       /* creator: 2 */
    uint64_t tabdir_offset;  /* creator */
    uint64_t coldir_offset;  /* creator */
    uint64_t buffer_offset[2]; /* creator; page aligned */
    uint64_t buffer_size;    /* creator */
    uint64_t seed;           /* creator */
    _Atomic uint32_t published; /* worker (release store); VR_NO_BUFFER = none yet */
    _Atomic int32_t writer_pid; /* worker, when it attaches for writing */
    uint64_t reserved[4];
} vr_arena_hdr;
_Static_assert(offsetof(vr_arena_hdr, universe) == 64, "frozen: Python reads it");
_Static_assert(offsetof(vr_arena_hdr, tabdir_offset) == 80, "frozen: Python reads it");
_Static_assert(offsetof(vr_arena_hdr, buffer_offset) == 96, "frozen: Python reads it");
_Static_assert(offsetof(vr_arena_hdr, published) == 128, "frozen: Python reads it");
_Static_assert(sizeof(vr_arena_hdr) == 168, "frozen");

/* Typed pointers to every column of the work buffer (writer side). */
typedef struct vr_cols {
#define VR_TABLE(t, doc)
#define VR_COLUMN(t, n, ct, dt, l, doc) ct *restrict t##_##n;
#include "components.def"
#undef VR_TABLE
#undef VR_COLUMN
    uint32_t *restrict gen[VR_NTABLES];
    uint32_t *restrict freerows[VR_NTABLES];
    uint8_t *col[VR_NCOLUMNS];       /* every column, untyped */
    uint32_t capacity[VR_NTABLES];
    vr_tabstate *tables;
} vr_cols;

typedef struct vr_arena vr_arena; /* a mapping of one arena */

typedef struct vr_arena_spec {
    uint32_t universe;
    uint64_t cluster_id;
    uint64_t seed;
    uint32_t capacity[VR_NTABLES]; /* rows per table; 0 is allowed */
} vr_arena_spec;

/* Bytes an arena with these capacities occupies (both buffers included). */
uint64_t vr_arena_size(const vr_arena_spec *spec);

/* Creates segment `segname` (e.g. "/vr.NAME.u0") with `mode`, sizes it and
 * writes the header and directories; no turn is published yet.  Pages of the
 * buffers are not touched (the worker pre-faults them on its NUMA node).
 * Returns 0 and a read-write mapping, -EEXIST if the segment exists, or a
 * negative errno.  The caller owns *out. */
int vr_arena_create(vr_arena **out, const char *segname, const vr_arena_spec *spec, mode_t mode);

/* Maps an existing arena, read-only (PROT_READ) unless `writable`, and
 * validates magic, versions, sizes, schema hash, directories, and cluster id
 * when cluster_id is not 0.  Returns 0, -ENOENT, -VR_EBADMAGIC,
 * -VR_EBADVERSION, -VR_EBADSCHEMA, -VR_ETRUNCATED, -VR_EBADHEADER... and, when
 * `why` is not NULL, writes a sentence naming what was wrong. */
int vr_arena_attach(vr_arena **out, const char *segname, bool writable, uint64_t cluster_id,
                    char *why, size_t whylen);

/* Unmaps and frees; *a becomes NULL.  Never unlinks. */
void vr_arena_detach(vr_arena **a);

const vr_arena_hdr *vr_arena_header(const vr_arena *a);
uint64_t vr_arena_bytes(const vr_arena *a);
/* The mapping itself (for memory binding); the arena keeps ownership. */
void *vr_arena_base(const vr_arena *a);

/* Writer side (one process, holding a writable mapping). ------------------ */

/* Ensures the pages of both buffers are allocated (call after memory binding
 * so that they land on the right node).  Returns 0 or a negative errno. */
int vr_arena_prefault(vr_arena *a);

/* Starts writing the next turn: marks the unpublished buffer as being
 * written, copies the published state into it (or empties it when nothing
 * was published) and fills *cols.  Returns 0 or -EROFS. */
int vr_arena_begin(vr_arena *a, vr_cols *cols);

/* Hash of the buffer being written: every used row of every column, plus
 * row counts (XXH3). */
uint64_t vr_arena_hash(const vr_arena *a);

/* Makes the buffer being written the published one, holding `turn`.  After
 * this, readers see the new turn. */
int vr_arena_publish(vr_arena *a, uint64_t turn, uint64_t hash);

/* Marks the buffer being written as holding the complete computed `turn`
 * with `hash` (still unpublished), so that a worker restarted after it died
 * between computing and publishing can adopt it (vr_arena_adopt). */
int vr_arena_computed(vr_arena *a, uint64_t turn, uint64_t hash);

/* Publishes the unpublished buffer as `turn` if it was marked computed for
 * `turn` (the published turn + 1), its contents still hash to the marked
 * hash, and that hash is `hash` (0: any).  -VR_ENOADOPT otherwise (nothing
 * changes).  Used when the cluster committed a turn this worker computed
 * but did not live to publish. */
int vr_arena_adopt(vr_arena *a, uint64_t turn, uint64_t hash);

/* Turn and hash of the published buffer; -VR_ENOTYET when none. */
int vr_arena_published(const vr_arena *a, uint64_t *turn, uint64_t *hash);

/* Entities of the buffer being written.  Ids are (generation << 32) | row;
 * generations are odd while alive, so a freed-and-reused row never matches an
 * old id.  alloc returns 0 or -VR_EFULL; free returns 0 or -VR_EBADID. */
int vr_ent_alloc(vr_cols *c, uint32_t table, uint64_t *id);
int vr_ent_free(vr_cols *c, uint32_t table, uint64_t id);
/* Row of a live entity, or -VR_EBADID. */
int64_t vr_ent_row(const vr_cols *c, uint32_t table, uint64_t id);
static inline uint64_t vr_ent_id(const vr_cols *c, uint32_t table, uint32_t row)
{
    return ((uint64_t)c->gen[table][row] << 32) | row;
}

/* Reader side (any mapping). -------------------------------------------- */
typedef struct vr_view {
    uint64_t seq;       /* buffer sequence seen at read_begin */
    uint64_t turn;
    uint64_t hash;
    uint32_t buffer;
    const uint8_t *base;          /* start of the buffer */
    const vr_tabstate *tables;
} vr_view;

/* Opens a consistent view of the last published turn: 0, or -VR_ENOTYET. */
int vr_arena_read_begin(const vr_arena *a, vr_view *v);
/* A column of the view and its row count (NULL for a bad column index). */
const void *vr_view_column(const vr_arena *a, const vr_view *v, uint32_t column, uint32_t *rows);
/* 0 if everything read through v belongs to v->turn, else -VR_ETORN. */
int vr_arena_read_end(const vr_arena *a, const vr_view *v);

/* ---- cluster segment ------------------------------------------------------ */
enum vr_cluster_status {
    VR_CLUSTER_STARTING = 1,
    VR_CLUSTER_RUNNING = 2,
    VR_CLUSTER_PAUSED = 3,
    VR_CLUSTER_STOPPING = 4,
    VR_CLUSTER_STOPPED = 5,
    VR_CLUSTER_FAILED = 6,
};
const char *vr_cluster_status_name(uint32_t status);

enum vr_worker_status {
    VR_WORKER_NONE = 0,
    VR_WORKER_STARTING = 1,
    VR_WORKER_READY = 2,
    VR_WORKER_BUSY = 3,
    VR_WORKER_DEAD = 4,
    VR_WORKER_HUNG = 5,
    VR_WORKER_STOPPED = 6,
};
const char *vr_worker_status_name(uint32_t status);

/* What a worker managed to bind (reported in HELLO, stored in its record). */
enum vr_bind_flags {
    VR_BIND_CPU = 1,        /* CPU binding applied */
    VR_BIND_MEM = 2,        /* memory binding applied */
    VR_BIND_SYNTHETIC = 4,  /* topology is not this system: nothing bound */
    VR_BIND_FAILED = 8,     /* a binding call failed (see the worker's log) */
};

/* One universe in the cluster segment.  Written by the coordinator only,
 * inside the cluster seqlock; self-described by the field directory. */
#define VR_UFIELDS(X)                                 \
    X(arena, char, "|S64", [64])                      \
    X(cpus, char, "|S64", [64])                       \
    X(worker_pid, int32_t, "<i4", )                   \
    X(numa_node, int32_t, "<i4", )                    \
    X(status, uint32_t, "<u4", )                      \
    X(bind, uint32_t, "<u4", )                        \
    X(heartbeat_ns, uint64_t, "<u8", )                \
    X(committed_turn, uint64_t, "<u8", )              \
    X(state_hash, uint64_t, "<u8", )                  \
    X(arena_bytes, uint64_t, "<u8", )                 \
    X(entities, uint64_t, "<u8", )                    \
    X(turn_ns, uint64_t, "<u8", )                     \
    X(restarts, uint64_t, "<u8", )                    \
    X(events, char, "|S128", [128])

typedef struct vr_urec {
#define VR_UFIELD_DECL(name, ctype, dtype, arr) ctype name arr;
    VR_UFIELDS(VR_UFIELD_DECL)
#undef VR_UFIELD_DECL
    uint64_t reserved[7];
    /* per-turn metrics of the last committed turn, "m_<name>" (metrics.def) */
#define VR_METRIC(name, doc) uint64_t m_##name;
#include "metrics.def"
#undef VR_METRIC
    uint64_t reserved2[32 - VR_NMETRICS];
} vr_urec;
_Static_assert(sizeof(vr_urec) == 640, "frozen for VR_LAYOUT_VERSION 3");
_Static_assert(offsetof(vr_urec, events) == 200, "frozen for VR_LAYOUT_VERSION 3");

typedef struct vr_fielddesc { /* 32 bytes */
    char name[20];
    char dtype[8];
    uint32_t offset;
} vr_fielddesc;
_Static_assert(sizeof(vr_fielddesc) == 32, "frozen");

typedef struct vr_cluster_hdr {
    vr_seghdr seg;
    char name[40];                 /* creator */
    uint32_t nuniverses;           /* creator */
    int32_t coordinator_pid;       /* coordinator */
    _Atomic uint64_t seq;          /* coordinator: odd while it updates the fields below */
    uint64_t committed_turn;       /* every universe has published this turn */
    uint64_t cluster_hash;         /* hash of the universes' hashes at committed_turn */
    uint64_t seed;                 /* creator */
    uint32_t status;               /* enum vr_cluster_status */
    uint32_t urec_size;            /* creator: sizeof(vr_urec) */
    uint64_t urec_offset;          /* creator */
    uint64_t ufield_offset;        /* creator */
    uint32_t nufields;             /* creator */
    uint32_t reserved0;
    uint64_t started_unix_ns;      /* creator */
    uint64_t turn_ns;              /* coordinator: wall time of the last turn */
    uint64_t next_ticket;          /* coordinator: the last command ticket issued (--resume continues it) */
    uint64_t reserved[7];
    char cmd_endpoint[256];        /* creator: where the command socket listens */
    char events_endpoint[256];     /* creator: where the coordinator's event PUB socket binds
                                    * (each worker's: its universe record's "events") */
} vr_cluster_hdr;
_Static_assert(offsetof(vr_cluster_hdr, name) == 64, "frozen: Python reads it");
_Static_assert(offsetof(vr_cluster_hdr, seq) == 112, "frozen: Python reads it");
_Static_assert(offsetof(vr_cluster_hdr, urec_offset) == 152, "frozen: Python reads it");
_Static_assert(offsetof(vr_cluster_hdr, cmd_endpoint) == 256, "frozen: Python reads it");
_Static_assert(offsetof(vr_cluster_hdr, events_endpoint) == 512, "frozen: Python reads it");
_Static_assert(sizeof(vr_cluster_hdr) == 768, "frozen for VR_LAYOUT_VERSION 3");

typedef struct vr_cluster vr_cluster;

/* Creates "/vr.NAME.cluster" for n universes.  Returns 0, -EEXIST, or a
 * negative errno; the caller owns *out. */
int vr_cluster_create(vr_cluster **out, const char *name, uint32_t nuniverses, uint64_t cluster_id,
                      mode_t mode);
/* Maps and validates the cluster segment of NAME (see vr_arena_attach). */
int vr_cluster_attach(vr_cluster **out, const char *name, bool writable, char *why, size_t whylen);
void vr_cluster_detach(vr_cluster **c);

vr_cluster_hdr *vr_cluster_header(vr_cluster *c);
vr_urec *vr_cluster_universe(vr_cluster *c, uint32_t i);
/* Seqlock around coordinator updates of the header and universe records. */
void vr_cluster_write_begin(vr_cluster *c);
void vr_cluster_write_end(vr_cluster *c);

/* ---- names and stale segments --------------------------------------------- */
/* 0 if name is 1..32 of [A-Za-z0-9_-], else -VR_EBADNAME. */
int vr_name_check(const char *name);
/* "/vr.NAME.cluster" (universe < 0) or "/vr.NAME.uK". */
void vr_segname(char *out, size_t len, const char *name, int universe);

/* Lists the segments in /dev/shm that belong to cluster NAME ("/vr.NAME.*")
 * into names[max][VR_SEGNAME_MAX].  Returns how many (possibly > max), or a
 * negative errno. */
int vr_shm_list(const char *name, char (*names)[VR_SEGNAME_MAX], int max);

/* Unlinks every segment of cluster NAME; returns how many were removed. */
int vr_shm_remove_all(const char *name);

/* Reads the creator pid of a cluster's segment without validating the rest;
 * returns 0 and *pid, or a negative errno / -VR_EBADMAGIC. */
int vr_shm_owner(const char *segname, int32_t *pid);

#endif
