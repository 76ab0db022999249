/* sim_internal.h: state shared by the simulation files of workers/ only. */
#ifndef VR_SIM_INTERNAL_H
#define VR_SIM_INTERNAL_H

#include "vr_sim.h"

#include <errno.h>

struct vr_sim {
    vr_scenario sc;
    /* next_hop[dest] (lazily built): for every system, the neighbour on a
     * shortest path toward dest.  Derived from the lanes, which do not change
     * after turn 0, so a restarted worker rebuilds the same trees. */
    uint32_t **next_hop;
    uint32_t n;
};

/* Allocates a fleet with attributes drawn from stream key (turn, k). */
int vr__spawn_fleet(vr_sim *sim, vr_cols *c, uint64_t turn, uint64_t k);

#endif
