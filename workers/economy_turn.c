/* economy_turn.c: the economy system of a turn, on the arena's columns.
 *
 * Runs economy.c's systems in a fixed order over a view of the arena:
 *   queue        owned planets with credits to spare queue a ship of their
 *                faction
 *   tasks        a fleet that chose "mine" standing at a system with an
 *                asteroid field mines it; one that chose "trade" (or
 *                "defend") with cargo at its faction's planet unloads there
 *   production   planets produce goods; owned planets pay tax income
 *   upkeep       fleets cost their owner credits each turn (unpaid: flagged)
 *   mine, haul   the tasks above
 *   trade        one batch of orders with market 0, in this order: owned
 *                planets sell what they hold beyond a reserve while the
 *                market is short of it (surplus_orders); then they buy the
 *                food their population will eat this turn beyond their
 *                stock; then the alloys their queue takes this turn beyond
 *                their stock (vr_econ_demand), with their owner's treasury,
 *                as far as market stock and treasury go; the market keeps
 *                MARKET_FEE per mille of what it pays sellers
 *   eat          every planet's population eats ceil(pop / POP_PER_FOOD)
 *                food, or what there is
 *   build        queues are paid; paid-in-full entries become new fleets
 *   prices       each price follows the market's stock against its target
 *                and the turn's demand (asked) against its supply (offered)
 * Every change goes through economy.c and is recorded in the universe's
 * ledger (the "ledger" table), so the auditor can check that every resource
 * is conserved: totals now == totals at turn 0 + produced - consumed -
 * destroyed.  Goods are whole units and credits milli-credits: exact.  The
 * turn's demand and supply tallies are scratch of this call (zero between
 * turns), so a replayed turn computes them again from the arena alone.
 */
#include "sim_internal.h"

#include "economy.h"

#include <stdlib.h>
#include <string.h>

#define TAX 50                /* milli-credits per population unit per turn */
#define BUILD_RESERVE 4       /* queue a ship when the treasury holds 4x its cost */
#define SURPLUS 200           /* goods a planet keeps (at the base price) before selling */
#define POP_PER_FOOD 2000     /* population (thousands) that eats one food a turn */
#define MARKET_FEE 50         /* per mille of the price the market keeps when it buys */

_Static_assert(VR_NCAUSES * VR_NLEDGER == 60, "ledger.amount lanes in components.def");
_Static_assert(VR_NCAUSES == 12, "ledger.events lanes in components.def");
_Static_assert(VR_NLEDGER == 5, "ledger.start lanes in components.def");
_Static_assert(VR_ECON_QUEUE == 4, "planets.queue lanes in components.def");

/* Design costs in the economy's units, from the content.  Built once, by
 * vr_sim_new (vr__economy_init): commands (a spawn's upkeep) and battles
 * read them before the turn's economy runs, so a fresh process (a restarted
 * worker, a restore, vr-replay) must have them as a long-running one does. */
static int design_costs(vr_sim *sim)
{
    if (sim->design_credits)
        return 0;
    uint32_t nd = 0;
    const vr_design *d = vr_content_designs(sim->content, &nd);
    sim->design_credits = malloc((nd ? nd : 1) * sizeof *sim->design_credits);
    sim->design_alloys = malloc((nd ? nd : 1) * sizeof *sim->design_alloys);
    sim->design_turns = malloc((nd ? nd : 1) * sizeof *sim->design_turns);
    if (!sim->design_credits || !sim->design_alloys || !sim->design_turns)
        return -ENOMEM;
    for (uint32_t i = 0; i < nd; i++) {
        uint32_t cost = d[i].cost ? d[i].cost : 100;
        sim->design_credits[i] = (int64_t)cost * 1000;
        sim->design_alloys[i] = cost / 20;
        sim->design_turns[i] = 1 + cost / 400;
    }
    return 0;
}

