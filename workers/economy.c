/* economy.c: the economy systems and the conservation ledger (see economy.h).
 *
 * Every change of a holder goes through one of four primitives (gain, lose,
 * shift, and the ledger record they share), so no code path can change a
 * quantity without recording its cause.  Each system first walks the rows it
 * will touch and validates them, and only then writes: a malformed row is
 * reported as -VR_EBADARG with nothing changed.  Quantities never overflow:
 * every addition is bounded by the room left below INT64_MAX, and ledger
 * sums are kept modulo 2^64 (unsigned arithmetic), which keeps the
 * conservation identity exact and the arithmetic defined.
 *
 * The market's demand side: vr_econ_demand only writes orders (it changes
 * nothing), vr_econ_trade fills them with the same shift() as every other
 * move and tallies what was asked and offered, and vr_econ_update_prices turns
 * that tally and the stock into prices; so buying needs no new primitive and
 * no new ledger cause (a purchase is "traded", a meal is "consumed").
 */
#include "economy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const res_names[VR_NLEDGER] = {"ore", "alloys", "fuel", "food", "credits"};

static const struct {
    const char *name;
    int sign;
} causes[VR_NCAUSES] = {
    [VR_CAUSE_PRODUCED] = {"produced", +1},      [VR_CAUSE_INCOME] = {"income", +1},
    [VR_CAUSE_CONSUMED] = {"consumed", -1},      [VR_CAUSE_UPKEEP] = {"upkeep", -1},
    [VR_CAUSE_CONSTRUCTION] = {"construction", -1}, [VR_CAUSE_DESTROYED] = {"destroyed", -1},
    [VR_CAUSE_MINED] = {"mined", 0},             [VR_CAUSE_HAULED] = {"hauled", 0},
    [VR_CAUSE_TRADED] = {"traded", 0},           [VR_CAUSE_TRANSFER] = {"transfer", 0},
    [VR_CAUSE_PORTAL_OUT] = {"portal out", -1},  [VR_CAUSE_PORTAL_IN] = {"portal in", +1},
};

const char *vr_econ_res_name(int res)
{
    return res >= 0 && res < VR_NLEDGER ? res_names[res] : "?";
}

const char *vr_econ_cause_name(int cause)
{
    return cause >= 0 && cause < VR_NCAUSES ? causes[cause].name : "?";
}

int vr_econ_cause_sign(int cause)
{
    return cause >= 0 && cause < VR_NCAUSES ? causes[cause].sign : 0;
}

void vr_ledger_init(vr_ledger *l)
{
    memset(l, 0, sizeof *l);
}

int64_t vr_ledger_net(const vr_ledger *l, int res)
{
    if (res < 0 || res >= VR_NLEDGER)
        return 0;
    uint64_t net = 0;
    for (int c = 0; c < VR_NCAUSES; c++) {
        uint64_t a = (uint64_t)l->amount[c][res];
        if (causes[c].sign > 0)
            net += a;
        else if (causes[c].sign < 0)
            net -= a;
    }
    return (int64_t)net;
}

/* ---- primitives --------------------------------------------------------- */

static void record(vr_ledger *l, int cause, int res, int64_t q)
{
    l->amount[cause][res] = (int64_t)((uint64_t)l->amount[cause][res] + (uint64_t)q);
    l->events[cause]++;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t room(int64_t x) { return INT64_MAX - x; } /* x >= 0 */

/* Adds q (>= 0, within room) to *slot from outside the holders. */
static void gain(vr_ledger *l, int cause, int res, int64_t *slot, int64_t q)
{
    if (q <= 0)
        return;
    *slot += q;
    record(l, cause, res, q);
}

/* Removes q (0 <= q <= *slot) from *slot out of the holders. */
static void lose(vr_ledger *l, int cause, int res, int64_t *slot, int64_t q)
{
    if (q <= 0)
        return;
    *slot -= q;
    record(l, cause, res, q);
}

/* Moves q (0 <= q <= *from, within room of *to) between two holders. */
static void shift(vr_ledger *l, int cause, int res, int64_t *from, int64_t *to, int64_t q)
{
    if (q <= 0)
        return;
    *from -= q;
    *to += q;
    record(l, cause, res, q);
}

static int64_t sum_goods(const int64_t *row)
{
    uint64_t s = 0;
    for (int r = 0; r < VR_NRES; r++)
        s += (uint64_t)row[r];
    return s > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)s;
}

