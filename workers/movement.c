/* movement.c: fleets travel along hyperlanes; arrivals pick new destinations.
 *
 * Each turn a fleet spends its speed as distance along its path: it may cross
 * several systems in one turn and stops mid-lane when the budget runs out.
 * A fleet that reaches its destination holds it for the rest of the turn;
 * the AI (decisions.c) gives it a new one at the start of a later turn.  A fleet reaching a system where a fleet of a
 * faction it is at war with stood when the turn began is intercepted: it
 * stops there (and combat follows).
 * Routes are shortest paths over the hyperlanes from the pathfinder (path.c:
 * contraction hierarchies); each fleet keeps the next 16 systems of its route
 * in the arena and asks again only when they run out or its destination
 * changes.
 * Fleets are processed in row order and disbanded fleets are replaced after
 * the loop, in row order, so the result never depends on timing.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

/* Builds the pathfinder over the hyperlanes on first use.  The lanes do not
 * change after turn 0 (nothing blocks them yet), and the pathfinder's answers
 * are a pure function of the graph, so a restarted worker routes the same. */
static int ensure_paths(vr_sim *sim, const vr_cols *c)
{
    if (sim->pf)
        return 0;
    uint32_t nl = c->tables[VR_TAB_lanes].count;
    vr_edge *e = malloc((nl ? nl : 1) * sizeof *e);
    if (!e)
        return -ENOMEM;
    for (uint32_t l = 0; l < nl; l++)
        e[l] = (vr_edge){c->lanes_from[l], c->lanes_to[l], (double)c->lanes_length[l]};
    int rc = vr_graph_new(&sim->graph, c->tables[VR_TAB_systems].count, e, nl);
    free(e);
    if (rc == 0)
        rc = vr_pathfinder_new(&sim->pf, sim->graph, &(vr_path_opts){.cache_slots = 1u << 18});
    return rc;
}

static float lane_length(const vr_cols *c, uint32_t a, uint32_t b)
{
    uint32_t l = c->systems_lane_begin[a], e = l + c->systems_lane_count[a];
    for (; l < e; l++)
        if (c->lanes_to[l] == b)
            return c->lanes_length[l];
    return 0.0f;
}

/* Next system on the way from at to dest for fleet i.  The fleet keeps the
 * next VR_ROUTE systems of its shortest path in the arena (fleets.route), so
 * the pathfinder is asked once per VR_ROUTE hops instead of at every system,
 * and a restarted worker follows the very same route (it is state). */
#define VR_ROUTE 16
static int next_hop(vr_sim *sim, vr_cols *c, uint32_t i, uint32_t at, uint32_t dest, uint32_t *next,
                    vr_turn_stats *st)
{
    uint32_t *route = c->fleets_route + (size_t)i * VR_ROUTE;
    if (c->fleets_route_dest[i] == dest && c->fleets_route_pos[i] < c->fleets_route_len[i] &&
        lane_length(c, at, route[c->fleets_route_pos[i]]) > 0.0f) { /* still continues from here */
        *next = route[c->fleets_route_pos[i]++];
        return 0;
    }
    st->m[VR_M_paths]++;
    if (!sim->path_buf && !(sim->path_buf = malloc((size_t)sim->n * sizeof *sim->path_buf)))
        return -ENOMEM;
    double cost;
    long len = vr_path_query(sim->pf, at, dest, &cost, sim->path_buf, sim->n);
    c->fleets_route_len[i] = c->fleets_route_pos[i] = 0;
    c->fleets_route_dest[i] = dest;
    if (len == -VR_ENOPATH || len < 2) { /* unreachable (never: the galaxy is connected) */
        *next = at;
        return len < 0 && len != -VR_ENOPATH ? (int)len : 0;
    }
    *next = sim->path_buf[1];
    uint32_t keep = (uint32_t)len - 2 < VR_ROUTE ? (uint32_t)len - 2 : VR_ROUTE;
    memcpy(route, sim->path_buf + 2, keep * sizeof *route);
    c->fleets_route_len[i] = (uint8_t)keep;
    return 0;
}


