/* test_combat.c: Check suite for workers/combat.c.
 *
 * The formulas are checked against hand-computed values (hit probability
 * with both clamps and the batch cap, flat armor and ap, shields before
 * hull, morale thresholds), the random parts statistically (binomial
 * moments, the 2d6 distribution, the rout rate), and the battle as a whole
 * for the promises of DESIGN §5: the same inputs give bit-identical results
 * whatever order the ships are listed or stored in, destroyed ships are only
 * marked (deferred delete), and bad input is refused without any change.
 */
#include "combat.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small fleet store: the SoA columns a battle reads ---------------- */

#define CAP 512

typedef struct store {
    uint32_t n;
    uint64_t id[CAP];
    uint8_t side[CAP];
    float hull[CAP], shield[CAP], armor[CAP];
    uint8_t bs[CAP];
    uint16_t attacks[CAP];
    float strength[CAP], ap[CAP];
    uint8_t md[CAP], ld[CAP], state[CAP];
} store;

typedef struct ship {
    uint64_t id;
    uint8_t side;
    float hull, shield, armor;
    uint8_t bs;
    uint16_t attacks;
    float strength, ap;
    uint8_t md, ld, state;
} ship;

static store *store_new(void)
{
    store *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void put(store *s, uint32_t row, const ship *x)
{
    ck_assert_uint_lt(row, CAP);
    s->id[row] = x->id;
    s->side[row] = x->side;
    s->hull[row] = x->hull;
    s->shield[row] = x->shield;
    s->armor[row] = x->armor;
    s->bs[row] = x->bs;
    s->attacks[row] = x->attacks;
    s->strength[row] = x->strength;
    s->ap[row] = x->ap;
    s->md[row] = x->md;
    s->ld[row] = x->ld;
    s->state[row] = x->state;
    if (row >= s->n)
        s->n = row + 1;
}

static uint32_t add(store *s, ship x)
{
    uint32_t r = s->n;
    put(s, r, &x);
    return r;
}

static vr_ships view(store *s)
{
    return (vr_ships){.id = s->id, .side = s->side, .hull = s->hull, .shield = s->shield,
                      .armor = s->armor, .bs = s->bs, .attacks = s->attacks, .strength = s->strength,
                      .ap = s->ap, .md = s->md, .leadership = s->ld, .state = s->state, .count = s->n};
}

static uint32_t *iota(uint32_t n)
{
    uint32_t *r = malloc(n * sizeof *r);
    ck_assert_ptr_nonnull(r);
    for (uint32_t i = 0; i < n; i++)
        r[i] = i;
    return r;
}

/* Test-side randomness (its own counter, not the module's streams). */
static uint64_t trand(uint64_t k) { return vr_mix64(k * 0x9e3779b97f4a7c15ull + 12345); }

static void shuffle(uint32_t *a, uint32_t n, uint64_t key)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)(trand(key * 1000003 + i) % i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* A realistic ship (content-pack ranges: corvette .. cruiser hulls, weapon
 * strength tens, ap -4..0), drawn from key. */
static ship random_ship(uint64_t id, uint8_t side, uint64_t key)
{
    uint64_t r = trand(key), q = trand(key ^ 0xabcdef);
    ship x = {.id = id, .side = side};
    x.hull = 200.0f + (float)(r % 1800);
    x.shield = (float)((r >> 12) % 300);
    x.armor = (float)((r >> 22) % 8);
    x.bs = (uint8_t)(30 + (r >> 26) % 50);
    x.attacks = (uint16_t)(2 + (r >> 33) % 10);
    x.strength = 10.0f + (float)((r >> 37) % 50);
    x.ap = -(float)((r >> 44) % 5);
    x.md = (uint8_t)(q % 30);
    x.ld = (uint8_t)(6 + (q >> 8) % 5);
    return x;
}

static const vr_combat_params P = {.seed = 7, .turn = 3, .universe = 1};

/* ---- formulas ----------------------------------------------------------- */

START_TEST(test_hit_probability)
{
    const struct {
        unsigned bs;
        uint32_t n;
        unsigned md;
        double p;
    } cases[] = {
        {50, 100, 20, 0.585},  /* (0.55 + 0.10) * 0.9 */
        {60, 50, 50, 0.525},   /* (0.65 + 0.05) * 0.75 */
        {0, 0, 0, 0.15},       /* max(15, bs+5): floor of skill */
        {10, 0, 0, 0.15},      /* bs+5 == 15 */
        {20, 0, 0, 0.25},
        {50, 150, 0, 0.70},
        {50, 200, 0, 0.75},    /* n/1000 reaches the cap */
        {50, 500, 0, 0.75},    /* capped at +0.2 */
        {50, 100000, 0, 0.75},
        {0, 0, 100, 0.075},    /* lowest value reachable with valid stats */
        {0, 0, 190, 0.05},     /* 0.0075: lower clamp */
        {100, 0, 0, 0.95},     /* 1.05: upper clamp */
        {90, 1000, 0, 0.95},   /* 1.15: upper clamp */
        {100, 1000, 100, 0.625}, /* 1.25 * 0.5: the clamp applies after the product */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double p = vr_combat_hit_p(cases[i].bs, cases[i].n, cases[i].md);
        ck_assert_msg(fabs(p - cases[i].p) < 1e-12, "bs %u n %u md %u: p %.17g, want %.17g", cases[i].bs,
                      cases[i].n, cases[i].md, p, cases[i].p);
    }
}
END_TEST

START_TEST(test_mitigation)
{
    ck_assert_float_eq(vr_combat_hit_damage(10.0f, 4.0f, 0.0f), 6.0f);
    ck_assert_float_eq(vr_combat_hit_damage(10.0f, 4.0f, -2.0f), 8.0f);  /* ap ignores armor */
    ck_assert_float_eq(vr_combat_hit_damage(10.0f, 4.0f, -6.0f), 10.0f); /* armor floored at 0 */
    ck_assert_float_eq(vr_combat_hit_damage(10.0f, 12.0f, 0.0f), 0.0f);  /* never negative */
    ck_assert_float_eq(vr_combat_hit_damage(10.0f, 10.0f, 0.0f), 0.0f);
    ck_assert_float_eq(vr_combat_hit_damage(0.0f, 0.0f, 0.0f), 0.0f);

    /* in a battle: one round, every hit does strength - (armor + ap) */
    int checked = 0;
    for (uint64_t key = 0; key < 20; key++) {
        store *s = store_new();
        add(s, (ship){.id = 1, .side = 0, .hull = 100, .bs = 50, .attacks = 20, .strength = 10, .ap = -1, .ld = 12});
        add(s, (ship){.id = 2, .side = 1, .hull = 1000, .armor = 4, .ld = 12});
        vr_ships v = view(s);
        uint32_t rows[] = {0, 1};
        vr_battle_result res;
        vr_combat_params p = P;
        p.max_rounds = 1;
        ck_assert_int_eq(vr_combat_resolve(&p, &v, rows, 2, key, &res), 0);
        ck_assert_uint_eq(res.rounds, 1);
        ck_assert_float_eq(s->hull[1], 1000.0f - 7.0f * (float)res.hits[0]);
        ck_assert(res.damage[0] == 7.0 * (double)res.hits[0]);
        ck_assert_float_eq(s->hull[0], 100.0f); /* side 1 has no attacks */
        checked += res.hits[0] > 0;
        free(s);
    }
    ck_assert_int_gt(checked, 10);

    /* armor at or above strength: no damage at all, a stalemate */
    store *s = store_new();
    add(s, (ship){.id = 1, .side = 0, .hull = 100, .bs = 90, .attacks = 20, .strength = 5, .armor = 5, .ld = 12});
    add(s, (ship){.id = 2, .side = 1, .hull = 100, .bs = 90, .attacks = 20, .strength = 5, .armor = 5, .ld = 12});
    vr_ships v = view(s);
    uint32_t rows[] = {0, 1};
    vr_battle_result res;
    ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, 2, 1, &res), 0);
    ck_assert_uint_eq(res.end, VR_COMBAT_END_STALEMATE);
    ck_assert_uint_eq(res.rounds, VR_COMBAT_NO_DAMAGE_ROUNDS);
    ck_assert_uint_gt(res.hits[0] + res.hits[1], 0);
    ck_assert_float_eq(s->hull[0], 100.0f);
    ck_assert_float_eq(s->hull[1], 100.0f);
    free(s);
}
END_TEST

