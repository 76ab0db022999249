/* sim_internal.h: state shared by the simulation files of workers/ only. */
#ifndef VR_SIM_INTERNAL_H
#define VR_SIM_INTERNAL_H

#include "vr_sim.h"
#include "content.h"
#include "path.h"

#include <errno.h>

/* nodes.kind */
enum { VR_NODE_STAR = 1, VR_NODE_PLANET, VR_NODE_ASTEROID, VR_NODE_NEBULA, VR_NODE_GATE };

/* What a ship gets from its design (from built-in or loaded content). */
typedef struct vr_shipstats {
    uint16_t index;
    uint16_t attacks;
    uint8_t accuracy, evasion, morale;
    uint32_t cargo;
    float hull, shield, armor, strength, ap, speed;
} vr_shipstats;

struct vr_sim {
    vr_content *content;      /* the scenario's, or own_content */
    vr_content *own_content;  /* built-in content made from the seed */
    vr_shipstats *stats;      /* per content design */
    float *design_hull;       /* per content design: max hull (auditor) */
    int64_t *design_credits;  /* per content design: cost, milli-credits */
    int64_t *design_alloys;   /* per content design: cost, alloys */
    uint32_t *design_turns;   /* per content design: build time */
    uint32_t ndesigns, ncontent_factions;
    vr_scenario sc;
    /* Routing on the two-level graph (movement.c, built on first use from
     * the arena's nodes, edges and lanes, which do not change after turn 0):
     * the overlay graph has one node per system (its star) and one edge per
     * lane row (edge id = lane row) costing star -> gate -> lane -> facing
     * gate -> star; the pathfinder's CH is built with nothing blocked and
     * storms block overlay edges, so every answer is a pure function of the
     * galaxy and the blocked set (a restarted worker routes the same). */
    vr_graph *graph;
    vr_pathfinder *pf;
    uint32_t *path_buf;       /* scratch: a whole path (n systems at most) */
    double *to_star;          /* per node: internal cost to its system's star */
    double *lane_w;           /* per lane row: overlay edge cost */
    uint32_t *lane_edge;      /* per lane row: its gate-to-gate row in edges */
    uint32_t *lane_back;      /* per lane row: the lane row of the way back */
    uint64_t *present;        /* scratch per system: factions standing (bit (f-1) & 63) */
    uint32_t *slow;           /* scratch per fleet row: fleets the fast pass left */
    uint32_t n;
};

/* Internal cost between two nodes of one system (their shortest path inside
 * it), or -1 when they are in different systems. */
double vr__internal_cost(const vr_cols *c, uint32_t a, uint32_t b);
/* Builds movement's routing (above) if not yet built.  0 or an error. */
int vr__routing(vr_sim *sim, const vr_cols *c);
/* Cost of the shortest path from node a to node b (stars and bodies: where
 * fleets stand; from or to a gate it may be longer, by going through the
 * gate's star) on the two-level graph, honouring closed lanes, through the
 * overlay: a's way to its star, star to star, the star's way to b.  0 (cost
 * set, VR_PATH_INF if none) or an error. */
int vr__route_cost(vr_sim *sim, const vr_cols *c, uint32_t a, uint32_t b, double *cost);
/* Storms of the turn: open the lanes whose storm ended, close new ones
 * (edges.blocked counts the turns left); keeps the pathfinder in step. */
int vr__storms(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);

/* The design a new ship of faction gets, from a random draw r. */
const vr_shipstats *vr__design_for(const vr_sim *sim, uint16_t faction, uint64_t r);
/* Monotonic clock for per-system timings (never feeds the state). */
uint64_t vr__clock_ns(void);

/* Content index of faction f (1-based). */
uint16_t vr__faction_content(const vr_sim *sim, uint32_t f);

/* Movement (movement.c): adds its counts and time to *st. */
int vr__move(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);

/* Economy (economy_turn.c): genesis of the market and ledger; the turn's
 * production, upkeep, builds and prices; the conservation check. */
/* Builds the economy's tables derived from the content (design costs);
 * called by vr_sim_new so that nothing depends on the process's history. */
int vr__economy_init(vr_sim *sim);
int vr__economy_genesis(vr_sim *sim, vr_cols *c);
int vr__economy(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);
int vr__economy_check(vr_sim *sim, vr_cols *c, char *err, size_t errlen);
/* A fleet about to be freed loses its cargo, recorded as destroyed. */
int vr__economy_lose_cargo(vr_sim *sim, vr_cols *c, uint32_t fleet);

/* A ship costs its price / VR_UPKEEP_DIVISOR in upkeep every turn. */
#define VR_UPKEEP_DIVISOR 100000

/* A new fleet of one ship of `design` for faction at system sys (a ship
 * built by production). */
int vr__spawn_built(vr_sim *sim, vr_cols *c, uint16_t faction, uint32_t design, uint32_t sys);
/* A new fleet of n ships of `design` for faction, standing at the star of
 * sys, with no cargo; its id in *id.  Checks room first: 0 or -VR_EFULL
 * with nothing allocated, -VR_EBADARG for a bad design. */
int vr__spawn_ships(vr_sim *sim, vr_cols *c, uint16_t faction, uint32_t design, uint32_t sys, uint32_t n,
                    uint64_t *id);

/* AI decisions (decisions.c): factions choose a posture (stance, budget,
 * diplomacy sought); fleets at their destination choose a new one. */
int vr__decide(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);
/* The opinion pushes (nf * nf, row a * nf + b) of the diplomacy the
 * factions seek (factions.seek), for the next vr_diplomacy_turn.  0. */
int vr__diplomacy_push(const vr_cols *c, uint32_t nf, int16_t *push);

/* Combat (battles.c): fights where enemies meet; adds counts and time. */
int vr__battles(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);

/* Portals (portal.c): the portal ends of this universe at turn 0; fleets
 * choosing a portal (after the AI); fleets entering one (after movement). */
int vr__portal_genesis(vr_sim *sim, vr_cols *c);
void vr__portal_capacity(const vr_scenario *s, uint32_t cap[VR_NTABLES]);
int vr__portal_decide(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);
int vr__portal_enter(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);

/* Allocates a fleet and its ships, drawn from stream key (turn, k). */
int vr__spawn_fleet(vr_sim *sim, vr_cols *c, uint64_t turn, uint64_t k);

#endif
