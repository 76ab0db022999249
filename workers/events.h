/* events.h: a committed turn's events of one universe, packed for the event
 * stream (schemas/events.def).
 *
 * The worker calls vr_events_turn after it published a turn; it reads the
 * published buffer (battles, decisions, findings of that turn), packs one
 * msgpack payload per kind with records, and hands each to a sink (the
 * worker's PUB socket).  No ZeroMQ here, so tests check the payloads.
 */
#ifndef VR_EVENTS_H
#define VR_EVENTS_H

#include "vr_shm.h"

#include <msgpack.h>
#include <stdbool.h>

/* Receives one payload of `kind` (VR_EV_*); returns 0 or a negative code
 * (which stops vr_events_turn and is returned by it). */
typedef int (*vr_events_sink)(void *ud, int kind, const void *payload, size_t len);

typedef struct vr_events {
    uint64_t seq[VR_NEVENTS]; /* messages published per kind */
    uint64_t last_turn;       /* newest turn published (valid when `any`) */
    bool any;
    msgpack_sbuffer sb;       /* reused for every payload */
} vr_events;

void vr_events_init(vr_events *e);
void vr_events_fini(vr_events *e);

/* Publishes the events of the arena's published turn: one payload per kind
 * that has records (battle, decision, audit), in that order.  A turn at or
 * before the last one published here is not published again (a replayed
 * turn never repeats its events).  Returns the number of payloads handed to
 * the sink (0: nothing to say, or already published), -VR_ENOTYET when no
 * turn is published, -VR_ETORN if the buffer changed while being read, or
 * the sink's error. */
int vr_events_turn(vr_events *e, const vr_arena *a, uint32_t universe, vr_events_sink sink, void *ud);

#endif
