/* decisions.c: the AI system of a turn: factions choose a posture, then
 * fleets at their destination choose what to do next, and where that takes
 * them.
 *
 * Each faction first scores the six options from its totals (see
 * decide_factions below); its choice sets its stance and budget split (the
 * weights of its fleets' options) and the diplomacy it seeks.
 * A fleet standing at its destination when the turn starts decides (ai.c):
 * it sees its own system and the systems one lane away: the strength (ships)
 * of factions it is at war with and of its own faction, unclaimed systems,
 * asteroid fields, and how much enemy strength stands on its faction's
 * systems.  The chosen option becomes a destination:
 *   attack  the visible system with the most enemy strength
 *   defend  the faction's most threatened system (else its home)
 *   expand  the nearest unclaimed neighbour
 *   mine    the nearest system with an asteroid field
 *   trade   the faction's home system (its first owned system: a station)
 *   retreat the faction's home system
 * falling back to staying put when there is no such place.  Decisions that
 * changed since the fleet's last one are written, with all six scores, to
 * the "decisions" table (this turn's records; the metric counts them all).
 *
 * User commands (orders.c) take precedence: a fleet under an order is not
 * re-decided until fleets.hold_until has passed (an order to go somewhere
 * holds until the fleet arrives, then VR_ORDER_HOLD_TURNS more turns; the
 * order is then cleared and the AI takes over), and a faction's stance or
 * budget flagged in factions.policy is kept, not derived from its posture.
 */
#include "sim_internal.h"

#include "ai.h"
#include "diplomacy.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define FAR 1e9f
#define SEEK_PUSH 12 /* opinion a faction seeking peace or war adds per turn */

typedef struct view {
    uint32_t nsys, nf;
    uint32_t *strength;   /* [system * nf + faction-1]: ships standing there */
    uint32_t *home;       /* per faction: first owned system, or UINT32_MAX */
    uint32_t *hot;        /* per faction: owned system with most enemy ships */
    float *threat;        /* per faction: enemy ships on its systems */
    uint8_t *asteroids;   /* per system: has an asteroid field */
} view;

static int war(const vr_cols *c, uint32_t nf, uint32_t a, uint32_t b)
{
    return a != b && c->relations_state[(a - 1) * nf + (b - 1)] == VR_REL_WAR;
}

static uint32_t enemies_at(const vr_cols *c, const view *v, uint32_t sys, uint32_t me)
{
    uint32_t e = 0;
    for (uint32_t g = 1; g <= v->nf; g++)
        if (war(c, v->nf, me, g))
            e += v->strength[(size_t)sys * v->nf + g - 1];
    return e;
}

static int build_view(view *v, const vr_cols *c, uint32_t nf)
{
    memset(v, 0, sizeof *v);
    v->nsys = c->tables[VR_TAB_systems].count;
    v->nf = nf;
    v->strength = calloc((size_t)v->nsys * nf, sizeof *v->strength);
    v->home = malloc(nf * sizeof *v->home);
    v->hot = malloc(nf * sizeof *v->hot);
    v->threat = calloc(nf, sizeof *v->threat);
    v->asteroids = calloc(v->nsys ? v->nsys : 1, 1);
    if (!v->strength || !v->home || !v->hot || !v->threat || !v->asteroids)
        return -ENOMEM;
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++)
        if ((c->gen[VR_TAB_fleets][f] & 1) && c->fleets_next[f] == c->fleets_at[f] &&
            c->fleets_faction[f] >= 1 && c->fleets_faction[f] <= nf)
            v->strength[(size_t)c->fleets_at[f] * nf + c->fleets_faction[f] - 1] += c->fleets_ships[f];
    for (uint32_t a = 0; a < c->tables[VR_TAB_asteroids].count; a++)
        if (c->gen[VR_TAB_asteroids][a] & 1)
            v->asteroids[c->nodes_system[c->asteroids_node[a]]] = 1;
    uint32_t *hot_e = calloc(nf, sizeof *hot_e);
    if (!hot_e)
        return -ENOMEM;
    for (uint32_t g = 0; g < nf; g++)
        v->home[g] = v->hot[g] = UINT32_MAX;
    for (uint32_t s = 0; s < v->nsys; s++) {
        uint32_t o = c->systems_owner[s];
        if (o < 1 || o > nf)
            continue;
        if (v->home[o - 1] == UINT32_MAX)
            v->home[o - 1] = s;
        uint32_t e = enemies_at(c, v, s, o);
        v->threat[o - 1] += (float)e;
        if (e > hot_e[o - 1])
            hot_e[o - 1] = e, v->hot[o - 1] = s;
    }
    free(hot_e);
    return 0;
}

