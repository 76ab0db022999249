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
/* A request is a msgpack map {"cmd": NAME, "v": WIRE_VERSION?, fields...};
 * a reply is a map with "ok": true and the command's fields, or "ok": false
 * and "error": a sentence naming what was wrong.  Fields per command:
 *   step      "n": 1..VR_CMD_MAX_STEP (default 1)
 *   order     "universe", "fleet" (id), "kind": move|attack|hold|retreat,
 *             "to": system (move and attack only, required there),
 *             "to_universe": universe of "to" (optional; another universe:
 *             the fleet goes through the cheapest portal leading there)
 *   spawn     "universe", "faction" (1-based number or name), "design"
 *             (designs row or name), "at": system, "ships": 1..100 (default 1)
 *   policy    "universe", "faction", and "stance":
 *             balanced|aggressive|defensive|auto and/or "budget":
 *             [military, economy, expansion] (numbers >= 0, sum > 0) or "auto"
 *   result    "ticket": what order/spawn/policy replied
 *   snapshot  "path" (optional: default the --snapshot-dir name); taken
 *             between turns; the reply carries "path", "turn", "bytes"
 * Game commands (order, spawn, policy) are queued and applied by the worker
 * at the start of the next turn it computes; their reply carries a ticket. */
#define VR_CMD_MAX_BYTES 65536
#define VR_CMD_MAX_STEP 1000000
#define VR_CMD_MAX_UNIVERSES 1024

#define VR_CMDS(X)  \
    X(STATUS, "status") \
    X(STEP, "step") \
    X(PAUSE, "pause") \
    X(RESUME, "resume") \
    X(HASH, "hash") \
    X(SHUTDOWN, "shutdown") \
    X(ORDER, "order") \
    X(SPAWN, "spawn") \
    X(POLICY, "policy") \
    X(RESULT, "result") \
    X(SNAPSHOT, "snapshot")

typedef enum vr_cmd_kind {
    VR_CMD_NONE = 0,
#define VR_CMD_ENUM(k, s) VR_CMD_##k,
    VR_CMDS(VR_CMD_ENUM)
#undef VR_CMD_ENUM
} vr_cmd_kind;

#define VR_CMD_NAME_MAX 64 /* widest name column (designs.name) */
#define VR_CMD_PATH_MAX 1023

typedef struct vr_cmd {
    vr_cmd_kind kind;
    int64_t n;            /* step count; 0 when absent */
    uint32_t universe;    /* order, spawn, policy */
    uint32_t op;          /* order: VR_OP_MOVE..VR_OP_RETREAT; spawn/policy: VR_OP_SPAWN/POLICY */
    uint64_t fleet;       /* order */
    uint32_t system;      /* order "to", spawn "at"; VR_NO_SYSTEM when absent */
    uint32_t faction;     /* 1-based; 0 when given by name (faction_name) */
    uint32_t design;      /* designs row; UINT32_MAX when given by name (design_name) */
    uint32_t ships;       /* spawn */
    uint8_t stance;       /* policy: enum vr_stance, VR_STANCE_KEEP when absent */
    uint8_t budget_mode;  /* policy: enum vr_budget_mode */
    double budget[3];     /* policy, VR_BUDGET_SET */
    uint64_t ticket;      /* result */
    uint32_t to_universe; /* order move/attack "to_universe": 0 absent, else 1 + universe of "to" */
    uint32_t faction_len, design_len;
    char faction_name[VR_CMD_NAME_MAX + 1]; /* NUL-terminated, no NUL inside */
    char design_name[VR_CMD_NAME_MAX + 1];
    char path[VR_CMD_PATH_MAX + 1]; /* snapshot: "" when absent */
} vr_cmd;

/* Parses a request: its shape, each field's type and range, which fields
 * the command takes.  Never looks at the world: names and ids are checked
 * by vr_cmd_resolve.  Returns 0, or -VR_EBADMSG / -VR_EBADVERSION /
 * -VR_EBADARG with a sentence in err. */
int vr_cmd_parse(const void *data, size_t len, vr_cmd *out, char *err, size_t errlen);
const char *vr_cmd_name(vr_cmd_kind k);

/* Checks a parsed order, spawn or policy against the last committed turn of
 * its universe (arenas[universe], read through a consistent view): the
 * universe exists, the fleet is alive (its generation matches), the faction
 * and design exist (by number or name), the system is in range; then fills
 * *out for the worker (ticket left 0; budget normalised to sum 1, as
 * float32).  Returns 0, -VR_EBADARG (unknown universe, system, faction or
 * design), -VR_EBADID (dead or unknown fleet) or -VR_ETORN / -VR_ENOTYET,
 * with a sentence in err. */
int vr_cmd_resolve(const vr_cmd *cmd, vr_arena *const *arenas, uint32_t nuniverses, vr_wcmd *out, char *err,
                   size_t errlen);

/* Appends a whole {"ok": false, "error": msg} reply to sb. */
void vr_reply_error(msgpack_sbuffer *sb, const char *msg);
/* The same with "code": the negative project code (e.g. -VR_EBADID), so
 * clients can tell kinds of errors apart without parsing the sentence. */
void vr_reply_error_code(msgpack_sbuffer *sb, int code, const char *msg);

/* Cluster hash: XXH3 over the universes' state hashes in universe order. */
uint64_t vr_cluster_hash(const uint64_t *hashes, uint32_t n);

/* portals.c: the cluster-wide portal conservation audit.  Each DONE(n)
 * carries what its worker sent in turn n (per destination) and what it
 * received (per source, sent in turn n - 1); once every DONE(n) is in,
 * vr_xfer_check compares what left in turn n - 1 with what arrived in turn
 * n, pair by pair, and reports every difference (never fixing it). */
typedef struct vr_xfer vr_xfer;
int vr_xfer_new(vr_xfer **out, uint32_t universes);
void vr_xfer_destroy(vr_xfer **x);
/* Universe u's DONE of `turn` said this. */
void vr_xfer_record(vr_xfer *x, uint32_t u, uint64_t turn, const vr_portal_stat *st, uint32_t n);
/* Checks turn `turn` (all DONEs recorded): calls report(arg, src, dst,
 * sentence) per violation, then rolls the turn over.  Returns violations. */
typedef void vr_xfer_report(void *arg, uint32_t src, uint32_t dst, const char *sentence);
uint32_t vr_xfer_check(vr_xfer *x, uint64_t turn, vr_xfer_report *report, void *arg);
/* Totals since start: fleets and ships that left, and that arrived. */
void vr_xfer_totals(const vr_xfer *x, uint64_t *fleets_out, uint64_t *ships_out, uint64_t *fleets_in,
                    uint64_t *ships_in);

/* vrctl_top.c: `vrctl top` and `vrctl map` (argv[0] is the subcommand);
 * exit statuses as vrctl's. */
int vrctl_top(const char *name, int argc, char **argv);
int vrctl_map(const char *name, int argc, char **argv);

#endif
