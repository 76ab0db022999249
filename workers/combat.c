/* combat.c: battles in rounds of shooting, damage, morale and victory check.
 *
 * A battle is gathered from the caller's columns into a small array of
 * structs (one cache line or so per ship, sorted by entity id), fought there,
 * and scattered back (hull, shield, state).  Gathering first means all checks
 * run before anything is written, the hot loop touches a few KiB, and the
 * canonical order is the array order.  Rules, formulas and the determinism
 * argument are in combat.h.
 */
#include "combat.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN 0x9e3779b97f4a7c15ull

/* One ship during a battle. */
typedef struct cship {
    uint64_t id;
    uint64_t h;    /* vr_mix64 of the id: the ship's part of every draw key */
    double in;     /* damage taken this round, summed in attacker id order */
    double skill;  /* max(15, bs+5)/100: the attacker's part of p */
    double evade;  /* 1 - 0.5*md/100: the target's part of p */
    float hull, shield, armor, strength, ap;
    uint32_t row;
    uint16_t attacks;
    uint8_t bs, md, ld, side, state;
} cship;

/* Scratch of one battle: ships and active lists. */
typedef struct scratch {
    cship *s;
    cship *tmp; /* merge sort buffer */
    uint32_t *act; /* 2 * cap: the active ships of side 0, then of side 1 */
    uint32_t cap;
} scratch;

static int scratch_init(scratch *w, uint32_t n)
{
    w->cap = n;
    w->s = malloc((size_t)n * sizeof *w->s);
    w->tmp = malloc((size_t)n * sizeof *w->tmp);
    w->act = malloc(2 * (size_t)n * sizeof *w->act);
    if (!w->s || !w->tmp || !w->act) {
        free(w->s);
        free(w->tmp);
        free(w->act);
        return -ENOMEM;
    }
    return 0;
}

static void scratch_fini(scratch *w)
{
    free(w->s);
    free(w->tmp);
    free(w->act);
}

/* ---- formulas ---------------------------------------------------------- */

/* The three parts of the hit probability.  fight() computes them once per
 * ship or side and round and combines them with hit_p_of(); the public
 * function combines the same parts the same way, so both give the same
 * bits. */
static double p_skill(unsigned bs)
{
    double skill = (double)bs + 5.0;
    if (skill < 15.0)
        skill = 15.0;
    return skill / 100.0;
}

static double p_batch(uint64_t n)
{
    double batch = (double)n / 1000.0;
    return batch > 0.2 ? 0.2 : batch;
}

static double p_evade(unsigned md) { return 1.0 - 0.5 * (double)md / 100.0; }

static double hit_p_of(double skill, double batch, double evade)
{
    double p = (skill + batch) * evade;
    p = p < 0.05 ? 0.05 : p;
    return p > 0.95 ? 0.95 : p;
}

double vr_combat_hit_p(unsigned bs, uint32_t n, unsigned md)
{
    return hit_p_of(p_skill(bs), p_batch(n), p_evade(md));
}

float vr_combat_hit_damage(float strength, float armor, float ap)
{
    float a = armor + ap;
    if (a < 0.0f)
        a = 0.0f;
    float d = strength - a;
    return d > 0.0f ? d : 0.0f;
}

double vr_combat_apply_damage(float *shield, float *hull, double dmg)
{
    /* min/max, no branches: the battle loop calls this for every active
     * ship every round, hit or not (0 damage changes nothing) */
    double d = dmg > 0.0 ? dmg : 0.0;
    double sh = *shield, hl = *hull;
    double absorbed = d < sh ? d : sh;
    double rest = d - absorbed;
    double hpos = hl > 0.0 ? hl : 0.0;
    double lost = rest < hpos ? rest : hpos; /* hull below 0 is not damage done */
    *shield = (float)(sh - absorbed);
    *hull = (float)(hl - rest);
    return absorbed + lost;
}

