/* test_economy.c: Check suite for workers/economy.c.
 *
 * Each system is checked against numbers worked out by hand (production and
 * income, upkeep with a shortfall, mining limited by reserve and by cargo
 * space, hauling, a production queue that completes after k turns, prices
 * that follow supply and demand, exact trades, the market's fee, planets
 * buying the food and alloys they lack with enough stock and credits, short
 * of stock, short of credits, and eating), bad input must change nothing,
 * and the conservation promise is checked by a randomized property test:
 * random worlds run many turns of random mining, hauling, trading (random
 * orders plus the planets' own buying), eating, building, upkeep, transfers
 * and destruction, and after every turn the holders' totals must
 * equal the start plus what the ledger recorded.  An unrecorded change must
 * be caught (so the check is not vacuous), and the same seed must give the
 * same bytes.
 */
#include "economy.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NF 4
#define NP 8
#define NS 3
#define NFL 16
#define NA 4
#define NM 2
#define ND 3
#define R VR_NRES

/* Every column of a world, by value, so two worlds compare with memcmp. */
typedef struct state {
    int64_t faction_credits[NF], faction_unpaid[NF];
    uint16_t planet_owner[NP];
    int64_t planet_stock[NP * R];
    int32_t planet_rate[NP * R];
    uint32_t planet_pop[NP];
    uint32_t planet_queue[NP * VR_ECON_QUEUE];
    int64_t planet_paid_credits[NP], planet_paid_alloys[NP];
    uint16_t station_owner[NS];
    int64_t station_stock[NS * R];
    uint16_t fleet_owner[NFL];
    int64_t fleet_cargo[NFL * R], fleet_capacity[NFL], fleet_upkeep[NFL];
    uint32_t fleet_flags[NFL], fleet_task[NFL], fleet_target[NFL], fleet_task_res[NFL];
    int64_t fleet_mine_rate[NFL];
    int64_t asteroid_reserve[NA];
    int64_t market_stock[NM * R], market_credits[NM], market_price[NM * R], market_base[NM * R],
        market_target[NM * R], market_asked[NM * R], market_offered[NM * R];
    vr_ledger ledger;
} state;

typedef struct world {
    state s;
    vr_econ_view v;
    int64_t start[VR_NLEDGER];
} world;

/* design 0: 300 credits + 90 alloys over 3 turns; 1: 50 cr + 10 al in 1;
 * 2: 1000 cr + 400 al over 5 (credits in milli-credits) */
static const int64_t design_credits[ND] = {300000, 50000, 1000000};
static const int64_t design_alloys[ND] = {90, 10, 400};
static const uint32_t design_turns[ND] = {3, 1, 5};

/* Points the view at w->s with all rows in use and an empty economy:
 * planets and stations belong to nobody, fleets to faction 1 (row 0). */
static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    state *s = &w->s;
    for (int i = 0; i < NP * VR_ECON_QUEUE; i++)
        s->planet_queue[i] = VR_ECON_NONE;
    for (int i = 0; i < NFL; i++)
        s->fleet_owner[i] = 1;
    for (int i = 0; i < NM * R; i++) {
        s->market_base[i] = 1000;
        s->market_price[i] = 1000;
        s->market_target[i] = 100;
    }
    vr_ledger_init(&s->ledger);
    w->v = (vr_econ_view){
        .nfactions = NF, .nplanets = NP, .nstations = NS, .nfleets = NFL, .nasteroids = NA,
        .nmarkets = NM, .ndesigns = ND,
        .faction_credits = s->faction_credits, .faction_unpaid = s->faction_unpaid,
        .planet_owner = s->planet_owner, .planet_stock = s->planet_stock, .planet_rate = s->planet_rate,
        .planet_pop = s->planet_pop, .planet_queue = s->planet_queue,
        .planet_paid_credits = s->planet_paid_credits, .planet_paid_alloys = s->planet_paid_alloys,
        .station_owner = s->station_owner, .station_stock = s->station_stock,
        .fleet_owner = s->fleet_owner, .fleet_cargo = s->fleet_cargo, .fleet_capacity = s->fleet_capacity,
        .fleet_upkeep = s->fleet_upkeep, .fleet_flags = s->fleet_flags, .fleet_task = s->fleet_task,
        .fleet_target = s->fleet_target, .fleet_task_res = s->fleet_task_res,
        .fleet_mine_rate = s->fleet_mine_rate, .asteroid_reserve = s->asteroid_reserve,
        .market_stock = s->market_stock, .market_credits = s->market_credits,
        .market_price = s->market_price, .market_base = s->market_base, .market_target = s->market_target,
        .market_asked = s->market_asked, .market_offered = s->market_offered,
        .design_credits = design_credits, .design_alloys = design_alloys, .design_turns = design_turns,
    };
}

/* Starts counting: totals now are the reference for vr_econ_check. */
static void world_start(world *w)
{
    vr_ledger_init(&w->s.ledger);
    vr_econ_totals(&w->v, w->start);
}

static void assert_conserved(world *w)
{
    char err[256];
    int rc = vr_econ_check(&w->v, &w->s.ledger, w->start, err, sizeof err);
    ck_assert_msg(rc == 0, "check: %d %s", rc, err);
}

#define PS(w, p, r) ((w)->s.planet_stock[(p) * R + (r)])
#define MS(w, m, r) ((w)->s.market_stock[(m) * R + (r)])
#define MP(w, m, r) ((w)->s.market_price[(m) * R + (r)])
#define FC(w, f, r) ((w)->s.fleet_cargo[(f) * R + (r)])
#define LED(w, c, r) ((w)->s.ledger.amount[c][r])

/* ---- hand-computed cases ------------------------------------------------ */

START_TEST(test_produce_and_income)
{
    world w;
    world_init(&w);
    w.v.tax = 250;
    w.s.planet_owner[0] = 2; /* faction 2: row 1 */
    PS(&w, 0, VR_RES_ORE) = 5;
    w.s.planet_rate[0 * R + VR_RES_ORE] = 10;
    w.s.planet_rate[0 * R + VR_RES_ALLOYS] = 4;
    PS(&w, 0, VR_RES_FOOD) = 2;
    w.s.planet_rate[0 * R + VR_RES_FOOD] = -3; /* eats 3, has 2 */
    w.s.planet_pop[0] = 100;
    w.s.planet_owner[1] = 0; /* unowned: produces, pays no one */
    w.s.planet_rate[1 * R + VR_RES_FUEL] = 7;
    w.s.planet_pop[1] = 1000;
    w.s.faction_credits[1] = 1;
    world_start(&w);

    ck_assert_int_eq(vr_econ_produce(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ORE), 15);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ALLOYS), 4);
    ck_assert_int_eq(PS(&w, 0, VR_RES_FOOD), 0);
    ck_assert_int_eq(PS(&w, 1, VR_RES_FUEL), 7);
    ck_assert_int_eq(w.s.faction_credits[1], 1 + 100 * 250);
    ck_assert_int_eq(w.s.faction_credits[0], 0);
    ck_assert_int_eq(LED(&w, VR_CAUSE_PRODUCED, VR_RES_ORE), 10);
    ck_assert_int_eq(LED(&w, VR_CAUSE_CONSUMED, VR_RES_FOOD), 2);
    ck_assert_int_eq(LED(&w, VR_CAUSE_INCOME, VR_RES_CREDITS), 25000);
    assert_conserved(&w);

    ck_assert_int_eq(vr_econ_produce(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ORE), 25);
    ck_assert_int_eq(PS(&w, 0, VR_RES_FOOD), 0);
    ck_assert_int_eq(LED(&w, VR_CAUSE_CONSUMED, VR_RES_FOOD), 2);
    ck_assert_int_eq(w.s.faction_credits[1], 1 + 2 * 25000);
    ck_assert_int_eq(vr_ledger_net(&w.s.ledger, VR_RES_CREDITS), 50000);
    assert_conserved(&w);
}
END_TEST