/* Free cargo space of fleet f (0 when over capacity). */
static int64_t fleet_free(const vr_econ_view *v, uint32_t f)
{
    int64_t used = sum_goods(v->fleet_cargo + (size_t)f * VR_NRES);
    return used >= v->fleet_capacity[f] ? 0 : v->fleet_capacity[f] - used;
}

static int nonneg(const int64_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0)
            return 0;
    return 1;
}

/* Faction ids are 1-based (0 = nobody), as in the arena. */
static int owner_ok(const vr_econ_view *v, uint32_t owner, int allow_none)
{
    return owner == 0 ? allow_none : owner <= v->nfactions;
}

/* Address of the slot of res at holder (kind, i), or NULL when there is no
 * such holder or it cannot hold res. */
static int64_t *slot_of(const vr_econ_view *v, int kind, uint32_t i, int res)
{
    if (res < 0 || res >= VR_NLEDGER)
        return NULL;
    size_t g = (size_t)i * VR_NRES + (size_t)res;
    switch (kind) {
    case VR_HOLD_FACTION: /* i is the faction row (id - 1) */
        return i < v->nfactions && res == VR_RES_CREDITS && v->faction_credits ? v->faction_credits + i : NULL;
    case VR_HOLD_PLANET:
        return i < v->nplanets && res < VR_NRES && v->planet_stock ? v->planet_stock + g : NULL;
    case VR_HOLD_STATION:
        return i < v->nstations && res < VR_NRES && v->station_stock ? v->station_stock + g : NULL;
    case VR_HOLD_FLEET:
        return i < v->nfleets && res < VR_NRES && v->fleet_cargo && v->fleet_capacity ? v->fleet_cargo + g
                                                                                          : NULL;
    case VR_HOLD_ASTEROID:
        return i < v->nasteroids && res == VR_RES_ORE && v->asteroid_reserve ? v->asteroid_reserve + i : NULL;
    case VR_HOLD_MARKET:
        if (i >= v->nmarkets)
            return NULL;
        if (res == VR_RES_CREDITS)
            return v->market_credits ? v->market_credits + i : NULL;
        return v->market_stock ? v->market_stock + g : NULL;
    default:
        return NULL;
    }
}

/* ---- totals and the auditor --------------------------------------------- */

static uint64_t sum_lane(const int64_t *col, size_t rows, size_t stride, size_t lane)
{
    uint64_t s = 0;
    if (!col)
        return 0;
    for (size_t i = 0; i < rows; i++)
        s += (uint64_t)col[i * stride + lane];
    return s;
}

int64_t vr_econ_total(const vr_econ_view *v, int res)
{
    if (res < 0 || res >= VR_NLEDGER)
        return 0;
    uint64_t s = 0;
    if (res == VR_RES_CREDITS) {
        s += sum_lane(v->faction_credits, v->nfactions, 1, 0);
        s += sum_lane(v->market_credits, v->nmarkets, 1, 0);
        return (int64_t)s;
    }
    s += sum_lane(v->planet_stock, v->nplanets, VR_NRES, (size_t)res);
    s += sum_lane(v->station_stock, v->nstations, VR_NRES, (size_t)res);
    s += sum_lane(v->fleet_cargo, v->nfleets, VR_NRES, (size_t)res);
    s += sum_lane(v->market_stock, v->nmarkets, VR_NRES, (size_t)res);
    if (res == VR_RES_ORE)
        s += sum_lane(v->asteroid_reserve, v->nasteroids, 1, 0);
    return (int64_t)s;
}

void vr_econ_totals(const vr_econ_view *v, int64_t out[VR_NLEDGER])
{
    for (int r = 0; r < VR_NLEDGER; r++)
        out[r] = vr_econ_total(v, r);
}

static int negative_in(const char *name, const int64_t *col, size_t n, char *err, size_t errlen)
{
    if (!col)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (col[i] < 0) {
            snprintf(err, errlen, "%s[%zu] is negative (%" PRId64 "): a quantity changed outside the economy",
                     name, i, col[i]);
            return -EBADE;
        }
    return 0;
}

