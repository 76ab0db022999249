/* audit.h: the auditor: invariants of a universe checked every turn.
 *
 * Three levels: cheap checks run every turn (O(fleets + factions)), full
 * checks every 10 turns (O(every row)), deep checks every 100 turns (graph
 * structure, free lists).  A violation is recorded, with its rule, table,
 * entity and offending value, in the arena's "findings" table (a ring whose
 * rows carry their turn) and counted; it is never fixed: the state stays as
 * the systems left it, so the hash shows what really happened.
 */
#ifndef VR_AUDIT_H
#define VR_AUDIT_H

#include "vr_shm.h"

/* X(name, level, description): the rules, numbered from 1 in this order. */
#define VR_AUDIT_RULES(X)                                                                        \
    X(TABLE_COUNTS,      1, "count <= capacity, live + free_count == count")                     \
    X(FLEET_POSITION,    1, "a fleet's at, next, dest are systems, node/dest_node theirs; progress >= 0") \
    X(FLEET_SPEED,       1, "a fleet with ships has a positive, finite speed")                   \
    X(FACTION_SHIPS,     1, "ships counted per faction add up to the ships alive")                \
    X(SHIP_HULL,         2, "a ship's hull is in (0, its design's hull] unless destroyed")        \
    X(SHIP_SHIELD,       2, "a ship's shield is >= 0 and finite")                                 \
    X(SHIP_FLEET,        2, "a ship belongs to a live fleet of its own faction")                  \
    X(SHIP_FACTION,      2, "a ship's faction is one of the universe's factions")                 \
    X(FLEET_SHIP_COUNT,  2, "a fleet's ship count equals its live ships")                         \
    X(PLANET_OWNER,      2, "a planet's owner is 0 or a faction; its node is a planet node")      \
    X(STOCK_NEGATIVE,    2, "stockpiles, reserves and treasuries are >= 0")                       \
    X(RELATION_SYMMETRY, 2, "relations are symmetric; a faction is allied with itself")           \
    X(RESOURCES,         2, "every resource is conserved: totals == start + produced - consumed - destroyed") \
    X(LANE_SYMMETRY,     3, "every lane a->b has a lane b->a of the same length")                 \
    X(EDGE_TARGET,       3, "every edge leads to an existing node; CSR ranges are in bounds")     \
    X(FREE_LIST,         3, "free rows are dead, distinct and below count")

enum vr_audit_rule {
    VR_AUDIT_NONE = 0,
#define VR_AUDIT_ENUM(name, level, doc) VR_AUDIT_##name,
    VR_AUDIT_RULES(VR_AUDIT_ENUM)
#undef VR_AUDIT_ENUM
    VR_AUDIT_NRULES
};

typedef struct vr_audit_params {
    uint64_t turn;
    uint32_t factions;          /* factions of the universe */
    const float *design_hull;   /* max hull per design index (NULL: not checked) */
    uint32_t ndesigns;
} vr_audit_params;

/* Level of checks for a turn: 3 every 100 turns, 2 every 10, else 1. */
int vr_audit_level(uint64_t turn);

/* Runs the checks of `level` (1..3; a level includes the lower ones) on the
 * work buffer and appends findings.  Returns the number of findings (>= 0). */
int64_t vr_audit_run(const vr_audit_params *p, vr_cols *c, int level);

/* Records a finding found by a check outside this module (e.g. the
 * economy's conservation check). */
void vr_audit_report(const vr_audit_params *p, vr_cols *c, int rule, uint32_t table, uint32_t row, double value);

/* Name and description of a rule ("?" when unknown). */
const char *vr_audit_rule_name(int rule);
const char *vr_audit_rule_doc(int rule);

#endif
