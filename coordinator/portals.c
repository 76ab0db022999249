/* portals.c: the coordinator's cluster-wide portal conservation audit.
 *
 * Every turn each worker reports in DONE(n) what it sent through portals in
 * turn n, per destination, and what arrived at the start of turn n, per
 * source (the sources' turn n - 1).  Once every universe's DONE(n) is in,
 * what universe s sent to d in turn n - 1 must equal what d says arrived from
 * s in turn n: fleets, ships and each good of the cargo.  A difference is a
 * violation, reported with the universes and quantities (the coordinator
 * logs it, publishes an audit event and counts it in the destination's
 * portal_violations metric); nothing is ever corrected.
 */
#include "vr_coord.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cell {
    bool seen;
    uint64_t turn, fleets, ships;
    int64_t res[4];
} cell;

struct vr_xfer {
    uint32_t n;
    cell *sent_prev, *sent, *recv; /* [src * n + dst] */
    uint64_t fleets_out, ships_out, fleets_in, ships_in;
};

int vr_xfer_new(vr_xfer **out, uint32_t universes)
{
    *out = NULL;
    vr_xfer *x = calloc(1, sizeof *x);
    size_t nn = (size_t)universes * universes;
    if (!x)
        return -ENOMEM;
    x->n = universes;
    x->sent_prev = calloc(nn, sizeof *x->sent_prev);
    x->sent = calloc(nn, sizeof *x->sent);
    x->recv = calloc(nn, sizeof *x->recv);
    if (!x->sent_prev || !x->sent || !x->recv) {
        vr_xfer_destroy(&x);
        return -ENOMEM;
    }
    *out = x;
    return 0;
}

void vr_xfer_destroy(vr_xfer **x)
{
    if (!x || !*x)
        return;
    free((*x)->sent_prev), free((*x)->sent), free((*x)->recv);
    free(*x);
    *x = NULL;
}

void vr_xfer_record(vr_xfer *x, uint32_t u, uint64_t turn, const vr_portal_stat *st, uint32_t n)
{
    (void)turn;
    if (!x || u >= x->n)
        return;
    for (uint32_t i = 0; i < n; i++) {
        const vr_portal_stat *p = &st[i];
        if (p->peer >= x->n)
            continue;
        /* each cell is written by one universe only, once per (peer, dir): a
         * DONE of the same turn that comes again (a worker restarted and
         * replayed it) replaces it instead of counting twice */
        cell *c = p->dir == 0 ? &x->sent[(size_t)u * x->n + p->peer] : &x->recv[(size_t)p->peer * x->n + u];
        c->seen = true;
        c->turn = p->turn;
        c->fleets = p->fleets;
        c->ships = p->ships;
        for (int r = 0; r < 4; r++)
            c->res[r] = p->res[r];
    }
}

uint32_t vr_xfer_check(vr_xfer *x, uint64_t turn, vr_xfer_report *report, void *arg)
{
    uint32_t bad = 0;
    if (!x)
        return 0;
    for (uint32_t s = 0; s < x->n; s++)
        for (uint32_t d = 0; d < x->n; d++) {
            const cell *o = &x->sent_prev[(size_t)s * x->n + d], *i = &x->recv[(size_t)s * x->n + d];
            if (o->fleets == i->fleets && o->ships == i->ships && !memcmp(o->res, i->res, sizeof o->res))
                continue;
            char why[400];
            snprintf(why, sizeof why,
                     "portal conservation: universe %u sent %" PRIu64 " fleets, %" PRIu64 " ships, cargo "
                     "[%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] to universe %u in turn %" PRIu64
                     ", which received %" PRIu64 " fleets, %" PRIu64 " ships, cargo [%" PRId64 ", %" PRId64
                     ", %" PRId64 ", %" PRId64 "] at the start of turn %" PRIu64,
                     s, o->fleets, o->ships, o->res[0], o->res[1], o->res[2], o->res[3], d, turn - 1, i->fleets,
                     i->ships, i->res[0], i->res[1], i->res[2], i->res[3], turn);
            if (report)
                report(arg, s, d, why);
            bad++;
        }
    for (size_t k = 0; k < (size_t)x->n * x->n; k++) {
        x->fleets_out += x->sent[k].fleets, x->ships_out += x->sent[k].ships;
        x->fleets_in += x->recv[k].fleets, x->ships_in += x->recv[k].ships;
    }
        /* roll over: this turn's sends are checked against the next turn's arrivals */
    cell *t = x->sent_prev;
    x->sent_prev = x->sent;
    x->sent = t;
    size_t nn = (size_t)x->n * x->n;
    memset(x->sent, 0, nn * sizeof *x->sent);
    memset(x->recv, 0, nn * sizeof *x->recv);
    return bad;
}

void vr_xfer_totals(const vr_xfer *x, uint64_t *fleets_out, uint64_t *ships_out, uint64_t *fleets_in,
                    uint64_t *ships_in)
{
    *fleets_out = x ? x->fleets_out : 0, *ships_out = x ? x->ships_out : 0;
    *fleets_in = x ? x->fleets_in : 0, *ships_in = x ? x->ships_in : 0;
}
