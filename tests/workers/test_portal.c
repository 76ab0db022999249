/* test_portal.c: portals (workers/portal.c, workers/portal_wire.c): the
 * network and its configuration files, portal ends at turn 0, orders and
 * fleets entering a portal (outbox, ledger), batches on the wire (round trip
 * and fuzzing), arrivals in canonical order, conservation. */
#include "economy.h"
#include "portal.h"
#include "vr_test_world.h"

#include <math.h>
#include <unistd.h>

#define EX "/config/portal_examples/"

static char exdir[4200];
static const char *example(const char *file)
{
    static char buf[4400];
    snprintf(exdir, sizeof exdir, "%s%s", vt_pack_dir(), EX);
    snprintf(buf, sizeof buf, "%s%s", exdir, file);
    return buf;
}

static int net(vr_portal_net **n, uint32_t universes, const char *spec, const char *names, char *err)
{
    vr_portal_config cfg = {.universes = universes, .seed = 5, .spec = spec, .names = names};
    err[0] = 0;
    return vr_portal_net_new(n, &cfg, err, 512);
}

/* ---- configuration -------------------------------------------------------- */

START_TEST(test_default_network)
{
    char err[512];
    vr_portal_net *n = NULL;
    ck_assert_int_eq(net(&n, 1, NULL, NULL, err), 0);
    ck_assert_uint_eq(n->nlinks, 0);
    vr_portal_net_destroy(&n);
    ck_assert_int_eq(net(&n, 2, "default", NULL, err), 0);
    ck_assert_uint_eq(n->nlinks, 1);
    ck_assert(vr_portal_net_peers(n, 0, 1) && vr_portal_net_peers(n, 1, 0) && !vr_portal_net_peers(n, 0, 0));
    vr_portal_net_destroy(&n);
    ck_assert_int_eq(net(&n, 5, "default", NULL, err), 0);
    ck_assert_uint_eq(n->nlinks, 5); /* a ring */
    for (uint32_t u = 0; u < 5; u++) {
        ck_assert(vr_portal_net_peers(n, u, (u + 1) % 5));
        ck_assert(!vr_portal_net_peers(n, u, (u + 2) % 5));
    }
    uint64_t h = vr_portal_net_hash(n);
    vr_portal_net_destroy(&n);
    ck_assert_int_eq(net(&n, 5, "default", NULL, err), 0);
    ck_assert_uint_eq(vr_portal_net_hash(n), h); /* deterministic */
    vr_portal_net_destroy(&n);
    ck_assert_int_eq(net(&n, 5, "off", NULL, err), 0);
    ck_assert_uint_eq(n->nlinks, 0);
    ck_assert(!vr_portal_net_peers(n, 0, 1));
    vr_portal_net_destroy(&n);
}
END_TEST

START_TEST(test_example_files)
{
    char err[512], spec[9000];
    vr_portal_net *n = NULL;
    /* simple: one portal main -> target_universe, galactic core */
    snprintf(spec, sizeof spec, "main=%s", example("simple_two_universe.json"));
    ck_assert_msg(net(&n, 2, spec, "main,target_universe", err) == 0, "%s", err);
    ck_assert_uint_eq(n->nlinks, 1);
    ck_assert_str_eq(n->links[0].id, "nexus_alpha");
    ck_assert_uint_eq(n->links[0].end[0].universe, 0);
    ck_assert_uint_eq(n->links[0].end[1].universe, 1);
    ck_assert_uint_eq(n->links[0].end[0].place, VR_PLACE_CORE);
    vr_portal_net_destroy(&n);
    /* multi: two portals from star_wars */
    snprintf(spec, sizeof spec, "sw=%s", example("multi_portal_network.json"));
    ck_assert_msg(net(&n, 3, spec, "sw,star_trek,warhammer40k", err) == 0, "%s", err);
    ck_assert_uint_eq(n->nlinks, 2);
    ck_assert_uint_eq(n->links[0].end[1].universe, 1);
    ck_assert_uint_eq(n->links[1].end[1].universe, 2);
    ck_assert_uint_eq(n->links[0].end[0].place, VR_PLACE_NEAREST);
    ck_assert(n->links[0].end[0].x == 10.0f && n->links[0].end[1].y == 90.0f);
    vr_portal_net_destroy(&n);
    /* strategic: three placement strategies, attached to u1 by index name */
    snprintf(spec, sizeof spec, "u1=%s", example("strategic_placement.json"));
    ck_assert_msg(net(&n, 5, spec, "a,b,uni_b,uni_c,uni_d", err) == 0, "%s", err);
    ck_assert_uint_eq(n->nlinks, 3);
    ck_assert_uint_eq(n->links[0].end[0].universe, 1);
    ck_assert_uint_eq(n->links[0].end[1].universe, 2);
    ck_assert_uint_eq(n->links[1].end[0].place, VR_PLACE_BORDER);
    ck_assert_uint_eq(n->links[2].end[0].place, VR_PLACE_EXACT);
    vr_portal_net_destroy(&n);
    /* dest_universe names need --universe-names */
    snprintf(spec, sizeof spec, "%s", example("simple_two_universe.json"));
    ck_assert_int_eq(net(&n, 2, spec, NULL, err), -VR_ECONTENT);
    ck_assert_msg(strstr(err, "target_universe") && strstr(err, "dest_universe") && strstr(err, "simple_two"),
                  "%s", err);
    ck_assert_ptr_null(n);
}
END_TEST

