/* portal_io.c: a worker's portal transport: batches straight to the peer
 * workers over ZeroMQ (PUSH -> PULL), kept until their turn commits.
 *
 * Each worker binds one PULL socket (its endpoint, named from the cluster
 * name by the coordinator: ipc://$VR_RUNDIR/vr-NAME-uK.portal) and connects
 * one PUSH socket to every peer (a universe joined to it by a portal).
 * After computing turn n it sends one batch per peer, empty ones too; before
 * turn n+1 it waits until it holds a turn-n batch from every peer.
 *
 * Exactly-once.  The outbox is part of the sender's arena, so a committed
 * turn's batches can always be rebuilt from it (vr_plink_resend: on a
 * RESEND from the coordinator, and at start for the last committed turn).
 * The receiver keeps the batches by (source, turn): a copy that comes again
 * must be byte-identical (else it is reported and rejected), a batch of a
 * turn whose arrivals were already committed is a duplicate and ignored.
 * Anything malformed, for another universe, from a universe that is not a
 * peer, or failing the checks against this universe (links, designs,
 * factions, counts) is rejected: a line on stderr, the counter
 * (metric portal_rejected), and nothing changes.
 */
#include "portal_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define SLOTS 4 /* batches kept per source: turns in flight */

typedef struct slot {
    bool used;
    uint64_t turn;
    char *bytes;
    size_t len;
    vr_portal_batch b;
} slot;

typedef struct sent {
    bool used;
    uint64_t turn;
    char *bytes;
    size_t len;
} sent;

struct vr_plink {
    vr_plink_opts o;
    void *in;
    void **out;        /* per universe: PUSH to a peer, or NULL */
    bool *peer;
    slot *slots;       /* universes * SLOTS */
    sent *kept;        /* per universe: the batch of the computed, uncommitted turn */
    uint64_t floor;    /* batches of turns below this were applied and committed */
    uint64_t rejected;
    char *buf;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The endpoint of universe u in the comma list, into out. */
static int endpoint_of(const char *list, uint32_t u, char *out, size_t len)
{
    const char *p = list;
    for (uint32_t k = 0; k < u && p; k++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p || !*p)
        return -1;
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, p, n);
    out[n] = 0;
    return 0;
}

