/* test_ai.c: Check suite for workers/ai.c (fleet and faction decisions, log).
 *
 * The rules of ai.h are checked from the outside: hand-made situations where
 * one option is obviously right, monotonicity of the documented scoring rules
 * over many random situations, the lowest-index tie-break, exact log
 * contents, ring wrap-around, byte-for-byte determinism independent of
 * chunking, and refusal of bad input without a crash.
 */
#include "ai.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixtures ---------------------------------------------------------- */

/* Columns of up to MAXN fleets, owned by the test. */
#define MAXN 4096
typedef struct fleets {
    uint64_t id[MAXN];
    uint16_t faction[MAXN];
    uint8_t prev[MAXN];
    float own[MAXN], enemy[MAXN], friendly[MAXN];
    float enemy_dist[MAXN], expand_dist[MAXN], asteroid_dist[MAXN];
    float cargo[MAXN], threat[MAXN], health[MAXN], morale[MAXN];
} fleets;

static vr_ai_obs view(fleets *f, int with_prev)
{
    vr_ai_obs o = {
        .id = f->id, .faction = f->faction, .prev_choice = with_prev ? f->prev : NULL,
        .own_strength = f->own, .enemy_strength = f->enemy, .friendly_strength = f->friendly,
        .enemy_dist = f->enemy_dist, .expand_dist = f->expand_dist,
        .asteroid_dist = f->asteroid_dist, .cargo = f->cargo, .home_threat = f->threat,
        .health = f->health, .morale = f->morale,
    };
    return o;
}

/* Row i: a healthy fleet with nothing in sight (only the idle defend
 * baseline scores). */
static void quiet_row(fleets *f, uint32_t i)
{
    f->id[i] = 1000 + i;
    f->faction[i] = 1;
    f->prev[i] = VR_AI_NONE;
    f->own[i] = 100.0f;
    f->enemy[i] = 0.0f;
    f->friendly[i] = 0.0f;
    f->enemy_dist[i] = -1.0f;
    f->expand_dist[i] = -1.0f;
    f->asteroid_dist[i] = -1.0f;
    f->cargo[i] = 0.0f;
    f->threat[i] = 0.0f;
    f->health[i] = 1.0f;
    f->morale[i] = 1.0f;
}

/* Row i drawn at random (key k): every column in a wide range, some rows
 * without targets, mixed factions (0..4 with a 3-entry policy table, so some
 * are out of range). */
static void random_row(fleets *f, uint32_t i, uint64_t k)
{
#define U(s) vr_unit(vr_rand(7, 1, k, i, (s)))
    f->id[i] = k * 100000 + i;
    f->faction[i] = (uint16_t)(vr_rand(7, 1, k, i, 1) % 5);
    f->prev[i] = (uint8_t)(vr_rand(7, 1, k, i, 2) % 7); /* 6 = unknown, like NONE */
    if (f->prev[i] == 6)
        f->prev[i] = VR_AI_NONE;
    f->own[i] = 1000.0f * U(3);
    f->enemy[i] = U(4) < 0.3f ? 0.0f : 1000.0f * U(5);
    f->friendly[i] = 500.0f * U(6);
    f->enemy_dist[i] = U(7) < 0.2f ? -1.0f : 50.0f * U(8);
    f->expand_dist[i] = U(9) < 0.2f ? -1.0f : 50.0f * U(10);
    f->asteroid_dist[i] = U(11) < 0.2f ? -1.0f : 50.0f * U(12);
    f->cargo[i] = U(13);
    f->threat[i] = U(14) < 0.5f ? 0.0f : 2000.0f * U(15);
    f->health[i] = U(16);
    f->morale[i] = U(17);
#undef U
}

static const vr_ai_policy policies[3] = {
    {.stance = VR_AI_BALANCED, .military = 1, .economy = 1, .expansion = 1},
    {.stance = VR_AI_BALANCED, .military = 1, .economy = 1, .expansion = 1},
    {.stance = VR_AI_AGGRESSIVE, .military = 2, .economy = 1, .expansion = 1},
};

static vr_ai_params params(uint64_t turn, float noise)
{
    vr_ai_params p = {
        .seed = 42, .turn = turn, .cause = 77, .universe = 3,
        .npolicy = 3, .policy = policies, .range = 10.0f, .noise = noise,
    };
    return p;
}

static fleets *fleets_new(void)
{
    fleets *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Decides row 0 of f and returns its choice; scores into s. */
static int decide_one(fleets *f, float s[VR_AI_NOPTIONS])
{
    vr_ai_params p = params(1, 0.0f);
    vr_ai_obs o = view(f, 0);
    uint8_t c = 0xee;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 1, &c, s, NULL), 0);
    ck_assert_int_lt(c, VR_AI_NOPTIONS);
    for (int k = 0; k < VR_AI_NOPTIONS; k++)
        ck_assert_float_eq(s[c] >= s[k], 1);
    return c;
}