static const struct {
    const char *json, *want;
} broken[] = {
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"nowhere\", "
     "\"dest_coords\": [3, 4]}]}", "unknown universe \"nowhere\""},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"u1\", "
     "\"dest_coords\": [3, 400]}]}", "dest_coords"},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1], \"dest_universe\": \"u1\", "
     "\"dest_coords\": [3, 4]}]}", "source_coords"},
    {"{\"portals\": [{\"source_coords\": [1, 2], \"dest_universe\": \"u1\", \"dest_coords\": [3, 4]}]}",
     "portal_id"},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_coords\": [3, 4]}]}",
     "dest_universe"},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"u1\", "
     "\"dest_coords\": [3, 4], \"placement_strategy\": \"anywhere\"}]}", "placement_strategy"},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"u0\", "
     "\"dest_coords\": [3, 4]}]}", "is the universe the file is attached to"},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"u1\", "
     "\"dest_coords\": [3, 4]}, {\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"u1\", "
     "\"dest_coords\": [3, 4]}]}", "used twice"},
    {"{\"portals\": [{\"portal_id\": \"p\", \"source_coords\": [1, 2], \"dest_universe\": \"u1\", "
     "\"dest_coords\": [3, 4], \"metadata\": {\"cost\": -1}}]}", "metadata.cost"},
    {"{\"portals\": 7}", "portals"},
    {"[1, 2]", "not a JSON object"},
    {"{\"portals\": [", "line"},
    {"{\"enable_portals\": \"yes\", \"portals\": []}", "enable_portals"},
};

