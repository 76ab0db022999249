/* turn.c: one turn of a universe: the systems, in their fixed order.
 *
 *   0. arrivals    (before this function, with the commands: worker.c calls
 *                  vr_sim_arrivals then vr_sim_commands) fleets that came
 *                  through a portal last turn appear, in canonical order
 *   1. diplomacy   relations drift; war, peace, trade, alliance
 *   2. economy     planets produce and pay tax; fleets cost upkeep; planets
 *                  queue and build ships (new fleets); planets eat food,
 *                  buy what they lack and sell surplus; market prices follow
 *                  stock, demand and supply
 *   3. AI          fleets standing at their destination score attack, defend,
 *                  expand, mine, trade, retreat and pick a new destination;
 *                  changed decisions are logged with their scores; a fleet
 *                  that chose to expand near a portal may take it (portal.c)
 *   4. movement    storms close and open hyperlanes; fleets travel the
 *                  two-level graph (bodies, stars, gates, lanes);
 *                  interception by enemies at war; disbanded fleets (and
 *                  their ships) are freed and replaced (deferred, in row
 *                  order); fleets standing at the portal they head for
 *                  leave the universe into the outbox (portal.c)
 *   5. combat      where fleets of factions at war stand at one system they
 *                  fight (rounds of shooting, damage, morale, victory check);
 *                  losers and routed retreat; destroyed ships and empty
 *                  fleets are freed (deferred), empty fleets are replaced
 *   6. audit       cheap invariants every turn, full every 10 (with resource
 *                  conservation against the ledger), deep every 100
 *
 * The order is part of the determinism promise: changing it changes hashes.
 * Each system reports its time and counts in the turn's metrics.
 */
#include "sim_internal.h"

#include "audit.h"
#include "diplomacy.h"

#include <stdlib.h>
#include <string.h>

int vr_sim_turn(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *stats)
{
    const vr_scenario *s = &sim->sc;
    vr_turn_stats st;
    memset(&st, 0, sizeof st);

    /* opinions move toward what the factions' AI sought last turn */
    int16_t *push = malloc((size_t)s->factions * s->factions * sizeof *push);
    if (!push)
        return -ENOMEM;
    vr__diplomacy_push(c, s->factions, push);
    vr_diplomacy_params dp = {.seed = s->seed, .universe = s->universe, .turn = turn, .factions = s->factions,
                              .push = push};
    int rc = vr_diplomacy_turn(&dp, c);
    free(push);
    if (rc < 0)
        return rc;

    if ((rc = vr__economy(sim, c, turn, &st)))
        return rc;
    if ((rc = vr__decide(sim, c, turn, &st)) || (rc = vr__portal_decide(sim, c, turn, &st)))
        return rc;
    if ((rc = vr__storms(sim, c, turn, &st)))
        return rc;
    if ((rc = vr__move(sim, c, turn, &st)) || (rc = vr__portal_enter(sim, c, turn, &st)))
        return rc;
    if ((rc = vr__battles(sim, c, turn, &st)))
        return rc;

    uint64_t ta = vr__clock_ns();
    vr_audit_params ap = {.turn = turn, .factions = s->factions, .design_hull = sim->design_hull,
                          .ndesigns = sim->ndesigns};
    int level = vr_audit_level(turn);
    int64_t found = vr_audit_run(&ap, c, level);
    if (level >= 2) {
        char why[256];
        if (vr__economy_check(sim, c, why, sizeof why)) {
            vr_audit_report(&ap, c, VR_AUDIT_RESOURCES, VR_TAB_ledger, 0, 0.0);
            found++;
        }
    }
    st.m[VR_M_findings] = found > 0 ? (uint64_t)found : 0;
    st.m[VR_M_audit_ns] = vr__clock_ns() - ta;

    st.m[VR_M_ships] = c->tables[VR_TAB_ships].live;
    st.entities = (uint64_t)c->tables[VR_TAB_fleets].live + c->tables[VR_TAB_systems].live +
                  c->tables[VR_TAB_ships].live;
    if (stats)
        *stats = st;
    return 0;
}