static void make_view(vr_sim *sim, vr_cols *c, vr_econ_view *v)
{
    memset(v, 0, sizeof *v);
    v->nfactions = c->tables[VR_TAB_factions].count;
    v->nplanets = c->tables[VR_TAB_planets].count;
    v->nstations = c->tables[VR_TAB_stations].count;
    v->nfleets = c->tables[VR_TAB_fleets].count;
    v->nasteroids = c->tables[VR_TAB_asteroids].count;
    v->nmarkets = c->tables[VR_TAB_markets].count;
    v->ndesigns = sim->ndesigns;
    v->tax = TAX;
    v->faction_credits = c->factions_treasury;
    v->faction_unpaid = c->factions_unpaid;
    v->planet_owner = c->planets_owner;
    v->planet_stock = c->planets_stock;
    v->planet_rate = c->planets_production;
    v->planet_pop = c->planets_population;
    v->planet_queue = c->planets_queue;
    v->planet_paid_credits = c->planets_paid_credits;
    v->planet_paid_alloys = c->planets_paid_alloys;
    v->station_owner = c->stations_owner;
    v->station_stock = c->stations_stock;
    v->fleet_owner = c->fleets_faction;
    v->fleet_cargo = c->fleets_cargo;
    v->fleet_capacity = c->fleets_capacity;
    v->fleet_upkeep = c->fleets_upkeep;
    v->fleet_flags = c->fleets_flags;
    v->fleet_task = c->fleets_task;
    v->fleet_target = c->fleets_target;
    v->fleet_task_res = c->fleets_task_res;
    v->fleet_mine_rate = c->fleets_mine_rate;
    v->asteroid_reserve = c->asteroids_reserve;
    v->market_stock = c->markets_stock;
    v->market_credits = c->markets_credits;
    v->market_price = c->markets_price;
    v->market_base = c->markets_base;
    v->market_target = c->markets_target;
    v->pop_per_food = POP_PER_FOOD;
    v->market_fee = MARKET_FEE;
    v->design_credits = sim->design_credits;
    v->design_alloys = sim->design_alloys;
    v->design_turns = sim->design_turns;
}

_Static_assert(sizeof(vr_ledger) == 8 * (60 + 12), "ledger.amount + ledger.events");

static void ledger_load(const vr_cols *c, vr_ledger *l)
{
    memcpy(l->amount, c->ledger_amount, sizeof l->amount);
    memcpy(l->events, c->ledger_events, sizeof l->events);
}

static void ledger_store(vr_cols *c, const vr_ledger *l)
{
    memcpy(c->ledger_amount, l->amount, sizeof l->amount);
    memcpy(c->ledger_events, l->events, sizeof l->events);
}

int vr__economy_init(vr_sim *sim) { return design_costs(sim); }

int vr__economy_genesis(vr_sim *sim, vr_cols *c)
{
    int rc = design_costs(sim);
    if (rc)
        return rc;
    uint64_t id;
    if ((rc = vr_ent_alloc(c, VR_TAB_markets, &id)) || (rc = vr_ent_alloc(c, VR_TAB_ledger, &id)))
        return rc;
    for (int r = 0; r < VR_NRES; r++) {
        c->markets_stock[r] = 1000;
        c->markets_target[r] = 1000;
        c->markets_base[r] = 1000 * (r + 1); /* milli-credits per unit */
        c->markets_price[r] = c->markets_base[r];
    }
    c->markets_credits[0] = 1000000;
    for (uint32_t p = 0; p < c->tables[VR_TAB_planets].count; p++)
        for (int k = 0; k < VR_ECON_QUEUE; k++)
            c->planets_queue[(size_t)p * VR_ECON_QUEUE + (size_t)k] = VR_ECON_NONE;
    vr_ledger l;
    vr_ledger_init(&l);
    ledger_store(c, &l);
    vr_econ_view v;
    make_view(sim, c, &v);
    int64_t start[VR_NLEDGER];
    vr_econ_totals(&v, start);
    memcpy(c->ledger_start, start, sizeof start);
    return 0;
}

/* Sell orders of the owned planets (in planet order) to market 0.  A good
 * is sold only while the market's bid is above its base price, that is
 * while the market is short of it (so the market never sinks its treasury
 * into goods nobody buys), and the more the dearer: a planet sells
 *     (stock - keep) * (bid - base) / (10 * base)
 * units (a tenth of its extra when the market bids twice the base price,
 * three tenths at four times), rounded down.  Supply grows smoothly with the price, so it meets
 * demand at a steady price instead of all sellers waking at one threshold
 * and flooding the market.  It keeps SURPLUS * base / price units (SURPLUS
 * at the base price, a quarter of it at four times the base) beyond this
 * turn's meal, so it never sells food it then lacks; nor alloys, as a queue
 * takes at most ceil(cost/20 / (1 + cost/400)) <= 20 a turn (design_costs),
 * below SURPLUS / 4.  Writes at most nplanets * VR_NRES orders; returns
 * their number. */