int vr_econ_check(const vr_econ_view *v, const vr_ledger *l, const int64_t start[VR_NLEDGER],
                  char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!v || !l || !start)
        return -VR_EBADARG;
    char dummy[1];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    const struct {
        const char *name;
        const int64_t *col;
        size_t n;
    } cols[] = {
        {"faction_credits", v->faction_credits, v->nfactions},
        {"planet_stock", v->planet_stock, (size_t)v->nplanets * VR_NRES},
        {"station_stock", v->station_stock, (size_t)v->nstations * VR_NRES},
        {"fleet_cargo", v->fleet_cargo, (size_t)v->nfleets * VR_NRES},
        {"asteroid_reserve", v->asteroid_reserve, v->nasteroids},
        {"market_stock", v->market_stock, (size_t)v->nmarkets * VR_NRES},
        {"market_credits", v->market_credits, v->nmarkets},
    };
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        if (cols[k].n && !cols[k].col) {
            snprintf(err, errlen, "column %s is NULL but has %zu entries", cols[k].name, cols[k].n);
            return -VR_EBADARG;
        }
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        int rc = negative_in(cols[k].name, cols[k].col, cols[k].n, err, errlen);
        if (rc)
            return rc;
    }
    for (int r = 0; r < VR_NLEDGER; r++) {
        int64_t have = vr_econ_total(v, r);
        int64_t want = (int64_t)((uint64_t)start[r] + (uint64_t)vr_ledger_net(l, r));
        if (have != want) {
            int64_t diff = (int64_t)((uint64_t)have - (uint64_t)want);
            snprintf(err, errlen,
                     "%s not conserved: holders have %" PRId64 ", start + ledger gives %" PRId64
                     " (difference %+" PRId64 ")",
                     res_names[r], have, want, diff);
            return -EBADE;
        }
    }
    return 0;
}

/* ---- production and income ---------------------------------------------- */

int vr_econ_produce(vr_econ_view *v, vr_ledger *l)
{
    if (!v || !l)
        return -VR_EBADARG;
    if (v->nplanets && (!v->planet_owner || !v->planet_stock || !v->planet_rate || !v->planet_pop))
        return -VR_EBADARG;
    if ((v->nfactions && !v->faction_credits) || v->tax < 0)
        return -VR_EBADARG;
    for (uint32_t p = 0; p < v->nplanets; p++)
        if (!owner_ok(v, v->planet_owner[p], 1) ||
            !nonneg(v->planet_stock + (size_t)p * VR_NRES, VR_NRES))
            return -VR_EBADARG;
    if (!nonneg(v->faction_credits, v->nfactions))
        return -VR_EBADARG;

    for (uint32_t p = 0; p < v->nplanets; p++) {
        int64_t *stock = v->planet_stock + (size_t)p * VR_NRES;
        const int32_t *rate = v->planet_rate + (size_t)p * VR_NRES;
        for (int r = 0; r < VR_NRES; r++) {
            if (rate[r] > 0)
                gain(l, VR_CAUSE_PRODUCED, r, &stock[r], min64(rate[r], room(stock[r])));
            else if (rate[r] < 0)
                lose(l, VR_CAUSE_CONSUMED, r, &stock[r], min64(-(int64_t)rate[r], stock[r]));
        }
        uint32_t o = v->planet_owner[p];
        if (o == 0)
            continue;
        int64_t pop = v->planet_pop[p], tax = v->tax;
        int64_t income = (tax && pop > INT64_MAX / tax) ? INT64_MAX : pop * tax;
        int64_t *cr = v->faction_credits + (o - 1);
        gain(l, VR_CAUSE_INCOME, VR_RES_CREDITS, cr, min64(income, room(*cr)));
    }
    return 0;
}

/* ---- upkeep ------------------------------------------------------------- */

int vr_econ_upkeep(vr_econ_view *v, vr_ledger *l)
{
    if (!v || !l)
        return -VR_EBADARG;
    if (v->nfactions && (!v->faction_credits || !v->faction_unpaid))
        return -VR_EBADARG;
    if (v->nfleets && (!v->fleet_owner || !v->fleet_upkeep || !v->fleet_flags))
        return -VR_EBADARG;
    if (!nonneg(v->faction_credits, v->nfactions))
        return -VR_EBADARG;
    for (uint32_t f = 0; f < v->nfleets; f++)
        if (!owner_ok(v, v->fleet_owner[f], 0) || v->fleet_upkeep[f] < 0)
            return -VR_EBADARG;

    for (uint32_t k = 0; k < v->nfactions; k++)
        v->faction_unpaid[k] = 0;
    for (uint32_t f = 0; f < v->nfleets; f++) {
        uint32_t o = v->fleet_owner[f] - 1u; /* faction row */
        int64_t due = v->fleet_upkeep[f];
        if (v->faction_credits[o] >= due) {
            lose(l, VR_CAUSE_UPKEEP, VR_RES_CREDITS, v->faction_credits + o, due);
            v->fleet_flags[f] &= ~VR_FLEET_UNPAID;
        } else {
            v->fleet_flags[f] |= VR_FLEET_UNPAID;
            v->faction_unpaid[o] = due > room(v->faction_unpaid[o]) ? INT64_MAX : v->faction_unpaid[o] + due;
        }
    }
    return 0;
}

