/* coordinator.c: vr-coordinator, creates the cluster and drives turns.
 *
 * Start-up: check the name is free (report stale segments of a dead
 * coordinator; remove them with --reclaim), plan placement with hwloc,
 * create the cluster segment and one arena per universe, spawn one vr-worker
 * per universe (posix_spawn, before any ZeroMQ context exists), wait for
 * every HELLO.  Then the turn protocol of DESIGN §4 over a ROUTER socket:
 * TURN(n) to all -> DONE(n, hash) from all -> COMMIT(n) to all, while the
 * command socket stays served.  A worker that dies, fails or does not answer
 * within --worker-timeout is reported and the cluster is shut down: the
 * coordinator never waits without a deadline.  SIGINT/SIGTERM, `vrctl
 * shutdown` or the turn limit stop the cluster cleanly: STOP to workers, wait,
 * unlink every segment, print "final turn N cluster hash H".
 *
 * Game commands (order, spawn, policy) are checked at once against the last
 * committed turn (vr_cmd_resolve), given a ticket and queued in the order
 * they were accepted: that order is the canonical order.  Each TURN carries
 * up to VR_TURN_MAX_CMDS of its universe's queued commands (the rest wait
 * for later turns, still in order); the worker applies them before the
 * turn's systems and returns one result each with DONE.  w[u].sent keeps the
 * commands of the last turn sent to universe u (the per-turn list a command
 * log records); the results ring answers `result` by ticket.
 * Cluster events (schemas/events.def: "turn" after each commit, "worker"
 * when a worker dies, hangs, fails or exits) go out on a PUB socket whose
 * endpoint, like every worker's, is recorded in the cluster segment.
 */
#include "vr_coord.h"
#include "portal.h"
#include "vr_sim.h"
#include "content.h"
#include "vr_snapshot.h"

#include <dirent.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }
/* SIGCHLD only interrupts zmq_poll, so a dead worker is reaped at once */
static void on_child(int sig) { (void)sig; }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct opts {
    const char *name;
    uint32_t universes;
    uint64_t seed;
    uint64_t turns; /* 0 = until stopped */
    bool plan_only, reclaim, paused, quiet, hold;
    bool resume;            /* --resume NAME: continue the arenas a dead coordinator left */
    const char *world_opt;  /* the last option given that shapes the world (refused with --resume) */
    double worker_timeout;
    uint32_t max_restarts; /* per universe; 0: a lost worker stops the cluster */
    const char *topology, *cmd_endpoint, *worker_bin, *hash_log;
    char content_dir[PATH_MAX];    /* absolute; "" = built-in content */
    uint64_t content_hash;
    bool factions_given;
    enum vr_pin_mode pin;
    mode_t mode;
    vr_scenario sc; /* sc.content: the content below, until the arenas exist */
    vr_content *content; /* loaded (or built in) to validate it and size the arenas */
    const char *portals, *universe_names; /* --portals SPEC, --universe-names LIST */
    vr_portal_net *net;  /* the portal network (workers build the same; hash checked) */
    uint64_t portal_hash;
    /* snapshots, command log, restore (see "snapshots" below) */
    const char *restore, *snapshot_dir, *command_log;
    uint64_t snapshot_every;
    uint32_t snapshot_keep;
    uint32_t given; /* G_* bits: options given explicitly (checked against a snapshot) */
} opts;
enum { G_UNIVERSES = 1, G_SEED = 2, G_SYSTEMS = 4, G_FLEETS = 8, G_FACTIONS = 16, G_CONTENT = 32,
       G_PORTALS = 64, G_UNAMES = 128 };

/* The content is needed only to size the arenas (its design count): the
 * workers load their own copy. */
static void drop_content(opts *o)
{
    o->sc.content = NULL;
    vr_content_destroy(&o->content);
}

typedef struct worker {
    pid_t pid;
    bool alive, hello, done, pinged;
    uint64_t hash, entities, turn_ns, last_seen;
    uint64_t metrics[VR_NMETRICS];
    char died[96];
    uint32_t nsent;                   /* commands sent with the last TURN */
    vr_wcmd sent[VR_TURN_MAX_CMDS];
    /* recovery (see "restarts" below) */
    uint32_t restarts;                /* times this universe's worker was restarted */
    bool restarting, adopting;        /* spawned again, no HELLO yet / ADOPT sent, no PONG yet */
    bool replayed;                    /* its DONE of the turn in progress is a replay: compare */
    bool resend;                      /* came back: peers re-send their batches after the next COMMIT */
    uint64_t done_hash;               /* the DONE hash a replay must equal */
    uint32_t nportal;                 /* portal traffic of its DONE, recorded at COMMIT */
    vr_portal_stat portal[VR_PORTAL_STATS_MAX];
} worker;

/* Game commands: accepted, waiting for a turn, in accepted order. */
#define MAX_QUEUED 4096
typedef struct queued {
    uint32_t universe;
    vr_wcmd w;
} queued;

/* Results by ticket: slot ticket % RESULTS. */
#define RESULTS 4096
enum { RES_FREE = 0, RES_PENDING, RES_DONE, RES_FAILED };
typedef struct cmd_result {
    uint64_t ticket, turn, entity;
    uint32_t universe, op, state;
    int32_t code;
    char text[112];
} cmd_result;

#define MAX_WAITERS 16
typedef struct waiter { /* a client whose reply waits for a turn to commit */
    vr_cmd_kind kind;
    size_t idlen;
    uint8_t id[256];
    bool delim;
} waiter;

