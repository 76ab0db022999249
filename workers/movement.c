/* movement.c: fleets travel the two-level graph; storms close hyperlanes.
 *
 * The graph.  Each system's internal graph joins its star to its bodies
 * (planets, asteroid fields, nebulae: edges cost their length, x1.5 into an
 * asteroid field, x2 into a nebula) and to one gate per hyperlane; a gate
 * leads only to its star and across its lane to the facing gate.  So every
 * way through or out of a system passes its star, and the shortest path
 * between nodes of two systems is: the first node's way to its star, the
 * shortest star-to-star path, the last star's way to the second node.  The
 * star-to-star part runs on an overlay with one node per system and one edge
 * per lane costing star -> gate -> lane -> facing gate -> star (the hierarchy
 * over systems and gates): the pathfinder (contraction hierarchies, path.c)
 * answers on a graph ten times smaller than the node graph, with the same
 * costs (tests/workers/test_movement.c compares with Dijkstra on the nodes).
 *
 * A fleet stands at a node of a system (`node` of `at`) or travels a leg:
 * from its node across one lane to the next system's star (or, when that is
 * its destination, on to its destination node `dest_node`), a leg costing
 * `leg`; or, when the destination is a body of the system it stands in, a
 * walk between two bodies (`leg` negative: the fleet counts as standing in
 * the system).  Each turn a fleet spends its speed along its legs: it may
 * cross several systems, stops mid-leg when the budget runs out, holds its
 * destination for the rest of the turn it arrives (the AI, decisions.c,
 * gives it a new one in a later turn), and is intercepted at a system where
 * a fleet of a faction it is at war with stood when the turn began.  Each
 * fleet keeps the next 16 lanes of its route in the arena and asks the
 * pathfinder again only when they run out, its destination changes or the
 * next lane is closed.
 *
 * Storms.  Each turn a few random lanes (both directions) close for 4 to 11
 * turns: `edges.blocked` of the lane's gate-to-gate edges counts the turns
 * left.  Routes avoid closed lanes; a fleet already on a lane when it closes
 * finishes crossing.  The pathfinder's CH is built with nothing closed and
 * checks its answers against the closed set (falling back to A* on the
 * overlay when one crosses a closed lane), so answers are a pure function of
 * the galaxy and the closed set, whatever happened before.
 *
 * Speed.  One pass over the fleet rows: a fleet in mid-leg that does not
 * finish it this turn just adds its speed (the common case, as cheap as the
 * plain loop); standing fleets mark their system for interception; the rest
 * go to a list walked afterwards in row order.  Fleets on the list do not
 * influence one another (interception looks at who stood where when the turn
 * began), so the result is that of a plain walk in row order.  Disbanded
 * fleets are replaced after the walk, in row order.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

#define VR_ROUTE 16         /* lanes of its route a fleet keeps (fleets.route) */
#define MAX_INTERNAL 64     /* nodes of one system the internal search handles */
#define STORM_LANES 8192    /* one storm draw per this many lane rows (at least one) */

static uint32_t star_of(const vr_cols *c, uint32_t sys) { return c->systems_node_begin[sys]; }

/* Shortest internal costs from node a to every node of its system (lanes
 * skipped), into d[node - first node of the system]; returns the node
 * count handled (at most MAX_INTERNAL). */
static uint32_t internal_from(const vr_cols *c, uint32_t a, double d[MAX_INTERNAL])
{
    uint32_t sys = c->nodes_system[a];
    uint32_t base = c->systems_node_begin[sys], k = c->systems_node_count[sys];
    if (k > MAX_INTERNAL)
        k = MAX_INTERNAL;
    uint8_t done[MAX_INTERNAL] = {0};
    for (uint32_t i = 0; i < k; i++)
        d[i] = VR_PATH_INF;
    if (a - base < k)
        d[a - base] = 0.0;
    for (;;) { /* Dijkstra by selection: a system has a handful of nodes */
        uint32_t u = UINT32_MAX;
        for (uint32_t i = 0; i < k; i++)
            if (!done[i] && d[i] < VR_PATH_INF && (u == UINT32_MAX || d[i] < d[u]))
                u = i;
        if (u == UINT32_MAX)
            return k;
        done[u] = 1;
        for (uint32_t e = c->nodes_edge_begin[base + u], end = e + c->nodes_edge_count[base + u]; e < end; e++) {
            uint32_t v = c->edges_to[e] - base;
            if (c->edges_lane[e] != UINT32_MAX || v >= k)
                continue;
            double nd = d[u] + (double)c->edges_cost[e];
            if (nd < d[v])
                d[v] = nd;
        }
    }
}

