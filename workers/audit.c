/* audit.c: the invariant checks of audit.h, and the findings ring.
 *
 * Findings are appended to the "findings" table; when it is full the oldest
 * row (smallest turn, then lowest row) is overwritten, so the table always
 * holds the newest findings and every finding is still counted in the
 * turn's metrics.  A healthy universe has none, so the ring's O(capacity)
 * overwrite is never on a hot path.
 */
#include "audit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *doc;
    int level;
} rules[VR_AUDIT_NRULES] = {
    {"none", "", 0},
#define VR_AUDIT_ROW(n, l, d) {#n, d, l},
    VR_AUDIT_RULES(VR_AUDIT_ROW)
#undef VR_AUDIT_ROW
};

const char *vr_audit_rule_name(int r) { return r > 0 && r < VR_AUDIT_NRULES ? rules[r].name : "?"; }
const char *vr_audit_rule_doc(int r) { return r > 0 && r < VR_AUDIT_NRULES ? rules[r].doc : "?"; }

int vr_audit_level(uint64_t turn)
{
    return turn % 100 == 0 ? 3 : turn % 10 == 0 ? 2 : 1;
}

typedef struct ctx {
    const vr_audit_params *p;
    vr_cols *c;
    int64_t found;
} ctx;

static void finding(ctx *x, int rule, uint32_t table, uint32_t row, double value)
{
    vr_cols *c = x->c;
    x->found++;
    uint32_t cap = c->capacity[VR_TAB_findings];
    if (cap == 0)
        return;
    uint64_t id;
    uint32_t r;
    if (vr_ent_alloc(c, VR_TAB_findings, &id) == 0) {
        r = (uint32_t)id;
    } else { /* full: overwrite the oldest */
        r = 0;
        for (uint32_t i = 1; i < c->tables[VR_TAB_findings].count; i++)
            if (c->findings_turn[i] < c->findings_turn[r])
                r = i;
    }
    c->findings_turn[r] = x->p->turn;
    c->findings_entity[r] = table < VR_NTABLES && row < c->capacity[table] ? vr_ent_id(c, table, row) : row;
    c->findings_value[r] = value;
    c->findings_rule[r] = (uint16_t)rule;
    c->findings_table[r] = (uint8_t)table;
    c->findings_level[r] = (uint8_t)rules[rule].level;
}

static int alive(const vr_cols *c, uint32_t t, uint32_t r)
{
    return r < c->tables[t].count && (c->gen[t][r] & 1);
}

/* ---- level 1: every turn ------------------------------------------------------ */

static void cheap(ctx *x)
{
    vr_cols *c = x->c;
    for (uint32_t t = 0; t < VR_NTABLES; t++) {
        const vr_tabstate *s = &c->tables[t];
        if (s->count > c->capacity[t] || (uint64_t)s->live + s->free_count != s->count)
            finding(x, VR_AUDIT_TABLE_COUNTS, t, 0, (double)s->count);
    }
    uint32_t nsys = c->tables[VR_TAB_systems].count, nf = c->tables[VR_TAB_fleets].count;
    uint32_t nnodes = c->tables[VR_TAB_nodes].count;
    for (uint32_t f = 0; f < nf; f++) {
        if (!alive(c, VR_TAB_fleets, f))
            continue;
        if (c->fleets_at[f] >= nsys || c->fleets_next[f] >= nsys || c->fleets_dest[f] >= nsys ||
            !(c->fleets_progress[f] >= 0.0f) || c->fleets_node[f] >= nnodes ||
            c->nodes_system[c->fleets_node[f]] != c->fleets_at[f] || c->fleets_dest_node[f] >= nnodes ||
            c->nodes_system[c->fleets_dest_node[f]] != c->fleets_dest[f] || !isfinite(c->fleets_leg[f]))
            finding(x, VR_AUDIT_FLEET_POSITION, VR_TAB_fleets, f, (double)c->fleets_at[f]);
        if (c->fleets_ships[f] > 0 && !(c->fleets_speed[f] > 0.0f && isfinite(c->fleets_speed[f])))
            finding(x, VR_AUDIT_FLEET_SPEED, VR_TAB_fleets, f, (double)c->fleets_speed[f]);
    }
    uint64_t counted = 0;
    for (uint32_t g = 0; g < c->tables[VR_TAB_factions].count; g++)
        counted += c->factions_ships[g];
    if (counted != c->tables[VR_TAB_ships].live)
        finding(x, VR_AUDIT_FACTION_SHIPS, VR_TAB_factions, 0, (double)counted);
}

/* ---- level 2: every 10 turns --------------------------------------------------- */