START_TEST(test_broken_files)
{
    char dir[] = "/tmp/vr_portal_XXXXXX", path[256], err[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(broken[_i].json, f);
    fclose(f);
    vr_portal_net *n = NULL;
    int rc = net(&n, 2, path, NULL, err);
    unlink(path);
    rmdir(dir);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_null(n);
    ck_assert_msg(strstr(err, broken[_i].want) != NULL, "case %d: \"%s\" does not say \"%s\"", _i, err,
                  broken[_i].want);
    ck_assert_msg(strstr(err, "p.json") != NULL, "case %d: \"%s\" does not name the file", _i, err);
}
END_TEST

START_TEST(test_bad_spec)
{
    char err[512];
    vr_portal_net *n = NULL;
    ck_assert_int_lt(net(&n, 2, "zz=/nonexistent.json", NULL, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "zz"));
    ck_assert_int_lt(net(&n, 2, "/nonexistent.json", NULL, err), 0);
    ck_assert_ptr_nonnull(strstr(err, "nonexistent"));
    ck_assert_int_lt(net(&n, 3, NULL, "a,b", err), 0);
    ck_assert_ptr_nonnull(strstr(err, "names"));
    /* a disabled file gives no portals */
    char dir[] = "/tmp/vr_portal_XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/off.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"enable_portals\": false, \"portals\": [1]}", f);
    fclose(f);
    ck_assert_int_eq(net(&n, 2, path, NULL, err), 0);
    ck_assert_uint_eq(n->nlinks, 0);
    vr_portal_net_destroy(&n);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- worlds with portals ---------------------------------------------------- */

typedef struct world {
    char seg[64];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
    vr_scenario s;
} world;

static vr_portal_net *ring3;

static void make(world *w, uint32_t u, const vr_portal_net *n)
{
    w->s = (vr_scenario){.seed = 5, .universe = u, .systems = 64, .fleets = 200, .factions = 4, .portals = n};
    char tag[16];
    snprintf(tag, sizeof tag, "por%u", u);
    vt_world_make(tag, &w->s, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim);
}

static void drop(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

static void setup(void)
{
    char err[512];
    ck_assert_int_eq(net(&ring3, 3, "default", NULL, err), 0);
}

static void teardown(void) { vr_portal_net_destroy(&ring3); }

START_TEST(test_genesis_ends)
{
    world w;
    make(&w, 1, ring3);
    vr_cols *c = &w.c;
    ck_assert_uint_eq(c->tables[VR_TAB_portals].count, 2); /* to u0 and to u2 */
    bool to0 = false, to2 = false;
    for (uint32_t p = 0; p < 2; p++) {
        ck_assert_uint_lt(c->portals_system[p], 64);
        ck_assert_uint_eq(c->portals_node[p], c->systems_node_begin[c->portals_system[p]]);
        ck_assert_uint_eq(c->nodes_kind[c->portals_node[p]], VR_NODE_STAR);
        to0 |= c->portals_peer[p] == 0, to2 |= c->portals_peer[p] == 2;
        ck_assert(c->portals_cost[p] == VR_PORTAL_COST);
    }
    ck_assert(to0 && to2);
    ck_assert_str_eq((const char *)c->portals_name, "ring_0_1");
    drop(&w);
    /* without a network: no rows, and the tables take no room */
    make(&w, 1, NULL);
    ck_assert_uint_eq(w.c.tables[VR_TAB_portals].count, 0);
    ck_assert_uint_eq(w.c.capacity[VR_TAB_transit], 0);
    drop(&w);
}
END_TEST

START_TEST(test_placement_strategies)
{
    char err[512], spec[9000];
    vr_portal_net *n = NULL;
    snprintf(spec, sizeof spec, "u0=%s", example("strategic_placement.json"));
    ck_assert_msg(net(&n, 4, spec, "a,uni_b,uni_c,uni_d", err) == 0, "%s", err);
    world w;
    make(&w, 0, n);
    vr_cols *c = &w.c;
    ck_assert_uint_eq(c->tables[VR_TAB_portals].count, 3);
    float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (uint32_t s = 0; s < 64; s++) {
        x0 = fminf(x0, c->systems_x[s]), x1 = fmaxf(x1, c->systems_x[s]);
        y0 = fminf(y0, c->systems_y[s]), y1 = fmaxf(y1, c->systems_y[s]);
    }
    float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    /* core: no system is nearer the centre */
    uint32_t core = c->portals_system[0];
    float dc = hypotf(c->systems_x[core] - cx, c->systems_y[core] - cy);
    for (uint32_t s = 0; s < 64; s++)
        ck_assert(hypotf(c->systems_x[s] - cx, c->systems_y[s] - cy) >= dc);
    /* border (coordinates at the centre): no system is farther out */
    uint32_t border = c->portals_system[1];
    float db = hypotf(c->systems_x[border] - cx, c->systems_y[border] - cy);
    for (uint32_t s = 0; s < 64; s++)
        ck_assert(hypotf(c->systems_x[s] - cx, c->systems_y[s] - cy) <= db);
    /* exact (15, 85 percent): the nearest system */
    float px = x0 + 0.15f * (x1 - x0), py = y0 + 0.85f * (y1 - y0);
    uint32_t ex = c->portals_system[2];
    float de = hypotf(c->systems_x[ex] - px, c->systems_y[ex] - py);
    for (uint32_t s = 0; s < 64; s++)
        ck_assert(hypotf(c->systems_x[s] - px, c->systems_y[s] - py) >= de - 1e-3f);
    drop(&w);
    vr_portal_net_destroy(&n);
}
END_TEST

/* A fleet with ships, standing at portal p's system, heading into it, with
 * `units` of a good taken from the market (so every good is still accounted
 * for); the good in last_res. */
static int last_res;
static uint32_t ready_fleet(vr_cols *c, uint32_t p, int64_t ore)
{
    uint32_t f = UINT32_MAX;
    for (uint32_t r = 0; r < c->tables[VR_TAB_fleets].count && f == UINT32_MAX; r++)
        if ((c->gen[VR_TAB_fleets][r] & 1) && c->fleets_ships[r] >= 2 && c->fleets_portal[r] == 0)
            f = r;
    ck_assert_uint_ne(f, UINT32_MAX);
    uint32_t sys = c->portals_system[p];
    vt_place(c, f, sys, sys, sys, 0.0f);
    c->fleets_portal[f] = p + 1;
    c->fleets_portal_dest[f] = 7;
    last_res = -1; /* from the market, which holds every good */
    for (int g = 0; g < 4 && last_res < 0; g++)
        if (c->markets_stock[g] >= ore)
            last_res = g;
    ck_assert_int_ge(last_res, 0);
    c->markets_stock[last_res] -= ore;
    c->fleets_cargo[(size_t)f * 4 + (size_t)last_res] += ore;
    c->fleets_capacity[f] += ore;
    return f;
}

static uint32_t ships_of(const vr_cols *c, uint32_t f)
{
    uint32_t n = 0;
    for (uint32_t r = 0; r < c->tables[VR_TAB_ships].count; r++)
        n += (c->gen[VR_TAB_ships][r] & 1) && c->ships_fleet[r] == f;
    return n;
}

START_TEST(test_enter_outbox)
{
    world w;
    make(&w, 0, ring3);
    vr_cols *c = &w.c;
    char why[256];
    ck_assert_int_eq(vr__economy_check(w.sim, c, why, sizeof why), 0);
    uint32_t f = ready_fleet(c, 0, 17);
    uint64_t id = vr_ent_id(c, VR_TAB_fleets, f);
    uint32_t n = c->fleets_ships[f], live_ships = c->tables[VR_TAB_ships].live;
    ck_assert_uint_eq(ships_of(c, f), n);
    /* the first ship's columns, to compare in the outbox */
    uint32_t s0 = 0;
    while (!((c->gen[VR_TAB_ships][s0] & 1) && c->ships_fleet[s0] == f))
        s0++;
    float hull = c->ships_hull[s0];
    uint16_t design = c->ships_design[s0];
    uint32_t fac = c->fleets_faction[f], fac_ships = c->factions_ships[fac - 1];
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__portal_enter(w.sim, c, 3, &st), 0);
    /* gone from the universe: fleet, ships, cargo */
    ck_assert_int_lt(vr_ent_row(c, VR_TAB_fleets, id), 0);
    ck_assert_uint_eq(c->tables[VR_TAB_ships].live, live_ships - n);
    ck_assert_uint_eq(ships_of(c, f), 0);
    ck_assert_uint_eq(c->factions_ships[fac - 1], fac_ships - n);
    /* in the outbox */
    ck_assert_uint_eq(c->tables[VR_TAB_transit].live, 1);
    ck_assert_uint_eq(c->transit_fleet[0], id);
    ck_assert_uint_eq(c->transit_to[0], c->portals_peer[0]);
    ck_assert_uint_eq(c->transit_ships[0], n);
    ck_assert_uint_eq(c->transit_dest[0], 7);
    ck_assert_int_eq(c->transit_cargo[last_res], 17);
    ck_assert_uint_eq(c->tables[VR_TAB_transit_ships].live, n);
    ck_assert(c->transit_ships_hull[0] == hull);
    ck_assert_uint_eq(c->transit_ships_design[0], design);
    ck_assert_uint_eq(st.m[VR_M_transfers], 1);
    ck_assert_uint_eq(st.m[VR_M_transfer_ships], n);
    /* the ledger says where the ore went: conserved */
    ck_assert_int_eq(c->ledger_amount[VR_CAUSE_PORTAL_OUT * 5 + last_res], 17);
    ck_assert_msg(vr__economy_check(w.sim, c, why, sizeof why) == 0, "%s", why);
    /* a fleet sent elsewhere since loses its portal and stays */
    uint32_t g = ready_fleet(c, 1, 0);
    c->fleets_dest[g] = (c->portals_system[1] + 1) % 64;
    ck_assert_int_eq(vr__portal_enter(w.sim, c, 4, &st), 0);
    ck_assert_uint_eq(c->tables[VR_TAB_transit].live, 0); /* this turn's records only */
    ck_assert_uint_eq(c->fleets_portal[g], 0);
    ck_assert(c->gen[VR_TAB_fleets][g] & 1);
    drop(&w);
}
END_TEST

/* Builds the batch universe src sends to dst after sending fleet(s) in. */
static void batch_from(world *w, uint32_t dst, uint64_t turn, int nfleets, vr_portal_batch *b)
{
    vr_cols *c = &w->c;
    uint32_t p = c->portals_peer[0] == dst ? 0 : 1;
    ck_assert_uint_eq(c->portals_peer[p], dst);
    for (int k = 0; k < nfleets; k++)
        ready_fleet(c, p, 5 + k);
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__portal_enter(w->sim, c, turn, &st), 0);
    ck_assert_uint_eq(st.m[VR_M_transfers], (uint64_t)nfleets);
    vr_portal_batch_init(b);
    ck_assert_int_eq(vr_portal_batch_from_outbox(b, c, w->s.universe, dst, turn), 0);
    ck_assert_uint_eq(b->nfleets, (uint32_t)nfleets);
}

