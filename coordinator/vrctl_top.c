/* vrctl_top.c: `vrctl top` (a live view read from the cluster segment) and
 * `vrctl map` (hands over to the Python package, which draws with
 * matplotlib).
 *
 * top maps the cluster segment read-only and reads it through its sequence
 * lock (vr_cluster_read_*): it needs no command round trip, so it keeps
 * showing a cluster whose coordinator is busy, and it can never slow the
 * cluster down.  Every interval it prints the turn, the turn rate measured
 * between two looks, the cluster hash, and per universe the worker, its
 * committed turn, per-system times and counts of its last turn; a terminal
 * gets the frame redrawn in place, a pipe gets frames one after another.
 */
#include "vr_coord.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef VR_PYTHON_DIR
#define VR_PYTHON_DIR ""
#endif

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define VR_MAX_UNIVERSES_TOP 4096 /* the cluster segment's limit */

/* One consistent copy of what top shows. */
typedef struct look {
    vr_cluster_hdr h;
    vr_urec u[VR_MAX_UNIVERSES_TOP];
    uint32_t n;
    uint64_t at_ns;
} look;

static int take(vr_cluster *cl, look *lk)
{
    vr_cluster_hdr *h = vr_cluster_header(cl);
    uint32_t n = h->nuniverses < VR_MAX_UNIVERSES_TOP ? h->nuniverses : VR_MAX_UNIVERSES_TOP;
    for (int tries = 0; tries < 100000; tries++) {
        uint64_t s0 = atomic_load_explicit(&h->seq, memory_order_acquire);
        if (s0 & 1)
            continue;
        memcpy(&lk->h, h, sizeof lk->h);
        for (uint32_t i = 0; i < n; i++)
            memcpy(&lk->u[i], vr_cluster_universe(cl, i), sizeof lk->u[i]);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&h->seq, memory_order_acquire) == s0) {
            lk->n = n;
            lk->at_ns = mono_ns();
            return 0;
        }
    }
    return -EAGAIN;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static void frame(const char *name, const look *now, const look *before, bool tty)
{
    const vr_cluster_hdr *h = &now->h;
    double rate = -1.0;
    if (before && now->at_ns > before->at_ns && h->committed_turn >= before->h.committed_turn)
        rate = (double)(h->committed_turn - before->h.committed_turn) * 1e9 / (double)(now->at_ns - before->at_ns);
    if (tty)
        fputs("\033[H\033[2J", stdout);
    printf("vr top - cluster %s   %s   turn %" PRIu64 "   ", name, vr_cluster_status_name(h->status),
           h->committed_turn);
    if (rate >= 0)
        printf("%.1f turns/s", rate);
    else
        printf("- turns/s");
    printf("   last turn %.2f ms   cluster hash %016" PRIx64 "\n\n", ms(h->turn_ns), h->cluster_hash);
    printf("%-4s %7s %-8s %8s | %7s %7s %7s %7s %7s %7s %7s | %9s %9s %7s %6s %7s %6s %6s %9s\n", "u", "pid",
           "worker", "turn", "turn ms", "move", "paths", "ai", "combat", "econ", "audit", "entities", "ships",
           "battles", "kills", "decide", "storms", "interc", "transfers");
    uint64_t tot[8] = {0}, tin = 0, trej = 0;
    for (uint32_t i = 0; i < now->n; i++) {
        const vr_urec *u = &now->u[i];
        char xfer[48]; /* fleets out/in through portals; rejected batches and audit violations after a ! */
        if (u->m_portal_rejected || u->m_portal_violations)
            snprintf(xfer, sizeof xfer, "%" PRIu64 "/%" PRIu64 "!%" PRIu64 "/%" PRIu64, u->m_transfers,
                     u->m_transfers_in, u->m_portal_rejected, u->m_portal_violations);
        else
            snprintf(xfer, sizeof xfer, "%" PRIu64 "/%" PRIu64, u->m_transfers, u->m_transfers_in);
        tin += u->m_transfers_in;
        trej += u->m_portal_rejected + u->m_portal_violations;
        printf("u%-3u %7d %-8s %8" PRIu64 " | %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f | %9" PRIu64 " %9" PRIu64
               " %7" PRIu64 " %6" PRIu64 " %7" PRIu64 " %6" PRIu64 " %6" PRIu64 " %9s\n",
               i, u->worker_pid, vr_worker_status_name(u->status), u->committed_turn, ms(u->turn_ns),
               ms(u->m_movement_ns), ms(u->m_paths_ns), ms(u->m_ai_ns), ms(u->m_combat_ns), ms(u->m_economy_ns),
               ms(u->m_audit_ns), u->entities, u->m_ships, u->m_battles, u->m_kills, u->m_decisions, u->m_storms,
               u->m_intercepted, xfer);
        uint64_t v[8] = {u->entities, u->m_ships, u->m_battles, u->m_kills, u->m_decisions, u->m_storms,
                         u->m_intercepted, u->m_transfers};
        for (int k = 0; k < 8; k++)
            tot[k] += v[k];
    }
    char xall[48];
    snprintf(xall, sizeof xall, "%" PRIu64 "/%" PRIu64 "%s", tot[7], tin, trej ? "!" : "");
    printf("%-4s %7s %-8s %8s | %7s %7s %7s %7s %7s %7s %7s | %9" PRIu64 " %9" PRIu64 " %7" PRIu64 " %6" PRIu64
           " %7" PRIu64 " %6" PRIu64 " %6" PRIu64 " %9s\n",
           "all", "", "", "", "", "", "", "", "", "", "", tot[0], tot[1], tot[2], tot[3], tot[4], tot[5], tot[6], xall);
    printf("\ntimes in ms of each universe's last committed turn; counts of that turn (entities, ships: alive);\n"
           "transfers: fleets out/in through portals (after !: batches rejected / conservation violations)\n");
    fflush(stdout);
}

