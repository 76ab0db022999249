/* economy.h: income, upkeep, production queues, mining, hauling and markets,
 * with a ledger that proves resources are conserved.
 *
 * The economy works on columns (structure of arrays) that the caller owns and
 * that will live in arena columns: a vr_econ_view is only a bundle of column
 * pointers and row counts, and every column is fixed-width with row indices,
 * never pointers.  Quantities are exact integers (int64): goods in whole
 * units, credits in milli-credits, prices in milli-credits per unit, so a
 * trade of q units at price p moves exactly q*p milli-credits and nothing is
 * ever rounded away.
 *
 * Conservation.  Every holder of a resource is a column of the view: faction
 * treasuries and market treasuries (credits); planet, station, fleet-cargo
 * and market stocks (goods); asteroid reserves (ore).  Every change of a
 * holder goes through this module and is recorded in a vr_ledger under its
 * cause: produced (planet output, tax income) and consumed (planet use,
 * upkeep, construction) and destroyed (cargo lost with a ship) change the
 * totals; mined, hauled, traded and transferred are moves between holders
 * and net to zero.  So for every resource, at any time,
 *     vr_econ_total(now) == start + produced - consumed - destroyed,
 * which vr_econ_check() verifies exactly (the auditor's "resources
 * conserved").  Ledger sums wrap modulo 2^64 instead of overflowing, so the
 * check stays exact and defined even for absurd inputs.
 *
 * Determinism: every system processes its rows in index order, uses integer
 * arithmetic only and no random numbers, so the result is a pure function of
 * the columns and the inputs.  Errors: every function validates what it
 * reads before it writes anything; on -VR_EBADARG (a row index, owner,
 * design or resource out of range, a negative quantity, a NULL column) no
 * column and no ledger entry has changed.
 *
 * Markets.  Each market holds goods and credits and has one price per good.
 * Sellers offer goods (a planet's surplus), buyers ask for goods
 * (vr_econ_demand: what a planet's population will eat and what its
 * production queue needs); vr_econ_trade fills orders at the current price
 * (the market pays sellers a little less: its fee) within the market's stock
 * and treasury and the buyer's treasury, and counts what was asked and
 * offered; vr_econ_update_prices then moves each price by the stock relative
 * to its target and by that turn's demand and supply.
 *
 * Suggested order inside a turn: produce, upkeep, mine, haul, demand and
 * trade (with commands, in canonical order), eat, build, update prices.
 */
#ifndef VR_ECONOMY_H
#define VR_ECONOMY_H

#include "vr_sim.h" /* enum vr_resource: the goods, lanes of the stock columns */

#include <stddef.h>
#include <stdint.h>

_Static_assert(VR_NRES == 4, "stock columns of components.def have 4 lanes");

/* Credits are not a good (they live in treasuries, not in stocks) but the
 * ledger and the totals count them like one, after the goods. */
#define VR_RES_CREDITS VR_NRES
#define VR_NLEDGER (VR_NRES + 1)

/* An empty production queue slot. */
#define VR_ECON_NONE UINT32_MAX
/* Depth of a planet's production queue (slot 0 is the entry being built). */
#define VR_ECON_QUEUE 4

/* Why a quantity changed.  vr_econ_cause_sign() gives +1 (adds to the
 * totals), -1 (removes from them) or 0 (a move between holders). */
enum vr_econ_cause {
    VR_CAUSE_PRODUCED,     /* +  planet output (positive production rate) */
    VR_CAUSE_INCOME,       /* +  tax income: credits from planet population */
    VR_CAUSE_CONSUMED,     /* -  planet use (negative production rate) */
    VR_CAUSE_UPKEEP,       /* -  fleet upkeep paid by the owner */
    VR_CAUSE_CONSTRUCTION, /* -  credits and alloys paid into a production queue */
    VR_CAUSE_DESTROYED,    /* -  lost: cargo of a destroyed ship, bombarded stock */
    VR_CAUSE_MINED,        /* 0  asteroid reserve -> fleet cargo */
    VR_CAUSE_HAULED,       /* 0  fleet cargo <-> planet or station stock */
    VR_CAUSE_TRADED,       /* 0  goods and credits between a market and a buyer/seller */
    VR_CAUSE_TRANSFER,     /* 0  any other move (vr_econ_move) */
    VR_CAUSE_PORTAL_OUT,   /* -  cargo of a fleet that left the universe through a portal */
    VR_CAUSE_PORTAL_IN,    /* +  cargo of a fleet that came through a portal */
    VR_NCAUSES,
};

