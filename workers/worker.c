/* worker.c: vr-worker, the process that owns and runs one universe.
 *
 * Started by the coordinator (never by hand in normal use).  It attaches its
 * arena read-write, binds itself to the CPUs and memory of its NUMA node
 * (reported, not fatal, on a topology that is not this machine), pre-faults
 * the arena so pages land on that node, builds turn 0 if the arena holds no
 * committed turn, then serves the turn protocol on a ZeroMQ DEALER socket:
 *   TURN(n)   -> apply the turn's user commands (orders.c), compute n into
 *                the unpublished buffer, reply DONE(n, hash, results)
 *   COMMIT(n) -> publish buffer n (readers now see turn n), then publish
 *                its events (battles, decisions, findings) on the PUB socket
 *   PING      -> PONG;  STOP -> exit 0.
 * It exits by itself when its coordinator dies (PR_SET_PDEATHSIG plus a
 * parent check every poll), leaving the arena for a new coordinator.
 *
 * Events (schemas/events.def) go out on a PUB socket bound at --events
 * only after COMMIT, from the published buffer, once per turn: a slow or
 * absent subscriber costs nothing but dropped messages (PUB never blocks;
 * VR_EVENTS_SNDHWM messages are queued per subscriber).
 */
#include "vr_sim.h"
#include "content.h"
#include "events.h"
#include "portal_io.h"

#include <errno.h>
#include <getopt.h>
#include <hwloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static volatile sig_atomic_t stop_flag;
/* VR_TEST_TURN_DELAY_MS (tests only): sleep this long at the start of each
 * turn, so that a test's kills land in the middle of turns. */
static unsigned test_delay_ms;
/* VR_TEST_DIE_AFTER_DONE=U:T:FILE (tests only): worker U dies (SIGKILL) right
 * after sending DONE of turn T, before any COMMIT, unless FILE exists (it is
 * created first, so the restarted process lives).  Exercises roll-forward. */
static void test_die_after_done(uint32_t u, uint64_t turn)
{
    const char *k = getenv("VR_TEST_DIE_AFTER_DONE");
    unsigned ku;
    unsigned long long kt;
    char file[256];
    if (!k || sscanf(k, "%u:%llu:%255s", &ku, &kt, file) != 3 || ku != u || kt != turn)
        return;
    if (access(file, F_OK) == 0)
        return;
    FILE *f = fopen(file, "w");
    if (f)
        fclose(f);
    raise(SIGKILL);
}
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct wopts {
    const char *name, *endpoint, *cpus, *content_dir, *events;
    const char *portals, *universe_names, *portal_endpoints;
    uint64_t content_hash, portal_hash;
    uint32_t universes;
    double timeout;
    uint32_t universe;
    int node;
    pid_t parent;
    uint64_t cluster_id;
    vr_scenario sc;
} wopts;

static void usage(FILE *f)
{
    fprintf(f, "usage: vr-worker --name NAME --universe K --endpoint ENDPOINT --cluster-id HEX\n"
               "                 --systems N --fleets N --factions N [--cpus LIST --node N] [--parent PID]\n"
               "                 [--events ENDPOINT] [--universes N --portals SPEC --universe-names LIST\n"
               "                 --portal-endpoints EP0,EP1,... --portal-hash HEX] [--worker-timeout S]\n"
               "Runs one universe of cluster NAME; normally started by vr-coordinator.\n");
}

/* Binds CPU and memory to what the plan says; returns VR_BIND_* flags. */
static uint32_t bind_self(const wopts *o, vr_arena *arena)
{
    if (!o->cpus || o->node < 0)
        return 0;
    hwloc_topology_t topo;
    uint32_t flags = 0;
    if (hwloc_topology_init(&topo) < 0)
        return VR_BIND_FAILED;
    if (hwloc_topology_load(topo) < 0) {
        hwloc_topology_destroy(topo);
        return VR_BIND_FAILED;
    }
    if (!hwloc_topology_is_thissystem(topo)) {
        fprintf(stderr, "vr-worker u%u: topology is synthetic or from XML, not this machine: "
                        "binding to cpus %s node %d skipped\n", o->universe, o->cpus, o->node);
        hwloc_topology_destroy(topo);
        return VR_BIND_SYNTHETIC;
    }
    const struct hwloc_topology_support *sup = hwloc_topology_get_support(topo);
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (hwloc_bitmap_list_sscanf(set, o->cpus) == 0 && sup->cpubind->set_thisproc_cpubind) {
        if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0)
            flags |= VR_BIND_CPU;
        else {
            fprintf(stderr, "vr-worker u%u: hwloc_set_cpubind(%s): %s; running unbound\n",
                    o->universe, o->cpus, strerror(errno));
            flags |= VR_BIND_FAILED;
        }
    }
    hwloc_obj_t numa = hwloc_get_numanode_obj_by_os_index(topo, (unsigned)o->node);
    if (numa && sup->membind->set_area_membind && sup->membind->bind_membind) {
        if (hwloc_set_area_membind(topo, vr_arena_base(arena), vr_arena_bytes(arena), numa->nodeset,
                                   HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET) == 0)
            flags |= VR_BIND_MEM;
        else
            fprintf(stderr, "vr-worker u%u: hwloc_set_area_membind(node %d): %s; "
                            "pages follow first touch\n", o->universe, o->node, strerror(errno));
    }
    hwloc_bitmap_free(set);
    hwloc_topology_destroy(topo);
    return flags;
}

