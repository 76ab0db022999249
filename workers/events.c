/* events.c: packs a committed turn's battles, decisions and audit findings
 * as event payloads (events.h, schemas/events.def).
 *
 * It reads only the published buffer, through the reader protocol, so what
 * it publishes is exactly what Python readers see for that turn.  Rows are
 * packed in row order, which is the order the systems wrote them (battles by
 * system, decisions factions first then fleets, findings as found); only
 * live rows of that turn are taken (findings is a ring holding older turns).
 * Transfers are the rows of the transit table (the fleets that left through
 * a portal in that turn).
 * One payload per kind and turn: batching costs one ZeroMQ message per kind
 * instead of one per record (README, "Events", has the measurement).
 */
#include "events.h"

#include "audit.h"

#include <string.h>

void vr_events_init(vr_events *e)
{
    memset(e, 0, sizeof *e);
    msgpack_sbuffer_init(&e->sb);
}

void vr_events_fini(vr_events *e)
{
    msgpack_sbuffer_destroy(&e->sb);
    memset(e, 0, sizeof *e);
}

typedef struct cols { /* one table of the view */
    const vr_arena *a;
    const vr_view *v;
    uint32_t rows;
    const uint32_t *gen;
} cols;

static const void *col(const cols *t, uint32_t column)
{
    uint32_t rows;
    return vr_view_column(t->a, t->v, column, &rows);
}

static void table(cols *t, const vr_arena *a, const vr_view *v, uint32_t tab)
{
    t->a = a, t->v = v;
    t->gen = vr_view_column(a, v, VR_COL_GEN(tab), &t->rows);
}

static void pack_pair_u32(msgpack_packer *pk, const uint32_t *x)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint32(pk, x[0]);
    msgpack_pack_uint32(pk, x[1]);
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static int pack_battles(msgpack_packer *pk, const vr_arena *a, const vr_view *v, uint32_t universe, uint64_t seq)
{
    cols t;
    table(&t, a, v, VR_TAB_battles);
    const uint64_t *turn = col(&t, VR_COL_battles_turn);
    const uint32_t *sys = col(&t, VR_COL_battles_system), *ships = col(&t, VR_COL_battles_ships),
                   *dead = col(&t, VR_COL_battles_destroyed), *routed = col(&t, VR_COL_battles_routed);
    const uint16_t *fac = col(&t, VR_COL_battles_faction), *rounds = col(&t, VR_COL_battles_rounds);
    const int8_t *winner = col(&t, VR_COL_battles_winner);
    const uint8_t *end = col(&t, VR_COL_battles_end);
    uint32_t n = 0;
    for (uint32_t r = 0; r < t.rows; r++)
        n += (t.gen[r] & 1) && turn[r] == v->turn;
    if (!n)
        return 0;
    vr_event_head(pk, VR_EV_battle, universe, v->turn, seq, n);
    for (uint32_t r = 0; r < t.rows; r++) {
        if (!(t.gen[r] & 1) || turn[r] != v->turn)
            continue;
        msgpack_pack_array(pk, 8);
        msgpack_pack_uint32(pk, sys[r]);
        msgpack_pack_array(pk, 2);
        msgpack_pack_uint16(pk, fac[2 * r]);
        msgpack_pack_uint16(pk, fac[2 * r + 1]);
        pack_pair_u32(pk, ships + 2 * r);
        pack_pair_u32(pk, dead + 2 * r);
        pack_pair_u32(pk, routed + 2 * r);
        msgpack_pack_uint16(pk, rounds[r]);
        msgpack_pack_int8(pk, winner[r]);
        msgpack_pack_uint8(pk, end[r]);
    }
    return 1;
}

static int pack_decisions(msgpack_packer *pk, const vr_arena *a, const vr_view *v, uint32_t universe,
                          uint64_t seq)
{
    cols t;
    table(&t, a, v, VR_TAB_decisions);
    const uint64_t *turn = col(&t, VR_COL_decisions_turn), *entity = col(&t, VR_COL_decisions_entity);
    const uint8_t *kind = col(&t, VR_COL_decisions_kind), *choice = col(&t, VR_COL_decisions_choice),
                  *prev = col(&t, VR_COL_decisions_prev);
    const float *score = col(&t, VR_COL_decisions_score);
    const uint32_t *dest = col(&t, VR_COL_decisions_dest);
    uint32_t lanes = vr_columns[VR_COL_decisions_score].lanes;
    uint32_t n = 0;
    for (uint32_t r = 0; r < t.rows; r++)
        n += (t.gen[r] & 1) && turn[r] == v->turn;
    if (!n)
        return 0;
    vr_event_head(pk, VR_EV_decision, universe, v->turn, seq, n);
    for (uint32_t r = 0; r < t.rows; r++) {
        if (!(t.gen[r] & 1) || turn[r] != v->turn)
            continue;
        msgpack_pack_array(pk, 6);
        msgpack_pack_uint64(pk, entity[r]);
        msgpack_pack_uint8(pk, kind[r]);
        msgpack_pack_array(pk, lanes);
        for (uint32_t k = 0; k < lanes; k++)
            msgpack_pack_float(pk, score[(size_t)r * lanes + k]);
        msgpack_pack_uint8(pk, choice[r]);
        msgpack_pack_uint8(pk, prev[r]);
        msgpack_pack_uint32(pk, dest[r]);
    }
    return 1;
}