/* x^m by squaring: multiplications only, so bit-identical everywhere. */
static double powi(double x, uint32_t m)
{
    double r = 1.0;
    while (m) {
        if (m & 1u)
            r *= x;
        x *= x;
        m >>= 1;
    }
    return r;
}

/* Binomial(m, q), m <= 1000, q <= 1/2, by inverting the CDF at u. */
static uint32_t binom_invert(double u, uint32_t m, double q)
{
    double f = powi(1.0 - q, m); /* >= 2^-1000: a normal double */
    double ratio = q / (1.0 - q);
    double cdf = f;
    uint32_t k = 0;
    while (u >= cdf && k < m) {
        f = f * ((double)(m - k) / (double)(k + 1)) * ratio;
        k++;
        cdf += f;
        /* past the mode the terms only shrink: a term that underflowed
         * means the rest of the CDF is rounding noise */
        if (f == 0.0)
            break;
    }
    return k;
}

uint32_t vr_combat_binomial(uint64_t key, uint32_t n, double p)
{
    if (n == 0 || !(p > 0.0))
        return 0;
    if (p >= 1.0)
        return n;
    if (n <= VR_COMBAT_BERNOULLI_MAX) {
        /* p * 2^32 may round up to 2^32 for p within 2^-33 of 1: all hits */
        const uint64_t thr = (uint64_t)(p * 4294967296.0);
        uint32_t hits = 0;
        uint64_t j = 1;
        for (; 2 * j <= n; j++) { /* trials 2j-2 and 2j-1 from draw j */
            uint64_t r = vr_mix64(key + j * GOLDEN);
            hits += ((r & 0xffffffffu) < thr) + ((r >> 32) < thr);
        }
        if (n & 1u)
            hits += (vr_mix64(key + j * GOLDEN) & 0xffffffffu) < thr;
        return hits;
    }
    int flip = p > 0.5;
    double q = flip ? 1.0 - p : p;
    uint32_t x = 0, left = n;
    for (uint64_t j = 1; left; j++) {
        uint32_t m = left < 1000u ? left : 1000u;
        double u = (double)(vr_mix64(key + j * GOLDEN) >> 11) * 0x1p-53;
        x += binom_invert(u, m, q);
        left -= m;
    }
    return flip ? n - x : x;
}

unsigned vr_combat_2d6(uint64_t r)
{
    unsigned a = 1u + (unsigned)(((r & 0xffffffffu) * 6u) >> 32);
    unsigned b = 1u + (unsigned)(((r >> 32) * 6u) >> 32);
    return a + b;
}

unsigned vr_combat_morale_penalty(uint32_t lost, uint32_t started, uint32_t scale)
{
    if (started == 0)
        return 0;
    return (unsigned)((uint64_t)lost * scale / started);
}

int vr_combat_morale_passes(unsigned roll, unsigned leadership, unsigned penalty)
{
    return (int64_t)roll <= (int64_t)leadership - (int64_t)penalty;
}

/* ---- gathering --------------------------------------------------------- */

static int soa_ok(const vr_ships *v)
{
    return v && v->id && v->side && v->hull && v->shield && v->armor && v->bs && v->attacks &&
           v->strength && v->ap && v->md && v->leadership && v->state;
}

static int finite_ge0(float x) { return isfinite(x) && x >= 0.0f; }