static void free_view(view *v)
{
    free(v->strength), free(v->home), free(v->hot), free(v->threat), free(v->asteroids);
}

/* Where option `opt` takes fleet f standing at system s. */
static uint32_t destination(const vr_cols *c, const view *v, uint32_t f, uint32_t s, int opt)
{
    uint32_t me = c->fleets_faction[f], best = s;
    uint32_t b = c->systems_lane_begin[s], e = b + c->systems_lane_count[s];
    switch (opt) {
    case VR_AI_ATTACK: {
        uint32_t most = enemies_at(c, v, s, me);
        for (uint32_t l = b; l < e; l++) {
            uint32_t en = enemies_at(c, v, c->lanes_to[l], me);
            if (en > most)
                most = en, best = c->lanes_to[l];
        }
        return best;
    }
    case VR_AI_DEFEND:
        return v->hot[me - 1] != UINT32_MAX ? v->hot[me - 1] : v->home[me - 1] != UINT32_MAX ? v->home[me - 1] : s;
    case VR_AI_EXPAND:
    case VR_AI_MINE: {
        if (opt == VR_AI_MINE ? v->asteroids[s] : c->systems_owner[s] == 0)
            return s;
        float d = FLT_MAX;
        for (uint32_t l = b; l < e; l++) {
            uint32_t t = c->lanes_to[l];
            int ok = opt == VR_AI_MINE ? v->asteroids[t] : c->systems_owner[t] == 0;
            if (ok && c->lanes_length[l] < d)
                d = c->lanes_length[l], best = t;
        }
        return best;
    }
    default: /* trade, retreat: home */
        return v->home[me - 1] != UINT32_MAX ? v->home[me - 1] : s;
    }
}

/* The node of system s a fleet choosing option opt heads for: the asteroid
 * field to mine, a planet to trade, else the star. */
static uint32_t body(const vr_cols *c, uint32_t s, int opt)
{
    uint8_t want = opt == VR_AI_MINE ? VR_NODE_ASTEROID : opt == VR_AI_TRADE ? VR_NODE_PLANET : VR_NODE_STAR;
    uint32_t b = c->systems_node_begin[s], e = b + c->systems_node_count[s];
    for (uint32_t k = b; k < e; k++)
        if (c->nodes_kind[k] == want)
            return k;
    return b; /* the star */
}

/* Appends a changed decision to this turn's records (when there is room). */
static void log_decision(vr_cols *c, uint64_t turn, uint8_t kind, uint64_t entity, const float *scores,
                         uint8_t choice, uint8_t prev, uint32_t dest)
{
    uint64_t did;
    if (choice == prev || vr_ent_alloc(c, VR_TAB_decisions, &did) != 0)
        return;
    uint32_t r = (uint32_t)did;
    c->decisions_turn[r] = turn;
    c->decisions_entity[r] = entity;
    c->decisions_kind[r] = kind;
    memcpy(c->decisions_score + (size_t)r * VR_AI_NOPTIONS, scores, VR_AI_NOPTIONS * sizeof(float));
    c->decisions_choice[r] = choice;
    c->decisions_prev[r] = prev;
    c->decisions_dest[r] = dest;
}

/* Faction decisions: each faction looks at its totals (its ships, those of
 * the factions it is at war with, the threat on its systems, what lies one
 * lane from its systems: enemy-held and unclaimed systems and asteroid
 * fields, its planets' stockpiles, its income) and picks a posture (ai.c:
 * vr_ai_decide_factions).  The posture sets its stance and budget split,
 * which weigh its fleets' options this turn, and the diplomacy it seeks,
 * which pushes its opinions in the next turn's diplomacy. */
