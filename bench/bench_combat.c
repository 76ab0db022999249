/* bench_combat.c: how fast workers/combat.c resolves battles, beside a floor.
 *
 * Targets (the combat issue): a 100-ship battle (50 v 50) in under 50 us, and
 * 1,000 concurrent battles in one turn.  Ships get stats from the content
 * pack's ranges (procedural_roster.json base_stats: corvette..cruiser hulls
 * 800..6400, shields 0..750; weapon_registry.json: strength 10..60 per hit,
 * ap -4..0, a ship's weapons summing to 2..16 attacks).
 *
 * The floor is a plain loop that touches the same ship data the same number
 * of times as the battles did (every participant, every round: read its
 * stats through the row index, write hull and shield), without the formulas
 * and the random draws.  The gap between the two is the cost of the rules.
 * Each figure is the best of several repetitions; the columns are restored
 * from a master copy between repetitions, outside the timed part.
 *
 * Usage: vr-bench-combat [battles (default 1000)] [ships per battle (100)]
 */
#include "combat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPS 5

typedef struct cols {
    uint64_t *id;
    uint8_t *side, *bs, *md, *ld, *state;
    float *hull, *shield, *armor, *strength, *ap;
    uint16_t *attacks;
    uint32_t n;
} cols;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_combat: malloc(%zu) failed\n", n);
        exit(1);
    }
    return p;
}

static void cols_alloc(cols *c, uint32_t n)
{
    c->n = n;
    c->id = xmalloc(n * sizeof *c->id);
    c->side = xmalloc(n);
    c->bs = xmalloc(n);
    c->md = xmalloc(n);
    c->ld = xmalloc(n);
    c->state = xmalloc(n);
    c->hull = xmalloc(n * sizeof(float));
    c->shield = xmalloc(n * sizeof(float));
    c->armor = xmalloc(n * sizeof(float));
    c->strength = xmalloc(n * sizeof(float));
    c->ap = xmalloc(n * sizeof(float));
    c->attacks = xmalloc(n * sizeof(uint16_t));
}

static void cols_free(cols *c)
{
    free(c->id);
    free(c->side);
    free(c->bs);
    free(c->md);
    free(c->ld);
    free(c->state);
    free(c->hull);
    free(c->shield);
    free(c->armor);
    free(c->strength);
    free(c->ap);
    free(c->attacks);
}

/* Restores the columns a battle writes. */
static void cols_restore(cols *dst, const cols *src)
{
    memcpy(dst->hull, src->hull, src->n * sizeof(float));
    memcpy(dst->shield, src->shield, src->n * sizeof(float));
    memcpy(dst->state, src->state, src->n);
}

static vr_ships view(cols *c)
{
    return (vr_ships){.id = c->id, .side = c->side, .hull = c->hull, .shield = c->shield, .armor = c->armor,
                      .bs = c->bs, .attacks = c->attacks, .strength = c->strength, .ap = c->ap, .md = c->md,
                      .leadership = c->ld, .state = c->state, .count = c->n};
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of this thread: what the work cost even when other processes
 * share the two cores (wall time then includes their slices). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t k) { return vr_mix64(k * 0x9e3779b97f4a7c15ull + 0x1234567); }