/* Bottom-up merge sort by id (stable, n log n, no recursion). */
static void sort_by_id(cship *a, cship *tmp, uint32_t n)
{
    if (n <= 24) { /* insertion sort: cheap, and linear for sorted input */
        for (uint32_t i = 1; i < n; i++) {
            cship x = a[i];
            uint32_t j = i;
            while (j > 0 && a[j - 1].id > x.id) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    cship *src = a, *dst = tmp;
    for (uint32_t w = 1; w < n; w *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = lo + w < n ? lo + w : n;
            uint32_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].id < src[i].id ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        cship *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, (size_t)n * sizeof *a);
}

/* Checks and gathers the participants of rows[0..n) into w->s, sorted by
 * id; *m gets their number.  Writes nothing outside w. */
static int gather(const vr_ships *v, const uint32_t *rows, uint32_t n, scratch *w, uint32_t *m)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rows[i];
        if (r >= v->count)
            return -VR_EBADARG;
        if (v->state[r] & VR_SHIP_OUT)
            continue;
        if (v->side[r] > 1 || v->bs[r] > 100 || v->md[r] > 100 || !(isfinite(v->hull[r]) && v->hull[r] > 0.0f) ||
            !finite_ge0(v->shield[r]) || !finite_ge0(v->armor[r]) || !finite_ge0(v->strength[r]) ||
            !isfinite(v->ap[r]) || v->ap[r] > 0.0f)
            return -VR_EBADARG;
        cship *s = &w->s[k++];
        s->id = v->id[r];
        s->h = vr_mix64(s->id ^ 0x5bd1e9955bd1e995ull);
        s->in = 0.0;
        s->hull = v->hull[r];
        s->shield = v->shield[r];
        s->armor = v->armor[r];
        s->strength = v->strength[r];
        s->ap = v->ap[r];
        s->row = r;
        s->attacks = v->attacks[r];
        s->bs = v->bs[r];
        s->md = v->md[r];
        s->ld = v->leadership[r];
        s->skill = p_skill(s->bs);
        s->evade = p_evade(s->md);
        s->side = v->side[r];
        s->state = 0;
    }
    sort_by_id(w->s, w->tmp, k);
    for (uint32_t i = 1; i < k; i++)
        if (w->s[i].id == w->s[i - 1].id)
            return -VR_EBADARG;
    *m = k;
    return 0;
}

static void scatter(vr_ships *v, const scratch *w, uint32_t m)
{
    for (uint32_t i = 0; i < m; i++) {
        const cship *s = &w->s[i];
        v->hull[s->row] = s->hull;
        v->shield[s->row] = s->shield;
        v->state[s->row] |= s->state;
    }
}

/* ---- the battle -------------------------------------------------------- */

static uint32_t pick(uint32_t d, uint32_t def) { return d ? d : def; }