START_TEST(test_batch_round_trip)
{
    world w;
    make(&w, 0, ring3);
    vr_portal_batch b, d;
    batch_from(&w, 1, 9, 3, &b);
    char *bytes = NULL;
    size_t len = 0;
    ck_assert_int_eq(vr_portal_batch_encode(&b, &bytes, &len), 0);
    char err[256];
    vr_portal_batch_init(&d);
    ck_assert_msg(vr_portal_batch_decode(bytes, len, &d, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(d.source, 0);
    ck_assert_uint_eq(d.dest, 1);
    ck_assert_uint_eq(d.turn, 9);
    ck_assert_uint_eq(d.nfleets, b.nfleets);
    ck_assert_uint_eq(d.nships, b.nships);
    for (uint32_t i = 0; i < b.nfleets; i++) {
        ck_assert_uint_eq(d.fleets[i].fleet, b.fleets[i].fleet);
        ck_assert_int_eq(memcmp(d.fleets[i].cargo, b.fleets[i].cargo, sizeof d.fleets[i].cargo), 0);
        ck_assert(d.fleets[i].speed == b.fleets[i].speed);
    }
    for (uint32_t k = 0; k < b.nships; k++) { /* field by field: the structs have padding */
        const vr_pship *x = &d.ships[k], *y = &b.ships[k];
        ck_assert(x->hull == y->hull && x->shield == y->shield && x->armor == y->armor &&
                  x->strength == y->strength && x->ap == y->ap && x->speed == y->speed);
        ck_assert(x->cargo == y->cargo && x->faction == y->faction && x->design == y->design &&
                  x->attacks == y->attacks && x->accuracy == y->accuracy && x->evasion == y->evasion &&
                  x->morale == y->morale && x->state == y->state);
    }
    /* the same batch encodes to the same bytes (receivers compare copies) */
    char *again = NULL;
    size_t len2 = 0;
    ck_assert_int_eq(vr_portal_batch_encode(&d, &again, &len2), 0);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(again, bytes, len), 0);
    /* an empty batch too */
    vr_portal_batch e;
    vr_portal_batch_init(&e);
    ck_assert_int_eq(vr_portal_batch_from_outbox(&e, &w.c, 0, 2, 9), 0);
    ck_assert_uint_eq(e.nfleets, 0);
    free(again);
    ck_assert_int_eq(vr_portal_batch_encode(&e, &again, &len2), 0);
    ck_assert_int_eq(vr_portal_batch_decode(again, len2, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d.nfleets, 0);
    ck_assert_uint_eq(d.dest, 2);
    free(again), free(bytes);
    vr_portal_batch_fini(&b), vr_portal_batch_fini(&d), vr_portal_batch_fini(&e);
    drop(&w);
}
END_TEST

/* Arrivals in universe 1 from u0 and u2 (a ring of 3). */
START_TEST(test_arrivals_canonical)
{
    world s0, s2;
    make(&s0, 0, ring3);
    vr_portal_batch b0, b2;
    batch_from(&s0, 1, 4, 2, &b0);
    drop(&s0);
    make(&s2, 2, ring3);
    batch_from(&s2, 1, 4, 3, &b2);
    drop(&s2);
    uint64_t hashes[2];
    uint32_t first_from[2];
    for (int order = 0; order < 2; order++) {
        world w;
        make(&w, 1, ring3);
        vr_cols *c = &w.c;
        char why[256];
        ck_assert_int_eq(vr_portal_batch_check(w.sim, c, &b0, 1, 5, why, sizeof why), 0);
        ck_assert_msg(vr_portal_batch_check(w.sim, c, &b2, 1, 5, why, sizeof why) == 0, "%s", why);
        vr_portal_batch *in[2] = {order ? &b2 : &b0, order ? &b0 : &b2};
        uint32_t fleets = c->tables[VR_TAB_fleets].live, ships = c->tables[VR_TAB_ships].live;
        vr_portal_stat st[2];
        vr_turn_stats ts;
        memset(&ts, 0, sizeof ts);
        ck_assert_int_eq(vr_sim_arrivals(w.sim, c, 5, in, 2, st, &ts), 0);
        ck_assert_uint_eq(c->tables[VR_TAB_fleets].live, fleets + 5);
        ck_assert_uint_eq(c->tables[VR_TAB_ships].live, ships + b0.nships + b2.nships);
        ck_assert_uint_eq(ts.m[VR_M_transfers_in], 5);
        ck_assert_uint_eq(c->tables[VR_TAB_arrivals].live, 5);
        /* canonical: source 0 first, then by source fleet id */
        for (uint32_t r = 1; r < 5; r++)
            ck_assert(c->arrivals_from[r - 1] < c->arrivals_from[r] ||
                      (c->arrivals_from[r - 1] == c->arrivals_from[r] && c->arrivals_fleet[r - 1] < c->arrivals_fleet[r]));
        first_from[order] = c->arrivals_from[0];
        /* each arrived fleet: where its portal ends, its ships, its cargo, heading for system 7 */
        for (uint32_t r = 0; r < 5; r++) {
            int64_t f = vr_ent_row(c, VR_TAB_fleets, c->arrivals_entity[r]);
            ck_assert_int_ge(f, 0);
            ck_assert_int_eq(c->arrivals_code[r], 0);
            ck_assert_uint_eq(c->fleets_at[f], c->arrivals_system[r]);
            ck_assert_uint_eq(c->fleets_dest[f], 7);
            ck_assert_uint_eq(ships_of(c, (uint32_t)f), c->arrivals_ships[r]);
            int64_t load = 0;
            for (int g = 0; g < 4; g++)
                load += c->fleets_cargo[(size_t)f * 4 + (size_t)g];
            ck_assert_int_gt(load, 0);
        }
        /* per-source totals for the cluster audit */
        vr_portal_stat t0, t2;
        vr_portal_batch_totals(&b0, &t0), vr_portal_batch_totals(&b2, &t2);
        for (int k = 0; k < 2; k++) {
            const vr_portal_stat *want = st[k].peer == 0 ? &t0 : &t2;
            ck_assert_uint_eq(st[k].fleets, want->fleets);
            ck_assert_uint_eq(st[k].ships, want->ships);
            ck_assert_int_eq(memcmp(st[k].res, want->res, sizeof want->res), 0);
        }
        /* conservation: the goods came in through the ledger */
        for (int g = 0; g < 4; g++)
            ck_assert_int_eq(c->ledger_amount[VR_CAUSE_PORTAL_IN * 5 + g], t0.res[g] + t2.res[g]);
        ck_assert_msg(vr__economy_check(w.sim, c, why, sizeof why) == 0, "%s", why);
        hashes[order] = vr_arena_hash(w.a);
        drop(&w);
    }
    ck_assert_uint_eq(first_from[0], 0);
    ck_assert_uint_eq(first_from[1], 0);
    ck_assert_uint_eq(hashes[0], hashes[1]); /* whatever order the batches came in */
    vr_portal_batch_fini(&b0), vr_portal_batch_fini(&b2);
}
END_TEST

START_TEST(test_check_rejects)
{
    world s0;
    make(&s0, 0, ring3);
    vr_portal_batch b;
    batch_from(&s0, 1, 4, 1, &b);
    drop(&s0);
    world w;
    make(&w, 1, ring3);
    char why[256];
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 1, 5, why, sizeof why), 0);
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 2, 5, why, sizeof why), -VR_EBADMSG); /* dest */
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 1, 6, why, sizeof why), -VR_EBADMSG); /* turn */
    b.source = 2; /* the link joins u0 and u1, not u2 */
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 1, 5, why, sizeof why), -VR_EBADMSG);
    b.source = 0;
    b.ships[0].design = 60000;
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 1, 5, why, sizeof why), -VR_EBADMSG);
    ck_assert_ptr_nonnull(strstr(why, "design"));
    b.ships[0].design = 0;
    b.fleets[0].cargo[2] = -4;
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 1, 5, why, sizeof why), -VR_EBADMSG);
    b.fleets[0].cargo[2] = 0;
    b.fleets[0].dest = 100000;
    ck_assert_int_eq(vr_portal_batch_check(w.sim, &w.c, &b, 1, 5, why, sizeof why), -VR_EBADMSG);
    vr_portal_batch_fini(&b);
    drop(&w);
}
END_TEST

