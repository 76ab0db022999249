/* battles.c: the combat system of a turn: where enemies meet, they fight.
 *
 * After movement, a fleet stands at a system when it is not on a lane
 * (next == at).  At each system where fleets of two factions at war stand,
 * one battle is fought between all their ships (combat.c: rounds of
 * shooting, damage, morale and victory check).  When more than two factions
 * are there, the pair at war with the most ships between them fights (ties:
 * lowest faction ids); the lower faction id is side 0.  Everything is
 * grouped in row order, so the outcome never depends on timing.
 *
 * Aftermath (deferred): destroyed ships are freed; a fleet whose side lost,
 * or with routed ships, retreats to the system of its first lane; a fleet
 * left without ships is freed and a new fleet is raised in its place (until
 * production builds them), so the universe keeps its size.  Battles between
 * two factions lower their opinion of each other (diplomacy acts on it).
 *
 * Every battle of the turn is written to the "battles" table (emptied at the
 * start of the system, like "decisions"): system, the two factions, ships at
 * the start, destroyed and routed per side, rounds, winner and how it ended.
 * Its capacity is the number of systems, one battle each at most; should a
 * row still not fit, the battle is fought but not logged (the battles metric
 * counts every battle, so rows < metric shows what was dropped).
 */
#include "sim_internal.h"

#include "combat.h"
#include "diplomacy.h"

#include <stdlib.h>
#include <string.h>

#define OPINION_PER_BATTLE (-25)

typedef struct here { /* a faction's presence at one system */
    uint16_t faction;
    uint32_t ships;
} here;

static int at_war(const vr_cols *c, uint32_t nf, uint16_t a, uint16_t b)
{
    return a != b && c->relations_state[(uint32_t)(a - 1) * nf + (b - 1)] == VR_REL_WAR;
}

