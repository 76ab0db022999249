/* sim.c: the per-worker simulation object: scenario, designs, derived caches.
 *
 * Nothing here is state of the universe: it is either configuration (the
 * scenario, the designs) or derived from the arena (path trees), so a worker
 * restarted on the same arena rebuilds exactly the same object.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int vr_sim_new(vr_sim **out, const vr_scenario *s)
{
    *out = NULL;
    if (s->systems < 2 || s->factions == 0 || s->factions > 65535)
        return -VR_EBADARG;
    vr_sim *sim = calloc(1, sizeof *sim);
    if (!sim)
        return -ENOMEM;
    sim->sc = *s;
    sim->n = s->systems;
    /* built-in hull classes until a content pack is given */
    static const vr_design builtin[] = {
        {.attacks = 2, .accuracy = 40, .evasion = 60, .morale = 7, .cargo = 0,
         .hull = 300, .shield = 50, .armor = 2, .strength = 12, .ap = -1, .speed = 16},   /* corvette */
        {.attacks = 4, .accuracy = 45, .evasion = 35, .morale = 8, .cargo = 0,
         .hull = 800, .shield = 150, .armor = 4, .strength = 14, .ap = -2, .speed = 14},  /* destroyer */
        {.attacks = 6, .accuracy = 50, .evasion = 15, .morale = 9, .cargo = 0,
         .hull = 1800, .shield = 400, .armor = 8, .strength = 18, .ap = -3, .speed = 12}, /* cruiser */
        {.attacks = 10, .accuracy = 55, .evasion = 5, .morale = 10, .cargo = 0,
         .hull = 4000, .shield = 900, .armor = 12, .strength = 24, .ap = -4, .speed = 9}, /* battleship */
        {.attacks = 0, .accuracy = 0, .evasion = 20, .morale = 5, .cargo = 500,
         .hull = 600, .shield = 50, .armor = 2, .strength = 0, .ap = 0, .speed = 10},     /* freighter */
        {.attacks = 1, .accuracy = 30, .evasion = 10, .morale = 5, .cargo = 300,
         .hull = 500, .shield = 30, .armor = 3, .strength = 6, .ap = 0, .speed = 8},      /* miner */
    };
    sim->ndesigns = sizeof builtin / sizeof builtin[0];
    sim->designs = malloc(sizeof builtin);
    if (!sim->designs) {
        free(sim);
        return -ENOMEM;
    }
    memcpy(sim->designs, builtin, sizeof builtin);
    for (uint32_t d = 0; d < sim->ndesigns; d++)
        sim->designs[d].index = (uint16_t)d;
    sim->next_hop = calloc(s->systems, sizeof *sim->next_hop);
    if (!sim->next_hop) {
        free(sim->designs);
        free(sim);
        return -ENOMEM;
    }
    *out = sim;
    return 0;
}

void vr_sim_destroy(vr_sim **sim)
{
    if (!sim || !*sim)
        return;
    for (uint32_t i = 0; i < (*sim)->n; i++)
        free((*sim)->next_hop[i]);
    free((*sim)->next_hop);
    free((*sim)->designs);
    free(*sim);
    *sim = NULL;
}

uint64_t vr__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const vr_design *vr__design_for(const vr_sim *sim, uint16_t faction, uint64_t r)
{
    (void)faction;
    return &sim->designs[r % sim->ndesigns];
}

uint16_t vr__faction_content(const vr_sim *sim, uint32_t f)
{
    (void)sim;
    return (uint16_t)(f - 1);
}

