/* orders.c: user commands (order, spawn, policy) applied at the start of a turn.
 *
 * The coordinator accepts commands from clients, checks them against the
 * last committed turn and sends each universe's commands with its next TURN,
 * in the order it accepted them.  This file applies them to the work buffer
 * before any system of the turn runs (turn.c), one after the other, and
 * records each in the "commands" table (this turn's records), so the state
 * hash of the turn covers the commands it applied and a replay that feeds
 * the same commands at the same turns reproduces every hash.
 *
 * Every command is checked again here: between the coordinator's check and
 * this turn a fleet may have been destroyed or disbanded, or the arena may
 * have filled.  A command that fails changes nothing but its result (code
 * and sentence) and its row in "commands".
 *
 * Orders.  fleets.order holds the order in force, fleets.hold_until the last
 * turn the AI (decisions.c) leaves the fleet alone:
 *   move    destination = the star of system `to`; the AI does not touch the
 *           fleet until it arrives (hold_until = VR_HOLD_UNTIL_ARRIVAL), then
 *           holds it VR_ORDER_HOLD_TURNS more turns.
 *   attack  the same, to system `to`; the fleet fights there as combat does
 *           (against factions its faction is at war with).
 *   retreat the same, to its faction's home (the first system it owns; a
 *           faction with no system holds where it is).
 *   hold    the fleet stops where it can stand: where it stands, or the
 *           system it is flying to when it is between systems; the AI
 *           leaves it alone for VR_ORDER_HOLD_TURNS turns.
 * A fleet walking inside a system when ordered away starts again from the
 * node it left.  Combat still overrides orders: a fleet that loses a battle
 * or routs falls back along a lane (battles.c) and holds where it lands.
 *
 * Spawn creates a fleet of `ships` ships of one design for one faction at
 * the star of a system (vr__spawn_ships): a god-mode command, the ships cost
 * nothing and carry no cargo, so no resource moves and the ledger is
 * untouched; from then on they pay upkeep like every ship.  The new fleet
 * has no order: the AI decides for it this very turn.
 *
 * Policy sets a faction's stance and/or budget split and flags them in
 * factions.policy, so the faction AI (decisions.c) keeps the user's values
 * instead of deriving them from its posture; "auto" clears the flag.
 */
#include "sim_internal.h"
#include "portal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failed(vr_wresult *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failed(vr_wresult *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof r->text, fmt, ap);
    va_end(ap);
    r->code = code;
    r->entity = 0;
    return code;
}

/* The faction's home: its first owned system (as decisions.c sees it). */
static uint32_t home_of(const vr_cols *c, uint32_t faction)
{
    for (uint32_t s = 0; s < c->tables[VR_TAB_systems].count; s++)
        if (c->systems_owner[s] == faction)
            return s;
    return VR_NO_SYSTEM;
}

/* Sends fleet f to the star of system to, as an order the AI respects. */
static void send_to(vr_cols *c, uint32_t f, uint32_t to, uint8_t op)
{
    if (c->fleets_leg[f] < 0.0f) { /* a walk inside its system: start over from where it stands */
        c->fleets_leg[f] = 0.0f;
        c->fleets_progress[f] = 0.0f;
    }
    c->fleets_dest[f] = to;
    c->fleets_dest_node[f] = c->systems_node_begin[to];
    c->fleets_route_dest[f] = UINT32_MAX; /* plan a new route */
    c->fleets_order[f] = op;
    c->fleets_hold_until[f] = VR_HOLD_UNTIL_ARRIVAL;
    c->fleets_portal[f] = 0; /* a new order replaces a way through a portal */
}

static int apply_order(vr_sim *sim, vr_cols *c, uint64_t turn, const vr_wcmd *w, vr_wresult *r)
{
    int64_t row = vr_ent_row(c, VR_TAB_fleets, w->fleet);
    uint32_t nsys = c->tables[VR_TAB_systems].count;
    if (row < 0)
        return failed(r, -VR_EBADID, "fleet %llu (0x%llx) is dead at turn %llu (destroyed or disbanded since)",
                      (unsigned long long)w->fleet, (unsigned long long)w->fleet, (unsigned long long)turn);
    uint32_t f = (uint32_t)row;
    switch (w->op) {
    case VR_OP_MOVE:
    case VR_OP_ATTACK:
        if (w->to_universe && w->to_universe - 1 != sim->sc.universe) { /* through a portal (portal.c) */
            int rc = vr__portal_route(sim, c, f, w->to_universe - 1, w->system);
            if (rc == -VR_ENOTFOUND)
                return failed(r, rc, "no portal of universe %u leads to universe %u", sim->sc.universe,
                              w->to_universe - 1);
            if (rc)
                return failed(r, rc, "no route to a portal: %s", vr_strerror(rc));
            c->fleets_order[f] = (uint8_t)w->op;
            c->fleets_hold_until[f] = VR_HOLD_UNTIL_ARRIVAL;
            break;
        }
        if (w->system >= nsys)
            return failed(r, -VR_EBADARG, "target system %u is out of range (0 to %u)", w->system, nsys - 1);
        send_to(c, f, w->system, (uint8_t)w->op);
        break;
    case VR_OP_RETREAT: {
        uint32_t home = home_of(c, c->fleets_faction[f]);
        if (home != VR_NO_SYSTEM) {
            send_to(c, f, home, VR_OP_RETREAT);
            break;
        }
        /* no home to go to: hold */
    }
        /* fall through */
    case VR_OP_HOLD: {
        uint8_t op = (uint8_t)w->op;
        if (c->fleets_next[f] != c->fleets_at[f]) { /* between systems: stop at the next one */
            send_to(c, f, c->fleets_next[f], op);
        } else { /* standing, or walking inside its system: stay in it */
            if (c->fleets_leg[f] < 0.0f) {
                c->fleets_leg[f] = 0.0f;
                c->fleets_progress[f] = 0.0f;
            }
            c->fleets_dest[f] = c->fleets_at[f];
            c->fleets_dest_node[f] = c->fleets_node[f];
            c->fleets_route_dest[f] = UINT32_MAX;
            c->fleets_order[f] = op;
        }
        c->fleets_hold_until[f] = turn + VR_ORDER_HOLD_TURNS;
        c->fleets_portal[f] = 0;
        break;
    }
    default:
        return failed(r, -VR_EBADARG, "bad order kind %u", w->op);
    }
    r->entity = w->fleet;
    return 0;
}