double vr__internal_cost(const vr_cols *c, uint32_t a, uint32_t b)
{
    if (c->nodes_system[a] != c->nodes_system[b])
        return -1.0;
    double d[MAX_INTERNAL];
    uint32_t k = internal_from(c, a, d), i = b - c->systems_node_begin[c->nodes_system[b]];
    return i < k ? d[i] : VR_PATH_INF;
}

static uint32_t find_lane(const vr_cols *c, uint32_t a, uint32_t b)
{
    for (uint32_t l = c->systems_lane_begin[a], e = l + c->systems_lane_count[a]; l < e; l++)
        if (c->lanes_to[l] == b)
            return l;
    return UINT32_MAX;
}

int vr__routing(vr_sim *sim, const vr_cols *c)
{
    if (sim->pf)
        return 0;
    uint32_t nl = c->tables[VR_TAB_lanes].count, nn = c->tables[VR_TAB_nodes].count;
    uint32_t ns = c->tables[VR_TAB_systems].count;
    sim->to_star = malloc((nn ? nn : 1) * sizeof *sim->to_star);
    sim->lane_w = malloc((nl ? nl : 1) * sizeof *sim->lane_w);
    sim->lane_edge = malloc((nl ? nl : 1) * sizeof *sim->lane_edge);
    sim->lane_back = malloc((nl ? nl : 1) * sizeof *sim->lane_back);
    vr_edge *e = malloc((nl ? nl : 1) * sizeof *e);
    if (!sim->to_star || !sim->lane_w || !sim->lane_edge || !sim->lane_back || !e) {
        free(e);
        return -ENOMEM;
    }
    for (uint32_t v = 0; v < nn; v++)
        sim->to_star[v] = INFINITY;
    for (uint32_t y = 0; y < ns; y++) { /* internal edges go both ways at one cost */
        double d[MAX_INTERNAL];
        uint32_t k = internal_from(c, star_of(c, y), d);
        for (uint32_t i = 0; i < k; i++)
            sim->to_star[c->systems_node_begin[y] + i] = d[i];
    }
    int rc = 0;
    for (uint32_t l = 0; l < nl && !rc; l++) {
        uint32_t g = c->lanes_gate[l], ge = UINT32_MAX;
        for (uint32_t q = c->nodes_edge_begin[g], end = q + c->nodes_edge_count[g]; q < end; q++)
            if (c->edges_lane[q] == l)
                ge = q;
        sim->lane_back[l] = find_lane(c, c->lanes_to[l], c->lanes_from[l]);
        if (ge == UINT32_MAX || sim->lane_back[l] == UINT32_MAX) {
            rc = -VR_EBADARG; /* not a galaxy vr_sim_genesis made */
            break;
        }
        sim->lane_edge[l] = ge;
        sim->lane_w[l] = sim->to_star[g] + (double)c->edges_cost[ge] + sim->to_star[c->edges_to[ge]];
        e[l] = (vr_edge){c->lanes_from[l], c->lanes_to[l], sim->lane_w[l]};
    }
    if (!rc)
        rc = vr_graph_new(&sim->graph, ns, e, nl);
    free(e);
    if (!rc)
        (void)vr_graph_set_coords(sim->graph, c->systems_x, c->systems_y); /* A* bound; optional */
    if (!rc)
        rc = vr_pathfinder_new(&sim->pf, sim->graph,
                               &(vr_path_opts){.cache_slots = 1u << 18, .rebuild = VR_PATH_REBUILD_MANUAL});
    if (!rc)
        rc = vr_path_rebuild(sim->pf); /* the CH of the open galaxy, whatever is closed now */
    for (uint32_t l = 0; l < nl && !rc; l++) /* lanes closed in the arena (a restarted worker) */
        if (c->edges_blocked[sim->lane_edge[l]])
            rc = vr_path_block_edge(sim->pf, l, true) < 0 ? -VR_EBADARG : 0;
    if (rc) {
        vr_pathfinder_destroy(&sim->pf);
        vr_graph_destroy(&sim->graph);
    }
    return rc;
}

