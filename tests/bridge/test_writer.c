/* test_writer.c: vr-test-writer, a stand-in for coordinator + workers used by
 * the Python bridge tests (tests/bridge/test_attach.py).
 *
 *   vr-test-writer NAME NUNIVERSES TURNS [--fast] [--hold] [--corrupt-version]
 *
 * Creates the cluster segment "/vr.NAME.cluster" and NUNIVERSES arenas
 * "/vr.NAME.uK" (systems 16, lanes 64, fleets 1000 rows), allocates 500
 * fleets per universe at turn 0, and 4 factions named by vr_name_put from
 * FACTION_NAMES (test_attach.py holds the same list and what the 48-byte
 * column keeps of each), then publishes turns 1..TURNS.  In every
 * published turn every live fleet has ships == turn and speed == (float)turn,
 * so a reader can tell a consistent turn from a mix of two.  After each turn
 * the cluster header (committed turn, cluster hash) and the universe records
 * are updated inside the cluster seqlock.
 *
 * Prints "ready" (flushed) once turn 0 is published.  Sleeps about 1 ms
 * between turns unless --fast.  Stops at TURNS (or, with --hold, waits for a
 * signal after TURNS) or on SIGTERM/SIGINT, then removes every segment of
 * NAME and exits 0.  --corrupt-version writes layout version 99 into every
 * segment after creating it (readers must refuse them).
 */
#include "vr_shm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_UNIVERSES 64
#define FLEETS 500

/* Names for factions.name: plain, multi-byte, exactly 48 bytes, and 49
 * bytes whose 48th byte is the first of a 2-byte character (kept: 47). */
static const char *const FACTION_NAMES[] = {
    "Templars_of_the_Flux",
    "\xc3\x86r\xc3\xb8_\xce\xa9mega \xe2\x82\xac \xf0\x9f\x9a\x80",
    "Exactly_forty_eight_bytes_long_name_0123456789ab",
    "Forty_seven_bytes_then_an_omega_0123456789abcde\xce\xa9",
};
#define NFACTIONS (sizeof FACTION_NAMES / sizeof FACTION_NAMES[0])

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nap(long ns)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};
    nanosleep(&ts, NULL); /* EINTR on a signal: fine, stop is checked */
}