/* ---- obvious choices --------------------------------------------------- */

START_TEST(test_option_names)
{
    const char *want[] = {"attack", "defend", "expand", "mine", "trade", "retreat"};
    for (int i = 0; i < VR_AI_NOPTIONS; i++)
        ck_assert_str_eq(vr_ai_option_name(i), want[i]);
    ck_assert_str_eq(vr_ai_option_name(-1), "?");
    ck_assert_str_eq(vr_ai_option_name(VR_AI_NOPTIONS), "?");
}
END_TEST

START_TEST(test_obvious_fleet_choices)
{
    fleets *f = fleets_new();
    float s[VR_AI_NOPTIONS];

    /* nothing in sight: the idle baseline sends the fleet home */
    quiet_row(f, 0);
    ck_assert_int_eq(decide_one(f, s), VR_AI_DEFEND);
    ck_assert_float_eq(s[VR_AI_ATTACK], 0.0f);
    ck_assert_float_eq(s[VR_AI_RETREAT], 0.0f);

    /* a weak enemy next door */
    quiet_row(f, 0);
    f->enemy[0] = 10.0f;
    f->enemy_dist[0] = 1.0f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_ATTACK);

    /* the homeworld is under a heavy attack */
    quiet_row(f, 0);
    f->threat[0] = 1000.0f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_DEFEND);
    ck_assert_float_gt(s[VR_AI_DEFEND], 1.0f);

    /* an unclaimed system in reach */
    quiet_row(f, 0);
    f->expand_dist[0] = 2.0f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_EXPAND);

    /* empty hold, asteroid field here */
    quiet_row(f, 0);
    f->asteroid_dist[0] = 0.0f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_MINE);

    /* full hold, asteroid field here: go and sell */
    quiet_row(f, 0);
    f->asteroid_dist[0] = 0.0f;
    f->cargo[0] = 1.0f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_TRADE);
    ck_assert_float_eq(s[VR_AI_MINE], 0.0f);

    /* battered and outnumbered a hundred to one */
    quiet_row(f, 0);
    f->own[0] = 10.0f;
    f->enemy[0] = 1000.0f;
    f->enemy_dist[0] = 1.0f;
    f->health[0] = 0.2f;
    f->morale[0] = 0.3f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_RETREAT);
    free(f);
}
END_TEST

START_TEST(test_stance_changes_choice)
{
    /* a close call between attacking and expanding (unweighted: attack 0.79,
     * expand 0.79, retreat 0.19): the aggressive faction attacks, the
     * defensive one expands */
    fleets *f = fleets_new();
    quiet_row(f, 0);
    f->enemy[0] = 20.0f;
    f->enemy_dist[0] = 11.0f;
    f->expand_dist[0] = 0.0f;
    vr_ai_policy pol[2] = {
        {.stance = VR_AI_AGGRESSIVE, .military = 1, .economy = 1, .expansion = 1},
        {.stance = VR_AI_DEFENSIVE, .military = 1, .economy = 1, .expansion = 1},
    };
    vr_ai_params p = params(1, 0.0f);
    p.policy = pol;
    p.npolicy = 2;
    vr_ai_obs o = view(f, 0);
    uint8_t c;
    f->faction[0] = 0;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 1, &c, NULL, NULL), 0);
    ck_assert_int_eq(c, VR_AI_ATTACK);
    f->faction[0] = 1;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 1, &c, NULL, NULL), 0);
    ck_assert_int_eq(c, VR_AI_EXPAND);

    /* an all-economy budget makes the same fleet mine instead of attacking */
    quiet_row(f, 0);
    f->enemy[0] = 50.0f;
    f->enemy_dist[0] = 3.0f;
    f->asteroid_dist[0] = 3.0f;
    pol[0] = (vr_ai_policy){.stance = VR_AI_BALANCED, .military = 1, .economy = 0, .expansion = 0};
    pol[1] = (vr_ai_policy){.stance = VR_AI_BALANCED, .military = 0, .economy = 1, .expansion = 0};
    f->faction[0] = 0;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 1, &c, NULL, NULL), 0);
    ck_assert_int_eq(c, VR_AI_ATTACK);
    f->faction[0] = 1;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 1, &c, NULL, NULL), 0);
    ck_assert_int_eq(c, VR_AI_MINE);
    free(f);
}
END_TEST

/* ---- monotonicity ------------------------------------------------------ */

#define MONO_ROWS 512
#define MONO_STEPS 24

