/* test_portal_io.c: a worker's portal transport (workers/portal_io.c) over
 * real ZeroMQ ipc sockets: batches sent after a turn and awaited before the
 * next, exactly-once (re-sends from the kept copy and from the committed
 * outbox are recognised as the same batch; a differing copy is rejected),
 * hostile bytes rejected and counted, a missing peer named on timeout. */
#include "portal_io.h"
#include "vr_test_world.h"

#include <unistd.h>
#include <zmq.h>

typedef struct world {
    char seg[64];
    vr_arena *a;
    vr_cols c;
    vr_sim *sim;
} world;

static vr_portal_net *net2;
static char eps[512], ep1[256];

static void make(world *w, uint32_t u)
{
    vr_scenario s = {.seed = 5, .universe = u, .systems = 64, .fleets = 200, .factions = 4, .portals = net2};
    char tag[16];
    snprintf(tag, sizeof tag, "pio%u", u);
    vt_world_make(tag, &s, w->seg, sizeof w->seg, &w->a, &w->c, &w->sim);
    ck_assert_int_eq(vr_arena_publish(w->a, 0, vr_arena_hash(w->a)), 0);
}

static void drop(world *w) { vt_world_drop(w->seg, &w->a, &w->sim); }

/* Turn 1 of u0: `n` fleets enter the portal to u1 (work buffer, not published). */
static void turn1(world *w, int n)
{
    ck_assert_int_eq(vr_arena_begin(w->a, &w->c), 0);
    vr_cols *c = &w->c;
    uint32_t sys = c->portals_system[0];
    for (uint32_t f = 0; f < c->tables[VR_TAB_fleets].count && n > 0; f++) {
        if (!(c->gen[VR_TAB_fleets][f] & 1))
            continue;
        vt_place(c, f, sys, sys, sys, 0.0f);
        c->fleets_portal[f] = 1;
        n--;
    }
    vr_turn_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(vr__portal_enter(w->sim, c, 1, &st), 0);
}

static vr_plink *link_of(void *ctx, world *w, uint32_t me)
{
    vr_plink_opts o = {.ctx = ctx, .me = me, .universes = 2, .net = net2, .endpoints = eps, .sim = w->sim,
                       .arena = w->a};
    vr_plink *pl = NULL;
    ck_assert_int_eq(vr_plink_new(&pl, &o), 0);
    ck_assert_ptr_nonnull(vr_plink_socket(pl));
    return pl;
}

static void settle(vr_plink *pl)
{
    for (int k = 0; k < 20; k++) { /* ipc delivery is asynchronous */
        usleep(5000);
        vr_plink_drain(pl);
    }
}

