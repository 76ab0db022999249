/* test_events.c: Check suite for workers/events.c (a committed turn's
 * events as msgpack payloads).
 *
 * A generated universe with one battle arranged by hand is run through the
 * combat system and published; the payloads handed to the sink are decoded
 * and compared with the battles, decisions and findings tables.  A turn is
 * published once: asking again for the same turn sends nothing.
 */
#include "audit.h"
#include "events.h"
#include "sim_internal.h"
#include "vr_test_world.h"

#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

typedef struct got {
    int n;
    int kind[8];
    char *bytes[8]; /* decoded strings point into the payload: keep a copy */
    msgpack_unpacked msg[8];
} got;

static int sink(void *ud, int kind, const void *payload, size_t len)
{
    got *g = ud;
    ck_assert_int_lt(g->n, 8);
    g->kind[g->n] = kind;
    g->bytes[g->n] = malloc(len);
    memcpy(g->bytes[g->n], payload, len);
    msgpack_unpacked_init(&g->msg[g->n]);
    ck_assert_int_eq(msgpack_unpack_next(&g->msg[g->n], g->bytes[g->n], len, NULL), MSGPACK_UNPACK_SUCCESS);
    g->n++;
    return 0;
}

static void got_fini(got *g)
{
    for (int i = 0; i < g->n; i++) {
        msgpack_unpacked_destroy(&g->msg[i]);
        free(g->bytes[i]);
    }
    g->n = 0;
}

/* The value of key in map o (NULL when absent). */
static const msgpack_object *get(const msgpack_object *o, const char *key)
{
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static uint64_t u64(const msgpack_object *o)
{
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    return o->via.u64;
}

static int64_t i64(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t)o->via.u64;
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    return o->via.i64;
}