START_TEST(test_upkeep_shortfall)
{
    world w;
    world_init(&w);
    w.s.faction_credits[0] = 100;
    for (int f = 0; f < 3; f++)
        w.s.fleet_owner[f] = 1;
    w.s.fleet_upkeep[0] = 60;
    w.s.fleet_upkeep[1] = 60; /* 40 left: cannot pay */
    w.s.fleet_upkeep[2] = 30; /* can */
    w.s.fleet_owner[3] = 2;
    w.s.fleet_upkeep[3] = 5; /* faction 2 is broke */
    for (int f = 4; f < NFL; f++)
        w.s.fleet_owner[f] = 3; /* upkeep 0 */
    world_start(&w);

    ck_assert_int_eq(vr_econ_upkeep(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(w.s.faction_credits[0], 10);
    ck_assert_int_eq(w.s.faction_credits[1], 0);
    ck_assert_uint_eq(w.s.fleet_flags[0], 0);
    ck_assert_uint_eq(w.s.fleet_flags[1], VR_FLEET_UNPAID);
    ck_assert_uint_eq(w.s.fleet_flags[2], 0);
    ck_assert_uint_eq(w.s.fleet_flags[3], VR_FLEET_UNPAID);
    ck_assert_int_eq(w.s.faction_unpaid[0], 60);
    ck_assert_int_eq(w.s.faction_unpaid[1], 5);
    ck_assert_int_eq(LED(&w, VR_CAUSE_UPKEEP, VR_RES_CREDITS), 90);
    assert_conserved(&w);

    /* next turn: 10 left, nothing payable, never negative */
    ck_assert_int_eq(vr_econ_upkeep(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(w.s.faction_credits[0], 10);
    ck_assert_int_eq(w.s.faction_unpaid[0], 150);
    ck_assert_uint_eq(w.s.fleet_flags[0], VR_FLEET_UNPAID);
    assert_conserved(&w);

    /* refilled: everyone paid, flags and shortfall cleared */
    w.s.faction_credits[0] = 1000;
    w.s.faction_credits[1] = 5;
    world_start(&w);
    ck_assert_int_eq(vr_econ_upkeep(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(w.s.faction_credits[0], 1000 - 150);
    ck_assert_int_eq(w.s.faction_credits[1], 0);
    for (int f = 0; f < 4; f++)
        ck_assert_uint_eq(w.s.fleet_flags[f], 0);
    ck_assert_int_eq(w.s.faction_unpaid[0], 0);
    ck_assert_int_eq(w.s.faction_unpaid[1], 0);
    assert_conserved(&w);
}
END_TEST

START_TEST(test_mining_limits)
{
    world w;
    world_init(&w);
    w.s.asteroid_reserve[0] = 25;
    w.s.asteroid_reserve[1] = 1000;
    /* fleet 0: rate 10 at field 0, room 100 -> 10 */
    w.s.fleet_task[0] = VR_TASK_MINE, w.s.fleet_target[0] = 0;
    w.s.fleet_mine_rate[0] = 10, w.s.fleet_capacity[0] = 100;
    /* fleet 1: rate 20 at field 0, only 15 left -> 15 (limited by reserve) */
    w.s.fleet_task[1] = VR_TASK_MINE, w.s.fleet_target[1] = 0;
    w.s.fleet_mine_rate[1] = 20, w.s.fleet_capacity[1] = 100;
    /* fleet 2: rate 50 at field 1, capacity 30 with 20 food aboard -> 10 */
    w.s.fleet_task[2] = VR_TASK_MINE, w.s.fleet_target[2] = 1;
    w.s.fleet_mine_rate[2] = 50, w.s.fleet_capacity[2] = 30;
    FC(&w, 2, VR_RES_FOOD) = 20;
    world_start(&w);

    ck_assert_int_eq(vr_econ_mine(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ORE), 10);
    ck_assert_int_eq(FC(&w, 1, VR_RES_ORE), 15);
    ck_assert_int_eq(FC(&w, 2, VR_RES_ORE), 10);
    ck_assert_int_eq(w.s.asteroid_reserve[0], 0);
    ck_assert_int_eq(w.s.asteroid_reserve[1], 990);
    ck_assert_int_eq(LED(&w, VR_CAUSE_MINED, VR_RES_ORE), 35);
    assert_conserved(&w);

    /* exhausted field and full hold: nothing more */
    ck_assert_int_eq(vr_econ_mine(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ORE), 10);
    ck_assert_int_eq(FC(&w, 2, VR_RES_ORE), 10);
    ck_assert_int_eq(w.s.asteroid_reserve[1], 990);
    ck_assert_int_eq(LED(&w, VR_CAUSE_MINED, VR_RES_ORE), 35);
    ck_assert_int_eq(vr_econ_total(&w.v, VR_RES_ORE), 1025);
    assert_conserved(&w);
}
END_TEST

START_TEST(test_hauling)
{
    world w;
    world_init(&w);
    w.s.planet_owner[0] = 1; /* the fleets' faction */
    PS(&w, 0, VR_RES_ALLOYS) = 50;
    w.s.planet_owner[1] = 2;
    w.s.station_owner[0] = 1;
    /* fleet 0 loads alloys at its own planet: capacity 30 of 50 */
    w.s.fleet_task[0] = VR_TASK_LOAD_PLANET, w.s.fleet_target[0] = 0;
    w.s.fleet_task_res[0] = VR_RES_ALLOYS, w.s.fleet_capacity[0] = 30;
    /* fleet 1 unloads everything at its own station */
    w.s.fleet_task[1] = VR_TASK_UNLOAD_STATION, w.s.fleet_target[1] = 0;
    w.s.fleet_capacity[1] = 20;
    FC(&w, 1, VR_RES_ORE) = 12;
    FC(&w, 1, VR_RES_FUEL) = 3;
    /* fleet 2 at faction 2's planet: refused */
    w.s.fleet_task[2] = VR_TASK_UNLOAD_PLANET, w.s.fleet_target[2] = 1;
    w.s.fleet_capacity[2] = 5;
    FC(&w, 2, VR_RES_ORE) = 5;
    world_start(&w);

    ck_assert_int_eq(vr_econ_haul(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ALLOYS), 30);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ALLOYS), 20);
    ck_assert_int_eq(w.s.station_stock[0 * R + VR_RES_ORE], 12);
    ck_assert_int_eq(w.s.station_stock[0 * R + VR_RES_FUEL], 3);
    ck_assert_int_eq(FC(&w, 1, VR_RES_ORE), 0);
    ck_assert_int_eq(FC(&w, 1, VR_RES_FUEL), 0);
    ck_assert_int_eq(FC(&w, 2, VR_RES_ORE), 5);
    ck_assert_int_eq(PS(&w, 1, VR_RES_ORE), 0);
    ck_assert_uint_eq(w.s.fleet_flags[2], VR_FLEET_REFUSED);
    ck_assert_uint_eq(w.s.fleet_flags[0], 0);
    ck_assert_int_eq(LED(&w, VR_CAUSE_HAULED, VR_RES_ALLOYS), 30);
    ck_assert_int_eq(LED(&w, VR_CAUSE_HAULED, VR_RES_ORE), 12);
    assert_conserved(&w);

    /* a full fleet loads nothing more; the fleet now unloads at planet 0 */
    ck_assert_int_eq(vr_econ_haul(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ALLOYS), 30);
    w.s.fleet_task[0] = VR_TASK_UNLOAD_PLANET;
    ck_assert_int_eq(vr_econ_haul(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ALLOYS), 0);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ALLOYS), 50);
    assert_conserved(&w);
}
END_TEST

START_TEST(test_build_queue)
{
    world w;
    world_init(&w);
    vr_econ_built out[NP];
    uint32_t n;
    w.s.faction_credits[0] = 1000000;
    w.s.planet_owner[0] = 1;
    PS(&w, 0, VR_RES_ALLOYS) = 200;
    w.s.planet_queue[0] = 0; /* 300000 cr + 90 al over 3 turns */
    w.s.planet_queue[1] = 1; /* then 50000 cr + 10 al in 1 */
    /* planet 1, faction 2: money for half a ship */
    w.s.faction_credits[1] = 150000;
    w.s.planet_owner[1] = 2;
    PS(&w, 1, VR_RES_ALLOYS) = 1000;
    w.s.planet_queue[1 * VR_ECON_QUEUE] = 0;
    world_start(&w);

    for (int t = 1; t <= 2; t++) {
        ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, NP, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(w.s.planet_paid_credits[0], 100000 * t);
        ck_assert_int_eq(w.s.planet_paid_alloys[0], 30 * t);
        assert_conserved(&w);
    }
    ck_assert_int_eq(w.s.faction_credits[1], 0); /* 100000 + 50000 paid */
    ck_assert_int_eq(w.s.planet_paid_credits[1], 150000);

    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, NP, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0].planet, 0);
    ck_assert_uint_eq(out[0].design, 0);
    ck_assert_uint_eq(out[0].owner, 1);
    ck_assert_uint_eq(w.s.planet_queue[0], 1);
    ck_assert_uint_eq(w.s.planet_queue[1], VR_ECON_NONE);
    ck_assert_int_eq(w.s.planet_paid_credits[0], 0);
    ck_assert_int_eq(w.s.faction_credits[0], 700000);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ALLOYS), 110);
    ck_assert_int_eq(w.s.planet_paid_credits[1], 150000); /* starved, waits */
    ck_assert_int_eq(w.s.planet_paid_alloys[1], 90);      /* alloys were there */
    assert_conserved(&w);

    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, NP, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0].design, 1);
    ck_assert_uint_eq(w.s.planet_queue[0], VR_ECON_NONE);
    ck_assert_int_eq(w.s.faction_credits[0], 650000);
    ck_assert_int_eq(PS(&w, 0, VR_RES_ALLOYS), 100);
    ck_assert_int_eq(LED(&w, VR_CAUSE_CONSTRUCTION, VR_RES_CREDITS), 350000 + 150000);
    ck_assert_int_eq(LED(&w, VR_CAUSE_CONSTRUCTION, VR_RES_ALLOYS), 100 + 90);
    assert_conserved(&w);

    /* empty queue: nothing paid */
    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, NP, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(w.s.faction_credits[0], 650000);
    assert_conserved(&w);
}
END_TEST

