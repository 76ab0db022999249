/* sim_internal.h: state shared by the simulation files of workers/ only. */
#ifndef VR_SIM_INTERNAL_H
#define VR_SIM_INTERNAL_H

#include "vr_sim.h"
#include "content.h"
#include "path.h"

#include <errno.h>

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
    /* shortest paths over the hyperlanes (built on first use from the
     * lanes, which do not change after turn 0) */
    vr_graph *graph;
    vr_pathfinder *pf;
    uint32_t *path_buf;       /* scratch: a whole path (n systems at most) */
    uint32_t n;
};

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

/* AI decisions (decisions.c): fleets at their destination choose a new one. */
int vr__decide(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);

/* Combat (battles.c): fights where enemies meet; adds counts and time. */
int vr__battles(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st);

/* Allocates a fleet and its ships, drawn from stream key (turn, k). */
int vr__spawn_fleet(vr_sim *sim, vr_cols *c, uint64_t turn, uint64_t k);

#endif