START_TEST(test_monotone_enemy_attack)
{
    /* for each random fleet, enemy strength rising from 0 in steps: attack,
     * expand, mine and trade never rise, retreat never falls (noise on: it
     * is keyed by the id, so it is the same at every step) */
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < MONO_ROWS; i++)
        random_row(f, i, 11);
    vr_ai_params p = params(5, 0.05f);
    vr_ai_obs o = view(f, 0);
    static float prev[MONO_ROWS * VR_AI_NOPTIONS], cur[MONO_ROWS * VR_AI_NOPTIONS];
    static uint8_t c[MONO_ROWS];
    for (int step = 0; step < MONO_STEPS; step++) {
        for (uint32_t i = 0; i < MONO_ROWS; i++)
            f->enemy[i] = step == 0 ? 0.0f : 0.5f * powf(1.8f, (float)step);
        ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, MONO_ROWS, c, cur, NULL), 0);
        if (step > 0)
            for (uint32_t i = 0; i < MONO_ROWS; i++) {
                const float *a = prev + i * VR_AI_NOPTIONS, *b = cur + i * VR_AI_NOPTIONS;
                ck_assert_msg(b[VR_AI_ATTACK] <= a[VR_AI_ATTACK], "row %u step %d: attack %g -> %g",
                              i, step, a[VR_AI_ATTACK], b[VR_AI_ATTACK]);
                ck_assert(b[VR_AI_EXPAND] <= a[VR_AI_EXPAND]);
                ck_assert(b[VR_AI_MINE] <= a[VR_AI_MINE]);
                ck_assert(b[VR_AI_TRADE] <= a[VR_AI_TRADE]);
                ck_assert_msg(b[VR_AI_RETREAT] >= a[VR_AI_RETREAT], "row %u step %d: retreat", i,
                              step);
            }
        memcpy(prev, cur, sizeof cur);
    }
    /* and the sweep really moves the scores: strong enemies flip choices */
    int retreats = 0;
    for (uint32_t i = 0; i < MONO_ROWS; i++)
        retreats += c[i] == VR_AI_RETREAT;
    ck_assert_int_gt(retreats, MONO_ROWS / 2);
    free(f);
}
END_TEST

START_TEST(test_monotone_health_retreat)
{
    /* health falling from 1 to 0: retreat never falls, attack never rises;
     * home threat rising: defend never falls */
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < MONO_ROWS; i++)
        random_row(f, i, 12);
    vr_ai_params p = params(5, 0.05f);
    vr_ai_obs o = view(f, 0);
    static float prev[MONO_ROWS * VR_AI_NOPTIONS], cur[MONO_ROWS * VR_AI_NOPTIONS];
    static uint8_t c[MONO_ROWS];
    for (int step = 0; step <= MONO_STEPS; step++) {
        for (uint32_t i = 0; i < MONO_ROWS; i++)
            f->health[i] = 1.0f - (float)step / MONO_STEPS;
        ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, MONO_ROWS, c, cur, NULL), 0);
        if (step > 0)
            for (uint32_t i = 0; i < MONO_ROWS; i++) {
                const float *a = prev + i * VR_AI_NOPTIONS, *b = cur + i * VR_AI_NOPTIONS;
                ck_assert_msg(b[VR_AI_RETREAT] >= a[VR_AI_RETREAT], "row %u step %d: retreat", i,
                              step);
                ck_assert(b[VR_AI_ATTACK] <= a[VR_AI_ATTACK]);
            }
        memcpy(prev, cur, sizeof cur);
    }
    for (uint32_t i = 0; i < MONO_ROWS; i++)
        ck_assert_float_gt(cur[i * VR_AI_NOPTIONS + VR_AI_RETREAT], 1.2f * 0.7f - 1e-6f);

    for (uint32_t i = 0; i < MONO_ROWS; i++)
        random_row(f, i, 13);
    for (int step = 0; step < MONO_STEPS; step++) {
        for (uint32_t i = 0; i < MONO_ROWS; i++)
            f->threat[i] = step == 0 ? 0.0f : powf(2.0f, (float)step);
        ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, MONO_ROWS, c, cur, NULL), 0);
        if (step > 0)
            for (uint32_t i = 0; i < MONO_ROWS; i++)
                ck_assert(cur[i * VR_AI_NOPTIONS + VR_AI_DEFEND] >=
                          prev[i * VR_AI_NOPTIONS + VR_AI_DEFEND]);
        memcpy(prev, cur, sizeof cur);
    }
    free(f);
}
END_TEST

/* ---- tie-break --------------------------------------------------------- */

