/* combat.h: space battles in rounds (DESIGN §7), deterministic and
 * independent of the order ships are stored or listed in.
 *
 * Data.  Ships are columns (structure of arrays, vr_ships) so the caller can
 * hand over the arena's columns; a battle is a list of row indices into them
 * plus a 64-bit battle key (e.g. the node where the fleets met).  The module
 * reads the stat columns and writes only hull, shield and state of the rows
 * of the battle.  Deletion is deferred: a destroyed ship is only marked
 * (VR_SHIP_DESTROYED, hull 0); the caller frees it in its cleanup pass.  A
 * routed ship is marked VR_SHIP_ROUTED and keeps its hull; the caller moves it
 * away (it "retreats").
 *
 * A round (all ships act simultaneously, from the state at its start):
 *  1. Shooting.  Every active ship (neither routed nor destroyed) picks one
 *     active enemy: index floor(h * count / 2^32) into the enemy side's active
 *     ships sorted by entity id, h a counter-based draw of (ship, round), so
 *     fire is spread but canonical.  It fires all its `attacks`; hits ~
 *     Binomial(attacks, p) with the engine's batch model
 *       p = clamp(0.05, 0.95, (max(15, bs+5)/100 + min(0.2, n/1000))
 *                             * (1 - 0.5*md/100))
 *     where bs = the attacker's ballistic skill (0..100), md = the target's
 *     evasion (0..100), and n = the batch size: the total attacks fired by
 *     the attacker's whole side this round (a big fleet saturates at +0.2).
 *     With bs, md in 0..100 the lower clamp is never reached (p >= 0.075);
 *     it is kept so the function is the engine's formula.
 *  2. Damage.  Armor is flat, per hit: damage per hit
 *       d = max(0, strength - max(0, armor + ap))
 *     with ap <= 0 (the content pack's convention: ap -3 ignores 3 armor).
 *     The hits * d of all attackers on a target are summed (in id order, in
 *     double), then shields absorb first and the rest goes to hull.  Shields
 *     do not regenerate within a battle (between turns is the caller's
 *     business).  Hull <= 0 destroys the ship (hull set to 0).
 *  3. Morale.  A side that lost ships this round tests every one of its
 *     still-active ships: 2d6 (counter-based) must be <= leadership -
 *     penalty, penalty = floor(lost * morale_loss_penalty / started) with
 *     lost = the side's ships destroyed so far in this battle and started =
 *     the side's ships at the start.  A failed test routs the ship.
 *  4. Victory.  The battle ends when a side has no active ships (the other
 *     side wins; neither left is a draw), after no_damage_rounds consecutive
 *     rounds in which no damage was done (a stalemate, draw), or after
 *     max_rounds rounds (draw).
 *
 * Determinism.  Ships are first sorted by entity id and everything iterates
 * in that order; all randomness is vr_rand(seed, universe, turn, battle_key,
 * stream) expanded by a counter-based mix of (ship id, round, draw index),
 * never a sequential stream.  So the outcome is a pure function of the
 * parameters, the battle key and the set of ships with their stats, whatever
 * the order of `rows` or the rows the ships sit in.  Entity ids within a
 * battle must be unique.
 *
 * Binomial sampling is exact up to the precision of p: up to
 * VR_COMBAT_BERNOULLI_MAX trials it sums Bernoulli trials (two per 64-bit
 * draw, each a 32-bit uniform compared with p * 2^32); above, it inverts the
 * binomial CDF with one 53-bit uniform per chunk of at most 1000 trials
 * (sampling misses when p > 1/2, so the first term (1-p)^m stays a normal
 * double; computed with multiplications only, no libm).
 */
#ifndef VR_COMBAT_H
#define VR_COMBAT_H

#include "vr_schema.h"

#include <stddef.h>
#include <stdint.h>

/* Bits of the state column.  Other bits are the caller's and are kept. */
enum vr_ship_state {
    VR_SHIP_ROUTED = 1u << 0,    /* left the battle; alive; the caller moves it */
    VR_SHIP_DESTROYED = 1u << 1, /* hull 0; the caller frees it (deferred delete) */
};
#define VR_SHIP_OUT (VR_SHIP_ROUTED | VR_SHIP_DESTROYED)

/* Random streams of combat (last argument of vr_rand).  Chosen apart from
 * the enum vr_stream of vr_sim.h. */
enum {
    VR_RS_COMBAT_FIRE = 0x100,   /* target choice and hits */
    VR_RS_COMBAT_MORALE = 0x101, /* 2d6 morale tests */
};

/* Defaults used when the params field is 0. */
#define VR_COMBAT_MAX_ROUNDS 50u
#define VR_COMBAT_NO_DAMAGE_ROUNDS 3u
#define VR_COMBAT_MORALE_LOSS_PENALTY 6u /* leadership lost at 100% losses */
/* Largest attack count sampled as a sum of Bernoulli trials. */
#define VR_COMBAT_BERNOULLI_MAX 64u

/* Parameters of a turn's battles; fields left 0 take the defaults above.
 * Use designated initializers: (vr_combat_params){.seed = s, .turn = t}. */
typedef struct vr_combat_params {
    uint64_t seed;
    uint64_t turn;
    uint32_t universe;
    uint32_t max_rounds;          /* hard limit of rounds per battle */
    uint32_t no_damage_rounds;    /* consecutive rounds without damage: stalemate */
    uint32_t morale_loss_penalty; /* see "Morale" above */
    uint32_t stream_fire;         /* vr_rand streams; 0: VR_RS_COMBAT_* */
    uint32_t stream_morale;
} vr_combat_params;

