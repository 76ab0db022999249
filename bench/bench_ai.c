/* bench_ai.c: vr-bench-ai, AI decisions per second on one core.
 *
 * N fleets (default 1M) with random observations drawn from vr_rand, decided
 * by vr_ai_decide_fleets in several configurations (no log, scores out,
 * exploration noise, each log filter), next to a floor: a plain loop that
 * reads the same input columns and writes one byte per fleet, i.e. what the
 * memory traffic alone costs.  Each configuration runs R times (default 5)
 * on the same thread and the best pass is reported (the others are noise
 * from the machine, not from the code).  The target is 1M decisions/s per
 * core (DESIGN §7, issue "AI decisions").
 *
 * Output: a Markdown table on stdout.
 * Exit status: 0 ok, 1 a call failed, 2 usage.
 */
#include "ai.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING 65536u /* log records kept: about 3.6 MB */

typedef struct cols {
    uint64_t *id;
    uint16_t *faction;
    uint8_t *prev;
    float *own, *enemy, *friendly, *enemy_dist, *expand_dist, *asteroid_dist, *cargo, *threat,
        *health, *morale;
} cols;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "vr-bench-ai: out of memory (%zu bytes); hint: lower -n\n", n);
        exit(1);
    }
    memset(p, 0, n);
    return p;
}

static float u(uint64_t i, uint32_t s) { return vr_unit(vr_rand(1, 0, 0, i, s)); }

static void fill(cols *c, uint32_t n)
{
    c->id = xmalloc(n * sizeof *c->id);
    c->faction = xmalloc(n * sizeof *c->faction);
    c->prev = xmalloc(n);
    float **f[] = {&c->own, &c->enemy, &c->friendly, &c->enemy_dist, &c->expand_dist,
                   &c->asteroid_dist, &c->cargo, &c->threat, &c->health, &c->morale};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        *f[k] = xmalloc(n * sizeof(float));
    for (uint32_t i = 0; i < n; i++) {
        c->id[i] = (1ull << 32) | i; /* (generation << 32) | row, like arena ids */
        c->faction[i] = (uint16_t)(1 + vr_rand(1, 0, 0, i, 1) % 8);
        c->own[i] = 1000.0f * u(i, 3);
        c->enemy[i] = u(i, 4) < 0.3f ? 0.0f : 1000.0f * u(i, 5);
        c->friendly[i] = 500.0f * u(i, 6);
        c->enemy_dist[i] = u(i, 7) < 0.2f ? -1.0f : 50.0f * u(i, 8);
        c->expand_dist[i] = u(i, 9) < 0.2f ? -1.0f : 50.0f * u(i, 10);
        c->asteroid_dist[i] = u(i, 11) < 0.2f ? -1.0f : 50.0f * u(i, 12);
        c->cargo[i] = u(i, 13);
        c->threat[i] = u(i, 14) < 0.5f ? 0.0f : 2000.0f * u(i, 15);
        c->health[i] = u(i, 16);
        c->morale[i] = u(i, 17);
    }
}

/* The floor: reads every input column once and writes one byte per fleet. */
static __attribute__((noinline)) void floor_loop(const cols *restrict c, uint32_t n,
                                                 uint8_t *restrict out)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = (uint8_t)((c->own[i] > c->enemy[i]) + (c->friendly[i] > c->threat[i]) +
                           (c->enemy_dist[i] < c->expand_dist[i]) + (c->asteroid_dist[i] < 1.0f) +
                           (c->cargo[i] > c->health[i]) + (c->morale[i] > 0.5f) +
                           (uint8_t)(c->id[i] ^ c->faction[i]));
}

typedef struct row {
    const char *name;
    double best_ns; /* per pass */
    uint64_t logged; /* records appended per pass */
} row;

enum variant { V_FLOOR, V_PLAIN, V_SCORES, V_NOISE, V_LOG_CHANGED, V_LOG_SAMPLE, V_LOG_ALL, V_N };
static const char *const vname[V_N] = {
    "floor: read inputs, write 1 byte",
    "decide, no log",
    "decide + scores out (24 B/fleet)",
    "decide + exploration noise",
    "decide + log changed (default filter)",
    "decide + log sample (every 16th)",
    "decide + log all",
};

static void usage(FILE *f)
{
    fprintf(f,
"usage: vr-bench-ai [-n FLEETS] [-r REPS]\n"
"AI decisions per second on one core, beside a floor loop; prints Markdown.\n"
"  -n FLEETS  fleets per pass (default 1000000)\n"
"  -r REPS    passes per configuration, best reported (default 5)\n");
}