START_TEST(test_tie_break_lowest_index)
{
    /* expand = 0.9*P(d)*safe and trade = 0.9*cargo*safe with P(10) = 0.5 =
     * cargo and equal weights: an exact tie, which expand (2) wins over
     * trade (4), every time */
    fleets *f = fleets_new();
    quiet_row(f, 0);
    f->expand_dist[0] = 10.0f;
    f->cargo[0] = 0.5f;
    float s[VR_AI_NOPTIONS];
    for (int rep = 0; rep < 3; rep++) {
        ck_assert_int_eq(decide_one(f, s), VR_AI_EXPAND);
        ck_assert(s[VR_AI_EXPAND] == s[VR_AI_TRADE]);
        ck_assert(s[VR_AI_EXPAND] > s[VR_AI_DEFEND]);
    }
    /* a hair more cargo and trade wins: the tie really was the deciding case */
    f->cargo[0] = 0.5001f;
    ck_assert_int_eq(decide_one(f, s), VR_AI_TRADE);

    free(f);
}
END_TEST

/* ---- the log ----------------------------------------------------------- */

START_TEST(test_log_records_exactly)
{
    enum { N = 300 };
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < N; i++)
        random_row(f, i, 21);
    static vr_ai_record rec[1024];
    vr_ai_log log;
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 1024), 0);
    vr_ai_params p = params(9, 0.01f);
    p.log_mode = VR_AI_LOG_ALL;
    vr_ai_obs o = view(f, 1);
    static uint8_t c[N];
    static float s[N * VR_AI_NOPTIONS];
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, N, c, s, &log), 0);
    ck_assert_uint_eq(vr_ai_log_count(&log), N);
    ck_assert_uint_eq(vr_ai_log_dropped(&log), 0);
    ck_assert_uint_eq(log.decisions, N);
    for (uint32_t i = 0; i < N; i++) {
        vr_ai_record r;
        ck_assert_int_eq(vr_ai_log_get(&log, N - 1 - i, &r), 0); /* oldest first */
        ck_assert_uint_eq(r.turn, 9);
        ck_assert_uint_eq(r.entity, f->id[i]);
        ck_assert_uint_eq(r.cause, 77);
        ck_assert_uint_eq(r.universe, 3);
        ck_assert_uint_eq(r.kind, VR_AI_KIND_FLEET);
        ck_assert_uint_eq(r.choice, c[i]);
        ck_assert_uint_eq(r.prev, f->prev[i]);
        ck_assert_int_eq(memcmp(r.score, s + i * VR_AI_NOPTIONS, sizeof r.score), 0);
        /* the log explains the choice: it is the argmax of the logged scores */
        for (int k = 0; k < VR_AI_NOPTIONS; k++)
            ck_assert(k < r.choice ? r.score[k] < r.score[r.choice]
                                   : r.score[k] <= r.score[r.choice]);
    }
    ck_assert_int_eq(vr_ai_log_get(&log, N, &(vr_ai_record){0}), -VR_ENOTFOUND);
    free(f);
}
END_TEST

START_TEST(test_log_filters)
{
    enum { N = 1000 };
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < N; i++)
        random_row(f, i, 22);
    static vr_ai_record rec[2 * N];
    static uint8_t c[N];
    vr_ai_log log;
    vr_ai_obs o = view(f, 1);

    /* default: only the rows whose choice changed since prev_choice */
    vr_ai_params p = params(4, 0.0f);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, N, c, NULL, NULL), 0);
    uint32_t changed = 0;
    for (uint32_t i = 0; i < N; i++) {
        if (i % 3 == 0)
            f->prev[i] = c[i];
        changed += f->prev[i] != c[i];
    }
    ck_assert_uint_gt(changed, N / 2);
    ck_assert_uint_lt(changed, N);
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 2 * N), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, N, c, NULL, &log), 0);
    ck_assert_uint_eq(vr_ai_log_count(&log), changed);
    ck_assert_uint_eq(log.decisions, N);
    uint64_t k = changed;
    for (uint32_t i = 0; i < N; i++) {
        if (f->prev[i] == c[i])
            continue;
        vr_ai_record r;
        ck_assert_int_eq(vr_ai_log_get(&log, --k, &r), 0);
        ck_assert_uint_eq(r.entity, f->id[i]);
        ck_assert_uint_ne(r.choice, r.prev);
    }

    /* without a previous choice everything is new */
    vr_ai_obs o2 = view(f, 0);
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 2 * N), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o2, N, c, NULL, &log), 0);
    ck_assert_uint_eq(vr_ai_log_count(&log), N);

    /* a rotating sample: (mix64(id) + turn) % 7 == 0 */
    p.log_mode = VR_AI_LOG_SAMPLE;
    p.log_every = 7;
    uint32_t want = 0;
    for (uint32_t i = 0; i < N; i++)
        want += (vr_mix64(f->id[i]) + p.turn) % 7 == 0;
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 2 * N), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, N, c, NULL, &log), 0);
    ck_assert_uint_eq(vr_ai_log_count(&log), want);
    for (uint64_t j = 0; j < want; j++) {
        vr_ai_record r;
        ck_assert_int_eq(vr_ai_log_get(&log, j, &r), 0);
        ck_assert_uint_eq((vr_mix64(r.entity) + p.turn) % 7, 0);
    }
    free(f);
}
END_TEST

