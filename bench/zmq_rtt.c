/* zmq_rtt.c: vr-bench-zmq-rtt, the raw ZeroMQ floor under the turn protocol.
 *
 * One ROUTER bound on an ipc:// endpoint and N DEALER peers.  A "round" is
 * what a turn costs in messages, minus the simulation and the bookkeeping:
 * the ROUTER sends one SIZE-byte message (default 32) to every peer and waits
 * until all N have sent it back.  The turn protocol of DESIGN §4 does this
 * (TURN to all, DONE from all) plus a COMMIT broadcast and the shared-memory
 * updates, so rounds/s is the most a cluster of N empty universes can reach.
 *
 * Peers are either threads of this process sharing one ZeroMQ context
 * (--mode thread) or child processes with a context each (--mode process,
 * like vr-worker).  Children are forked before any ZeroMQ context exists in
 * this process: forking with a live context is undefined in ZeroMQ.
 *
 * Output, one line, key=value (bench/bench.py parses it):
 *   zmq_rtt mode=M peers=N size=B rounds=R mean_us=.. p50_us=.. p90_us=.. p99_us=..
 * Exit status: 0 ok, 1 a ZeroMQ call or a peer failed, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_PEERS 64
#define MAX_SIZE 4096
#define PEER_TIMEOUT_MS 10000 /* a peer gives up when the ROUTER is silent this long */

typedef struct opts {
    int peers;
    bool process;
    double seconds;
    long warmup;
    size_t size;
    char endpoint[256];
} opts;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: vr-bench-zmq-rtt [options]\n"
"Round trips of one ROUTER and N DEALER peers over ZeroMQ ipc://.\n"
"\n"
"  -p, --peers N        DEALER peers (default 1, at most %d)\n"
"  -m, --mode M         thread (peers are threads, one context) or process\n"
"                       (peers are forked children, a context each; default)\n"
"  -s, --seconds S      time the rounds for at least S seconds (default 1)\n"
"  -w, --warmup N       untimed rounds first (default 1000)\n"
"  -b, --size B         bytes per message (default 32, at most %d)\n"
"  -e, --endpoint EP    ipc endpoint (default ipc:///tmp/vr-bench-rtt-PID.ipc)\n"
"  -h, --help           this text\n",
            MAX_PEERS, MAX_SIZE);
}