int vr__route_cost(vr_sim *sim, const vr_cols *c, uint32_t a, uint32_t b, double *cost)
{
    uint32_t nn = c->tables[VR_TAB_nodes].count;
    if (a >= nn || b >= nn || !cost)
        return -VR_EBADARG;
    int rc = vr__routing(sim, c);
    if (rc)
        return rc;
    uint32_t sa = c->nodes_system[a], sb = c->nodes_system[b];
    if (sa == sb) { /* leaving the system and coming back passes the star twice */
        *cost = vr__internal_cost(c, a, b);
        return 0;
    }
    double mid;
    long r = vr_path_query(sim->pf, sa, sb, &mid, NULL, 0);
    if (r == -VR_ENOPATH) {
        *cost = VR_PATH_INF;
        return 0;
    }
    if (r < 0)
        return (int)r;
    *cost = sim->to_star[a] + mid + sim->to_star[b];
    return 0;
}

/* Closes (turns > 0) or opens lane l and its way back; keeps the pathfinder
 * in step.  A lane already closed keeps the longer of the two storms. */
static int set_storm(vr_sim *sim, vr_cols *c, uint32_t l, uint8_t turns)
{
    uint32_t both[2] = {l, sim->lane_back[l]};
    for (int k = 0; k < 2; k++) {
        uint8_t *b = &c->edges_blocked[sim->lane_edge[both[k]]];
        if (turns && *b >= turns)
            continue;
        *b = turns;
        if (vr_path_block_edge(sim->pf, both[k], turns != 0) < 0)
            return -VR_EBADARG;
    }
    return 0;
}

int vr__storms(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st)
{
    uint64_t t0 = vr__clock_ns();
    int rc = vr__routing(sim, c);
    if (rc)
        return rc;
    const vr_scenario *s = &sim->sc;
    uint32_t nl = c->tables[VR_TAB_lanes].count;
    uint64_t closed = 0;
    /* storms that go on one more turn, or end */
    for (uint32_t l = 0; l < nl && !rc; l++) {
        uint8_t *b = &c->edges_blocked[sim->lane_edge[l]];
        if (*b == 0)
            continue;
        if (--*b == 0 && (rc = vr_path_block_edge(sim->pf, l, false) < 0 ? -VR_EBADARG : 0))
            break;
        closed += *b && l < sim->lane_back[l]; /* both ways always hold the same count */
    }
    /* new storms: one draw per STORM_LANES lane rows, each a storm one time in four */
    uint32_t draws = nl ? 1 + nl / STORM_LANES : 0;
    for (uint32_t k = 0; k < draws && !rc; k++) {
        uint64_t r = vr_rand(s->seed, s->universe, turn, k, VR_RS_STORM);
        if (r & 3)
            continue;
        uint32_t l = (uint32_t)((r >> 2) % nl);
        int was = c->edges_blocked[sim->lane_edge[l]] != 0;
        rc = set_storm(sim, c, l, (uint8_t)(4 + (r >> 40) % 8));
        closed += !was;
    }
    st->m[VR_M_storms] = closed;
    st->m[VR_M_movement_ns] += vr__clock_ns() - t0; /* storms are part of movement */
    return rc;
}

/* Factions at war with faction g (1-based), as bits (f-1) & 63. */
static uint64_t war_mask(const vr_cols *c, uint32_t nfac, uint32_t g)
{
    uint64_t m = 0;
    if (g < 1 || g > nfac)
        return 0;
    for (uint32_t f = 1; f <= nfac; f++)
        if (f != g && c->relations_state[(size_t)(g - 1) * nfac + (f - 1)] == 1)
            m |= 1ull << ((f - 1) & 63);
    return m;
}

typedef struct walkctx {
    vr_sim *sim;
    vr_cols *c;
    uint64_t turn;
    vr_turn_stats *st;
    uint32_t nfac;
    uint64_t *war;          /* per faction: war_mask */
    /* more than 64 factions: the bits only filter; an index of who stood
     * where (built before the walk) decides */
    uint32_t *sbeg;
    uint16_t *sfac;
    uint32_t *disband;
    uint32_t ndisband;
} walkctx;