static uint32_t surplus_orders(const vr_cols *c, const vr_econ_view *v, vr_trade_order *orders)
{
    typedef unsigned __int128 u128;
    uint32_t n = 0;
    for (int r = 0; r < VR_NRES; r++) {
        int64_t base = c->markets_base[r], price = c->markets_price[r], bid = vr_econ_bid(price, v->market_fee);
        if (base < 1 || bid <= base) /* bid > base >= 1 below, so price > base */
            continue;
        int64_t keep = (int64_t)((u128)SURPLUS * (uint64_t)base / (uint64_t)price);
        for (uint32_t p = 0; p < v->nplanets; p++) {
            if (!c->planets_owner[p])
                continue;
            int64_t extra = c->planets_stock[(size_t)p * VR_NRES + (size_t)r] - keep -
                            (r == VR_RES_FOOD ? vr_econ_food_need(v, p) : 0);
            if (extra <= 0)
                continue;
            u128 q = (u128)extra * (uint64_t)(bid - base) / ((u128)10 * (uint64_t)base);
            if (q > 0)
                orders[n++] = (vr_trade_order){.market = 0, .kind = VR_HOLD_PLANET, .index = p, .res = (uint32_t)r,
                                               .qty = -(int64_t)q, .limit = base};
        }
    }
    return n;
}

