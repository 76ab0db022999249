/* bench_portal.c: vr-bench-portal, portal transfers per second between two
 * worker processes, beside its floors measured in the same run.
 *
 * A universe (u0 of a 2-universe network) sends full outboxes (256 fleets of
 * 1-20 ships, the most a universe sends in a turn) to a second process, as a
 * worker does: outbox -> batch -> msgpack -> ZeroMQ PUSH over ipc; the
 * receiver (a forked process, like vr-worker) does PULL -> strict decode ->
 * checks against its arena (links, designs, factions...).  Placing the fleets
 * in the destination arena (vr_sim_arrivals) is measured on its own, in
 * process.  Floors, same message sizes, same run:
 *   msgpack pack:   msgpack-c packing the same values (no arena reads)
 *   msgpack unpack: msgpack_unpack_next of the same bytes (no checks, no copy)
 *   raw ZeroMQ:     PUSH -> PULL of the same bytes between two processes
 * Prints one table; never asserts on speed.
 *   usage: vr-bench-portal [--batches N]
 */
#include "portal.h"
#include "sim_internal.h"

#include <errno.h>
#include <malloc.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct world {
    char seg[64];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
} world;

static int make(world *w, uint32_t u, const vr_portal_net *net, const char *tag)
{
    vr_scenario s = {.seed = 9, .universe = u, .systems = 64, .fleets = 2000, .factions = 4, .portals = net};
    vr_arena_spec spec = {.universe = u, .seed = 9};
    vr_sim_capacity(&s, spec.capacity);
    snprintf(w->seg, sizeof w->seg, "/vr.benchportal%d.%s", (int)getpid(), tag);
    if (vr_arena_create(&w->a, w->seg, &spec, 0600) || vr_arena_begin(w->a, &w->c) || vr_sim_new(&w->sim, &s) ||
        vr_sim_genesis(w->sim, &w->c))
        return -1;
    return 0;
}

static void drop(world *w)
{
    vr_sim_destroy(&w->sim);
    vr_arena_detach(&w->a);
    shm_unlink(w->seg);
}

/* The receiver: PULL n messages; mode 0 raw (receive only), 1 decode and
 * check.  Writes its elapsed seconds and the ships it saw to the shared
 * result. */
typedef struct result {
    double secs;
    uint64_t fleets, ships, rejected;
} result;