/* Kinds of holder, for the generic operations (vr_econ_move and friends). */
enum vr_econ_holder {
    VR_HOLD_FACTION = 1, /* credits only; index = faction row (id - 1) */
    VR_HOLD_PLANET,      /* goods */
    VR_HOLD_STATION,     /* goods */
    VR_HOLD_FLEET,       /* goods (cargo, bounded by capacity) */
    VR_HOLD_ASTEROID,    /* ore only */
    VR_HOLD_MARKET,      /* goods and credits */
};

/* fleet_task values.  The caller (movement, AI, commands) sets the task when
 * the fleet stands at its target; mine and haul carry it out every turn. */
enum vr_econ_task {
    VR_TASK_NONE = 0,
    VR_TASK_MINE,           /* target: asteroid row */
    VR_TASK_LOAD_PLANET,    /* target: planet row; loads fleet_task_res */
    VR_TASK_LOAD_STATION,   /* target: station row; loads fleet_task_res */
    VR_TASK_UNLOAD_PLANET,  /* target: planet row; unloads all cargo */
    VR_TASK_UNLOAD_STATION, /* target: station row; unloads all cargo */
};

/* fleet_flags bits, written by the systems (status, read by the AI). */
#define VR_FLEET_UNPAID 0x1u  /* last upkeep could not be paid */
#define VR_FLEET_REFUSED 0x2u /* last haul task was at a place of another faction */

/* The columns of one universe's economy.  Column pointers may be NULL only
 * when their row count is 0.  Shapes: [n] or [n * VR_NRES] (row-major, row i
 * resource r at i*VR_NRES + r) or [n * VR_ECON_QUEUE].  Units: goods in
 * units, credits in milli-credits, prices in milli-credits per unit.
 * Owners are faction ids as in the arena (components.def): 1-based, so
 * faction id k is row k-1 of the faction columns, and 0 means nobody.  The
 * columns the arena already has keep its types (planets.owner, population,
 * stock, production; stations.owner, stock; asteroids.reserve;
 * factions.treasury) so a view can point straight into an arena.
 * The systems write what is marked (w); the rest is input they only read. */
