/* vr_snapshot.h: snapshot files of a whole cluster at one committed turn.
 *
 * File layout (little-endian, all offsets from the start of the file):
 *   vr_snap_hdr (4096 bytes): magic "\0VRSNAPS", VR_SNAPSHOT_VERSION, sizes,
 *       checksums, the run's options (seed, scenario, content dir and hash,
 *       portal spec and hash, universe names), turn and hashes
 *   then for each universe u = 0..n-1:
 *       vr_snap_urec (64 bytes): universe, its hash at the turn, byte counts
 *       the arena's header region (vr_arena_hdr, table directory, column
 *           directory: the arena is self-describing, so is the snapshot)
 *       the arena's published buffer at the turn (vr_bufhdr, row counts,
 *           every column)
 * Checksums: header_xxh is XXH3-64 of the header with that field zero;
 * payload_xxh is XXH3-64 of everything after the header.
 *
 * Writing is crash-safe: the file is written to "PATH.tmp.PID" in the same
 * directory, fsync'd, renamed to PATH, and the directory is fsync'd; a crash
 * at any moment leaves either the previous file or the complete new one.
 *
 * Reading checks everything before anything is used: missing file, foreign
 * file (magic), newer version, other layout/schema, truncation, checksums,
 * each record's bounds and column directory.  Errors are sentences naming
 * the file and what was wrong.
 */
#ifndef VR_SNAPSHOT_H
#define VR_SNAPSHOT_H

#include "vr_shm.h"

#include <stddef.h>

#define VR_SNAPSHOT_VERSION 1
#define VR_SNAPSHOT_MAGIC 0x5350414e53525600ull /* "\0VRSNAPS" read little-endian */
#define VR_SNAP_HDR_SIZE 4096u

typedef struct vr_snap_hdr {
    uint64_t magic;           /* VR_SNAPSHOT_MAGIC */
    uint32_t version;         /* VR_SNAPSHOT_VERSION of the writer */
    uint32_t header_size;     /* VR_SNAP_HDR_SIZE */
    uint64_t file_size;       /* bytes of the whole file */
    uint64_t header_xxh;      /* XXH3-64 of this header with this field 0 */
    uint64_t payload_xxh;     /* XXH3-64 of bytes [header_size, file_size) */
    uint32_t layout_version;  /* VR_LAYOUT_VERSION of the writer */
    uint32_t nuniverses;
    uint64_t schema_hash;     /* vr_schema_hash() of the writer */
    uint64_t turn;            /* the committed turn every universe holds */
    uint64_t cluster_hash;    /* vr_cluster_hash of the universes' hashes */
    uint64_t seed;
    uint32_t systems, fleets, factions, reserved0;
    uint64_t content_hash;
    uint64_t portal_hash;
    uint64_t created_unix_ns;
    uint64_t next_ticket;     /* the coordinator's last command ticket (tickets are in the hash) */
    uint64_t reserved[15];
    char cluster_name[64];
    char content_dir[1024];   /* "" = built-in content */
    char portals[1024];       /* --portals spec; "" = default */
    char universe_names[1024];/* --universe-names; "" = none */
} vr_snap_hdr;
_Static_assert(sizeof(vr_snap_hdr) <= VR_SNAP_HDR_SIZE, "header fits its block");

typedef struct vr_snap_urec {
    uint32_t universe;
    uint32_t reserved0;
    uint64_t turn;         /* == vr_snap_hdr.turn */
    uint64_t hash;         /* the universe's state hash at that turn */
    uint64_t meta_bytes;   /* arena header region that follows */
    uint64_t buffer_bytes; /* published buffer that follows the region */
    uint64_t reserved[3];
} vr_snap_urec;
_Static_assert(sizeof(vr_snap_urec) == 64, "frozen for VR_SNAPSHOT_VERSION 1");

/* What a snapshot records besides the arenas (filled by the writer's caller). */
typedef struct vr_snap_info {
    uint64_t turn, cluster_hash, seed;
    uint32_t systems, fleets, factions;
    uint64_t content_hash, portal_hash, next_ticket;
    const char *cluster_name, *content_dir, *portals, *universe_names; /* NULL = "" */
} vr_snap_info;

/* Writes a snapshot of the published buffers of arenas[0..n) (each must
 * hold info->turn; read with the consistent-read protocol) to `path`
 * (temporary name, fsync, rename, directory fsync).  Returns 0 and the file's
 * size in *bytes, or a negative code with a sentence in err. */
int vr_snapshot_write(const char *path, vr_arena *const *arenas, uint32_t n, const vr_snap_info *info,
                      uint64_t *bytes, char *err, size_t errlen);

typedef struct vr_snapshot vr_snapshot; /* an open, verified snapshot file */

/* Opens and verifies `path` entirely (header, checksums, every record).
 * Returns 0, or -ENOENT, -VR_EBADMAGIC, -VR_EBADVERSION, -VR_EBADSCHEMA,
 * -VR_ETRUNCATED, -VR_ECHECKSUM, -VR_EBADHEADER with a sentence in err that
 * names the file. */
int vr_snapshot_open(vr_snapshot **out, const char *path, char *err, size_t errlen);
void vr_snapshot_close(vr_snapshot **s);
const vr_snap_hdr *vr_snapshot_header(const vr_snapshot *s);
/* The universe's record (NULL when u is out of range). */
const vr_snap_urec *vr_snapshot_universe(const vr_snapshot *s, uint32_t u);

/* Fills arena `a` (freshly created, nothing published, writable mapping)
 * with universe u of the snapshot and publishes it as the snapshot's turn.
 * The arena's column directory must equal the snapshot's (same capacities,
 * same schema), else -VR_EBADHEADER with a sentence.  The buffer's hash is
 * recomputed and compared with the recorded one. */
int vr_snapshot_load_arena(const vr_snapshot *s, uint32_t u, vr_arena *a, char *err, size_t errlen);

#endif