static uint64_t rnd(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return vr_mix64(*s);
}

/* What a worker does with bytes from a peer: decode, check, apply only
 * when both pass.  Returns whether it was applied. */
static bool receive(world *w, const char *data, size_t len)
{
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    char err[256];
    err[0] = 0;
    bool decoded = vr_portal_batch_decode(data, len, &b, err, sizeof err) == 0;
    bool ok = decoded && vr_portal_batch_check(w->sim, &w->c, &b, 1, 5, err, sizeof err) == 0;
    if (ok) {
        vr_portal_batch *in[1] = {&b};
        ck_assert_int_eq(vr_sim_arrivals(w->sim, &w->c, 5, in, 1, NULL, NULL), 0);
    } else {
        ck_assert_msg(err[0] != 0, "rejected without a reason");
        if (!decoded)
            ck_assert_uint_eq(b.nfleets, 0);
    }
    vr_portal_batch_fini(&b);
    return ok;
}

START_TEST(test_fuzz)
{
    world s0;
    make(&s0, 0, ring3);
    vr_portal_batch b;
    batch_from(&s0, 1, 4, 2, &b);
    drop(&s0);
    char *good = NULL;
    size_t glen = 0;
    ck_assert_int_eq(vr_portal_batch_encode(&b, &good, &glen), 0);
    world w;
    make(&w, 1, ring3);
    uint64_t h0 = vr_arena_hash(w.a), seed = 12345;
    char *buf = malloc(glen + 64);
    uint32_t applied = 0;
    for (int it = 0; it < 4000; it++) {
        size_t len;
        int mode = it % 5;
        if (mode == 0) { /* random bytes */
            len = 1 + rnd(&seed) % 300;
            for (size_t k = 0; k < len; k++)
                buf[k] = (char)rnd(&seed);
        } else if (mode == 1) { /* truncated */
            len = rnd(&seed) % glen;
            memcpy(buf, good, len);
        } else { /* the good batch with 1-4 bytes changed */
            len = glen;
            memcpy(buf, good, glen);
            for (int k = 0, m = 1 + (int)(rnd(&seed) % 4); k < m; k++)
                buf[rnd(&seed) % glen] = (char)rnd(&seed);
        }
        if (receive(&w, buf, len)) { /* a mutation that is still a valid batch: undo by rebuilding */
            applied++;
            drop(&w);
            make(&w, 1, ring3);
        }
        ck_assert_uint_eq(vr_arena_hash(w.a), h0); /* rejected: nothing changed */
    }
    /* crafted lies: wrong version, wrong destination, counts that lie, huge lengths */
    static const unsigned char huge[] = {0x97, 0xa4, 'V', 'R', 'P', 'B', 0x01, 0x00, 0x01, 0x04, 0x01,
                                         0xdd, 0xff, 0xff, 0xff, 0xff};
    ck_assert(!receive(&w, (const char *)huge, sizeof huge));
    vr_portal_batch x;
    vr_portal_batch_init(&x);
    char err[256], *bytes;
    size_t blen;
    ck_assert_int_eq(vr_portal_batch_decode(good, glen, &x, err, sizeof err), 0);
    x.dest = 2;
    ck_assert_int_eq(vr_portal_batch_encode(&x, &bytes, &blen), 0);
    ck_assert(!receive(&w, bytes, blen));
    free(bytes);
    x.dest = 1;
    x.nfleets = 1; /* count 1, but... encode writes what it has: make count lie by hand below */
    ck_assert_int_eq(vr_portal_batch_encode(&x, &bytes, &blen), 0);
    ck_assert(receive(&w, bytes, blen)); /* a smaller honest batch is fine */
    free(bytes);
    drop(&w);
    make(&w, 1, ring3);
    h0 = vr_arena_hash(w.a);
    /* count field says 2, one fleet follows */
    memcpy(buf, good, glen);
    ck_assert_uint_eq((unsigned char)buf[0], 0x97);
    /* ["VRPB", 1, 0, 1, 4, count, ...]: count is the byte after the turn */
    ck_assert_uint_eq((unsigned char)buf[10], 0x02);
    buf[10] = 0x03;
    ck_assert(!receive(&w, buf, glen));
    buf[10] = 0x02;
    buf[6] = 0x02; /* version 2 */
    ck_assert(!receive(&w, buf, glen));
    ck_assert_uint_eq(vr_arena_hash(w.a), h0);
    ck_assert_int_eq(vr_portal_batch_decode(buf, glen, &x, err, sizeof err), -VR_EBADVERSION);
    ck_assert_ptr_nonnull(strstr(err, "version"));
    buf[6] = 0x01;
    ck_assert(receive(&w, buf, glen)); /* and the untouched batch is accepted */
    free(buf), free(good);
    vr_portal_batch_fini(&x), vr_portal_batch_fini(&b);
    drop(&w);
    (void)applied;
}
END_TEST