START_TEST(test_log_ring_wraps)
{
    /* header and records in one block, as in shared memory */
    enum { CAP = 5 };
    void *mem = calloc(1, vr_ai_log_bytes(CAP));
    ck_assert_ptr_nonnull(mem);
    ck_assert_uint_eq(vr_ai_log_bytes(CAP), 64 + CAP * 56);
    vr_ai_log *log = mem;
    ck_assert_int_eq(vr_ai_log_init(log, NULL, CAP), 0);
    ck_assert_int_eq(log->records_off, (int64_t)sizeof(vr_ai_log));
    ck_assert_uint_eq(vr_ai_log_count(log), 0);
    vr_ai_record r, got;
    ck_assert_int_eq(vr_ai_log_get(log, 0, &got), -VR_ENOTFOUND);
    for (uint64_t k = 0; k < 12; k++) {
        memset(&r, 0, sizeof r);
        r.turn = 100 + k;
        r.entity = k;
        r.choice = (uint8_t)(k % VR_AI_NOPTIONS);
        r.score[0] = (float)k;
        ck_assert_int_eq(vr_ai_log_append(log, &r), 0);
        ck_assert_uint_eq(vr_ai_log_count(log), k + 1 < CAP ? k + 1 : CAP);
        ck_assert_uint_eq(vr_ai_log_dropped(log), k + 1 > CAP ? k + 1 - CAP : 0);
    }
    for (uint64_t i = 0; i < CAP; i++) {
        ck_assert_int_eq(vr_ai_log_get(log, i, &got), 0);
        ck_assert_uint_eq(got.entity, 11 - i);
        ck_assert_uint_eq(got.turn, 111 - i);
        ck_assert_float_eq(got.score[0], (float)(11 - i));
    }
    ck_assert_int_eq(vr_ai_log_get(log, CAP, &got), -VR_ENOTFOUND);
    ck_assert_uint_eq(log->claimed, log->head);

    /* a writer caught between claiming the oldest slot for record 12 and
     * publishing it: the oldest copy may be torn, the others are intact */
    log->claimed = log->head + 1;
    ck_assert_int_eq(vr_ai_log_get(log, CAP - 1, &got), -VR_ETORN);
    ck_assert_int_eq(vr_ai_log_get(log, CAP - 2, &got), 0);
    ck_assert_uint_eq(got.entity, 8);
    log->claimed = log->head;

    /* a decide pass into a small ring keeps the newest records */
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < 40; i++)
        random_row(f, i, 23);
    vr_ai_params p = params(2, 0.0f);
    p.log_mode = VR_AI_LOG_ALL;
    vr_ai_obs o = view(f, 0);
    uint8_t c[40];
    ck_assert_int_eq(vr_ai_log_init(log, NULL, CAP), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 40, c, NULL, log), 0);
    ck_assert_uint_eq(vr_ai_log_count(log), CAP);
    ck_assert_uint_eq(vr_ai_log_dropped(log), 40 - CAP);
    for (uint64_t i = 0; i < CAP; i++) {
        ck_assert_int_eq(vr_ai_log_get(log, i, &got), 0);
        ck_assert_uint_eq(got.entity, f->id[39 - i]);
        ck_assert_uint_eq(got.choice, c[39 - i]);
    }

    /* a finished log refuses work */
    vr_ai_log_fini(log);
    ck_assert_int_eq(vr_ai_log_append(log, &r), -VR_EBADARG);
    ck_assert_uint_eq(vr_ai_log_count(log), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 40, c, NULL, log), -VR_EBADARG);
    free(f);
    free(mem);
}
END_TEST

/* ---- determinism ------------------------------------------------------- */

typedef struct run {
    uint8_t c[MAXN];
    float s[MAXN * VR_AI_NOPTIONS];
    vr_ai_record rec[MAXN];
    vr_ai_log log;
} run;