static int send_msg(void *sock, const vr_msg *m)
{
    static char buf[VR_WIRE_MAX_BYTES];
    int n = vr_msg_encode(m, buf, sizeof buf);
    if (n < 0)
        return n;
    return zmq_send(sock, buf, (size_t)n, 0) < 0 ? -errno : 0;
}

static int fail(void *sock, uint64_t turn, int code, const char *fmt, const char *arg)
{
    vr_msg f = {.type = VR_MSG_FAIL, .turn = turn, .code = code};
    snprintf(f.text, sizeof f.text, fmt, arg);
    fprintf(stderr, "vr-worker: %s\n", f.text);
    return send_msg(sock, &f);
}

/* Sends one event payload as [topic, payload]; PUB drops, never blocks. */
static int send_event(void *pub, int kind, const void *payload, size_t len)
{
    const char *topic = vr_event_defs[kind].name;
    if (zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(pub, payload, len, ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN ? 0 : -errno;
    return 0;
}

static void publish_events(const wopts *o, vr_arena *arena, vr_events *ev, void *pub)
{
    if (!pub)
        return;
    int rc = vr_events_turn(ev, arena, o->universe, send_event, pub);
    if (rc < 0)
        fprintf(stderr, "vr-worker u%u: events of the committed turn not published: %s\n", o->universe,
                vr_strerror(rc));
}

/* Arrivals of turn n (the batches every peer sent in turn n - 1), then the
 * commands, then the systems; then the outbox goes to the peers. */
static int compute_turn(const wopts *o, vr_arena *arena, vr_sim *sim, vr_plink *pl, const vr_msg *m, vr_msg *d,
                        vr_turn_stats *st)
{
    vr_cols cols;
    vr_portal_batch *in[VR_PORTAL_MAX];
    uint32_t nin = 0;
    if (pl && m->turn >= 2) {
        char why[160];
        int rc = vr_plink_wait(pl, m->turn - 1, (uint64_t)(o->timeout * 1000.0), &stop_flag, why, sizeof why);
        if (rc) {
            snprintf(d->text, sizeof d->text, "%s", why);
            return rc;
        }
        nin = vr_plink_batches(pl, m->turn - 1, in, VR_PORTAL_MAX);
    }
    int rc = vr_arena_begin(arena, &cols);
    vr_turn_stats ast;
    memset(&ast, 0, sizeof ast);
    if (rc == 0 && pl) /* portal arrivals first, in canonical order */
        rc = vr_sim_arrivals(sim, &cols, m->turn, in, nin, d->portal, &ast);
    d->nportal = nin;
    if (rc == 0) /* user commands next, in the coordinator's order */
        rc = vr_sim_commands(sim, &cols, m->turn, m->cmds, m->ncmds, d->results);
    if (rc == 0)
        rc = vr_sim_turn(sim, &cols, m->turn, st);
    if (rc)
        return rc;
    st->m[VR_M_transfers_in] = ast.m[VR_M_transfers_in];
    if (pl) {
        d->nportal += vr_plink_send(pl, &cols, m->turn, d->portal + d->nportal, VR_PORTAL_STATS_MAX - d->nportal);
        st->m[VR_M_portal_rejected] = vr_plink_rejected(pl);
    }
    return 0;
}

static int serve(const wopts *o, vr_arena *arena, vr_sim *sim, void *sock, void *pub, vr_plink *pl)
{
    vr_events ev;
    vr_events_init(&ev);
    uint64_t pending = 0, pending_hash = 0; /* computed, not yet committed */
    bool have_pending = false;
    while (!stop_flag) {
        if (o->parent && getppid() != o->parent) {
            fprintf(stderr, "vr-worker u%u: coordinator %d is gone; exiting\n", o->universe, (int)o->parent);
            break;
        }
        zmq_pollitem_t pi[2] = {{.socket = sock, .events = ZMQ_POLLIN},
                                {.socket = vr_plink_socket(pl), .events = ZMQ_POLLIN}};
        int r = zmq_poll(pi, pi[1].socket ? 2 : 1, 500);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            vr_events_fini(&ev);
            return -e;
        }
        if (r == 0)
            continue;
        if (pi[1].socket && (pi[1].revents & ZMQ_POLLIN))
            vr_plink_drain(pl); /* batches of peers that are ahead */
        if (!(pi[0].revents & ZMQ_POLLIN))
            continue;
        static char buf[VR_WIRE_MAX_BYTES];
        static vr_msg m, d;
        int n = zmq_recv(sock, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0)
            continue;
        int rc = vr_msg_decode(buf, n > (int)sizeof buf ? sizeof buf : (size_t)n, &m);
        if (rc) {
            fail(sock, 0, rc, "bad message from coordinator: %s", m.text);
            continue;
        }
        uint64_t pub_turn = 0;
        vr_arena_published(arena, &pub_turn, NULL);
        switch (m.type) {
        case VR_MSG_TURN: {
            if (m.turn != pub_turn + 1) {
                char t[64];
                snprintf(t, sizeof t, "%llu", (unsigned long long)pub_turn);
                fail(sock, m.turn, -VR_EBADARG, "TURN asked for a turn that does not follow the published turn %s", t);
                break;
            }
            uint64_t t0 = now_ns();
            if (test_delay_ms) /* test-only: a turn that takes real time, so kills land mid-turn */
                usleep((useconds_t)test_delay_ms * 1000u);
            vr_turn_stats st;
            memset(&d, 0, sizeof d);
            memset(&st, 0, sizeof st);
            rc = compute_turn(o, arena, sim, pl, &m, &d, &st);
            if (rc) {
                char why[300];
                snprintf(why, sizeof why, "%s%s%s", vr_strerror(rc), d.text[0] ? ": " : "", d.text);
                fail(sock, m.turn, rc, "turn failed: %s", why);
                break;
            }
            pending = m.turn;
            pending_hash = vr_arena_hash(arena);
            vr_arena_computed(arena, m.turn, pending_hash); /* adoptable if this process dies now */
            have_pending = true;
            d.type = VR_MSG_DONE, d.turn = m.turn, d.hash = pending_hash;
            d.entities = st.entities, d.turn_ns = now_ns() - t0;
            d.nresults = m.ncmds;
            memcpy(d.metrics, st.m, sizeof d.metrics);
            send_msg(sock, &d);
            test_die_after_done(o->universe, m.turn);
            break;
        }
        case VR_MSG_COMMIT:
            if (!have_pending && m.turn == pub_turn + 1) {
                /* sent to the process this one replaced, before the
                 * coordinator saw the HELLO: it answers with ADOPT */
                fprintf(stderr, "vr-worker u%u: COMMIT %llu meant for the previous process ignored\n",
                        o->universe, (unsigned long long)m.turn);
                break;
            }
            if (!have_pending || m.turn != pending) {
                char t[64];
                snprintf(t, sizeof t, "%llu", (unsigned long long)m.turn);
                fail(sock, m.turn, -VR_EBADARG, "COMMIT of turn %s that was not computed here", t);
                break;
            }
            vr_arena_publish(arena, pending, pending_hash);
            have_pending = false;
            vr_plink_commit(pl, pending);
            publish_events(o, arena, &ev, pub); /* committed and visible: now say what happened */
            break;
        case VR_MSG_PING: {
            vr_msg p = {.type = VR_MSG_PONG, .turn = pub_turn};
            send_msg(sock, &p);
            break;
        }
        case VR_MSG_ADOPT: /* committed while this worker was down: publish what it had computed */
            if (have_pending) {
                fail(sock, m.turn, -VR_EBADARG, "ADOPT while a computed turn waits for its COMMIT%s", "");
                break;
            }
            rc = vr_arena_adopt(arena, m.turn, m.hash);
            if (rc) {
                char t[64];
                snprintf(t, sizeof t, "%llu (published %llu)", (unsigned long long)m.turn, (unsigned long long)pub_turn);
                fail(sock, m.turn, rc, "cannot adopt turn %s", t);
                break;
            }
            vr_plink_commit(pl, m.turn);
            {
                vr_msg p = {.type = VR_MSG_PONG, .turn = m.turn};
                send_msg(sock, &p);
            }
            break;
        case VR_MSG_RESEND: /* a peer restarted: it needs this turn's batches again */
            vr_plink_resend(pl, m.universe, m.turn);
            break;
        case VR_MSG_STOP:
            vr_events_fini(&ev);
            return 0;
        default:
            fail(sock, 0, -VR_EBADMSG, "unexpected message %s from coordinator", vr_msg_name(m.type));
        }
    }
    vr_events_fini(&ev);
    return 0;
}

int main(int argc, char **argv)
{
    wopts o = {.node = -1, .sc = {.factions = 4}, .universes = 1, .timeout = 10.0};
    static const struct option lo[] = {
        {"name", 1, 0, 'n'}, {"universe", 1, 0, 'u'}, {"endpoint", 1, 0, 'e'},
        {"cluster-id", 1, 0, 'i'}, {"cpus", 1, 0, 'c'}, {"node", 1, 0, 'N'},
        {"systems", 1, 0, 's'}, {"fleets", 1, 0, 'f'}, {"factions", 1, 0, 'F'},
        {"parent", 1, 0, 'p'}, {"content", 1, 0, 'C'}, {"content-hash", 1, 0, 'H'}, {"events", 1, 0, 'E'},
        {"universes", 1, 0, 'U'}, {"portals", 1, 0, 'P'}, {"universe-names", 1, 0, 'M'},
        {"portal-endpoints", 1, 0, 'X'}, {"portal-hash", 1, 0, 'Y'}, {"worker-timeout", 1, 0, 'T'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n': o.name = optarg; break;
        case 'u': o.universe = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'e': o.endpoint = optarg; break;
        case 'i': o.cluster_id = strtoull(optarg, NULL, 16); break;
        case 'c': o.cpus = optarg; break;
        case 'N': o.node = atoi(optarg); break;
        case 's': o.sc.systems = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'f': o.sc.fleets = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'F': o.sc.factions = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'p': o.parent = (pid_t)atoi(optarg); break;
        case 'C': o.content_dir = optarg; break;
        case 'H': o.content_hash = strtoull(optarg, NULL, 16); break;
        case 'E': o.events = optarg; break;
        case 'U': o.universes = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'P': o.portals = optarg; break;
        case 'M': o.universe_names = optarg; break;
        case 'X': o.portal_endpoints = optarg; break;
        case 'Y': o.portal_hash = strtoull(optarg, NULL, 16); break;
        case 'T': o.timeout = strtod(optarg, NULL); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!o.name || !o.endpoint || vr_name_check(o.name) || !o.sc.systems) {
        usage(stderr);
        return 2;
    }
    if (o.parent) {
        /* die with the coordinator; the check closes the race with an
         * already-dead parent */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != o.parent)
            return 1;
    }
    const char *delay = getenv("VR_TEST_TURN_DELAY_MS");
    if (delay && *delay)
        test_delay_ms = (unsigned)strtoul(delay, NULL, 10);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char seg[VR_SEGNAME_MAX], why[256] = "";
    vr_segname(seg, sizeof seg, o.name, (int)o.universe);
    vr_arena *arena = NULL;
    int rc = vr_arena_attach(&arena, seg, true, o.cluster_id, why, sizeof why);
    if (rc) {
        fprintf(stderr, "vr-worker u%u: cannot attach arena %s: %s (%s)\n", o.universe, seg,
                why[0] ? why : vr_strerror(rc), vr_strerror(rc));
        return 1;
    }
    o.sc.seed = vr_arena_header(arena)->seed;
    o.sc.universe = o.universe;
    uint32_t flags = bind_self(&o, arena);
    vr_arena_prefault(arena);

    /* the same content as the coordinator, or nothing runs */
    vr_content *content = NULL;
    char cerr[512] = "";
    rc = o.content_dir ? vr_content_load(&content, o.content_dir, cerr, sizeof cerr)
                       : vr_content_builtin(&content, o.sc.seed);
    if (rc == 0 && o.content_hash && vr_content_hash(content) != o.content_hash) {
        snprintf(cerr, sizeof cerr, "content hash %016llx differs from the coordinator's %016llx "
                 "(did the pack change?)", (unsigned long long)vr_content_hash(content),
                 (unsigned long long)o.content_hash);
        rc = -VR_ECONTENT;
    }
    if (rc) {
        fprintf(stderr, "vr-worker u%u: content %s: %s\n", o.universe, o.content_dir ? o.content_dir : "(built-in)",
                cerr[0] ? cerr : vr_strerror(rc));
        vr_content_destroy(&content);
        vr_arena_detach(&arena);
        return 1;
    }
    o.sc.content = content;
    /* the coordinator's portal network, or nothing runs */
    vr_portal_net *net = NULL;
    char perr[512] = "";
    vr_portal_config pcfg = {.universes = o.universes ? o.universes : 1, .seed = o.sc.seed, .spec = o.portals,
                             .names = o.universe_names};
    rc = vr_portal_net_new(&net, &pcfg, perr, sizeof perr);
    if (rc == 0 && o.portal_hash && vr_portal_net_hash(net) != o.portal_hash) {
        snprintf(perr, sizeof perr, "portal network hash %016llx differs from the coordinator's %016llx "
                 "(did a portal file change?)", (unsigned long long)vr_portal_net_hash(net),
                 (unsigned long long)o.portal_hash);
        rc = -VR_ECONTENT;
    }
    if (rc) {
        fprintf(stderr, "vr-worker u%u: portals %s: %s\n", o.universe, o.portals ? o.portals : "default", perr);
        vr_portal_net_destroy(&net);
        vr_content_destroy(&content);
        vr_arena_detach(&arena);
        return 1;
    }
    o.sc.portals = net;
    vr_sim *sim = NULL;
    rc = vr_sim_new(&sim, &o.sc);
    uint64_t turn = 0, hash = 0;
    if (rc == 0 && vr_arena_published(arena, &turn, &hash) == -VR_ENOTYET) {
        vr_cols cols;
        rc = vr_arena_begin(arena, &cols);
        if (rc == 0)
            rc = vr_sim_genesis(sim, &cols);
        if (rc == 0) {
            hash = vr_arena_hash(arena);
            rc = vr_arena_publish(arena, 0, hash);
        }
    }
    if (rc) {
        fprintf(stderr, "vr-worker u%u: cannot build turn 0: %s\n", o.universe, vr_strerror(rc));
        vr_sim_destroy(&sim);
        vr_portal_net_destroy(&net);
        vr_content_destroy(&content);
        vr_arena_detach(&arena);
        return 1;
    }

    void *ctx = zmq_ctx_new();
    vr_plink *pl = NULL;
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    char ident[16];
    int idlen = snprintf(ident, sizeof ident, "u%u", o.universe);
    int linger = 1000;
    zmq_setsockopt(sock, ZMQ_ROUTING_ID, ident, (size_t)idlen);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    /* the event socket: bound before HELLO, so it exists once the cluster runs */
    void *pub = NULL;
    if (o.events && *o.events) {
        int hwm = VR_EVENTS_SNDHWM, plinger = 200; /* at exit, a moment for the last turn's events */
        pub = zmq_socket(ctx, ZMQ_PUB);
        zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(pub, ZMQ_LINGER, &plinger, sizeof plinger);
        if (zmq_bind(pub, o.events) < 0) {
            fprintf(stderr, "vr-worker u%u: zmq_bind(%s) for events: %s; is another process using it?\n",
                    o.universe, o.events, zmq_strerror(errno));
            zmq_close(pub);
            pub = NULL;
            rc = 1;
        }
    }
    if (rc == 0) {
        vr_plink_opts po = {.ctx = ctx, .me = o.universe, .universes = pcfg.universes, .net = net,
                            .endpoints = o.portal_endpoints, .sim = sim, .arena = arena};
        if (vr_plink_new(&pl, &po))
            rc = 1; /* named on stderr */
    }
    if (rc) {
        /* reported above */
    } else if (zmq_connect(sock, o.endpoint) < 0) {
        fprintf(stderr, "vr-worker u%u: zmq_connect(%s): %s\n", o.universe, o.endpoint, zmq_strerror(errno));
        rc = 1;
    } else {
        vr_view v;
        uint64_t ents = 0;
        if (vr_arena_read_begin(arena, &v) == 0)
            ents = (uint64_t)v.tables[VR_TAB_fleets].live + v.tables[VR_TAB_systems].live;
        vr_msg hello = {.type = VR_MSG_HELLO, .universe = o.universe, .pid = (int32_t)getpid(),
                        .flags = flags, .turn = turn, .hash = hash, .entities = ents};
        send_msg(sock, &hello);
        vr_plink_resend(pl, UINT32_MAX, turn); /* a restarted worker: its last committed batches again */
        rc = serve(&o, arena, sim, sock, pub, pl) ? 1 : 0;
    }
    if (pub) {
        zmq_close(pub);
        if (strncmp(o.events, "ipc://", 6) == 0) /* ZeroMQ leaves the socket file */
            unlink(o.events + 6);
    }
    vr_plink_destroy(&pl);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    vr_sim_destroy(&sim);
    vr_portal_net_destroy(&net);
    vr_content_destroy(&content);
    vr_arena_detach(&arena);
    return rc;
}