/* The ship columns, indexed by row.  `count` rows exist; a battle may name
 * any of them.  Read: id, side, armor, bs, attacks, strength, ap, md,
 * leadership.  Read and written (rows of the battle only): hull, shield,
 * state.  Valid values: side 0 or 1; hull > 0, shield >= 0, armor >= 0,
 * strength >= 0, all finite; ap <= 0 and finite; bs, md <= 100.  Ships whose
 * state has VR_SHIP_OUT bits on entry take no part (and are not checked). */
typedef struct vr_ships {
    const uint64_t *id;         /* entity id, unique within a battle */
    const uint8_t *side;        /* 0 or 1 (the caller maps factions to sides) */
    float *hull;
    float *shield;
    const float *armor;
    const uint8_t *bs;          /* ballistic skill / accuracy, 0..100 */
    const uint16_t *attacks;    /* attacks per round (all weapons) */
    const float *strength;      /* damage per hit before armor */
    const float *ap;            /* armor piercing, <= 0 */
    const uint8_t *md;          /* evasion / defence modifier, 0..100 */
    const uint8_t *leadership;  /* morale: 2d6 must not exceed it (2..12 useful) */
    uint8_t *state;             /* enum vr_ship_state bits */
    uint32_t count;
} vr_ships;

/* How a battle ended. */
enum vr_combat_end {
    VR_COMBAT_END_DECIDED = 1,   /* at most one side has active ships */
    VR_COMBAT_END_STALEMATE = 2, /* no_damage_rounds rounds without damage */
    VR_COMBAT_END_ROUND_LIMIT = 3,
};
#define VR_COMBAT_DRAW (-1)

/* Outcome of one battle.  Fixed layout without holes (compared bytewise in
 * tests and may be published as is).  Per-side arrays are indexed by side. */
typedef struct vr_battle_result {
    int32_t winner;        /* 0, 1 or VR_COMBAT_DRAW */
    uint32_t rounds;       /* rounds fought (0: decided before any shot) */
    uint32_t end;          /* enum vr_combat_end */
    uint32_t ships[2];     /* participants of each side */
    uint32_t destroyed[2]; /* ships of each side destroyed */
    uint32_t routed[2];    /* ships of each side routed */
    uint32_t reserved;
    double damage[2];      /* damage dealt by each side (shield + hull removed) */
    uint64_t hits[2];      /* hits scored by each side */
} vr_battle_result;
_Static_assert(sizeof(vr_battle_result) == 72, "vr_battle_result has no holes");

/* One battle of a batch: rows[first .. first+count) of the batch's rows. */
typedef struct vr_battle {
    uint64_t key;
    uint32_t first;
    uint32_t count;
} vr_battle;

/* Resolves one battle fully (all rounds) between the ships at rows[0..n).
 * Returns 0, -VR_EBADARG (NULL pointer, n == 0, a row >= soa->count, a
 * duplicate entity id, an invalid stat of a participating ship) with no
 * change to any column, or -ENOMEM.  *out is written on success. */
int vr_combat_resolve(const vr_combat_params *p, vr_ships *soa, const uint32_t *rows, uint32_t n,
                      uint64_t battle_key, vr_battle_result *out);

/* Resolves nb battles (each as vr_combat_resolve, out[i] for battles[i]),
 * battle i being rows[battles[i].first ..  + battles[i].count), all within
 * rows[0..nrows).  Battles must be disjoint: a row in two battles is
 * -VR_EBADARG.  Every battle is checked before any is fought, so on error
 * nothing changed.  Battles are independent, so the results do not depend
 * on their order.  Returns 0, -VR_EBADARG or -ENOMEM. */
int vr_combat_resolve_all(const vr_combat_params *p, vr_ships *soa, const uint32_t *rows, uint32_t nrows,
                          const vr_battle *battles, uint32_t nb, vr_battle_result *out);

/* Finds where enemies meet: groups the active ships among rows[0..n) by
 * loc[row] (e.g. the node a ship's fleet stands on) and makes a battle of
 * every location that holds active ships of both sides.  Writes their rows
 * (sorted by location, then id) to rows_out (capacity n) and the battles
 * (key = location, sorted by it) to battles_out (capacity n / 2), and their
 * number to *nb.  The result does not depend on the order of rows.  Returns
 * 0, -VR_EBADARG or -ENOMEM. */
int vr_combat_find_battles(const vr_ships *soa, const uint32_t *loc, const uint32_t *rows, uint32_t n,
                           uint32_t *rows_out, vr_battle *battles_out, uint32_t *nb);

/* ---- the formulas, exposed for tests and tools ---- */

/* Hit probability of the batch model (see above); any inputs, clamped. */
double vr_combat_hit_p(unsigned bs, uint32_t n, unsigned md);

/* Damage of one hit after flat armor: max(0, strength - max(0, armor + ap)). */
float vr_combat_hit_damage(float strength, float armor, float ap);

/* Applies dmg >= 0 to one ship: shield absorbs first, the rest goes to hull
 * (which may go <= 0).  Returns the damage actually removed. */
double vr_combat_apply_damage(float *shield, float *hull, double dmg);

/* Binomial(n, p) from the counter-based key (exact; see above). */
uint32_t vr_combat_binomial(uint64_t key, uint32_t n, double p);

/* 2d6 from a 64-bit random value (each die from 32 bits), 2..12. */
unsigned vr_combat_2d6(uint64_t r);

/* Morale penalty: floor(lost * scale / started), 0 when started is 0. */
unsigned vr_combat_morale_penalty(uint32_t lost, uint32_t started, uint32_t scale);

/* 1 when a 2d6 roll passes: roll <= leadership - penalty. */
int vr_combat_morale_passes(unsigned roll, unsigned leadership, unsigned penalty);

#endif
