/* bench_turn.c: vr-bench-turn, one universe's whole turn at scale, in process.
 *
 * Creates one arena (segment "/vr.bench<pid>.u0", unlinked right after it is
 * created and mapped, so it can never be left behind: the mapping lives until
 * the process exits), pre-faults it, builds turn 0 (vr_sim_genesis), then runs
 * W warm-up turns and K timed turns exactly as a worker does: vr_arena_begin
 * (copy of the published buffer), vr_sim_turn (every system), vr_arena_hash,
 * vr_arena_publish.  The default scenario, 95000 fleets of 10.5 ships on
 * average, is about 1M ships.
 *
 * Beside the figures, floors measured in the same run:
 *   - movement: a plain loop over a copy of the same fleet columns (alive
 *     check, progress += speed, compare with the lane length, hop) over the
 *     same number of fleet rows; best of R passes, caches warm;
 *   - arena_begin: memcpy of the same number of bytes (the used rows of every
 *     column) between two pre-faulted heap buffers; best of R passes;
 * and, from DESIGN §11 (not measured here): pos += vel*dt at 0.4 ns/entity,
 * memory bandwidth 20-27 GB/s, first touch 0.9 s per GiB.
 *
 * The first W turns are printed one by one (the pathfinder is built in turn 1
 * and its caches warm up), the K timed turns as median / mean / min / max.
 * Turns divisible by 10 run the full audit, by 100 the deep one: the max
 * column shows them.
 *
 * Output: Markdown on stdout, or one JSON object with --json (bench/scale.py
 * reads it).  It measures, never judges: exit 0 whatever the figures.
 * Exit status: 0 ok, 1 a call failed, 2 usage.
 */
#include "vr_sim.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DESIGN_MOVE_NS 0.4      /* DESIGN §11: pos += vel*dt, 1M entities, ns/entity */
#define DESIGN_BW_GBS 20.0      /* DESIGN §11: memory bandwidth, 1 thread, low end */
#define DESIGN_TOUCH_S_GIB 0.9  /* DESIGN §11: first touch of shared memory */
#define TARGET_TURN_MS 100.0    /* issue: a whole turn of 1M ships */
#define TARGET_BYTES_SHIP 200.0 /* issue: arena bytes per ship, both buffers */
#define MAXTURNS 10000

static char g_seg[VR_SEGNAME_MAX];
static volatile sig_atomic_t g_linked; /* g_seg exists in /dev/shm */

static void on_signal(int sig)
{
    if (g_linked)
        shm_unlink(g_seg); /* a plain unlink of /dev/shm/NAME: async-signal-safe in practice */
    g_linked = 0;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void unlink_seg(void)
{
    if (g_linked && shm_unlink(g_seg) != 0 && errno != ENOENT)
        fprintf(stderr, "vr-bench-turn: shm_unlink(%s): %s\n", g_seg, strerror(errno));
    g_linked = 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "vr-bench-turn: out of memory (%zu bytes)\n", n);
        unlink_seg();
        exit(1);
    }
    memset(p, 0, n); /* pre-faults */
    return p;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- floors ---------------------------------------------------------------- */

typedef struct fleetcopy {
    uint32_t n;
    uint32_t *gen, *at, *next;
    float *progress, *speed, *len;
} fleetcopy;

/* The simplest movement update over the same columns, written plainly: alive
 * check, progress += speed, compare with the lane length, hop to the next
 * system.  With the project's flags (no -ffast-math, so trapping math) GCC
 * keeps the float compare as a branch: scalar, and the hop is a
 * data-dependent branch. */
static __attribute__((noinline)) void floor_move(uint32_t n, const uint32_t *restrict gen,
                                                 uint32_t *restrict at, const uint32_t *restrict next,
                                                 float *restrict progress, const float *restrict speed,
                                                 const float *restrict len)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!(gen[i] & 1))
            continue;
        float p = progress[i] + speed[i];
        if (p >= len[i]) {
            p -= len[i];
            at[i] = next[i];
        }
        progress[i] = p;
    }
}

/* The same update without branches, so that it vectorizes under the
 * project's flags: the compare is done on the bits (non-negative floats order
 * as their bit patterns) and the selects with masks.  Same results as
 * floor_move for the non-negative progress, speed and lengths of the arena. */