START_TEST(test_shields_before_hull)
{
    float sh = 10, hull = 50;
    ck_assert(vr_combat_apply_damage(&sh, &hull, 4.0) == 4.0);
    ck_assert_float_eq(sh, 6.0f);
    ck_assert_float_eq(hull, 50.0f);
    ck_assert(vr_combat_apply_damage(&sh, &hull, 6.0) == 6.0); /* exactly the shield */
    ck_assert_float_eq(sh, 0.0f);
    ck_assert_float_eq(hull, 50.0f);
    sh = 10;
    ck_assert(vr_combat_apply_damage(&sh, &hull, 15.0) == 15.0); /* overflow to hull */
    ck_assert_float_eq(sh, 0.0f);
    ck_assert_float_eq(hull, 45.0f);
    sh = 10;
    hull = 50;
    ck_assert(vr_combat_apply_damage(&sh, &hull, 100.0) == 60.0); /* overkill is not damage */
    ck_assert_float_eq(sh, 0.0f);
    ck_assert(hull <= 0.0f);

    /* in a battle: one attack of 10 against shield 100 / hull 50, and
     * against shield 4 / hull 50 */
    const float shields[2] = {100.0f, 4.0f}, want_sh[2] = {90.0f, 0.0f}, want_hull[2] = {50.0f, 44.0f};
    for (int c = 0; c < 2; c++) {
        int hit = 0;
        for (uint64_t key = 0; key < 50 && !hit; key++) {
            store *s = store_new();
            add(s, (ship){.id = 10, .side = 0, .hull = 100, .bs = 90, .attacks = 1, .strength = 10, .ld = 12});
            add(s, (ship){.id = 20, .side = 1, .hull = 50, .shield = shields[c], .ld = 12});
            vr_ships v = view(s);
            uint32_t rows[] = {1, 0};
            vr_battle_result res;
            vr_combat_params p = P;
            p.max_rounds = 1;
            ck_assert_int_eq(vr_combat_resolve(&p, &v, rows, 2, key, &res), 0);
            if (res.hits[0] == 1) {
                hit = 1;
                ck_assert_float_eq(s->shield[1], want_sh[c]);
                ck_assert_float_eq(s->hull[1], want_hull[c]);
                ck_assert(res.damage[0] == 10.0);
            } else {
                ck_assert_float_eq(s->shield[1], shields[c]);
                ck_assert_float_eq(s->hull[1], 50.0f);
            }
            free(s);
        }
        ck_assert(hit);
    }
}
END_TEST

