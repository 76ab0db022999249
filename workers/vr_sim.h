/* vr_sim.h: the simulation systems a worker runs on its arena (public header
 * of workers/).
 *
 * Every system is a pure function of the arena's columns, the scenario and
 * the turn number: no hidden state survives a turn except caches derived
 * from arena content, so a worker restarted on the same arena computes the
 * same next turn, bit for bit.
 */
#ifndef VR_SIM_H
#define VR_SIM_H

#include "vr_shm.h"

typedef struct vr_scenario {
    uint64_t seed;
    uint32_t universe;
    uint32_t systems;   /* star systems in the galaxy */
    uint32_t fleets;    /* fleets at turn 0 */
    uint32_t factions;  /* 1..65535 */
    /* a loaded content pack (workers/content.h), borrowed for the sim's
     * life; NULL: built-in procedural content made from the seed */
    const struct vr_content *content;
    /* the cluster's portal network (workers/portal.h), borrowed; NULL or
     * one without ends here: no portals in this universe */
    const struct vr_portal_net *portals;
} vr_scenario;

/* Capacities an arena needs for a scenario (fleet headroom included; the
 * designs table takes s->content's designs, or the built-in content's when
 * s->content is NULL). */
void vr_sim_capacity(const vr_scenario *s, uint32_t capacity[VR_NTABLES]);

/* Per-worker caches derived from the arena (shortest-path trees). */
typedef struct vr_sim vr_sim;
int vr_sim_new(vr_sim **out, const vr_scenario *s);
void vr_sim_destroy(vr_sim **sim);

/* Builds turn 0 into the work buffer: galaxy (systems, hyperlanes = minimum
 * spanning tree plus links to the 3 nearest neighbours), factions (with the
 * content's names), the designs table, and fleets.
 * Returns 0, -VR_EFULL if the arena is too small, or -VR_EBADARG. */
int vr_sim_genesis(vr_sim *sim, vr_cols *c);

/* Runs every system of turn `turn` on the work buffer, in the fixed order
 * documented in turn.c (diplomacy, movement, audit).  Writes
 * counts and per-system times to *stats when not NULL.  Returns 0 or a
 * negative code. */
typedef struct vr_turn_stats {
    uint64_t entities;
    uint64_t m[VR_NMETRICS]; /* indexed by VR_M_* (schemas/metrics.def) */
} vr_turn_stats;
int vr_sim_turn(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *stats);

/* Applies the user commands of turn `turn` (workers/orders.c) to the work
 * buffer, before vr_sim_turn, in the order given (the coordinator's
 * canonical order), writing one result per command to res[i] and one row
 * per command to the "commands" table (emptied first: it holds this turn's
 * records, so the state hash covers what was applied).  Each command is
 * checked against this turn's state (a fleet may have died since the
 * coordinator accepted the order); a command that fails changes nothing but
 * its result and its row.  Returns 0, or a negative code when the arena
 * cannot be used at all (n > VR_TURN_MAX_CMDS: -VR_EBADARG). */
int vr_sim_commands(vr_sim *sim, vr_cols *c, uint64_t turn, const vr_wcmd *cmds, uint32_t n, vr_wresult *res);

/* Random-number streams (the last argument of vr_rand). */
enum vr_stream {
    VR_RS_SYSTEM_X = 1,
    VR_RS_SYSTEM_Y,
    VR_RS_OWNER,
    VR_RS_FLEET_AT,
    VR_RS_FLEET_DEST,
    VR_RS_FLEET_SPEED,
    VR_RS_FLEET_SHIPS,
    VR_RS_FLEET_FACTION,
    VR_RS_DISBAND,
    VR_RS_BODIES,
    VR_RS_ORBIT,
    VR_RS_PLANET,
    VR_RS_DESIGN,
    VR_RS_FACTION,
    VR_RS_DIPLOMACY,
    VR_RS_STORM,
    VR_RS_PORTAL,
    VR_RS_PORTAL_AI,
};

/* Goods in stockpiles and cargo (lanes of the stock columns). */
enum vr_resource { VR_RES_ORE, VR_RES_ALLOYS, VR_RES_FUEL, VR_RES_FOOD, VR_NRES };
#define VR_MAX_FLEET_SHIPS 20

#endif