static __attribute__((noinline)) void floor_move_vec(uint32_t n, const uint32_t *restrict gen,
                                                     uint32_t *restrict at, const uint32_t *restrict next,
                                                     float *restrict progress, const float *restrict speed,
                                                     const float *restrict len)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t alive = -(gen[i] & 1u);
        float p0 = progress[i], l = len[i];
        float p = p0 + speed[i], d = p - l;
        int32_t pb, lb;
        uint32_t p0b, pu, db;
        memcpy(&pb, &p, 4), memcpy(&lb, &l, 4), memcpy(&p0b, &p0, 4), memcpy(&pu, &p, 4), memcpy(&db, &d, 4);
        uint32_t hop = alive & -(uint32_t)(pb >= lb);
        uint32_t q = (pu & alive) | (p0b & ~alive);
        uint32_t r = (db & hop) | (q & ~hop);
        memcpy(&progress[i], &r, 4);
        at[i] = (next[i] & hop) | (at[i] & ~hop);
    }
}

static float lane_len(const vr_cols *c, uint32_t a, uint32_t b)
{
    uint32_t l = c->systems_lane_begin[a], e = l + c->systems_lane_count[a];
    for (; l < e; l++)
        if (c->lanes_to[l] == b)
            return c->lanes_length[l];
    return 10.0f; /* idle fleet (next == at): a typical lane */
}

static void copy_fleets(fleetcopy *f, const vr_cols *c)
{
    uint32_t n = c->tables[VR_TAB_fleets].count;
    f->n = n;
    f->gen = xmalloc(n * sizeof(uint32_t));
    f->at = xmalloc(n * sizeof(uint32_t));
    f->next = xmalloc(n * sizeof(uint32_t));
    f->progress = xmalloc(n * sizeof(float));
    f->speed = xmalloc(n * sizeof(float));
    f->len = xmalloc(n * sizeof(float));
    memcpy(f->gen, c->gen[VR_TAB_fleets], n * sizeof(uint32_t));
    memcpy(f->at, c->fleets_at, n * sizeof(uint32_t));
    memcpy(f->next, c->fleets_next, n * sizeof(uint32_t));
    memcpy(f->progress, c->fleets_progress, n * sizeof(float));
    memcpy(f->speed, c->fleets_speed, n * sizeof(float));
    for (uint32_t i = 0; i < n; i++)
        f->len[i] = lane_len(c, c->fleets_at[i], c->fleets_next[i]);
}

typedef void floorfn(uint32_t, const uint32_t *restrict, uint32_t *restrict, const uint32_t *restrict,
                     float *restrict, const float *restrict, const float *restrict);

/* Best and median of reps passes of a movement floor loop, ns per pass. */
static void time_floor_move(floorfn *fn, fleetcopy *f, int reps, double *best, double *median)
{
    uint64_t *t = xmalloc((size_t)reps * sizeof *t);
    fn(f->n, f->gen, f->at, f->next, f->progress, f->speed, f->len); /* warm */
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        fn(f->n, f->gen, f->at, f->next, f->progress, f->speed, f->len);
        t[r] = now_ns() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_u64);
    *best = (double)t[0];
    *median = (double)t[reps / 2];
    free(t);
}

/* Best of reps memcpy passes of `bytes`, ns. */
static double time_floor_copy(size_t bytes, int reps)
{
    uint8_t *a = xmalloc(bytes), *b = xmalloc(bytes);
    memset(a, 1, bytes);
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = now_ns();
        memcpy(b, a, bytes);
        __asm__ volatile("" : : "r"(b) : "memory");
        double dt = (double)(now_ns() - t0);
        if (dt < best)
            best = dt;
    }
    free(a);
    free(b);
    return best;
}

/* Bytes vr_arena_begin copies and vr_arena_hash reads: the used rows of
 * every column of the published buffer. */
static uint64_t used_bytes(const vr_arena *a)
{
    const vr_arena_hdr *h = vr_arena_header(a);
    const vr_coldesc *cds = (const vr_coldesc *)(const void *)((const uint8_t *)vr_arena_base(a) + h->coldir_offset);
    vr_view v;
    if (vr_arena_read_begin(a, &v) != 0)
        return 0;
    uint64_t sum = 0;
    for (uint32_t c = 0; c < h->ncolumns; c++) {
        uint32_t rows = v.tables[cds[c].table].count;
        if (rows > cds[c].capacity)
            rows = cds[c].capacity;
        sum += (uint64_t)rows * cds[c].lanes * cds[c].elem_size;
    }
    return sum;
}