START_TEST(test_order_through_portal)
{
    world w;
    make(&w, 0, ring3);
    vr_cols *c = &w.c;
    uint32_t f = 0;
    while (!(c->gen[VR_TAB_fleets][f] & 1))
        f++;
    uint32_t p2 = c->portals_peer[0] == 2 ? 0 : 1;
    vr_wcmd cmd = {.ticket = 1, .op = VR_OP_MOVE, .fleet = vr_ent_id(c, VR_TAB_fleets, f), .system = 9,
                   .to_universe = 2 + 1};
    vr_wresult r;
    ck_assert_int_eq(vr_sim_commands(w.sim, c, 3, &cmd, 1, &r), 0);
    ck_assert_msg(r.code == 0, "%s", r.text);
    ck_assert_uint_eq(c->fleets_portal[f], p2 + 1);
    ck_assert_uint_eq(c->fleets_dest[f], c->portals_system[p2]);
    ck_assert_uint_eq(c->fleets_portal_dest[f], 9);
    ck_assert_uint_eq(c->fleets_order[f], VR_OP_MOVE);
    /* a plain order afterwards replaces it */
    cmd.to_universe = 0;
    ck_assert_int_eq(vr_sim_commands(w.sim, c, 3, &cmd, 1, &r), 0);
    ck_assert_uint_eq(c->fleets_portal[f], 0);
    ck_assert_uint_eq(c->fleets_dest[f], 9);
    drop(&w);
    /* a universe no portal leads to */
    vr_portal_net *n = NULL;
    char err[512];
    ck_assert_int_eq(net(&n, 4, "default", NULL, err), 0);
    make(&w, 0, n);
    cmd.fleet = vr_ent_id(&w.c, VR_TAB_fleets, f);
    cmd.to_universe = 2 + 1;
    ck_assert_int_eq(vr_sim_commands(w.sim, &w.c, 3, &cmd, 1, &r), 0);
    ck_assert_int_eq(r.code, -VR_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(r.text, "no portal"));
    drop(&w);
    vr_portal_net_destroy(&n);
}
END_TEST