static int str_is(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* Checks the head of a payload; returns its rows. */
static const msgpack_object *head(const msgpack_object *m, int kind, uint64_t turn, uint64_t seq)
{
    const vr_event_def *d = &vr_event_defs[kind];
    ck_assert_uint_eq(u64(get(m, "v")), VR_EVENTS_VERSION);
    ck_assert(str_is(get(m, "kind"), d->name));
    ck_assert_uint_eq(u64(get(m, "universe")), 0);
    ck_assert_uint_eq(u64(get(m, "turn")), turn);
    ck_assert_uint_eq(u64(get(m, "seq")), seq);
    const msgpack_object *f = get(m, "fields");
    ck_assert_int_eq(f->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(f->via.array.size, d->nfields);
    for (uint32_t i = 0; i < d->nfields; i++)
        ck_assert(str_is(&f->via.array.ptr[i], d->fields[i]));
    const msgpack_object *rows = get(m, "rows");
    ck_assert_int_eq(rows->type, MSGPACK_OBJECT_ARRAY);
    for (uint32_t r = 0; r < rows->via.array.size; r++) {
        ck_assert_int_eq(rows->via.array.ptr[r].type, MSGPACK_OBJECT_ARRAY);
        ck_assert_uint_eq(rows->via.array.ptr[r].via.array.size, d->nfields);
    }
    return rows;
}

/* A universe whose turn `turn` has one battle (factions 1 and 2 at war,
 * meeting at system 5), a decision and a finding, published. */
static void make_turn(const char *tag, vr_arena **a, vr_sim **sim, char *seg, size_t seglen, uint64_t turn)
{
    vr_scenario s = {.seed = 4, .universe = 0, .systems = 60, .fleets = 40, .factions = 3};
    vr_cols c;
    vt_world_make(tag, &s, seg, seglen, a, &c, sim);
    ck_assert_int_eq(vr_arena_publish(*a, turn - 1, 0), 0);
    ck_assert_int_eq(vr_arena_begin(*a, &c), 0);
    for (uint32_t x = 0; x < 3; x++)
        for (uint32_t y = 0; y < 3; y++)
            c.relations_state[x * 3 + y] = x == y ? 3 : (x + y == 1 ? 1 : 0);
    uint32_t fa = UINT32_MAX, fb = UINT32_MAX;
    for (uint32_t f = 0; f < c.tables[VR_TAB_fleets].count; f++) {
        if (c.fleets_faction[f] == 1 && fa == UINT32_MAX)
            fa = f, vt_place(&c, f, 5, 5, 5, 0.0f);
        else if (c.fleets_faction[f] == 2 && fb == UINT32_MAX)
            fb = f, vt_place(&c, f, 5, 5, 5, 0.0f);
        else {
            uint32_t to = c.lanes_to[c.systems_lane_begin[7]];
            vt_place(&c, f, 7, to, to, 0.5f);
        }
    }
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(*sim, &c, turn, &st), 0);
    ck_assert_uint_eq(st.m[VR_M_battles], 1);
    /* one decision row and one finding of this turn, one of an older turn */
    memset(&c.tables[VR_TAB_decisions], 0, sizeof c.tables[VR_TAB_decisions]);
    uint64_t id;
    ck_assert_int_eq(vr_ent_alloc(&c, VR_TAB_decisions, &id), 0);
    uint32_t r = (uint32_t)id;
    c.decisions_turn[r] = turn, c.decisions_entity[r] = 77, c.decisions_kind[r] = 1;
    for (int k = 0; k < 6; k++)
        c.decisions_score[r * 6 + k] = 0.5f * (float)k;
    c.decisions_choice[r] = 5, c.decisions_prev[r] = 255, c.decisions_dest[r] = 9;
    vr_audit_params ap = {.turn = turn - 1, .factions = 3};
    vr_audit_report(&ap, &c, VR_AUDIT_SHIP_HULL, VR_TAB_ships, 3, -1.0);
    ap.turn = turn;
    vr_audit_report(&ap, &c, VR_AUDIT_FLEET_SPEED, VR_TAB_fleets, 2, 0.0);
    ck_assert_int_eq(vr_arena_publish(*a, turn, vr_arena_hash(*a)), 0);
}

START_TEST(test_turn_events_match_tables)
{
    vr_arena *a;
    vr_sim *sim;
    char seg[VR_SEGNAME_MAX];
    make_turn("ev", &a, &sim, seg, sizeof seg, 12);
    vr_view v;
    ck_assert_int_eq(vr_arena_read_begin(a, &v), 0);
    uint32_t rows;
    const uint32_t *bsys = vr_view_column(a, &v, VR_COL_battles_system, &rows);
    ck_assert_uint_eq(rows, 1);
    const uint32_t *bships = vr_view_column(a, &v, VR_COL_battles_ships, &rows);
    const uint32_t *bdead = vr_view_column(a, &v, VR_COL_battles_destroyed, &rows);
    const int8_t *bwin = vr_view_column(a, &v, VR_COL_battles_winner, &rows);

    vr_events ev;
    vr_events_init(&ev);
    got g = {0};
    ck_assert_int_eq(vr_events_turn(&ev, a, 0, sink, &g), 3);
    ck_assert_int_eq(g.n, 3);
    ck_assert_int_eq(g.kind[0], VR_EV_battle);
    ck_assert_int_eq(g.kind[1], VR_EV_decision);
    ck_assert_int_eq(g.kind[2], VR_EV_audit);

    const msgpack_object *b = head(&g.msg[0].data, VR_EV_battle, 12, 0);
    ck_assert_uint_eq(b->via.array.size, 1);
    const msgpack_object *row = b->via.array.ptr[0].via.array.ptr;
    ck_assert_uint_eq(u64(&row[0]), bsys[0]);
    ck_assert_uint_eq(bsys[0], 5);
    ck_assert_uint_eq(u64(&row[1].via.array.ptr[0]), 1);
    ck_assert_uint_eq(u64(&row[1].via.array.ptr[1]), 2);
    ck_assert_uint_eq(u64(&row[2].via.array.ptr[0]), bships[0]);
    ck_assert_uint_eq(u64(&row[2].via.array.ptr[1]), bships[1]);
    ck_assert_uint_eq(u64(&row[3].via.array.ptr[0]), bdead[0]);
    ck_assert_uint_eq(u64(&row[3].via.array.ptr[1]), bdead[1]);
    ck_assert_int_eq(i64(&row[6]), bwin[0]);

    const msgpack_object *d = head(&g.msg[1].data, VR_EV_decision, 12, 0);
    ck_assert_uint_eq(d->via.array.size, 1);
    row = d->via.array.ptr[0].via.array.ptr;
    ck_assert_uint_eq(u64(&row[0]), 77);
    ck_assert_uint_eq(u64(&row[1]), 1);
    ck_assert_uint_eq(row[2].via.array.size, 6);
    for (int k = 0; k < 6; k++)
        ck_assert_double_eq(row[2].via.array.ptr[k].via.f64, 0.5 * k);
    ck_assert_uint_eq(u64(&row[3]), 5);
    ck_assert_uint_eq(u64(&row[4]), 255);
    ck_assert_uint_eq(u64(&row[5]), 9);

    /* only the finding of this turn, not the older one in the ring */
    const msgpack_object *f = head(&g.msg[2].data, VR_EV_audit, 12, 0);
    ck_assert_uint_eq(f->via.array.size, 1);
    row = f->via.array.ptr[0].via.array.ptr;
    ck_assert(str_is(&row[0], "FLEET_SPEED"));
    ck_assert(str_is(&row[1], "fleets"));
    ck_assert_uint_eq(u64(&row[4]), 1);
    got_fini(&g);

    /* the same turn again (a replay, a second COMMIT): nothing is sent */
    ck_assert_int_eq(vr_events_turn(&ev, a, 0, sink, &g), 0);
    ck_assert_int_eq(g.n, 0);

    /* the next turn, with no battle, no decision, no finding: nothing; the
     * table of battles is empty again */
    vr_cols c;
    ck_assert_int_eq(vr_arena_begin(a, &c), 0);
    for (uint32_t x = 0; x < 9; x++)
        c.relations_state[x] = x % 4 == 0 ? 3 : 0;
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__battles(sim, &c, 13, &st), 0);
    ck_assert_uint_eq(c.tables[VR_TAB_battles].live, 0);
    ck_assert_int_eq(vr_arena_publish(a, 13, vr_arena_hash(a)), 0);
    /* rows copied from turn 12 (the decision, the findings) are not this turn's */
    ck_assert_int_eq(vr_events_turn(&ev, a, 0, sink, &g), 0);
    ck_assert_int_eq(g.n, 0);
    vr_events_fini(&ev);
    vt_world_drop(seg, &a, &sim);
}
END_TEST

START_TEST(test_nothing_published_yet)
{
    vr_scenario s = {.seed = 4, .universe = 0, .systems = 20, .fleets = 10, .factions = 2};
    vr_arena *a;
    vr_sim *sim;
    vr_cols c;
    char seg[VR_SEGNAME_MAX];
    vt_world_make("ev0", &s, seg, sizeof seg, &a, &c, &sim);
    vr_events ev;
    vr_events_init(&ev);
    got g = {0};
    ck_assert_int_eq(vr_events_turn(&ev, a, 0, sink, &g), -VR_ENOTYET);
    ck_assert_int_eq(g.n, 0);
    vr_events_fini(&ev);
    vt_world_drop(seg, &a, &sim);
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("events");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_turn_events_match_tables);
    tcase_add_test(tc, test_nothing_published_yet);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