START_TEST(test_binomial)
{
    const uint32_t ns[] = {0, 1, 2, 5, 63, 64, 65, 999, 1000, 1001, 5000, 65535};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (uint64_t k = 0; k < 20; k++) {
            ck_assert_uint_eq(vr_combat_binomial(k, ns[i], 0.0), 0);
            ck_assert_uint_eq(vr_combat_binomial(k, ns[i], 1.0), ns[i]);
            ck_assert_uint_eq(vr_combat_binomial(k, ns[i], -0.5), 0);
            ck_assert_uint_eq(vr_combat_binomial(k, ns[i], NAN), 0);
        }
    /* both paths (Bernoulli sums up to 64, CDF inversion above) */
    const struct {
        uint32_t n;
        double p;
    } cases[] = {{1, 0.5}, {10, 0.3}, {33, 0.05}, {64, 0.95}, {65, 0.5}, {500, 0.3},
                 {3000, 0.8}, {2500, 0.05}, {200, 0.95}};
    const int N = 20000;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double n = cases[c].n, p = cases[c].p, sum = 0, sum2 = 0;
        for (int k = 0; k < N; k++) {
            uint32_t x = vr_combat_binomial(trand((uint64_t)k + 1000000 * c), cases[c].n, p);
            ck_assert_uint_le(x, cases[c].n);
            sum += x;
            sum2 += (double)x * x;
        }
        double mean = sum / N, var = sum2 / N - mean * mean;
        double want_var = n * p * (1 - p);
        ck_assert_msg(fabs(mean - n * p) < 5.0 * sqrt(want_var / N), "n %g p %g: mean %g, want %g", n, p, mean,
                      n * p);
        ck_assert_msg(fabs(var - want_var) < 0.06 * want_var, "n %g p %g: variance %g, want %g", n, p, var,
                      want_var);
    }
    /* the same key gives the same count */
    ck_assert_uint_eq(vr_combat_binomial(42, 5000, 0.37), vr_combat_binomial(42, 5000, 0.37));
    ck_assert_uint_eq(vr_combat_binomial(42, 50, 0.37), vr_combat_binomial(42, 50, 0.37));
}
END_TEST