/* ---- turns ---------------------------------------------------------------------- */

typedef struct turnrec {
    uint64_t turn;
    uint64_t begin, sim, hash, publish, total; /* ns */
    uint64_t m[VR_NMETRICS];
    uint64_t ships, fleets;
} turnrec;

/* phases reported per turn: name, and how to get it from a record */
enum { P_TOTAL, P_BEGIN, P_SIM, P_MOVE, P_PATHS, P_WALK, P_AI, P_COMBAT, P_ECON, P_AUDIT, P_OTHER, P_HASH, P_PUBLISH, NP };
static const char *const pname[NP] = {
    "worker turn (begin + systems + hash + publish)",
    "arena_begin (copy of the published buffer)",
    "vr_sim_turn (all systems)",
    "movement (incl. pathfinding)",
    "  of which pathfinding",
    "  the rest: storms and travel",
    "AI decisions",
    "combat",
    "economy",
    "audit",
    "other systems (diplomacy, unmetered)",
    "arena_hash (XXH3 of every used row)",
    "arena_publish",
};
static const char *const pkey[NP] = {"total", "begin", "sim", "movement", "paths", "walk", "ai", "combat",
                                     "economy", "audit", "other", "hash", "publish"};

static uint64_t phase(const turnrec *r, int p)
{
    uint64_t metered;
    switch (p) {
    case P_TOTAL: return r->total;
    case P_BEGIN: return r->begin;
    case P_SIM: return r->sim;
    case P_MOVE: return r->m[VR_M_movement_ns];
    case P_PATHS: return r->m[VR_M_paths_ns];
    case P_WALK:
        return r->m[VR_M_movement_ns] > r->m[VR_M_paths_ns] ? r->m[VR_M_movement_ns] - r->m[VR_M_paths_ns] : 0;
    case P_AI: return r->m[VR_M_ai_ns];
    case P_COMBAT: return r->m[VR_M_combat_ns];
    case P_ECON: return r->m[VR_M_economy_ns];
    case P_AUDIT: return r->m[VR_M_audit_ns];
    case P_OTHER:
        metered = r->m[VR_M_movement_ns] + r->m[VR_M_ai_ns] + r->m[VR_M_combat_ns] +
                  r->m[VR_M_economy_ns] + r->m[VR_M_audit_ns];
        return r->sim > metered ? r->sim - metered : 0;
    case P_HASH: return r->hash;
    case P_PUBLISH: return r->publish;
    }
    return 0;
}

typedef struct summary {
    double median, mean, min, max; /* ns */
} summary;

static summary summarize(const turnrec *r, int n, int p)
{
    summary s = {0, 0, 0, 0};
    if (n <= 0)
        return s;
    uint64_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return s;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        v[i] = phase(&r[i], p);
        sum += (double)v[i];
    }
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    s.median = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
    s.mean = sum / n;
    s.min = (double)v[0];
    s.max = (double)v[n - 1];
    free(v);
    return s;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: vr-bench-turn [options]\n"
"One universe's whole turn in process (arena copy, every system, hash, publish),\n"
"beside floors measured in the same run; prints Markdown (or JSON).\n"
"  -f, --fleets N    fleets at turn 0 (default 95000: about 1M ships)\n"
"  -s, --systems N   star systems (default 8192)\n"
"  -t, --turns K     timed turns after the warm-up (default 20)\n"
"  -w, --warmup W    warm-up turns, reported one by one (default 5)\n"
"      --factions N  factions (default 4, as vr-coordinator)\n"
"      --seed N      world seed (default 1, as vr-coordinator)\n"
"  -r, --reps R      passes of each floor loop, best reported (default 31)\n"
"      --json        one JSON object instead of Markdown\n");
}