static int parse_opts(opts *o, int argc, char **argv)
{
    *o = (opts){.peers = 1, .process = true, .seconds = 1.0, .warmup = 1000, .size = 32};
    snprintf(o->endpoint, sizeof o->endpoint, "ipc:///tmp/vr-bench-rtt-%d.ipc", (int)getpid());
    static const struct option lo[] = {
        {"peers", 1, 0, 'p'}, {"mode", 1, 0, 'm'}, {"seconds", 1, 0, 's'}, {"warmup", 1, 0, 'w'},
        {"size", 1, 0, 'b'}, {"endpoint", 1, 0, 'e'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "p:m:s:w:b:e:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'p':
            o->peers = (int)strtol(optarg, &end, 10);
            if (*end || o->peers < 1 || o->peers > MAX_PEERS) {
                fprintf(stderr, "vr-bench-zmq-rtt: --peers \"%s\" is not from 1 to %d\n", optarg, MAX_PEERS);
                return 2;
            }
            break;
        case 'm':
            if (strcmp(optarg, "thread") == 0) o->process = false;
            else if (strcmp(optarg, "process") == 0) o->process = true;
            else {
                fprintf(stderr, "vr-bench-zmq-rtt: --mode \"%s\" is not thread or process\n", optarg);
                return 2;
            }
            break;
        case 's':
            o->seconds = strtod(optarg, &end);
            if (*end || !(o->seconds > 0 && o->seconds <= 600)) {
                fprintf(stderr, "vr-bench-zmq-rtt: --seconds \"%s\" is not from 0 to 600\n", optarg);
                return 2;
            }
            break;
        case 'w':
            o->warmup = strtol(optarg, &end, 10);
            if (*end || o->warmup < 0) {
                fprintf(stderr, "vr-bench-zmq-rtt: --warmup \"%s\" is not a count\n", optarg);
                return 2;
            }
            break;
        case 'b': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < 8 || v > MAX_SIZE) {
                fprintf(stderr, "vr-bench-zmq-rtt: --size \"%s\" is not from 8 to %d\n", optarg, MAX_SIZE);
                return 2;
            }
            o->size = (size_t)v;
            break;
        }
        case 'e':
            if (strncmp(optarg, "ipc://", 6) != 0 || strlen(optarg) >= sizeof o->endpoint) {
                fprintf(stderr, "vr-bench-zmq-rtt: --endpoint \"%s\" is not a short ipc:// endpoint\n", optarg);
                return 2;
            }
            snprintf(o->endpoint, sizeof o->endpoint, "%s", optarg);
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vr-bench-zmq-rtt: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* ---- peer (DEALER): echo every message until an empty one ------------------- */

typedef struct peer {
    void *ctx; /* thread mode: the shared context; process mode: NULL (own one) */
    const opts *o;
    int index;
    int rc;
} peer;

static int peer_run(void *ctx, const opts *o, int index)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s)
        return -1;
    char id[16];
    int idn = snprintf(id, sizeof id, "p%d", index);
    int zero = 0, timeout = PEER_TIMEOUT_MS;
    zmq_setsockopt(s, ZMQ_ROUTING_ID, id, (size_t)idn);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    int rc = -1;
    if (zmq_connect(s, o->endpoint) < 0) {
        fprintf(stderr, "vr-bench-zmq-rtt: peer %d: zmq_connect(%s): %s\n", index, o->endpoint,
                zmq_strerror(errno));
        goto out;
    }
    if (zmq_send(s, "H", 1, 0) < 0) /* hello: the ROUTER learns our identity */
        goto out;
    char buf[MAX_SIZE];
    for (;;) {
        int n = zmq_recv(s, buf, sizeof buf, 0);
        if (n < 0) {
            fprintf(stderr, "vr-bench-zmq-rtt: peer %d: zmq_recv: %s\n", index, zmq_strerror(errno));
            goto out;
        }
        if (n == 0) { /* stop */
            rc = 0;
            goto out;
        }
        if (zmq_send(s, buf, (size_t)n, 0) < 0) {
            fprintf(stderr, "vr-bench-zmq-rtt: peer %d: zmq_send: %s\n", index, zmq_strerror(errno));
            goto out;
        }
    }
out:
    zmq_close(s);
    return rc;
}

static void *peer_thread(void *arg)
{
    peer *p = arg;
    p->rc = peer_run(p->ctx, p->o, p->index);
    return NULL;
}

static int peer_process(const opts *o, int index, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
    if (getppid() != parent)
        return 1;
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return 1;
    int rc = peer_run(ctx, o, index);
    zmq_ctx_term(ctx);
    return rc ? 1 : 0;
}

/* ---- ROUTER ------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sends round r to every peer and waits for every reply; 0 or -1. */
static int one_round(void *s, const opts *o, uint64_t r)
{
    char buf[MAX_SIZE] = {0}, id[16], rbuf[MAX_SIZE];
    memcpy(buf, &r, sizeof r);
    for (int i = 0; i < o->peers; i++) {
        int idn = snprintf(id, sizeof id, "p%d", i);
        if (zmq_send(s, id, (size_t)idn, ZMQ_SNDMORE) < 0 || zmq_send(s, buf, o->size, 0) < 0) {
            fprintf(stderr, "vr-bench-zmq-rtt: zmq_send to peer %d: %s\n", i, zmq_strerror(errno));
            return -1;
        }
    }
    for (int got = 0; got < o->peers;) {
        int idn = zmq_recv(s, id, sizeof id, 0);
        int n = idn < 0 ? -1 : zmq_recv(s, rbuf, sizeof rbuf, 0);
        if (n < 0) {
            fprintf(stderr, "vr-bench-zmq-rtt: zmq_recv: %s (a peer died?)\n", zmq_strerror(errno));
            return -1;
        }
        uint64_t back;
        memcpy(&back, rbuf, sizeof back);
        if ((size_t)n != o->size || back != r) {
            fprintf(stderr, "vr-bench-zmq-rtt: round %" PRIu64 ": bad reply (%d bytes, round %" PRIu64 ")\n",
                    r, n, back);
            return -1;
        }
        got++;
    }
    return 0;
}