int main(int argc, char **argv)
{
    long n = 1000000, reps = 5;
    int opt;
    while ((opt = getopt(argc, argv, "n:r:h")) != -1) {
        switch (opt) {
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'r': reps = strtol(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (n < 1 || n > 100000000 || reps < 1 || reps > 1000) {
        usage(stderr);
        return 2;
    }

    cols c;
    fill(&c, (uint32_t)n);
    uint8_t *choice = xmalloc((size_t)n);
    float *scores = xmalloc((size_t)n * VR_AI_NOPTIONS * sizeof(float));
    vr_ai_log *log = xmalloc(vr_ai_log_bytes(RING));

    vr_ai_policy pol[9];
    memset(pol, 0, sizeof pol);
    for (int f = 0; f < 9; f++) {
        pol[f].stance = (uint8_t)(f % 3);
        pol[f].military = 1.0f + (float)(f % 2);
        pol[f].economy = 1.0f;
        pol[f].expansion = 0.5f + 0.25f * (float)(f % 4);
    }
    vr_ai_obs o = {
        .id = c.id, .faction = c.faction, .prev_choice = c.prev, .own_strength = c.own,
        .enemy_strength = c.enemy, .friendly_strength = c.friendly, .enemy_dist = c.enemy_dist,
        .expand_dist = c.expand_dist, .asteroid_dist = c.asteroid_dist, .cargo = c.cargo,
        .home_threat = c.threat, .health = c.health, .morale = c.morale,
    };
    vr_ai_params base = {.seed = 1, .turn = 1, .universe = 0, .npolicy = 9, .policy = pol,
                         .range = 10.0f};

    /* prev_choice = last turn's decisions with about 10% of them changed,
     * so the default filter logs about a tenth of the fleets */
    if (vr_ai_decide_fleets(&base, &o, (uint32_t)n, c.prev, NULL, NULL) != 0) {
        fprintf(stderr, "vr-bench-ai: vr_ai_decide_fleets(n=%ld) failed\n", n);
        return 1;
    }
    for (long i = 0; i < n; i++)
        if (vr_rand(2, 0, 0, (uint64_t)i, 0) % 10 == 0)
            c.prev[i] = (uint8_t)((c.prev[i] + 1) % VR_AI_NOPTIONS);

    row rows[V_N];
    unsigned sink = 0;
    for (int v = 0; v < V_N; v++) {
        rows[v].name = vname[v];
        rows[v].best_ns = 1e300;
        rows[v].logged = 0;
        vr_ai_params p = base;
        vr_ai_log *lg = NULL;
        float *sc = NULL;
        switch (v) {
        case V_SCORES: sc = scores; break;
        case V_NOISE: p.noise = 0.05f; break;
        case V_LOG_CHANGED: lg = log; p.log_mode = VR_AI_LOG_CHANGED; break;
        case V_LOG_SAMPLE: lg = log; p.log_mode = VR_AI_LOG_SAMPLE; p.log_every = 16; break;
        case V_LOG_ALL: lg = log; p.log_mode = VR_AI_LOG_ALL; break;
        default: break;
        }
        for (long r = 0; r < reps + 1; r++) { /* pass 0 warms caches and pages */
            if (lg && vr_ai_log_init(lg, NULL, RING) != 0)
                return 1;
            uint64_t t0 = now_ns();
            if (v == V_FLOOR) {
                floor_loop(&c, (uint32_t)n, choice);
            } else if (vr_ai_decide_fleets(&p, &o, (uint32_t)n, choice, sc, lg) != 0) {
                fprintf(stderr, "vr-bench-ai: vr_ai_decide_fleets(n=%ld) failed\n", n);
                return 1;
            }
            uint64_t dt = now_ns() - t0;
            sink += choice[(size_t)r % (size_t)n];
            if (r > 0 && (double)dt < rows[v].best_ns)
                rows[v].best_ns = (double)dt;
            if (lg)
                rows[v].logged = lg->head;
        }
    }

    /* one faction pass of the same size, for scale (inputs reused) */
    vr_ai_faction_obs fo = {
        .id = c.id, .faction = c.faction, .prev_choice = c.prev, .strength = c.own,
        .enemy_strength = c.enemy, .home_threat = c.threat, .targets = c.enemy_dist,
        .unclaimed = c.expand_dist, .fields = c.asteroid_dist, .stockpile = c.friendly,
        .income = c.morale,
    };
    vr_ai_faction_out *fout = xmalloc((size_t)n * sizeof *fout);
    double fbest = 1e300;
    for (long r = 0; r < reps + 1; r++) {
        uint64_t t0 = now_ns();
        if (vr_ai_decide_factions(&base, &fo, (uint32_t)n, fout, NULL, NULL) != 0)
            return 1;
        uint64_t dt = now_ns() - t0;
        if (r > 0 && (double)dt < fbest)
            fbest = (double)dt;
    }

    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    printf("vr-bench-ai: %ld fleets per pass, best of %ld passes, 1 thread (nproc %ld), "
           "log ring %u records\n\n",
           n, reps, nproc, RING);
    printf("| variant | ns/decision | M decisions/s | x floor | records logged/pass |\n");
    printf("|---|---:|---:|---:|---:|\n");
    double floor_ns = rows[V_FLOOR].best_ns;
    for (int v = 0; v < V_N; v++) {
        double per = rows[v].best_ns / (double)n;
        printf("| %s | %.2f | %.1f | %.1f | %llu |\n", rows[v].name, per, 1e3 / per,
               rows[v].best_ns / floor_ns, (unsigned long long)rows[v].logged);
    }
    double per = fbest / (double)n;
    printf("| factions: decide, no log | %.2f | %.1f | %.1f | 0 |\n", per, 1e3 / per, fbest / floor_ns);
    printf("\ntarget: >= 1 M decisions/s per core; checksum %u\n", sink);

    free(fout);
    free(log);
    free(scores);
    free(choice);
    free(c.id); free(c.faction); free(c.prev);
    free(c.own); free(c.enemy); free(c.friendly); free(c.enemy_dist); free(c.expand_dist);
    free(c.asteroid_dist); free(c.cargo); free(c.threat); free(c.health); free(c.morale);
    return 0;
}