START_TEST(test_determinism_and_chunking)
{
    enum { N = 3000 };
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < N; i++)
        random_row(f, i, 31);
    vr_ai_params p = params(17, 0.2f);
    p.log_mode = VR_AI_LOG_ALL;
    vr_ai_obs o = view(f, 1);
    run *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    ck_assert(a && b);
    ck_assert_int_eq(vr_ai_log_init(&a->log, a->rec, MAXN), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, N, a->c, a->s, &a->log), 0);

    const uint32_t cuts[] = {0, 1, 7, 1500, 2999, 3000};
    for (size_t t = 0; t < sizeof cuts / sizeof cuts[0]; t++) {
        uint32_t k = cuts[t];
        memset(b, 0x5a, sizeof *b);
        ck_assert_int_eq(vr_ai_log_init(&b->log, b->rec, MAXN), 0);
        vr_ai_obs tail = vr_ai_obs_offset(&o, k);
        ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, k, b->c, b->s, &b->log), 0);
        ck_assert_int_eq(
            vr_ai_decide_fleets(&p, &tail, N - k, b->c + k, b->s + (size_t)k * VR_AI_NOPTIONS, &b->log), 0);
        ck_assert_int_eq(memcmp(a->c, b->c, N), 0);
        ck_assert_int_eq(memcmp(a->s, b->s, sizeof(float) * N * VR_AI_NOPTIONS), 0);
        ck_assert_int_eq(memcmp(a->rec, b->rec, sizeof(vr_ai_record) * N), 0);
        ck_assert_uint_eq(b->log.head, a->log.head);
        ck_assert_uint_eq(b->log.decisions, N);
    }

    /* the noise is keyed: another turn or seed moves some choices, the same
     * key never does */
    vr_ai_params q = p;
    q.turn++;
    ck_assert_int_eq(vr_ai_decide_fleets(&q, &o, N, b->c, b->s, NULL), 0);
    ck_assert_int_ne(memcmp(a->s, b->s, sizeof(float) * N * VR_AI_NOPTIONS), 0);
    q = p;
    q.seed++;
    ck_assert_int_eq(vr_ai_decide_fleets(&q, &o, N, b->c, b->s, NULL), 0);
    ck_assert_int_ne(memcmp(a->s, b->s, sizeof(float) * N * VR_AI_NOPTIONS), 0);
    q = p;
    q.noise = 0.0f;
    ck_assert_int_eq(vr_ai_decide_fleets(&q, &o, N, b->c, b->s, NULL), 0);
    int moved = 0;
    for (uint32_t i = 0; i < N; i++)
        moved += a->c[i] != b->c[i];
    ck_assert_int_gt(moved, 0);
    ck_assert_int_lt(moved, N / 2);
    /* the noise is exactly noise * u_o, u_o from 10-bit fields of
     * vr_rand(seed, universe, turn, fleet id, VR_AI_STREAM_NOISE) */
    for (uint32_t i = 0; i < N; i++) {
        uint64_t r = vr_rand(p.seed, p.universe, p.turn, f->id[i], VR_AI_STREAM_NOISE);
        for (int k = 0; k < VR_AI_NOPTIONS; k++) {
            float want = b->s[i * VR_AI_NOPTIONS + k] +
                         p.noise * ((float)((r >> (10 * k)) & 1023u) * (1.0f / 1024.0f));
            ck_assert_msg(want == a->s[i * VR_AI_NOPTIONS + k], "row %u option %d", i, k);
        }
    }
    /* the choice of a row does not depend on its neighbours */
    for (uint32_t i = 0; i < N; i += 97) {
        vr_ai_obs one = vr_ai_obs_offset(&o, i);
        uint8_t c1;
        float s1[VR_AI_NOPTIONS];
        ck_assert_int_eq(vr_ai_decide_fleets(&p, &one, 1, &c1, s1, NULL), 0);
        ck_assert_uint_eq(c1, a->c[i]);
        ck_assert_int_eq(memcmp(s1, a->s + (size_t)i * VR_AI_NOPTIONS, sizeof s1), 0);
    }
    free(a);
    free(b);
    free(f);
}
END_TEST

/* ---- bad input --------------------------------------------------------- */