/* ---- production queues -------------------------------------------------- */

/* Most of a cost paid in one turn: ceil(cost / turns). */
static int64_t per_turn(int64_t cost, uint32_t turns)
{
    return cost / turns + (cost % turns != 0);
}

/* The design columns, when there are designs, with valid costs. */
static int designs_ok(const vr_econ_view *v)
{
    if (v->ndesigns && (!v->design_credits || !v->design_alloys || !v->design_turns))
        return 0;
    for (uint32_t d = 0; d < v->ndesigns; d++)
        if (v->design_credits[d] < 0 || v->design_alloys[d] < 0 || v->design_turns[d] == 0)
            return 0;
    return 1;
}

/* Planet p's queue: known designs, and paid amounts within slot 0's cost
 * (both 0 when the queue is empty). */
static int queue_ok(const vr_econ_view *v, uint32_t p)
{
    const uint32_t *q = v->planet_queue + (size_t)p * VR_ECON_QUEUE;
    for (int k = 0; k < VR_ECON_QUEUE; k++)
        if (q[k] != VR_ECON_NONE && q[k] >= v->ndesigns)
            return 0;
    int64_t pc = v->planet_paid_credits[p], pa = v->planet_paid_alloys[p];
    return q[0] == VR_ECON_NONE ? pc == 0 && pa == 0
                                : pc >= 0 && pa >= 0 && pc <= v->design_credits[q[0]] &&
                                      pa <= v->design_alloys[q[0]];
}

/* Alloys planet p's queue takes this turn if they are there (its queue_ok). */
static int64_t alloys_due(const vr_econ_view *v, uint32_t p)
{
    uint32_t d = v->planet_queue[(size_t)p * VR_ECON_QUEUE];
    if (d == VR_ECON_NONE)
        return 0;
    int64_t ca = v->design_alloys[d];
    return min64(ca - v->planet_paid_alloys[p], per_turn(ca, v->design_turns[d]));
}

int vr_econ_build(vr_econ_view *v, vr_ledger *l, vr_econ_built *built, uint32_t cap, uint32_t *nbuilt)
{
    if (nbuilt)
        *nbuilt = 0;
    if (!v || !l || !nbuilt || (cap && !built))
        return -VR_EBADARG;
    if (v->nplanets && (!v->planet_owner || !v->planet_stock || !v->planet_queue ||
                        !v->planet_paid_credits || !v->planet_paid_alloys))
        return -VR_EBADARG;
    if ((v->nfactions && !v->faction_credits) || !designs_ok(v))
        return -VR_EBADARG;
    if (!nonneg(v->faction_credits, v->nfactions))
        return -VR_EBADARG;
    for (uint32_t p = 0; p < v->nplanets; p++)
        if (!queue_ok(v, p) || !owner_ok(v, v->planet_owner[p], 1) ||
            v->planet_stock[(size_t)p * VR_NRES + VR_RES_ALLOYS] < 0)
            return -VR_EBADARG;

    for (uint32_t p = 0; p < v->nplanets; p++) {
        uint32_t *q = v->planet_queue + (size_t)p * VR_ECON_QUEUE;
        uint32_t o = v->planet_owner[p], d = q[0];
        if (d == VR_ECON_NONE || o == 0)
            continue;
        int64_t *pc = v->planet_paid_credits + p, *pa = v->planet_paid_alloys + p;
        int64_t *cr = v->faction_credits + (o - 1);
        int64_t *al = v->planet_stock + (size_t)p * VR_NRES + VR_RES_ALLOYS;
        int64_t cc = v->design_credits[d], ca = v->design_alloys[d];
        uint32_t t = v->design_turns[d];

        int64_t pay = min64(min64(cc - *pc, per_turn(cc, t)), *cr);
        lose(l, VR_CAUSE_CONSTRUCTION, VR_RES_CREDITS, cr, pay);
        *pc += pay;
        pay = min64(alloys_due(v, p), *al);
        lose(l, VR_CAUSE_CONSTRUCTION, VR_RES_ALLOYS, al, pay);
        *pa += pay;

        if (*pc == cc && *pa == ca && *nbuilt < cap) {
            built[*nbuilt] = (vr_econ_built){.planet = p, .design = d, .owner = o};
            (*nbuilt)++;
            memmove(q, q + 1, sizeof *q * (VR_ECON_QUEUE - 1));
            q[VR_ECON_QUEUE - 1] = VR_ECON_NONE;
            *pc = 0;
            *pa = 0;
        }
    }
    return 0;
}

