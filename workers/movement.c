/* movement.c: fleets travel along hyperlanes; arrivals pick new destinations.
 *
 * Each turn a fleet spends its speed as distance along its path: it may cross
 * several systems in one turn and stops mid-lane when the budget runs out.
 * Routes follow shortest-path trees toward each destination, built on demand
 * with Dijkstra (ties broken by system row) and kept for the worker's life.
 * Fleets are processed in row order and disbanded fleets are replaced after
 * the loop, in row order, so the result never depends on timing.
 */
#include "sim_internal.h"
#include "audit.h"

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

/* binary heap of (distance, system) with a total order */
typedef struct { double d; uint32_t v; } hitem;
static int hless(hitem a, hitem b) { return a.d < b.d || (a.d == b.d && a.v < b.v); }

static void hpush(hitem *h, uint32_t *n, hitem x)
{
    uint32_t i = (*n)++;
    while (i > 0 && hless(x, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static hitem hpop(hitem *h, uint32_t *n)
{
    hitem top = h[0], x = h[--(*n)];
    uint32_t i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        hitem best = x;
        if (l < *n && hless(h[l], best))
            m = l, best = h[l];
        if (r < *n && hless(h[r], best))
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (*n)
        h[i] = x;
    return top;
}

/* Tree of shortest paths toward dest: next[v] = neighbour of v on the way. */
static const uint32_t *tree_toward(vr_sim *sim, const vr_cols *c, uint32_t dest)
{
    if (sim->next_hop[dest])
        return sim->next_hop[dest];
    uint32_t n = sim->n;
    uint32_t *next = malloc(n * sizeof *next);
    double *d = malloc(n * sizeof *d);
    uint32_t lanes = c->tables[VR_TAB_lanes].count;
    hitem *heap = malloc((lanes + n + 1) * sizeof *heap);
    if (!next || !d || !heap) {
        free(next), free(d), free(heap);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++)
        d[i] = 1e300, next[i] = i;
    uint32_t hn = 0;
    d[dest] = 0;
    hpush(heap, &hn, (hitem){0, dest});
    while (hn) {
        hitem it = hpop(heap, &hn);
        if (it.d > d[it.v])
            continue;
        uint32_t b = c->systems_lane_begin[it.v], e = b + c->systems_lane_count[it.v];
        for (uint32_t l = b; l < e; l++) {
            uint32_t w = c->lanes_to[l];
            double nd = it.d + (double)c->lanes_length[l];
            if (nd < d[w]) {
                d[w] = nd;
                next[w] = it.v; /* lanes are symmetric: from w, go to it.v */
                hpush(heap, &hn, (hitem){nd, w});
            }
        }
    }
    free(d), free(heap);
    sim->next_hop[dest] = next;
    return next;
}

static float lane_length(const vr_cols *c, uint32_t a, uint32_t b)
{
    uint32_t l = c->systems_lane_begin[a], e = l + c->systems_lane_count[a];
    for (; l < e; l++)
        if (c->lanes_to[l] == b)
            return c->lanes_length[l];
    return 0.0f;
}

int vr_sim_turn(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *stats)
{
    const vr_scenario *s = &sim->sc;
    vr_turn_stats st = {0};
    uint64_t t0 = vr__now_ns();
    uint32_t nf = c->tables[VR_TAB_fleets].count;
    const uint32_t *restrict gen = c->gen[VR_TAB_fleets];
    uint32_t *restrict at = c->fleets_at, *restrict next = c->fleets_next, *restrict dest = c->fleets_dest;
    float *restrict progress = c->fleets_progress;
    const float *restrict speed = c->fleets_speed;
    uint32_t *disband = NULL;
    uint32_t ndisband = 0;

    for (uint32_t i = 0; i < nf; i++) {
        if (!(gen[i] & 1))
            continue;
        float budget = speed[i];
        int moved = 0;
        for (int hops = 0; hops < 64; hops++) {
            if (at[i] == dest[i] && next[i] == at[i]) {
                /* arrived: roll for disband, else pick a new destination */
                uint64_t id = vr_ent_id(c, VR_TAB_fleets, i);
                c->fleets_arrivals[i]++;
                st.m[VR_M_arrivals]++;
                uint64_t r = vr_rand(s->seed, s->universe, turn, id, VR_RS_DISBAND);
                if ((r & 31) == 0) {
                    if (!disband && !(disband = malloc(nf * sizeof *disband)))
                        return -ENOMEM;
                    disband[ndisband++] = i;
                    break;
                }
                uint32_t nd = (uint32_t)((r >> 8) % sim->n);
                dest[i] = nd;
                if (nd == at[i])
                    break;
            }
            if (next[i] == at[i]) {
                const uint32_t *tree = tree_toward(sim, c, dest[i]);
                if (!tree) {
                    free(disband);
                    return -ENOMEM;
                }
                next[i] = tree[at[i]];
                progress[i] = 0.0f;
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
        }
        st.m[VR_M_moved] += (uint64_t)moved;
    }
    /* deferred: disband (the fleet and its ships), then replace in row order */
    if (ndisband) {
        uint8_t *gone = calloc(nf, 1);
        if (!gone) {
            free(disband);
            return -ENOMEM;
        }
        for (uint32_t k = 0; k < ndisband; k++)
            gone[disband[k]] = 1;
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
    st.entities = (uint64_t)c->tables[VR_TAB_fleets].live + c->tables[VR_TAB_systems].live +
                  c->tables[VR_TAB_ships].live;
    st.m[VR_M_ships] = c->tables[VR_TAB_ships].live;
    st.m[VR_M_movement_ns] = vr__now_ns() - t0;

    /* audit last: cheap every turn, full every 10, deep every 100 */
    uint64_t ta = vr__now_ns();
    float hull[256];
    uint32_t nd = sim->ndesigns < 256 ? sim->ndesigns : 256;
    for (uint32_t d = 0; d < nd; d++)
        hull[d] = sim->designs[d].hull;
    vr_audit_params ap = {.turn = turn, .factions = s->factions, .design_hull = hull, .ndesigns = nd};
    int64_t found = vr_audit_run(&ap, c, vr_audit_level(turn));
    st.m[VR_M_findings] = found > 0 ? (uint64_t)found : 0;
    st.m[VR_M_audit_ns] = vr__now_ns() - ta;
    if (stats)
        *stats = st;
    return 0;
}