START_TEST(test_send_wait_exactly_once)
{
    char err[512];
    ck_assert_int_eq(vr_portal_net_new(&net2, &(vr_portal_config){.universes = 2, .seed = 5}, err, sizeof err), 0);
    snprintf(eps, sizeof eps, "ipc:///tmp/vr-tpio-%d-u0,ipc:///tmp/vr-tpio-%d-u1", (int)getpid(), (int)getpid());
    snprintf(ep1, sizeof ep1, "ipc:///tmp/vr-tpio-%d-u1", (int)getpid());
    world w0, w1;
    make(&w0, 0);
    make(&w1, 1);
    void *ctx = zmq_ctx_new();
    vr_plink *p0 = link_of(ctx, &w0, 0), *p1 = link_of(ctx, &w1, 1);
    turn1(&w0, 4);

    /* sent after the turn, awaited before the next */
    vr_portal_stat st[4];
    ck_assert_uint_eq(vr_plink_send(p0, &w0.c, 1, st, 4), 1);
    ck_assert_uint_eq(st[0].peer, 1);
    ck_assert_uint_eq(st[0].fleets, 4);
    ck_assert_int_eq(vr_plink_wait(p1, 1, 5000, NULL, err, sizeof err), 0);
    vr_portal_batch *in[2];
    ck_assert_uint_eq(vr_plink_batches(p1, 1, in, 2), 1);
    ck_assert_uint_eq(in[0]->nfleets, 4);
    ck_assert_uint_eq(in[0]->source, 0);
    uint64_t first = in[0]->fleets[0].fleet;

    /* re-sent from the kept copy: the same batch, no second copy, nothing rejected */
    ck_assert_int_eq(vr_plink_resend(p0, 1, 1), 0);
    settle(p1);
    ck_assert_uint_eq(vr_plink_rejected(p1), 0);
    ck_assert_uint_eq(vr_plink_batches(p1, 1, in, 2), 1);

    /* u0 commits turn 1 and restarts: its new link re-sends from the arena */
    ck_assert_int_eq(vr_arena_publish(w0.a, 1, vr_arena_hash(w0.a)), 0);
    vr_plink_destroy(&p0);
    p0 = link_of(ctx, &w0, 0);
    ck_assert_int_eq(vr_plink_resend(p0, UINT32_MAX, 1), 0);
    settle(p1);
    ck_assert_uint_eq(vr_plink_rejected(p1), 0);
    ck_assert_uint_eq(vr_plink_batches(p1, 1, in, 2), 1);
    ck_assert_uint_eq(in[0]->fleets[0].fleet, first);
    /* a turn neither computed nor committed there cannot be re-sent */
    ck_assert_int_eq(vr_plink_resend(p0, 1, 7), -VR_ENOTFOUND);

    /* hostile input on the inbound socket: rejected, counted, nothing replaced */
    void *raw = zmq_socket(ctx, ZMQ_PUSH);
    ck_assert_int_eq(zmq_connect(raw, ep1), 0);
    static const char junk[] = "\x97\xa4VRPB\x01\x00\x01\x01\xdd\xff\xff\xff\xff";
    zmq_send(raw, junk, sizeof junk - 1, 0);
    zmq_send(raw, "hello", 5, 0);
    /* a differing batch claiming to be u0's turn 1 */
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    ck_assert_int_eq(vr_portal_batch_from_outbox(&b, &w0.c, 0, 1, 1), 0);
    b.nfleets = 3;
    char *bytes;
    size_t len;
    ck_assert_int_eq(vr_portal_batch_encode(&b, &bytes, &len), 0);
    zmq_send(raw, bytes, len, 0);
    free(bytes);
    /* one for another universe */
    b.dest = 0;
    ck_assert_int_eq(vr_portal_batch_encode(&b, &bytes, &len), 0);
    zmq_send(raw, bytes, len, 0);
    free(bytes);
    settle(p1);
    ck_assert_uint_eq(vr_plink_rejected(p1), 4);
    ck_assert_uint_eq(vr_plink_batches(p1, 1, in, 2), 1);
    ck_assert_uint_eq(in[0]->nfleets, 4);

    /* a missing peer is named on timeout */
    ck_assert_int_eq(vr_plink_wait(p1, 2, 100, NULL, err, sizeof err), -VR_ETIMEOUT);
    ck_assert_ptr_nonnull(strstr(err, "universe 0"));

    /* turn 2 committed: turn 1's batch is done, and a late copy is a duplicate */
    vr_plink_commit(p1, 2);
    ck_assert_uint_eq(vr_plink_batches(p1, 1, in, 2), 0);
    ck_assert_int_eq(vr_plink_resend(p0, 1, 1), 0);
    settle(p1);
    ck_assert_uint_eq(vr_plink_batches(p1, 1, in, 2), 0);
    ck_assert_uint_eq(vr_plink_rejected(p1), 4);

    vr_portal_batch_fini(&b);
    zmq_close(raw);
    vr_plink_destroy(&p0);
    vr_plink_destroy(&p1);
    zmq_ctx_term(ctx);
    unlink(ep1 + 6);
    char ep0[256];
    snprintf(ep0, sizeof ep0, "/tmp/vr-tpio-%d-u0", (int)getpid());
    unlink(ep0);
    drop(&w0);
    drop(&w1);
    vr_portal_net_destroy(&net2);
}
END_TEST

START_TEST(test_no_peers_no_sockets)
{
    char err[512];
    ck_assert_int_eq(vr_portal_net_new(&net2, &(vr_portal_config){.universes = 2, .seed = 5, .spec = "off"}, err,
                                       sizeof err), 0);
    world w;
    make(&w, 0);
    void *ctx = zmq_ctx_new();
    vr_plink_opts o = {.ctx = ctx, .me = 0, .universes = 2, .net = net2, .endpoints = NULL, .sim = w.sim,
                       .arena = w.a};
    vr_plink *pl = NULL;
    ck_assert_int_eq(vr_plink_new(&pl, &o), 0);
    ck_assert_ptr_null(vr_plink_socket(pl));
    ck_assert_int_eq(vr_plink_wait(pl, 5, 10, NULL, err, sizeof err), 0);
    vr_plink_destroy(&pl);
    zmq_ctx_term(ctx);
    drop(&w);
    vr_portal_net_destroy(&net2);
}
END_TEST

int main(void)
{
    vt_init();
    Suite *s = suite_create("portal_io");
    TCase *tc = tcase_create("transport");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_send_wait_exactly_once);
    tcase_add_test(tc, test_no_peers_no_sockets);
    tcase_add_unchecked_fixture(tc, NULL, vt_teardown);
    suite_add_tcase(s, tc);
    return vt_run(s);
}