/* ---- mining and hauling ------------------------------------------------- */

static int fleet_cols_ok(const vr_econ_view *v)
{
    return !v->nfleets || (v->fleet_owner && v->fleet_cargo && v->fleet_capacity && v->fleet_flags &&
                           v->fleet_task && v->fleet_target && v->fleet_task_res && v->fleet_mine_rate);
}

/* Validates fleet f's cargo and capacity (what both mine and haul read). */
static int fleet_row_ok(const vr_econ_view *v, uint32_t f)
{
    return owner_ok(v, v->fleet_owner[f], 0) && v->fleet_capacity[f] >= 0 &&
           nonneg(v->fleet_cargo + (size_t)f * VR_NRES, VR_NRES);
}

int vr_econ_mine(vr_econ_view *v, vr_ledger *l)
{
    if (!v || !l || !fleet_cols_ok(v) || (v->nasteroids && !v->asteroid_reserve))
        return -VR_EBADARG;
    for (uint32_t f = 0; f < v->nfleets; f++) {
        if (v->fleet_task[f] != VR_TASK_MINE)
            continue;
        uint32_t a = v->fleet_target[f];
        if (a >= v->nasteroids || v->asteroid_reserve[a] < 0 || v->fleet_mine_rate[f] < 0 || !fleet_row_ok(v, f))
            return -VR_EBADARG;
    }
    for (uint32_t f = 0; f < v->nfleets; f++) {
        if (v->fleet_task[f] != VR_TASK_MINE)
            continue;
        int64_t *reserve = v->asteroid_reserve + v->fleet_target[f];
        int64_t *ore = v->fleet_cargo + (size_t)f * VR_NRES + VR_RES_ORE;
        int64_t q = min64(min64(v->fleet_mine_rate[f], *reserve), fleet_free(v, f));
        shift(l, VR_CAUSE_MINED, VR_RES_ORE, reserve, ore, min64(q, room(*ore)));
    }
    return 0;
}

/* Place (planet or station) of a haul task, or NULL; *owner gets its owner. */
static int64_t *haul_place(const vr_econ_view *v, uint32_t task, uint32_t i, uint32_t *owner)
{
    if (task == VR_TASK_LOAD_PLANET || task == VR_TASK_UNLOAD_PLANET) {
        if (i >= v->nplanets || !v->planet_stock || !v->planet_owner)
            return NULL;
        *owner = v->planet_owner[i];
        return v->planet_stock + (size_t)i * VR_NRES;
    }
    if (i >= v->nstations || !v->station_stock || !v->station_owner)
        return NULL;
    *owner = v->station_owner[i];
    return v->station_stock + (size_t)i * VR_NRES;
}

static int is_haul(uint32_t task)
{
    return task >= VR_TASK_LOAD_PLANET && task <= VR_TASK_UNLOAD_STATION;
}

static int is_load(uint32_t task)
{
    return task == VR_TASK_LOAD_PLANET || task == VR_TASK_LOAD_STATION;
}

int vr_econ_haul(vr_econ_view *v, vr_ledger *l)
{
    if (!v || !l || !fleet_cols_ok(v))
        return -VR_EBADARG;
    for (uint32_t f = 0; f < v->nfleets; f++) {
        uint32_t task = v->fleet_task[f], owner = 0;
        if (!is_haul(task))
            continue;
        int64_t *place = haul_place(v, task, v->fleet_target[f], &owner);
        if (!place || !owner_ok(v, owner, 1) || !fleet_row_ok(v, f) || !nonneg(place, VR_NRES) ||
            (is_load(task) && v->fleet_task_res[f] >= VR_NRES))
            return -VR_EBADARG;
    }
    for (uint32_t f = 0; f < v->nfleets; f++) {
        uint32_t task = v->fleet_task[f], owner = 0;
        if (!is_haul(task))
            continue;
        int64_t *place = haul_place(v, task, v->fleet_target[f], &owner);
        if (owner != v->fleet_owner[f]) {
            v->fleet_flags[f] |= VR_FLEET_REFUSED;
            continue;
        }
        v->fleet_flags[f] &= ~VR_FLEET_REFUSED;
        int64_t *cargo = v->fleet_cargo + (size_t)f * VR_NRES;
        if (is_load(task)) {
            uint32_t r = v->fleet_task_res[f];
            int64_t q = min64(min64(place[r], fleet_free(v, f)), room(cargo[r]));
            shift(l, VR_CAUSE_HAULED, (int)r, place + r, cargo + r, q);
        } else {
            for (int r = 0; r < VR_NRES; r++)
                shift(l, VR_CAUSE_HAULED, r, cargo + r, place + r, min64(cargo[r], room(place[r])));
        }
    }
    return 0;
}

