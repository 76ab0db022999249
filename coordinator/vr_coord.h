/* vr_coord.h: placement and command protocol of the coordinator (public
 * header of coordinator/, used by vr-coordinator, vrctl and the tests). */
#ifndef VR_COORD_H
#define VR_COORD_H

#include "vr_shm.h"

#include <hwloc.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>

/* ---- placement -------------------------------------------------------- */
enum vr_pin_mode {
    VR_PIN_NODE = 0, /* a worker may run on every core of its NUMA node */
    VR_PIN_CORE = 1, /* a worker gets one core of its node (round robin) */
};

typedef struct vr_place {
    uint32_t universe;
    int node;            /* OS index of the NUMA node */
    char cpus[64];       /* OS CPU list, e.g. "0-3" */
    uint64_t arena_bytes;
} vr_place;

typedef struct vr_plan {
    uint32_t n;          /* universes */
    uint32_t nnodes;
    bool thissystem;     /* false: synthetic or XML topology, binding is reported only */
    char topology[128];  /* where the topology came from */
    vr_place *place;     /* n entries */
    uint64_t *node_bytes;/* nnodes entries: arena bytes planned per node */
    uint32_t *node_os;   /* nnodes entries: OS index of each node */
} vr_plan;

/* Loads the topology: `spec` NULL or "" means this machine (hwloc also
 * honours HWLOC_SYNTHETIC / HWLOC_XMLFILE), a path ending in ".xml" an XML
 * export, anything else a synthetic description ("package:2 numa:1 core:4
 * pu:1").  Returns 0 or -VR_EBADARG with a message in err. */
int vr_topology_load(hwloc_topology_t *topo, const char *spec, char *err, size_t errlen);

/* Spreads n universes of the given arena sizes across NUMA nodes: largest
 * first, each to the node with the fewest planned bytes (ties: lowest node),
 * so the result is deterministic.  Returns 0 or -ENOMEM. */
int vr_plan_make(vr_plan *plan, hwloc_topology_t topo, const uint64_t *arena_bytes, uint32_t n,
                 enum vr_pin_mode pin);
void vr_plan_fini(vr_plan *plan);
void vr_plan_print(const vr_plan *plan, FILE *out);

/* ---- command protocol --------------------------------------------------- */
/* A request is a msgpack map {"cmd": NAME, "n": INT?, "v": WIRE_VERSION?};
 * a reply is a map with "ok": true and the command's fields, or "ok": false
 * and "error": a sentence naming what was wrong. */
#define VR_CMD_MAX_BYTES 65536
#define VR_CMD_MAX_STEP 1000000

#define VR_CMDS(X)  \
    X(STATUS, "status") \
    X(STEP, "step") \
    X(PAUSE, "pause") \
    X(RESUME, "resume") \
    X(HASH, "hash") \
    X(SHUTDOWN, "shutdown")

typedef enum vr_cmd_kind {
    VR_CMD_NONE = 0,
#define VR_CMD_ENUM(k, s) VR_CMD_##k,
    VR_CMDS(VR_CMD_ENUM)
#undef VR_CMD_ENUM
} vr_cmd_kind;

typedef struct vr_cmd {
    vr_cmd_kind kind;
    int64_t n; /* step count; 0 when absent */
} vr_cmd;

/* Parses a request.  Returns 0, or -VR_EBADMSG / -VR_EBADVERSION /
 * -VR_EBADARG with a sentence in err. */
int vr_cmd_parse(const void *data, size_t len, vr_cmd *out, char *err, size_t errlen);
const char *vr_cmd_name(vr_cmd_kind k);

/* Appends a whole {"ok": false, "error": msg} reply to sb. */
void vr_reply_error(msgpack_sbuffer *sb, const char *msg);

/* Cluster hash: XXH3 over the universes' state hashes in universe order. */
uint64_t vr_cluster_hash(const uint64_t *hashes, uint32_t n);

/* vrctl_top.c: `vrctl top` and `vrctl map` (argv[0] is the subcommand);
 * exit statuses as vrctl's. */
int vrctl_top(const char *name, int argc, char **argv);
int vrctl_map(const char *name, int argc, char **argv);

#endif