START_TEST(test_build_waits_for_room)
{
    world w;
    world_init(&w);
    vr_econ_built out[1];
    uint32_t n;
    w.s.faction_credits[2] = 60000;
    w.s.planet_owner[3] = 3;
    PS(&w, 3, VR_RES_ALLOYS) = 10;
    w.s.planet_queue[3 * VR_ECON_QUEUE] = 1;
    world_start(&w);
    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, 0, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(w.s.planet_paid_credits[3], 50000); /* paid, not lost */
    ck_assert_uint_eq(w.s.planet_queue[3 * VR_ECON_QUEUE], 1);
    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, 1, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(out[0].planet, 3);
    ck_assert_int_eq(w.s.faction_credits[2], 10000); /* paid once only */
    ck_assert_int_eq(PS(&w, 3, VR_RES_ALLOYS), 0);
    assert_conserved(&w);
}
END_TEST

/* Updates prices until they stop moving (they always arrive: each step
 * closes at least 1 of the gap); returns the number of steps. */
static int settle(world *w)
{
    int64_t before[NM * R];
    for (int k = 0; k < 200; k++) {
        memcpy(before, w->s.market_price, sizeof before);
        ck_assert_int_eq(vr_econ_update_prices(&w->v), 0);
        if (memcmp(before, w->s.market_price, sizeof before) == 0)
            return k;
    }
    ck_abort_msg("prices did not settle");
    return -1;
}

START_TEST(test_prices_follow_supply)
{
    world w;
    world_init(&w); /* base 1000, target 100, price 1000 everywhere */
    int64_t *stock = &MS(&w, 0, VR_RES_ORE), *price = &MP(&w, 0, VR_RES_ORE);
    /* where a price goes with no trades: base * target / stock, in
     * [base/4, 4 * base] */
    static const struct {
        int64_t stock, price;
    } cases[] = {
        {100, 1000}, {50, 2000}, {25, 4000}, {10, 4000}, {0, 4000}, {200, 500}, {400, 250}, {1000, 250}, {300, 333},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        *stock = cases[i].stock;
        settle(&w);
        ck_assert_msg(*price == cases[i].price, "stock %lld: price %lld, want %lld",
                      (long long)cases[i].stock, (long long)*price, (long long)cases[i].price);
    }
    /* it gets there a quarter of the way per turn, rounded away from zero:
     * 333 -> 2000 (stock 50): +417 (1667/4 = 416.75), then +313 (1250/4 =
     * 312.5), then +235 (937/4 = 234.25) */
    *stock = 50;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(*price, 750);
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(*price, 1063);
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(*price, 1298);
    /* and back down: 1298 -> 250 (stock 1000): -262 (1048/4) */
    *stock = 1000;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(*price, 1036);

    /* tiny base: the price never reaches 0 (base/4 = 0, so the floor is 1),
     * and an old price beyond the bounds is brought inside first: 1000 ->
     * 12 (4 * base), then -3 (11/4 rounded up) */
    w.s.market_base[1 * R + VR_RES_FOOD] = 3;
    MS(&w, 1, VR_RES_FOOD) = 1000000;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(MP(&w, 1, VR_RES_FOOD), 9);
    settle(&w);
    ck_assert_int_eq(MP(&w, 1, VR_RES_FOOD), 1);

    /* through trades: buying the market down raises the price, selling
     * into it lowers it */
    *stock = 100;
    settle(&w);
    ck_assert_int_eq(*price, 1000);
    w.s.planet_owner[0] = 1;
    w.s.faction_credits[0] = 10000000;
    w.s.market_credits[0] = 10000000;
    world_start(&w);
    vr_trade_order buy = {.market = 0, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_ORE, .qty = 60};
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, &buy, 1), 0);
    ck_assert_int_eq(buy.filled, 60);
    /* want 1000 * (100 + 60 asked) / 40 = 4000: 1000 + 750 */
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(*price, 1750);
    vr_trade_order sell = {.market = 0, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_ORE, .qty = -60};
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, &sell, 1), 0);
    ck_assert_int_eq(sell.filled, -60);
    /* want 1000 * 100 / (100 + 60 offered) = 625: 1750 - 282 (1125/4) */
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(*price, 1468);
    settle(&w);
    ck_assert_int_eq(*price, 1000);
    assert_conserved(&w);
}
END_TEST

/* The same stock, with and without demand: demand alone moves the price,
 * supply alone too, unmet demand most of all, and the tallies are used
 * once. */
START_TEST(test_prices_follow_demand)
{
    world w;
    world_init(&w);
    /* market 0 and 1, ore: stock 100 = target, price 1000 = base */
    MS(&w, 0, VR_RES_ORE) = MS(&w, 1, VR_RES_ORE) = 100;
    settle(&w);
    ck_assert_int_eq(MP(&w, 0, VR_RES_ORE), 1000);

    /* 20 units asked at market 0: want 1000 * 120 / 100 = 1200, +50 */
    w.s.market_asked[0 * R + VR_RES_ORE] = 20;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(MP(&w, 0, VR_RES_ORE), 1050);
    ck_assert_int_eq(MP(&w, 1, VR_RES_ORE), 1000); /* no demand, same stock */
    ck_assert_int_eq(w.s.market_asked[0 * R + VR_RES_ORE], 0); /* used once */
    /* 25 offered: want 1000 * 100 / 125 = 800, 1050 - 63 (250/4) */
    w.s.market_offered[0 * R + VR_RES_ORE] = 25;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(MP(&w, 0, VR_RES_ORE), 987);
    ck_assert_int_eq(w.s.market_offered[0 * R + VR_RES_ORE], 0);
    /* as many asked as offered at the target stock: the base price */
    w.s.market_asked[0 * R + VR_RES_ORE] = w.s.market_offered[0 * R + VR_RES_ORE] = 40;
    settle(&w); /* the tallies are zeroed by the first step: stock alone */
    ck_assert_int_eq(MP(&w, 0, VR_RES_ORE), 1000);

    /* unmet demand through a trade: an empty market, a buyer who can pay
     * for 30: nothing filled, 30 asked; want 1000 * 130 / 1 -> 4000 */
    MS(&w, 0, VR_RES_FUEL) = 0;
    MP(&w, 0, VR_RES_FUEL) = 1000;
    w.s.planet_owner[0] = 1;
    w.s.faction_credits[0] = 30000 + 999; /* 30 units at 1000, not 31 */
    world_start(&w);
    vr_trade_order buy = {.market = 0, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_FUEL, .qty = 50};
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, &buy, 1), 0);
    ck_assert_int_eq(buy.filled, 0);
    ck_assert_int_eq(buy.asked, 30);
    ck_assert_int_eq(w.s.market_asked[0 * R + VR_RES_FUEL], 30);
    ck_assert_int_eq(w.s.faction_credits[0], 30999);
    assert_conserved(&w);
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(MP(&w, 0, VR_RES_FUEL), 1750);
    /* with stock 100 the same demand gives 1000 * 130 / 100 = 1300 */
    MS(&w, 1, VR_RES_FUEL) = 100;
    MP(&w, 1, VR_RES_FUEL) = 1000;
    w.s.market_asked[1 * R + VR_RES_FUEL] = 30;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
    ck_assert_int_eq(MP(&w, 1, VR_RES_FUEL), 1075);

    /* bounded for any tally: 4 * base at most, 1 at least, no overflow */
    w.s.market_base[1 * R + VR_RES_ALLOYS] = INT64_MAX / 4;
    MS(&w, 1, VR_RES_ALLOYS) = 0;
    w.s.market_target[1 * R + VR_RES_ALLOYS] = INT64_MAX;
    w.s.market_asked[1 * R + VR_RES_ALLOYS] = INT64_MAX;
    w.s.market_base[0 * R + VR_RES_ALLOYS] = 1;
    MS(&w, 0, VR_RES_ALLOYS) = INT64_MAX;
    w.s.market_offered[0 * R + VR_RES_ALLOYS] = INT64_MAX;
    for (int k = 0; k < 200; k++) {
        ck_assert_int_eq(vr_econ_update_prices(&w.v), 0);
        w.s.market_asked[1 * R + VR_RES_ALLOYS] = INT64_MAX;
        w.s.market_offered[0 * R + VR_RES_ALLOYS] = INT64_MAX;
        for (int g = 0; g < NM * R; g++)
            ck_assert(w.s.market_price[g] >= 1 && w.s.market_price[g] <= 4 * w.s.market_base[g]);
    }
    ck_assert_int_eq(MP(&w, 1, VR_RES_ALLOYS), INT64_MAX / 4 * 4);
    ck_assert_int_eq(MP(&w, 0, VR_RES_ALLOYS), 1);
}
END_TEST