static void fight(const vr_combat_params *p, scratch *w, uint32_t m, uint64_t key, vr_battle_result *res)
{
    cship *restrict s = w->s;
    const uint32_t max_rounds = pick(p->max_rounds, VR_COMBAT_MAX_ROUNDS);
    const uint32_t quiet_max = pick(p->no_damage_rounds, VR_COMBAT_NO_DAMAGE_ROUNDS);
    const uint32_t scale = pick(p->morale_loss_penalty, VR_COMBAT_MORALE_LOSS_PENALTY);
    const uint64_t kf = vr_rand(p->seed, p->universe, p->turn, key, pick(p->stream_fire, VR_RS_COMBAT_FIRE));
    const uint64_t km = vr_rand(p->seed, p->universe, p->turn, key, pick(p->stream_morale, VR_RS_COMBAT_MORALE));

    /* the active ships of each side, in id order, kept compact round by
     * round; batch[] is the attacks they fire */
    uint32_t *list[2] = {w->act, w->act + m};
    uint32_t na[2] = {0, 0};
    uint64_t batch[2] = {0, 0};
    memset(res, 0, sizeof *res);
    for (uint32_t i = 0; i < m; i++) {
        uint32_t sd = s[i].side;
        res->ships[sd]++;
        list[sd][na[sd]++] = i;
        batch[sd] += s[i].attacks;
    }

    uint32_t quiet = 0, round = 0;
    for (;;) {
        /* 4. (of the previous round) victory check */
        if (na[0] == 0 || na[1] == 0) {
            res->end = VR_COMBAT_END_DECIDED;
            res->winner = na[0] ? 0 : na[1] ? 1 : VR_COMBAT_DRAW;
            break;
        }
        if (quiet >= quiet_max) {
            res->end = VR_COMBAT_END_STALEMATE;
            res->winner = VR_COMBAT_DRAW;
            break;
        }
        if (round >= max_rounds) {
            res->end = VR_COMBAT_END_ROUND_LIMIT;
            res->winner = VR_COMBAT_DRAW;
            break;
        }
        round++;

        /* 1. shooting: everyone fires at the state of the round's start */
        const uint64_t kr = vr_mix64(kf + round * GOLDEN);
        for (uint32_t side = 0; side < 2; side++) {
            const uint32_t *restrict own = list[side], *restrict en = list[side ^ 1u];
            const uint64_t ne = na[side ^ 1u];
            const double pb = p_batch(batch[side]);
            uint64_t hits_side = 0;
            for (uint32_t a = 0; a < na[side]; a++) {
                const cship *at = &s[own[a]];
                uint64_t rk = vr_mix64(at->h ^ kr);
                cship *t = &s[en[((rk >> 32) * ne) >> 32]];
                double hp = hit_p_of(at->skill, pb, t->evade);
                uint32_t hits = vr_combat_binomial(rk, at->attacks, hp);
                hits_side += hits;
                t->in += (double)hits * (double)vr_combat_hit_damage(at->strength, t->armor, at->ap);
            }
            res->hits[side] += hits_side;
        }

        /* 2. damage, each side in id order */
        uint32_t killed[2] = {0, 0};
        double done = 0.0;
        for (uint32_t side = 0; side < 2; side++) {
            double taken = 0.0;
            for (uint32_t a = 0; a < na[side]; a++) {
                cship *t = &s[list[side][a]];
                taken += vr_combat_apply_damage(&t->shield, &t->hull, t->in);
                t->in = 0.0;
                if (t->hull <= 0.0f) {
                    t->hull = 0.0f;
                    t->state = VR_SHIP_DESTROYED;
                    killed[side]++;
                }
            }
            res->damage[side ^ 1u] += taken;
            done += taken;
        }
        quiet = done > 0.0 ? 0 : quiet + 1;

        /* 3. morale: a side that lost ships this round tests its survivors */
        const uint64_t kmr = vr_mix64(km + round * GOLDEN);
        for (uint32_t side = 0; side < 2; side++) {
            if (!killed[side])
                continue;
            res->destroyed[side] += killed[side];
            unsigned pen = vr_combat_morale_penalty(res->destroyed[side], res->ships[side], scale);
            for (uint32_t a = 0; a < na[side]; a++) {
                cship *t = &s[list[side][a]];
                if (t->state)
                    continue;
                unsigned roll = vr_combat_2d6(vr_mix64(t->h ^ kmr));
                if (!vr_combat_morale_passes(roll, t->ld, pen)) {
                    t->state = VR_SHIP_ROUTED;
                    res->routed[side]++;
                }
            }
            /* the survivors stay in id order */
            uint32_t *restrict l = list[side];
            uint32_t k = 0;
            uint64_t att = 0;
            for (uint32_t a = 0; a < na[side]; a++) {
                uint32_t x = l[a];
                uint32_t keep = s[x].state == 0;
                l[k] = x;
                k += keep;
                att += keep ? s[x].attacks : 0u;
            }
            na[side] = k;
            batch[side] = att;
        }
    }
    res->rounds = round;
}

int vr_combat_resolve(const vr_combat_params *p, vr_ships *soa, const uint32_t *rows, uint32_t n,
                      uint64_t battle_key, vr_battle_result *out)
{
    if (!p || !soa_ok(soa) || !rows || !out || n == 0)
        return -VR_EBADARG;
    scratch w;
    if (scratch_init(&w, n) != 0)
        return -ENOMEM;
    uint32_t m;
    int rc = gather(soa, rows, n, &w, &m);
    if (rc == 0) {
        fight(p, &w, m, battle_key, out);
        scatter(soa, &w, m);
    }
    scratch_fini(&w);
    return rc;
}