START_TEST(test_morale_thresholds)
{
    /* pass iff 2d6 <= leadership - penalty */
    ck_assert(vr_combat_morale_passes(7, 7, 0));
    ck_assert(!vr_combat_morale_passes(8, 7, 0));
    ck_assert(vr_combat_morale_passes(7, 10, 3));
    ck_assert(!vr_combat_morale_passes(8, 10, 3));
    ck_assert(!vr_combat_morale_passes(2, 1, 0));
    ck_assert(vr_combat_morale_passes(12, 12, 0));
    ck_assert(!vr_combat_morale_passes(12, 12, 1));
    ck_assert(!vr_combat_morale_passes(2, 3, 5)); /* negative threshold */
    /* penalty: floor(lost * scale / started) */
    ck_assert_uint_eq(vr_combat_morale_penalty(5, 10, 6), 3);
    ck_assert_uint_eq(vr_combat_morale_penalty(1, 10, 6), 0);
    ck_assert_uint_eq(vr_combat_morale_penalty(2, 10, 6), 1);
    ck_assert_uint_eq(vr_combat_morale_penalty(10, 10, 6), 6);
    ck_assert_uint_eq(vr_combat_morale_penalty(1, 3, 6), 2);
    ck_assert_uint_eq(vr_combat_morale_penalty(0, 0, 6), 0);

    /* 2d6 is the triangle 1,2,..,6,..,1 over 36 */
    const int N = 72000;
    int count[13] = {0};
    for (int k = 0; k < N; k++) {
        unsigned r = vr_combat_2d6(trand((uint64_t)k));
        ck_assert_uint_ge(r, 2);
        ck_assert_uint_le(r, 12);
        count[r]++;
    }
    for (int t = 2; t <= 12; t++) {
        double want = N * (6 - abs(t - 7)) / 36.0;
        ck_assert_msg(fabs(count[t] - want) < 5 * sqrt(want), "2d6 = %d: %d times, want %g", t, count[t], want);
    }
}
END_TEST

/* Side 1: one fragile ship and nine hulks of leadership ld; side 0 shoots
 * until the fragile one dies.  One loss of ten is a penalty of 0, so every
 * hulk tests once at exactly ld. */
static void rout_battle(uint64_t key, uint8_t ld, vr_battle_result *res, uint32_t *routed_ok)
{
    store *s = store_new();
    for (uint64_t i = 0; i < 10; i++)
        add(s, (ship){.id = 100 + i, .side = 0, .hull = 1e6f, .bs = 80, .attacks = 4, .strength = 50, .ld = 12});
    add(s, (ship){.id = 5, .side = 1, .hull = 1, .ld = ld});
    for (uint64_t i = 0; i < 9; i++)
        add(s, (ship){.id = 200 + i, .side = 1, .hull = 1e8f, .ld = ld});
    vr_ships v = view(s);
    uint32_t *rows = iota(s->n);
    vr_combat_params p = P;
    p.max_rounds = 30;
    ck_assert_int_eq(vr_combat_resolve(&p, &v, rows, s->n, key, res), 0);
    *routed_ok = 1;
    for (uint32_t i = 11; i < 20; i++) /* routed ships are alive and keep their hull */
        if (s->state[i] == VR_SHIP_ROUTED && !(s->hull[i] > 0.0f))
            *routed_ok = 0;
    free(rows);
    free(s);
}

START_TEST(test_morale_in_battle)
{
    vr_battle_result res;
    uint32_t ok;
    /* leadership 12 never fails at penalty 0; leadership 1 always fails */
    for (uint64_t key = 0; key < 20; key++) {
        rout_battle(key, 12, &res, &ok);
        ck_assert_uint_eq(res.destroyed[1], 1);
        ck_assert_uint_eq(res.routed[1], 0);
        ck_assert_uint_eq(res.end, VR_COMBAT_END_ROUND_LIMIT);
        rout_battle(key, 1, &res, &ok);
        ck_assert_uint_eq(res.destroyed[1], 1);
        ck_assert_uint_eq(res.routed[1], 9);
        ck_assert_uint_eq(res.end, VR_COMBAT_END_DECIDED);
        ck_assert_int_eq(res.winner, 0);
        ck_assert_uint_eq(ok, 1);
        ck_assert_uint_eq(res.routed[0] + res.destroyed[0], 0);
    }
    /* leadership 7: P(2d6 <= 7) = 21/36 pass */
    uint32_t tested = 0, routed = 0;
    for (uint64_t key = 0; key < 400; key++) {
        rout_battle(key, 7, &res, &ok);
        ck_assert_uint_eq(ok, 1);
        if (res.destroyed[1] == 1) {
            tested += 9;
            routed += res.routed[1];
        }
    }
    ck_assert_uint_gt(tested, 3000);
    double rate = (double)routed / tested;
    ck_assert_msg(fabs(rate - 15.0 / 36.0) < 0.04, "rout rate %g, want %g", rate, 15.0 / 36.0);
}
END_TEST