static int usage(void)
{
    fprintf(stderr,
            "usage: vr-test-writer NAME NUNIVERSES TURNS [--fast] [--hold] [--corrupt-version]\n");
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* One turn of one universe: copy the published state, set every live fleet
 * to the turn number, publish. */
static int step(vr_arena *a, uint64_t turn, uint64_t *hash)
{
    vr_cols c;
    int rc = vr_arena_begin(a, &c);
    if (rc)
        return rc;
    if (turn == 0) {
        for (uint32_t s = 0; s < 16; s++) {
            uint64_t id;
            if ((rc = vr_ent_alloc(&c, VR_TAB_systems, &id)))
                return rc;
            c.systems_x[s] = (float)s;
            c.systems_y[s] = (float)(2 * s);
        }
        for (uint32_t f = 0; f < FLEETS; f++) {
            uint64_t id;
            if ((rc = vr_ent_alloc(&c, VR_TAB_fleets, &id)))
                return rc;
            c.fleets_faction[f] = (uint16_t)(1 + f % 4);
        }
        uint32_t w = vr_columns[VR_COL_factions_name].lanes;
        for (uint32_t f = 0; f < NFACTIONS; f++) {
            uint64_t id;
            if ((rc = vr_ent_alloc(&c, VR_TAB_factions, &id)))
                return rc;
            vr_name_put(c.factions_name + (size_t)f * w, w, FACTION_NAMES[f]);
        }
    }
    uint32_t rows = c.tables[VR_TAB_fleets].count;
    for (uint32_t r = 0; r < rows; r++)
        if (c.gen[VR_TAB_fleets][r] & 1) {
            c.fleets_ships[r] = (uint32_t)turn;
            c.fleets_speed[r] = (float)turn;
        }
    *hash = vr_arena_hash(a);
    return vr_arena_publish(a, turn, *hash);
}

static void commit(vr_cluster *cl, uint32_t n, uint64_t turn, const uint64_t *hashes,
                   uint64_t turn_ns)
{
    vr_cluster_write_begin(cl);
    vr_cluster_hdr *h = vr_cluster_header(cl);
    uint64_t ch = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < n; i++) {
        ch = vr_mix64(ch ^ hashes[i]);
        vr_urec *u = vr_cluster_universe(cl, i);
        u->committed_turn = turn;
        u->state_hash = hashes[i];
        u->heartbeat_ns = now_ns();
        u->turn_ns = turn_ns;
        u->entities = FLEETS + 16 + NFACTIONS;
        u->status = VR_WORKER_READY;
    }
    h->committed_turn = turn;
    h->cluster_hash = ch;
    h->turn_ns = turn_ns;
    h->status = VR_CLUSTER_RUNNING;
    vr_cluster_write_end(cl);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    const char *name = argv[1];
    uint64_t n64, turns;
    bool fast = false, hold = false, corrupt = false;
    if (vr_name_check(name) || parse_u64(argv[2], &n64) || n64 == 0 || n64 > MAX_UNIVERSES ||
        parse_u64(argv[3], &turns))
        return usage();
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--fast"))
            fast = true;
        else if (!strcmp(argv[i], "--hold"))
            hold = true;
        else if (!strcmp(argv[i], "--corrupt-version"))
            corrupt = true;
        else
            return usage();
    }
    uint32_t n = (uint32_t)n64;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    uint64_t cluster_id = vr_mix64((uint64_t)getpid() ^ now_ns()) | 1;
    vr_cluster *cl = NULL;
    int rc = vr_cluster_create(&cl, name, n, cluster_id, 0600);
    if (rc) {
        /* not ours (e.g. -EEXIST): leave whatever exists alone */
        fprintf(stderr, "vr-test-writer: cluster %s: %s\n", name, vr_strerror(rc));
        return 1;
    }
    vr_arena *arenas[MAX_UNIVERSES] = {0};
    uint64_t hashes[MAX_UNIVERSES] = {0};
    int status = 0;

    vr_cluster_write_begin(cl);
    for (uint32_t i = 0; i < n && !rc; i++) {
        vr_arena_spec spec = {.universe = i, .cluster_id = cluster_id, .seed = 42 + i};
        spec.capacity[VR_TAB_systems] = 16;
        spec.capacity[VR_TAB_lanes] = 64;
        spec.capacity[VR_TAB_fleets] = 1000;
        spec.capacity[VR_TAB_factions] = NFACTIONS;
        vr_urec *u = vr_cluster_universe(cl, i);
        vr_segname(u->arena, sizeof u->arena, name, (int)i); /* shm name, leading '/' */
        snprintf(u->cpus, sizeof u->cpus, "0-1");
        u->worker_pid = (int32_t)getpid();
        u->numa_node = 0;
        u->status = VR_WORKER_STARTING;
        rc = vr_arena_create(&arenas[i], u->arena, &spec, 0600);
        if (rc)
            fprintf(stderr, "vr-test-writer: arena %s: %s\n", u->arena, vr_strerror(rc));
        else
            u->arena_bytes = vr_arena_bytes(arenas[i]);
    }
    vr_cluster_write_end(cl);
    if (rc) {
        status = 1;
        goto out;
    }
    if (corrupt) {
        vr_cluster_header(cl)->seg.layout_version = 99;
        for (uint32_t i = 0; i < n; i++)
            ((vr_seghdr *)vr_arena_base(arenas[i]))->layout_version = 99;
    }

    for (uint64_t turn = 0; turn <= turns && !stop; turn++) {
        uint64_t t0 = now_ns();
        for (uint32_t i = 0; i < n; i++) {
            rc = step(arenas[i], turn, &hashes[i]);
            if (rc) {
                fprintf(stderr, "vr-test-writer: turn %llu, universe %u: %s\n",
                        (unsigned long long)turn, i, vr_strerror(rc));
                status = 1;
                goto out;
            }
        }
        commit(cl, n, turn, hashes, now_ns() - t0);
        if (turn == 0) {
            printf("ready\n");
            fflush(stdout);
        }
        if (!fast)
            nap(1000000);
    }
    while (hold && !stop)
        nap(10000000);

out:
    for (uint32_t i = 0; i < n; i++)
        vr_arena_detach(&arenas[i]);
    vr_cluster_detach(&cl);
    vr_shm_remove_all(name);
    return status;
}