/* Planets buy what they lack (vr_econ_demand, then vr_econ_trade), then
 * eat (vr_econ_eat): one buyer with enough stock and credits, one short of
 * credits, one short of market stock; numbers by hand. */
START_TEST(test_buy_what_is_lacking)
{
    world w;
    world_init(&w);
    w.v.pop_per_food = 1000;
    MS(&w, 0, VR_RES_FOOD) = 100;
    MP(&w, 0, VR_RES_FOOD) = 2000;
    MS(&w, 0, VR_RES_ALLOYS) = 5;
    MP(&w, 0, VR_RES_ALLOYS) = 3000;
    w.s.market_credits[0] = 100;
    MS(&w, 1, VR_RES_FOOD) = 50; /* for the broke buyer at the end */
    MP(&w, 1, VR_RES_FOOD) = 2000;
    /* planet 0, faction 1 (rich): eats ceil(2500/1000) = 3, has 1: buys 2 */
    w.s.faction_credits[0] = 1000000;
    w.s.planet_owner[0] = 1, w.s.planet_pop[0] = 2500, PS(&w, 0, VR_RES_FOOD) = 1;
    /* planet 1, faction 2 (5000 milli-credits): eats 4, has 0: asks 4,
     * can pay for 2 at 2000 */
    w.s.faction_credits[1] = 5000;
    w.s.planet_owner[1] = 2, w.s.planet_pop[1] = 4000;
    /* planet 2, faction 1: eats 1, has 10: buys nothing */
    w.s.planet_owner[2] = 1, w.s.planet_pop[2] = 1000, PS(&w, 2, VR_RES_FOOD) = 10;
    /* planet 3, nobody's: eats 3 of its 5, cannot buy */
    w.s.planet_pop[3] = 3000, PS(&w, 3, VR_RES_FOOD) = 5;
    /* planet 4, faction 1, builds design 0 (90 alloys over 3 turns: 30 this
     * turn), has 12: asks 18, the market has 5 */
    w.s.planet_owner[4] = 1, w.s.planet_queue[4 * VR_ECON_QUEUE] = 0, PS(&w, 4, VR_RES_ALLOYS) = 12;
    /* planet 5, faction 3, builds design 1 (10 alloys in 1 turn), has 10 */
    w.s.planet_owner[5] = 3, w.s.planet_queue[5 * VR_ECON_QUEUE] = 1, PS(&w, 5, VR_RES_ALLOYS) = 10;
    /* planet 6, faction 1, design 0 two thirds paid (60 of 90): owes 30,
     * takes 30 this turn, has 29: asks 1 */
    w.s.planet_owner[6] = 1, w.s.planet_queue[6 * VR_ECON_QUEUE] = 0, PS(&w, 6, VR_RES_ALLOYS) = 29;
    w.s.planet_paid_alloys[6] = 60;
    world_start(&w);

    ck_assert_int_eq(vr_econ_food_need(&w.v, 0), 3);
    ck_assert_int_eq(vr_econ_food_need(&w.v, 1), 4);
    ck_assert_int_eq(vr_econ_food_need(&w.v, 7), 0); /* population 0 */
    ck_assert_int_eq(vr_econ_food_need(&w.v, NP), 0);

    vr_trade_order o[2 * NP];
    uint32_t n = 99;
    ck_assert_int_eq(vr_econ_demand(&w.v, 0, o, 2 * NP, &n), 0);
    ck_assert_uint_eq(n, 4); /* food first, then alloys, each in planet order */
    const struct {
        uint32_t index, res;
        int64_t qty;
    } want[] = {{0, VR_RES_FOOD, 2}, {1, VR_RES_FOOD, 4}, {4, VR_RES_ALLOYS, 18}, {6, VR_RES_ALLOYS, 1}};
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(o[i].market, 0);
        ck_assert_uint_eq(o[i].kind, VR_HOLD_PLANET);
        ck_assert_uint_eq(o[i].index, want[i].index);
        ck_assert_uint_eq(o[i].res, want[i].res);
        ck_assert_int_eq(o[i].qty, want[i].qty);
        ck_assert_int_eq(o[i].limit, 0);
    }
    ck_assert_int_eq(vr_econ_demand(&w.v, 0, o, 3, &n), -ENOSPC);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(vr_econ_demand(&w.v, 0, o, 4, &n), 0);

    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, n), 0);
    /* enough stock and credits: 2 at 2000 */
    ck_assert_int_eq(o[0].filled, 2);
    ck_assert_int_eq(o[0].paid, 4000);
    ck_assert_int_eq(o[0].asked, 2);
    ck_assert_int_eq(PS(&w, 0, VR_RES_FOOD), 3);
    /* short of credits: 5000 pays for 2 of 4; the treasury keeps 1000 */
    ck_assert_int_eq(o[1].filled, 2);
    ck_assert_int_eq(o[1].paid, 4000);
    ck_assert_int_eq(o[1].asked, 2);
    ck_assert_int_eq(w.s.faction_credits[1], 1000);
    ck_assert_int_eq(PS(&w, 1, VR_RES_FOOD), 2);
    /* short of market stock: 5 of 18 at 3000; asked counts all 18 */
    ck_assert_int_eq(o[2].filled, 5);
    ck_assert_int_eq(o[2].paid, 15000);
    ck_assert_int_eq(o[2].asked, 18);
    ck_assert_int_eq(PS(&w, 4, VR_RES_ALLOYS), 17);
    /* and the market is empty for the next one */
    ck_assert_int_eq(o[3].filled, 0);
    ck_assert_int_eq(o[3].asked, 1);
    ck_assert_int_eq(MS(&w, 0, VR_RES_FOOD), 96);
    ck_assert_int_eq(MS(&w, 0, VR_RES_ALLOYS), 0);
    ck_assert_int_eq(w.s.market_credits[0], 100 + 4000 + 4000 + 15000);
    ck_assert_int_eq(w.s.faction_credits[0], 1000000 - 4000 - 15000);
    ck_assert_int_eq(w.s.market_asked[0 * R + VR_RES_FOOD], 4);
    ck_assert_int_eq(w.s.market_asked[0 * R + VR_RES_ALLOYS], 19);
    ck_assert_int_eq(LED(&w, VR_CAUSE_TRADED, VR_RES_FOOD), 4);
    ck_assert_int_eq(LED(&w, VR_CAUSE_TRADED, VR_RES_ALLOYS), 5);
    ck_assert_int_eq(LED(&w, VR_CAUSE_TRADED, VR_RES_CREDITS), 23000);
    assert_conserved(&w);

    /* eat: planet 0 all 3; planet 1 its 2 of 4 (hungry); planet 2 1 of
     * 10; planet 3 (nobody's) 3 of 5 */
    ck_assert_int_eq(vr_econ_eat(&w.v, &w.s.ledger), 0);
    ck_assert_int_eq(PS(&w, 0, VR_RES_FOOD), 0);
    ck_assert_int_eq(PS(&w, 1, VR_RES_FOOD), 0);
    ck_assert_int_eq(PS(&w, 2, VR_RES_FOOD), 9);
    ck_assert_int_eq(PS(&w, 3, VR_RES_FOOD), 2);
    ck_assert_int_eq(LED(&w, VR_CAUSE_CONSUMED, VR_RES_FOOD), 3 + 2 + 1 + 3);
    assert_conserved(&w);

    /* what was bought is what the queue takes: planet 4 pays 17 of its 30 */
    vr_econ_built out[NP];
    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, NP, &n), 0);
    ck_assert_int_eq(w.s.planet_paid_alloys[4], 17);
    ck_assert_int_eq(PS(&w, 4, VR_RES_ALLOYS), 0);
    assert_conserved(&w);

    /* a broke owner asks for nothing it cannot pay: no demand counted */
    w.s.faction_credits[1] = 1999;
    world_start(&w);
    ck_assert_int_eq(vr_econ_demand(&w.v, 1, o, 2 * NP, &n), 0);
    ck_assert_uint_eq(o[1].index, 1);
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o + 1, 1), 0);
    ck_assert_int_eq(o[1].filled, 0);
    ck_assert_int_eq(o[1].asked, 0);
    ck_assert_int_eq(w.s.faction_credits[1], 1999);
    assert_conserved(&w);
}
END_TEST