/* ---- whole battles ------------------------------------------------------ */

#define NS 60 /* ships of the order test: 30 v 30 */

typedef struct outcome {
    float hull[NS], shield[NS];
    uint8_t state[NS];
    vr_battle_result res;
} outcome;

/* Fights the NS ships of `key` stored at rows layout[0..NS) of a store that
 * also holds unrelated ships, listed in the order of perm; returns the
 * outcome by ship (index = id - 1000) and checks the bystanders. */
static void fight_layout(uint64_t key, const uint32_t *layout, const uint32_t *order, outcome *o)
{
    store *s = store_new();
    ship by = {.id = 1, .side = 0, .hull = 5, .shield = 5, .bs = 50, .attacks = 3, .strength = 99, .ld = 2};
    for (uint32_t r = 0; r < 2 * NS; r++) { /* bystanders everywhere first */
        by.id = 900000 + r;
        put(s, r, &by);
    }
    for (uint32_t i = 0; i < NS; i++) {
        ship x = random_ship(1000 + i, (uint8_t)(i % 2), key * 100 + i);
        put(s, layout[i], &x);
    }
    uint32_t rows[NS];
    for (uint32_t i = 0; i < NS; i++)
        rows[i] = layout[order[i]];
    vr_ships v = view(s);
    ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, NS, key, &o->res), 0);
    for (uint32_t i = 0; i < NS; i++) {
        uint32_t r = layout[i];
        ck_assert_uint_eq(s->id[r], 1000 + i);
        o->hull[i] = s->hull[r];
        o->shield[i] = s->shield[r];
        o->state[i] = s->state[r];
    }
    for (uint32_t r = 0; r < 2 * NS; r++)
        if (s->id[r] >= 900000) {
            ck_assert_float_eq(s->hull[r], 5.0f);
            ck_assert_uint_eq(s->state[r], 0);
        }
    free(s);
}

START_TEST(test_order_independence)
{
    for (uint64_t key = 1; key <= 4; key++) {
        uint32_t layout[NS], order[NS];
        for (uint32_t i = 0; i < NS; i++)
            layout[i] = order[i] = i;
        outcome base, o;
        memset(&base, 0, sizeof base);
        fight_layout(key, layout, order, &base);
        ck_assert_uint_gt(base.res.rounds, 1);
        ck_assert_uint_gt(base.res.destroyed[0] + base.res.destroyed[1], 0);
        for (uint32_t t = 0; t < 60; t++) {
            uint32_t all[2 * NS];
            for (uint32_t i = 0; i < 2 * NS; i++)
                all[i] = i;
            shuffle(all, 2 * NS, key * 7919 + t); /* where each ship is stored */
            memcpy(layout, all, sizeof layout);
            for (uint32_t i = 0; i < NS; i++)
                order[i] = i;
            shuffle(order, NS, key * 104729 + t); /* the order rows are listed */
            memset(&o, 0, sizeof o);
            fight_layout(key, layout, order, &o);
            ck_assert_msg(memcmp(&o, &base, sizeof o) == 0, "battle %llu permutation %u differs",
                          (unsigned long long)key, t);
        }
    }
}
END_TEST

START_TEST(test_determinism)
{
    uint32_t layout[NS], order[NS];
    for (uint32_t i = 0; i < NS; i++)
        layout[i] = order[i] = i;
    outcome a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    fight_layout(9, layout, order, &a);
    fight_layout(9, layout, order, &b);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    /* another seed is another battle (the randomness is really used) */
    store *s = store_new();
    for (uint32_t i = 0; i < NS; i++) {
        ship x = random_ship(1000 + i, (uint8_t)(i % 2), 9 * 100 + i);
        put(s, i, &x);
    }
    vr_ships v = view(s);
    vr_combat_params p = P;
    p.seed = P.seed + 1;
    ck_assert_int_eq(vr_combat_resolve(&p, &v, order, NS, 9, &c.res), 0);
    ck_assert(memcmp(s->hull, a.hull, sizeof a.hull) != 0 || memcmp(&c.res, &a.res, sizeof c.res) != 0);
    free(s);
}
END_TEST