int vr__move(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *stats)
{
    const vr_scenario *s = &sim->sc;
    vr_turn_stats st = *stats;
    uint64_t t0 = vr__clock_ns();
    int prc0 = ensure_paths(sim, c);
    if (prc0)
        return prc0;
    uint32_t nf = c->tables[VR_TAB_fleets].count;
    const uint32_t *restrict gen = c->gen[VR_TAB_fleets];
    uint32_t *restrict at = c->fleets_at, *restrict next = c->fleets_next, *restrict dest = c->fleets_dest;
    float *restrict progress = c->fleets_progress;
    const float *restrict speed = c->fleets_speed;
    uint32_t *disband = NULL;
    uint32_t ndisband = 0;

    /* Fleets standing at a system when the turn starts, grouped by system:
     * a fleet reaching a system where an enemy at war stands is intercepted.
     * Taken before anyone moves, so the result does not depend on order. */
    uint32_t nsys = c->tables[VR_TAB_systems].count, nfac = s->factions;
    uint32_t *sbeg = calloc((size_t)nsys + 1, sizeof *sbeg);
    uint16_t *sfac = malloc((nf ? nf : 1) * sizeof *sfac);
    if (!sbeg || !sfac) {
        free(sbeg), free(sfac);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < nf; i++)
        if ((gen[i] & 1) && next[i] == at[i] && c->fleets_ships[i])
            sbeg[at[i] + 1]++;
    for (uint32_t k = 0; k < nsys; k++)
        sbeg[k + 1] += sbeg[k];
    uint32_t *fill = malloc(((size_t)nsys + 1) * sizeof *fill);
    if (!fill) {
        free(sbeg), free(sfac);
        return -ENOMEM;
    }
    memcpy(fill, sbeg, ((size_t)nsys + 1) * sizeof *fill);
    for (uint32_t i = 0; i < nf; i++)
        if ((gen[i] & 1) && next[i] == at[i] && c->fleets_ships[i])
            sfac[fill[at[i]]++] = c->fleets_faction[i];
    free(fill);

    for (uint32_t i = 0; i < nf; i++) {
        if (!(gen[i] & 1))
            continue;
        float budget = speed[i];
        int moved = 0;
        uint16_t me = c->fleets_faction[i];
        for (int hops = 0; hops < 64; hops++) {
            if (at[i] == dest[i] && next[i] == at[i]) {
                if (moved) { /* arrived this turn: hold the system until next turn */
                    c->fleets_arrivals[i]++;
                    st.m[VR_M_arrivals]++;
                    break;
                }
                /* standing at its destination (the AI chose to stay): a fleet
                 * may be disbanded (its ships freed, a new fleet raised) */
                uint64_t id = vr_ent_id(c, VR_TAB_fleets, i);
                uint64_t r = vr_rand(s->seed, s->universe, turn, id, VR_RS_DISBAND);
                if ((r & 31) == 0) {
                    if (!disband && !(disband = malloc(nf * sizeof *disband))) {
                        free(sbeg), free(sfac);
                        return -ENOMEM;
                    }
                    disband[ndisband++] = i;
                }
                break;
            }
            if (next[i] == at[i]) {
                uint64_t tp = vr__clock_ns();
                int prc = next_hop(sim, c, i, at[i], dest[i], &next[i], &st);
                st.m[VR_M_paths_ns] += vr__clock_ns() - tp;
                if (prc) {
                    free(disband), free(sbeg), free(sfac);
                    return prc;
                }
                progress[i] = 0.0f;
                if (next[i] == at[i])
                    break;
            }
            if (budget <= 0.0f)
                break;
            float remain = lane_length(c, at[i], next[i]) - progress[i];
            moved = 1;
            if (budget < remain) {
                progress[i] += budget;
                break;
            }
            budget -= remain;
            at[i] = next[i];
            progress[i] = 0.0f;
            /* interception: an enemy at war stands here */
            int stop = 0;
            for (uint32_t k = sbeg[at[i]]; k < sbeg[at[i] + 1] && !stop; k++)
                stop = sfac[k] != me && me <= nfac && sfac[k] <= nfac &&
                       c->relations_state[(uint32_t)(me - 1) * nfac + (sfac[k] - 1)] == 1;
            if (stop && at[i] != dest[i]) {
                next[i] = at[i];
                st.m[VR_M_intercepted]++;
                break;
            }
        }
        st.m[VR_M_moved] += (uint64_t)moved;
    }
    free(sbeg);
    free(sfac);
    /* deferred: disband (the fleet and its ships), then replace in row order */
    if (ndisband) {
        uint8_t *gone = calloc(nf, 1);
        if (!gone) {
            free(disband);
            return -ENOMEM;
        }
        for (uint32_t k = 0; k < ndisband; k++) {
            int lrc = vr__economy_lose_cargo(sim, c, disband[k]);
            if (lrc) {
                free(gone), free(disband);
                return lrc;
            }
            gone[disband[k]] = 1;
            c->fleets_upkeep[disband[k]] = 0; /* a freed fleet costs nothing */
            c->fleets_capacity[disband[k]] = 0;
        }
        uint32_t ns = c->tables[VR_TAB_ships].count;
        for (uint32_t r = 0; r < ns; r++)
            if ((c->gen[VR_TAB_ships][r] & 1) && gone[c->ships_fleet[r]])
                vr_ent_free(c, VR_TAB_ships, vr_ent_id(c, VR_TAB_ships, r));
        free(gone);
    }
    for (uint32_t k = 0; k < ndisband; k++) {
        int rc = vr_ent_free(c, VR_TAB_fleets, vr_ent_id(c, VR_TAB_fleets, disband[k]));
        if (rc) {
            free(disband);
            return rc;
        }
    }
    for (uint32_t k = 0; k < ndisband; k++) {
        int rc = vr__spawn_fleet(sim, c, turn, k);
        if (rc) {
            free(disband);
            return rc;
        }
        st.m[VR_M_spawned]++;
    }
    free(disband);
    if (ndisband) { /* recount ships per faction after disband and respawn */
        for (uint32_t f = 0; f < c->tables[VR_TAB_factions].count; f++)
            c->factions_ships[f] = 0;
        uint32_t ns = c->tables[VR_TAB_ships].count;
        for (uint32_t r = 0; r < ns; r++)
            if (c->gen[VR_TAB_ships][r] & 1)
                c->factions_ships[c->ships_faction[r] - 1]++;
    }
    st.m[VR_M_movement_ns] = vr__clock_ns() - t0;
    *stats = st;
    return 0;
}