static void full(ctx *x)
{
    vr_cols *c = x->c;
    const vr_audit_params *p = x->p;
    uint32_t nf = c->tables[VR_TAB_fleets].count, ns = c->tables[VR_TAB_ships].count;
    uint32_t *count = calloc(nf ? nf : 1, sizeof *count);
    for (uint32_t r = 0; r < ns; r++) {
        if (!alive(c, VR_TAB_ships, r))
            continue;
        float hull = c->ships_hull[r];
        float max = p->design_hull && c->ships_design[r] < p->ndesigns ? p->design_hull[c->ships_design[r]] : INFINITY;
        if (c->ships_state[r] != 2 && !(hull > 0.0f && hull <= max))
            finding(x, VR_AUDIT_SHIP_HULL, VR_TAB_ships, r, (double)hull);
        if (!(c->ships_shield[r] >= 0.0f && isfinite(c->ships_shield[r])))
            finding(x, VR_AUDIT_SHIP_SHIELD, VR_TAB_ships, r, (double)c->ships_shield[r]);
        uint32_t fl = c->ships_fleet[r];
        if (!alive(c, VR_TAB_fleets, fl) || c->fleets_faction[fl] != c->ships_faction[r])
            finding(x, VR_AUDIT_SHIP_FLEET, VR_TAB_ships, r, (double)fl);
        else if (count)
            count[fl]++;
        if (c->ships_faction[r] == 0 || c->ships_faction[r] > p->factions)
            finding(x, VR_AUDIT_SHIP_FACTION, VR_TAB_ships, r, (double)c->ships_faction[r]);
    }
    for (uint32_t f = 0; count && f < nf; f++)
        if (alive(c, VR_TAB_fleets, f) && count[f] != c->fleets_ships[f])
            finding(x, VR_AUDIT_FLEET_SHIP_COUNT, VR_TAB_fleets, f, (double)count[f]);
    free(count);
    uint32_t nn = c->tables[VR_TAB_nodes].count;
    for (uint32_t r = 0; r < c->tables[VR_TAB_planets].count; r++) {
        if (!alive(c, VR_TAB_planets, r))
            continue;
        uint32_t node = c->planets_node[r];
        if (c->planets_owner[r] > p->factions || node >= nn || c->nodes_kind[node] != 2)
            finding(x, VR_AUDIT_PLANET_OWNER, VR_TAB_planets, r, (double)c->planets_owner[r]);
        for (int k = 0; k < 4; k++)
            if (c->planets_stock[(size_t)r * 4 + (size_t)k] < 0)
                finding(x, VR_AUDIT_STOCK_NEGATIVE, VR_TAB_planets, r, (double)c->planets_stock[(size_t)r * 4 + (size_t)k]);
    }
    for (uint32_t r = 0; r < c->tables[VR_TAB_asteroids].count; r++)
        if (alive(c, VR_TAB_asteroids, r) && c->asteroids_reserve[r] < 0)
            finding(x, VR_AUDIT_STOCK_NEGATIVE, VR_TAB_asteroids, r, (double)c->asteroids_reserve[r]);
    uint32_t nfac = c->tables[VR_TAB_factions].count;
    for (uint32_t g = 0; g < nfac; g++) {
        if (c->factions_treasury[g] < 0)
            finding(x, VR_AUDIT_STOCK_NEGATIVE, VR_TAB_factions, g, (double)c->factions_treasury[g]);
        for (uint32_t h = 0; h < nfac && (size_t)nfac * nfac <= c->tables[VR_TAB_relations].count; h++) {
            uint8_t ab = c->relations_state[g * nfac + h], ba = c->relations_state[h * nfac + g];
            if (ab != ba || (g == h && ab != 3))
                finding(x, VR_AUDIT_RELATION_SYMMETRY, VR_TAB_relations, g * nfac + h, (double)ab);
        }
    }
}

/* ---- level 3: every 100 turns ---------------------------------------------------- */

static void deep(ctx *x)
{
    vr_cols *c = x->c;
    uint32_t nsys = c->tables[VR_TAB_systems].count, nl = c->tables[VR_TAB_lanes].count;
    for (uint32_t s = 0; s < nsys; s++) {
        uint32_t b = c->systems_lane_begin[s], e = b + c->systems_lane_count[s];
        if (e > nl || e < b) {
            finding(x, VR_AUDIT_EDGE_TARGET, VR_TAB_systems, s, (double)e);
            continue;
        }
        for (uint32_t l = b; l < e; l++) {
            uint32_t t = c->lanes_to[l];
            int ok = 0;
            if (t < nsys)
                for (uint32_t q = c->systems_lane_begin[t], qe = q + c->systems_lane_count[t]; q < qe && q < nl; q++)
                    ok |= c->lanes_to[q] == s && c->lanes_length[q] == c->lanes_length[l];
            if (!ok)
                finding(x, VR_AUDIT_LANE_SYMMETRY, VR_TAB_lanes, l, (double)c->lanes_length[l]);
        }
    }
    uint32_t nn = c->tables[VR_TAB_nodes].count, ne = c->tables[VR_TAB_edges].count;
    for (uint32_t v = 0; v < nn; v++) {
        uint32_t b = c->nodes_edge_begin[v], e = b + c->nodes_edge_count[v];
        if (e > ne || e < b || c->nodes_system[v] >= nsys) {
            finding(x, VR_AUDIT_EDGE_TARGET, VR_TAB_nodes, v, (double)e);
            continue;
        }
        for (uint32_t k = b; k < e; k++)
            if (c->edges_to[k] >= nn)
                finding(x, VR_AUDIT_EDGE_TARGET, VR_TAB_edges, k, (double)c->edges_to[k]);
    }
    for (uint32_t t = 0; t < VR_NTABLES; t++) {
        const vr_tabstate *s = &c->tables[t];
        if (s->count > c->capacity[t] || s->free_count > s->count)
            continue; /* reported by TABLE_COUNTS */
        uint8_t *seen = calloc(s->count ? s->count : 1, 1);
        for (uint32_t i = 0; i < s->free_count && seen; i++) {
            uint32_t r = c->freerows[t][i];
            if (r >= s->count || (c->gen[t][r] & 1) || seen[r])
                finding(x, VR_AUDIT_FREE_LIST, t, r < s->count ? r : 0, (double)r);
            else
                seen[r] = 1;
        }
        free(seen);
    }
}

void vr_audit_report(const vr_audit_params *p, vr_cols *c, int rule, uint32_t table, uint32_t row, double value)
{
    ctx x = {.p = p, .c = c};
    if (rule > 0 && rule < VR_AUDIT_NRULES)
        finding(&x, rule, table, row, value);
}

int64_t vr_audit_run(const vr_audit_params *p, vr_cols *c, int level)
{
    ctx x = {.p = p, .c = c};
    cheap(&x);
    if (level >= 2)
        full(&x);
    if (level >= 3)
        deep(&x);
    return x.found;
}