START_TEST(test_deferred_delete)
{
    store *s = store_new();
    add(s, (ship){.id = 1, .side = 0, .hull = 1000, .bs = 90, .attacks = 30, .strength = 40, .ld = 12});
    /* leadership 255: the survivor never routs, whatever the penalty */
    add(s, (ship){.id = 2, .side = 1, .hull = 30, .ld = 255});
    add(s, (ship){.id = 3, .side = 1, .hull = 30, .ld = 255});
    add(s, (ship){.id = 4, .side = 1, .hull = 30, .ld = 255, .state = VR_SHIP_DESTROYED | 0x80});
    vr_ships v = view(s);
    uint32_t rows[] = {0, 1, 2, 3};
    vr_battle_result res;
    ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, 4, 77, &res), 0);
    ck_assert_int_eq(res.winner, 0);
    ck_assert_uint_eq(res.ships[1], 2); /* the already destroyed ship took no part */
    ck_assert_uint_eq(res.destroyed[1], 2);
    /* destroyed ships stay where they were, marked, for the caller to free */
    ck_assert_uint_eq(v.count, 4);
    for (uint32_t r = 1; r <= 2; r++) {
        ck_assert_uint_eq(s->id[r], r + 1);
        ck_assert_uint_eq(s->state[r], VR_SHIP_DESTROYED);
        ck_assert_float_eq(s->hull[r], 0.0f);
    }
    ck_assert_uint_eq(s->state[3], VR_SHIP_DESTROYED | 0x80);
    ck_assert_float_eq(s->hull[3], 30.0f);
    ck_assert_uint_eq(s->state[0], 0);
    free(s);
}
END_TEST

START_TEST(test_one_side_only)
{
    store *s = store_new();
    for (uint64_t i = 0; i < 5; i++)
        add(s, (ship){.id = 10 + i, .side = 1, .hull = 100, .bs = 50, .attacks = 5, .strength = 10, .ld = 7});
    add(s, (ship){.id = 3, .side = 0, .hull = 100, .ld = 7, .state = VR_SHIP_ROUTED}); /* already gone */
    vr_ships v = view(s);
    uint32_t *rows = iota(s->n);
    vr_battle_result res;
    ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, s->n, 1, &res), 0);
    ck_assert_uint_eq(res.rounds, 0);
    ck_assert_int_eq(res.winner, 1);
    ck_assert_uint_eq(res.end, VR_COMBAT_END_DECIDED);
    ck_assert_uint_eq(res.ships[1], 5);
    ck_assert_uint_eq(res.ships[0], 0);
    for (uint32_t r = 0; r < 5; r++)
        ck_assert_float_eq(s->hull[r], 100.0f);
    free(rows);
    free(s);
}
END_TEST

START_TEST(test_round_limit)
{
    store *s = store_new();
    add(s, (ship){.id = 1, .side = 0, .hull = 1e6f, .bs = 50, .attacks = 5, .strength = 10, .ld = 12});
    add(s, (ship){.id = 2, .side = 1, .hull = 1e6f, .bs = 50, .attacks = 5, .strength = 10, .ld = 12});
    vr_ships v = view(s);
    uint32_t rows[] = {0, 1};
    vr_battle_result res;
    vr_combat_params p = P;
    p.max_rounds = 3;
    ck_assert_int_eq(vr_combat_resolve(&p, &v, rows, 2, 1, &res), 0);
    ck_assert_uint_eq(res.rounds, 3);
    ck_assert_uint_eq(res.end, VR_COMBAT_END_ROUND_LIMIT);
    ck_assert_int_eq(res.winner, VR_COMBAT_DRAW);
    ck_assert(s->hull[0] < 1e6f && s->hull[1] < 1e6f);
    p.max_rounds = 0; /* the default */
    ck_assert_int_eq(vr_combat_resolve(&p, &v, rows, 2, 1, &res), 0);
    ck_assert_uint_eq(res.rounds, VR_COMBAT_MAX_ROUNDS);

    /* no damage at all: a stalemate after no_damage_rounds */
    s->strength[0] = s->strength[1] = 0.0f;
    p.no_damage_rounds = 4;
    ck_assert_int_eq(vr_combat_resolve(&p, &v, rows, 2, 1, &res), 0);
    ck_assert_uint_eq(res.rounds, 4);
    ck_assert_uint_eq(res.end, VR_COMBAT_END_STALEMATE);
    ck_assert_int_eq(res.winner, VR_COMBAT_DRAW);
    free(s);
}
END_TEST