/* The market pays sellers its bid (price less its fee) and sells at its
 * price, so it keeps the spread; a seller's limit is met by the bid. */
START_TEST(test_market_fee)
{
    ck_assert_int_eq(vr_econ_bid(1000, 50), 950);
    ck_assert_int_eq(vr_econ_bid(1000, 0), 1000);
    ck_assert_int_eq(vr_econ_bid(19, 50), 19); /* 0.95 rounded: no fee */
    ck_assert_int_eq(vr_econ_bid(1, 999), 1);
    /* INT64_MAX - floor(INT64_MAX * 999 / 1000), in 128 bits */
    ck_assert_int_eq(vr_econ_bid(INT64_MAX, 999), INT64_C(9223372036854776));
    ck_assert_int_eq(vr_econ_bid(0, 50), 0);

    world w;
    world_init(&w);
    w.v.market_fee = 50;
    w.s.market_credits[0] = 100000;
    w.s.planet_owner[0] = 1;
    PS(&w, 0, VR_RES_FUEL) = 30;
    w.s.planet_owner[1] = 2;
    w.s.faction_credits[1] = 50000;
    world_start(&w);
    vr_trade_order o[] = {
        /* sells 10 at the bid, 950 */
        {.market = 0, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_FUEL, .qty = -10},
        /* will not sell below 951: the bid is 950 (the price is 1000) */
        {.market = 0, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_FUEL, .qty = -10, .limit = 951},
        /* buys them back at the price */
        {.market = 0, .kind = VR_HOLD_PLANET, .index = 1, .res = VR_RES_FUEL, .qty = 10},
    };
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 3), 0);
    ck_assert_int_eq(o[0].filled, -10);
    ck_assert_int_eq(o[0].price, 950);
    ck_assert_int_eq(o[0].paid, -9500);
    ck_assert_int_eq(o[1].filled, 0);
    ck_assert_int_eq(o[1].asked, 0); /* refused by its limit: no supply */
    ck_assert_int_eq(o[2].filled, 10);
    ck_assert_int_eq(o[2].price, 1000);
    ck_assert_int_eq(o[2].paid, 10000);
    ck_assert_int_eq(w.s.faction_credits[0], 9500);
    ck_assert_int_eq(w.s.faction_credits[1], 40000);
    ck_assert_int_eq(w.s.market_credits[0], 100500); /* the spread */
    ck_assert_int_eq(w.s.market_offered[0 * R + VR_RES_FUEL], 10);
    ck_assert_int_eq(w.s.market_asked[0 * R + VR_RES_FUEL], 10);
    assert_conserved(&w);
    w.v.market_fee = 1000;
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 3), -VR_EBADARG);
}
END_TEST

START_TEST(test_trade_exact)
{
    world w;
    world_init(&w);
    size_t g = 1 * R + VR_RES_FOOD; /* market 1, food */
    w.s.market_price[g] = 1500;
    w.s.market_stock[g] = 40;
    w.s.market_credits[1] = 7;
    w.s.market_credits[0] = 2500;
    w.s.planet_owner[2] = 1;
    w.s.faction_credits[0] = 100000;
    w.s.station_owner[1] = 2;
    w.s.faction_credits[1] = 4000;
    w.s.station_owner[2] = 0;
    w.s.station_stock[2 * R + VR_RES_FOOD] = 9;
    world_start(&w);

    vr_trade_order o[] = {
        /* wants 50, market has 40: 40 * 1500 */
        {.market = 1, .kind = VR_HOLD_PLANET, .index = 2, .res = VR_RES_FOOD, .qty = 50},
        /* sells 10 back */
        {.market = 1, .kind = VR_HOLD_PLANET, .index = 2, .res = VR_RES_FOOD, .qty = -10},
        /* too dear for this limit */
        {.market = 1, .kind = VR_HOLD_PLANET, .index = 2, .res = VR_RES_FOOD, .qty = 5, .limit = 1499},
        /* too cheap for this seller */
        {.market = 1, .kind = VR_HOLD_PLANET, .index = 2, .res = VR_RES_FOOD, .qty = -5, .limit = 1501},
        /* 4000 milli-credits buy 2 units at 1500 */
        {.market = 1, .kind = VR_HOLD_STATION, .index = 1, .res = VR_RES_FOOD, .qty = 100},
        /* nobody's station cannot trade */
        {.market = 1, .kind = VR_HOLD_STATION, .index = 2, .res = VR_RES_FOOD, .qty = -9},
    };
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 6), 0);
    ck_assert_int_eq(o[0].filled, 40);
    ck_assert_int_eq(o[0].paid, 60000);
    ck_assert_int_eq(o[0].price, 1500);
    ck_assert_int_eq(o[1].filled, -10);
    ck_assert_int_eq(o[1].paid, -15000);
    ck_assert_int_eq(o[2].filled, 0);
    ck_assert_int_eq(o[3].filled, 0);
    ck_assert_int_eq(o[4].filled, 2);
    ck_assert_int_eq(o[4].paid, 3000);
    ck_assert_int_eq(o[5].filled, 0);
    ck_assert_int_eq(PS(&w, 2, VR_RES_FOOD), 30);
    ck_assert_int_eq(w.s.station_stock[1 * R + VR_RES_FOOD], 2);
    ck_assert_int_eq(w.s.station_stock[2 * R + VR_RES_FOOD], 9);
    ck_assert_int_eq(w.s.market_stock[g], 8);
    ck_assert_int_eq(w.s.faction_credits[0], 100000 - 60000 + 15000);
    ck_assert_int_eq(w.s.faction_credits[1], 1000);
    ck_assert_int_eq(w.s.market_credits[1], 7 + 60000 - 15000 + 3000);
    ck_assert_int_eq(LED(&w, VR_CAUSE_TRADED, VR_RES_FOOD), 52);
    ck_assert_int_eq(LED(&w, VR_CAUSE_TRADED, VR_RES_CREDITS), 78000);
    assert_conserved(&w);

    /* the market cannot pay more than it holds: market 0 has 2500
     * milli-credits, so at 1000 it takes 2 of 10 */
    vr_trade_order s = {.market = 0, .kind = VR_HOLD_PLANET, .index = 2, .res = VR_RES_FOOD, .qty = -10};
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, &s, 1), 0);
    ck_assert_int_eq(s.filled, -2);
    ck_assert_int_eq(s.paid, -2000);
    ck_assert_int_eq(w.s.market_credits[0], 500);
    /* nor can a seller sell more than it has: 28 left */
    s = (vr_trade_order){.market = 1, .kind = VR_HOLD_PLANET, .index = 2, .res = VR_RES_FOOD, .qty = -1000};
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, &s, 1), 0);
    ck_assert_int_eq(s.filled, -28);
    ck_assert_int_eq(w.s.market_credits[1], 48007 - 28 * 1500);
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, &s, 1), 0);
    ck_assert_int_eq(s.filled, 0);
    ck_assert_int_eq(PS(&w, 2, VR_RES_FOOD), 0);
    ck_assert_int_eq(w.s.faction_credits[0], 55000 + 2000 + 28 * 1500);
    assert_conserved(&w);
}
END_TEST