int vr__economy(vr_sim *sim, vr_cols *c, uint64_t turn, vr_turn_stats *st)
{
    uint64_t t0 = vr__clock_ns();
    int rc = design_costs(sim);
    if (rc)
        return rc;
    if (c->tables[VR_TAB_ledger].count != 1 || c->tables[VR_TAB_markets].count < 1)
        return -VR_EBADARG;
    vr_econ_view v;
    make_view(sim, c, &v);
    vr_ledger l;
    ledger_load(c, &l);
    int64_t before = l.amount[VR_CAUSE_PRODUCED][VR_RES_ALLOYS] + l.amount[VR_CAUSE_PRODUCED][VR_RES_ORE] +
                     l.amount[VR_CAUSE_PRODUCED][VR_RES_FUEL] + l.amount[VR_CAUSE_PRODUCED][VR_RES_FOOD];

    /* queue: an owned planet with an empty queue and a rich owner orders a
     * ship of its faction (a pure function of state, seed and turn), while
     * the fleet and ship tables have room (the fleet cap: 15/16 full) */
    uint64_t queued = 0;
    for (uint32_t p = 0; p < v.nplanets; p++)
        queued += c->planets_queue[(size_t)p * VR_ECON_QUEUE] != VR_ECON_NONE;
    uint64_t room_f = (uint64_t)c->capacity[VR_TAB_fleets] * 15 / 16, room_s = (uint64_t)c->capacity[VR_TAB_ships] * 15 / 16;
    for (uint32_t p = 0; p < v.nplanets; p++) {
        if (c->tables[VR_TAB_fleets].live + queued >= room_f || c->tables[VR_TAB_ships].live + queued >= room_s)
            break;
        uint16_t o = c->planets_owner[p];
        uint32_t *q = c->planets_queue + (size_t)p * VR_ECON_QUEUE;
        if (!o || q[0] != VR_ECON_NONE)
            continue;
        const vr_shipstats *d = vr__design_for(sim, o, vr_rand(sim->sc.seed, sim->sc.universe, turn, p, VR_RS_DESIGN));
        if (c->factions_treasury[o - 1] >= BUILD_RESERVE * sim->design_credits[d->index])
            q[0] = d->index, queued++;
    }
    /* tasks follow position and the AI's choice (a pure function of state):
     * chose mine and stands at a system with an asteroid field: mine it;
     * chose trade, stands at its faction's home system with cargo: unload
     * into the home planet; otherwise nothing */
    uint32_t nsys = c->tables[VR_TAB_systems].count;
    uint32_t *sys_ast = malloc((nsys ? nsys : 1) * sizeof *sys_ast);
    uint32_t *sys_planet = malloc((nsys ? nsys : 1) * sizeof *sys_planet);
    if (!sys_ast || !sys_planet) {
        free(sys_ast), free(sys_planet);
        return -ENOMEM;
    }
    memset(sys_ast, 0xff, (nsys ? nsys : 1) * sizeof *sys_ast);
    memset(sys_planet, 0xff, (nsys ? nsys : 1) * sizeof *sys_planet);
    for (uint32_t a = c->tables[VR_TAB_asteroids].count; a-- > 0;) /* lowest row wins */
        sys_ast[c->nodes_system[c->asteroids_node[a]]] = a;
    for (uint32_t p = v.nplanets; p-- > 0;)
        if (c->planets_owner[p])
            sys_planet[c->nodes_system[c->planets_node[p]]] = p;
    for (uint32_t f = 0; f < v.nfleets; f++) {
        c->fleets_task[f] = VR_TASK_NONE;
        if (!(c->gen[VR_TAB_fleets][f] & 1) || c->fleets_next[f] != c->fleets_at[f] || c->fleets_capacity[f] <= 0)
            continue;
        uint32_t at = c->fleets_at[f], pl = sys_planet[at];
        int64_t load = 0;
        for (int r = 0; r < VR_NRES; r++)
            load += c->fleets_cargo[(size_t)f * VR_NRES + (size_t)r];
        if (c->fleets_choice[f] == 3 /* mine */ && sys_ast[at] != UINT32_MAX) {
            c->fleets_task[f] = VR_TASK_MINE;
            c->fleets_target[f] = sys_ast[at];
            c->fleets_mine_rate[f] = c->fleets_capacity[f] / 4 + 1;
        } else if (load > 0 && pl != UINT32_MAX && c->planets_owner[pl] == c->fleets_faction[f] &&
                   (c->fleets_choice[f] == 4 /* trade */ || c->fleets_choice[f] == 1 /* defend */)) {
            c->fleets_task[f] = VR_TASK_UNLOAD_PLANET;
            c->fleets_target[f] = pl;
        }
    }
    free(sys_ast);
    free(sys_planet);
    if ((rc = vr_econ_produce(&v, &l)) || (rc = vr_econ_upkeep(&v, &l)) || (rc = vr_econ_mine(&v, &l)) ||
        (rc = vr_econ_haul(&v, &l)))
        return rc;
    /* trade: owned planets sell surplus to the market (surplus_orders), then
     * buy what they lack (vr_econ_demand: food, then alloys, each in planet
     * order); sales come first so that what one planet sells another can buy
     * the same turn.  The market tallies what was asked and offered for the
     * prices. */
    uint32_t norders = 0, ndemand = 0;
    size_t cap = (size_t)v.nplanets * (VR_NRES + 2) + 1, nlanes = (size_t)v.nmarkets * VR_NRES;
    vr_trade_order *orders = malloc(cap * sizeof *orders);
    int64_t *tally = calloc(2 * nlanes, sizeof *tally);
    if (!orders || !tally) {
        free(orders), free(tally);
        return -ENOMEM;
    }
    v.market_asked = tally;
    v.market_offered = tally + nlanes;
    norders = surplus_orders(c, &v, orders);
    vr_econ_built built[256];
    uint32_t nbuilt = 0;
    if (!(rc = vr_econ_demand(&v, 0, orders + norders, (uint32_t)(cap - norders), &ndemand)) &&
        !(rc = vr_econ_trade(&v, &l, orders, norders + ndemand)) && !(rc = vr_econ_eat(&v, &l)) &&
        !(rc = vr_econ_build(&v, &l, built, 256, &nbuilt)))
        rc = vr_econ_update_prices(&v);
    free(orders);
    free(tally);
    if (rc)
        return rc;
    ledger_store(c, &l);
    st->m[VR_M_produced] += (uint64_t)(l.amount[VR_CAUSE_PRODUCED][VR_RES_ALLOYS] + l.amount[VR_CAUSE_PRODUCED][VR_RES_ORE] +
                                       l.amount[VR_CAUSE_PRODUCED][VR_RES_FUEL] + l.amount[VR_CAUSE_PRODUCED][VR_RES_FOOD] - before);
    /* ships paid in full become new fleets at their planet's system */
    for (uint32_t k = 0; k < nbuilt; k++) {
        uint32_t sys = c->nodes_system[c->planets_node[built[k].planet]];
        rc = vr__spawn_built(sim, c, (uint16_t)built[k].owner, built[k].design, sys);
        if (rc == -VR_EFULL) { /* no room after all: the ship is not launched */
            st->m[VR_M_unlaunched]++;
            continue;
        }
        if (rc)
            return rc;
        st->m[VR_M_spawned]++;
    }
    st->m[VR_M_economy_ns] += vr__clock_ns() - t0;
    return 0;
}

int vr__economy_check(vr_sim *sim, vr_cols *c, char *err, size_t errlen)
{
    int rc = design_costs(sim);
    if (rc)
        return rc;
    if (c->tables[VR_TAB_ledger].count != 1)
        return -VR_EBADARG;
    vr_econ_view v;
    make_view(sim, c, &v);
    vr_ledger l;
    ledger_load(c, &l);
    return vr_econ_check(&v, &l, c->ledger_start, err, errlen);
}

int vr__economy_lose_cargo(vr_sim *sim, vr_cols *c, uint32_t fleet)
{
    int64_t load = 0;
    for (int r = 0; r < VR_NRES; r++)
        load += c->fleets_cargo[(size_t)fleet * VR_NRES + (size_t)r];
    if (load == 0)
        return 0;
    int rc = design_costs(sim);
    if (rc || c->tables[VR_TAB_ledger].count != 1)
        return rc ? rc : -VR_EBADARG;
    vr_econ_view v;
    make_view(sim, c, &v);
    vr_ledger l;
    ledger_load(c, &l);
    if ((rc = vr_econ_destroy_cargo(&v, &l, fleet)) == 0)
        ledger_store(c, &l);
    return rc;
}