static void receiver(const char *ep, int n, int mode, const vr_portal_net *net, result *res)
{
    world w;
    if (mode == 1 && make(&w, 1, net, "rx"))
        _exit(1);
    void *ctx = zmq_ctx_new(), *in = zmq_socket(ctx, ZMQ_PULL);
    int hwm = 100000, tmo = 10000;
    zmq_setsockopt(in, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(in, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    if (zmq_bind(in, ep) < 0)
        _exit(1);
    char *buf = malloc(VR_PORTAL_BATCH_MAX_BYTES);
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    double t0 = 0;
    for (int k = 0; k < n; k++) {
        int len = zmq_recv(in, buf, VR_PORTAL_BATCH_MAX_BYTES, 0);
        if (len < 0)
            _exit(1);
        if (k == 0)
            t0 = now_s();
        if (mode == 1) {
            char err[256];
            if (vr_portal_batch_decode(buf, (size_t)len, &b, err, sizeof err) ||
                vr_portal_batch_check(w.sim, &w.c, &b, 1, b.turn + 1, err, sizeof err)) {
                res->rejected++;
                continue;
            }
            res->fleets += b.nfleets, res->ships += b.nships;
        }
    }
    res->secs = now_s() - t0;
    vr_portal_batch_fini(&b);
    free(buf);
    zmq_close(in);
    zmq_ctx_term(ctx);
    if (mode == 1)
        drop(&w);
    _exit(0);
}

/* Forks a receiver, then (in the parent, with a fresh context) sends n
 * messages: build(k) gives message k.  Returns the receiver's seconds from
 * its first message to its last (the first message's send is excluded). */
typedef const char *(*builder)(void *arg, int k, size_t *len);
static int run_pipe(const char *ep, int n, int mode, const vr_portal_net *net, builder build, void *arg,
                    result *out)
{
    result *res = mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(res, 0, sizeof *res);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        receiver(ep, n, mode, net, res);
    }
    void *ctx = zmq_ctx_new(), *outs = zmq_socket(ctx, ZMQ_PUSH);
    int hwm = 100000, linger = 5000;
    zmq_setsockopt(outs, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(outs, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(outs, ep);
    for (int k = 0; k < n; k++) {
        size_t len;
        const char *m = build(arg, k, &len);
        zmq_send(outs, m, len, 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    zmq_close(outs);
    zmq_ctx_term(ctx);
    *out = *res;
    munmap(res, sizeof *res);
    unlink(ep + 6);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

typedef struct sender {
    world *w;
    vr_portal_batch b;
    char *bytes;
    size_t len;
    double encode_s;
} sender;

/* What a worker does after a turn: outbox -> batch -> bytes. */
static const char *build_real(void *arg, int k, size_t *len)
{
    sender *s = arg;
    double t0 = now_s();
    free(s->bytes);
    s->bytes = NULL;
    vr_portal_batch_from_outbox(&s->b, &s->w->c, 0, 1, (uint64_t)k + 1);
    vr_portal_batch_encode(&s->b, &s->bytes, &s->len);
    s->encode_s += now_s() - t0;
    *len = s->len;
    return s->bytes;
}

static const char *build_same(void *arg, int k, size_t *len)
{
    (void)k;
    sender *s = arg;
    *len = s->len;
    return s->bytes;
}

int main(int argc, char **argv)
{
    int n = 400;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--batches") == 0)
            n = atoi(argv[++i]);
    if (n < 2)
        n = 2;
    /* keep freed memory in the process: otherwise whichever loop frees the
     * top of the heap pays page faults every round, and floors and figures
     * are measured under different conditions */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    char err[256];
    vr_portal_net *net = NULL;
    vr_portal_config cfg = {.universes = 2, .seed = 9, .spec = "default"};
    if (vr_portal_net_new(&net, &cfg, err, sizeof err))
        return fprintf(stderr, "vr-bench-portal: %s\n", err), 1;
    world w;
    if (make(&w, 0, net, "tx"))
        return fprintf(stderr, "vr-bench-portal: cannot build the world\n"), 1;
    /* a full outbox: every fleet heads into the portal, standing at it */
    vr_cols *c = &w.c;
    uint32_t sys = c->portals_system[0];
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count; f++) {
        if (!(c->gen[VR_TAB_fleets][f] & 1))
            continue;
        c->fleets_at[f] = c->fleets_next[f] = c->fleets_dest[f] = sys;
        c->fleets_node[f] = c->fleets_dest_node[f] = c->portals_node[0];
        c->fleets_leg[f] = 0.0f;
        c->fleets_portal[f] = 1;
        c->fleets_portal_dest[f] = VR_NO_SYSTEM;
    }
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    double te = now_s();
    vr__portal_enter(w.sim, c, 1, &st);
    te = now_s() - te;
    sender s = {.w = &w};
    vr_portal_batch_init(&s.b);
    build_real(&s, 0, &s.len);
    uint32_t fleets = s.b.nfleets, ships = s.b.nships;
    size_t bytes = s.len;
    s.encode_s = 0;

    /* floors: msgpack pack / unpack of the same shape and bytes */
    int reps = n;
    double t0 = now_s();
    for (int k = 0; k < reps; k++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, fleets);
        for (uint32_t i = 0; i < fleets; i++) {
            const vr_pfleet *f = &s.b.fleets[i];
            msgpack_pack_array(&pk, 10);
            msgpack_pack_uint64(&pk, f->fleet);
            msgpack_pack_uint32(&pk, f->link);
            msgpack_pack_uint32(&pk, f->dest);
            msgpack_pack_uint16(&pk, f->faction);
            msgpack_pack_uint8(&pk, f->order);
            msgpack_pack_float(&pk, f->speed);
            msgpack_pack_array(&pk, 4);
            for (int r = 0; r < 4; r++)
                msgpack_pack_int64(&pk, f->cargo[r]);
            msgpack_pack_int64(&pk, f->capacity);
            msgpack_pack_int64(&pk, f->upkeep);
            msgpack_pack_array(&pk, f->nships);
            for (uint32_t q = 0; q < f->nships; q++) {
                const vr_pship *p = &s.b.ships[f->first + q];
                msgpack_pack_array(&pk, 14);
                msgpack_pack_uint16(&pk, p->design), msgpack_pack_uint16(&pk, p->faction);
                msgpack_pack_float(&pk, p->hull), msgpack_pack_float(&pk, p->shield);
                msgpack_pack_float(&pk, p->armor), msgpack_pack_float(&pk, p->strength);
                msgpack_pack_float(&pk, p->ap), msgpack_pack_uint16(&pk, p->attacks);
                msgpack_pack_uint8(&pk, p->accuracy), msgpack_pack_uint8(&pk, p->evasion);
                msgpack_pack_uint8(&pk, p->morale), msgpack_pack_uint8(&pk, p->state);
                msgpack_pack_float(&pk, p->speed), msgpack_pack_uint32(&pk, p->cargo);
            }
        }
        msgpack_sbuffer_destroy(&sb);
    }
    double pack_floor = (now_s() - t0) / reps;
    for (int warm = 0; warm < 2; warm++) { /* allocator warm-up: the first rounds pay for mmap thresholds */
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        msgpack_unpack_next(&up, s.bytes, s.len, &off);
        msgpack_unpacked_destroy(&up);
    }
    t0 = now_s();
    for (int k = 0; k < reps; k++) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        msgpack_unpack_next(&up, s.bytes, s.len, &off);
        msgpack_unpacked_destroy(&up);
    }
    double unpack_floor = (now_s() - t0) / reps;
    t0 = now_s();
    for (int k = 0; k < reps; k++)
        build_real(&s, k, &s.len);
    double encode = (now_s() - t0) / reps;
    vr_portal_batch d;
    vr_portal_batch_init(&d);
    t0 = now_s();
    for (int k = 0; k < reps; k++)
        if (vr_portal_batch_decode(s.bytes, s.len, &d, err, sizeof err))
            return fprintf(stderr, "vr-bench-portal: decode: %s\n", err), 1;
    double decode = (now_s() - t0) / reps;

    /* placing the arrivals (destination arena), in process */
    world rx;
    if (make(&rx, 1, net, "ap"))
        return fprintf(stderr, "vr-bench-portal: cannot build the destination\n"), 1;
    vr_arena_publish(rx.a, 0, 0);
    double apply = 0;
    int napply = 50;
    for (int k = 0; k < napply; k++) {
        vr_arena_begin(rx.a, &rx.c); /* back to turn 0 each time (not timed) */
        vr_portal_batch *in[1] = {&d};
        d.turn = 0;
        t0 = now_s();
        int rc = vr_sim_arrivals(rx.sim, &rx.c, 1, in, 1, NULL, NULL);
        apply += now_s() - t0;
        if (rc)
            return fprintf(stderr, "vr-bench-portal: arrivals: %s\n", vr_strerror(rc)), 1;
    }
    apply /= napply;
    drop(&rx);

    /* between two processes */
    char ep[128];
    snprintf(ep, sizeof ep, "ipc:///tmp/vr-bench-portal-%d", (int)getpid());
    result real, raw;
    s.encode_s = 0;
    if (run_pipe(ep, n, 1, net, build_real, &s, &real) || run_pipe(ep, n, 0, net, build_same, &s, &raw))
        return fprintf(stderr, "vr-bench-portal: a receiver failed\n"), 1;
    if (real.rejected)
        return fprintf(stderr, "vr-bench-portal: %llu batches rejected\n", (unsigned long long)real.rejected), 1;
    double per_real = real.secs / (n - 1), per_raw = raw.secs / (n - 1);

    printf("portal transfers: batches of %u fleets, %u ships, %zu bytes (%.1f B/ship); %d batches\n", fleets, ships,
           bytes, (double)bytes / ships, n);
    printf("%-58s %12s %14s %12s\n", "what", "per batch", "fleets/s", "ships/s");
    struct { const char *what; double t; } rows[] = {
        {"fleets entering the portal (arena -> outbox), once", te},
        {"encode: outbox -> batch -> msgpack", encode},
        {"  floor: msgpack-c pack of the same values", pack_floor},
        {"decode: strict msgpack decode + bounds + copy", decode},
        {"  floor: msgpack_unpack_next of the same bytes", unpack_floor},
        {"arrivals placed in the destination arena", apply},
        {"two processes: encode, PUSH, PULL, decode, check", per_real},
        {"  floor: raw ZeroMQ ipc PUSH->PULL of the same bytes", per_raw},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("%-58s %9.1f us %14.0f %12.0f\n", rows[i].what, rows[i].t * 1e6, fleets / rows[i].t,
               ships / rows[i].t);
    printf("raw ZeroMQ ipc at this size: %.0f MB/s; full path %.2fx the raw floor\n", bytes / per_raw / 1e6,
           per_real / per_raw);
    vr_portal_batch_fini(&d);
    vr_portal_batch_fini(&s.b);
    free(s.bytes);
    drop(&w);
    vr_portal_net_destroy(&net);
    return 0;
}
