/* portal.c: portals between universes: the network, the portal ends of a
 * universe, fleets choosing and entering portals, and arrivals.
 *
 * Network.  Built-in (`--portals default`): with 2 universes one link u0-u1;
 * with N >= 3 a ring, u -> u+1 mod N; with 1 universe none.  Each end of a
 * default link stands in a system drawn from (seed, universe, 2 * link +
 * side, VR_RS_PORTAL).  Files (`--portals NAME=FILE,...`): the original
 * engine's portal_examples format; each portal of FILE joins universe NAME
 * (source_coords) and dest_universe (dest_coords), placed by
 * placement_strategy on each side's galaxy; coordinates are percent (0..100)
 * of the galaxy's extent.  metadata.cost (a number > 0), when present, is the
 * traversal cost, else VR_PORTAL_COST.  Every portal is two-way.
 *
 * Turn.  After the AI (vr__portal_decide), a fleet that just chose to expand
 * at or next to a portal's system may take it (a deterministic draw and a
 * score, logged as a decision of kind 3).  After movement (vr__portal_enter),
 * a fleet standing at the portal it heads for leaves: its fleet row, its
 * ships and its cargo are freed here and copied into the outbox (transit,
 * transit_ships: this turn's records, so the state hash, Python and a
 * re-send after a crash all see them); its cargo is recorded in the ledger
 * as "portal out".  At the start of the next turn the destination's worker
 * applies the batches (vr_sim_arrivals): source universe order, then source
 * fleet id order; the new fleet stands at the portal's end there, owned by
 * the same faction index (factions beyond the destination's count wrap:
 * ((f - 1) mod factions) + 1), with all its ships and cargo ("portal in").
 */
#include "portal.h"
#include "ai.h"
#include "economy.h"
#include "sim_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- the network -------------------------------------------------------- */

static int errf(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int add_link(vr_portal_net *n, const vr_portal_link *l)
{
    if (n->nlinks >= VR_PORTAL_LINKS_MAX)
        return -VR_EFULL;
    vr_portal_link *nl = realloc(n->links, (n->nlinks + 1) * sizeof *nl);
    if (!nl)
        return -ENOMEM;
    n->links = nl;
    n->links[n->nlinks++] = *l;
    return 0;
}

/* Universe index of a name: names[k], "uK" or "K".  -1 when unknown. */
static int64_t universe_of(const char *name, const char *names, uint32_t universes)
{
    if (names && *names) {
        size_t ln = strlen(name);
        uint32_t k = 0;
        for (const char *p = names; k < universes; k++) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l == ln && strncmp(p, name, l) == 0)
                return k;
            if (!e)
                break;
            p = e + 1;
        }
    }
    const char *d = name[0] == 'u' ? name + 1 : name;
    if (!*d)
        return -1;
    for (const char *p = d; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    unsigned long long v = strtoull(d, NULL, 10);
    return v < universes ? (int64_t)v : -1;
}

static int parse_place(const char *s, uint8_t *out)
{
    static const struct { const char *n; uint8_t v; } t[] = {
        {"nearest_system", VR_PLACE_NEAREST}, {"galactic_core", VR_PLACE_CORE},
        {"border_region", VR_PLACE_BORDER}, {"exact_coords", VR_PLACE_EXACT}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].n) == 0)
            return *out = t[i].v, 0;
    return -1;
}

static int coords(json_t *a, float *x, float *y)
{
    if (!json_is_array(a) || json_array_size(a) != 2 || !json_is_number(json_array_get(a, 0)) ||
        !json_is_number(json_array_get(a, 1)))
        return -1;
    double vx = json_number_value(json_array_get(a, 0)), vy = json_number_value(json_array_get(a, 1));
    if (!(vx >= 0 && vx <= 100 && vy >= 0 && vy <= 100))
        return -1;
    *x = (float)vx, *y = (float)vy;
    return 0;
}