START_TEST(test_bad_input)
{
    fleets *f = fleets_new();
    for (uint32_t i = 0; i < 64; i++)
        random_row(f, i, 41);
    vr_ai_params p = params(1, 0.1f);
    vr_ai_obs o = view(f, 1);
    uint8_t c[64];
    float s[64 * VR_AI_NOPTIONS];
    vr_ai_record rec[8];
    vr_ai_log log;

    memset(c, 0xee, sizeof c);
    ck_assert_int_eq(vr_ai_decide_fleets(NULL, &o, 64, c, s, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, NULL, 64, c, s, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 64, NULL, s, NULL), -VR_EBADARG);
    vr_ai_obs holed = o;
    holed.morale = NULL;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &holed, 64, c, s, NULL), -VR_EBADARG);
    holed = o;
    holed.id = NULL;
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &holed, 64, c, s, NULL), -VR_EBADARG);
    memset(&log, 0, sizeof log); /* never initialised */
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 64, c, s, &log), -VR_EBADARG);
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(c[i], 0xee); /* nothing written on error */
    ck_assert_int_eq(vr_ai_decide_fleets(&p, NULL, 0, NULL, NULL, NULL), 0);
    ck_assert_int_eq(vr_ai_log_init(NULL, rec, 8), -VR_EBADARG);
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 0), -VR_EBADARG);
    ck_assert_int_eq(vr_ai_log_append(NULL, &rec[0]), -VR_EBADARG);
    ck_assert_int_eq(vr_ai_log_get(NULL, 0, &rec[0]), -VR_EBADARG);
    ck_assert_uint_eq(vr_ai_log_count(NULL), 0);
    ck_assert_uint_eq(vr_ai_log_dropped(NULL), 0);

    /* hostile numbers: NaN, infinities, negatives everywhere */
    const float bad[] = {NAN, -NAN, INFINITY, -INFINITY, -1.0f, 1e38f, -0.0f, 3.4e38f};
    const int nb = sizeof bad / sizeof bad[0];
    for (uint32_t i = 0; i < 64; i++) {
        float x = bad[i % nb], y = bad[(i / nb) % nb];
        switch (i % 5) {
        case 0: f->own[i] = x; f->enemy[i] = y; break;
        case 1: f->enemy[i] = x; f->friendly[i] = y; f->threat[i] = x; break;
        case 2: f->health[i] = x; f->morale[i] = y; f->cargo[i] = x; break;
        case 3: f->enemy_dist[i] = x; f->expand_dist[i] = y; f->asteroid_dist[i] = x; break;
        default:
            f->own[i] = f->enemy[i] = f->friendly[i] = f->threat[i] = x;
            f->enemy_dist[i] = f->health[i] = y;
            break;
        }
        f->faction[i] = (uint16_t)(i * 1000); /* mostly outside the policy table */
    }
    vr_ai_policy badpol[3] = {
        {.stance = 200, .military = NAN, .economy = -1, .expansion = INFINITY},
        {.stance = VR_AI_DEFENSIVE, .military = 0, .economy = 0, .expansion = 0},
        {.stance = VR_AI_AGGRESSIVE, .military = 1e38f, .economy = 1e38f, .expansion = 1e38f},
    };
    p.policy = badpol;
    p.range = NAN;
    p.noise = INFINITY;
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 8), 0);
    ck_assert_int_eq(vr_ai_decide_fleets(&p, &o, 64, c, s, &log), 0);
    for (uint32_t i = 0; i < 64 * VR_AI_NOPTIONS; i++)
        ck_assert_msg(isfinite(s[i]) && s[i] >= 0.0f, "score %u = %g", i, s[i]);
    for (uint32_t i = 0; i < 64; i++)
        ck_assert_int_lt(c[i], VR_AI_NOPTIONS);
    float w[VR_AI_NOPTIONS];
    for (int k = 0; k < 3; k++) {
        vr_ai_policy_weights(&badpol[k], w);
        for (int j = 0; j < VR_AI_NOPTIONS; j++)
            ck_assert(isfinite(w[j]) && w[j] > 0.0f);
    }
    free(f);
}
END_TEST

/* ---- factions ---------------------------------------------------------- */

typedef struct factions {
    uint64_t id[16];
    uint16_t faction[16];
    uint8_t prev[16];
    float strength[16], enemy[16], threat[16], targets[16], unclaimed[16], fields[16],
        stock[16], income[16];
} factions;

static vr_ai_faction_obs fview(factions *f)
{
    vr_ai_faction_obs o = {
        .id = f->id, .faction = f->faction, .prev_choice = f->prev, .strength = f->strength,
        .enemy_strength = f->enemy, .home_threat = f->threat, .targets = f->targets,
        .unclaimed = f->unclaimed, .fields = f->fields, .stockpile = f->stock, .income = f->income,
    };
    return o;
}

