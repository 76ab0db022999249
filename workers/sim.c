/* sim.c: the per-worker simulation object: scenario, content, derived caches.
 *
 * Nothing here is state of the universe: it is configuration (the scenario,
 * the content's ship designs turned into per-ship stats) or derived from the
 * arena (the pathfinder), so a worker restarted on the same arena rebuilds
 * exactly the same object.
 */
#include "sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Content units to simulation units: the engine's speeds (fighters 55,
 * corvettes 160) are per strategic tick; a turn here crosses lanes of about
 * 10 light years, so a speed of 100 covers one lane a turn. */
#define SPEED_SCALE 0.1f

static int build_stats(vr_sim *sim)
{
    uint32_t nd = 0, nf = 0;
    const vr_design *d = vr_content_designs(sim->content, &nd);
    vr_content_factions(sim->content, &nf);
    if (nd == 0 || nf == 0 || nd > 65535)
        return -VR_EBADARG;
    sim->stats = calloc(nd, sizeof *sim->stats);
    sim->design_hull = calloc(nd, sizeof *sim->design_hull);
    if (!sim->stats || !sim->design_hull)
        return -ENOMEM;
    sim->ndesigns = nd;
    sim->ncontent_factions = nf;
    for (uint32_t i = 0; i < nd; i++) {
        vr_shipstats *s = &sim->stats[i];
        const char *type = vr_content_string(sim->content, d[i].type);
        s->index = (uint16_t)i;
        s->hull = d[i].hp > 1.0f ? d[i].hp : 1.0f;
        s->shield = d[i].shield > 0 ? d[i].shield : 0;
        s->armor = d[i].armor > 0 ? d[i].armor : 0;
        s->strength = d[i].strength;
        s->ap = d[i].ap;
        s->attacks = (uint16_t)(d[i].attacks > 0 ? lroundf(d[i].attacks < 60000 ? d[i].attacks : 60000) : 0);
        s->accuracy = d[i].bs;
        s->evasion = d[i].md;
        s->morale = d[i].leadership < 2 ? 2 : d[i].leadership > 12 ? 12 : d[i].leadership;
        s->speed = d[i].speed > 1.0f ? d[i].speed * SPEED_SCALE : SPEED_SCALE;
        /* every hull has a small hold; freighters, miners and transports a big one */
        s->cargo = strstr(type, "transport") || strstr(type, "freighter") || strstr(type, "miner") ? 500 : 20;
        sim->design_hull[i] = s->hull;
    }
    return 0;
}

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
    int rc = 0;
    if (s->content) {
        sim->content = (vr_content *)s->content; /* borrowed */
    } else {
        rc = vr_content_builtin(&sim->own_content, s->seed);
        sim->content = sim->own_content;
    }
    if (rc == 0)
        rc = build_stats(sim);
    if (rc == 0)
        rc = vr__economy_init(sim);
    if (rc) {
        vr_sim_destroy(&sim);
        return rc;
    }
    *out = sim;
    return 0;
}

void vr_sim_destroy(vr_sim **sim)
{
    if (!sim || !*sim)
        return;
    vr_sim *x = *sim;
    vr_pathfinder_destroy(&x->pf);
    free(x->path_buf);
    free(x->to_star), free(x->lane_w), free(x->lane_edge), free(x->lane_back);
    free(x->present), free(x->slow);
    vr_graph_destroy(&x->graph);
    free(x->stats);
    free(x->design_hull);
    free(x->design_credits);
    free(x->design_alloys);
    free(x->design_turns);
    vr_content_destroy(&x->own_content);
    free(x);
    *sim = NULL;
}

uint64_t vr__clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint16_t vr__faction_content(const vr_sim *sim, uint32_t f)
{
    /* universe factions map onto the content's factions in order */
    return (uint16_t)((f - 1) % sim->ncontent_factions);
}

const vr_shipstats *vr__design_for(const vr_sim *sim, uint16_t faction, uint64_t r)
{
    uint32_t n = 0;
    const uint32_t *mine = vr_content_faction_designs(sim->content, vr__faction_content(sim, faction), &n);
    if (!mine || n == 0)
        return &sim->stats[r % sim->ndesigns];
    return &sim->stats[mine[r % n]];
}
