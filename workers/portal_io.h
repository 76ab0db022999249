/* portal_io.h: a worker's portal transport (ZeroMQ), linked into vr-worker
 * only (the simulation library stays free of sockets). */
#ifndef VR_PORTAL_IO_H
#define VR_PORTAL_IO_H

#include "portal.h"

#include <signal.h>

typedef struct vr_plink vr_plink;

typedef struct vr_plink_opts {
    void *ctx;                   /* ZeroMQ context, borrowed */
    uint32_t me, universes;
    const vr_portal_net *net;    /* borrowed */
    const char *endpoints;       /* "EP0,EP1,...": every universe's inbound endpoint, in order */
    const vr_sim *sim;           /* to check batches (designs), borrowed */
    const vr_arena *arena;       /* this worker's arena (portal ends, outbox), borrowed */
} vr_plink_opts;

/* Binds the inbound PULL socket at endpoints[me] and connects one PUSH per
 * peer (universes joined to me by a portal).  0, or a negative code with a
 * line on stderr. */
int vr_plink_new(vr_plink **out, const vr_plink_opts *o);
void vr_plink_destroy(vr_plink **pl);
/* The inbound socket (to poll), or NULL when this universe has no peer. */
void *vr_plink_socket(const vr_plink *pl);
/* Receives every batch waiting on the inbound socket: decodes, checks and
 * stores it, or rejects it (stderr, counted). */
void vr_plink_drain(vr_plink *pl);
/* Waits (at most timeout_ms, or until *stop) until a batch of `turn` came
 * from every peer.  0, or -VR_ETIMEOUT with the missing peers in err. */
int vr_plink_wait(vr_plink *pl, uint64_t turn, uint64_t timeout_ms, volatile sig_atomic_t *stop, char *err,
                  size_t errlen);
/* The batches of `turn`, one per peer, in peer order (NULL entries: none). */
uint32_t vr_plink_batches(vr_plink *pl, uint64_t turn, vr_portal_batch **out, uint32_t cap);
/* Encodes the outbox of the work buffer c (turn `turn`) into one batch per
 * peer, sends them and keeps them until the turn commits; what was sent
 * goes to st (one entry per peer, dir 0).  Returns entries written. */
uint32_t vr_plink_send(vr_plink *pl, const vr_cols *c, uint64_t turn, vr_portal_stat *st, uint32_t cap);
/* Turn `turn` committed: batches that turn's arrivals used are dropped, and
 * any copy of a turn before it that comes again is a duplicate. */
void vr_plink_commit(vr_plink *pl, uint64_t turn);
/* Sends the batches of `turn` to `dest` again (all peers when dest is
 * UINT32_MAX): from the kept copy of the computed turn, else from the
 * committed outbox in the arena.  0, or -VR_ENOTFOUND when neither holds
 * that turn. */
int vr_plink_resend(vr_plink *pl, uint32_t dest, uint64_t turn);
/* Batches rejected since start. */
uint64_t vr_plink_rejected(const vr_plink *pl);

#endif