/* Full turns with portals: the AI sends some fleets through; the ledger
 * still balances every turn (the full audit's conservation rule). */
START_TEST(test_turns_conserve)
{
    world w;
    make(&w, 0, ring3);
    uint64_t sent = 0;
    for (uint64_t t = 1; t <= 40; t++) {
        vr_turn_stats st;
        ck_assert_int_eq(vr_sim_turn(w.sim, &w.c, t, &st), 0);
        sent += st.m[VR_M_transfers];
        ck_assert_uint_eq(w.c.tables[VR_TAB_transit].live, st.m[VR_M_transfers]);
        char why[256];
        ck_assert_msg(vr__economy_check(w.sim, &w.c, why, sizeof why) == 0, "turn %llu: %s",
                      (unsigned long long)t, why);
    }
    ck_assert_uint_gt(sent, 0); /* the AI used the portals */
    drop(&w);
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("portal");
    TCase *tc = tcase_create("config");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_default_network);
    tcase_add_test(tc, test_example_files);
    tcase_add_loop_test(tc, test_broken_files, 0, (int)(sizeof broken / sizeof broken[0]));
    tcase_add_test(tc, test_bad_spec);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    tc = tcase_create("world");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_genesis_ends);
    tcase_add_test(tc, test_placement_strategies);
    tcase_add_test(tc, test_enter_outbox);
    tcase_add_test(tc, test_batch_round_trip);
    tcase_add_test(tc, test_arrivals_canonical);
    tcase_add_test(tc, test_check_rejects);
    tcase_add_test(tc, test_fuzz);
    tcase_add_test(tc, test_order_through_portal);
    tcase_add_test(tc, test_turns_conserve);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