START_TEST(test_bad_input_changes_nothing)
{
    world w, before;
    world_init(&w);
    w.s.faction_credits[0] = 500;
    w.s.planet_owner[0] = 1;
    w.s.planet_rate[0] = 5;
    w.s.planet_pop[0] = 3;
    w.v.tax = 7;
    w.s.fleet_upkeep[0] = 1;
    w.s.fleet_capacity[0] = 10;
    FC(&w, 0, VR_RES_ORE) = 4;
    w.s.asteroid_reserve[0] = 100;
    w.s.market_stock[0] = 5;
    w.s.market_credits[0] = 1000;
    world_start(&w);
    before = w;
#define SAME() ck_assert(memcmp(&w.s, &before.s, sizeof w.s) == 0)

    w.s.planet_owner[NP - 1] = NF + 1; /* no such faction */
    before.s.planet_owner[NP - 1] = NF + 1;
    ck_assert_int_eq(vr_econ_produce(&w.v, &w.s.ledger), -VR_EBADARG);
    SAME();
    w.s.planet_owner[NP - 1] = before.s.planet_owner[NP - 1] = 0;

    w.v.nfactions = 2; /* fleets belong to faction 1, fine; one to faction 3 */
    w.s.fleet_owner[NFL - 1] = before.s.fleet_owner[NFL - 1] = 3;
    ck_assert_int_eq(vr_econ_upkeep(&w.v, &w.s.ledger), -VR_EBADARG);
    SAME();
    w.v.nfactions = NF;

    w.s.fleet_task[5] = before.s.fleet_task[5] = VR_TASK_MINE;
    w.s.fleet_target[5] = before.s.fleet_target[5] = NA;
    w.s.fleet_task[0] = before.s.fleet_task[0] = VR_TASK_MINE; /* a valid one before it */
    w.s.fleet_mine_rate[0] = before.s.fleet_mine_rate[0] = 3;
    ck_assert_int_eq(vr_econ_mine(&w.v, &w.s.ledger), -VR_EBADARG);
    SAME();
    w.s.fleet_task[5] = before.s.fleet_task[5] = VR_TASK_LOAD_STATION;
    w.s.fleet_target[5] = before.s.fleet_target[5] = 0;
    w.s.fleet_task_res[5] = before.s.fleet_task_res[5] = VR_NRES;
    ck_assert_int_eq(vr_econ_haul(&w.v, &w.s.ledger), -VR_EBADARG);
    SAME();
    w.s.fleet_task[5] = before.s.fleet_task[5] = VR_TASK_NONE;

    w.s.planet_queue[0] = before.s.planet_queue[0] = 1;
    w.s.planet_queue[1 * VR_ECON_QUEUE + 2] = before.s.planet_queue[1 * VR_ECON_QUEUE + 2] = ND;
    vr_econ_built out[NP];
    uint32_t n = 99;
    ck_assert_int_eq(vr_econ_build(&w.v, &w.s.ledger, out, NP, &n), -VR_EBADARG);
    ck_assert_uint_eq(n, 0);
    SAME();
    w.s.planet_queue[1 * VR_ECON_QUEUE + 2] = before.s.planet_queue[1 * VR_ECON_QUEUE + 2] = VR_ECON_NONE;

    vr_trade_order o[2] = {
        {.market = 0, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_ORE, .qty = 1},
        {.market = NM, .kind = VR_HOLD_PLANET, .index = 0, .res = VR_RES_ORE, .qty = 1},
    };
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 2), -VR_EBADARG);
    SAME();
    o[1].market = 0;
    o[1].kind = VR_HOLD_FLEET;
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 2), -VR_EBADARG);
    SAME();
    w.s.market_base[3] = before.s.market_base[3] = 0;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), -VR_EBADARG);
    SAME();
    w.s.market_base[3] = before.s.market_base[3] = 1000;

    /* buying and eating: no such market, a negative stock, a negative
     * pop_per_food, a negative tally, a fee of 100 % */
    uint32_t nd = 99;
    o[1].kind = VR_HOLD_PLANET;
    ck_assert_int_eq(vr_econ_demand(&w.v, NM, o, 2, &nd), -VR_EBADARG);
    ck_assert_uint_eq(nd, 0);
    w.v.pop_per_food = -1;
    ck_assert_int_eq(vr_econ_demand(&w.v, 0, o, 2, &nd), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_eat(&w.v, &w.s.ledger), -VR_EBADARG);
    SAME();
    w.v.pop_per_food = 1;
    w.s.planet_pop[2] = before.s.planet_pop[2] = 5;
    PS(&w, 2, VR_RES_FOOD) = PS(&before, 2, VR_RES_FOOD) = -1;
    ck_assert_int_eq(vr_econ_demand(&w.v, 0, o, 2, &nd), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_eat(&w.v, &w.s.ledger), -VR_EBADARG);
    SAME();
    PS(&w, 2, VR_RES_FOOD) = PS(&before, 2, VR_RES_FOOD) = 0;
    w.s.market_asked[5] = before.s.market_asked[5] = -1;
    ck_assert_int_eq(vr_econ_update_prices(&w.v), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 2), -VR_EBADARG);
    SAME();
    w.s.market_asked[5] = before.s.market_asked[5] = 0;
    w.v.market_fee = 1000;
    ck_assert_int_eq(vr_econ_trade(&w.v, &w.s.ledger, o, 2), -VR_EBADARG);
    SAME();
    w.v.market_fee = 0;
    w.v.pop_per_food = 0;

    /* generic operations: wrong resource for the holder, bad rows, too
     * much, no room, a non-move cause */
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_FACTION, 0, VR_HOLD_MARKET, 0, VR_RES_ORE, 1,
                                  VR_CAUSE_TRANSFER), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_FACTION, NF, VR_HOLD_MARKET, 0, VR_RES_CREDITS, 1,
                                  VR_CAUSE_TRANSFER), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_FACTION, 0, VR_HOLD_MARKET, 0, VR_RES_CREDITS, 501,
                                  VR_CAUSE_TRANSFER), -ERANGE);
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_FACTION, 0, VR_HOLD_MARKET, 0, VR_RES_CREDITS, 1,
                                  VR_CAUSE_UPKEEP), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_ASTEROID, 0, VR_HOLD_FLEET, 0, VR_RES_ORE, 7,
                                  VR_CAUSE_MINED), -ENOSPC);
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_ASTEROID, 0, VR_HOLD_FLEET, 0, VR_RES_FUEL, 1,
                                  VR_CAUSE_MINED), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_destroy(&w.v, &w.s.ledger, VR_HOLD_FLEET, 0, VR_RES_ORE, 5), -ERANGE);
    ck_assert_int_eq(vr_econ_destroy(&w.v, &w.s.ledger, VR_HOLD_FLEET, 0, VR_RES_ORE, -1), -VR_EBADARG);
    ck_assert_int_eq(vr_econ_destroy_cargo(&w.v, &w.s.ledger, NFL), -VR_EBADARG);
    SAME();

    /* and the valid versions do what they say */
    ck_assert_int_eq(vr_econ_move(&w.v, &w.s.ledger, VR_HOLD_ASTEROID, 0, VR_HOLD_FLEET, 0, VR_RES_ORE, 6,
                                  VR_CAUSE_MINED), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ORE), 10);
    ck_assert_int_eq(vr_econ_destroy_cargo(&w.v, &w.s.ledger, 0), 0);
    ck_assert_int_eq(FC(&w, 0, VR_RES_ORE), 0);
    ck_assert_int_eq(LED(&w, VR_CAUSE_DESTROYED, VR_RES_ORE), 10);
    assert_conserved(&w);
#undef SAME
}
END_TEST

START_TEST(test_check_catches_unrecorded_changes)
{
    world w;
    world_init(&w);
    w.s.planet_stock[R + VR_RES_ALLOYS] = 10;
    w.s.faction_credits[1] = 10;
    world_start(&w);
    char err[256];
    assert_conserved(&w);

    w.s.station_stock[VR_RES_ALLOYS] += 3; /* appears from nowhere */
    ck_assert_int_eq(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err), -EBADE);
    ck_assert_msg(strstr(err, "alloys") && strstr(err, "+3"), "%s", err);
    w.s.station_stock[VR_RES_ALLOYS] -= 3;

    w.s.faction_credits[1] -= 4; /* vanishes */
    ck_assert_int_eq(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err), -EBADE);
    ck_assert_msg(strstr(err, "credits") && strstr(err, "-4"), "%s", err);
    w.s.faction_credits[1] += 4;

    /* moved by hand so the sum is unchanged but a holder went negative */
    w.s.fleet_cargo[2 * R + VR_RES_FOOD] = -1;
    w.s.market_stock[VR_RES_FOOD] = 1;
    ck_assert_int_eq(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err), -EBADE);
    ck_assert_msg(strstr(err, "fleet_cargo[") != NULL, "%s", err);
    w.s.fleet_cargo[2 * R + VR_RES_FOOD] = 0;
    w.s.market_stock[VR_RES_FOOD] = 0;

    /* a ledger entry without the change is caught too */
    w.s.ledger.amount[VR_CAUSE_PRODUCED][VR_RES_FUEL] += 1;
    ck_assert_int_eq(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err), -EBADE);
    ck_assert_msg(strstr(err, "fuel") && strstr(err, "-1"), "%s", err);
    w.s.ledger.amount[VR_CAUSE_PRODUCED][VR_RES_FUEL] -= 1;
    assert_conserved(&w);

    w.v.station_stock = NULL;
    ck_assert_int_eq(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err), -VR_EBADARG);
    ck_assert_msg(strstr(err, "station_stock") != NULL, "%s", err);
}
END_TEST

