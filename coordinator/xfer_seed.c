/* xfer_seed.c: the portal audit of a cluster that starts on a committed turn.
 *
 * The audit compares what left in turn n - 1 (the senders' DONE(n - 1))
 * with what arrived in turn n.  A cluster started with --restore or
 * --resume never received the DONEs of its first committed turn, so its
 * first check would see fleets arrive that nobody sent.  What was sent in
 * that turn is still in each arena: the committed outbox (the transit
 * tables), the very rows the workers re-send as batches.  Their totals are
 * built here with the workers' own functions (vr_portal_batch_from_outbox,
 * vr_portal_batch_totals), so the seed equals what the DONEs said.
 */
#include "vr_coord.h"
#include "portal.h"

#include <errno.h>
#include <string.h>

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

int vr_xfer_seed_arenas(vr_xfer *x, vr_arena *const *arenas, uint32_t n, const struct vr_portal_net *net,
                        uint64_t turn)
{
    if (!x || !net || turn == 0)
        return 0;
    vr_portal_batch b;
    vr_portal_batch_init(&b);
    int rc = 0;
    for (uint32_t u = 0; u < n; u++) { /* a universe that cannot be read is skipped, the others seeded */
        vr_cols c;
        uint64_t at = 0;
        int e = published_cols(arenas[u], &c, &at);
        if (e == 0 && at != turn)
            e = -ESTALE;
        vr_portal_stat st[VR_PORTAL_STATS_MAX];
        uint32_t k = 0;
        for (uint32_t d = 0; e == 0 && d < n && k < VR_PORTAL_STATS_MAX; d++) {
            if (!vr_portal_net_peers(net, u, d))
                continue;
            if ((e = vr_portal_batch_from_outbox(&b, &c, u, d, turn)))
                break;
            vr_portal_batch_totals(&b, &st[k]);
            st[k].peer = d, st[k].dir = 0, st[k].turn = turn;
            k++;
        }
        if (e == 0)
            vr_xfer_seed(x, u, st, k);
        else if (rc == 0)
            rc = e;
    }
    vr_portal_batch_fini(&b);
    return rc;
}