/* ---- markets ------------------------------------------------------------ */

static int market_cols_ok(const vr_econ_view *v)
{
    size_t n = (size_t)v->nmarkets * VR_NRES;
    return !v->nmarkets || (v->market_stock && v->market_credits && v->market_price && v->market_base &&
                            v->market_target && (!v->market_asked || nonneg(v->market_asked, n)) &&
                            (!v->market_offered || nonneg(v->market_offered, n)));
}

int64_t vr_econ_bid(int64_t price, int64_t fee)
{
    if (price < 1 || fee < 0 || fee > 999)
        return price < 1 ? 0 : price;
    /* price * fee / 1000 < price, so the bid is >= 1 */
    return price - (int64_t)((unsigned __int128)price * (uint64_t)fee / 1000u);
}

/* Adds q units to a tally column (demand or supply), saturating. */
static void tally(int64_t *col, size_t g, int64_t q)
{
    if (col && q > 0)
        col[g] = q > room(col[g]) ? INT64_MAX : col[g] + q;
}

int64_t vr_econ_food_need(const vr_econ_view *v, uint32_t p)
{
    if (!v || p >= v->nplanets || !v->planet_pop || v->pop_per_food <= 0)
        return 0;
    int64_t pop = v->planet_pop[p], per = v->pop_per_food;
    return pop / per + (pop % per != 0);
}

int vr_econ_demand(const vr_econ_view *v, uint32_t market, vr_trade_order *orders, uint32_t cap, uint32_t *n)
{
    if (n)
        *n = 0;
    if (!v || !n || (cap && !orders) || market >= v->nmarkets || v->pop_per_food < 0 || !designs_ok(v))
        return -VR_EBADARG;
    if (v->nplanets && (!v->planet_owner || !v->planet_stock || !v->planet_pop || !v->planet_queue ||
                        !v->planet_paid_credits || !v->planet_paid_alloys))
        return -VR_EBADARG;
    for (uint32_t p = 0; p < v->nplanets; p++)
        if (!owner_ok(v, v->planet_owner[p], 1) || !nonneg(v->planet_stock + (size_t)p * VR_NRES, VR_NRES) ||
            !queue_ok(v, p))
            return -VR_EBADARG;

    /* food before alloys: a population is fed before a ship is paid for */
    static const int goods[] = {VR_RES_FOOD, VR_RES_ALLOYS};
    uint32_t k = 0;
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        int r = goods[i];
        for (uint32_t p = 0; p < v->nplanets; p++) {
            if (v->planet_owner[p] == 0)
                continue;
            int64_t want = r == VR_RES_FOOD ? vr_econ_food_need(v, p) : alloys_due(v, p);
            int64_t lack = want - v->planet_stock[(size_t)p * VR_NRES + (size_t)r];
            if (lack <= 0)
                continue;
            if (k == cap)
                return -ENOSPC;
            orders[k++] = (vr_trade_order){.market = market, .kind = VR_HOLD_PLANET, .index = p,
                                           .res = (uint32_t)r, .qty = lack};
        }
    }
    *n = k;
    return 0;
}

/* The place an order trades for: its stock row and owner; NULL when bad. */
static int64_t *order_place(const vr_econ_view *v, const vr_trade_order *o, uint32_t *owner)
{
    if (o->kind == VR_HOLD_PLANET && o->index < v->nplanets && v->planet_stock && v->planet_owner) {
        *owner = v->planet_owner[o->index];
        return v->planet_stock + (size_t)o->index * VR_NRES;
    }
    if (o->kind == VR_HOLD_STATION && o->index < v->nstations && v->station_stock && v->station_owner) {
        *owner = v->station_owner[o->index];
        return v->station_stock + (size_t)o->index * VR_NRES;
    }
    return NULL;
}