/* The standing fleets' factions grouped by system (more than 64 factions). */
static int build_index(walkctx *w)
{
    vr_cols *c = w->c;
    uint32_t nf = c->tables[VR_TAB_fleets].count, nsys = c->tables[VR_TAB_systems].count;
    const uint32_t *gen = c->gen[VR_TAB_fleets];
    w->sbeg = calloc((size_t)nsys + 1, sizeof *w->sbeg);
    w->sfac = malloc((nf ? nf : 1) * sizeof *w->sfac);
    uint32_t *fill = malloc(((size_t)nsys + 1) * sizeof *fill);
    if (!w->sbeg || !w->sfac || !fill) {
        free(fill);
        return -ENOMEM;
    }
    /* built before the walk: standing is next == at with no leg between systems */
    for (uint32_t i = 0; i < nf; i++)
        if ((gen[i] & 1) && c->fleets_ships[i] && c->fleets_next[i] == c->fleets_at[i] && c->fleets_leg[i] <= 0.0f)
            w->sbeg[c->fleets_at[i] + 1]++;
    for (uint32_t k = 0; k < nsys; k++)
        w->sbeg[k + 1] += w->sbeg[k];
    memcpy(fill, w->sbeg, ((size_t)nsys + 1) * sizeof *fill);
    for (uint32_t i = 0; i < nf; i++)
        if ((gen[i] & 1) && c->fleets_ships[i] && c->fleets_next[i] == c->fleets_at[i] && c->fleets_leg[i] <= 0.0f)
            w->sfac[fill[c->fleets_at[i]]++] = c->fleets_faction[i];
    free(fill);
    return 0;
}

/* Whether a fleet of faction me reaching system sys is intercepted. */
static int intercepted(walkctx *w, uint32_t sys, uint16_t me)
{
    if (me < 1 || me > w->nfac || !(w->sim->present[sys] & w->war[me - 1]))
        return 0;
    if (w->nfac <= 64)
        return 1; /* the bits are exact */
    for (uint32_t k = w->sbeg[sys]; k < w->sbeg[sys + 1]; k++)
        if (w->sfac[k] != me && w->sfac[k] <= w->nfac &&
            w->c->relations_state[(size_t)(me - 1) * w->nfac + (w->sfac[k] - 1)] == 1)
            return 1;
    return 0;
}

/* The next lane on fleet i's way from `at` to its destination: from its
 * stored route while that continues from here over an open lane, else from
 * a new query (which stores the VR_ROUTE lanes after it).  *lane is
 * UINT32_MAX when there is no open way. */
static int next_hop(walkctx *w, uint32_t i, uint32_t *lane)
{
    vr_sim *sim = w->sim;
    vr_cols *c = w->c;
    uint32_t at = c->fleets_at[i], dest = c->fleets_dest[i];
    uint32_t *route = c->fleets_route + (size_t)i * VR_ROUTE;
    if (c->fleets_route_dest[i] == dest && c->fleets_route_pos[i] < c->fleets_route_len[i]) {
        uint32_t l = route[c->fleets_route_pos[i]];
        if (l < c->tables[VR_TAB_lanes].count && c->lanes_from[l] == at && !c->edges_blocked[sim->lane_edge[l]]) {
            c->fleets_route_pos[i]++;
            *lane = l;
            return 0;
        }
    }
    uint64_t tp = vr__clock_ns();
    w->st->m[VR_M_paths]++;
    c->fleets_route_len[i] = c->fleets_route_pos[i] = 0;
    c->fleets_route_dest[i] = dest;
    *lane = UINT32_MAX;
    if (!sim->path_buf && !(sim->path_buf = malloc((size_t)sim->n * sizeof *sim->path_buf)))
        return -ENOMEM;
    double cost;
    long len = vr_path_query(sim->pf, at, dest, &cost, sim->path_buf, sim->n);
    w->st->m[VR_M_paths_ns] += vr__clock_ns() - tp;
    if (len == -VR_ENOPATH || (len >= 0 && len < 2))
        return 0; /* cut off by storms: wait */
    if (len < 0)
        return (int)len;
    *lane = find_lane(c, at, sim->path_buf[1]);
    uint32_t keep = (uint32_t)len - 2 < VR_ROUTE ? (uint32_t)len - 2 : VR_ROUTE;
    for (uint32_t k = 0; k < keep; k++)
        route[k] = find_lane(c, sim->path_buf[1 + k], sim->path_buf[2 + k]);
    c->fleets_route_len[i] = (uint8_t)keep;
    return 0;
}

/* Starts fleet i's next leg if it has somewhere to go.  0 or an error; the
 * leg stays 0 when there is nowhere to go (or no open way). */