int vr_plink_new(vr_plink **out, const vr_plink_opts *o)
{
    *out = NULL;
    vr_plink *pl = calloc(1, sizeof *pl);
    if (!pl)
        return -ENOMEM;
    pl->o = *o;
    pl->out = calloc(o->universes, sizeof *pl->out);
    pl->peer = calloc(o->universes, sizeof *pl->peer);
    pl->slots = calloc((size_t)o->universes * SLOTS, sizeof *pl->slots);
    pl->kept = calloc(o->universes, sizeof *pl->kept);
    pl->buf = malloc(VR_PORTAL_BATCH_MAX_BYTES);
    if (!pl->out || !pl->peer || !pl->slots || !pl->kept || !pl->buf) {
        vr_plink_destroy(&pl);
        return -ENOMEM;
    }
    uint32_t npeers = 0;
    for (uint32_t u = 0; u < o->universes; u++)
        npeers += pl->peer[u] = vr_portal_net_peers(o->net, o->me, u);
    if (npeers == 0) {
        *out = pl;
        return 0;
    }
    char ep[512];
    if (!o->endpoints || endpoint_of(o->endpoints, o->me, ep, sizeof ep)) {
        fprintf(stderr, "vr-worker u%u: no portal endpoint for this universe in \"%s\"; pass --portal-endpoints\n",
                o->me, o->endpoints ? o->endpoints : "");
        vr_plink_destroy(&pl);
        return -VR_EBADARG;
    }
    int64_t maxmsg = VR_PORTAL_BATCH_MAX_BYTES; /* a bigger message drops its sender's connection */
    int linger = 1000, hwm = 10000;
    pl->in = zmq_socket(o->ctx, ZMQ_PULL);
    zmq_setsockopt(pl->in, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(pl->in, ZMQ_RCVHWM, &hwm, sizeof hwm);
    int zero = 0;
    zmq_setsockopt(pl->in, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(pl->in, ep) < 0) {
        fprintf(stderr, "vr-worker u%u: zmq_bind(%s) for portal batches: %s; is another process using it?\n",
                o->me, ep, zmq_strerror(errno));
        vr_plink_destroy(&pl);
        return -VR_EBADARG;
    }
    for (uint32_t u = 0; u < o->universes; u++) {
        if (!pl->peer[u])
            continue;
        if (endpoint_of(o->endpoints, u, ep, sizeof ep)) {
            fprintf(stderr, "vr-worker u%u: no portal endpoint for peer u%u in --portal-endpoints\n", o->me, u);
            vr_plink_destroy(&pl);
            return -VR_EBADARG;
        }
        pl->out[u] = zmq_socket(o->ctx, ZMQ_PUSH);
        zmq_setsockopt(pl->out[u], ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(pl->out[u], ZMQ_SNDHWM, &hwm, sizeof hwm);
        /* a restarted peer binds its endpoint again within milliseconds:
         * reconnect quickly (ZeroMQ's default waits 100 ms) */
        int ivl = 5, ivl_max = 200;
        zmq_setsockopt(pl->out[u], ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt(pl->out[u], ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
        if (zmq_connect(pl->out[u], ep) < 0) {
            fprintf(stderr, "vr-worker u%u: zmq_connect(%s) to peer u%u: %s\n", o->me, ep, u, zmq_strerror(errno));
            vr_plink_destroy(&pl);
            return -VR_EBADARG;
        }
    }
    *out = pl;
    return 0;
}

void vr_plink_destroy(vr_plink **p)
{
    if (!p || !*p)
        return;
    vr_plink *pl = *p;
    if (pl->in)
        zmq_close(pl->in);
    for (uint32_t u = 0; pl->out && u < pl->o.universes; u++)
        if (pl->out[u])
            zmq_close(pl->out[u]);
    for (size_t k = 0; pl->slots && k < (size_t)pl->o.universes * SLOTS; k++) {
        free(pl->slots[k].bytes);
        vr_portal_batch_fini(&pl->slots[k].b);
    }
    for (uint32_t u = 0; pl->kept && u < pl->o.universes; u++)
        free(pl->kept[u].bytes);
    free(pl->out), free(pl->peer), free(pl->slots), free(pl->kept), free(pl->buf);
    free(pl);
    *p = NULL;
}

void *vr_plink_socket(const vr_plink *pl)
{
    return pl ? pl->in : NULL;
}

uint64_t vr_plink_rejected(const vr_plink *pl)
{
    return pl ? pl->rejected : 0;
}

/* The committed buffer of the arena as columns (read only: the worker is
 * its only writer and writes the other buffer). */
static int published_cols(const vr_arena *a, vr_cols *c, uint64_t *turn)
{
    vr_view v;
    int rc = vr_arena_read_begin(a, &v);
    if (rc)
        return rc;
    memset(c, 0, sizeof *c);
#define VR_TABLE(t, doc)
#define VR_COLUMN(t, n, ct, dt, l, doc) c->t##_##n = (ct *)vr_view_column(a, &v, VR_COL_##t##_##n, NULL);
#include "components.def"
#undef VR_TABLE
#undef VR_COLUMN
    for (uint32_t t = 0; t < VR_NTABLES; t++)
        c->gen[t] = (uint32_t *)vr_view_column(a, &v, VR_COL_GEN(t), NULL);
    c->tables = (vr_tabstate *)v.tables;
    *turn = v.turn;
    return 0;
}

static void reject(vr_plink *pl, const char *why, uint32_t src, uint64_t turn)
{
    pl->rejected++;
    if (src == UINT32_MAX)
        fprintf(stderr, "vr-worker u%u: portal batch rejected (undecodable, sender unknown): %s\n", pl->o.me, why);
    else
        fprintf(stderr, "vr-worker u%u: portal batch rejected (source u%u, turn %llu): %s\n", pl->o.me, src,
                (unsigned long long)turn, why);
}

static void take(vr_plink *pl, const char *data, size_t len)
{
    char err[256] = "";
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    int rc = vr_portal_batch_decode(data, len, &b, err, sizeof err);
    if (rc) {
        reject(pl, err, UINT32_MAX, 0);
        vr_portal_batch_fini(&b);
        return;
    }
    uint32_t src = b.source;
    uint64_t turn = b.turn;
    if (b.dest != pl->o.me) {
        snprintf(err, sizeof err, "it is for universe %u, this is universe %u", b.dest, pl->o.me);
        goto rej;
    }
    if (src >= pl->o.universes || !pl->peer[src]) {
        snprintf(err, sizeof err, "universe %u has no portal to this one", src);
        goto rej;
    }
    if (turn == 0) {
        snprintf(err, sizeof err, "turn 0 sends nothing");
        goto rej;
    }
    vr_cols pc;
    uint64_t pturn = 0;
    if (published_cols(pl->o.arena, &pc, &pturn) == 0 &&
        vr_portal_batch_check(pl->o.sim, &pc, &b, pl->o.me, turn + 1, err, sizeof err))
        goto rej;
    slot *s = &pl->slots[(size_t)src * SLOTS], *free_slot = NULL, *oldest = NULL;
    for (int k = 0; k < SLOTS; k++) {
        if (s[k].used && s[k].turn == turn) {
            if (s[k].len != len || memcmp(s[k].bytes, data, len)) {
                snprintf(err, sizeof err, "differs from the copy of that batch already received (%zu vs %zu bytes)",
                         len, s[k].len);
                goto rej;
            }
            vr_portal_batch_fini(&b); /* the same batch again: exactly once */
            return;
        }
        if (!s[k].used && !free_slot)
            free_slot = &s[k];
        if (s[k].used && (!oldest || s[k].turn < oldest->turn))
            oldest = &s[k];
    }
    if (turn < pl->floor) { /* its arrivals are committed already: a duplicate */
        vr_portal_batch_fini(&b);
        return;
    }
    slot *to = free_slot ? free_slot : oldest;
    char *copy = malloc(len);
    if (!copy) {
        snprintf(err, sizeof err, "out of memory");
        goto rej;
    }
    memcpy(copy, data, len);
    free(to->bytes);
    vr_portal_batch_fini(&to->b);
    *to = (slot){.used = true, .turn = turn, .bytes = copy, .len = len, .b = b};
    return;
rej:
    reject(pl, err, src, turn);
    vr_portal_batch_fini(&b);
}

void vr_plink_drain(vr_plink *pl)
{
    if (!pl || !pl->in)
        return;
    for (;;) {
        int n = zmq_recv(pl->in, pl->buf, VR_PORTAL_BATCH_MAX_BYTES, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        if ((size_t)n > VR_PORTAL_BATCH_MAX_BYTES) {
            reject(pl, "message larger than the batch limit", UINT32_MAX, 0);
            continue;
        }
        take(pl, pl->buf, (size_t)n);
    }
}

static slot *find(vr_plink *pl, uint32_t src, uint64_t turn)
{
    slot *s = &pl->slots[(size_t)src * SLOTS];
    for (int k = 0; k < SLOTS; k++)
        if (s[k].used && s[k].turn == turn)
            return &s[k];
    return NULL;
}

int vr_plink_wait(vr_plink *pl, uint64_t turn, uint64_t timeout_ms, volatile sig_atomic_t *stop, char *err,
                  size_t errlen)
{
    if (!pl || !pl->in || turn == 0)
        return 0;
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        vr_plink_drain(pl);
        uint32_t missing = UINT32_MAX;
        for (uint32_t u = 0; u < pl->o.universes && missing == UINT32_MAX; u++)
            if (pl->peer[u] && !find(pl, u, turn))
                missing = u;
        if (missing == UINT32_MAX)
            return 0;
        uint64_t now = now_ms();
        if (now >= deadline || (stop && *stop)) {
            snprintf(err, errlen, "no portal batch of turn %llu from universe %u within %llu ms",
                     (unsigned long long)turn, missing, (unsigned long long)timeout_ms);
            return -VR_ETIMEOUT;
        }
        zmq_pollitem_t pi = {.socket = pl->in, .events = ZMQ_POLLIN};
        uint64_t left = deadline - now;
        zmq_poll(&pi, 1, (long)(left < 100 ? left : 100));
    }
}

uint32_t vr_plink_batches(vr_plink *pl, uint64_t turn, vr_portal_batch **out, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t u = 0; pl && u < pl->o.universes && n < cap; u++) {
        slot *s = pl->peer[u] ? find(pl, u, turn) : NULL;
        if (s)
            out[n++] = &s->b;
    }
    return n;
}

static int send_bytes(vr_plink *pl, uint32_t u, const char *bytes, size_t len)
{
    if (zmq_send(pl->out[u], bytes, len, ZMQ_DONTWAIT) < 0) {
        fprintf(stderr, "vr-worker u%u: portal batch to u%u not sent: %s (it will be re-sent on request)\n",
                pl->o.me, u, zmq_strerror(errno));
        return -errno;
    }
    return 0;
}

uint32_t vr_plink_send(vr_plink *pl, const vr_cols *c, uint64_t turn, vr_portal_stat *st, uint32_t cap)
{
    uint32_t n = 0;
    if (!pl)
        return 0;
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    for (uint32_t u = 0; u < pl->o.universes; u++) {
        if (!pl->peer[u] || !pl->out[u])
            continue;
        char *bytes = NULL;
        size_t len = 0;
        if (vr_portal_batch_from_outbox(&b, c, pl->o.me, u, turn) || vr_portal_batch_encode(&b, &bytes, &len)) {
            fprintf(stderr, "vr-worker u%u: out of memory encoding the portal batch for u%u\n", pl->o.me, u);
            continue;
        }
        free(pl->kept[u].bytes);
        pl->kept[u] = (sent){.used = true, .turn = turn, .bytes = bytes, .len = len};
        send_bytes(pl, u, bytes, len);
        if (n < cap) {
            vr_portal_batch_totals(&b, &st[n]);
            st[n].peer = u, st[n].dir = 0, st[n].turn = turn;
            n++;
        }
    }
    vr_portal_batch_fini(&b);
    return n;
}

void vr_plink_commit(vr_plink *pl, uint64_t turn)
{
    if (!pl)
        return;
    /* turn's arrivals used the batches of turn - 1: those and older are done */
    pl->floor = turn;
    for (size_t k = 0; k < (size_t)pl->o.universes * SLOTS; k++)
        if (pl->slots[k].used && pl->slots[k].turn < turn) {
            free(pl->slots[k].bytes);
            vr_portal_batch_fini(&pl->slots[k].b);
            memset(&pl->slots[k], 0, sizeof pl->slots[k]);
        }
}

int vr_plink_resend(vr_plink *pl, uint32_t dest, uint64_t turn)
{
    if (!pl || turn == 0)
        return 0;
    int rc = 0;
    vr_cols pc;
    uint64_t pturn = 0;
    bool have_pub = published_cols(pl->o.arena, &pc, &pturn) == 0 && pturn == turn;
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    for (uint32_t u = 0; u < pl->o.universes; u++) {
        if (!pl->peer[u] || !pl->out[u] || (dest != UINT32_MAX && u != dest))
            continue;
        if (pl->kept[u].used && pl->kept[u].turn == turn) {
            send_bytes(pl, u, pl->kept[u].bytes, pl->kept[u].len);
        } else if (have_pub) {
            char *bytes = NULL;
            size_t len = 0;
            if (vr_portal_batch_from_outbox(&b, &pc, pl->o.me, u, turn) == 0 &&
                vr_portal_batch_encode(&b, &bytes, &len) == 0)
                send_bytes(pl, u, bytes, len);
            free(bytes);
        } else {
            fprintf(stderr, "vr-worker u%u: cannot re-send turn %llu to u%u: neither computed nor committed here\n",
                    pl->o.me, (unsigned long long)turn, u);
            rc = -VR_ENOTFOUND;
        }
    }
    vr_portal_batch_fini(&b);
    return rc;
}