/* ---- randomized property test -------------------------------------------- */

typedef struct rng {
    uint64_t seed, turn, ctr;
} rng;

static uint64_t rnd(rng *g, uint64_t n)
{
    return vr_rand(g->seed, 7, g->turn, g->ctr++, 1) % n;
}

/* A random world: counts and quantities drawn from the seed, cargo within
 * capacity, owners sometimes missing. */
static void random_world(world *w, rng *g)
{
    world_init(w);
    state *s = &w->s;
    w->v.nfactions = 1 + (uint32_t)rnd(g, NF);
    w->v.nplanets = (uint32_t)rnd(g, NP + 1);
    w->v.nstations = (uint32_t)rnd(g, NS + 1);
    w->v.nfleets = (uint32_t)rnd(g, NFL + 1);
    w->v.nasteroids = 1 + (uint32_t)rnd(g, NA);
    w->v.nmarkets = 1 + (uint32_t)rnd(g, NM);
    uint32_t nf = w->v.nfactions;
    for (uint32_t k = 0; k < nf; k++)
        s->faction_credits[k] = (int64_t)rnd(g, 200000);
    for (uint32_t p = 0; p < w->v.nplanets; p++) {
        s->planet_owner[p] = rnd(g, 5) ? (uint16_t)(1 + rnd(g, nf)) : 0;
        for (int r = 0; r < R; r++) {
            s->planet_stock[p * R + r] = (int64_t)rnd(g, 500);
            s->planet_rate[p * R + r] = (int32_t)rnd(g, 30) - 10;
        }
        s->planet_pop[p] = (uint32_t)rnd(g, 1000);
    }
    w->v.tax = (int64_t)rnd(g, 20);
    w->v.pop_per_food = rnd(g, 4) ? 100 + (int64_t)rnd(g, 900) : 0; /* sometimes nobody eats */
    w->v.market_fee = rnd(g, 2) ? (int64_t)rnd(g, 200) : 0;
    for (uint32_t i = 0; i < w->v.nstations; i++) {
        s->station_owner[i] = rnd(g, 4) ? (uint16_t)(1 + rnd(g, nf)) : 0;
        for (int r = 0; r < R; r++)
            s->station_stock[i * R + r] = (int64_t)rnd(g, 300);
    }
    for (uint32_t f = 0; f < w->v.nfleets; f++) {
        s->fleet_owner[f] = (uint16_t)(1 + rnd(g, nf));
        s->fleet_capacity[f] = (int64_t)rnd(g, 200);
        s->fleet_upkeep[f] = (int64_t)rnd(g, 5000);
        s->fleet_mine_rate[f] = (int64_t)rnd(g, 40);
        int64_t left = s->fleet_capacity[f];
        for (int r = 0; r < R; r++) {
            int64_t q = left ? (int64_t)rnd(g, (uint64_t)left + 1) / 2 : 0;
            s->fleet_cargo[f * R + r] = q;
            left -= q;
        }
    }
    for (uint32_t a = 0; a < w->v.nasteroids; a++)
        s->asteroid_reserve[a] = (int64_t)rnd(g, 2000);
    for (uint32_t m = 0; m < w->v.nmarkets; m++) {
        s->market_credits[m] = (int64_t)rnd(g, 500000);
        for (int r = 0; r < R; r++) {
            s->market_stock[m * R + r] = (int64_t)rnd(g, 400);
            s->market_base[m * R + r] = 1 + (int64_t)rnd(g, 3000);
            s->market_target[m * R + r] = (int64_t)rnd(g, 400);
        }
    }
    ck_assert_int_eq(vr_econ_update_prices(&w->v), 0);
    world_start(w);
}

static const int holder_kinds[] = {VR_HOLD_FACTION, VR_HOLD_PLANET, VR_HOLD_STATION,
                                   VR_HOLD_FLEET,   VR_HOLD_ASTEROID, VR_HOLD_MARKET};

/* What the random turns did, so the property test can tell it exercised
 * everything (a test that passes because nothing happened is no test). */
typedef struct counts {
    uint64_t built;        /* ships completed */
    uint64_t buys, bought; /* filled buy orders, and their units */
    uint64_t need_buys;    /* of them, planets' own (vr_econ_demand) */
    uint64_t sells;        /* filled sell orders */
    uint64_t short_buys;   /* buys filled only in part (stock or credits) */
} counts;

/* One turn of random orders and every system, in the turn order. */
static void random_turn(world *w, rng *g, counts *k_out)
{
    state *s = &w->s;
    vr_econ_view *v = &w->v;
    /* fleet tasks: idle, mine anywhere, haul at any planet or station (some
     * foreign, so refusals happen) */
    for (uint32_t f = 0; f < v->nfleets; f++) {
        uint32_t task = (uint32_t)rnd(g, 6), target = 0;
        if (task == VR_TASK_MINE)
            target = (uint32_t)rnd(g, v->nasteroids);
        else if ((task == VR_TASK_LOAD_PLANET || task == VR_TASK_UNLOAD_PLANET) && v->nplanets)
            target = (uint32_t)rnd(g, v->nplanets);
        else if ((task == VR_TASK_LOAD_STATION || task == VR_TASK_UNLOAD_STATION) && v->nstations)
            target = (uint32_t)rnd(g, v->nstations);
        else
            task = VR_TASK_NONE;
        s->fleet_task[f] = task;
        s->fleet_target[f] = target;
        s->fleet_task_res[f] = (uint32_t)rnd(g, R);
    }
    /* queue a ship now and then */
    for (uint32_t p = 0; p < v->nplanets; p++)
        if (rnd(g, 4) == 0)
            for (int k = 0; k < VR_ECON_QUEUE; k++)
                if (s->planet_queue[p * VR_ECON_QUEUE + k] == VR_ECON_NONE) {
                    s->planet_queue[p * VR_ECON_QUEUE + k] = (uint32_t)rnd(g, ND);
                    break;
                }

    vr_econ_built out[NP];
    uint32_t n;
    ck_assert_int_eq(vr_econ_produce(v, &s->ledger), 0);
    ck_assert_int_eq(vr_econ_upkeep(v, &s->ledger), 0);
    ck_assert_int_eq(vr_econ_build(v, &s->ledger, out, (uint32_t)rnd(g, NP + 1), &n), 0);
    k_out->built += n;
    ck_assert_int_eq(vr_econ_mine(v, &s->ledger), 0);
    ck_assert_int_eq(vr_econ_haul(v, &s->ledger), 0);

    /* random orders (buys and sells), then what the planets lack: one
     * batch */
    vr_trade_order o[8 + 2 * NP];
    uint32_t no = (uint32_t)rnd(g, 9), k = 0;
    for (uint32_t i = 0; i < no; i++) {
        int planet = rnd(g, 2) == 0;
        uint32_t rows = planet ? v->nplanets : v->nstations;
        if (!rows)
            continue;
        o[k++] = (vr_trade_order){
            .market = (uint32_t)rnd(g, v->nmarkets),
            .kind = planet ? VR_HOLD_PLANET : VR_HOLD_STATION,
            .index = (uint32_t)rnd(g, rows),
            .res = (uint32_t)rnd(g, R),
            .qty = (int64_t)rnd(g, 201) - 100,
            .limit = rnd(g, 3) ? 0 : (int64_t)rnd(g, 4000),
        };
    }
    uint32_t first_need = k, nneed = 0;
    ck_assert_int_eq(vr_econ_demand(v, (uint32_t)rnd(g, v->nmarkets), o + k, 2 * NP, &nneed), 0);
    k += nneed;
    ck_assert_int_eq(vr_econ_trade(v, &s->ledger, o, k), 0);
    for (uint32_t i = 0; i < k; i++) {
        ck_assert(o[i].qty >= 0 ? (o[i].filled >= 0 && o[i].filled <= o[i].asked && o[i].asked <= o[i].qty)
                                : (o[i].filled <= 0 && o[i].filled >= o[i].asked && o[i].asked >= o[i].qty));
        ck_assert_int_eq(o[i].paid, o[i].filled * o[i].price);
        if (o[i].filled > 0) {
            k_out->buys++;
            k_out->bought += (uint64_t)o[i].filled;
            k_out->need_buys += i >= first_need && i < first_need + nneed;
            k_out->short_buys += o[i].filled < o[i].qty;
        }
        k_out->sells += o[i].filled < 0;
    }
    ck_assert_int_eq(vr_econ_eat(v, &s->ledger), 0);

    /* random transfers between any two holders (many fail, as they should) */
    for (int i = 0; i < 6; i++) {
        int fk = holder_kinds[rnd(g, 6)], tk = holder_kinds[rnd(g, 6)];
        int rc = vr_econ_move(v, &s->ledger, fk, (uint32_t)rnd(g, 5), tk, (uint32_t)rnd(g, 5),
                              (int)rnd(g, VR_NLEDGER), (int64_t)rnd(g, 300), VR_CAUSE_TRANSFER);
        ck_assert(rc == 0 || rc == -VR_EBADARG || rc == -ERANGE || rc == -ENOSPC);
    }
    if (v->nfleets && rnd(g, 3) == 0)
        ck_assert_int_eq(vr_econ_destroy_cargo(v, &s->ledger, (uint32_t)rnd(g, v->nfleets)), 0);
    if (rnd(g, 3) == 0) {
        int rc = vr_econ_destroy(v, &s->ledger, holder_kinds[rnd(g, 6)], (uint32_t)rnd(g, 5),
                                 (int)rnd(g, VR_NLEDGER), (int64_t)rnd(g, 50));
        ck_assert(rc == 0 || rc == -VR_EBADARG || rc == -ERANGE);
    }
    ck_assert_int_eq(vr_econ_update_prices(v), 0);
    for (uint32_t i = 0; i < v->nmarkets * R; i++) {
        ck_assert(s->market_asked[i] == 0 && s->market_offered[i] == 0);
        ck_assert(s->market_price[i] >= 1 && s->market_price[i] <= 4 * s->market_base[i]);
    }
}