typedef struct coord {
    opts o;
    vr_plan plan;
    vr_cluster *cl;
    vr_arena **arenas;
    worker *w;
    void *ctx, *wsock, *csock, *esock;
    char wendpoint[256], cendpoint[256], eendpoint[256];
    uint64_t eseq[VR_NEVENTS]; /* event messages published per kind */
    uint64_t turn, cluster_hash;
    bool paused, stop, failed, in_turn, started; /* started: every worker said HELLO */
    uint64_t step_left;
    uint64_t restart_deadline; /* a turn waits at least this long for restarted workers */
    waiter waiters[MAX_WAITERS];
    int nwaiters;
    char fail_reason[512];
    uint64_t rate_t0, rate_turn0;
    double turns_per_s;
    uint64_t last_progress, last_ping;
    FILE *hash_log;
    queued *queue;           /* MAX_QUEUED entries, nqueued in use */
    uint32_t nqueued;
    uint64_t next_ticket;    /* the last ticket issued; 0 = none yet */
    cmd_result *results;     /* RESULTS entries */
    char *pendpoints;        /* every universe's portal batch endpoint, comma separated */
    vr_xfer *xfer;           /* the cluster-wide portal conservation audit */
    uint64_t *pviolations;   /* per destination universe, since start */
    FILE *cmd_log;           /* --command-log */
    bool snap_pending;       /* a `snapshot` request waits for the running turn to commit */
    waiter snap_waiter;
    char snap_path[VR_CMD_PATH_MAX + 1];
} coord;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vr-coordinator: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void fail(coord *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(coord *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail_reason, sizeof c->fail_reason, fmt, ap);
    va_end(ap);
    c->failed = true;
    c->stop = true;
    logf_("%s", c->fail_reason);
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
"usage: vr-coordinator [options]\n"
"Starts a vr cluster: one worker process per universe, lockstep turns.\n"
"\n"
"  -n, --name NAME          cluster name (default \"default\"); segments are /dev/shm/vr.NAME.*\n"
"  -u, --universes N        universes, one worker each (default 4)\n"
"  -s, --seed N             world seed (default 1)\n"
"  -t, --turns N            stop after turn N (default 0: run until Ctrl-C or `vrctl shutdown`)\n"
"      --systems N          star systems per universe (default 256)\n"
"      --fleets N           fleets per universe (default 4096)\n"
"      --factions N         factions (default 4, or the content pack's)\n"
"      --content DIR        content pack in the original engine's layout (default: built-in)\n"
"      --paused             start paused (drive it with `vrctl step N` / `vrctl resume`)\n"
"      --hold               at the turn limit, pause instead of exiting\n"
"      --plan               print the placement plan and exit\n"
"      --topology SPEC      hwloc topology: an .xml file or a synthetic description\n"
"                           (default: this machine, or HWLOC_XMLFILE / HWLOC_SYNTHETIC)\n"
"      --pin node|core      bind each worker to its NUMA node's cores (default) or to one core\n"
"      --reclaim            remove stale segments left by a dead coordinator of this name\n"
"      --cmd-endpoint EP    command socket (default ipc://$VR_RUNDIR/vr-NAME.cmd, VR_RUNDIR=/tmp)\n"
"      --worker-timeout S   seconds a worker may take to answer (default 10)\n"
"      --mode OCTAL         permissions of the segments (default 0600)\n"
"      --max-restarts N     restarts of each universe's worker before the cluster stops\n"
"                           (default 3; 0: a lost worker stops the cluster)\n"
"      --resume NAME        continue cluster NAME from the arenas its killed coordinator\n"
"                           left in /dev/shm (world options come from the dead run)\n"
"      --hash-log FILE      append \"TURN CLUSTER_HASH U0_HASH U1_HASH ...\" per committed turn\n"
"      --worker-bin PATH    vr-worker executable (default: next to vr-coordinator)\n"
"      --portals SPEC       portal network: default (a ring: u -> u+1), off, or NAME=FILE[,NAME=FILE...]\n"
"                           (the original engine's portal JSON files, each attached to universe NAME)\n"
"      --universe-names L   names of the universes, in order (\"a,b,c\"), for NAME and dest_universe\n"
"      --snapshot-every K   write a snapshot every K committed turns (to --snapshot-dir)\n"
"      --snapshot-dir DIR   where snapshots go (default $VR_RUNDIR, else /tmp), named\n"
"                           vr-NAME-tTURN.vrsnap\n"
"      --snapshot-keep N    keep the N newest periodic snapshots of this cluster (default 0: all)\n"
"      --restore FILE       start from a snapshot: its universes, seed, scenario, content and\n"
"                           portals; options that contradict it are refused\n"
"      --command-log FILE   write every applied command and each turn's hashes (vr-replay)\n"
"  -q, --quiet              no progress display\n"
"  -h, --help               this text\n"
"\n"
"On exit it prints \"final turn N cluster hash H\" (H: 16 hex digits).\n"
"Exit status: 0 clean stop, 1 start-up error, 2 usage, 3 a worker failed.\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || !*s || *end || s[0] == '-' || v > max) {
        logf_("%s: \"%s\" is not a number from 0 to %" PRIu64, what, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_opts(opts *o, int argc, char **argv)
{
    *o = (opts){.name = "default", .universes = 4, .seed = 1, .worker_timeout = 10.0,
                .max_restarts = 3, .mode = 0600, .sc = {.systems = 256, .fleets = 4096, .factions = 4}};
    enum { O_SYSTEMS = 256, O_FLEETS, O_FACTIONS, O_PAUSED, O_HOLD, O_PLAN, O_TOPO, O_PIN,
           O_RECLAIM, O_CMD, O_WT, O_MODE, O_BIN, O_HASHLOG, O_CONTENT, O_PORTALS, O_UNAMES,
           O_RESTARTS, O_RESUME, O_RESTORE, O_SNAP_EVERY, O_SNAP_DIR, O_SNAP_KEEP, O_CMDLOG };
    static const struct option lo[] = {
        {"name", 1, 0, 'n'}, {"universes", 1, 0, 'u'}, {"seed", 1, 0, 's'}, {"turns", 1, 0, 't'},
        {"systems", 1, 0, O_SYSTEMS}, {"fleets", 1, 0, O_FLEETS}, {"factions", 1, 0, O_FACTIONS},
        {"paused", 0, 0, O_PAUSED}, {"hold", 0, 0, O_HOLD}, {"plan", 0, 0, O_PLAN},
        {"topology", 1, 0, O_TOPO}, {"pin", 1, 0, O_PIN}, {"reclaim", 0, 0, O_RECLAIM},
        {"cmd-endpoint", 1, 0, O_CMD}, {"worker-timeout", 1, 0, O_WT}, {"mode", 1, 0, O_MODE},
        {"worker-bin", 1, 0, O_BIN}, {"hash-log", 1, 0, O_HASHLOG}, {"content", 1, 0, O_CONTENT}, {"portals", 1, 0, O_PORTALS},
        {"universe-names", 1, 0, O_UNAMES}, {"max-restarts", 1, 0, O_RESTARTS},
        {"resume", 1, 0, O_RESUME}, {"restore", 1, 0, O_RESTORE}, {"snapshot-every", 1, 0, O_SNAP_EVERY},
        {"snapshot-dir", 1, 0, O_SNAP_DIR}, {"snapshot-keep", 1, 0, O_SNAP_KEEP}, {"command-log", 1, 0, O_CMDLOG},
        {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    uint64_t v;
    while ((ch = getopt_long(argc, argv, "n:u:s:t:qh", lo, NULL)) != -1) {
        if (ch == 'u' || ch == 's' || ch == O_SYSTEMS || ch == O_FLEETS || ch == O_FACTIONS || ch == O_CONTENT ||
            ch == O_PORTALS || ch == O_UNAMES)
            o->world_opt = argv[optind - 1][0] == '-' || optind < 2 ? argv[optind - 1] : argv[optind - 2];
        switch (ch) {
        case 'n': o->name = optarg; break;
        case O_RESUME: o->resume = true, o->name = optarg; break;
        case 'u':
            if (parse_u64(optarg, 1024, &v, "--universes") || v == 0)
                return v == 0 ? (logf_("--universes must be at least 1"), 2) : 2;
            o->universes = (uint32_t)v;
            o->given |= G_UNIVERSES;
            break;
        case 's': if (parse_u64(optarg, UINT64_MAX, &o->seed, "--seed")) return 2; o->given |= G_SEED; break;
        case 't': if (parse_u64(optarg, UINT64_MAX / 2, &o->turns, "--turns")) return 2; break;
        case O_SYSTEMS:
            if (parse_u64(optarg, 200000, &v, "--systems") || v < 2)
                return v < 2 ? (logf_("--systems must be from 2 to 200000"), 2) : 2;
            o->sc.systems = (uint32_t)v;
            o->given |= G_SYSTEMS;
            break;
        case O_FLEETS:
            if (parse_u64(optarg, 50000000, &v, "--fleets")) return 2;
            o->sc.fleets = (uint32_t)v;
            o->given |= G_FLEETS;
            break;
        case O_FACTIONS:
            if (parse_u64(optarg, 65535, &v, "--factions") || v == 0)
                return v == 0 ? (logf_("--factions must be from 1 to 65535"), 2) : 2;
            o->sc.factions = (uint32_t)v;
            o->factions_given = true;
            o->given |= G_FACTIONS;
            break;
        case O_PAUSED: o->paused = true; break;
        case O_HOLD: o->hold = true; break;
        case O_PLAN: o->plan_only = true; break;
        case O_TOPO: o->topology = optarg; break;
        case O_PIN:
            if (strcmp(optarg, "node") == 0) o->pin = VR_PIN_NODE;
            else if (strcmp(optarg, "core") == 0) o->pin = VR_PIN_CORE;
            else { logf_("--pin: \"%s\" is not node or core", optarg); return 2; }
            break;
        case O_RECLAIM: o->reclaim = true; break;
        case O_CMD: o->cmd_endpoint = optarg; break;
        case O_RESTARTS: {
            uint64_t v;
            if (parse_u64(optarg, 1000, &v, "--max-restarts"))
                return 2;
            o->max_restarts = (uint32_t)v;
            break;
        }
        case O_WT: {
            char *end;
            o->worker_timeout = strtod(optarg, &end);
            if (*end || !(o->worker_timeout > 0 && o->worker_timeout < 86400)) {
                logf_("--worker-timeout: \"%s\" is not a number of seconds", optarg);
                return 2;
            }
            break;
        }
        case O_MODE:
            if (parse_u64(optarg, 0777, &v, "--mode")) return 2;
            o->mode = (mode_t)v;
            break;
        case O_BIN: o->worker_bin = optarg; break;
        case O_HASHLOG: o->hash_log = optarg; break;
        case O_CONTENT:
            if (!realpath(optarg, o->content_dir)) {
                logf_("--content %s: %s", optarg, strerror(errno));
                return 2;
            }
            o->given |= G_CONTENT;
            break;
        case O_PORTALS: o->portals = optarg; o->given |= G_PORTALS; break;
        case O_UNAMES: o->universe_names = optarg; o->given |= G_UNAMES; break;
        case O_RESTORE: o->restore = optarg; break;
        case O_SNAP_EVERY: if (parse_u64(optarg, UINT64_MAX / 2, &o->snapshot_every, "--snapshot-every")) return 2; break;
        case O_SNAP_DIR: o->snapshot_dir = optarg; break;
        case O_SNAP_KEEP:
            if (parse_u64(optarg, 1000000, &v, "--snapshot-keep")) return 2;
            o->snapshot_keep = (uint32_t)v;
            break;
        case O_CMDLOG: o->command_log = optarg; break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        logf_("unexpected argument \"%s\" (see --help)", argv[optind]);
        return 2;
    }
    if (vr_name_check(o->name)) {
        logf_("--name \"%s\": %s", o->name, vr_strerror(-VR_EBADNAME));
        return 2;
    }
    return 0;
}

/* ---- start-up -------------------------------------------------------------- */

/* Refuses a name in use; reports (or with --reclaim removes) stale segments. */
static int check_stale(const opts *o)
{
    char names[64][VR_SEGNAME_MAX];
    int n = vr_shm_list(o->name, names, 64);
    if (n <= 0)
        return 0;
    char seg[VR_SEGNAME_MAX];
    vr_segname(seg, sizeof seg, o->name, -1);
    int32_t pid = 0;
    if (vr_shm_owner(seg, &pid) == 0 && pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)) {
        logf_("cluster \"%s\" is already running (coordinator pid %d); stop it with "
              "`vrctl -n %s shutdown` or pick another --name", o->name, pid, o->name);
        return -VR_ERUNNING;
    }
    logf_("found %d stale segment%s of cluster \"%s\" left by a dead coordinator%s:", n,
          n == 1 ? "" : "s", o->name, pid > 0 ? "" : " (no live owner)");
    for (int i = 0; i < n && i < 64; i++) {
        int32_t p = 0;
        int rc = vr_shm_owner(names[i], &p);
        fprintf(stderr, "  /dev/shm%s  %s%d\n", names[i], rc ? "unreadable header, creator pid " : "creator pid ",
                rc ? -1 : p);
    }
    if (!o->reclaim) {
        logf_("not touching them; run again with --reclaim to remove them");
        return -VR_ESTALE;
    }
    int removed = vr_shm_remove_all(o->name);
    logf_("--reclaim: removed %d stale segment%s", removed, removed == 1 ? "" : "s");
    return 0;
}

static void worker_bin(const opts *o, char *out, size_t len)
{
    if (o->worker_bin) {
        snprintf(out, len, "%s", o->worker_bin);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, len, "vr-worker");
        return;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        slash[1] = 0;
    size_t n0 = strlen(self);
    if (n0 + sizeof "vr-worker" > len) {
        snprintf(out, len, "vr-worker");
        return;
    }
    memcpy(out, self, n0);
    memcpy(out + n0, "vr-worker", sizeof "vr-worker");
}

/* Where worker u publishes its events: ipc://$VR_RUNDIR/vr-NAME-uK.events. */
static void worker_events_endpoint(const coord *c, uint32_t u, char *out, size_t len)
{
    const char *rundir = getenv("VR_RUNDIR");
    if (!rundir || !*rundir)
        rundir = "/tmp";
    snprintf(out, len, "ipc://%s/vr-%s-u%u.events", rundir, c->o.name, u);
}

/* Where worker u receives portal batches: ipc://$VR_RUNDIR/vr-NAME-uK.portal. */
static void worker_portal_endpoint(const coord *c, uint32_t u, char *out, size_t len)
{
    const char *rundir = getenv("VR_RUNDIR");
    if (!rundir || !*rundir)
        rundir = "/tmp";
    snprintf(out, len, "ipc://%s/vr-%s-u%u.portal", rundir, c->o.name, u);
}

static int spawn_worker(coord *c, uint32_t u)
{
    char snu[16], sph[32], swt[32];
    snprintf(snu, sizeof snu, "%u", c->o.universes);
    snprintf(sph, sizeof sph, "%016" PRIx64, c->o.portal_hash);
    snprintf(swt, sizeof swt, "%.3f", c->o.worker_timeout);
    char bin[PATH_MAX], su[16], sid[32], snode[16], ssys[16], sfl[16], sfa[16], spar[16], sch[32], sev[256];
    worker_bin(&c->o, bin, sizeof bin);
    worker_events_endpoint(c, u, sev, sizeof sev);
    snprintf(su, sizeof su, "%u", u);
    snprintf(sid, sizeof sid, "%016" PRIx64, vr_cluster_header(c->cl)->seg.cluster_id);
    snprintf(snode, sizeof snode, "%d", c->plan.place[u].node);
    snprintf(ssys, sizeof ssys, "%u", c->o.sc.systems);
    snprintf(sfl, sizeof sfl, "%u", c->o.sc.fleets);
    snprintf(sfa, sizeof sfa, "%u", c->o.sc.factions);
    snprintf(spar, sizeof spar, "%d", (int)getpid());
    snprintf(sch, sizeof sch, "%016" PRIx64, c->o.content_hash);
    char *argv[] = {bin, "--name", (char *)c->o.name, "--universe", su, "--endpoint", c->wendpoint,
                    "--cluster-id", sid, "--cpus", c->plan.place[u].cpus, "--node", snode,
                    "--systems", ssys, "--fleets", sfl, "--factions", sfa, "--parent", spar,
                    "--content-hash", sch, "--events", sev, "--universes", snu,
                    "--portals", c->o.portals ? (char *)c->o.portals : "default",
                    "--portal-endpoints", c->pendpoints, "--portal-hash", sph, "--worker-timeout", swt,
                    "--universe-names", c->o.universe_names ? (char *)c->o.universe_names : "",
                    c->o.content_dir[0] ? "--content" : NULL, c->o.content_dir, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, bin, NULL, NULL, argv, environ);
    if (rc) {
        logf_("posix_spawn(%s) for universe %u: %s; is vr-worker built next to vr-coordinator?",
              bin, u, strerror(rc));
        return -rc;
    }
    worker *w = &c->w[u]; /* a restart keeps the rest: commands, DONE, restarts */
    w->pid = pid, w->alive = true, w->hello = false, w->pinged = false, w->last_seen = now_ns();
    w->died[0] = 0;
    vr_urec *r = vr_cluster_universe(c->cl, u);
    vr_cluster_write_begin(c->cl);
    r->worker_pid = pid;
    r->status = VR_WORKER_STARTING;
    vr_cluster_write_end(c->cl);
    return 0;
}

static int create_world(coord *c)
{
    const opts *o = &c->o;
    uint64_t id;
    if (getrandom(&id, sizeof id, 0) != sizeof id)
        id = now_ns() ^ ((uint64_t)getpid() << 32);
    id |= 1;
    int rc = vr_cluster_create(&c->cl, o->name, o->universes, id, o->mode);
    if (rc) {
        logf_("cannot create cluster segment for \"%s\": %s", o->name, vr_strerror(rc));
        return rc;
    }
    vr_cluster_hdr *h = vr_cluster_header(c->cl);
    h->seed = o->seed;
    snprintf(h->cmd_endpoint, sizeof h->cmd_endpoint, "%s", c->cendpoint);
    snprintf(h->events_endpoint, sizeof h->events_endpoint, "%s", c->eendpoint);
    c->arenas = calloc(o->universes, sizeof *c->arenas);
    c->w = calloc(o->universes, sizeof *c->w);
    c->queue = calloc(MAX_QUEUED, sizeof *c->queue);
    c->results = calloc(RESULTS, sizeof *c->results);
    if (!c->arenas || !c->w || !c->queue || !c->results)
        return -ENOMEM;
    for (uint32_t u = 0; u < o->universes; u++) {
        vr_arena_spec spec = {.universe = u, .cluster_id = id, .seed = o->seed};
        vr_scenario sc = o->sc;
        sc.universe = u;
        vr_sim_capacity(&sc, spec.capacity);
        char seg[VR_SEGNAME_MAX];
        vr_segname(seg, sizeof seg, o->name, (int)u);
        rc = vr_arena_create(&c->arenas[u], seg, &spec, o->mode);
        if (rc) {
            logf_("cannot create arena %s (%llu bytes): %s; is /dev/shm large enough?", seg,
                  (unsigned long long)vr_arena_size(&spec), vr_strerror(rc));
            return rc;
        }
        vr_urec *r = vr_cluster_universe(c->cl, u);
        snprintf(r->arena, sizeof r->arena, "%s", seg);
        snprintf(r->cpus, sizeof r->cpus, "%s", c->plan.place[u].cpus);
        r->numa_node = c->plan.place[u].node;
        r->arena_bytes = vr_arena_bytes(c->arenas[u]);
        r->worker_pid = -1;
        worker_events_endpoint(c, u, r->events, sizeof r->events);
    }
    return 0;
}

/* ---- messages ---------------------------------------------------------------- */

static int send_worker(coord *c, uint32_t u, const vr_msg *m)
{
    static char buf[VR_WIRE_MAX_BYTES];
    char id[16];
    int idlen = snprintf(id, sizeof id, "u%u", u);
    int n = vr_msg_encode(m, buf, sizeof buf);
    if (n < 0)
        return n;
    /* never block: a worker that stopped reading must not stop the coordinator */
    if (zmq_send(c->wsock, id, (size_t)idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(c->wsock, buf, (size_t)n, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        if (c->w[u].alive && !c->w[u].restarting && !c->stop)
            logf_("send %s to worker u%u: %s", vr_msg_name(m->type), u, zmq_strerror(e));
        return -e;
    }
    return 0;
}

static void broadcast(coord *c, int type, uint64_t turn)
{
    for (uint32_t u = 0; u < c->o.universes; u++)
        if (c->w[u].alive) {
            static vr_msg m;
            memset(&m, 0, sizeof m);
            m.type = type, m.turn = turn;
            send_worker(c, u, &m);
        }
}

/* ---- events ------------------------------------------------------------------ */

static void pack_str(msgpack_packer *pk, const char *s);

/* Sends [topic, payload] on the event socket; PUB drops, never blocks. */
static void send_event(coord *c, int kind, const msgpack_sbuffer *sb)
{
    if (!c->esock)
        return;
    const char *topic = vr_event_defs[kind].name;
    if (zmq_send(c->esock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_send(c->esock, sb->data, sb->size, ZMQ_DONTWAIT) >= 0)
        c->eseq[kind]++;
}

/* "turn": turn c->turn was committed (after the cluster segment says so). */
static void publish_turn(coord *c, uint64_t turn_ns)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint64_t ents = 0;
    for (uint32_t u = 0; u < c->o.universes; u++)
        ents += c->w[u].entities;
    vr_event_head(&pk, VR_EV_turn, -1, c->turn, c->eseq[VR_EV_turn], 1);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, c->cluster_hash);
    msgpack_pack_uint64(&pk, turn_ns);
    msgpack_pack_uint64(&pk, ents);
    msgpack_pack_array(&pk, c->o.universes);
    for (uint32_t u = 0; u < c->o.universes; u++)
        msgpack_pack_uint64(&pk, c->w[u].hash);
    send_event(c, VR_EV_turn, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* "worker": worker u died, hung, failed or stopped; reason is a sentence. */
static void publish_worker(coord *c, uint32_t u, const char *status, const char *reason)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    vr_event_head(&pk, VR_EV_worker, u, c->turn, c->eseq[VR_EV_worker], 1);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, (int)c->w[u].pid);
    pack_str(&pk, status);
    pack_str(&pk, reason);
    send_event(c, VR_EV_worker, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* The portal conservation audit found that what src sent to dst last turn
 * did not arrive as sent: stderr, an "audit" event (rule
 * PORTAL_CONSERVATION, universe dst, entity src) and dst's metric. */
static void portal_violation(void *arg, uint32_t src, uint32_t dst, const char *why)
{
    coord *c = arg;
    logf_("%s", why);
    if (c->pviolations)
        c->pviolations[dst]++;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    vr_event_head(&pk, VR_EV_audit, dst, c->turn + 1, c->eseq[VR_EV_audit], 1);
    msgpack_pack_array(&pk, 5);
    pack_str(&pk, "PORTAL_CONSERVATION");
    pack_str(&pk, "transit");
    msgpack_pack_uint64(&pk, src);
    msgpack_pack_double(&pk, 1.0);
    msgpack_pack_uint8(&pk, 1);
    send_event(c, VR_EV_audit, &sb);
    msgpack_sbuffer_destroy(&sb);
}

/* Universe u restarted (or resumed) on its arena: every peer sends its
 * batches of the last committed turn to it again (the receiver drops the
 * copies it already has).  The recovery code calls this from its restart
 * hook; wait_hello calls it for every universe of a restored cluster, once
 * all workers are connected. */
static void portal_resend(coord *c, uint32_t u)
{
    for (uint32_t p = 0; c->o.net && p < c->o.universes; p++) {
        if (!vr_portal_net_peers(c->o.net, p, u) || !c->w[p].alive || c->w[p].restarting)
            continue;
        vr_msg m = {.type = VR_MSG_RESEND, .universe = u, .turn = c->turn};
        send_worker(c, p, &m);
    }
}

/* Receives one worker message; returns the universe or -1 (message dropped). */
static int recv_worker(coord *c, vr_msg *m)
{
    static char buf[VR_WIRE_MAX_BYTES];
    char id[64];
    int idn = zmq_recv(c->wsock, id, sizeof id - 1, ZMQ_DONTWAIT);
    if (idn < 0)
        return -1;
    int more = 0;
    size_t ml = sizeof more;
    zmq_getsockopt(c->wsock, ZMQ_RCVMORE, &more, &ml);
    if (!more)
        return -1;
    int n = zmq_recv(c->wsock, buf, sizeof buf, 0);
    while (zmq_getsockopt(c->wsock, ZMQ_RCVMORE, &more, &ml) == 0 && more) /* drain extras */
        zmq_recv(c->wsock, NULL, 0, 0);
    if (n < 0)
        return -1;
    id[idn < (int)sizeof id - 1 ? idn : (int)sizeof id - 1] = 0;
    char *end;
    unsigned long u = id[0] == 'u' ? strtoul(id + 1, &end, 10) : ULONG_MAX;
    if (u >= c->o.universes || *end) {
        logf_("message from unknown peer \"%s\" on the worker socket ignored", id);
        return -1;
    }
    int rc = vr_msg_decode(buf, n > (int)sizeof buf ? sizeof buf : (size_t)n, m);
    if (rc) {
        logf_("bad message from worker u%lu ignored: %s", u, m->text);
        return -1;
    }
    c->w[u].last_seen = now_ns();
    c->w[u].pinged = false;
    return (int)u;
}

/* ---- commands ------------------------------------------------------------------- */

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_hex(msgpack_packer *pk, uint64_t v)
{
    char s[17];
    snprintf(s, sizeof s, "%016" PRIx64, v);
    pack_str(pk, s);
}

static void reply_raw(coord *c, const uint8_t *id, size_t idlen, bool delim, const msgpack_sbuffer *sb)
{
    /* ROUTER drops what it cannot route; DONTWAIT keeps a slow client from blocking us */
    zmq_send(c->csock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (delim)
        zmq_send(c->csock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(c->csock, sb->data, sb->size, ZMQ_DONTWAIT);
}

static uint32_t cluster_status(const coord *c)
{
    if (c->failed)
        return VR_CLUSTER_FAILED;
    if (c->stop)
        return VR_CLUSTER_STOPPING;
    if (!c->started)
        return VR_CLUSTER_STARTING;
    return c->paused ? VR_CLUSTER_PAUSED : VR_CLUSTER_RUNNING;
}

static void build_reply(coord *c, vr_cmd_kind kind, msgpack_sbuffer *sb, const char *err)
{
    if (err) {
        vr_reply_error(sb, err);
        return;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    uint32_t n = c->o.universes;
    switch (kind) {
    case VR_CMD_STATUS: {
        msgpack_pack_map(&pk, 10);
        pack_str(&pk, "ok"); msgpack_pack_true(&pk);
        pack_str(&pk, "name"); pack_str(&pk, c->o.name);
        pack_str(&pk, "status"); pack_str(&pk, vr_cluster_status_name(cluster_status(c)));
        pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, c->turn);
        pack_str(&pk, "turn_limit"); msgpack_pack_uint64(&pk, c->o.turns);
        pack_str(&pk, "cluster_hash"); pack_hex(&pk, c->cluster_hash);
        pack_str(&pk, "turns_per_s"); msgpack_pack_double(&pk, c->turns_per_s);
        pack_str(&pk, "seed"); msgpack_pack_uint64(&pk, c->o.seed);
        pack_str(&pk, "pid"); msgpack_pack_int(&pk, (int)getpid());
        pack_str(&pk, "universes");
        msgpack_pack_array(&pk, n);
        for (uint32_t u = 0; u < n; u++) {
            const vr_urec *r = vr_cluster_universe(c->cl, u);
            msgpack_pack_map(&pk, 11);
            pack_str(&pk, "universe"); msgpack_pack_uint32(&pk, u);
            pack_str(&pk, "pid"); msgpack_pack_int(&pk, c->w[u].pid);
            pack_str(&pk, "node"); msgpack_pack_int(&pk, r->numa_node);
            pack_str(&pk, "cpus"); pack_str(&pk, r->cpus);
            pack_str(&pk, "status"); pack_str(&pk, vr_worker_status_name(r->status));
            pack_str(&pk, "bind"); msgpack_pack_uint32(&pk, r->bind);
            pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, r->committed_turn);
            pack_str(&pk, "hash"); pack_hex(&pk, r->state_hash);
            pack_str(&pk, "entities"); msgpack_pack_uint64(&pk, r->entities);
            pack_str(&pk, "turn_ns"); msgpack_pack_uint64(&pk, r->turn_ns);
            pack_str(&pk, "metrics");
            msgpack_pack_map(&pk, VR_NMETRICS);
            for (int k = 0; k < VR_NMETRICS; k++) {
                pack_str(&pk, vr_metric_names[k]);
                msgpack_pack_uint64(&pk, c->w[u].metrics[k]);
            }
        }
        break;
    }
    case VR_CMD_HASH:
        msgpack_pack_map(&pk, 4);
        pack_str(&pk, "ok"); msgpack_pack_true(&pk);
        pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, c->turn);
        pack_str(&pk, "cluster_hash"); pack_hex(&pk, c->cluster_hash);
        pack_str(&pk, "universes");
        msgpack_pack_array(&pk, n);
        for (uint32_t u = 0; u < n; u++)
            pack_hex(&pk, vr_cluster_universe(c->cl, u)->state_hash);
        break;
    default:
        msgpack_pack_map(&pk, 3);
        pack_str(&pk, "ok"); msgpack_pack_true(&pk);
        pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, c->turn);
        pack_str(&pk, "status"); pack_str(&pk, vr_cluster_status_name(cluster_status(c)));
        break;
    }
}

static void reply(coord *c, const uint8_t *id, size_t idlen, bool delim, vr_cmd_kind kind, const char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    build_reply(c, kind, &sb, err);
    reply_raw(c, id, idlen, delim, &sb);
    msgpack_sbuffer_destroy(&sb);
}

static const char *op_name(uint32_t op)
{
    switch (op) {
#define VR_OP_NAME(n, code, str) case VR_OP_##n: return str;
        VR_ORDER_KINDS(VR_OP_NAME)
#undef VR_OP_NAME
    case VR_OP_SPAWN: return "spawn";
    case VR_OP_POLICY: return "policy";
    default: return "?";
    }
}

static void reply_map(coord *c, const uint8_t *id, size_t idlen, bool delim, msgpack_sbuffer *sb)
{
    reply_raw(c, id, idlen, delim, sb);
    msgpack_sbuffer_destroy(sb);
}

static void reply_code(coord *c, const uint8_t *id, size_t idlen, bool delim, int code, const char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    vr_reply_error_code(&sb, code, err);
    reply_map(c, id, idlen, delim, &sb);
}

/* order, spawn, policy: check now, queue for the next turn, reply a ticket */
static void queue_command(coord *c, const vr_cmd *cmd, const uint8_t *id, size_t idlen, bool delim)
{
    char err[256];
    vr_wcmd w;
    if (c->stop) {
        reply(c, id, idlen, delim, cmd->kind, "the cluster is shutting down");
        return;
    }
    int rc = vr_cmd_resolve(cmd, c->arenas, c->o.universes, &w, err, sizeof err);
    if (rc) {
        reply_code(c, id, idlen, delim, rc, err);
        return;
    }
    uint64_t ticket = c->next_ticket + 1;
    cmd_result *r = &c->results[ticket % RESULTS];
    if (c->nqueued == MAX_QUEUED || r->state == RES_PENDING) {
        reply(c, id, idlen, delim, cmd->kind, "too many commands are waiting for a turn; step or resume, then retry");
        return;
    }
    c->next_ticket = ticket;
    vr_cluster_write_begin(c->cl); /* tickets are in the state hash: a resumed run continues them */
    vr_cluster_header(c->cl)->next_ticket = ticket;
    vr_cluster_write_end(c->cl);
    w.ticket = ticket;
    c->queue[c->nqueued++] = (queued){.universe = cmd->universe, .w = w};
    *r = (cmd_result){.ticket = ticket, .universe = cmd->universe, .op = w.op, .state = RES_PENDING};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pack_str(&pk, "ok"); msgpack_pack_true(&pk);
    pack_str(&pk, "ticket"); msgpack_pack_uint64(&pk, ticket);
    pack_str(&pk, "state"); pack_str(&pk, "pending");
    pack_str(&pk, "universe"); msgpack_pack_uint32(&pk, cmd->universe);
    pack_str(&pk, "op"); pack_str(&pk, op_name(w.op));
    pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, c->turn); /* last committed: applies to a later one */
    reply_map(c, id, idlen, delim, &sb);
}

static void reply_result(coord *c, uint64_t ticket, const uint8_t *id, size_t idlen, bool delim)
{
    char err[160];
    const cmd_result *r = &c->results[ticket % RESULTS];
    if (ticket > c->next_ticket) {
        snprintf(err, sizeof err, "unknown ticket %" PRIu64 " (tickets issued so far: %s%" PRIu64 ")", ticket,
                 c->next_ticket ? "1 to " : "none, ", c->next_ticket);
        reply_code(c, id, idlen, delim, -VR_EBADARG, err);
        return;
    }
    if (r->ticket != ticket) {
        snprintf(err, sizeof err, "ticket %" PRIu64 " is too old: the results of the last %d commands are kept",
                 ticket, RESULTS);
        reply_code(c, id, idlen, delim, -VR_ENOTFOUND, err);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bool fleet = r->op != VR_OP_POLICY;
    msgpack_pack_map(&pk, r->state == RES_PENDING ? 5 : 8);
    pack_str(&pk, "ok"); msgpack_pack_true(&pk);
    pack_str(&pk, "ticket"); msgpack_pack_uint64(&pk, ticket);
    pack_str(&pk, "state");
    pack_str(&pk, r->state == RES_PENDING ? "pending" : r->state == RES_DONE ? "done" : "failed");
    pack_str(&pk, "universe"); msgpack_pack_uint32(&pk, r->universe);
    pack_str(&pk, "op"); pack_str(&pk, op_name(r->op));
    if (r->state != RES_PENDING) {
        pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, r->turn); /* the turn it was applied at */
        if (r->state == RES_DONE) {
            pack_str(&pk, fleet ? "fleet" : "faction");
            msgpack_pack_uint64(&pk, fleet ? r->entity : (uint32_t)r->entity + 1u);
        } else {
            pack_str(&pk, "error"); pack_str(&pk, r->text);
        }
        pack_str(&pk, "code"); msgpack_pack_int32(&pk, r->code);
    }
    reply_map(c, id, idlen, delim, &sb);
}

/* The commands universe u applies with its next turn: its first queued
 * ones, in accepted order, removed from the queue. */
static uint32_t take_commands(coord *c, uint32_t u, vr_wcmd *out)
{
    uint32_t n = 0, k = 0;
    for (uint32_t i = 0; i < c->nqueued; i++) {
        if (c->queue[i].universe == u && n < VR_TURN_MAX_CMDS)
            out[n++] = c->queue[i].w;
        else
            c->queue[k++] = c->queue[i];
    }
    c->nqueued = k;
    return n;
}

static void record_results(coord *c, uint32_t u, const vr_msg *m)
{
    for (uint32_t i = 0; i < m->nresults; i++) {
        const vr_wresult *wr = &m->results[i];
        cmd_result *r = &c->results[wr->ticket % RESULTS];
        if (r->ticket != wr->ticket || r->universe != u || r->state != RES_PENDING)
            continue;
        r->state = wr->code ? RES_FAILED : RES_DONE;
        r->turn = m->turn;
        r->entity = wr->entity;
        r->code = wr->code;
        snprintf(r->text, sizeof r->text, "%s", wr->text);
    }
}

static void defer(coord *c, vr_cmd_kind kind, const uint8_t *id, size_t idlen, bool delim)
{
    if (c->nwaiters == MAX_WAITERS) {
        reply(c, id, idlen, delim, kind, "too many clients waiting for the turn to commit; retry");
        return;
    }
    waiter *w = &c->waiters[c->nwaiters++];
    w->kind = kind;
    w->idlen = idlen;
    w->delim = delim;
    memcpy(w->id, id, idlen);
}

/* Answers the waiters whose condition now holds (err: answer all with it). */
static void flush_waiters(coord *c, const char *err)
{
    int k = 0;
    for (int i = 0; i < c->nwaiters; i++) {
        waiter *w = &c->waiters[i];
        bool ready = err || (w->kind == VR_CMD_STEP ? c->step_left == 0 : !c->in_turn);
        /* a shutdown that was asked for is a success even if the turn was cut short */
        const char *e = w->kind == VR_CMD_SHUTDOWN && !c->failed ? NULL : err;
        if (ready)
            reply(c, w->id, w->idlen, w->delim, w->kind, e);
        else
            c->waiters[k++] = *w;
    }
    c->nwaiters = k;
}

static bool has_step_waiter(const coord *c)
{
    for (int i = 0; i < c->nwaiters; i++)
        if (c->waiters[i].kind == VR_CMD_STEP)
            return true;
    return false;
}

/* ---- snapshots ----------------------------------------------------------------- */
/* A snapshot is taken between turns only (a request during a turn waits for
 * its commit), from the published buffers: the coordinator waits until every
 * worker has published the committed turn (they do on COMMIT), and no TURN
 * is sent while it writes, so every universe is at the same turn.  Periodic
 * snapshots (--snapshot-every) are named vr-NAME-tTURN.vrsnap (turn zero
 * padded, so names sort by turn) in --snapshot-dir; --snapshot-keep prunes
 * the oldest of those, never a file named by `vrctl snapshot PATH`. */

static const char *snapshot_dir(const coord *c)
{
    const char *d = c->o.snapshot_dir;
    if (!d || !*d)
        d = getenv("VR_RUNDIR");
    return d && *d ? d : "/tmp";
}

static int take_snapshot(coord *c, const char *path, char *out, size_t outlen, uint64_t *bytes, char *err,
                         size_t errlen)
{
    if (path && *path)
        snprintf(out, outlen, "%s", path);
    else
        snprintf(out, outlen, "%s/vr-%s-t%012" PRIu64 ".vrsnap", snapshot_dir(c), c->o.name, c->turn);
    /* every worker publishes the committed turn when its COMMIT arrives */
    uint64_t deadline = now_ns() + (uint64_t)(c->o.worker_timeout * 1e9);
    for (uint32_t u = 0; u < c->o.universes; u++) {
        uint64_t t = UINT64_MAX;
        while (vr_arena_published(c->arenas[u], &t, NULL) != 0 || t != c->turn) {
            if (now_ns() > deadline) {
                snprintf(err, errlen, "snapshot %s: universe %u has not published turn %" PRIu64
                         " within %.1f s (its worker is down or restarting?)", out, u, c->turn, c->o.worker_timeout);
                return -VR_ETIMEOUT;
            }
            usleep(1000);
        }
    }
    vr_snap_info in = {.turn = c->turn, .cluster_hash = c->cluster_hash, .seed = c->o.seed,
                       .systems = c->o.sc.systems, .fleets = c->o.sc.fleets, .factions = c->o.sc.factions,
                       .content_hash = c->o.content_hash, .portal_hash = c->o.portal_hash,
                       .next_ticket = c->next_ticket, .cluster_name = c->o.name, .content_dir = c->o.content_dir,
                       .portals = c->o.portals, .universe_names = c->o.universe_names};
    uint64_t t0 = now_ns();
    int rc = vr_snapshot_write(out, c->arenas, c->o.universes, &in, bytes, err, errlen);
    if (rc == 0 && !c->o.quiet)
        logf_("snapshot of turn %" PRIu64 " written to %s (%" PRIu64 " bytes, %.3f s)", c->turn, out, *bytes,
              (double)(now_ns() - t0) / 1e9);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Removes the oldest periodic snapshots of this cluster beyond --snapshot-keep. */
static void prune_snapshots(coord *c)
{
    if (!c->o.snapshot_keep)
        return;
    const char *dir = snapshot_dir(c);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "vr-%s-t", c->o.name);
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), pl = strlen(prefix);
        if (l != pl + 12 + 7 || strncmp(e->d_name, prefix, pl) || strcmp(e->d_name + l - 7, ".vrsnap") ||
            strspn(e->d_name + pl, "0123456789") != 12)
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > c->o.snapshot_keep) {
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i + c->o.snapshot_keep < n; i++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", dir, names[i]);
            if (unlink(p) == 0 && !c->o.quiet)
                logf_("snapshot %s removed (--snapshot-keep %u)", p, c->o.snapshot_keep);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void snapshot_reply(coord *c, const uint8_t *id, size_t idlen, bool delim, const char *path)
{
    char out[PATH_MAX + 64], err[PATH_MAX + 256] = "";
    uint64_t bytes = 0;
    int rc = take_snapshot(c, path, out, sizeof out, &bytes, err, sizeof err);
    if (rc) {
        logf_("%s", err);
        reply_code(c, id, idlen, delim, rc, err);
        return;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pack_str(&pk, "ok"); msgpack_pack_true(&pk);
    pack_str(&pk, "path"); pack_str(&pk, out);
    pack_str(&pk, "turn"); msgpack_pack_uint64(&pk, c->turn);
    pack_str(&pk, "bytes"); msgpack_pack_uint64(&pk, bytes);
    pack_str(&pk, "cluster_hash"); pack_hex(&pk, c->cluster_hash);
    reply_map(c, id, idlen, delim, &sb);
}

/* Between turns: a waiting `snapshot` request, then the periodic one. */
static void between_turns_snapshots(coord *c, bool turn_committed)
{
    if (c->snap_pending) {
        c->snap_pending = false;
        snapshot_reply(c, c->snap_waiter.id, c->snap_waiter.idlen, c->snap_waiter.delim, c->snap_path);
    }
    if (turn_committed && c->o.snapshot_every && c->turn % c->o.snapshot_every == 0) {
        char out[PATH_MAX + 64], err[PATH_MAX + 256];
        uint64_t bytes = 0;
        if (take_snapshot(c, NULL, out, sizeof out, &bytes, err, sizeof err))
            logf_("periodic %s", err); /* reported; the run goes on */
        else
            prune_snapshots(c);
    }
}

static void handle_command(coord *c)
{
    uint8_t id[256];
    int idn = zmq_recv(c->csock, id, sizeof id, ZMQ_DONTWAIT);
    if (idn < 0)
        return;
    size_t idlen = (size_t)idn > sizeof id ? sizeof id : (size_t)idn;
    zmq_msg_t parts[3];
    int nparts = 0, more = 0, extra = 0;
    size_t ml = sizeof more;
    for (;;) {
        zmq_getsockopt(c->csock, ZMQ_RCVMORE, &more, &ml);
        if (!more)
            break;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->csock, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        if (nparts < 3)
            parts[nparts++] = m;
        else {
            zmq_msg_close(&m);
            extra++;
        }
    }
    /* envelope: identity, optional empty delimiter (REQ clients), body */
    bool delim = nparts >= 1 && zmq_msg_size(&parts[0]) == 0;
    int body = delim ? 1 : 0;
    char err[256] = "";
    vr_cmd cmd = {0};
    int prc = -VR_EBADMSG;
    if (nparts - body != 1 || extra)
        snprintf(err, sizeof err, "a request is one message frame holding a msgpack map; got %d frames",
                 nparts - body + extra);
    else if ((prc = vr_cmd_parse(zmq_msg_data(&parts[body]), zmq_msg_size(&parts[body]), &cmd, err,
                                 sizeof err)) == 0)
        err[0] = 0;
    for (int i = 0; i < nparts; i++)
        zmq_msg_close(&parts[i]);
    if (err[0]) {
        reply_code(c, id, idlen, delim, prc, err);
        return;
    }
    switch (cmd.kind) {
    case VR_CMD_STATUS:
    case VR_CMD_HASH:
        reply(c, id, idlen, delim, cmd.kind, NULL);
        break;
    case VR_CMD_STEP:
        if (c->stop)
            reply(c, id, idlen, delim, cmd.kind, "the cluster is shutting down");
        else if (has_step_waiter(c))
            reply(c, id, idlen, delim, cmd.kind, "a step is already in progress; wait for its reply");
        else if (c->o.turns && c->turn + (uint64_t)cmd.n > c->o.turns) {
            char e[160];
            snprintf(e, sizeof e, "step %" PRId64 " would pass the turn limit %" PRIu64 " (now at turn %" PRIu64 ")",
                     cmd.n, c->o.turns, c->turn);
            reply(c, id, idlen, delim, cmd.kind, e);
        } else {
            c->paused = true;
            c->step_left = (uint64_t)cmd.n;
            defer(c, cmd.kind, id, idlen, delim);
        }
        break;
    case VR_CMD_PAUSE:
        c->paused = true;
        c->step_left = 0;
        flush_waiters(c, "step cancelled by pause");
        if (c->in_turn)
            defer(c, cmd.kind, id, idlen, delim); /* answer once the running turn commits */
        else
            reply(c, id, idlen, delim, cmd.kind, NULL);
        break;
    case VR_CMD_RESUME:
        if (c->o.turns && c->turn >= c->o.turns) {
            reply(c, id, idlen, delim, cmd.kind, "the turn limit is reached; nothing to resume");
            break;
        }
        c->paused = false;
        c->step_left = 0;
        flush_waiters(c, "step cancelled by resume");
        reply(c, id, idlen, delim, cmd.kind, NULL);
        break;
    case VR_CMD_ORDER:
    case VR_CMD_SPAWN:
    case VR_CMD_POLICY:
        queue_command(c, &cmd, id, idlen, delim);
        break;
    case VR_CMD_RESULT:
        reply_result(c, cmd.ticket, id, idlen, delim);
        break;
    case VR_CMD_SNAPSHOT:
        if (!c->started)
            reply(c, id, idlen, delim, cmd.kind, "the cluster is still starting; no turn to snapshot yet");
        else if (c->snap_pending)
            reply(c, id, idlen, delim, cmd.kind, "a snapshot is already waiting for the running turn");
        else if (c->in_turn) { /* between turns only: after this turn commits */
            c->snap_pending = true;
            c->snap_waiter = (waiter){.kind = cmd.kind, .idlen = idlen, .delim = delim};
            memcpy(c->snap_waiter.id, id, idlen);
            snprintf(c->snap_path, sizeof c->snap_path, "%s", cmd.path);
        } else
            snapshot_reply(c, id, idlen, delim, cmd.path);
        break;
    case VR_CMD_SHUTDOWN:
        /* the running turn still commits; the reply names the final turn */
        c->stop = true;
        c->step_left = 0;
        flush_waiters(c, "step cancelled by shutdown");
        if (c->in_turn)
            defer(c, cmd.kind, id, idlen, delim);
        else
            reply(c, id, idlen, delim, cmd.kind, NULL);
        break;
    default:
        break;
    }
}

/* ---- restarts ------------------------------------------------------------------ */
/* A worker that dies (any signal, any moment) or is killed as hung is started
 * again on its own arena, up to --max-restarts times per universe.  What the
 * new process finds there decides what happens (rejoin):
 *
 *  - published == committed turn: it is back.  Its peers re-send their
 *    committed portal batches (portal_resend), and if a turn is in progress
 *    it gets that turn's TURN again with exactly the commands first sent
 *    (w->sent); its DONE must carry the same hash as a DONE the dead process
 *    may already have sent (w->replayed), or the run stops: determinism
 *    would be broken.
 *  - published == committed - 1: the cluster committed a turn this worker
 *    computed (its DONE was in) but the process died before publishing it.
 *    Recomputing is not possible any more: the peers' batches of the turn
 *    before are gone from their arenas once they publish.  So the worker
 *    adopts its own work buffer instead (ADOPT, vr_arena_adopt): the buffer
 *    was marked computed with its hash before DONE was sent, and is
 *    published only if its contents still hash to the committed hash.  This
 *    is roll-forward, never roll-back: a committed turn stays committed.
 *  - anything else: the arena is not usable; the cluster stops.
 *
 * A COMMIT that reached the new process before its HELLO was seen is
 * ignored by the worker (it answers the ADOPT that follows).  Portal
 * batches are exactly-once whatever the timing: the sender's outbox is in
 * its arena, receivers drop copies of a batch they have (or applied). */

/* VR_TEST_COORD_DIE_AFTER_COMMIT=N (tests only): the coordinator kills
 * itself right after broadcasting COMMIT(N), before recording it: some
 * workers publish N, some may not, and --resume must roll them forward. */
static void test_die_after_commit(uint64_t n)
{
    const char *k = getenv("VR_TEST_COORD_DIE_AFTER_COMMIT");
    if (k && *k && strtoull(k, NULL, 10) == n)
        raise(SIGKILL);
}

static void set_status(coord *c, uint32_t u, uint32_t status)
{
    vr_cluster_write_begin(c->cl);
    vr_cluster_universe(c->cl, u)->status = status;
    vr_cluster_write_end(c->cl);
}

static void send_turn(coord *c, uint32_t u, uint64_t n)
{
    static vr_msg m;
    memset(&m, 0, sizeof m);
    m.type = VR_MSG_TURN, m.turn = n, m.seed = c->o.seed;
    m.ncmds = c->w[u].nsent;
    memcpy(m.cmds, c->w[u].sent, m.ncmds * sizeof *m.cmds);
    send_worker(c, u, &m);
}

/* Worker u is gone (why: "killed by signal 9 (Killed)", ...): start it again,
 * or stop the cluster when it may not be (start-up, no restarts left). */
static void lose_worker(coord *c, uint32_t u, const char *why)
{
    worker *w = &c->w[u];
    w->alive = false, w->hello = false, w->adopting = false;
    if (!c->started || c->stop || w->restarts >= c->o.max_restarts) {
        fail(c, "worker u%u (pid %d) %s at turn %" PRIu64 "%s%s", u, (int)w->pid, why, c->turn,
             c->in_turn ? " while computing the next turn" : "",
             !c->started || c->stop ? ""
             : c->o.max_restarts ? "; no restarts left (--max-restarts)" : "; restarts are off (--max-restarts 0)");
        return;
    }
    w->restarts++;
    logf_("worker u%u (pid %d) %s at turn %" PRIu64 "%s; restarting it on its arena (restart %u of %u)", u,
          (int)w->pid, why, c->turn, c->in_turn ? " while computing the next turn" : "", w->restarts,
          c->o.max_restarts);
    int rc = spawn_worker(c, u);
    if (rc) {
        fail(c, "cannot restart worker u%u: %s", u, vr_strerror(rc));
        return;
    }
    w->restarting = true;
    c->restart_deadline = now_ns() + (uint64_t)((3 * c->o.worker_timeout + 10.0) * 1e9);
    publish_worker(c, u, "restarting", why);
}

/* u is at the committed turn again. */
static void back(coord *c, uint32_t u)
{
    worker *w = &c->w[u];
    w->adopting = false;
    set_status(c, u, VR_WORKER_READY);
    logf_("worker u%u (pid %d) is back at turn %" PRIu64, u, (int)w->pid, c->turn);
    publish_worker(c, u, "restarted", "back at the committed turn");
    portal_resend(c, u);
    if (c->o.net) { /* and it sends its own committed batches again: peers drop what they have */
        vr_msg r = {.type = VR_MSG_RESEND, .universe = UINT32_MAX, .turn = c->turn};
        send_worker(c, u, &r);
    }
    /* batches its peers sent during the turn in progress may have reached
     * the dead process: once that turn commits they are sent again */
    w->resend = true;
    if (c->in_turn) {
        if (w->done) { /* the dead process had answered: the replay must agree */
            w->replayed = true;
            w->done_hash = w->hash;
            w->done = false;
        }
        send_turn(c, u, c->turn + 1);
    }
}

/* HELLO of a restarted worker that found its arena at published turn m->turn. */
static void rejoin(coord *c, uint32_t u, const vr_msg *m)
{
    worker *w = &c->w[u];
    w->restarting = false, w->hello = true;
    vr_urec *r = vr_cluster_universe(c->cl, u);
    vr_cluster_write_begin(c->cl);
    r->bind = m->flags;
    r->heartbeat_ns = w->last_seen;
    vr_cluster_write_end(c->cl);
    if (m->turn == c->turn) {
        back(c, u);
    } else if (m->turn + 1 == c->turn) {
        logf_("worker u%u (pid %d) found turn %" PRIu64 " published; rolling forward: ADOPT of its computed turn %"
              PRIu64, u, (int)w->pid, m->turn, c->turn);
        vr_msg a = {.type = VR_MSG_ADOPT, .turn = c->turn, .hash = r->state_hash};
        w->adopting = true;
        send_worker(c, u, &a);
    } else {
        fail(c, "worker u%u restarted on an arena at turn %" PRIu64 " but the cluster committed turn %" PRIu64
             "; its arena cannot continue", u, m->turn, c->turn);
    }
}

/* Messages of restarting workers, wherever the coordinator reads worker
 * messages; true when m was one of them (consumed). */
static bool restart_msg(coord *c, uint32_t u, const vr_msg *m)
{
    worker *w = &c->w[u];
    if (m->type == VR_MSG_HELLO && w->restarting) {
        rejoin(c, u, m);
        return true;
    }
    if (w->adopting && m->type == VR_MSG_PONG) {
        if (m->turn == c->turn)
            back(c, u);
        return true;
    }
    if (w->adopting && m->type == VR_MSG_FAIL) {
        fail(c, "worker u%u cannot roll forward to the committed turn %" PRIu64 ": %s", u, c->turn, m->text);
        return true;
    }
    return w->restarting; /* strays of a process that is not back yet */
}

/* ---- liveness ---------------------------------------------------------------- */

static void reap(coord *c)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (uint32_t u = 0; u < c->o.universes; u++) {
            worker *w = &c->w[u];
            if (w->pid != pid || !w->alive)
                continue;
            w->alive = false;
            if (WIFSIGNALED(st))
                snprintf(w->died, sizeof w->died, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
            else
                snprintf(w->died, sizeof w->died, "exited with status %d", WEXITSTATUS(st));
            vr_cluster_write_begin(c->cl);
            vr_cluster_universe(c->cl, u)->status = VR_WORKER_DEAD;
            vr_cluster_write_end(c->cl);
            bool clean = c->stop && !c->in_turn && WIFEXITED(st) && WEXITSTATUS(st) == 0;
            publish_worker(c, u, clean ? "stopped" : "dead", w->died);
            if (!c->stop || c->in_turn)
                lose_worker(c, u, w->died);
        }
    }
}

/* Pings idle workers every second; a worker silent for --worker-timeout is hung. */
/* A hung worker (e.g. SIGSTOPped) cannot act on STOP or on its parent-death
 * SIGTERM and would keep its pipes open: kill it once it is declared hung. */
static void kill_hung(coord *c, uint32_t u)
{
    if (!c->w[u].alive)
        return;
    kill(c->w[u].pid, SIGKILL);
    waitpid(c->w[u].pid, NULL, 0);
    c->w[u].alive = false;
}

static void check_idle_workers(coord *c)
{
    uint64_t now = now_ns(), limit = (uint64_t)(c->o.worker_timeout * 1e9);
    if (now - c->last_ping > 1000000000ull) {
        c->last_ping = now;
        for (uint32_t u = 0; u < c->o.universes; u++)
            if (c->w[u].alive && !c->w[u].pinged) {
                vr_msg m = {.type = VR_MSG_PING};
                send_worker(c, u, &m);
                c->w[u].pinged = true;
            }
    }
    for (uint32_t u = 0; u < c->o.universes; u++)
        if (c->w[u].alive && now - c->w[u].last_seen > limit + 1000000000ull) {
            vr_cluster_write_begin(c->cl);
            vr_cluster_universe(c->cl, u)->status = VR_WORKER_HUNG;
            vr_cluster_write_end(c->cl);
            char why[128];
            snprintf(why, sizeof why, "has not answered for %.1f s (hung); killed",
                     (double)(now - c->w[u].last_seen) / 1e9);
            publish_worker(c, u, "hung", why);
            kill_hung(c, u);
            lose_worker(c, u, why);
        }
}

/* Polls both sockets for up to ms milliseconds, serving commands. */
static int poll_once(coord *c, long ms, bool *worker_ready)
{
    zmq_pollitem_t pi[2] = {{.socket = c->wsock, .events = ZMQ_POLLIN},
                            {.socket = c->csock, .events = ZMQ_POLLIN}};
    int r = zmq_poll(pi, 2, ms);
    if (r < 0 && errno != EINTR)
        return -errno;
    *worker_ready = r > 0 && (pi[0].revents & ZMQ_POLLIN);
    if (r > 0 && (pi[1].revents & ZMQ_POLLIN))
        for (int k = 0; k < 64; k++) { /* drain, but bounded */
            int ev = 0;
            size_t el = sizeof ev;
            zmq_getsockopt(c->csock, ZMQ_EVENTS, &ev, &el);
            if (!(ev & ZMQ_POLLIN))
                break;
            handle_command(c);
        }
    reap(c);
    return 0;
}

/* ---- turns -------------------------------------------------------------------- */

/* --command-log: one line per applied command, then the turn's hashes
 * (format in README, "Command log"); flushed every turn. */
static void log_commands(coord *c, bool with_commands)
{
    if (!c->cmd_log)
        return;
    for (uint32_t u = 0; with_commands && u < c->o.universes; u++)
        for (uint32_t i = 0; i < c->w[u].nsent; i++) {
            const vr_wcmd *w = &c->w[u].sent[i];
            fprintf(c->cmd_log, "C %" PRIu64 " %u %" PRIu64 " %u %" PRIu64 " %u %u %u %u %u %u %a %a %a %u\n", c->turn,
                    u, w->ticket, w->op, w->fleet, w->system, w->faction, w->design, w->ships, w->stance,
                    w->budget_mode, (double)w->budget[0], (double)w->budget[1], (double)w->budget[2], w->to_universe);
        }
    fprintf(c->cmd_log, "H %" PRIu64 " %016" PRIx64, c->turn, c->cluster_hash);
    for (uint32_t u = 0; u < c->o.universes; u++)
        fprintf(c->cmd_log, " %016" PRIx64, c->w[u].hash);
    fputc('\n', c->cmd_log);
    fflush(c->cmd_log);
}

static void log_hashes(coord *c)
{
    log_commands(c, c->turn > 0 && c->started);
    if (!c->hash_log)
        return;
    fprintf(c->hash_log, "%" PRIu64 " %016" PRIx64, c->turn, c->cluster_hash);
    for (uint32_t u = 0; u < c->o.universes; u++)
        fprintf(c->hash_log, " %016" PRIx64, c->w[u].hash);
    fputc('\n', c->hash_log);
    fflush(c->hash_log);
}

static int wait_hello(coord *c)
{
    /* building turn 0 takes longer than a turn: allow 3 timeouts + 10 s */
    double limit = 3 * c->o.worker_timeout + 10.0;
    uint64_t deadline = now_ns() + (uint64_t)(limit * 1e9);
    uint32_t have = 0;
    while (have < c->o.universes) {
        if (got_signal) {
            fail(c, "interrupted by signal %d while workers were starting", (int)got_signal);
            return -EINTR;
        }
        if (now_ns() > deadline) {
            for (uint32_t u = 0; u < c->o.universes; u++)
                if (!c->w[u].hello)
                {
                    fail(c, "worker u%u (pid %d) did not say HELLO within %.0f s; killing it", u,
                         (int)c->w[u].pid, limit);
                    kill_hung(c, u);
                }
            return -VR_ETIMEOUT;
        }
        bool ready;
        poll_once(c, 100, &ready);
        if (c->failed)
            return -VR_EWORKER;
        if (!ready)
            continue;
        vr_msg m;
        int u;
        while ((u = recv_worker(c, &m)) >= 0) {
            if (m.type == VR_MSG_HELLO && !c->w[u].hello) {
                if (m.turn != c->turn && !c->o.resume) { /* fresh: 0; restored: the snapshot's turn; resumed: resume_turns */
                    fail(c, "worker u%d started on turn %" PRIu64 ", expected turn %" PRIu64, u, m.turn, c->turn);
                    return -VR_EWORKER;
                }
                c->w[u].hello = true;
                c->w[u].hash = m.hash;
                c->w[u].entities = m.entities;
                have++;
                vr_urec *r = vr_cluster_universe(c->cl, (uint32_t)u);
                vr_cluster_write_begin(c->cl);
                r->status = VR_WORKER_READY;
                r->bind = m.flags;
                r->state_hash = m.hash;
                r->committed_turn = m.turn;
                r->entities = m.entities;
                r->heartbeat_ns = c->w[u].last_seen;
                vr_cluster_write_end(c->cl);
            } else if (m.type == VR_MSG_FAIL) {
                fail(c, "worker u%d failed to start: %s", u, m.text);
                return -VR_EWORKER;
            }
        }
    }
    c->started = true;
    if (c->o.resume) /* resume_turns sets the turn and the hashes */
        return 0;
    /* restored on a committed turn: its inbound batches are gone; asked for
     * once every worker is connected (before, a RESEND to a peer not yet
     * there is "Host unreachable"); workers also re-send on start */
    for (uint32_t u = 0; c->turn > 0 && u < c->o.universes; u++)
        portal_resend(c, u);
    uint64_t hashes[1024];
    for (uint32_t u = 0; u < c->o.universes; u++)
        hashes[u] = c->w[u].hash;
    c->cluster_hash = vr_cluster_hash(hashes, c->o.universes);
    vr_cluster_hdr *h = vr_cluster_header(c->cl);
    vr_cluster_write_begin(c->cl);
    h->committed_turn = c->turn; /* 0, or the turn of --restore's snapshot */
    h->cluster_hash = c->cluster_hash;
    h->coordinator_pid = (int32_t)getpid();
    h->status = cluster_status(c);
    vr_cluster_write_end(c->cl);
    log_hashes(c);
    return 0;
}

static int run_turn(coord *c)
{
    uint64_t n = c->turn + 1, t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)(c->o.worker_timeout * 1e9);
    c->in_turn = true;
    for (uint32_t u = 0; u < c->o.universes; u++) {
        worker *w = &c->w[u];
        w->done = w->replayed = false;
        w->nsent = take_commands(c, u, w->sent); /* in accepted order, whoever is up */
        if (w->alive && !w->restarting && !w->adopting)
            send_turn(c, u, n); /* one coming back gets it when it is back */
    }
    for (;;) {
        uint32_t done = 0;
        for (uint32_t u = 0; u < c->o.universes; u++)
            done += c->w[u].done;
        if (done == c->o.universes)
            break;
        if (got_signal || c->failed) {
            c->in_turn = false;
            return -EINTR;
        }
        uint64_t now = now_ns();
        if (c->restart_deadline > deadline)
            deadline = c->restart_deadline;
        if (now > deadline) {
            for (uint32_t u = 0; u < c->o.universes && !c->failed; u++) {
                worker *w = &c->w[u];
                if (w->done)
                    continue;
                char why[160];
                snprintf(why, sizeof why, "did not %s within %.1f s (hung); killed",
                         w->restarting ? "say HELLO after its restart"
                         : w->adopting ? "answer ADOPT" : "answer TURN", c->o.worker_timeout);
                set_status(c, u, VR_WORKER_HUNG);
                publish_worker(c, u, "hung", why);
                kill_hung(c, u);
                lose_worker(c, u, why);
            }
            if (c->failed) {
                c->in_turn = false;
                return -VR_ETIMEOUT;
            }
            deadline = now_ns() + (uint64_t)(c->o.worker_timeout * 1e9);
            continue;
        }
        long ms = (long)((deadline - now) / 1000000) + 1;
        bool ready;
        poll_once(c, ms < 100 ? ms : 100, &ready);
        if (!ready)
            continue;
        vr_msg m;
        int u;
        while ((u = recv_worker(c, &m)) >= 0) {
            worker *w = &c->w[u];
            if (restart_msg(c, (uint32_t)u, &m))
                continue;
            if (m.type == VR_MSG_DONE && m.turn == n && !w->done) {
                if (w->replayed && m.hash != w->done_hash) {
                    fail(c, "worker u%d replayed turn %" PRIu64 " after its restart with hash %016" PRIx64
                         ", but computed it first with %016" PRIx64 ": determinism is broken", u, n, m.hash,
                         w->done_hash);
                    c->in_turn = false;
                    return -VR_EWORKER;
                }
                w->done = true;
                w->hash = m.hash;
                w->entities = m.entities;
                w->turn_ns = m.turn_ns;
                memcpy(w->metrics, m.metrics, sizeof m.metrics);
                record_results(c, (uint32_t)u, &m);
                w->nportal = m.nportal < VR_PORTAL_STATS_MAX ? m.nportal : VR_PORTAL_STATS_MAX;
                memcpy(w->portal, m.portal, w->nportal * sizeof *w->portal);
            } else if (m.type == VR_MSG_FAIL) {
                fail(c, "worker u%d failed turn %" PRIu64 ": %s", u, m.turn, m.text);
                publish_worker(c, (uint32_t)u, "failed", m.text);
                c->in_turn = false;
                return -VR_EWORKER;
            }
        }
    }
    /* the portal traffic of the turn, once per universe however often it was computed */
    for (uint32_t u = 0; u < c->o.universes; u++)
        vr_xfer_record(c->xfer, u, n, c->w[u].portal, c->w[u].nportal);
    broadcast(c, VR_MSG_COMMIT, n);
    test_die_after_commit(n);
    for (uint32_t u = 0; u < c->o.universes; u++)
        if (c->w[u].resend && !c->w[u].restarting) {
            c->w[u].resend = false;
            c->turn = n; /* portal_resend asks for the batches of c->turn */
            portal_resend(c, u);
            c->turn = n - 1;
        }
    /* after --restore or --resume the audit was seeded with what left in the
     * first turn (vr_xfer_seed_arenas, from the committed outboxes) */
    vr_xfer_check(c->xfer, n, portal_violation, c);
    uint64_t hashes[1024], ents = 0;
    for (uint32_t u = 0; u < c->o.universes; u++)
        hashes[u] = c->w[u].hash, ents += c->w[u].entities;
    c->turn = n;
    c->cluster_hash = vr_cluster_hash(hashes, c->o.universes);
    c->in_turn = false;
    uint64_t now = now_ns();
    vr_cluster_hdr *h = vr_cluster_header(c->cl);
    vr_cluster_write_begin(c->cl);
    for (uint32_t u = 0; u < c->o.universes; u++) {
        vr_urec *r = vr_cluster_universe(c->cl, u);
        r->committed_turn = n;
        r->state_hash = c->w[u].hash;
        r->entities = c->w[u].entities;
        r->turn_ns = c->w[u].turn_ns;
        r->heartbeat_ns = c->w[u].last_seen;
        r->status = VR_WORKER_READY;
#define VR_METRIC(name, doc) r->m_##name = c->w[u].metrics[VR_M_##name];
#include "metrics.def"
#undef VR_METRIC
        r->m_portal_violations = c->pviolations ? c->pviolations[u] : 0;
        r->m_restarts = c->w[u].metrics[VR_M_restarts] = c->w[u].restarts;
        if (c->w[u].restarting || c->w[u].adopting)
            r->status = VR_WORKER_STARTING;
    }
    h->committed_turn = n;
    h->cluster_hash = c->cluster_hash;
    h->turn_ns = now - t0;
    vr_cluster_write_end(c->cl);
    publish_turn(c, now - t0);
    if (c->step_left)
        c->step_left--;
    (void)ents;
    log_hashes(c);
    flush_waiters(c, NULL);
    return 0;
}

static void progress(coord *c, bool force)
{
    uint64_t now = now_ns();
    if (now - c->rate_t0 >= 1000000000ull) {
        c->turns_per_s = (double)(c->turn - c->rate_turn0) * 1e9 / (double)(now - c->rate_t0);
        c->rate_t0 = now, c->rate_turn0 = c->turn;
    }
    if (c->o.quiet)
        return;
    bool tty = isatty(STDERR_FILENO);
    uint64_t every = tty ? 250000000ull : 5000000000ull;
    if (!force && now - c->last_progress < every)
        return;
    c->last_progress = now;
    uint64_t ents = 0;
    for (uint32_t u = 0; u < c->o.universes; u++)
        ents += vr_cluster_universe(c->cl, u)->entities;
    fprintf(stderr, "%sturn %-8" PRIu64 " %9.1f turns/s  entities %-10" PRIu64 " cluster hash %016" PRIx64 "  %s%s",
            tty ? "\r" : "", c->turn, c->turns_per_s, ents, c->cluster_hash,
            vr_cluster_status_name(cluster_status(c)), tty ? "   " : "\n");
    fflush(stderr);
}

/* ---- resume ------------------------------------------------------------------ */
/* The run file $VR_RUNDIR/vr-NAME.run keeps what --resume needs to rebuild
 * the world exactly: the cluster id and the options of the run (all but
 * --reclaim and --hash-log).  Written once the arenas exist, removed when
 * the coordinator stops; only a killed coordinator leaves it behind. */

static void run_file(const char *name, char *out, size_t len)
{
    const char *rundir = getenv("VR_RUNDIR");
    if (!rundir || !*rundir)
        rundir = "/tmp";
    snprintf(out, len, "%s/vr-%s.run", rundir, name);
}

static int write_run_file(coord *c, int argc, char **argv)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    run_file(c->o.name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        logf_("cannot write %s: %s (needed by --resume)", tmp, strerror(errno));
        return -EIO;
    }
    fprintf(f, "vr-coordinator run 1\ncluster_id %016" PRIx64 "\n", vr_cluster_header(c->cl)->seg.cluster_id);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--reclaim") || !strncmp(a, "--hash-log=", 11) || !strncmp(a, "--resume", 8) ||
            !strncmp(a, "--restore=", 10))
            continue;
        if (!strcmp(a, "--hash-log") || !strcmp(a, "--restore")) {
            i++;
            continue;
        }
        if (!strchr(a, '\n'))
            fprintf(f, "arg %s\n", a);
    }
    /* the world as it is (after --restore or a content pack decided parts of it) */
    const opts *o = &c->o;
    fprintf(f, "arg --universes\narg %u\narg --seed\narg %" PRIu64 "\narg --systems\narg %u\narg --fleets\narg %u\n"
            "arg --factions\narg %u\n", o->universes, o->seed, o->sc.systems, o->sc.fleets, o->sc.factions);
    if (o->content_dir[0])
        fprintf(f, "arg --content\narg %s\n", o->content_dir);
    if (o->portals)
        fprintf(f, "arg --portals\narg %s\n", o->portals);
    if (o->universe_names && *o->universe_names)
        fprintf(f, "arg --universe-names\narg %s\n", o->universe_names);
    int bad = ferror(f);
    if (fclose(f) || bad || rename(tmp, path)) {
        logf_("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -EIO;
    }
    return 0;
}

/* Reads NAME's run file into a new argv: argv0, the saved options, then
 * the options of this command line (later, so they win). */
static int read_run_file(const char *name, int argc, char **argv, int *nargc, char ***nargv, uint64_t *id)
{
    char path[PATH_MAX];
    run_file(name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) {
        logf_("--resume %s: cannot open %s: %s (is the cluster's coordinator dead, and is VR_RUNDIR the one "
              "it was started with?)", name, path, strerror(errno));
        return -1;
    }
    char **v = calloc((size_t)argc + 256, sizeof *v);
    int n = 0;
    if (v)
        v[n++] = argv[0];
    char line[4096];
    bool head = false;
    *id = 0;
    while (v && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, "vr-coordinator run 1"))
            head = true;
        else if (!strncmp(line, "cluster_id ", 11))
            *id = strtoull(line + 11, NULL, 16);
        else if (!strncmp(line, "arg ", 4) && n < 250)
            v[n++] = strdup(line + 4);
    }
    fclose(f);
    if (!v || !head || !*id) {
        logf_("--resume %s: %s is not a run file this coordinator reads", name, path);
        free(v);
        return -1;
    }
    for (int i = 1; i < argc; i++)
        v[n++] = argv[i];
    *nargc = n;
    *nargv = v;
    return 0;
}

