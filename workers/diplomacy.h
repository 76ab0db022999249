/* diplomacy.h: relations between factions drive war, peace, trade, alliance.
 *
 * Each turn every pair's opinion moves by a symmetric random step (one draw
 * per unordered pair from vr_rand, so a->b and b->a always agree) plus a pull
 * toward a neutral 0 and an optional push from the caller (e.g. battles
 * fought between them this turn).  The state follows the opinion with
 * hysteresis, so relations do not flap:
 *   war      when opinion < -300, lasting until it climbs above -100 (peace);
 *   trade    when opinion > 300 (from peace), back to peace below 150;
 *   alliance when opinion > 700 (from trade), back to trade below 500.
 * A faction's relation to itself is always alliance at 1000.
 */
#ifndef VR_DIPLOMACY_H
#define VR_DIPLOMACY_H

#include "vr_shm.h"

enum vr_relation { VR_REL_PEACE = 0, VR_REL_WAR = 1, VR_REL_TRADE = 2, VR_REL_ALLIANCE = 3 };

typedef struct vr_diplomacy_params {
    uint64_t seed;
    uint32_t universe;
    uint64_t turn;
    uint32_t factions;
    const int16_t *push; /* factions*factions opinion changes from events, or NULL */
} vr_diplomacy_params;

/* The state a relation in `state` moves to at `opinion`. */
uint8_t vr_diplomacy_next(uint8_t state, int opinion);

/* Updates the relations table of the work buffer; returns how many relation
 * states changed (counted once per unordered pair) or -VR_EBADARG. */
int vr_diplomacy_turn(const vr_diplomacy_params *p, vr_cols *c);

#endif