int vr_econ_trade(vr_econ_view *v, vr_ledger *l, vr_trade_order *orders, uint32_t n)
{
    if (!v || !l || (n && !orders) || !market_cols_ok(v) || (v->nfactions && !v->faction_credits) ||
        v->market_fee < 0 || v->market_fee > 999)
        return -VR_EBADARG;
    if (!nonneg(v->faction_credits, v->nfactions) || !nonneg(v->market_credits, v->nmarkets))
        return -VR_EBADARG;
    for (uint32_t i = 0; i < n; i++) {
        const vr_trade_order *o = &orders[i];
        uint32_t owner = 0;
        const int64_t *place = order_place(v, o, &owner);
        if (!place || !owner_ok(v, owner, 1) || o->market >= v->nmarkets || o->res >= VR_NRES ||
            o->qty == INT64_MIN || o->limit < 0 || place[o->res] < 0)
            return -VR_EBADARG;
        size_t g = (size_t)o->market * VR_NRES + o->res;
        if (v->market_price[g] < 1 || v->market_stock[g] < 0)
            return -VR_EBADARG;
    }

    for (uint32_t i = 0; i < n; i++) {
        vr_trade_order *o = &orders[i];
        uint32_t owner = 0;
        int64_t *place = order_place(v, o, &owner);
        size_t g = (size_t)o->market * VR_NRES + o->res;
        int64_t price = v->market_price[g];
        int64_t *mstock = v->market_stock + g, *mcred = v->market_credits + o->market;
        int64_t *stock = place + o->res;
        o->filled = 0;
        o->paid = 0;
        o->price = price;
        o->asked = 0;
        if (owner == 0 || o->qty == 0)
            continue;
        int64_t *cred = v->faction_credits + (owner - 1);
        int64_t q;
        if (o->qty > 0) { /* buy: market goods -> place, owner credits -> market */
            if (o->limit && price > o->limit)
                continue;
            /* demand: what the buyer can pay for and store, in stock or not */
            int64_t want = min64(min64(o->qty, room(*stock)), *cred / price);
            o->asked = want;
            tally(v->market_asked, g, want);
            q = min64(want, *mstock);
            q = min64(q, room(*mcred) / price); /* q * price fits the market's treasury */
            shift(l, VR_CAUSE_TRADED, (int)o->res, mstock, stock, q);
            shift(l, VR_CAUSE_TRADED, VR_RES_CREDITS, cred, mcred, q * price);
            o->filled = q;
            o->paid = q * price;
        } else { /* sell: place goods -> market, market credits -> owner */
            int64_t bid = vr_econ_bid(price, v->market_fee);
            o->price = bid;
            if (o->limit && bid < o->limit)
                continue;
            /* supply: what the seller has and the market can store, paid
             * for or not (a market short of credits is a glut) */
            int64_t offer = min64(min64(-o->qty, *stock), room(*mstock));
            o->asked = -offer;
            tally(v->market_offered, g, offer);
            q = min64(offer, min64(*mcred, room(*cred)) / bid);
            shift(l, VR_CAUSE_TRADED, (int)o->res, stock, mstock, q);
            shift(l, VR_CAUSE_TRADED, VR_RES_CREDITS, mcred, cred, q * bid);
            o->filled = -q;
            o->paid = -(q * bid);
        }
    }
    return 0;
}

int vr_econ_eat(vr_econ_view *v, vr_ledger *l)
{
    if (!v || !l || v->pop_per_food < 0)
        return -VR_EBADARG;
    if (v->nplanets && (!v->planet_stock || !v->planet_pop))
        return -VR_EBADARG;
    for (uint32_t p = 0; p < v->nplanets; p++)
        if (v->planet_stock[(size_t)p * VR_NRES + VR_RES_FOOD] < 0)
            return -VR_EBADARG;
    for (uint32_t p = 0; p < v->nplanets; p++) {
        int64_t *food = v->planet_stock + (size_t)p * VR_NRES + VR_RES_FOOD;
        lose(l, VR_CAUSE_CONSUMED, VR_RES_FOOD, food, min64(vr_econ_food_need(v, p), *food));
    }
    return 0;
}

/* A price closes 1/PRICE_STEPS of the gap to where stock, demand and
 * supply put it each turn: prices with inertia, so that sellers who answer a
 * high price with a flood do not make it swing from one bound to the other
 * every turn (a cobweb). */