int vrctl_top(const char *name, int argc, char **argv)
{
    double interval = 1.0;
    long count = 0; /* 0: until interrupted or the cluster goes */
    static const struct option lo[] = {{"interval", 1, 0, 'i'}, {"count", 1, 0, 'c'}, {"once", 0, 0, '1'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "i:c:h", lo, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'i':
            interval = strtod(optarg, &end);
            if (*end || !(interval >= 0.05 && interval <= 3600)) {
                fprintf(stderr, "vrctl top: --interval \"%s\" is not a number of seconds in 0.05..3600\n", optarg);
                return 2;
            }
            break;
        case 'c':
            count = strtol(optarg, &end, 10);
            if (*end || count < 1) {
                fprintf(stderr, "vrctl top: --count \"%s\" is not a positive number\n", optarg);
                return 2;
            }
            break;
        case '1': count = 1; break;
        case 'h':
            printf("usage: vrctl [-n NAME] top [-i SECONDS] [-c COUNT | --once]\n"
                   "Live view of cluster NAME from its shared memory: turn, turn rate, per-system time and\n"
                   "counts per universe.  Redraws every SECONDS (default 1) until Ctrl-C or the cluster stops;\n"
                   "--count N prints N frames, --once one (the rate then is measured over --interval).\n");
            return 0;
        default: return 2;
        }
    }
    char why[256] = "";
    vr_cluster *cl = NULL;
    int rc = vr_cluster_attach(&cl, name, false, why, sizeof why);
    if (rc) {
        fprintf(stderr, "vrctl top: cannot attach cluster \"%s\": %s\n", name, why[0] ? why : vr_strerror(rc));
        return 3;
    }
    bool tty = isatty(STDOUT_FILENO);
    static look a, b; /* big: not on the stack */
    look *now = &a, *before = NULL;
    if (take(cl, &b) == 0 && count == 1) { /* one frame: measure the rate over one interval first */
        before = &b;
        usleep((useconds_t)(interval * 1e6));
    }
    for (long k = 0; count == 0 || k < count; k++) {
        if (k > 0)
            usleep((useconds_t)(interval * 1e6));
        if (take(cl, now)) {
            fprintf(stderr, "vrctl top: the cluster segment stays busy\n");
            rc = 3;
            break;
        }
        frame(name, now, before, tty);
        if (now->h.status == VR_CLUSTER_STOPPED || now->h.status == VR_CLUSTER_FAILED) {
            printf("cluster %s has %s\n", name, vr_cluster_status_name(now->h.status));
            break;
        }
        before = now;
        now = now == &a ? &b : &a;
        if (before == now) /* never: two buffers alternate */
            break;
    }
    vr_cluster_detach(&cl);
    return rc;
}

int vrctl_map(const char *name, int argc, char **argv)
{
    /* vrctl [-n NAME] map ARGS... == python3 -m voidreckoning.map NAME ARGS... */
    const char *py = getenv("VR_PYTHON");
    if (!py || !*py)
        py = "/usr/bin/python3";
    char **av = calloc((size_t)argc + 5, sizeof *av);
    if (!av)
        return 3;
    int k = 0;
    av[k++] = (char *)py;
    av[k++] = "-m";
    av[k++] = "voidreckoning.map";
    av[k++] = (char *)name;
    for (int i = 1; i < argc; i++)
        av[k++] = argv[i];
    av[k] = NULL;
    if (VR_PYTHON_DIR[0]) { /* the package of this source tree first */
        const char *old = getenv("PYTHONPATH");
        size_t len = strlen(VR_PYTHON_DIR) + (old ? strlen(old) + 1 : 0) + 1;
        char *pp = malloc(len);
        if (pp) {
            snprintf(pp, len, "%s%s%s", VR_PYTHON_DIR, old && *old ? ":" : "", old && *old ? old : "");
            setenv("PYTHONPATH", pp, 1);
            free(pp);
        }
    }
    execv(py, av);
    fprintf(stderr, "vrctl map: cannot run %s: %s (set VR_PYTHON to a Python 3 with numpy and matplotlib)\n", py,
            strerror(errno));
    free(av);
    return 3;
}