typedef struct vr_econ_view {
    uint32_t nfactions, nplanets, nstations, nfleets, nasteroids, nmarkets, ndesigns;
    uint32_t reserved;
    int64_t tax; /* income in milli-credits per population unit per turn, >= 0 */
    /* food: a planet's population eats ceil(pop / pop_per_food) units a
     * turn (vr_econ_eat); 0 = nobody eats.  >= 0. */
    int64_t pop_per_food;

    /* factions */
    int64_t *faction_credits; /* [nfactions] (w) treasury, never negative */
    int64_t *faction_unpaid;  /* [nfactions] (w) upkeep left unpaid by the last vr_econ_upkeep */

    /* planets */
    uint16_t *planet_owner;     /* [nplanets] faction id, 0 = none */
    int64_t *planet_stock;      /* [nplanets*VR_NRES] (w) */
    int32_t *planet_rate;       /* [nplanets*VR_NRES] per turn; < 0 consumes from stock */
    uint32_t *planet_pop;       /* [nplanets] population (units of the arena: thousands) */
    uint32_t *planet_queue;     /* [nplanets*VR_ECON_QUEUE] (w) design rows, VR_ECON_NONE = empty */
    int64_t *planet_paid_credits; /* [nplanets] (w) paid into queue slot 0 so far */
    int64_t *planet_paid_alloys;  /* [nplanets] (w) */

    /* stations */
    uint16_t *station_owner; /* [nstations] faction id, 0 = none */
    int64_t *station_stock;  /* [nstations*VR_NRES] (w) */

    /* fleets */
    uint16_t *fleet_owner;     /* [nfleets] faction id, 1..nfactions */
    int64_t *fleet_cargo;      /* [nfleets*VR_NRES] (w) */
    int64_t *fleet_capacity;   /* [nfleets] units of cargo, all goods together */
    int64_t *fleet_upkeep;     /* [nfleets] milli-credits per turn */
    uint32_t *fleet_flags;     /* [nfleets] (w) VR_FLEET_* */
    uint32_t *fleet_task;      /* [nfleets] enum vr_econ_task */
    uint32_t *fleet_target;    /* [nfleets] row the task refers to */
    uint32_t *fleet_task_res;  /* [nfleets] good loaded by a LOAD task */
    int64_t *fleet_mine_rate;  /* [nfleets] ore per turn when mining */

    /* asteroid fields */
    int64_t *asteroid_reserve; /* [nasteroids] (w) ore left */

    /* markets */
    int64_t *market_stock;  /* [nmarkets*VR_NRES] (w) */
    int64_t *market_credits; /* [nmarkets] (w) the market's own treasury */
    int64_t *market_price;  /* [nmarkets*VR_NRES] (w) current price, >= 1 */
    int64_t *market_base;   /* [nmarkets*VR_NRES] price at target stock, 1..INT64_MAX/4 */
    int64_t *market_target; /* [nmarkets*VR_NRES] stock at which price == base */
    /* per mille of the price a market keeps when it buys: it pays sellers
     * its bid, price - price * market_fee / 1000 (rounded down), and sells
     * at price, so the spread keeps it liquid.  0..999. */
    int64_t market_fee;
    /* Demand and supply of the turn: units buyers asked for and sellers
     * offered since the last vr_econ_update_prices, which reads and zeroes
     * them.  Scratch of one turn (always 0 between turns, so not arena
     * columns); may be NULL: then trades are not counted and prices follow
     * the stock alone.  (w), >= 0. */
    int64_t *market_asked;   /* [nmarkets*VR_NRES] */
    int64_t *market_offered; /* [nmarkets*VR_NRES] */

    /* ship designs (content, read only) */
    const int64_t *design_credits;  /* [ndesigns] total cost in milli-credits */
    const int64_t *design_alloys;   /* [ndesigns] total cost in alloys */
    const uint32_t *design_turns;   /* [ndesigns] build time, >= 1 */
} vr_econ_view;

/* Totals by resource (VR_NLEDGER lanes, credits last) and cause since
 * vr_ledger_init.  Fixed-width so it can live in an arena. */
typedef struct vr_ledger {
    int64_t amount[VR_NCAUSES][VR_NLEDGER]; /* always >= 0, modulo 2^64 */
    uint64_t events[VR_NCAUSES];            /* number of recorded changes */
} vr_ledger;
_Static_assert(sizeof(vr_ledger) == 8 * VR_NCAUSES * (VR_NLEDGER + 1), "vr_ledger is packed int64");

/* A ship whose queue entry was paid in full; the caller spawns it. */
typedef struct vr_econ_built {
    uint32_t planet;
    uint32_t design;
    uint32_t owner; /* faction id */
    uint32_t reserved;
} vr_econ_built;

/* A buy (qty > 0) or sell (qty < 0) order of a planet or station with a
 * market; credits come from / go to the place's owner.  limit: highest price
 * to pay when buying, lowest to accept when selling; 0 = any.  Filled
 * partially when the market, the seller's stock or the buyer's treasury runs
 * short.  vr_econ_trade writes filled (units, signed like qty), paid
 * (milli-credits, > 0 when the order's owner paid), price (the market's
 * price for a buy, its bid for a sell, see market_fee), and asked: the
 * units the order puts to the market as demand (buy: what the buyer can pay
 * for at this price and store, whether the market has it or not) or supply
 * (sell, negative: what the seller has, whether the market can pay or not);
 * 0 when the price is beyond the limit or the place has no owner. */