static int start_leg(walkctx *w, uint32_t i)
{
    vr_sim *sim = w->sim;
    vr_cols *c = w->c;
    uint32_t at = c->fleets_at[i], dest = c->fleets_dest[i], node = c->fleets_node[i];
    c->fleets_progress[i] = 0.0f;
    if (c->fleets_next[i] == at && at == dest) { /* a walk inside the system */
        float cost = (float)vr__internal_cost(c, node, c->fleets_dest_node[i]);
        if (cost > 0.0f && cost < INFINITY)
            c->fleets_leg[i] = -cost;
        else /* no way there inside (never, for a galaxy genesis made): be there */
            c->fleets_node[i] = c->fleets_dest_node[i];
        return 0;
    }
    uint32_t next = c->fleets_next[i], lane;
    if (next != at && (lane = find_lane(c, at, next)) != UINT32_MAX && c->edges_blocked[sim->lane_edge[lane]])
        c->fleets_next[i] = next = at; /* sent back by combat over a closed lane: find a way round */
    if (next == at) {
        int rc = next_hop(w, i, &lane);
        if (rc || lane == UINT32_MAX)
            return rc;
        c->fleets_next[i] = next = c->lanes_to[lane];
    } else if ((lane = find_lane(c, at, next)) == UINT32_MAX) { /* set off by combat along a lane */
        return -VR_EBADARG;
    }
    double leg = sim->to_star[node] + sim->lane_w[lane];
    if (next == dest)
        leg += sim->to_star[c->fleets_dest_node[i]];
    c->fleets_leg[i] = (float)leg;
    return 0;
}

/* The whole turn of fleet i (one that the fast pass did not finish). */
static int walk(walkctx *w, uint32_t i)
{
    vr_cols *c = w->c;
    vr_turn_stats *st = w->st;
    float budget = c->fleets_speed[i];
    int moved = 0;
    uint16_t me = c->fleets_faction[i];
    for (int hops = 0; hops < 64; hops++) {
        if (c->fleets_leg[i] == 0.0f) {
            if (c->fleets_at[i] == c->fleets_dest[i] && c->fleets_next[i] == c->fleets_at[i] &&
                c->fleets_node[i] == c->fleets_dest_node[i]) {
                if (moved) { /* arrived this turn: hold it until next turn */
                    c->fleets_arrivals[i]++;
                    st->m[VR_M_arrivals]++;
                    break;
                }
                /* standing at its destination (the AI chose to stay): a fleet
                 * may be disbanded (its ships freed, a new fleet raised),
                 * unless a user's order holds it */
                if (c->fleets_order[i] != 0 && c->fleets_hold_until[i] >= w->turn)
                    break;
                uint64_t id = vr_ent_id(c, VR_TAB_fleets, i);
                uint64_t r = vr_rand(w->sim->sc.seed, w->sim->sc.universe, w->turn, id, VR_RS_DISBAND);
                if ((r & 31) == 0)
                    w->disband[w->ndisband++] = i;
                break;
            }
            int rc = start_leg(w, i);
            if (rc)
                return rc;
            if (c->fleets_leg[i] == 0.0f)
                break; /* no open way: wait here */
        }
        if (budget <= 0.0f)
            break;
        float leg = c->fleets_leg[i], cost = leg < 0.0f ? -leg : leg;
        float remain = cost - c->fleets_progress[i];
        moved = 1;
        if (budget < remain) {
            c->fleets_progress[i] += budget;
            break;
        }
        budget -= remain;
        c->fleets_progress[i] = 0.0f;
        c->fleets_leg[i] = 0.0f;
        if (leg < 0.0f) { /* the walk inside the system is done */
            c->fleets_node[i] = c->fleets_dest_node[i];
            continue;
        }
        uint32_t to = c->fleets_next[i];
        c->fleets_at[i] = to;
        c->fleets_node[i] = to == c->fleets_dest[i] ? c->fleets_dest_node[i] : star_of(c, to);
        if (to != c->fleets_dest[i]) {
            int hit = intercepted(w, to, me);
            if (hit < 0)
                return hit;
            if (hit) { /* an enemy at war stands here */
                st->m[VR_M_intercepted]++;
                break;
            }
        }
    }
    st->m[VR_M_moved] += (uint64_t)moved;
    return 0;
}