static int pack_findings(msgpack_packer *pk, const vr_arena *a, const vr_view *v, uint32_t universe,
                         uint64_t seq)
{
    cols t;
    table(&t, a, v, VR_TAB_findings);
    const uint64_t *turn = col(&t, VR_COL_findings_turn), *entity = col(&t, VR_COL_findings_entity);
    const double *value = col(&t, VR_COL_findings_value);
    const uint16_t *rule = col(&t, VR_COL_findings_rule);
    const uint8_t *tab = col(&t, VR_COL_findings_table), *level = col(&t, VR_COL_findings_level);
    uint32_t n = 0;
    for (uint32_t r = 0; r < t.rows; r++)
        n += (t.gen[r] & 1) && turn[r] == v->turn;
    if (!n)
        return 0;
    vr_event_head(pk, VR_EV_audit, universe, v->turn, seq, n);
    for (uint32_t r = 0; r < t.rows; r++) {
        if (!(t.gen[r] & 1) || turn[r] != v->turn)
            continue;
        msgpack_pack_array(pk, 5);
        pack_str(pk, vr_audit_rule_name(rule[r]));
        pack_str(pk, tab[r] < VR_NTABLES ? vr_tables[tab[r]].name : "?");
        msgpack_pack_uint64(pk, entity[r]);
        msgpack_pack_double(pk, value[r]);
        msgpack_pack_uint8(pk, level[r]);
    }
    return 1;
}

/* transit: the outbox of the turn (every row is this turn's) */
static int pack_transfers(msgpack_packer *pk, const vr_arena *a, const vr_view *v, uint32_t universe,
                          uint64_t seq)
{
    cols t;
    table(&t, a, v, VR_TAB_transit);
    const uint64_t *fleet = col(&t, VR_COL_transit_fleet);
    const uint32_t *to = col(&t, VR_COL_transit_to), *ships = col(&t, VR_COL_transit_ships),
                   *link = col(&t, VR_COL_transit_link);
    const uint16_t *fac = col(&t, VR_COL_transit_faction);
    const int64_t *cargo = col(&t, VR_COL_transit_cargo);
    uint32_t n = 0;
    for (uint32_t r = 0; r < t.rows; r++)
        n += t.gen[r] & 1;
    if (!n)
        return 0;
    vr_event_head(pk, VR_EV_transfer, universe, v->turn, seq, n);
    for (uint32_t r = 0; r < t.rows; r++) {
        if (!(t.gen[r] & 1))
            continue;
        msgpack_pack_array(pk, 6);
        msgpack_pack_uint64(pk, fleet[r]);
        msgpack_pack_uint32(pk, to[r]);
        msgpack_pack_uint32(pk, ships[r]);
        msgpack_pack_uint32(pk, link[r]);
        msgpack_pack_uint16(pk, fac[r]);
        msgpack_pack_array(pk, 4);
        for (int k = 0; k < 4; k++)
            msgpack_pack_int64(pk, cargo[(size_t)r * 4 + (size_t)k]);
    }
    return 1;
}

int vr_events_turn(vr_events *e, const vr_arena *a, uint32_t universe, vr_events_sink sink, void *ud)
{
    vr_view v;
    int rc = vr_arena_read_begin(a, &v);
    if (rc)
        return rc;
    if (e->any && v.turn <= e->last_turn)
        return 0;
    typedef int (*packer)(msgpack_packer *, const vr_arena *, const vr_view *, uint32_t, uint64_t);
    static const struct { int kind; packer fn; } order[] = {
        {VR_EV_battle, pack_battles}, {VR_EV_decision, pack_decisions}, {VR_EV_audit, pack_findings},
        {VR_EV_transfer, pack_transfers}};
    /* at most once: a turn is marked before its first payload goes out */
    e->any = true;
    e->last_turn = v.turn;
    int sent = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        msgpack_sbuffer_clear(&e->sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &e->sb, msgpack_sbuffer_write);
        if (!order[i].fn(&pk, a, &v, universe, e->seq[order[i].kind]))
            continue;
        /* a reader's check: the writer never overwrites its own published
         * buffer, so this fails only if someone else writes the arena */
        if ((rc = vr_arena_read_end(a, &v)))
            return rc;
        if ((rc = sink(ud, order[i].kind, e->sb.data, e->sb.size)))
            return rc;
        e->seq[order[i].kind]++;
        sent++;
    }
    return sent;
}