typedef struct vr_trade_order {
    uint32_t market;
    uint32_t kind;  /* VR_HOLD_PLANET or VR_HOLD_STATION */
    uint32_t index;
    uint32_t res;   /* enum vr_res */
    int64_t qty;
    int64_t limit;
    int64_t filled; /* out */
    int64_t paid;   /* out */
    int64_t price;  /* out: price the order met (a sell: the bid) */
    int64_t asked;  /* out: demand (> 0) or supply (< 0) it counted, units */
} vr_trade_order;

/* Names: "ore", "alloys", "fuel", "food", "credits"; "produced"...; "?" when
 * out of range. */
const char *vr_econ_res_name(int res);
const char *vr_econ_cause_name(int cause);
/* +1, -1 or 0 (see enum vr_econ_cause); 0 for an unknown cause. */
int vr_econ_cause_sign(int cause);

void vr_ledger_init(vr_ledger *l);
/* produced - consumed - destroyed of one ledger lane, modulo 2^64. */
int64_t vr_ledger_net(const vr_ledger *l, int res);

/* Sum of resource res (0..VR_NLEDGER-1) over every holder of the view
 * (modulo 2^64); 0 for res out of range. */
int64_t vr_econ_total(const vr_econ_view *v, int res);
/* All VR_NLEDGER totals, e.g. the starting point for vr_econ_check. */
void vr_econ_totals(const vr_econ_view *v, int64_t out[VR_NLEDGER]);

/* Auditor: 0 when every holder is non-negative and, for every resource,
 * the total equals start[res] + vr_ledger_net(l, res).  Otherwise -EBADE
 * ("invalid exchange") with a sentence in err naming the resource and the
 * difference, or the negative column and row.  -VR_EBADARG for a bad view. */
int vr_econ_check(const vr_econ_view *v, const vr_ledger *l, const int64_t start[VR_NLEDGER],
                  char *err, size_t errlen);

/* ---- turn systems (rows in index order) --------------------------------- */

/* Planets add rate units of each good to their stock (negative rates consume
 * up to what is in stock); owned planets pay pop * v->tax milli-credits of
 * income into the owner's treasury.  Stocks saturate at INT64_MAX (only what was
 * added is recorded).  Returns 0 or -VR_EBADARG. */
int vr_econ_produce(vr_econ_view *v, vr_ledger *l);

/* Every fleet's owner pays its upkeep in full from the treasury, or, when
 * the treasury cannot, pays nothing, the fleet gets VR_FLEET_UNPAID and the
 * owner's faction_unpaid grows by the upkeep (reset to 0 first).  Treasuries
 * never go negative.  Returns 0 or -VR_EBADARG. */
int vr_econ_upkeep(vr_econ_view *v, vr_ledger *l);

/* Planets with a queue pay into slot 0, per turn at most ceil(cost/turns) of
 * credits (from the owner) and of alloys (from the planet's stock), limited
 * by what is there.  An entry paid in full is appended to built[] (when
 * *nbuilt < cap; otherwise it waits, paid, for the next call) and the queue
 * moves up.  Unowned planets do not build.  Sets *nbuilt to the number
 * written.  Returns 0 or -VR_EBADARG (bad design row, paid > cost, ...). */
int vr_econ_build(vr_econ_view *v, vr_ledger *l, vr_econ_built *built, uint32_t cap,
                  uint32_t *nbuilt);

/* Fleets with VR_TASK_MINE move min(mine rate, reserve, free capacity) ore
 * from their asteroid field into cargo.  Returns 0 or -VR_EBADARG. */
int vr_econ_mine(vr_econ_view *v, vr_ledger *l);

/* Fleets with a LOAD task take as much of fleet_task_res as fits from the
 * place's stock; with an UNLOAD task they unload all cargo.  Only at places
 * of their own faction: elsewhere nothing moves and VR_FLEET_REFUSED is set
 * (cleared on success).  Returns 0 or -VR_EBADARG. */
int vr_econ_haul(vr_econ_view *v, vr_ledger *l);