static int apply_spawn(vr_sim *sim, vr_cols *c, const vr_wcmd *w, vr_wresult *r)
{
    uint32_t nsys = c->tables[VR_TAB_systems].count, nfac = c->tables[VR_TAB_factions].count;
    if (w->faction < 1 || w->faction > nfac)
        return failed(r, -VR_EBADARG, "unknown faction %u (1 to %u)", w->faction, nfac);
    if (w->design >= sim->ndesigns || w->design >= c->tables[VR_TAB_designs].count)
        return failed(r, -VR_EBADARG, "unknown design %u (0 to %u)", w->design, sim->ndesigns - 1);
    if (w->system >= nsys)
        return failed(r, -VR_EBADARG, "system %u is out of range (0 to %u)", w->system, nsys - 1);
    if (w->ships < 1 || w->ships > VR_SPAWN_MAX_SHIPS)
        return failed(r, -VR_EBADARG, "ships must be from 1 to %d, not %u", VR_SPAWN_MAX_SHIPS, w->ships);
    uint64_t id;
    int rc = vr__spawn_ships(sim, c, (uint16_t)w->faction, w->design, w->system, w->ships, &id);
    if (rc == -VR_EFULL)
        return failed(r, rc, "the arena has no room for a fleet of %u ships (fleets or ships table full)",
                      w->ships);
    if (rc)
        return failed(r, rc, "spawn failed: %s", vr_strerror(rc));
    r->entity = id;
    return 0;
}

static int apply_policy(vr_cols *c, const vr_wcmd *w, vr_wresult *r)
{
    uint32_t nfac = c->tables[VR_TAB_factions].count;
    if (w->faction < 1 || w->faction > nfac)
        return failed(r, -VR_EBADARG, "unknown faction %u (1 to %u)", w->faction, nfac);
    if (w->stance != VR_STANCE_KEEP && w->stance > VR_STANCE_AUTO)
        return failed(r, -VR_EBADARG, "bad stance %u", w->stance);
    if (w->budget_mode > VR_BUDGET_AUTO)
        return failed(r, -VR_EBADARG, "bad budget mode %u", w->budget_mode);
    float sum = w->budget[0] + w->budget[1] + w->budget[2];
    if (w->budget_mode == VR_BUDGET_SET &&
        (!(w->budget[0] >= 0 && w->budget[1] >= 0 && w->budget[2] >= 0) || !(sum > 0.5f && sum < 1.5f)))
        return failed(r, -VR_EBADARG, "bad budget: the split must be three numbers >= 0 summing to 1");
    uint32_t g = w->faction - 1;
    if (w->stance == VR_STANCE_AUTO) {
        c->factions_policy[g] &= (uint8_t)~1u;
    } else if (w->stance != VR_STANCE_KEEP) {
        c->factions_stance[g] = w->stance;
        c->factions_policy[g] |= 1u;
    }
    if (w->budget_mode == VR_BUDGET_AUTO) {
        c->factions_policy[g] &= (uint8_t)~2u;
    } else if (w->budget_mode == VR_BUDGET_SET) {
        memcpy(c->factions_budget + (size_t)g * 3, w->budget, sizeof w->budget);
        c->factions_policy[g] |= 2u;
    }
    r->entity = vr_ent_id(c, VR_TAB_factions, g);
    return 0;
}

int vr_sim_commands(vr_sim *sim, vr_cols *c, uint64_t turn, const vr_wcmd *cmds, uint32_t n, vr_wresult *res)
{
    if (n > VR_TURN_MAX_CMDS || n > c->capacity[VR_TAB_commands])
        return -VR_EBADARG;
    vr_tabstate *t = &c->tables[VR_TAB_commands];
    memset(t, 0, sizeof *t); /* the table holds this turn's records */
    for (uint32_t i = 0; i < n; i++) {
        const vr_wcmd *w = &cmds[i];
        vr_wresult *r = &res[i];
        memset(r, 0, sizeof *r);
        r->ticket = w->ticket;
        switch (w->op) {
        case VR_OP_MOVE:
        case VR_OP_ATTACK:
        case VR_OP_HOLD:
        case VR_OP_RETREAT: apply_order(sim, c, turn, w, r); break;
        case VR_OP_SPAWN: apply_spawn(sim, c, w, r); break;
        case VR_OP_POLICY: apply_policy(c, w, r); break;
        default: failed(r, -VR_EBADARG, "unknown command op %u", w->op); break;
        }
        uint64_t id;
        int rc = vr_ent_alloc(c, VR_TAB_commands, &id);
        if (rc)
            return rc; /* never: capacity checked above */
        uint32_t k = (uint32_t)id;
        c->commands_ticket[k] = w->ticket;
        c->commands_op[k] = (uint8_t)w->op;
        c->commands_entity[k] = r->entity;
        c->commands_system[k] = w->system;
        c->commands_code[k] = r->code;
    }
    return 0;
}