START_TEST(test_factions)
{
    factions f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < 16; i++) {
        f.id[i] = 50 + i;
        f.faction[i] = 1;
        f.prev[i] = VR_AI_NONE;
        f.strength[i] = 1000.0f;
        f.income[i] = 10.0f;
    }
    /* 0 strong, at war, targets in reach: attack, aggressive, seek more war */
    f.enemy[0] = 100.0f;
    f.targets[0] = 5.0f;
    /* 1 homeworld besieged by an equal force */
    f.threat[1] = 3000.0f;
    f.enemy[1] = 1000.0f;
    /* 2 empty space around */
    f.unclaimed[2] = 8.0f;
    /* 3 rich asteroid belt, nothing stocked */
    f.fields[3] = 6.0f;
    /* 4 warehouses full */
    f.stock[4] = 10000.0f;
    f.fields[4] = 6.0f;
    /* 5 hopelessly outgunned and broke */
    f.enemy[5] = 50000.0f;
    f.targets[5] = 3.0f;
    f.income[5] = -5.0f;
    /* 6 hostile numbers */
    f.strength[6] = NAN;
    f.enemy[6] = INFINITY;
    f.income[6] = NAN;
    f.stock[6] = -INFINITY;

    vr_ai_params p = params(3, 0.0f);
    vr_ai_faction_obs o = fview(&f);
    vr_ai_faction_out out[16];
    float s[16 * VR_AI_NOPTIONS];
    vr_ai_record rec[32];
    vr_ai_log log;
    ck_assert_int_eq(vr_ai_log_init(&log, rec, 32), 0);
    ck_assert_int_eq(vr_ai_decide_factions(&p, &o, 7, out, s, &log), 0);
    ck_assert_int_eq(out[0].choice, VR_AI_ATTACK);
    ck_assert_int_eq(out[0].stance, VR_AI_AGGRESSIVE);
    ck_assert_int_eq(out[0].diplomacy, VR_AI_DIPLO_SEEK_WAR);
    ck_assert_int_eq(out[1].choice, VR_AI_DEFEND);
    ck_assert_int_eq(out[1].stance, VR_AI_DEFENSIVE);
    ck_assert_int_eq(out[1].diplomacy, VR_AI_DIPLO_KEEP);
    ck_assert_int_eq(out[2].choice, VR_AI_EXPAND);
    ck_assert_float_gt(out[2].expansion, out[2].military);
    ck_assert_int_eq(out[3].choice, VR_AI_MINE);
    ck_assert_float_gt(out[3].economy, 0.5f);
    ck_assert_int_eq(out[4].choice, VR_AI_TRADE);
    ck_assert_int_eq(out[5].choice, VR_AI_RETREAT);
    ck_assert_int_eq(out[5].diplomacy, VR_AI_DIPLO_SEEK_PEACE);
    ck_assert_int_lt(out[6].choice, VR_AI_NOPTIONS);
    for (int i = 0; i < 7; i++) {
        float split = out[i].military + out[i].economy + out[i].expansion;
        ck_assert_float_eq_tol(split, 1.0f, 1e-5f);
        for (int k = 0; k < VR_AI_NOPTIONS; k++)
            ck_assert(isfinite(s[i * VR_AI_NOPTIONS + k]) && s[i * VR_AI_NOPTIONS + k] >= 0.0f);
    }
    /* logged like fleets, with kind faction */
    ck_assert_uint_eq(vr_ai_log_count(&log), 7);
    for (int i = 0; i < 7; i++) {
        vr_ai_record r;
        ck_assert_int_eq(vr_ai_log_get(&log, 6 - i, &r), 0);
        ck_assert_uint_eq(r.kind, VR_AI_KIND_FACTION);
        ck_assert_uint_eq(r.entity, f.id[i]);
        ck_assert_uint_eq(r.choice, out[i].choice);
        ck_assert_int_eq(memcmp(r.score, s + i * VR_AI_NOPTIONS, sizeof r.score), 0);
    }
    /* chunked equals whole */
    vr_ai_faction_out out2[16];
    float s2[16 * VR_AI_NOPTIONS];
    vr_ai_faction_obs tail = o;
    tail.id += 3, tail.faction += 3, tail.prev_choice += 3, tail.strength += 3, tail.enemy_strength += 3;
    tail.home_threat += 3, tail.targets += 3, tail.unclaimed += 3, tail.fields += 3;
    tail.stockpile += 3, tail.income += 3;
    ck_assert_int_eq(vr_ai_decide_factions(&p, &o, 3, out2, s2, NULL), 0);
    ck_assert_int_eq(vr_ai_decide_factions(&p, &tail, 4, out2 + 3, s2 + 3 * VR_AI_NOPTIONS, NULL), 0);
    ck_assert_int_eq(memcmp(out, out2, 7 * sizeof out[0]), 0);
    ck_assert_int_eq(memcmp(s, s2, 7 * VR_AI_NOPTIONS * sizeof s[0]), 0);

    ck_assert_int_eq(vr_ai_decide_factions(&p, NULL, 7, out, s, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_ai_decide_factions(&p, &o, 7, NULL, s, NULL), -VR_EBADARG);
    o.income = NULL;
    ck_assert_int_eq(vr_ai_decide_factions(&p, &o, 7, out, s, NULL), -VR_EBADARG);
}
END_TEST

static Suite *ai_suite(void)
{
    Suite *s = suite_create("ai");
    TCase *tc = tcase_create("fleets");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_option_names);
    tcase_add_test(tc, test_obvious_fleet_choices);
    tcase_add_test(tc, test_stance_changes_choice);
    tcase_add_test(tc, test_monotone_enemy_attack);
    tcase_add_test(tc, test_monotone_health_retreat);
    tcase_add_test(tc, test_tie_break_lowest_index);
    tcase_add_test(tc, test_determinism_and_chunking);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("log");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_log_records_exactly);
    tcase_add_test(tc, test_log_filters);
    tcase_add_test(tc, test_log_ring_wraps);
    suite_add_tcase(s, tc);

    tc = tcase_create("factions");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_factions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ai_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