#define PRICE_STEPS 4

int vr_econ_update_prices(vr_econ_view *v)
{
    if (!v || !market_cols_ok(v))
        return -VR_EBADARG;
    size_t n = (size_t)v->nmarkets * VR_NRES;
    for (size_t g = 0; g < n; g++)
        if (v->market_base[g] < 1 || v->market_base[g] > INT64_MAX / 4 || v->market_target[g] < 0 ||
            v->market_stock[g] < 0)
            return -VR_EBADARG;
    typedef unsigned __int128 u128;
    for (size_t g = 0; g < n; g++) {
        int64_t base = v->market_base[g];
        u128 asked = v->market_asked ? (u128)v->market_asked[g] : 0;
        u128 offered = v->market_offered ? (u128)v->market_offered[g] : 0;
        /* base * (target + asked) / (stock + offered) in 128 bits: base <
         * 2^61 and target + asked < 2^64, so the product fits, and the
         * clamped result is small even when the product is not. */
        u128 den = (u128)v->market_stock[g] + offered;
        u128 raw = (u128)base * ((u128)v->market_target[g] + asked) / (den ? den : 1);
        int64_t lo = base / 4 > 1 ? base / 4 : 1, hi = base * 4; /* hi <= INT64_MAX - 3 */
        int64_t want = raw > (u128)hi ? hi : raw < (u128)lo ? lo : (int64_t)raw;
        int64_t old = v->market_price[g] < lo ? lo : v->market_price[g] > hi ? hi : v->market_price[g];
        /* a quarter of the way, rounded away from zero so that every
         * difference closes; |d| <= hi - lo, so d + 3 cannot overflow */
        int64_t d = want - old;
        v->market_price[g] = old + (d >= 0 ? (d + PRICE_STEPS - 1) / PRICE_STEPS
                                           : -((-d + PRICE_STEPS - 1) / PRICE_STEPS));
    }
    if (v->market_asked)
        memset(v->market_asked, 0, n * sizeof *v->market_asked);
    if (v->market_offered)
        memset(v->market_offered, 0, n * sizeof *v->market_offered);
    return 0;
}

/* ---- generic operations ------------------------------------------------- */

int vr_econ_move(vr_econ_view *v, vr_ledger *l, int from_kind, uint32_t from, int to_kind, uint32_t to,
                 int res, int64_t qty, int cause)
{
    if (!v || !l || qty < 0 || cause < 0 || cause >= VR_NCAUSES || causes[cause].sign != 0)
        return -VR_EBADARG;
    int64_t *a = slot_of(v, from_kind, from, res), *b = slot_of(v, to_kind, to, res);
    if (!a || !b || *a < 0 || *b < 0)
        return -VR_EBADARG;
    if (a == b)
        return *a >= qty ? 0 : -ERANGE;
    if (*a < qty)
        return -ERANGE;
    if (qty > room(*b))
        return -ENOSPC;
    if (to_kind == VR_HOLD_FLEET) {
        if (v->fleet_capacity[to] < 0 || !nonneg(v->fleet_cargo + (size_t)to * VR_NRES, VR_NRES))
            return -VR_EBADARG;
        if (qty > fleet_free(v, to))
            return -ENOSPC;
    }
    shift(l, cause, res, a, b, qty);
    return 0;
}

int vr_econ_destroy(vr_econ_view *v, vr_ledger *l, int kind, uint32_t index, int res, int64_t qty)
{
    if (!v || !l || qty < 0)
        return -VR_EBADARG;
    int64_t *a = slot_of(v, kind, index, res);
    if (!a || *a < 0)
        return -VR_EBADARG;
    if (*a < qty)
        return -ERANGE;
    lose(l, VR_CAUSE_DESTROYED, res, a, qty);
    return 0;
}

int vr_econ_destroy_cargo(vr_econ_view *v, vr_ledger *l, uint32_t fleet)
{
    if (!v || !l || fleet >= v->nfleets || !v->fleet_cargo)
        return -VR_EBADARG;
    int64_t *cargo = v->fleet_cargo + (size_t)fleet * VR_NRES;
    if (!nonneg(cargo, VR_NRES))
        return -VR_EBADARG;
    for (int r = 0; r < VR_NRES; r++)
        lose(l, VR_CAUSE_DESTROYED, r, cargo + r, cargo[r]);
    return 0;
}