/* Snapshot of the mutable columns: bad input must leave them as they were. */
static int same_as(const store *a, const store *b) { return memcmp(a, b, sizeof *a) == 0; }

START_TEST(test_bad_input)
{
    store *s = store_new();
    for (uint32_t i = 0; i < 8; i++) {
        ship x = random_ship(50 + i, (uint8_t)(i % 2), i);
        put(s, i, &x);
    }
    store *before = store_new();
    memcpy(before, s, sizeof *s);
    vr_ships v = view(s);
    uint32_t *rows = iota(8);
    vr_battle_result res;

    ck_assert_int_eq(vr_combat_resolve(NULL, &v, rows, 8, 1, &res), -VR_EBADARG);
    ck_assert_int_eq(vr_combat_resolve(&P, NULL, rows, 8, 1, &res), -VR_EBADARG);
    ck_assert_int_eq(vr_combat_resolve(&P, &v, NULL, 8, 1, &res), -VR_EBADARG);
    ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, 8, 1, NULL), -VR_EBADARG);
    ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, 0, 1, &res), -VR_EBADARG);
    vr_ships nocol = v;
    nocol.hull = NULL;
    ck_assert_int_eq(vr_combat_resolve(&P, &nocol, rows, 8, 1, &res), -VR_EBADARG);
    uint32_t far[] = {0, 1, 8};
    ck_assert_int_eq(vr_combat_resolve(&P, &v, far, 3, 1, &res), -VR_EBADARG);
    uint32_t dup[] = {0, 1, 2, 1};
    ck_assert_int_eq(vr_combat_resolve(&P, &v, dup, 4, 1, &res), -VR_EBADARG);
    ck_assert(same_as(s, before));

    /* one bad stat on the last ship listed: nothing is fought */
#define BAD(field, value)                                                                      \
    do {                                                                                       \
        s->field[7] = value;                                                                   \
        ck_assert_int_eq(vr_combat_resolve(&P, &v, rows, 8, 1, &res), -VR_EBADARG);           \
        s->field[7] = before->field[7];                                                        \
        ck_assert(same_as(s, before));                                                         \
    } while (0)
    BAD(bs, 101);
    BAD(md, 101);
    BAD(side, 2);
    BAD(hull, NAN);
    BAD(hull, 0.0f);
    BAD(hull, -1.0f);
    BAD(shield, -1.0f);
    BAD(shield, INFINITY);
    BAD(armor, -1.0f);
    BAD(strength, NAN);
    BAD(ap, 1.0f);
    BAD(id, 50); /* duplicate id */
#undef BAD

    /* resolve_all: overlapping battles, ranges past the rows */
    vr_battle bt[2] = {{.key = 1, .first = 0, .count = 4}, {.key = 2, .first = 3, .count = 5}};
    vr_battle_result r2[2];
    ck_assert_int_eq(vr_combat_resolve_all(&P, &v, rows, 8, bt, 2, r2), -VR_EBADARG);
    bt[1].first = 4;
    bt[1].count = 5;
    ck_assert_int_eq(vr_combat_resolve_all(&P, &v, rows, 8, bt, 2, r2), -VR_EBADARG);
    bt[1].count = 0;
    ck_assert_int_eq(vr_combat_resolve_all(&P, &v, rows, 8, bt, 2, r2), -VR_EBADARG);
    /* a bad stat in the second battle: the first is not fought either */
    bt[1].count = 4;
    s->bs[6] = 200;
    ck_assert_int_eq(vr_combat_resolve_all(&P, &v, rows, 8, bt, 2, r2), -VR_EBADARG);
    s->bs[6] = before->bs[6];
    ck_assert(same_as(s, before));
    ck_assert_int_eq(vr_combat_resolve_all(&P, &v, rows, 8, bt, 2, r2), 0);
    ck_assert(!same_as(s, before));
    free(rows);
    free(before);
    free(s);
}
END_TEST