static int run_router(void *ctx, const opts *o)
{
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0, one = 1, timeout = PEER_TIMEOUT_MS;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    int rc = -1;
    uint64_t *lat = NULL;
    if (zmq_bind(s, o->endpoint) < 0) {
        fprintf(stderr, "vr-bench-zmq-rtt: zmq_bind(%s): %s\n", o->endpoint, zmq_strerror(errno));
        goto out;
    }
    char id[16], buf[MAX_SIZE];
    for (int hello = 0; hello < o->peers; hello++) {
        if (zmq_recv(s, id, sizeof id, 0) < 0 || zmq_recv(s, buf, sizeof buf, 0) < 0) {
            fprintf(stderr, "vr-bench-zmq-rtt: waiting for %d peers, %d said hello: %s\n", o->peers, hello,
                    zmq_strerror(errno));
            goto out;
        }
    }
    uint64_t r = 0;
    for (long i = 0; i < o->warmup; i++)
        if (one_round(s, o, ++r))
            goto out;
    size_t cap = 65536, n = 0;
    lat = malloc(cap * sizeof *lat);
    if (!lat)
        goto out;
    uint64_t t0 = now_ns(), limit = (uint64_t)(o->seconds * 1e9), t = t0;
    while (t - t0 < limit) {
        uint64_t a = t;
        if (one_round(s, o, ++r))
            goto out;
        t = now_ns();
        if (n == cap) {
            uint64_t *p = realloc(lat, 2 * cap * sizeof *lat);
            if (!p)
                goto out;
            lat = p, cap *= 2;
        }
        lat[n++] = t - a;
    }
    double mean = (double)(t - t0) / (double)n / 1e3;
    qsort(lat, n, sizeof *lat, cmp_u64);
    printf("zmq_rtt mode=%s peers=%d size=%zu rounds=%zu mean_us=%.2f p50_us=%.2f p90_us=%.2f p99_us=%.2f\n",
           o->process ? "process" : "thread", o->peers, o->size, n, mean, (double)lat[n / 2] / 1e3,
           (double)lat[n * 9 / 10] / 1e3, (double)lat[n * 99 / 100] / 1e3);
    fflush(stdout);
    rc = 0;
out:
    /* stop every peer: an empty message (best effort: a dead peer is skipped) */
    for (int i = 0; i < o->peers; i++) {
        int idn = snprintf(id, sizeof id, "p%d", i);
        if (zmq_send(s, id, (size_t)idn, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            zmq_send(s, "", 0, ZMQ_DONTWAIT);
    }
    free(lat);
    int linger = 2000; /* let the stop messages leave before the socket closes */
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(&o, argc, argv);
    if (rc)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    pid_t kids[MAX_PEERS];
    int nkids = 0;
    if (o.process) { /* fork first: no ZeroMQ context exists yet */
        pid_t self = getpid();
        fflush(NULL);
        for (; nkids < o.peers; nkids++) {
            pid_t pid = fork();
            if (pid < 0) {
                perror("vr-bench-zmq-rtt: fork");
                for (int i = 0; i < nkids; i++)
                    kill(kids[i], SIGKILL), waitpid(kids[i], NULL, 0);
                return 1;
            }
            if (pid == 0)
                _exit(peer_process(&o, nkids, self));
            kids[nkids] = pid;
        }
    }
    void *ctx = zmq_ctx_new();
    pthread_t th[MAX_PEERS];
    peer pe[MAX_PEERS];
    int nth = 0;
    for (; !o.process && nth < o.peers; nth++) {
        pe[nth] = (peer){.ctx = ctx, .o = &o, .index = nth};
        if (pthread_create(&th[nth], NULL, peer_thread, &pe[nth])) {
            fprintf(stderr, "vr-bench-zmq-rtt: pthread_create failed\n");
            break;
        }
    }
    rc = (o.process || nth == o.peers) ? run_router(ctx, &o) : -1;
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
        if (pe[i].rc)
            rc = -1;
    }
    zmq_ctx_term(ctx);
    for (int i = 0; i < nkids; i++) {
        int st = 0;
        uint64_t deadline = now_ns() + 5000000000ull;
        while (waitpid(kids[i], &st, WNOHANG) == 0) {
            if (now_ns() > deadline) {
                kill(kids[i], SIGKILL);
                waitpid(kids[i], &st, 0);
                break;
            }
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            rc = -1;
    }
    unlink(o.endpoint + 6); /* ZeroMQ leaves the ipc socket file behind */
    return rc ? 1 : 0;
}