int vr_combat_resolve_all(const vr_combat_params *p, vr_ships *soa, const uint32_t *rows, uint32_t nrows,
                          const vr_battle *battles, uint32_t nb, vr_battle_result *out)
{
    if (!p || !soa_ok(soa) || (nb && (!rows || !battles || !out)))
        return -VR_EBADARG;
    if (nb == 0)
        return 0;
    uint32_t cap = 0;
    for (uint32_t b = 0; b < nb; b++) {
        if (battles[b].count == 0 || battles[b].first > nrows || battles[b].count > nrows - battles[b].first)
            return -VR_EBADARG;
        if (battles[b].count > cap)
            cap = battles[b].count;
    }
    /* disjointness: one bit per row of the columns */
    uint64_t *seen = calloc((size_t)soa->count / 64 + 1, sizeof *seen);
    if (!seen)
        return -ENOMEM;
    int rc = 0;
    for (uint32_t b = 0; b < nb && rc == 0; b++)
        for (uint32_t i = 0; i < battles[b].count; i++) {
            uint32_t r = rows[battles[b].first + i];
            if (r >= soa->count || (seen[r / 64] >> (r % 64) & 1u)) {
                rc = -VR_EBADARG;
                break;
            }
            seen[r / 64] |= 1ull << (r % 64);
        }
    free(seen);
    if (rc != 0)
        return rc;
    scratch w;
    if (scratch_init(&w, cap) != 0)
        return -ENOMEM;
    uint32_t m;
    for (uint32_t b = 0; b < nb && rc == 0; b++) /* check everything first */
        rc = gather(soa, rows + battles[b].first, battles[b].count, &w, &m);
    for (uint32_t b = 0; b < nb && rc == 0; b++) {
        gather(soa, rows + battles[b].first, battles[b].count, &w, &m);
        fight(p, &w, m, battles[b].key, &out[b]);
        scatter(soa, &w, m);
    }
    scratch_fini(&w);
    return rc;
}

/* ---- where enemies meet ------------------------------------------------ */

typedef struct lrow {
    uint64_t id;
    uint32_t loc, row;
} lrow;

static int lrow_cmp(const void *a, const void *b)
{
    const lrow *x = a, *y = b;
    if (x->loc != y->loc)
        return x->loc < y->loc ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

int vr_combat_find_battles(const vr_ships *soa, const uint32_t *loc, const uint32_t *rows, uint32_t n,
                           uint32_t *rows_out, vr_battle *battles_out, uint32_t *nb)
{
    if (!soa || !soa->id || !soa->side || !soa->state || !loc || !nb || (n && (!rows || !rows_out || !battles_out)))
        return -VR_EBADARG;
    *nb = 0;
    if (n == 0)
        return 0;
    lrow *l = malloc((size_t)n * sizeof *l);
    if (!l)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rows[i];
        if (r >= soa->count || soa->side[r] > 1) {
            free(l);
            return -VR_EBADARG;
        }
        if (soa->state[r] & VR_SHIP_OUT)
            continue;
        l[k++] = (lrow){.id = soa->id[r], .loc = loc[r], .row = r};
    }
    qsort(l, k, sizeof *l, lrow_cmp);
    uint32_t out = 0, nbat = 0;
    for (uint32_t i = 0; i < k;) {
        uint32_t j = i, sides = 0;
        while (j < k && l[j].loc == l[i].loc)
            sides |= 1u << soa->side[l[j++].row];
        if (sides == 3u) {
            battles_out[nbat++] = (vr_battle){.key = l[i].loc, .first = out, .count = j - i};
            for (uint32_t q = i; q < j; q++)
                rows_out[out++] = l[q].row;
        }
        i = j;
    }
    free(l);
    *nb = nbat;
    return 0;
}