/* Whether process pid is gone (or a zombie nobody reaped yet). */
static bool process_gone(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return true;
    char p[64], st[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return true;
    size_t k = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[k] = 0;
    const char *rp = strrchr(st, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* Attaches the cluster segment and the arenas a killed coordinator left. */
static int resume_world(coord *c, uint64_t id)
{
    const opts *o = &c->o;
    char why[256] = "";
    int rc = vr_cluster_attach(&c->cl, o->name, true, why, sizeof why);
    if (rc) {
        logf_("--resume %s: cannot attach the cluster segment: %s", o->name, why[0] ? why : vr_strerror(rc));
        return rc;
    }
    vr_cluster_hdr *h = vr_cluster_header(c->cl);
    if (h->seg.cluster_id != id || h->nuniverses != o->universes) {
        logf_("--resume %s: the cluster segment (id %016" PRIx64 ", %u universes) is not the run its run file "
              "describes (id %016" PRIx64 ", %u universes)", o->name, h->seg.cluster_id, h->nuniverses, id,
              o->universes);
        return -VR_EBADARG;
    }
    if (h->coordinator_pid != (int32_t)getpid() && !process_gone(h->coordinator_pid)) {
        logf_("--resume %s: its coordinator (pid %d) is still running", o->name, (int)h->coordinator_pid);
        return -VR_ERUNNING;
    }
    /* the old workers stop by themselves once their coordinator is gone */
    for (uint32_t u = 0; u < o->universes; u++) {
        pid_t pid = vr_cluster_universe(c->cl, u)->worker_pid;
        uint64_t until = now_ns() + 10000000000ull;
        while (!process_gone(pid) && now_ns() < until)
            usleep(20000);
        if (!process_gone(pid)) {
            logf_("--resume %s: worker u%u of the dead coordinator (pid %d) is still running", o->name, u, (int)pid);
            return -VR_ERUNNING;
        }
    }
    c->arenas = calloc(o->universes, sizeof *c->arenas);
    c->w = calloc(o->universes, sizeof *c->w);
    c->queue = calloc(MAX_QUEUED, sizeof *c->queue);
    c->results = calloc(RESULTS, sizeof *c->results);
    if (!c->arenas || !c->w || !c->queue || !c->results)
        return -ENOMEM;
    for (uint32_t u = 0; u < o->universes; u++) {
        char seg[VR_SEGNAME_MAX];
        vr_segname(seg, sizeof seg, o->name, (int)u);
        rc = vr_arena_attach(&c->arenas[u], seg, true, id, why, sizeof why);
        if (rc) {
            logf_("--resume %s: cannot attach arena %s: %s", o->name, seg, why[0] ? why : vr_strerror(rc));
            return rc;
        }
    }
    vr_cluster_write_begin(c->cl);
    h->coordinator_pid = (int32_t)getpid();
    c->turn = h->committed_turn;
    c->cluster_hash = h->cluster_hash;
    c->next_ticket = h->next_ticket;
    vr_cluster_write_end(c->cl);
    return 0;
}

/* After every resumed worker said HELLO: bring all universes to one turn.
 * The dead coordinator may have died between its COMMIT(n) broadcast and
 * the last worker's publish: then some arenas show n and the others n - 1
 * with n computed (their DONE was in, or there would be no COMMIT), which
 * they adopt.  Roll-forward only: a published turn is never undone. */
static int resume_turns(coord *c)
{
    uint32_t nu = c->o.universes;
    uint64_t top = 0, *pub = calloc(nu, sizeof *pub);
    if (!pub)
        return -ENOMEM;
    for (uint32_t u = 0; u < nu; u++) {
        vr_arena_published(c->arenas[u], &pub[u], NULL);
        if (pub[u] > top)
            top = pub[u];
    }
    c->turn = top;
    for (uint32_t u = 0; u < nu && !c->failed; u++) {
        if (pub[u] == top)
            continue;
        if (pub[u] + 1 != top) {
            fail(c, "--resume: universe %u is at turn %" PRIu64 " and another at %" PRIu64 "; cannot continue", u,
                 pub[u], top);
            break;
        }
        logf_("universe %u published turn %" PRIu64 "; the dead coordinator committed turn %" PRIu64
              ": rolling forward (ADOPT)", u, pub[u], top);
        vr_msg a = {.type = VR_MSG_ADOPT, .turn = top, .hash = 0};
        c->w[u].adopting = true;
        send_worker(c, u, &a);
    }
    free(pub);
    uint64_t deadline = now_ns() + (uint64_t)(c->o.worker_timeout * 1e9);
    for (;;) {
        uint32_t waiting = 0;
        for (uint32_t u = 0; u < nu; u++)
            waiting += c->w[u].adopting;
        if (!waiting || c->failed)
            break;
        if (now_ns() > deadline || got_signal) {
            fail(c, "--resume: %u universe%s did not answer ADOPT", waiting, waiting == 1 ? "" : "s");
            break;
        }
        bool ready;
        poll_once(c, 100, &ready);
        vr_msg m;
        int u;
        while (ready && (u = recv_worker(c, &m)) >= 0) {
            if (!c->w[u].adopting)
                continue;
            if (m.type == VR_MSG_PONG && m.turn == top)
                c->w[u].adopting = false;
            else if (m.type == VR_MSG_FAIL)
                fail(c, "--resume: universe %d cannot roll forward to turn %" PRIu64 ": %s", u, top, m.text);
        }
    }
    if (c->failed)
        return -VR_EWORKER;
    uint64_t hashes[1024];
    vr_cluster_hdr *h = vr_cluster_header(c->cl);
    vr_cluster_write_begin(c->cl);
    for (uint32_t u = 0; u < nu; u++) {
        vr_arena_published(c->arenas[u], NULL, &c->w[u].hash);
        hashes[u] = c->w[u].hash;
        vr_urec *r = vr_cluster_universe(c->cl, u);
        r->committed_turn = top;
        r->state_hash = c->w[u].hash;
        r->status = VR_WORKER_READY;
    }
    c->cluster_hash = vr_cluster_hash(hashes, nu);
    h->committed_turn = top;
    h->cluster_hash = c->cluster_hash;
    vr_cluster_write_end(c->cl);
    for (uint32_t u = 0; u < nu; u++) /* everyone's inbound batches of `top` again */
        portal_resend(c, u);
    log_hashes(c);
    logf_("cluster \"%s\" resumed at turn %" PRIu64 " (cluster hash %016" PRIx64 ")", c->o.name, top,
          c->cluster_hash);
    return 0;
}

/* ---- shutdown ------------------------------------------------------------------ */

static void stop_workers(coord *c)
{
    if (c->wsock)
        broadcast(c, VR_MSG_STOP, 0);
    uint64_t deadline = now_ns() + 5000000000ull;
    for (;;) {
        reap(c);
        bool any = false;
        for (uint32_t u = 0; u < c->o.universes; u++)
            any |= c->w && c->w[u].alive;
        if (!any)
            break;
        if (now_ns() > deadline) {
            for (uint32_t u = 0; u < c->o.universes; u++)
                if (c->w[u].alive) {
                    logf_("worker u%u (pid %d) did not stop within 5 s; killing it", u, (int)c->w[u].pid);
                    kill(c->w[u].pid, SIGKILL);
                    waitpid(c->w[u].pid, NULL, 0);
                    c->w[u].alive = false;
                }
            break;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

/* The portal network, its endpoints and the audit (idempotent). */
static void free_portals(coord *c)
{
    free(c->pendpoints);
    free(c->pviolations);
    c->pendpoints = NULL;
    c->pviolations = NULL;
    vr_xfer_destroy(&c->xfer);
    vr_portal_net_destroy(&c->o.net);
    c->o.sc.portals = NULL;
}

static void teardown(coord *c)
{
    bool was_stopping = c->stop;
    c->stop = true;
    if (c->w)
        stop_workers(c);
    (void)was_stopping;
    flush_waiters(c, c->failed ? c->fail_reason : "the cluster stopped");
    if (c->cl) {
        vr_cluster_write_begin(c->cl);
        vr_cluster_header(c->cl)->status = c->failed ? VR_CLUSTER_FAILED : VR_CLUSTER_STOPPED;
        for (uint32_t u = 0; u < c->o.universes; u++)
            vr_cluster_universe(c->cl, u)->status = VR_WORKER_STOPPED;
        vr_cluster_write_end(c->cl);
    }
    if (c->esock)
        zmq_close(c->esock);
    if (c->csock)
        zmq_close(c->csock);
    if (c->wsock)
        zmq_close(c->wsock);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    /* ZeroMQ leaves ipc socket files behind; they are ours */
    if (strncmp(c->wendpoint, "ipc://", 6) == 0)
        unlink(c->wendpoint + 6);
    if (strncmp(c->cendpoint, "ipc://", 6) == 0 && c->ctx)
        unlink(c->cendpoint + 6);
    if (strncmp(c->eendpoint, "ipc://", 6) == 0 && c->ctx)
        unlink(c->eendpoint + 6);
    for (uint32_t u = 0; c->w && u < c->o.universes; u++) { /* a killed worker leaves its file */
        char ep[256];
        worker_events_endpoint(c, u, ep, sizeof ep);
        unlink(ep + 6);
        worker_portal_endpoint(c, u, ep, sizeof ep);
        unlink(ep + 6);
    }
    free_portals(c);
    for (uint32_t u = 0; c->arenas && u < c->o.universes; u++)
        vr_arena_detach(&c->arenas[u]);
    vr_cluster_detach(&c->cl);
    vr_shm_remove_all(c->o.name);
    char rf[PATH_MAX];
    run_file(c->o.name, rf, sizeof rf);
    unlink(rf);
    free(c->arenas);
    free(c->w);
    free(c->queue);
    free(c->results);
    if (c->hash_log)
        fclose(c->hash_log);
    if (c->cmd_log)
        fclose(c->cmd_log);
    vr_plan_fini(&c->plan);
}

/* ---- main ------------------------------------------------------------------------ */

static void make_endpoints(coord *c)
{
    const char *rundir = getenv("VR_RUNDIR");
    if (!rundir || !*rundir)
        rundir = "/tmp";
    snprintf(c->wendpoint, sizeof c->wendpoint, "ipc://%s/vr-%s.workers", rundir, c->o.name);
    if (c->o.cmd_endpoint)
        snprintf(c->cendpoint, sizeof c->cendpoint, "%s", c->o.cmd_endpoint);
    else
        snprintf(c->cendpoint, sizeof c->cendpoint, "ipc://%s/vr-%s.cmd", rundir, c->o.name);
    snprintf(c->eendpoint, sizeof c->eendpoint, "ipc://%s/vr-%s.events", rundir, c->o.name);
}

static int open_sockets(coord *c)
{
    c->ctx = zmq_ctx_new();
    c->wsock = zmq_socket(c->ctx, ZMQ_ROUTER);
    c->csock = zmq_socket(c->ctx, ZMQ_ROUTER);
    int zero = 0, one = 1;
    int64_t maxmsg = 1 << 20; /* a peer sending more is disconnected by ZeroMQ */
    zmq_setsockopt(c->wsock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->csock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->wsock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(c->csock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(c->wsock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(c->wsock, c->wendpoint) < 0) {
        logf_("zmq_bind(%s) for workers: %s", c->wendpoint, zmq_strerror(errno));
        return -errno;
    }
    if (zmq_bind(c->csock, c->cendpoint) < 0) {
        logf_("zmq_bind(%s) for commands: %s; is another process using it?", c->cendpoint, zmq_strerror(errno));
        return -errno;
    }
    /* events: PUB drops for a subscriber VR_EVENTS_SNDHWM messages behind;
     * a short linger lets the last "worker" events out at shutdown */
    int hwm = VR_EVENTS_SNDHWM, elinger = 200;
    c->esock = zmq_socket(c->ctx, ZMQ_PUB);
    zmq_setsockopt(c->esock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->esock, ZMQ_LINGER, &elinger, sizeof elinger);
    if (zmq_bind(c->esock, c->eendpoint) < 0) {
        logf_("zmq_bind(%s) for events: %s; is another process using it?", c->eendpoint, zmq_strerror(errno));
        return -errno;
    }
    return 0;
}

static char **rargv; /* --resume: the options of the dead run, kept for the whole run */

/* --restore: the snapshot's options become the run's; an option given
 * explicitly that says otherwise is an error, never silently overridden. */
static int restore_opts(opts *o, vr_snapshot **snap)
{
    char err[PATH_MAX + 256] = "";
    int rc = vr_snapshot_open(snap, o->restore, err, sizeof err);
    if (rc) {
        logf_("--restore: %s", err);
        return 1;
    }
    const vr_snap_hdr *h = vr_snapshot_header(*snap);
    const char *sp = h->portals[0] ? h->portals : NULL, *sn = h->universe_names[0] ? h->universe_names : NULL;
    char conflict[2 * PATH_MAX + 3200] = "";
#define CONFLICT(bit, fmt, ...)                                                                            \
    if ((o->given & (bit)) && !conflict[0])                                                               \
        snprintf(conflict, sizeof conflict, fmt, __VA_ARGS__);
    if (o->universes != h->nuniverses) CONFLICT(G_UNIVERSES, "--universes %u, but the snapshot has %u universes", o->universes, h->nuniverses);
    if (o->seed != h->seed) CONFLICT(G_SEED, "--seed %" PRIu64 ", but the snapshot's seed is %" PRIu64, o->seed, h->seed);
    if (o->sc.systems != h->systems) CONFLICT(G_SYSTEMS, "--systems %u, but the snapshot has %u", o->sc.systems, h->systems);
    if (o->sc.fleets != h->fleets) CONFLICT(G_FLEETS, "--fleets %u, but the snapshot has %u", o->sc.fleets, h->fleets);
    if (o->sc.factions != h->factions) CONFLICT(G_FACTIONS, "--factions %u, but the snapshot has %u", o->sc.factions, h->factions);
    if (strcmp(o->content_dir, h->content_dir)) CONFLICT(G_CONTENT, "--content %s, but the snapshot was taken with %s", o->content_dir, h->content_dir[0] ? h->content_dir : "the built-in content");
    if (strcmp(o->portals ? o->portals : "", h->portals)) CONFLICT(G_PORTALS, "--portals %s, but the snapshot was taken with %s", o->portals, sp ? sp : "the default network");
    if (strcmp(o->universe_names ? o->universe_names : "", h->universe_names)) CONFLICT(G_UNAMES, "--universe-names %s, but the snapshot has %s", o->universe_names, sn ? sn : "none");
#undef CONFLICT
    if (conflict[0]) {
        logf_("--restore %s: %s; leave the option out (the snapshot's is used) or restore another snapshot",
              o->restore, conflict);
        vr_snapshot_close(snap);
        return 2;
    }
    o->universes = h->nuniverses;
    o->seed = h->seed;
    o->sc.systems = h->systems, o->sc.fleets = h->fleets, o->sc.factions = h->factions;
    o->factions_given = true; /* the content pack does not decide it any more */
    snprintf(o->content_dir, sizeof o->content_dir, "%s", h->content_dir);
    static char portals[sizeof h->portals], names[sizeof h->universe_names]; /* outlive the snapshot */
    snprintf(portals, sizeof portals, "%s", h->portals);
    snprintf(names, sizeof names, "%s", h->universe_names);
    o->portals = sp ? portals : NULL;
    o->universe_names = sn ? names : NULL;
    return 0;
}

int main(int argc, char **argv)
{
    coord c = {0};
    int rc = parse_opts(&c.o, argc, argv);
    if (rc)
        return rc;
    uint64_t resume_id = 0;
    if (c.o.resume) { /* the world of the dead run, then this command line's other options */
        if (c.o.world_opt) {
            logf_("--resume %s continues the world of the dead run; %s cannot be given with it", c.o.name,
                  c.o.world_opt);
            return 2;
        }
        if (c.o.restore) {
            logf_("--resume %s continues the arenas of the dead run; --restore %s cannot be given with it", c.o.name,
                  c.o.restore);
            return 2;
        }
        int rargc = 0;
        if (read_run_file(c.o.name, argc, argv, &rargc, &rargv, &resume_id))
            return 1;
        optind = 0; /* glibc: start getopt afresh */
        if ((rc = parse_opts(&c.o, rargc, rargv)))
            return rc;
        c.o.resume = true;
    }
    vr_snapshot *snap = NULL;
    if (c.o.restore && (rc = restore_opts(&c.o, &snap)))
        return rc;
    make_endpoints(&c);

    /* content: validate it here, before anything starts, so a broken pack
     * is one clear error; workers load the same pack and check its hash */
    vr_content *content = NULL;
    if (c.o.content_dir[0]) {
        char cerr[512] = "";
        rc = vr_content_load(&content, c.o.content_dir, cerr, sizeof cerr);
        if (rc) {
            logf_("content pack %s: %s", c.o.content_dir, cerr[0] ? cerr : vr_strerror(rc));
            vr_snapshot_close(&snap);
            return 1;
        }
    } else if ((rc = vr_content_builtin(&content, c.o.seed))) {
        logf_("built-in content: %s", vr_strerror(rc));
        vr_snapshot_close(&snap);
        return 1;
    }
    c.o.content_hash = vr_content_hash(content);
    if (snap && vr_snapshot_header(snap)->content_hash != c.o.content_hash) {
        logf_("--restore %s: content %s hashes to %016" PRIx64 ", the snapshot was taken with content %016" PRIx64
              " (did the pack change?)", c.o.restore, c.o.content_dir[0] ? c.o.content_dir : "(built-in)",
              c.o.content_hash, vr_snapshot_header(snap)->content_hash);
        vr_content_destroy(&content);
        vr_snapshot_close(&snap);
        return 1;
    }
    uint32_t ncf = 0;
    vr_content_factions(content, &ncf);
    if (c.o.content_dir[0] && !c.o.factions_given)
        c.o.sc.factions = ncf; /* one universe faction per content faction */
    c.o.content = content;
    c.o.sc.content = content;

    /* the portal network: checked here (files, names, fields), built again
     * by every worker, which compares its hash */
    {
        char perr[512] = "";
        vr_portal_config pcfg = {.universes = c.o.universes, .seed = c.o.seed, .spec = c.o.portals,
                                 .names = c.o.universe_names};
        rc = vr_portal_net_new(&c.o.net, &pcfg, perr, sizeof perr);
        if (rc) {
            logf_("--portals %s: %s", c.o.portals ? c.o.portals : "default", perr[0] ? perr : vr_strerror(rc));
            drop_content(&c.o);
            free_portals(&c);
            vr_snapshot_close(&snap);
            return 1;
        }
        c.o.portal_hash = vr_portal_net_hash(c.o.net);
        if (snap && vr_snapshot_header(snap)->portal_hash != c.o.portal_hash) {
            logf_("--restore %s: the portal network hashes to %016" PRIx64 ", the snapshot's to %016" PRIx64
                  " (did a portal file change?)", c.o.restore, c.o.portal_hash, vr_snapshot_header(snap)->portal_hash);
            drop_content(&c.o);
            free_portals(&c);
            vr_snapshot_close(&snap);
            return 1;
        }
        c.o.sc.portals = c.o.net;
        size_t cap = (size_t)c.o.universes * 300 + 1;
        c.pendpoints = calloc(1, cap);
        c.pviolations = calloc(c.o.universes, sizeof *c.pviolations);
        if (!c.pendpoints || !c.pviolations || vr_xfer_new(&c.xfer, c.o.universes)) {
            logf_("out of memory");
            drop_content(&c.o);
            free_portals(&c);
            vr_snapshot_close(&snap);
            return 1;
        }
        for (uint32_t u = 0; u < c.o.universes; u++) {
            char ep[280];
            worker_portal_endpoint(&c, u, ep, sizeof ep);
            size_t l = strlen(c.pendpoints);
            snprintf(c.pendpoints + l, cap - l, "%s%s", u ? "," : "", ep);
        }
    }

    /* plan: needs the topology and the arena sizes only */
    char err[256];
    hwloc_topology_t topo;
    if (vr_topology_load(&topo, c.o.topology, err, sizeof err)) {
        logf_("%s", err);
        drop_content(&c.o);
        free_portals(&c);
        vr_snapshot_close(&snap);
        return 1;
    }
    uint64_t *sizes = calloc(c.o.universes, sizeof *sizes);
    for (uint32_t u = 0; u < c.o.universes; u++) {
        vr_arena_spec spec = {.universe = u};
        vr_scenario sc = c.o.sc;
        sc.universe = u;
        vr_sim_capacity(&sc, spec.capacity);
        sizes[u] = vr_arena_size(&spec);
    }
    rc = vr_plan_make(&c.plan, topo, sizes, c.o.universes, c.o.pin);
    free(sizes);
    hwloc_topology_destroy(topo);
    if (rc) {
        logf_("cannot make a placement plan: %s", vr_strerror(rc));
        drop_content(&c.o);
        free_portals(&c);
        vr_snapshot_close(&snap);
        return 1;
    }
    if (c.o.plan_only) {
        vr_plan_print(&c.plan, stdout);
        vr_plan_fini(&c.plan);
        drop_content(&c.o);
        free_portals(&c);
        vr_snapshot_close(&snap);
        return 0;
    }
    if (!c.o.quiet)
        vr_plan_print(&c.plan, stderr);
    if (!c.plan.thissystem)
        logf_("topology is not this machine: workers will report binding, not apply it");

    if (!c.o.resume && check_stale(&c.o)) {
        vr_plan_fini(&c.plan);
        drop_content(&c.o);
        free_portals(&c);
        vr_snapshot_close(&snap);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sc = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
    sigaction(SIGCHLD, &sc, NULL);

    c.paused = c.o.paused;
    if (c.o.hash_log && !(c.hash_log = fopen(c.o.hash_log, c.o.resume ? "a" : "w"))) {
        logf_("--hash-log %s: %s", c.o.hash_log, strerror(errno));
        vr_plan_fini(&c.plan);
        drop_content(&c.o);
        free_portals(&c);
        vr_snapshot_close(&snap);
        return 1;
    }
    /* a resumed run appends to the log of the run it continues */
    if (c.o.command_log && !(c.cmd_log = fopen(c.o.command_log, c.o.resume ? "a" : "w"))) {
        logf_("--command-log %s: %s", c.o.command_log, strerror(errno));
        vr_plan_fini(&c.plan);
        drop_content(&c.o);
        free_portals(&c);
        vr_snapshot_close(&snap);
        return 1;
    }
    if (c.cmd_log && !c.o.resume)
        fprintf(c.cmd_log, "# vr command log 1: universes %u seed %" PRIu64 "\n", c.o.universes, c.o.seed);
    if (c.o.resume) {
        rc = resume_world(&c, resume_id);
        if (rc) { /* not ours: leave every segment as it is */
            for (uint32_t u = 0; c.arenas && u < c.o.universes; u++)
                vr_arena_detach(&c.arenas[u]);
            vr_cluster_detach(&c.cl);
            vr_plan_fini(&c.plan);
            drop_content(&c.o);
            free(c.arenas), free(c.w), free(c.queue), free(c.results);
            free_portals(&c);
            if (c.hash_log)
                fclose(c.hash_log);
            if (c.cmd_log)
                fclose(c.cmd_log);
            vr_snapshot_close(&snap);
            return 1;
        }
    } else {
        rc = create_world(&c);
        if (rc == 0)
            rc = write_run_file(&c, argc, argv);
    }
    drop_content(&c.o);
    if (rc == 0 && snap && !c.o.resume) { /* the arenas hold the snapshot's turn before any worker starts */
        char err[512] = "";
        for (uint32_t u = 0; rc == 0 && u < c.o.universes; u++)
            if ((rc = vr_snapshot_load_arena(snap, u, c.arenas[u], err, sizeof err)))
                logf_("--restore %s: %s", c.o.restore, err);
        c.turn = vr_snapshot_header(snap)->turn;
        c.next_ticket = vr_snapshot_header(snap)->next_ticket;
        vr_cluster_header(c.cl)->next_ticket = c.next_ticket;
        if (rc == 0 && !c.o.quiet)
            logf_("restored turn %" PRIu64 " from %s", c.turn, c.o.restore);
    }
    vr_snapshot_close(&snap);
    /* spawn before any ZeroMQ context exists in this process */
    for (uint32_t u = 0; rc == 0 && u < c.o.universes; u++)
        rc = spawn_worker(&c, u);
    if (rc == 0)
        rc = open_sockets(&c);
    if (rc == 0)
        rc = wait_hello(&c);
    if (rc == 0 && c.o.resume)
        rc = resume_turns(&c);
    if (rc == 0 && c.turn > 0 && vr_xfer_seed_arenas(c.xfer, c.arenas, c.o.universes, c.o.net, c.turn))
        logf_("portal audit: the outboxes of turn %" PRIu64 " could not all be read; the next turn's check may "
              "report arrivals nobody sent", c.turn);
    if (rc) {
        teardown(&c);
        return c.failed ? 3 : 1;
    }
    vr_cluster_write_begin(c.cl);
    vr_cluster_header(c.cl)->status = cluster_status(&c);
    vr_cluster_write_end(c.cl);
    c.rate_t0 = now_ns();
    if (!c.o.quiet)
        logf_("cluster \"%s\" running: %u universes, seed %" PRIu64 ", commands on %s", c.o.name,
              c.o.universes, c.o.seed, c.cendpoint);

    uint32_t last_status = 0;
    while (!c.stop && !got_signal) {
        bool at_limit = c.o.turns && c.turn >= c.o.turns;
        if (at_limit && !c.o.hold)
            break;
        if (at_limit)
            c.paused = true;
        if (!c.paused || c.step_left > 0) {
            if (run_turn(&c) == 0)
                between_turns_snapshots(&c, true);
        } else {
            between_turns_snapshots(&c, false);
            bool ready;
            poll_once(&c, 50, &ready);
            if (ready) { /* PONGs and strays while idle */
                vr_msg m;
                int u;
                while ((u = recv_worker(&c, &m)) >= 0)
                    if (restart_msg(&c, (uint32_t)u, &m))
                        continue;
                    else if (m.type == VR_MSG_FAIL) {
                        fail(&c, "worker u%d reported: %s", u, m.text);
                        publish_worker(&c, (uint32_t)u, "failed", m.text);
                    }
            }
            check_idle_workers(&c);
        }
        uint32_t st = cluster_status(&c);
        if (st != last_status) {
            vr_cluster_write_begin(c.cl);
            vr_cluster_header(c.cl)->status = st;
            vr_cluster_write_end(c.cl);
            last_status = st;
        }
        progress(&c, false);
    }
    if (c.snap_pending) { /* the turn it waited for never committed */
        c.snap_pending = false;
        reply(&c, c.snap_waiter.id, c.snap_waiter.idlen, c.snap_waiter.delim, VR_CMD_SNAPSHOT,
              "the cluster stopped before the running turn committed; no snapshot was written");
    }
    c.stop = true; /* the last progress line says "stopping" */
    progress(&c, true);
    if (!c.o.quiet && isatty(STDERR_FILENO))
        fputc('\n', stderr);
    if (got_signal && !c.failed && !c.o.quiet)
        logf_("%s: stopping the cluster", strsignal(got_signal));
    bool failed = c.failed;
    uint64_t turn = c.turn, hash = c.cluster_hash;
    teardown(&c);
    if (failed) {
        fprintf(stderr, "vr-coordinator: cluster failed at turn %" PRIu64 "; segments removed\n", turn);
        return 3;
    }
    printf("final turn %" PRIu64 " cluster hash %016" PRIx64 "\n", turn, hash);
    return 0;
}