/* Frees the disbanded fleets and their ships (cargo recorded as destroyed),
 * then raises as many new fleets, in row order. */
static int disband_all(vr_sim *sim, vr_cols *c, uint64_t turn, const uint32_t *disband, uint32_t nd,
                       vr_turn_stats *st)
{
    if (!nd)
        return 0;
    uint32_t nf = c->tables[VR_TAB_fleets].count;
    uint8_t *gone = calloc(nf, 1);
    if (!gone)
        return -ENOMEM;
    for (uint32_t k = 0; k < nd; k++) {
        int rc = vr__economy_lose_cargo(sim, c, disband[k]);
        if (rc) {
            free(gone);
            return rc;
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
    for (uint32_t k = 0; k < nd; k++) {
        int rc = vr_ent_free(c, VR_TAB_fleets, vr_ent_id(c, VR_TAB_fleets, disband[k]));
        if (rc)
            return rc;
    }
    for (uint32_t k = 0; k < nd; k++) {
        int rc = vr__spawn_fleet(sim, c, turn, k);
        if (rc)
            return rc;
        st->m[VR_M_spawned]++;
    }
    /* recount ships per faction after disband and respawn */
    for (uint32_t f = 0; f < c->tables[VR_TAB_factions].count; f++)
        c->factions_ships[f] = 0;
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++) /* the new ones too */
        if (c->gen[VR_TAB_ships][r] & 1)
            c->factions_ships[c->ships_faction[r] - 1]++;
    return 0;
}

int vr__move(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *stats)
{
    vr_turn_stats st = *stats;
    uint64_t t0 = vr__clock_ns();
    int rc = vr__routing(sim, c);
    if (rc)
        return rc;
    uint32_t nf = c->tables[VR_TAB_fleets].count, nsys = c->tables[VR_TAB_systems].count;
    uint32_t nfac = c->tables[VR_TAB_factions].count;
    if (!sim->present && !(sim->present = malloc((size_t)nsys * sizeof *sim->present)))
        return -ENOMEM;
    walkctx w = {.sim = sim, .c = c, .turn = turn, .st = &st, .nfac = nfac};
    w.war = malloc((nfac ? nfac : 1) * sizeof *w.war);
    uint32_t *slow = realloc(sim->slow, (nf ? nf : 1) * sizeof *slow);
    if (!w.war || !slow) {
        free(w.war);
        return -ENOMEM;
    }
    sim->slow = slow;
    for (uint32_t g = 1; g <= nfac; g++)
        w.war[g - 1] = war_mask(c, nfac, g);
    memset(sim->present, 0, (size_t)nsys * sizeof *sim->present);

    /* the fast pass */
    const uint32_t *restrict gen = c->gen[VR_TAB_fleets];
    const float *restrict speed = c->fleets_speed, *restrict legs = c->fleets_leg;
    float *restrict progress = c->fleets_progress;
    uint64_t *restrict present = sim->present;
    uint32_t nslow = 0;
    uint64_t cruising = 0;
    for (uint32_t i = 0; i < nf; i++) {
        if (!(gen[i] & 1))
            continue;
        float leg = legs[i];
        if (leg > 0.0f) { /* between systems */
            float p = progress[i] + speed[i];
            if (p < leg) {
                progress[i] = p;
                cruising++;
            } else {
                slow[nslow++] = i;
            }
            continue;
        }
        /* standing (leg 0, or a walk inside the system) unless set off by combat */
        if (c->fleets_next[i] == c->fleets_at[i] && c->fleets_ships[i] && c->fleets_faction[i] >= 1)
            present[c->fleets_at[i]] |= 1ull << ((c->fleets_faction[i] - 1u) & 63);
        slow[nslow++] = i;
    }
    st.m[VR_M_moved] += cruising;
    if (nfac > 64 && (rc = build_index(&w))) { /* who stood where, before anyone moves */
        free(w.war), free(w.sbeg), free(w.sfac);
        return rc;
    }
    w.disband = slow; /* disbanded rows overwrite walked entries, never unread ones */
    for (uint32_t k = 0; k < nslow && !rc; k++)
        rc = walk(&w, slow[k]);
    if (!rc)
        rc = disband_all(sim, c, turn, w.disband, w.ndisband, &st);
    free(w.war), free(w.sbeg), free(w.sfac);
    st.m[VR_M_movement_ns] += vr__clock_ns() - t0;
    *stats = st;
    return rc;
}