/* What a market with fee market_fee pays a seller for one unit at price:
 * price - price * fee / 1000, rounded down, >= 1 (for price >= 1 and fee
 * 0..999; otherwise price, or 0 when price < 1). */
int64_t vr_econ_bid(int64_t price, int64_t fee);

/* Food a planet's population eats per turn: ceil(pop / pop_per_food), 0
 * when pop_per_food is 0 (or p is out of range). */
int64_t vr_econ_food_need(const vr_econ_view *v, uint32_t p);

/* Buy orders for market `market` of what owned planets lack this turn, in
 * the order they are served: first food, for every owned planet whose stock
 * is below what its population eats (vr_econ_food_need - stock), in planet
 * order; then alloys, for every owned planet with a production queue whose
 * payment this turn (what vr_econ_build would take: min(cost left,
 * ceil(cost / turns))) exceeds its alloy stock, the difference, in planet
 * order.  No limit price: a need is bought at the market's price, within the
 * owner's treasury.  Writes *n orders to orders[0..cap) (2 * nplanets always
 * suffices).  Returns 0, -VR_EBADARG (bad view, market, owner, design row or
 * negative stock; *n = 0) or -ENOSPC (more than cap orders; *n = 0). */
int vr_econ_demand(const vr_econ_view *v, uint32_t market, vr_trade_order *orders, uint32_t cap,
                   uint32_t *n);

/* Executes orders[0..n) in array order (the caller sorts commands
 * canonically) at the markets' current prices (bids for sells): goods and
 * credits move exactly (filled * price milli-credits), treasuries never go
 * negative.
 * Adds each order's asked units to market_asked (buys) or market_offered
 * (sells) when those columns are there.  Returns 0 or -VR_EBADARG (no order
 * executed when any is malformed). */
int vr_econ_trade(vr_econ_view *v, vr_ledger *l, vr_trade_order *orders, uint32_t n);

/* Every planet's population eats vr_econ_food_need units of food from the
 * planet's stock (recorded as consumed), or what there is: a planet with too
 * little goes hungry for the rest.  Returns 0 or -VR_EBADARG. */
int vr_econ_eat(vr_econ_view *v, vr_ledger *l);

/* Once per turn, after the trades: every market price moves a quarter of
 * the way (rounded away from zero, so it always arrives) towards
 *     want = base * (target + asked) / max(1, stock + offered)
 * (integer, rounded down, in 128 bits), want and the old price clamped to
 * [max(1, base/4), 4*base] first: scarce goods and goods in demand get
 * dearer, plentiful goods and goods on offer cheaper, without swinging from
 * bound to bound when sellers answer a high price all at once.  With nothing
 * asked or offered, want = base * target / stock.  Then asked and offered
 * are zeroed for the next turn.  Returns 0 or -VR_EBADARG. */
int vr_econ_update_prices(vr_econ_view *v);

/* ---- generic, recorded operations (commands, combat, scripted events) --- */

/* Moves exactly qty (>= 0) of res from one holder to another under a move
 * cause (MINED, HAULED, TRADED or TRANSFER).  Returns 0, -VR_EBADARG (bad
 * holder, row, resource for that holder, cause), -ERANGE (the source holds
 * less than qty) or -ENOSPC (fleet capacity or INT64_MAX at the target);
 * nothing changes on error. */
int vr_econ_move(vr_econ_view *v, vr_ledger *l, int from_kind, uint32_t from, int to_kind,
                 uint32_t to, int res, int64_t qty, int cause);

/* Destroys exactly qty of res at a holder (VR_CAUSE_DESTROYED).  Returns 0,
 * -VR_EBADARG or -ERANGE (holds less). */
int vr_econ_destroy(vr_econ_view *v, vr_ledger *l, int kind, uint32_t index, int res, int64_t qty);

/* A fleet was destroyed: all its cargo is lost (VR_CAUSE_DESTROYED).
 * Returns 0 or -VR_EBADARG. */
int vr_econ_destroy_cargo(vr_econ_view *v, vr_ledger *l, uint32_t fleet);

#endif