int main(int argc, char **argv)
{
    long fleets = 95000, systems = 8192, turns = 20, warm = 5, factions = 4, reps = 31;
    unsigned long long seed = 1;
    int as_json = 0;
    static const struct option lo[] = {
        {"fleets", 1, 0, 'f'}, {"systems", 1, 0, 's'}, {"turns", 1, 0, 't'}, {"warmup", 1, 0, 'w'},
        {"factions", 1, 0, 'F'}, {"seed", 1, 0, 'S'}, {"reps", 1, 0, 'r'}, {"json", 0, 0, 'j'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "f:s:t:w:r:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'f': fleets = strtol(optarg, NULL, 10); break;
        case 's': systems = strtol(optarg, NULL, 10); break;
        case 't': turns = strtol(optarg, NULL, 10); break;
        case 'w': warm = strtol(optarg, NULL, 10); break;
        case 'F': factions = strtol(optarg, NULL, 10); break;
        case 'S': seed = strtoull(optarg, NULL, 10); break;
        case 'r': reps = strtol(optarg, NULL, 10); break;
        case 'j': as_json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || fleets < 0 || fleets > 100000000 || systems < 2 || systems > 10000000 ||
        turns < 1 || warm < 0 || turns + warm > MAXTURNS || factions < 1 || factions > 65535 ||
        reps < 1 || reps > 100000) {
        usage(stderr);
        return 2;
    }

    vr_scenario sc = {.seed = seed, .universe = 0, .systems = (uint32_t)systems,
                      .fleets = (uint32_t)fleets, .factions = (uint32_t)factions};
    vr_arena_spec spec = {.universe = 0, .cluster_id = 0, .seed = seed};
    vr_sim_capacity(&sc, spec.capacity);
    uint64_t plan_bytes = vr_arena_size(&spec);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);

    snprintf(g_seg, sizeof g_seg, "/vr.bench%ld.u0", (long)getpid());
    vr_arena *arena = NULL;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old); /* no signal between create and g_linked = 1 */
    int rc = vr_arena_create(&arena, g_seg, &spec, 0600);
    if (rc == 0)
        g_linked = 1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        fprintf(stderr, "vr-bench-turn: vr_arena_create(%s, %llu bytes): %s\n", g_seg,
                (unsigned long long)plan_bytes, vr_strerror(rc));
        return 1;
    }
    /* the mapping is all this process needs: the name can go now, so that
     * nothing is left in /dev/shm however the process ends */
    unlink_seg();
    uint64_t arena_bytes = vr_arena_bytes(arena);

    uint64_t t0 = now_ns();
    rc = vr_arena_prefault(arena);
    uint64_t prefault_ns = now_ns() - t0;
    if (rc) {
        fprintf(stderr, "vr-bench-turn: vr_arena_prefault: %s\n", vr_strerror(rc));
        return 1;
    }

    vr_sim *sim = NULL;
    if ((rc = vr_sim_new(&sim, &sc))) {
        fprintf(stderr, "vr-bench-turn: vr_sim_new: %s\n", vr_strerror(rc));
        return 1;
    }
    vr_cols cols;
    t0 = now_ns();
    rc = vr_arena_begin(arena, &cols);
    if (rc == 0)
        rc = vr_sim_genesis(sim, &cols);
    if (rc) {
        fprintf(stderr, "vr-bench-turn: genesis: %s\n", vr_strerror(rc));
        return 1;
    }
    uint64_t h0 = vr_arena_hash(arena);
    vr_arena_publish(arena, 0, h0);
    uint64_t genesis_ns = now_ns() - t0;
    uint64_t ships0 = cols.tables[VR_TAB_ships].live, fleets0 = cols.tables[VR_TAB_fleets].live;
    uint64_t systems0 = cols.tables[VR_TAB_systems].live;

    int nt = (int)(warm + turns);
    turnrec *rec = calloc((size_t)nt, sizeof *rec);
    if (!rec)
        return 1;
    uint64_t last_hash = h0;
    for (int i = 0; i < nt; i++) {
        turnrec *r = &rec[i];
        vr_turn_stats st;
        r->turn = (uint64_t)i + 1;
        uint64_t a = now_ns();
        rc = vr_arena_begin(arena, &cols);
        uint64_t b = now_ns();
        if (rc == 0)
            rc = vr_sim_turn(sim, &cols, r->turn, &st);
        uint64_t c = now_ns();
        if (rc) {
            fprintf(stderr, "vr-bench-turn: turn %llu: %s\n", (unsigned long long)r->turn, vr_strerror(rc));
            return 1;
        }
        last_hash = vr_arena_hash(arena);
        uint64_t d = now_ns();
        vr_arena_publish(arena, r->turn, last_hash);
        uint64_t e = now_ns();
        r->begin = b - a;
        r->sim = c - b;
        r->hash = d - c;
        r->publish = e - d;
        r->total = e - a;
        memcpy(r->m, st.m, sizeof r->m);
        r->ships = cols.tables[VR_TAB_ships].live;
        r->fleets = cols.tables[VR_TAB_fleets].live;
    }
    uint64_t state_bytes = used_bytes(arena);

    /* floors, on copies taken from the last published turn */
    fleetcopy fc, fv;
    copy_fleets(&fc, &cols); /* cols: the buffer just published */
    copy_fleets(&fv, &cols);
    double mv_best, mv_med, vec_best, vec_med;
    time_floor_move(floor_move, &fc, (int)reps, &mv_best, &mv_med);
    time_floor_move(floor_move_vec, &fv, (int)reps, &vec_best, &vec_med);
    double cp_best = time_floor_copy((size_t)state_bytes, (int)(reps < 11 ? reps : 11));

    const turnrec *steady = rec + warm;
    summary s[NP];
    for (int p = 0; p < NP; p++)
        s[p] = summarize(steady, (int)turns, p);
    double ships_end = (double)rec[nt - 1].ships;
    double bps = (double)arena_bytes / (double)ships0;
    double mv_ratio = s[P_WALK].median / mv_best;

    if (as_json) {
        printf("{\"fleets\": %ld, \"systems\": %ld, \"factions\": %ld, \"seed\": %llu, \"warmup\": %ld, "
               "\"turns\": %ld,\n", fleets, systems, factions, seed, warm, turns);
        printf(" \"ships0\": %llu, \"fleets0\": %llu, \"systems0\": %llu, \"ships_end\": %.0f, "
               "\"fleet_rows\": %u,\n", (unsigned long long)ships0, (unsigned long long)fleets0,
               (unsigned long long)systems0, ships_end, fc.n);
        printf(" \"arena_bytes\": %llu, \"plan_bytes\": %llu, \"state_bytes\": %llu, "
               "\"bytes_per_ship\": %.1f,\n", (unsigned long long)arena_bytes,
               (unsigned long long)plan_bytes, (unsigned long long)state_bytes, bps);
        printf(" \"prefault_ns\": %llu, \"genesis_ns\": %llu, \"final_hash\": \"%016llx\",\n",
               (unsigned long long)prefault_ns, (unsigned long long)genesis_ns, (unsigned long long)last_hash);
        printf(" \"floor_move_best_ns\": %.0f, \"floor_move_median_ns\": %.0f, \"floor_move_vec_best_ns\": %.0f, "
               "\"floor_move_vec_median_ns\": %.0f, \"floor_copy_best_ns\": %.0f,\n",
               mv_best, mv_med, vec_best, vec_med, cp_best);
        printf(" \"steady\": {");
        for (int p = 0; p < NP; p++)
            printf("%s\"%s\": {\"median\": %.0f, \"mean\": %.0f, \"min\": %.0f, \"max\": %.0f}",
                   p ? ", " : "", pkey[p], s[p].median, s[p].mean, s[p].min, s[p].max);
        printf("},\n \"per_turn\": [");
        for (int i = 0; i < nt; i++) {
            const turnrec *r = &rec[i];
            printf("%s\n  {\"turn\": %llu, \"warmup\": %s, \"ships\": %llu, \"fleets\": %llu", i ? "," : "",
                   (unsigned long long)r->turn, i < warm ? "true" : "false", (unsigned long long)r->ships,
                   (unsigned long long)r->fleets);
            for (int p = 0; p < NP; p++)
                printf(", \"%s_ns\": %llu", pkey[p], (unsigned long long)phase(r, p));
            printf(", \"metrics\": {");
            for (int k = 0; k < VR_NMETRICS; k++)
                printf("%s\"%s\": %llu", k ? ", " : "", vr_metric_names[k], (unsigned long long)r->m[k]);
            printf("}}");
        }
        printf("\n]}\n");
    } else {
        double ms = 1e-6;
        printf("## vr-bench-turn: one universe, %llu ships in %llu fleets, %llu systems\n\n",
               (unsigned long long)ships0, (unsigned long long)fleets0, (unsigned long long)systems0);
        printf("Timed: turns %ld..%ld (after %ld warm-up turns); medians unless noted.\n\n",
               warm + 1, warm + turns, warm);
        printf("| what | figure | floor / target | ratio |\n|---|---|---|---|\n");
        printf("| whole worker turn, %llu ships | %.1f ms (%.1f ns/ship) | target %.0f ms | %.2f |\n",
               (unsigned long long)ships0, s[P_TOTAL].median * ms, s[P_TOTAL].median / ships_end,
               TARGET_TURN_MS, s[P_TOTAL].median * ms / TARGET_TURN_MS);
        printf("| movement without pathfinding (storms, travel), %u fleet rows | %.3f ms (%.1f ns/fleet) | plain "
               "loop, same columns: %.3f ms (%.2f ns/fleet; goal 1.5x) | %.1f |\n", fc.n, s[P_WALK].median * ms,
               s[P_WALK].median / fc.n, mv_best * ms, mv_best / fc.n, mv_ratio);
        printf("| same | %.3f ms | branch-free (vectorized) plain loop: %.3f ms "
               "(%.2f ns/fleet) | %.0f |\n", s[P_WALK].median * ms, vec_best * ms, vec_best / fc.n,
               s[P_WALK].median / vec_best);
        printf("| pathfinding inside movement | %.3f ms | — | — |\n", s[P_PATHS].median * ms);
        printf("| branch-free plain movement loop | %.2f ns/fleet | DESIGN §11 pos += vel*dt: %.1f ns/entity | %.2f |\n",
               vec_best / fc.n, DESIGN_MOVE_NS, vec_best / fc.n / DESIGN_MOVE_NS);
        printf("| arena_begin, %.0f MB of used rows | %.2f ms | memcpy, same bytes: %.2f ms | %.2f |\n",
               state_bytes / 1e6, s[P_BEGIN].median * ms, cp_best * ms, s[P_BEGIN].median / cp_best);
        printf("| arena_hash | %.2f ms (%.1f GB/s) | DESIGN §11 bandwidth %.0f GB/s: %.2f ms | %.2f |\n",
               s[P_HASH].median * ms, state_bytes / s[P_HASH].median, DESIGN_BW_GBS,
               state_bytes / DESIGN_BW_GBS * 1e-6, s[P_HASH].median / (state_bytes / DESIGN_BW_GBS));
        printf("| arena bytes per ship (both buffers) | %.1f B | goal %.0f B | %.2f |\n", bps,
               TARGET_BYTES_SHIP, bps / TARGET_BYTES_SHIP);
        printf("| pre-fault of the arena, %.0f MiB | %.0f ms | DESIGN §11 first touch: %.0f ms | %.2f |\n",
               arena_bytes / 1048576.0, prefault_ns * ms, DESIGN_TOUCH_S_GIB * arena_bytes / 1073741824.0 * 1e3,
               prefault_ns / (DESIGN_TOUCH_S_GIB * arena_bytes / 1073741824.0 * 1e9));
        printf("\nTurn 0 (genesis, hash, publish): %.0f ms.\n\n", genesis_ns * ms);

        printf("### per phase, steady state (%ld turns)\n\n", turns);
        printf("| phase | median ms | mean ms | min ms | max ms | share of the turn |\n|---|---|---|---|---|---|\n");
        for (int p = 0; p < NP; p++)
            printf("| %s | %.3f | %.3f | %.3f | %.3f | %.0f%% |\n", pname[p], s[p].median * ms, s[p].mean * ms,
                   s[p].min * ms, s[p].max * ms, 100.0 * s[p].median / s[P_TOTAL].median);

        printf("\n### every turn\n\n| turn | total ms | begin | movement | paths | AI | combat | audit | other "
               "| hash | path queries | decisions | battles | ships |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < nt; i++) {
            const turnrec *r = &rec[i];
            printf("| %llu%s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %llu | %llu | %llu | %llu |\n",
                   (unsigned long long)r->turn, i < warm ? " (warm-up)" : "", r->total * ms, r->begin * ms,
                   phase(r, P_MOVE) * ms, phase(r, P_PATHS) * ms, phase(r, P_AI) * ms, phase(r, P_COMBAT) * ms,
                   phase(r, P_AUDIT) * ms, phase(r, P_OTHER) * ms, r->hash * ms,
                   (unsigned long long)r->m[VR_M_paths], (unsigned long long)r->m[VR_M_decisions],
                   (unsigned long long)r->m[VR_M_battles], (unsigned long long)r->ships);
        }
        printf("\nFinal hash %016llx at turn %d.\n", (unsigned long long)last_hash, nt);
    }

    vr_sim_destroy(&sim);
    vr_arena_detach(&arena);
    free(rec);
    return 0;
}