int vr__battles(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st)
{
    const vr_scenario *s = &sim->sc;
    uint64_t t0 = vr__clock_ns();
    uint32_t nfl = c->tables[VR_TAB_fleets].count, nsh = c->tables[VR_TAB_ships].count;
    uint32_t nsys = c->tables[VR_TAB_systems].count, nf = s->factions;
    const uint32_t *fgen = c->gen[VR_TAB_fleets], *sgen = c->gen[VR_TAB_ships];
    int rc = 0;
    memset(&c->tables[VR_TAB_battles], 0, sizeof c->tables[VR_TAB_battles]); /* this turn's battles */

    /* standing fleets grouped by system (CSR, row order) */
    uint32_t *sbeg = calloc((size_t)nsys + 1, sizeof *sbeg);
    uint32_t *sfl = malloc((nfl ? nfl : 1) * sizeof *sfl);
    /* ships grouped by fleet (CSR, row order) */
    uint32_t *fbeg = calloc((size_t)nfl + 1, sizeof *fbeg);
    uint32_t *fsh = malloc((nsh ? nsh : 1) * sizeof *fsh);
    uint32_t *fill = NULL, *rows = NULL;
    uint64_t *ids = NULL;
    uint8_t *side = NULL, *fleet_side = NULL;
    vr_battle *battles = NULL;
    vr_battle_result *res = NULL;
    here *pres = NULL;
    if (!sbeg || !sfl || !fbeg || !fsh) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t f = 0; f < nfl; f++)
        if ((fgen[f] & 1) && c->fleets_next[f] == c->fleets_at[f] && c->fleets_ships[f] > 0)
            sbeg[c->fleets_at[f] + 1]++;
    for (uint32_t i = 0; i < nsys; i++)
        sbeg[i + 1] += sbeg[i];
    if (!(fill = malloc(((size_t)(nsys > nfl ? nsys : nfl) + 1) * sizeof *fill))) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(fill, sbeg, (size_t)nsys * sizeof *fill);
    for (uint32_t f = 0; f < nfl; f++)
        if ((fgen[f] & 1) && c->fleets_next[f] == c->fleets_at[f] && c->fleets_ships[f] > 0)
            sfl[fill[c->fleets_at[f]]++] = f;

    /* pick the battles: per system, the warring pair with the most ships */
    uint32_t nb = 0, nrows = 0;
    if (!(fleet_side = malloc(nfl ? nfl : 1)) || !(pres = malloc(((size_t)nf + 1) * sizeof *pres)) ||
        !(battles = malloc(((size_t)nsys + 1) * sizeof *battles))) {
        rc = -ENOMEM;
        goto out;
    }
    memset(fleet_side, 0xff, nfl ? nfl : 1);
    uint16_t *pair = malloc(((size_t)nsys + 1) * 2 * sizeof *pair);
    if (!pair) {
        rc = -ENOMEM;
        goto out;
    }
    for (uint32_t sy = 0; sy < nsys; sy++) {
        uint32_t b = sbeg[sy], e = sbeg[sy + 1];
        if (e - b < 2)
            continue;
        uint32_t np = 0;
        for (uint32_t k = b; k < e; k++) { /* factions present (few per system) */
            uint16_t fa = c->fleets_faction[sfl[k]];
            uint32_t j = 0;
            while (j < np && pres[j].faction != fa)
                j++;
            if (j == np)
                pres[np++] = (here){fa, 0};
            pres[j].ships += c->fleets_ships[sfl[k]];
        }
        uint16_t best_a = 0, best_b = 0;
        uint64_t best = 0;
        for (uint32_t i = 0; i < np; i++)
            for (uint32_t j = 0; j < np; j++) {
                uint16_t fa = pres[i].faction, fb = pres[j].faction;
                if (fa >= fb || !at_war(c, nf, fa, fb))
                    continue;
                uint64_t total = (uint64_t)pres[i].ships + pres[j].ships;
                if (total > best || (total == best && (fa < best_a || (fa == best_a && fb < best_b))))
                    best = total, best_a = fa, best_b = fb;
            }
        if (!best)
            continue;
        for (uint32_t k = b; k < e; k++) {
            uint16_t fa = c->fleets_faction[sfl[k]];
            if (fa == best_a || fa == best_b) {
                fleet_side[sfl[k]] = fa == best_a ? 0 : 1;
                nrows += c->fleets_ships[sfl[k]];
            }
        }
        /* .first holds the system until the rows are laid out below */
        battles[nb] = (vr_battle){.key = ((uint64_t)sy << 16) ^ turn, .first = sy, .count = 0};
        pair[2 * nb] = best_a, pair[2 * nb + 1] = best_b;
        nb++;
    }
    if (nb == 0) {
        free(pair);
        goto out;
    }

    /* lay out the rows of every battle: ships of its fleets, in fleet row order */
    for (uint32_t r = 0; r < nsh; r++)
        if (sgen[r] & 1)
            fbeg[c->ships_fleet[r] + 1]++;
    for (uint32_t f = 0; f < nfl; f++)
        fbeg[f + 1] += fbeg[f];
    memcpy(fill, fbeg, (size_t)nfl * sizeof *fill);
    for (uint32_t r = 0; r < nsh; r++)
        if (sgen[r] & 1)
            fsh[fill[c->ships_fleet[r]]++] = r;
    if (!(rows = malloc((nrows ? nrows : 1) * sizeof *rows)) || !(ids = calloc(nsh, sizeof *ids)) ||
        !(side = calloc(nsh, 1)) || !(res = calloc(nb, sizeof *res))) {
        free(pair);
        rc = -ENOMEM;
        goto out;
    }
    uint32_t w = 0;
    for (uint32_t k = 0; k < nb; k++) {
        uint32_t sy = battles[k].first;
        battles[k].first = w;
        for (uint32_t q = sbeg[sy]; q < sbeg[sy + 1]; q++) {
            uint32_t f = sfl[q];
            if (fleet_side[f] > 1)
                continue;
            for (uint32_t x = fbeg[f]; x < fbeg[f + 1]; x++) {
                uint32_t r = fsh[x];
                c->ships_state[r] = 0;
                ids[r] = vr_ent_id(c, VR_TAB_ships, r);
                side[r] = fleet_side[f];
                rows[w++] = r;
            }
        }
        battles[k].count = w - battles[k].first;
    }
    vr_ships soa = {.id = ids, .side = side, .hull = c->ships_hull, .shield = c->ships_shield,
                    .armor = c->ships_armor, .bs = c->ships_accuracy, .attacks = c->ships_attacks,
                    .strength = c->ships_strength, .ap = c->ships_ap, .md = c->ships_evasion,
                    .leadership = c->ships_morale, .state = c->ships_state, .count = nsh};
    vr_combat_params cp = {.seed = s->seed, .turn = turn, .universe = s->universe};
    rc = vr_combat_resolve_all(&cp, &soa, rows, w, battles, nb, res);
    if (rc) {
        free(pair);
        goto out;
    }

    /* the log: battles[k].key holds (system << 16) ^ turn */
    for (uint32_t k = 0; k < nb; k++) {
        uint64_t bid;
        if (vr_ent_alloc(c, VR_TAB_battles, &bid) != 0)
            break; /* full: fought, counted, not logged */
        uint32_t r = (uint32_t)bid;
        const vr_battle_result *o = &res[k];
        c->battles_turn[r] = turn;
        c->battles_system[r] = (uint32_t)((battles[k].key ^ turn) >> 16);
        c->battles_faction[2 * r] = pair[2 * k], c->battles_faction[2 * r + 1] = pair[2 * k + 1];
        for (int d = 0; d < 2; d++) {
            c->battles_ships[2 * r + d] = o->ships[d];
            c->battles_destroyed[2 * r + d] = o->destroyed[d];
            c->battles_routed[2 * r + d] = o->routed[d];
        }
        c->battles_rounds[r] = (uint16_t)(o->rounds > UINT16_MAX ? UINT16_MAX : o->rounds);
        c->battles_winner[r] = (int8_t)(o->winner == VR_COMBAT_DRAW ? -1 : o->winner);
        c->battles_end[r] = (uint8_t)o->end;
    }

    /* aftermath, deferred: retreat losers and routed, free the destroyed */
    for (uint32_t k = 0; k < nb; k++) {
        st->m[VR_M_battles]++;
        st->m[VR_M_kills] += res[k].destroyed[0] + res[k].destroyed[1];
        uint16_t a = pair[2 * k], b = pair[2 * k + 1];
        for (int d = 0; d < 2; d++) { /* both directions: relations stay symmetric */
            uint32_t i = d ? (uint32_t)(b - 1) * nf + (a - 1) : (uint32_t)(a - 1) * nf + (b - 1);
            int op = c->relations_opinion[i] + OPINION_PER_BATTLE;
            c->relations_opinion[i] = (int16_t)(op < -1000 ? -1000 : op);
        }
        for (uint32_t x = battles[k].first; x < battles[k].first + battles[k].count; x++) {
            uint32_t r = rows[x], f = c->ships_fleet[r];
            int lost = res[k].winner != VR_COMBAT_DRAW && (int)side[r] != res[k].winner;
            if (((c->ships_state[r] & VR_SHIP_ROUTED) || lost) && c->systems_lane_count[c->fleets_at[f]]) {
                /* the fleet falls back along its system's first lane */
                uint32_t to = c->lanes_to[c->systems_lane_begin[c->fleets_at[f]]];
                c->fleets_dest[f] = to;
                c->fleets_dest_node[f] = c->systems_node_begin[to]; /* its star */
                c->fleets_next[f] = to;
                c->fleets_progress[f] = 0.0f;
                c->fleets_leg[f] = 0.0f; /* movement measures the leg */
                c->fleets_route_dest[f] = UINT32_MAX; /* off its route */
            }
        }
    }
    free(pair);
    uint32_t dead_fleets = 0;
    for (uint32_t x = 0; x < w; x++) {
        uint32_t r = rows[x], f = c->ships_fleet[r];
        if (c->ships_state[r] & VR_SHIP_DESTROYED) {
            uint16_t d = c->ships_design[r];
            if (sim->design_credits && d < sim->ndesigns) /* its upkeep goes with it */
                c->fleets_upkeep[f] -= sim->design_credits[d] / VR_UPKEEP_DIVISOR;
            c->fleets_capacity[f] -= c->ships_cargo[r];
            vr_ent_free(c, VR_TAB_ships, vr_ent_id(c, VR_TAB_ships, r));
            if (--c->fleets_ships[f] == 0) {
                if ((rc = vr__economy_lose_cargo(sim, c, f)))
                    goto out;
                c->fleets_upkeep[f] = 0; /* a freed fleet costs nothing */
                c->fleets_capacity[f] = 0;
                vr_ent_free(c, VR_TAB_fleets, vr_ent_id(c, VR_TAB_fleets, f));
                dead_fleets++;
            }
        } else {
            c->ships_state[r] = 0; /* routed ships rally once they have left */
        }
    }
    /* a fleet's speed is its slowest surviving ship's */
    for (uint32_t x = 0; x < w; x++) {
        uint32_t f = c->ships_fleet[rows[x]];
        if (fgen[f] & 1)
            c->fleets_speed[f] = 1e30f;
    }
    for (uint32_t x = 0; x < w; x++) {
        uint32_t r = rows[x], f = c->ships_fleet[r];
        if ((sgen[r] & 1) && (fgen[f] & 1) && c->ships_speed[r] < c->fleets_speed[f])
            c->fleets_speed[f] = c->ships_speed[r];
    }
    for (uint32_t k = 0; k < dead_fleets; k++) { /* reinforcements, in order */
        if ((rc = vr__spawn_fleet(sim, c, turn, (1ull << 40) + k)))
            goto out;
        st->m[VR_M_spawned]++;
    }
    for (uint32_t g = 0; g < c->tables[VR_TAB_factions].count; g++)
        c->factions_ships[g] = 0;
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++)
        if (sgen[r] & 1)
            c->factions_ships[c->ships_faction[r] - 1]++;
out:
    free(sbeg), free(sfl), free(fbeg), free(fsh), free(fill), free(rows), free(ids), free(side);
    free(fleet_side), free(battles), free(res), free(pres);
    st->m[VR_M_combat_ns] += vr__clock_ns() - t0;
    return rc;
}