static int decide_factions(vr_sim *sim, vr_cols *c, uint64_t turn, const view *v, vr_turn_stats *st)
{
    const vr_scenario *s = &sim->sc;
    uint32_t nf = v->nf;
    float *o = calloc((size_t)nf * 9, sizeof *o);
    uint64_t *id = malloc(nf * sizeof *id);
    uint16_t *fac = malloc(nf * sizeof *fac);
    vr_ai_faction_out *out = malloc(nf * sizeof *out);
    float *scores = malloc((size_t)nf * VR_AI_NOPTIONS * sizeof *scores);
    vr_ai_policy *pol = malloc(nf * sizeof *pol);
    int rc = o && id && fac && out && scores && pol ? 0 : -ENOMEM;
    float *strength = o, *enemy = o + nf, *threat = o + 2 * (size_t)nf, *targets = o + 3 * (size_t)nf;
    float *unclaimed = o + 4 * (size_t)nf, *fields = o + 5 * (size_t)nf, *stock = o + 6 * (size_t)nf;
    float *income = o + 7 * (size_t)nf;
    for (uint32_t g = 1; rc == 0 && g <= nf; g++) {
        strength[g - 1] = (float)c->factions_ships[g - 1];
        for (uint32_t h = 1; h <= nf; h++)
            if (war(c, nf, g, h))
                enemy[g - 1] += (float)c->factions_ships[h - 1];
        threat[g - 1] = v->threat[g - 1];
        int64_t d = c->factions_treasury[g - 1] - c->factions_treasury_seen[g - 1];
        c->factions_income[g - 1] = d;
        c->factions_treasury_seen[g - 1] = c->factions_treasury[g - 1];
        income[g - 1] = (float)d / 1000.0f;
        id[g - 1] = vr_ent_id(c, VR_TAB_factions, g - 1);
        fac[g - 1] = (uint16_t)(g - 1);
        pol[g - 1] = (vr_ai_policy){.stance = c->factions_stance[g - 1], .military = 1, .economy = 1, .expansion = 1};
    }
    for (uint32_t y = 0; rc == 0 && y < v->nsys; y++) { /* what lies within reach of each faction */
        uint32_t g = c->systems_owner[y];
        if (g < 1 || g > nf)
            continue;
        fields[g - 1] += (float)v->asteroids[y];
        for (uint32_t l = c->systems_lane_begin[y], e = l + c->systems_lane_count[y]; l < e; l++) {
            uint32_t t = c->lanes_to[l], h = c->systems_owner[t];
            unclaimed[g - 1] += h == 0;
            targets[g - 1] += h >= 1 && h <= nf && war(c, nf, g, h);
            fields[g - 1] += (float)v->asteroids[t];
        }
    }
    for (uint32_t p = 0; rc == 0 && p < c->tables[VR_TAB_planets].count; p++) {
        uint32_t g = c->planets_owner[p];
        if ((c->gen[VR_TAB_planets][p] & 1) && g >= 1 && g <= nf)
            for (int r = 0; r < VR_NRES; r++)
                stock[g - 1] += (float)c->planets_stock[(size_t)p * VR_NRES + (size_t)r];
    }
    if (rc == 0) {
        vr_ai_params ap = {.seed = s->seed, .turn = turn, .universe = s->universe, .npolicy = nf,
                           .policy = pol, .range = 20.0f, .noise = 0.05f};
        vr_ai_faction_obs ob = {.id = id, .faction = fac, .prev_choice = c->factions_posture, .strength = strength,
                                .enemy_strength = enemy, .home_threat = threat, .targets = targets,
                                .unclaimed = unclaimed, .fields = fields, .stockpile = stock, .income = income};
        rc = vr_ai_decide_factions(&ap, &ob, nf, out, scores, NULL);
    }
    for (uint32_t g = 0; rc == 0 && g < nf; g++) {
        log_decision(c, turn, VR_AI_KIND_FACTION, id[g], scores + (size_t)g * VR_AI_NOPTIONS, out[g].choice,
                     c->factions_posture[g], UINT32_MAX);
        c->factions_posture[g] = out[g].choice;
        if (!(c->factions_policy[g] & 1)) /* the user's stance sticks */
            c->factions_stance[g] = out[g].stance;
        if (!(c->factions_policy[g] & 2)) { /* the user's budget sticks */
            c->factions_budget[g * 3] = out[g].military;
            c->factions_budget[g * 3 + 1] = out[g].economy;
            c->factions_budget[g * 3 + 2] = out[g].expansion;
        }
        c->factions_seek[g] = out[g].diplomacy;
        st->m[VR_M_decisions]++;
    }
    free(o), free(id), free(fac), free(out), free(scores), free(pol);
    return rc;
}