static int load_file(vr_portal_net *n, uint32_t src, const char *file, const vr_portal_config *cfg, char *err,
                     size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(file, 0, &je);
    if (!root)
        return errf(err, errlen, -VR_ECONTENT, "%s: line %d: %s", file, je.line, je.text);
    int rc = 0;
    json_t *en = json_object_get(root, "enable_portals"), *ps = json_object_get(root, "portals");
    if (!json_is_object(root)) {
        rc = errf(err, errlen, -VR_ECONTENT, "%s: not a JSON object", file);
        goto out;
    }
    if (en && !json_is_boolean(en)) {
        rc = errf(err, errlen, -VR_ECONTENT, "%s: enable_portals: not true or false", file);
        goto out;
    }
    if (en && !json_is_true(en))
        goto out; /* the file turns its portals off */
    if (!json_is_array(ps)) {
        rc = errf(err, errlen, -VR_ECONTENT, "%s: portals: missing or not an array", file);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(ps); i++) {
        json_t *p = json_array_get(ps, i);
        vr_portal_link l = {.cost = VR_PORTAL_COST};
        if (!json_is_object(p)) {
            rc = errf(err, errlen, -VR_ECONTENT, "%s: portals[%zu]: not an object", file, i);
            goto out;
        }
        json_t *id = json_object_get(p, "portal_id"), *du = json_object_get(p, "dest_universe");
        json_t *pl = json_object_get(p, "placement_strategy"), *md = json_object_get(p, "metadata");
        if (!json_is_string(id) || json_string_length(id) == 0 || json_string_length(id) > VR_PORTAL_ID_MAX) {
            rc = errf(err, errlen, -VR_ECONTENT, "%s: portals[%zu].portal_id: missing, empty or longer than %d bytes",
                      file, i, VR_PORTAL_ID_MAX);
            goto out;
        }
        snprintf(l.id, sizeof l.id, "%s", json_string_value(id));
        if (!json_is_string(du)) {
            rc = errf(err, errlen, -VR_ECONTENT, "%s: portals[%zu] (%s).dest_universe: missing or not a string",
                      file, i, l.id);
            goto out;
        }
        int64_t dst = universe_of(json_string_value(du), cfg->names, cfg->universes);
        if (dst < 0) {
            rc = errf(err, errlen, -VR_ECONTENT,
                      "%s: portals[%zu] (%s).dest_universe: unknown universe \"%s\" (universes: %s; "
                      "name them with --universe-names, or use u0..u%u)",
                      file, i, l.id, json_string_value(du), cfg->names && *cfg->names ? cfg->names : "u0...",
                      cfg->universes - 1);
            goto out;
        }
        if ((uint32_t)dst == src) {
            rc = errf(err, errlen, -VR_ECONTENT,
                      "%s: portals[%zu] (%s).dest_universe: \"%s\" is the universe the file is attached to", file,
                      i, l.id, json_string_value(du));
            goto out;
        }
        l.end[0].universe = src, l.end[1].universe = (uint32_t)dst;
        if (coords(json_object_get(p, "source_coords"), &l.end[0].x, &l.end[0].y)) {
            rc = errf(err, errlen, -VR_ECONTENT,
                      "%s: portals[%zu] (%s).source_coords: missing or not [x, y] with 0 <= x, y <= 100", file, i,
                      l.id);
            goto out;
        }
        if (coords(json_object_get(p, "dest_coords"), &l.end[1].x, &l.end[1].y)) {
            rc = errf(err, errlen, -VR_ECONTENT,
                      "%s: portals[%zu] (%s).dest_coords: missing or not [x, y] with 0 <= x, y <= 100", file, i,
                      l.id);
            goto out;
        }
        uint8_t place = VR_PLACE_NEAREST;
        if (pl && (!json_is_string(pl) || parse_place(json_string_value(pl), &place))) {
            rc = errf(err, errlen, -VR_ECONTENT,
                      "%s: portals[%zu] (%s).placement_strategy: not one of nearest_system, galactic_core, "
                      "border_region, exact_coords", file, i, l.id);
            goto out;
        }
        l.end[0].place = l.end[1].place = place;
        if (md && !json_is_object(md)) {
            rc = errf(err, errlen, -VR_ECONTENT, "%s: portals[%zu] (%s).metadata: not an object", file, i, l.id);
            goto out;
        }
        json_t *cost = md ? json_object_get(md, "cost") : NULL;
        if (cost) {
            if (!json_is_number(cost) || !(json_number_value(cost) > 0 && json_number_value(cost) < 1e6)) {
                rc = errf(err, errlen, -VR_ECONTENT, "%s: portals[%zu] (%s).metadata.cost: not a number in (0, 1e6)",
                          file, i, l.id);
                goto out;
            }
            l.cost = (float)json_number_value(cost);
        }
        for (uint32_t k = 0; k < n->nlinks; k++)
            if (strcmp(n->links[k].id, l.id) == 0) {
                rc = errf(err, errlen, -VR_ECONTENT, "%s: portals[%zu].portal_id: \"%s\" is used twice", file, i,
                          l.id);
                goto out;
            }
        if ((rc = add_link(n, &l))) {
            errf(err, errlen, rc, "%s: portals[%zu]: more than %d portals in the network", file, i,
                 VR_PORTAL_LINKS_MAX);
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

int vr_portal_net_new(vr_portal_net **out, const vr_portal_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->universes == 0)
        return errf(err, errlen, -VR_EBADARG, "no universes");
    vr_portal_net *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->universes = cfg->universes;
    n->seed = cfg->seed;
    const char *spec = cfg->spec && *cfg->spec ? cfg->spec : "default";
    int rc = 0;
    if (cfg->names && *cfg->names) { /* names: distinct, as many as universes */
        uint32_t cnt = 1;
        for (const char *p = cfg->names; *p; p++)
            cnt += *p == ',';
        if (cnt != cfg->universes)
            rc = errf(err, errlen, -VR_EBADARG, "--universe-names: %u names for %u universes", cnt, cfg->universes);
    }
    if (rc) {
    } else if (strcmp(spec, "off") == 0) {
    } else if (strcmp(spec, "default") == 0) {
        uint32_t N = cfg->universes, links = N < 2 ? 0 : N == 2 ? 1 : N;
        for (uint32_t k = 0; rc == 0 && k < links; k++) {
            vr_portal_link l = {.cost = VR_PORTAL_COST};
            snprintf(l.id, sizeof l.id, "ring_%u_%u", k, (k + 1) % N);
            l.end[0] = (vr_portal_end){.universe = k, .place = VR_PLACE_SEEDED};
            l.end[1] = (vr_portal_end){.universe = (k + 1) % N, .place = VR_PLACE_SEEDED};
            rc = add_link(n, &l);
        }
    } else {
        char *copy = strdup(spec), *save = NULL;
        if (!copy)
            rc = -ENOMEM;
        for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; rc == 0 && item;
             item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            const char *file = item;
            int64_t src = 0;
            if (eq) {
                *eq = 0;
                file = eq + 1;
                src = universe_of(item, cfg->names, cfg->universes);
                if (src < 0) {
                    rc = errf(err, errlen, -VR_EBADARG, "--portals: unknown universe \"%s\" before =%s", item, file);
                    break;
                }
            }
            rc = load_file(n, (uint32_t)src, file, cfg, err, errlen);
        }
        free(copy);
    }
    if (rc) {
        vr_portal_net_destroy(&n);
        return rc;
    }
    *out = n;
    return 0;
}

void vr_portal_net_destroy(vr_portal_net **net)
{
    if (!net || !*net)
        return;
    free((*net)->links);
    free(*net);
    *net = NULL;
}

bool vr_portal_net_peers(const vr_portal_net *net, uint32_t a, uint32_t b)
{
    if (!net || a == b)
        return false;
    for (uint32_t k = 0; k < net->nlinks; k++) {
        const vr_portal_link *l = &net->links[k];
        if ((l->end[0].universe == a && l->end[1].universe == b) ||
            (l->end[0].universe == b && l->end[1].universe == a))
            return true;
    }
    return false;
}

uint64_t vr_portal_net_hash(const vr_portal_net *net)
{
    if (!net || net->nlinks == 0)
        return 0;
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, &net->universes, sizeof net->universes);
    for (uint32_t k = 0; k < net->nlinks; k++) {
        const vr_portal_link *l = &net->links[k];
        XXH3_64bits_update(st, l->id, strlen(l->id) + 1);
        for (int s = 0; s < 2; s++) {
            XXH3_64bits_update(st, &l->end[s].universe, 4);
            XXH3_64bits_update(st, &l->end[s].x, 4);
            XXH3_64bits_update(st, &l->end[s].y, 4);
            XXH3_64bits_update(st, &l->end[s].place, 1);
        }
        XXH3_64bits_update(st, &l->cost, 4);
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

/* ---- turn 0: this universe's portal ends -------------------------------- */

void vr__portal_capacity(const vr_scenario *s, uint32_t cap[VR_NTABLES])
{
    uint32_t ends = 0;
    const vr_portal_net *net = s->portals;
    for (uint32_t k = 0; net && k < net->nlinks; k++)
        for (int side = 0; side < 2; side++)
            ends += net->links[k].end[side].universe == s->universe;
    if (ends == 0) /* no portal here: the tables take no room */
        return;
    cap[VR_TAB_portals] = ends < VR_PORTAL_MAX ? ends : VR_PORTAL_MAX;
    cap[VR_TAB_transit] = VR_PORTAL_TRANSIT_MAX;
    cap[VR_TAB_transit_ships] = VR_PORTAL_TRANSIT_MAX * 2 * VR_MAX_FLEET_SHIPS;
    /* every peer may send VR_PORTAL_TRANSIT_MAX fleets a turn */
    cap[VR_TAB_arrivals] = cap[VR_TAB_portals] * VR_PORTAL_TRANSIT_MAX;
}

static uint32_t place_end(const vr_sim *sim, const vr_cols *c, const vr_portal_end *e, uint32_t key)
{
    uint32_t n = c->tables[VR_TAB_systems].count;
    if (e->place == VR_PLACE_SEEDED)
        return (uint32_t)(vr_rand(sim->sc.seed, sim->sc.universe, 0, key, VR_RS_PORTAL) % n);
    float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (uint32_t s = 0; s < n; s++) {
        x0 = fminf(x0, c->systems_x[s]), x1 = fmaxf(x1, c->systems_x[s]);
        y0 = fminf(y0, c->systems_y[s]), y1 = fmaxf(y1, c->systems_y[s]);
    }
    double cx = 0.5 * ((double)x0 + x1), cy = 0.5 * ((double)y0 + y1);
    double px = x0 + (double)e->x / 100.0 * ((double)x1 - x0), py = y0 + (double)e->y / 100.0 * ((double)y1 - y0);
    if (e->place == VR_PLACE_CORE)
        px = cx, py = cy;
    double dx = px - cx, dy = py - cy, dl = sqrt(dx * dx + dy * dy);
    uint32_t best = 0;
    double bv = INFINITY;
    for (uint32_t s = 0; s < n; s++) {
        double sx = c->systems_x[s], sy = c->systems_y[s], v;
        if (e->place == VR_PLACE_BORDER) /* outermost: farthest along the direction (or from the centre) */
            v = dl > 1e-9 ? -((sx - cx) * dx + (sy - cy) * dy) / dl : -((sx - cx) * (sx - cx) + (sy - cy) * (sy - cy));
        else
            v = (sx - px) * (sx - px) + (sy - py) * (sy - py);
        if (v < bv)
            bv = v, best = s;
    }
    return best;
}

int vr__portal_genesis(vr_sim *sim, vr_cols *c)
{
    const vr_portal_net *net = sim->sc.portals;
    if (!net)
        return 0;
    uint32_t me = sim->sc.universe;
    for (uint32_t k = 0; k < net->nlinks; k++)
        for (int side = 0; side < 2; side++) {
            const vr_portal_end *e = &net->links[k].end[side];
            if (e->universe != me)
                continue;
            uint64_t id;
            if (vr_ent_alloc(c, VR_TAB_portals, &id))
                return -VR_EFULL; /* more than VR_PORTAL_MAX ends in one universe */
            uint32_t r = (uint32_t)id, sys = place_end(sim, c, e, 2 * k + (uint32_t)side);
            c->portals_link[r] = k;
            c->portals_peer[r] = net->links[k].end[1 - side].universe;
            c->portals_system[r] = sys;
            c->portals_node[r] = c->systems_node_begin[sys];
            c->portals_cost[r] = net->links[k].cost;
            c->portals_place[r] = e->place;
            vr_name_put(c->portals_name + (size_t)r * VR_PORTAL_ID_MAX, VR_PORTAL_ID_MAX, net->links[k].id);
        }
    return 0;
}

/* ---- routing ------------------------------------------------------------- */

static void head_for(vr_cols *c, uint32_t f, uint32_t p, uint32_t final)
{
    if (c->fleets_leg[f] < 0.0f) { /* a walk inside its system: start over from where it stands */
        c->fleets_leg[f] = 0.0f;
        c->fleets_progress[f] = 0.0f;
    }
    c->fleets_dest[f] = c->portals_system[p];
    c->fleets_dest_node[f] = c->portals_node[p];
    c->fleets_route_dest[f] = UINT32_MAX;
    c->fleets_portal[f] = p + 1;
    c->fleets_portal_dest[f] = final;
}

int vr__portal_route(vr_sim *sim, vr_cols *c, uint32_t f, uint32_t to, uint32_t sys)
{
    uint32_t np = c->tables[VR_TAB_portals].count, best = UINT32_MAX;
    double bc = INFINITY;
    int rc = vr__routing(sim, c);
    if (rc)
        return rc;
    for (uint32_t p = 0; p < np; p++) {
        if (c->portals_peer[p] != to)
            continue;
        double cost = 0;
        if ((rc = vr__route_cost(sim, c, c->fleets_node[f], c->portals_node[p], &cost)))
            return rc;
        cost += c->portals_cost[p];
        if (cost < bc)
            bc = cost, best = p;
    }
    if (best == UINT32_MAX)
        return -VR_ENOTFOUND;
    head_for(c, f, best, sys);
    return 0;
}

/* ---- the AI: fleets that take a portal ---------------------------------- */

int vr__portal_decide(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st)
{
    uint32_t np = c->tables[VR_TAB_portals].count, nd = c->tables[VR_TAB_decisions].count;
    if (np == 0)
        return 0;
    const vr_scenario *s = &sim->sc;
    for (uint32_t d = 0; d < nd; d++) {
        if (c->decisions_kind[d] != VR_AI_KIND_FLEET || c->decisions_choice[d] != VR_AI_EXPAND)
            continue;
        int64_t row = vr_ent_row(c, VR_TAB_fleets, c->decisions_entity[d]);
        if (row < 0)
            continue;
        uint32_t f = (uint32_t)row, at = c->fleets_at[f];
        if (c->fleets_order[f] || c->fleets_portal[f])
            continue;
        /* the portal at this system or one lane away, nearest first */
        uint32_t best = UINT32_MAX;
        float bd = INFINITY;
        for (uint32_t p = 0; p < np; p++) {
            uint32_t ps = c->portals_system[p];
            float dd = ps == at ? 0.0f : INFINITY;
            for (uint32_t l = c->systems_lane_begin[at], e = l + c->systems_lane_count[at]; l < e; l++)
                if (c->lanes_to[l] == ps && c->lanes_length[l] < dd)
                    dd = c->lanes_length[l];
            dd += c->portals_cost[p];
            if (dd < bd)
                bd = dd, best = p;
        }
        if (best == UINT32_MAX)
            continue;
        /* expansion beyond the portal: the expand score, discounted by the
         * way there, against the best option the fleet already has */
        const float *sc = c->decisions_score + (size_t)d * VR_AI_NOPTIONS;
        double r = (double)vr_unit(vr_rand(s->seed, s->universe, turn, c->decisions_entity[d], VR_RS_PORTAL_AI));
        float portal = sc[VR_AI_EXPAND] * (float)(r / VR_PORTAL_AI_CHANCE) * (20.0f / (20.0f + bd));
        if (!(portal > sc[VR_AI_EXPAND]))
            continue;
        head_for(c, f, best, VR_NO_SYSTEM);
        uint64_t did;
        if (vr_ent_alloc(c, VR_TAB_decisions, &did) == 0) {
            uint32_t k = (uint32_t)did;
            c->decisions_turn[k] = turn;
            c->decisions_entity[k] = c->decisions_entity[d];
            c->decisions_kind[k] = VR_AI_KIND_PORTAL;
            memcpy(c->decisions_score + (size_t)k * VR_AI_NOPTIONS, sc, VR_AI_NOPTIONS * sizeof(float));
            c->decisions_choice[k] = VR_AI_EXPAND;
            c->decisions_prev[k] = VR_AI_EXPAND;
            c->decisions_dest[k] = c->portals_system[best];
        }
        st->m[VR_M_decisions]++;
    }
    return 0;
}

/* ---- movement: fleets entering a portal -> the outbox -------------------- */

static void ledger_add(vr_cols *c, int cause, const int64_t *cargo)
{
    for (int r = 0; r < VR_NRES; r++)
        c->ledger_amount[cause * (VR_NRES + 1) + r] += cargo[r];
    c->ledger_events[cause]++;
}

int vr__portal_enter(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st)
{
    (void)sim, (void)turn;
    memset(&c->tables[VR_TAB_transit], 0, sizeof c->tables[VR_TAB_transit]); /* this turn's records */
    memset(&c->tables[VR_TAB_transit_ships], 0, sizeof c->tables[VR_TAB_transit_ships]);
    uint32_t np = c->tables[VR_TAB_portals].count, nfl = c->tables[VR_TAB_fleets].count;
    if (np == 0 || c->capacity[VR_TAB_transit] == 0)
        return 0;
    uint32_t *gone = NULL, nt = 0, nships = 0;
    for (uint32_t f = 0; f < nfl; f++) {
        if (!(c->gen[VR_TAB_fleets][f] & 1) || c->fleets_portal[f] == 0)
            continue;
        uint32_t p = c->fleets_portal[f] - 1;
        if (p >= np || c->fleets_dest[f] != c->portals_system[p]) { /* sent elsewhere since */
            c->fleets_portal[f] = 0;
            c->fleets_portal_dest[f] = VR_NO_SYSTEM;
            continue;
        }
        if (c->fleets_at[f] != c->fleets_dest[f] || c->fleets_next[f] != c->fleets_at[f] ||
            c->fleets_node[f] != c->fleets_dest_node[f] || c->fleets_leg[f] != 0.0f)
            continue; /* not there yet */
        uint32_t n = c->fleets_ships[f];
        if (n == 0 || n > VR_PORTAL_FLEET_SHIPS || nt >= c->capacity[VR_TAB_transit] ||
            nships + n > c->capacity[VR_TAB_transit_ships])
            continue; /* the outbox is full this turn: it waits at the portal */
        if (!gone && !(gone = calloc(nfl, sizeof *gone)))
            return -ENOMEM;
        uint64_t tid;
        if (vr_ent_alloc(c, VR_TAB_transit, &tid))
            break;
        uint32_t t = (uint32_t)tid;
        c->transit_to[t] = c->portals_peer[p];
        c->transit_link[t] = c->portals_link[p];
        c->transit_fleet[t] = vr_ent_id(c, VR_TAB_fleets, f);
        c->transit_faction[t] = c->fleets_faction[f];
        c->transit_ships[t] = n;
        c->transit_first[t] = nships;
        c->transit_dest[t] = c->fleets_portal_dest[f];
        c->transit_order[t] = c->fleets_order[f];
        c->transit_speed[t] = c->fleets_speed[f];
        memcpy(c->transit_cargo + (size_t)t * VR_NRES, c->fleets_cargo + (size_t)f * VR_NRES,
               VR_NRES * sizeof(int64_t));
        c->transit_capacity[t] = c->fleets_capacity[f];
        c->transit_upkeep[t] = c->fleets_upkeep[f];
        gone[f] = t + 1;
        nships += n;
        nt++;
    }
    if (nt == 0) {
        free(gone);
        return 0;
    }
    /* the ships, grouped by transit row, each group in ship row order */
    uint32_t *fill = calloc(nt, sizeof *fill);
    if (!fill) {
        free(gone);
        return -ENOMEM;
    }
    for (uint32_t k = 0; k < nships; k++) {
        uint64_t sid;
        if (vr_ent_alloc(c, VR_TAB_transit_ships, &sid)) { /* never: room checked above */
            free(gone), free(fill);
            return -VR_EFULL;
        }
    }
    uint32_t ns = c->tables[VR_TAB_ships].count;
    for (uint32_t r = 0; r < ns; r++) {
        if (!(c->gen[VR_TAB_ships][r] & 1) || !gone[c->ships_fleet[r]])
            continue;
        uint32_t t = gone[c->ships_fleet[r]] - 1;
        if (fill[t] >= c->transit_ships[t])
            continue; /* never: fleets.ships counts the fleet's ships */
        uint32_t k = c->transit_first[t] + fill[t]++;
        c->transit_ships_transit[k] = t;
        c->transit_ships_faction[k] = c->ships_faction[r];
        c->transit_ships_design[k] = c->ships_design[r];
        c->transit_ships_hull[k] = c->ships_hull[r];
        c->transit_ships_shield[k] = c->ships_shield[r];
        c->transit_ships_armor[k] = c->ships_armor[r];
        c->transit_ships_strength[k] = c->ships_strength[r];
        c->transit_ships_ap[k] = c->ships_ap[r];
        c->transit_ships_attacks[k] = c->ships_attacks[r];
        c->transit_ships_accuracy[k] = c->ships_accuracy[r];
        c->transit_ships_evasion[k] = c->ships_evasion[r];
        c->transit_ships_morale[k] = c->ships_morale[r];
        c->transit_ships_state[k] = c->ships_state[r];
        c->transit_ships_speed[k] = c->ships_speed[r];
        c->transit_ships_cargo[k] = c->ships_cargo[r];
        vr_ent_free(c, VR_TAB_ships, vr_ent_id(c, VR_TAB_ships, r));
    }
    for (uint32_t t = 0; t < nt; t++)
        c->transit_ships[t] = fill[t]; /* what really left (equal unless the arena was inconsistent) */
    /* the fleets go, with their cargo (recorded as portal out) */
    for (uint32_t f = 0; f < nfl; f++) {
        if (!gone[f])
            continue;
        uint32_t t = gone[f] - 1, fac = c->fleets_faction[f];
        ledger_add(c, VR_CAUSE_PORTAL_OUT, c->transit_cargo + (size_t)t * VR_NRES);
        if (fac >= 1 && fac <= c->tables[VR_TAB_factions].count)
            c->factions_ships[fac - 1] -= c->factions_ships[fac - 1] >= fill[t] ? fill[t] : c->factions_ships[fac - 1];
        memset(c->fleets_cargo + (size_t)f * VR_NRES, 0, VR_NRES * sizeof(int64_t));
        c->fleets_ships[f] = 0;
        c->fleets_upkeep[f] = 0;
        c->fleets_capacity[f] = 0;
        c->fleets_portal[f] = 0;
        vr_ent_free(c, VR_TAB_fleets, vr_ent_id(c, VR_TAB_fleets, f));
        st->m[VR_M_transfers]++;
        st->m[VR_M_transfer_ships] += fill[t];
    }
    free(gone), free(fill);
    return 0;
}

/* ---- arrivals ------------------------------------------------------------ */

static int64_t end_for(const vr_cols *c, uint32_t link, uint32_t peer)
{
    for (uint32_t p = 0; p < c->tables[VR_TAB_portals].count; p++)
        if (c->portals_link[p] == link && c->portals_peer[p] == peer)
            return p;
    return -1;
}

int vr_portal_batch_check(const vr_sim *sim, const vr_cols *c, const vr_portal_batch *b, uint32_t me,
                          uint64_t turn, char *err, size_t errlen)
{
    if (b->dest != me)
        return errf(err, errlen, -VR_EBADMSG, "batch for universe %u arrived at universe %u", b->dest, me);
    if (b->turn + 1 != turn)
        return errf(err, errlen, -VR_EBADMSG, "batch of turn %llu applied in turn %llu (expected turn %llu)",
                    (unsigned long long)b->turn, (unsigned long long)turn, (unsigned long long)(turn - 1));
    uint32_t nsys = c->tables[VR_TAB_systems].count;
    for (uint32_t i = 0; i < b->nfleets; i++) {
        const vr_pfleet *f = &b->fleets[i];
        if (end_for(c, f->link, b->source) < 0)
            return errf(err, errlen, -VR_EBADMSG, "fleet %u: portal %u does not join universe %u to %u", i, f->link,
                        b->source, me);
        if (f->faction < 1)
            return errf(err, errlen, -VR_EBADMSG, "fleet %u: faction 0", i);
        if (f->dest != VR_NO_SYSTEM && f->dest >= nsys)
            return errf(err, errlen, -VR_EBADMSG, "fleet %u: destination system %u out of range", i, f->dest);
        if (f->order > VR_OP_RETREAT)
            return errf(err, errlen, -VR_EBADMSG, "fleet %u: bad order %u", i, f->order);
        for (int r = 0; r < VR_NRES; r++)
            if (f->cargo[r] < 0)
                return errf(err, errlen, -VR_EBADMSG, "fleet %u: negative cargo", i);
        if (f->capacity < 0 || f->upkeep < 0)
            return errf(err, errlen, -VR_EBADMSG, "fleet %u: negative capacity or upkeep", i);
        for (uint32_t k = 0; k < f->nships; k++) {
            const vr_pship *s = &b->ships[f->first + k];
            if (s->design >= sim->ndesigns)
                return errf(err, errlen, -VR_EBADMSG, "fleet %u: ship design %u unknown", i, s->design);
            if (!(s->hull > 0) || s->faction < 1)
                return errf(err, errlen, -VR_EBADMSG, "fleet %u: a ship has hull <= 0 or faction 0", i);
        }
    }
    return 0;
}

typedef struct akey {
    uint32_t source;
    uint64_t fleet;
    const vr_portal_batch *b;
    uint32_t bi, i;
} akey;

static int akey_cmp(const void *pa, const void *pb)
{
    const akey *a = pa, *b = pb;
    if (a->source != b->source)
        return a->source < b->source ? -1 : 1;
    if (a->fleet != b->fleet)
        return a->fleet < b->fleet ? -1 : 1;
    return 0;
}

int vr_sim_arrivals(vr_sim *sim, vr_cols *c, uint64_t turn, vr_portal_batch *const *batches, uint32_t n,
                    vr_portal_stat *st, vr_turn_stats *stats)
{
    (void)sim, (void)turn; /* the batches were checked against this turn */
    memset(&c->tables[VR_TAB_arrivals], 0, sizeof c->tables[VR_TAB_arrivals]); /* this turn's records */
    uint32_t total = 0;
    for (uint32_t k = 0; k < n; k++) {
        total += batches[k]->nfleets;
        if (st) {
            memset(&st[k], 0, sizeof st[k]);
            st[k].peer = batches[k]->source, st[k].dir = 1, st[k].turn = batches[k]->turn;
        }
    }
    if (total == 0)
        return 0;
    akey *keys = malloc(total * sizeof *keys);
    if (!keys)
        return -ENOMEM;
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < batches[k]->nfleets; i++)
            keys[m++] = (akey){batches[k]->source, batches[k]->fleets[i].fleet, batches[k], k, i};
    qsort(keys, m, sizeof *keys, akey_cmp);
    uint32_t nf = c->tables[VR_TAB_factions].count, nsys = c->tables[VR_TAB_systems].count;
    int rc = 0;
    for (uint32_t x = 0; x < m && rc == 0; x++) {
        const vr_portal_batch *b = keys[x].b;
        const vr_pfleet *pf = &b->fleets[keys[x].i];
        int64_t p = end_for(c, pf->link, b->source);
        uint64_t aid;
        if (p < 0 || (rc = vr_ent_alloc(c, VR_TAB_arrivals, &aid)))
            break; /* checked before (vr_portal_batch_check); the table holds every arrival */
        uint32_t a = (uint32_t)aid, sys = c->portals_system[p];
        c->arrivals_from[a] = b->source;
        c->arrivals_turn[a] = b->turn;
        c->arrivals_fleet[a] = pf->fleet;
        c->arrivals_ships[a] = pf->nships;
        c->arrivals_system[a] = sys;
        c->arrivals_entity[a] = 0;
        const vr_tabstate *ft = &c->tables[VR_TAB_fleets], *sht = &c->tables[VR_TAB_ships];
        if (c->capacity[VR_TAB_fleets] - ft->count + ft->free_count < 1 ||
            c->capacity[VR_TAB_ships] - sht->count + sht->free_count < pf->nships) {
            c->arrivals_code[a] = -VR_EFULL; /* lost: the cluster audit reports it */
            continue;
        }
        uint64_t fid;
        if ((rc = vr_ent_alloc(c, VR_TAB_fleets, &fid)))
            break;
        uint32_t f = (uint32_t)fid;
        uint16_t fac = (uint16_t)(nf ? (uint32_t)(pf->faction - 1) % nf + 1 : 1);
        uint32_t dest = pf->dest != VR_NO_SYSTEM && pf->dest < nsys ? pf->dest : sys;
        c->fleets_faction[f] = fac;
        c->fleets_ships[f] = pf->nships;
        c->fleets_at[f] = c->fleets_next[f] = sys;
        c->fleets_node[f] = c->portals_node[p];
        c->fleets_dest[f] = dest;
        c->fleets_dest_node[f] = c->systems_node_begin[dest];
        c->fleets_progress[f] = 0.0f;
        c->fleets_leg[f] = 0.0f;
        c->fleets_speed[f] = pf->speed;
        c->fleets_arrivals[f] = 0;
        c->fleets_choice[f] = 0xff;
        c->fleets_route_dest[f] = UINT32_MAX;
        c->fleets_route_pos[f] = c->fleets_route_len[f] = 0;
        memcpy(c->fleets_cargo + (size_t)f * VR_NRES, pf->cargo, sizeof pf->cargo);
        c->fleets_capacity[f] = pf->capacity;
        c->fleets_upkeep[f] = pf->upkeep;
        c->fleets_flags[f] = 0;
        c->fleets_task[f] = 0;
        c->fleets_target[f] = 0;
        c->fleets_task_res[f] = 0;
        c->fleets_mine_rate[f] = 0;
        c->fleets_order[f] = pf->dest != VR_NO_SYSTEM ? (pf->order ? pf->order : VR_OP_MOVE) : 0;
        c->fleets_hold_until[f] = c->fleets_order[f] ? VR_HOLD_UNTIL_ARRIVAL : 0;
        c->fleets_portal[f] = 0;
        c->fleets_portal_dest[f] = VR_NO_SYSTEM;
        for (uint32_t k = 0; k < pf->nships; k++) {
            const vr_pship *s = &b->ships[pf->first + k];
            uint64_t sid;
            if ((rc = vr_ent_alloc(c, VR_TAB_ships, &sid)))
                break;
            uint32_t r = (uint32_t)sid;
            c->ships_fleet[r] = f;
            c->ships_faction[r] = fac;
            c->ships_design[r] = s->design;
            c->ships_hull[r] = s->hull;
            c->ships_shield[r] = s->shield;
            c->ships_armor[r] = s->armor;
            c->ships_strength[r] = s->strength;
            c->ships_ap[r] = s->ap;
            c->ships_attacks[r] = s->attacks;
            c->ships_accuracy[r] = s->accuracy;
            c->ships_evasion[r] = s->evasion;
            c->ships_morale[r] = s->morale;
            c->ships_state[r] = s->state;
            c->ships_speed[r] = s->speed;
            c->ships_cargo[r] = s->cargo;
        }
        c->factions_ships[fac - 1] += pf->nships;
        ledger_add(c, VR_CAUSE_PORTAL_IN, pf->cargo);
        c->arrivals_entity[a] = fid;
        c->arrivals_code[a] = 0;
        if (st) {
            vr_portal_stat *s = &st[keys[x].bi];
            s->fleets++, s->ships += pf->nships;
            for (int r = 0; r < VR_NRES; r++)
                s->res[r] += pf->cargo[r];
        }
        if (stats)
            stats->m[VR_M_transfers_in]++;
    }
    free(keys);
    return rc;
}