START_TEST(test_resolve_all)
{
    enum { NB = 12, PER = 10 };
    store *a = store_new(), *b = store_new();
    for (uint32_t i = 0; i < NB * PER; i++) {
        ship x = random_ship(5000 + i, (uint8_t)(i % 2), 77 + i);
        put(a, i, &x);
    }
    memcpy(b, a, sizeof *a);
    uint32_t *rows = iota(NB * PER);
    vr_battle bt[NB];
    vr_battle_result all[NB], one;
    for (uint32_t k = 0; k < NB; k++)
        bt[k] = (vr_battle){.key = 1000 + k, .first = k * PER, .count = PER};
    vr_ships va = view(a), vb = view(b);
    ck_assert_int_eq(vr_combat_resolve_all(&P, &va, rows, NB * PER, bt, NB, all), 0);
    /* the same as one battle at a time, in reverse order */
    for (uint32_t k = NB; k-- > 0;) {
        ck_assert_int_eq(vr_combat_resolve(&P, &vb, rows + k * PER, PER, 1000 + k, &one), 0);
        ck_assert(memcmp(&one, &all[k], sizeof one) == 0);
    }
    ck_assert(memcmp(a, b, sizeof *a) == 0);
    free(rows);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_find_battles)
{
    store *s = store_new();
    uint32_t loc[CAP];
    /* node 5: both sides; node 3: side 0 only; node 9: side 1 and a routed
     * side 0 ship (no battle); node 2: both sides */
    const struct {
        uint64_t id;
        uint8_t side;
        uint32_t loc;
        uint8_t state;
    } d[] = {{11, 0, 5, 0}, {12, 1, 5, 0}, {13, 0, 3, 0}, {14, 0, 3, 0}, {15, 1, 9, 0},
             {16, 0, 9, VR_SHIP_ROUTED}, {17, 1, 5, 0}, {18, 0, 2, 0}, {19, 1, 2, 0}, {10, 1, 2, 0}};
    const uint32_t nd = sizeof d / sizeof d[0];
    for (uint32_t i = 0; i < nd; i++) {
        uint32_t r = add(s, (ship){.id = d[i].id, .side = d[i].side, .hull = 1, .state = d[i].state});
        loc[r] = d[i].loc;
    }
    vr_ships v = view(s);
    uint32_t *rows = iota(nd), out[CAP], nb = 0;
    vr_battle bt[CAP];
    ck_assert_int_eq(vr_combat_find_battles(&v, loc, rows, nd, out, bt, &nb), 0);
    ck_assert_uint_eq(nb, 2);
    ck_assert_uint_eq(bt[0].key, 2);
    ck_assert_uint_eq(bt[0].count, 3);
    ck_assert_uint_eq(bt[1].key, 5);
    ck_assert_uint_eq(bt[1].count, 3);
    const uint64_t want_ids[] = {10, 18, 19, 11, 12, 17};
    for (uint32_t i = 0; i < 6; i++)
        ck_assert_uint_eq(s->id[out[bt[0].first + i]], want_ids[i]);
    /* the same whatever the order of rows */
    for (uint64_t t = 0; t < 10; t++) {
        uint32_t out2[CAP], nb2 = 0;
        vr_battle bt2[CAP];
        shuffle(rows, nd, t);
        ck_assert_int_eq(vr_combat_find_battles(&v, loc, rows, nd, out2, bt2, &nb2), 0);
        ck_assert_uint_eq(nb2, nb);
        ck_assert(memcmp(out2, out, 6 * sizeof *out) == 0);
        ck_assert(memcmp(bt2, bt, nb * sizeof *bt) == 0);
    }
    /* and it feeds resolve_all */
    vr_battle_result res[2];
    s->bs[0] = 50;
    ck_assert_int_eq(vr_combat_resolve_all(&P, &v, out, 6, bt, nb, res), 0);
    ck_assert_uint_eq(res[0].ships[0] + res[0].ships[1], 3);
    free(rows);
    free(s);
}
END_TEST

static Suite *combat_suite(void)
{
    Suite *s = suite_create("combat");
    TCase *tf = tcase_create("formulas");
    tcase_set_timeout(tf, 30);
    tcase_add_test(tf, test_hit_probability);
    tcase_add_test(tf, test_mitigation);
    tcase_add_test(tf, test_shields_before_hull);
    tcase_add_test(tf, test_binomial);
    tcase_add_test(tf, test_morale_thresholds);
    tcase_add_test(tf, test_morale_in_battle);
    suite_add_tcase(s, tf);
    TCase *tb = tcase_create("battles");
    tcase_set_timeout(tb, 30);
    tcase_add_test(tb, test_order_independence);
    tcase_add_test(tb, test_determinism);
    tcase_add_test(tb, test_deferred_delete);
    tcase_add_test(tb, test_one_side_only);
    tcase_add_test(tb, test_round_limit);
    tcase_add_test(tb, test_bad_input);
    tcase_add_test(tb, test_resolve_all);
    tcase_add_test(tb, test_find_battles);
    suite_add_tcase(s, tb);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(combat_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