int vr__diplomacy_push(const vr_cols *c, uint32_t nf, int16_t *push)
{
    memset(push, 0, (size_t)nf * nf * sizeof *push);
    for (uint32_t g = 1; g <= nf; g++) {
        uint8_t seek = c->factions_seek[g - 1];
        if (seek == VR_AI_DIPLO_SEEK_PEACE) {
            for (uint32_t h = 1; h <= nf; h++)
                if (war(c, nf, g, h))
                    push[(size_t)(g - 1) * nf + (h - 1)] = SEEK_PUSH;
        } else if (seek == VR_AI_DIPLO_SEEK_WAR) { /* the weakest faction it is at peace with */
            uint32_t best = 0;
            for (uint32_t h = 1; h <= nf; h++)
                if (h != g && c->relations_state[(size_t)(g - 1) * nf + (h - 1)] == VR_REL_PEACE &&
                    (!best || c->factions_ships[h - 1] < c->factions_ships[best - 1]))
                    best = h;
            if (best)
                push[(size_t)(g - 1) * nf + (best - 1)] = -SEEK_PUSH;
        }
    }
    return 0;
}

int vr__decide(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st)
{
    const vr_scenario *s = &sim->sc;
    uint64_t t0 = vr__clock_ns();
    uint32_t nfl = c->tables[VR_TAB_fleets].count, nf = s->factions;
    view v;
    int rc = build_view(&v, c, nf);
    vr_tabstate *dt = &c->tables[VR_TAB_decisions];
    memset(dt, 0, sizeof *dt); /* the table holds this turn's records */
    if (rc == 0)
        rc = decide_factions(sim, c, turn, &v, st);
    /* the fleets that decide: standing at their destination */
    uint32_t n = 0;
    uint32_t *row = malloc((nfl ? nfl : 1) * sizeof *row);
    float *col = malloc((size_t)(nfl ? nfl : 1) * 11 * sizeof *col);
    uint64_t *id = malloc((nfl ? nfl : 1) * sizeof *id);
    uint16_t *fac = malloc((nfl ? nfl : 1) * sizeof *fac);
    uint8_t *prev = malloc(nfl ? nfl : 1), *choice = malloc(nfl ? nfl : 1);
    float *scores = malloc((size_t)(nfl ? nfl : 1) * VR_AI_NOPTIONS * sizeof *scores);
    if (rc == 0 && (!row || !col || !id || !fac || !prev || !choice || !scores))
        rc = -ENOMEM;
    for (uint32_t f = 0; rc == 0 && f < nfl; f++) {
        if (!(c->gen[VR_TAB_fleets][f] & 1) || c->fleets_next[f] != c->fleets_at[f] ||
            c->fleets_at[f] != c->fleets_dest[f] || c->fleets_node[f] != c->fleets_dest_node[f] ||
            c->fleets_leg[f] != 0.0f || c->fleets_faction[f] < 1 || c->fleets_faction[f] > nf)
            continue;
        if (c->fleets_order[f]) { /* a user's order: standing at its destination means it arrived */
            if (c->fleets_hold_until[f] == VR_HOLD_UNTIL_ARRIVAL)
                c->fleets_hold_until[f] = turn + VR_ORDER_HOLD_TURNS;
            if (turn <= c->fleets_hold_until[f])
                continue;
            c->fleets_order[f] = 0; /* done: the AI takes over */
            c->fleets_hold_until[f] = 0;
        }
        uint32_t sy = c->fleets_at[f], me = c->fleets_faction[f];
        float enemy = (float)enemies_at(c, &v, sy, me), friendly = (float)v.strength[(size_t)sy * nf + me - 1];
        float edist = enemy > 0 ? 0.0f : FAR, xdist = c->systems_owner[sy] == 0 ? 0.0f : FAR;
        float adist = v.asteroids[sy] ? 0.0f : FAR;
        for (uint32_t l = c->systems_lane_begin[sy], e = l + c->systems_lane_count[sy]; l < e; l++) {
            uint32_t t = c->lanes_to[l];
            float len = c->lanes_length[l], en = (float)enemies_at(c, &v, t, me);
            enemy += en;
            friendly += (float)v.strength[(size_t)t * nf + me - 1];
            if (en > 0 && len < edist)
                edist = len;
            if (c->systems_owner[t] == 0 && len < xdist)
                xdist = len;
            if (v.asteroids[t] && len < adist)
                adist = len;
        }
        float own = (float)c->fleets_ships[f];
        float *o = col + (size_t)n * 11;
        o[0] = own, o[1] = enemy, o[2] = friendly - own > 0 ? friendly - own : 0, o[3] = edist;
        float load = 0;
        for (int r = 0; r < VR_NRES; r++)
            load += (float)c->fleets_cargo[(size_t)f * VR_NRES + (size_t)r];
        float fill = c->fleets_capacity[f] > 0 ? load / (float)c->fleets_capacity[f] : 0.0f;
        o[4] = xdist, o[5] = adist, o[6] = fill > 1.0f ? 1.0f : fill, o[7] = v.threat[me - 1];
        o[8] = 1.0f /* health */, o[9] = 1.0f /* morale */;
        row[n] = f;
        id[n] = vr_ent_id(c, VR_TAB_fleets, f);
        fac[n] = (uint16_t)(me - 1);
        prev[n] = c->fleets_choice[f];
        n++;
    }
    if (rc == 0 && n) {
        /* the AI module reads columns: transpose the observations */
        float *cols = malloc((size_t)n * 10 * sizeof *cols);
        if (!cols)
            rc = -ENOMEM;
        for (uint32_t i = 0; cols && i < n; i++)
            for (int k = 0; k < 10; k++)
                cols[(size_t)k * n + i] = col[(size_t)i * 11 + k];
        vr_ai_policy pol[256];
        uint32_t np = nf < 256 ? nf : 256;
        for (uint32_t g = 0; g < np; g++)
            pol[g] = (vr_ai_policy){.stance = c->factions_stance[g], .military = c->factions_budget[g * 3],
                                    .economy = c->factions_budget[g * 3 + 1],
                                    .expansion = c->factions_budget[g * 3 + 2]};
        vr_ai_params ap = {.seed = s->seed, .turn = turn, .universe = s->universe, .npolicy = np,
                           .policy = pol, .range = 20.0f, .noise = 0.05f};
        vr_ai_obs ob = {.id = id, .faction = fac, .prev_choice = prev};
        if (cols) {
            ob.own_strength = cols, ob.enemy_strength = cols + n, ob.friendly_strength = cols + 2 * (size_t)n;
            ob.enemy_dist = cols + 3 * (size_t)n, ob.expand_dist = cols + 4 * (size_t)n;
            ob.asteroid_dist = cols + 5 * (size_t)n, ob.cargo = cols + 6 * (size_t)n;
            ob.home_threat = cols + 7 * (size_t)n, ob.health = cols + 8 * (size_t)n, ob.morale = cols + 9 * (size_t)n;
            for (uint32_t i = 0; i < n; i++) /* factions beyond the policy table: balanced */
                if (fac[i] >= np)
                    fac[i] = 0;
            rc = vr_ai_decide_fleets(&ap, &ob, n, choice, scores, NULL);
        }
        free(cols);
    }
    /* apply, and log the decisions that changed */
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint32_t f = row[i], to = destination(c, &v, f, c->fleets_at[f], choice[i]);
        c->fleets_dest[f] = to;
        c->fleets_dest_node[f] = body(c, to, choice[i]);
        c->fleets_route_dest[f] = UINT32_MAX; /* a new decision plans a new route */
        c->fleets_choice[f] = choice[i];
        st->m[VR_M_decisions]++;
        log_decision(c, turn, VR_AI_KIND_FLEET, id[i], scores + (size_t)i * VR_AI_NOPTIONS, choice[i], prev[i], to);
    }
    free(row), free(col), free(id), free(fac), free(prev), free(choice), free(scores);
    free_view(&v);
    st->m[VR_M_ai_ns] += vr__clock_ns() - t0;
    return rc;
}
