/* portal.h: portals between universes: the network, the arena side (portal
 * ends, the outbox of fleets in transit, arrivals) and the transfer batch
 * codec (portal_wire.c).
 *
 * The network is a pure function of (universes, seed, configuration), built
 * the same by the coordinator (to check it and to know who talks to whom)
 * and by every worker (to place its portal ends at turn 0).  Every portal is
 * two-way: a link joins an end in one universe to an end in another; each
 * end is placed by its own universe's worker on its own galaxy.
 */
#ifndef VR_PORTAL_H
#define VR_PORTAL_H

#include "vr_sim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VR_PORTAL_MAX 64            /* portal ends in one universe */
#define VR_PORTAL_LINKS_MAX 4096    /* links in a network */
#define VR_PORTAL_TRANSIT_MAX 256   /* fleets one universe sends through portals per turn */
#define VR_PORTAL_FLEET_SHIPS 255   /* ships one fleet in transit may hold */
#define VR_PORTAL_COST 10.0f        /* default traversal cost */
#define VR_PORTAL_ID_MAX 32         /* bytes of a portal_id (portals.name lanes) */
#define VR_PORTAL_BATCH_VERSION 1u  /* version of a transfer batch on the wire */
#define VR_PORTAL_BATCH_MAX_BYTES (16u << 20)
#define VR_PORTAL_AI_CHANCE 0.25    /* see vr__portal_decide */

/* portals.place */
enum vr_portal_place {
    VR_PLACE_SEEDED = 0,   /* a system drawn from (seed, universe, link): the default network */
    VR_PLACE_NEAREST = 1,  /* nearest_system: the system nearest the coordinates */
    VR_PLACE_CORE = 2,     /* galactic_core: the system nearest the galaxy's centre */
    VR_PLACE_BORDER = 3,   /* border_region: the outermost system in the coordinates' direction */
    VR_PLACE_EXACT = 4,    /* exact_coords: the system nearest the coordinates */
};

typedef struct vr_portal_end {
    uint32_t universe;
    float x, y;            /* percent of the galaxy's extent, 0..100 */
    uint8_t place;
} vr_portal_end;

typedef struct vr_portal_link {
    char id[VR_PORTAL_ID_MAX + 1];
    vr_portal_end end[2];
    float cost;
} vr_portal_link;

typedef struct vr_portal_net {
    uint32_t universes, nlinks;
    uint64_t seed;
    vr_portal_link *links;
} vr_portal_net;

typedef struct vr_portal_config {
    uint32_t universes;
    uint64_t seed;
    /* NULL or "default": the built-in ring; "off": none; else a list
     * "NAME=FILE[,NAME=FILE...]" (a bare FILE is u0's) of the original
     * engine's portal files, each attached to universe NAME */
    const char *spec;
    /* NULL, or "a,b,c": the universes' names in order (dest_universe names
     * them); "uK" and the decimal index K always work */
    const char *names;
} vr_portal_config;

/* Builds the network.  0, or -VR_EBADARG / -VR_ECONTENT with a sentence in
 * err naming the file and field.  The caller owns *out. */
int vr_portal_net_new(vr_portal_net **out, const vr_portal_config *cfg, char *err, size_t errlen);
void vr_portal_net_destroy(vr_portal_net **net);
/* Whether universes a and b are joined by a portal (so exchange batches). */
bool vr_portal_net_peers(const vr_portal_net *net, uint32_t a, uint32_t b);
/* Hash of the network (workers check they built the coordinator's). */
uint64_t vr_portal_net_hash(const vr_portal_net *net);

/* ---- fleets in transit: one batch per (source, destination, turn) ------- */
typedef struct vr_pship {
    float hull, shield, armor, strength, ap, speed;
    uint32_t cargo;
    uint16_t faction, design, attacks;
    uint8_t accuracy, evasion, morale, state;
} vr_pship;

typedef struct vr_pfleet {
    uint64_t fleet;        /* id in the source universe */
    uint32_t link, dest, first, nships;
    uint16_t faction;
    uint8_t order;
    float speed;
    int64_t cargo[VR_NRES], capacity, upkeep;
} vr_pfleet;

typedef struct vr_portal_batch {
    uint32_t source, dest;
    uint64_t turn;
    uint32_t nfleets, nships;
    uint32_t cap_fleets, cap_ships;
    vr_pfleet *fleets;
    vr_pship *ships;
} vr_portal_batch;

void vr_portal_batch_init(vr_portal_batch *b);
void vr_portal_batch_fini(vr_portal_batch *b);
/* The outbox rows (transit tables of c) bound for `dest`, in row order.
 * 0 or -ENOMEM. */
int vr_portal_batch_from_outbox(vr_portal_batch *b, const vr_cols *c, uint32_t source, uint32_t dest,
                                uint64_t turn);
/* Encodes b as msgpack into a malloc'ed buffer (*out, *len; the caller
 * frees it).  0 or -ENOMEM. */
int vr_portal_batch_encode(const vr_portal_batch *b, char **out, size_t *len);
/* Decodes a batch with strict bounds; on error b holds nothing and err a
 * sentence.  0 or -VR_EBADMSG / -VR_EBADVERSION. */
int vr_portal_batch_decode(const void *data, size_t len, vr_portal_batch *b, char *err, size_t errlen);
/* Totals of a batch (for the conservation audit). */
void vr_portal_batch_totals(const vr_portal_batch *b, vr_portal_stat *st);

/* ---- the simulation side (portal.c) ------------------------------------- */
/* Checks a decoded batch against this universe before anything is applied:
 * destination, turn, links that end here and lead to the source, designs,
 * factions, counts, signs.  0 or -VR_EBADMSG with err. */
int vr_portal_batch_check(const vr_sim *sim, const vr_cols *c, const vr_portal_batch *b, uint32_t me,
                          uint64_t turn, char *err, size_t errlen);
/* Applies the arrivals of turn `turn` (batches sent in turn - 1) to the work
 * buffer, before the commands: batches in source order, fleets in source
 * fleet id order, whatever order they came in.  Each batch must have passed
 * vr_portal_batch_check.  Rows go to the arrivals table (emptied first).
 * Per-source totals of what was placed go to st[k] for batch k when st is not
 * NULL.  0 or a negative code. */
int vr_sim_arrivals(vr_sim *sim, vr_cols *c, uint64_t turn, vr_portal_batch *const *batches, uint32_t n,
                    vr_portal_stat *st, vr_turn_stats *stats);
/* Routes fleet row f to system `sys` of universe `to` through the cheapest
 * portal leading there (route cost + traversal cost).  0, or -VR_ENOTFOUND
 * when no portal of this universe leads to `to`. */
int vr__portal_route(vr_sim *sim, vr_cols *c, uint32_t f, uint32_t to, uint32_t sys);

#endif