int main(int argc, char **argv)
{
    uint32_t nb = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000;
    uint32_t per = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100;
    if (nb == 0 || per < 2 || (uint64_t)nb * per > 50000000u) {
        fprintf(stderr, "usage: %s [battles >= 1] [ships per battle >= 2]\n", argv[0]);
        return 2;
    }
    const uint32_t n = nb * per;
    cols master, work;
    cols_alloc(&master, n);
    cols_alloc(&work, n);
    /* ships stored in a shuffled order (fleets interleave in an arena) */
    uint32_t *rows = xmalloc(n * sizeof *rows);
    for (uint32_t i = 0; i < n; i++)
        rows[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)(rnd(i) % i), t = rows[i - 1];
        rows[i - 1] = rows[j];
        rows[j] = t;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = rows[i];
        uint64_t a = rnd(3 * (uint64_t)i + 1), b = rnd(3 * (uint64_t)i + 2);
        master.id[r] = ((uint64_t)(i + 1) << 20) | (a & 0xfffff);
        master.side[r] = (uint8_t)(i % per < per / 2 ? 0 : 1);
        master.hull[r] = 800.0f + (float)(a % 5600);
        master.shield[r] = (float)((a >> 16) % 751);
        master.armor[r] = (float)((a >> 28) % 11);
        master.bs[r] = (uint8_t)(30 + (a >> 32) % 51);
        master.attacks[r] = (uint16_t)(2 + (a >> 40) % 15);
        master.strength[r] = 10.0f + (float)((a >> 48) % 51);
        master.ap[r] = -(float)(b % 5);
        master.md[r] = (uint8_t)((b >> 8) % 31);
        master.ld[r] = (uint8_t)(6 + (b >> 16) % 5);
        master.state[r] = 0;
    }
    memcpy(work.id, master.id, n * sizeof *work.id);
    memcpy(work.side, master.side, n);
    memcpy(work.bs, master.bs, n);
    memcpy(work.md, master.md, n);
    memcpy(work.ld, master.ld, n);
    memcpy(work.armor, master.armor, n * sizeof(float));
    memcpy(work.strength, master.strength, n * sizeof(float));
    memcpy(work.ap, master.ap, n * sizeof(float));
    memcpy(work.attacks, master.attacks, n * sizeof(uint16_t));
    vr_ships v = view(&work);

    vr_battle *bt = xmalloc(nb * sizeof *bt);
    for (uint32_t b = 0; b < nb; b++)
        bt[b] = (vr_battle){.key = 7000 + b, .first = b * per, .count = per};
    vr_battle_result *res = xmalloc(nb * sizeof *res);
    const vr_combat_params p = {.seed = 42, .turn = 1, .universe = 0};

    /* one battle per call */
    double best_one = 1e30, cpu_one = 1e30;
    uint64_t ship_rounds = 0, rounds = 0, routed = 0, destroyed = 0, decided = 0;
    for (int rep = 0; rep < REPS; rep++) {
        cols_restore(&work, &master);
        double t0 = now(), c0 = cpu_now();
        for (uint32_t b = 0; b < nb; b++)
            if (vr_combat_resolve(&p, &v, rows + bt[b].first, per, bt[b].key, &res[b]) != 0) {
                fprintf(stderr, "vr_combat_resolve(battle %u) failed\n", b);
                return 1;
            }
        double t = now() - t0, c = cpu_now() - c0;
        if (t < best_one)
            best_one = t;
        if (c < cpu_one)
            cpu_one = c;
    }
    for (uint32_t b = 0; b < nb; b++) {
        rounds += res[b].rounds;
        ship_rounds += (uint64_t)res[b].rounds * per;
        routed += res[b].routed[0] + res[b].routed[1];
        destroyed += res[b].destroyed[0] + res[b].destroyed[1];
        decided += res[b].end == VR_COMBAT_END_DECIDED;
    }

    /* all battles in one call */
    double best_all = 1e30, cpu_all = 1e30;
    for (int rep = 0; rep < REPS; rep++) {
        cols_restore(&work, &master);
        double t0 = now(), c0 = cpu_now();
        if (vr_combat_resolve_all(&p, &v, rows, n, bt, nb, res) != 0) {
            fprintf(stderr, "vr_combat_resolve_all(%u battles) failed\n", nb);
            return 1;
        }
        double t = now() - t0, c = cpu_now() - c0;
        if (t < best_all)
            best_all = t;
        if (c < cpu_all)
            cpu_all = c;
    }

    /* finding the battles: every ship at one of nb locations */
    uint32_t *loc = xmalloc(n * sizeof *loc), *found = xmalloc(n * sizeof *found), nfound = 0;
    vr_battle *fb = xmalloc((n / 2 + 1) * sizeof *fb);
    for (uint32_t i = 0; i < n; i++)
        loc[rows[i]] = i / per;
    double best_find = 1e30;
    cols_restore(&work, &master); /* everyone back in the fight */
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now();
        if (vr_combat_find_battles(&v, loc, rows, n, found, fb, &nfound) != 0) {
            fprintf(stderr, "vr_combat_find_battles failed\n");
            return 1;
        }
        double t = now() - t0;
        if (t < best_find)
            best_find = t;
    }

    /* the floor: the same ship data touched as many times, no rules */
    double best_floor = 1e30, cpu_floor = 1e30;
    volatile float sink = 0;
    for (int rep = 0; rep < REPS; rep++) {
        cols_restore(&work, &master);
        double t0 = now(), c0 = cpu_now();
        float acc = 0;
        for (uint32_t b = 0; b < nb; b++) {
            const uint32_t *restrict rw = rows + bt[b].first;
            float *restrict hull = work.hull, *restrict shield = work.shield;
            for (uint32_t r = 0; r < res[b].rounds; r++)
                for (uint32_t i = 0; i < per; i++) {
                    uint32_t k = rw[i];
                    float d = (float)work.attacks[k] * work.strength[k] * (float)work.bs[k] * 1e-6f -
                              work.armor[k] - work.ap[k] + (float)work.md[k] + (float)work.side[k];
                    shield[k] -= d * 1e-9f;
                    hull[k] -= d * 1e-9f;
                    acc += hull[k];
                }
        }
        double t = now() - t0, c = cpu_now() - c0;
        sink = acc;
        if (t < best_floor)
            best_floor = t;
        if (c < cpu_floor)
            cpu_floor = c;
    }
    (void)sink;

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double us_one = best_one / nb * 1e6, us_floor = best_floor / nb * 1e6;
    double cus_one = cpu_one / nb * 1e6, cus_floor = cpu_floor / nb * 1e6;
    printf("## combat (nproc %ld, %u battles of %u ships, %u v %u, best of %d)\n\n", cpus, nb, per, per / 2,
           per - per / 2, REPS);
    printf("| what | wall | thread CPU |\n|---|---|---|\n");
    printf("| one battle per call, us per battle | %.2f | %.2f |\n", us_one, cus_one);
    printf("| floor: same ship data touched as often, us per battle | %.2f | %.2f |\n", us_floor, cus_floor);
    printf("| battle / floor | %.1fx | %.1fx |\n", us_one / us_floor, cus_one / cus_floor);
    printf("| per ship-round, ns (floor) | %.1f (%.1f) | %.1f (%.1f) |\n", best_one / (double)ship_rounds * 1e9,
           best_floor / (double)ship_rounds * 1e9, cpu_one / (double)ship_rounds * 1e9,
           cpu_floor / (double)ship_rounds * 1e9);
    printf("| %u battles in one vr_combat_resolve_all, ms | %.2f | %.2f |\n", nb, best_all * 1e3, cpu_all * 1e3);
    printf("| vr_combat_find_battles, %u ships at %u places, ms | %.2f | |\n", n, nb, best_find * 1e3);
    printf("\n| battles | figure |\n|---|---|\n");
    printf("| found by vr_combat_find_battles | %u |\n", nfound);
    printf("| rounds per battle (mean) | %.1f |\n", (double)rounds / nb);
    printf("| destroyed / routed per battle (mean) | %.1f / %.1f |\n", (double)destroyed / nb,
           (double)routed / nb);
    printf("| battles decided (not stalemate or round limit) | %.1f%% |\n", 100.0 * decided / nb);
    printf("\ntarget: a %u-ship battle under 50 us -> %s (wall %.1f us, CPU %.1f us)\n", per,
           us_one < 50.0 ? "met" : cus_one < 50.0 ? "met in CPU time, not in wall time (machine loaded?)" : "NOT met",
           us_one, cus_one);
    cols_free(&master);
    cols_free(&work);
    free(rows);
    free(bt);
    free(res);
    free(loc);
    free(found);
    free(fb);
    return 0;
}