/* Runs a random world for turns turns, checking after each. */
static void run_world(world *w, uint64_t seed, int turns, counts *k)
{
    rng g = {.seed = seed};
    random_world(w, &g);
    char err[256];
    for (int t = 1; t <= turns; t++) {
        g.turn = (uint64_t)t;
        g.ctr = 0;
        random_turn(w, &g, k);
        int rc = vr_econ_check(&w->v, &w->s.ledger, w->start, err, sizeof err);
        ck_assert_msg(rc == 0, "seed %llu turn %d: %s", (unsigned long long)seed, t, err);
        for (uint32_t f = 0; f < w->v.nfleets; f++) {
            int64_t used = 0;
            for (int r = 0; r < R; r++)
                used += w->s.fleet_cargo[f * R + r];
            ck_assert_msg(used <= w->s.fleet_capacity[f], "seed %llu turn %d: fleet %u over capacity",
                          (unsigned long long)seed, t, f);
        }
    }
}

START_TEST(test_conservation_property)
{
    uint64_t events[VR_NCAUSES] = {0};
    counts k = {0};
    for (uint64_t seed = 1; seed <= 300; seed++) {
        world w;
        run_world(&w, seed, 60, &k);
        for (int c = 0; c < VR_NCAUSES; c++)
            events[c] += w.s.ledger.events[c];

        /* an unrecorded change anywhere must be caught */
        rng g = {.seed = seed, .turn = 1000};
        int64_t *cols[] = {w.s.faction_credits, w.s.planet_stock, w.s.station_stock,
                           w.s.fleet_cargo,     w.s.asteroid_reserve, w.s.market_stock, w.s.market_credits};
        uint32_t rows[] = {w.v.nfactions, w.v.nplanets * R, w.v.nstations * R, w.v.nfleets * R,
                           w.v.nasteroids, w.v.nmarkets * R, w.v.nmarkets};
        int k;
        do
            k = (int)rnd(&g, 7);
        while (rows[k] == 0);
        int64_t *cell = cols[k] + rnd(&g, rows[k]);
        int64_t delta = *cell > 0 && rnd(&g, 2) ? -1 : 1 + (int64_t)rnd(&g, 5);
        *cell += delta;
        char err[256];
        ck_assert_msg(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err) == -EBADE,
                      "seed %llu: change of %lld in column %d not caught", (unsigned long long)seed,
                      (long long)delta, k);
        *cell -= delta;
        ck_assert_int_eq(vr_econ_check(&w.v, &w.s.ledger, w.start, err, sizeof err), 0);
    }
    /* the random turns really exercised every cause */
    for (int c = 0; c < VR_NCAUSES; c++)
        ck_assert_msg(events[c] > 100 || c == VR_CAUSE_PORTAL_OUT || c == VR_CAUSE_PORTAL_IN, /* test_portal */ "cause %s happened only %llu times", vr_econ_cause_name(c),
                      (unsigned long long)events[c]);
    ck_assert_uint_gt(k.built, 50);
    /* and trades went both ways: planets bought what they lacked, some
     * only in part (the market's stock or the owner's credits ran short) */
    ck_assert_msg(k.buys > 1000 && k.need_buys > 1000 && k.short_buys > 100 && k.sells > 1000,
                  "buys %llu (needs %llu, short %llu), sells %llu", (unsigned long long)k.buys,
                  (unsigned long long)k.need_buys, (unsigned long long)k.short_buys, (unsigned long long)k.sells);
}
END_TEST

START_TEST(test_same_seed_same_bytes)
{
    counts b1 = {0}, b2 = {0}, b3 = {0};
    for (uint64_t seed = 11; seed <= 20; seed++) {
        world *a = malloc(sizeof *a), *b = malloc(sizeof *b), *c = malloc(sizeof *c);
        ck_assert(a && b && c);
        run_world(a, seed, 80, &b1);
        run_world(b, seed, 80, &b2);
        run_world(c, seed + 1000, 80, &b3);
        ck_assert(memcmp(&a->s, &b->s, sizeof a->s) == 0);
        ck_assert(memcmp(&a->start, &b->start, sizeof a->start) == 0);
        ck_assert(memcmp(&a->s, &c->s, sizeof a->s) != 0);
        free(a);
        free(b);
        free(c);
    }
    ck_assert(memcmp(&b1, &b2, sizeof b1) == 0);
    ck_assert_uint_gt(b1.need_buys, 0);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(vr_econ_res_name(VR_RES_ORE), "ore");
    ck_assert_str_eq(vr_econ_res_name(VR_RES_CREDITS), "credits");
    ck_assert_str_eq(vr_econ_res_name(VR_NLEDGER), "?");
    ck_assert_str_eq(vr_econ_cause_name(VR_CAUSE_CONSTRUCTION), "construction");
    ck_assert_int_eq(vr_econ_cause_sign(VR_CAUSE_PRODUCED), 1);
    ck_assert_int_eq(vr_econ_cause_sign(VR_CAUSE_DESTROYED), -1);
    ck_assert_int_eq(vr_econ_cause_sign(VR_CAUSE_TRADED), 0);
}
END_TEST

static Suite *economy_suite(void)
{
    Suite *s = suite_create("economy");
    TCase *tc = tcase_create("systems");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_produce_and_income);
    tcase_add_test(tc, test_upkeep_shortfall);
    tcase_add_test(tc, test_mining_limits);
    tcase_add_test(tc, test_hauling);
    tcase_add_test(tc, test_build_queue);
    tcase_add_test(tc, test_build_waits_for_room);
    tcase_add_test(tc, test_prices_follow_supply);
    tcase_add_test(tc, test_prices_follow_demand);
    tcase_add_test(tc, test_buy_what_is_lacking);
    tcase_add_test(tc, test_market_fee);
    tcase_add_test(tc, test_trade_exact);
    tcase_add_test(tc, test_bad_input_changes_nothing);
    tcase_add_test(tc, test_check_catches_unrecorded_changes);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("property");
    tcase_set_timeout(tp, 60);
    tcase_add_test(tp, test_conservation_property);
    tcase_add_test(tp, test_same_seed_same_bytes);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(economy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
