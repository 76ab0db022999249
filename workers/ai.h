/* ai.h: AI decisions of fleets and factions, and the decision log.
 *
 * Every turn each fleet and each faction scores six options (attack, defend,
 * expand, mine, trade, retreat) from what it can see, picks the best one and
 * may log the decision with every score it considered (DESIGN §7, §10).
 *
 * Inputs are structure-of-arrays views (one pointer per column, n rows) that
 * the caller fills from the arena: the data is fixed-width and pointer-free,
 * so the columns can later live in an arena unchanged.  Relations are the
 * caller's business: "enemy" strengths are already filtered by war.
 *
 * Determinism (DESIGN §5): a decision is a pure function of its row, the
 * faction's policy and (seed, universe, turn, entity id); rows never affect
 * each other, so deciding [0,n) at once gives the same bytes as [0,k) then
 * [k,n) (the log receives the same records in the same order).  Scores are
 * plain float arithmetic in a fixed order (no fma: -ffp-contract=off), and
 * exploration noise comes from vr_rand keyed by the fleet id, never from a
 * sequential stream.
 *
 * Scoring rules (all scores are finite and >= 0; w[o] is the faction's weight
 * for option o, see vr_ai_policy):
 *
 *   F  = own + 0.5*friendly            force the fleet can count on
 *   a  = F / (F + enemy), 1 if enemy==0 (so 0 when F==0 < enemy)
 *   P(d) = R / (R + d) for a finite d >= 0, else 0 (no such target);
 *          R = params->range
 *   m  = 0.5 + 0.5*morale
 *   attack  = w0 * 2*a * m * health * P(enemy_dist)
 *   defend  = w1 * (0.05 + 2*T/(T + own + 1) * (0.5 + 0.5*health)),
 *             T = home_threat (the 0.05 makes an idle fleet go home)
 *   expand  = w2 * 0.9 * P(expand_dist) * (0.25 + 0.75*a)
 *   mine    = w3 * 0.8 * (1 - cargo) * P(asteroid_dist) * (0.25 + 0.75*a)
 *   trade   = w4 * 0.9 * cargo * (0.25 + 0.75*a)
 *   retreat = w5 * (1.2*(1 - health) + 1.5*(1 - a)*(1.25 - 0.5*morale))
 *
 * So: more enemy strength never raises attack, expand, mine or trade and
 * never lowers retreat; lower health never raises attack and never lowers
 * retreat; more home threat never lowers defend.  The choice is the argmax;
 * ties go to the lowest option index.  With params->noise > 0 each score gets
 * noise * u_o added before the argmax (u_o in [0,1), 10 bits each from one
 * vr_rand(seed, universe, turn, id, VR_AI_STREAM_NOISE)); the logged and
 * returned scores include it, so the log always explains the choice.
 *
 * Bad input: NaN, negative or infinite strengths count as 0 (infinite ones
 * as VR_AI_MAX_STRENGTH); ratios (cargo, health, morale) are clamped to
 * [0,1] with NaN -> 0; a NaN, negative or infinite distance means "no
 * target".  A faction index outside the policy table gets the balanced
 * default.  NULL arguments are refused with -VR_EBADARG before any output is
 * written.
 */
#ifndef VR_AI_H
#define VR_AI_H

#include "vr_schema.h"

#include <stddef.h>
#include <stdint.h>

/* ---- options ----------------------------------------------------------- */
enum vr_ai_option {
    VR_AI_ATTACK = 0,
    VR_AI_DEFEND,
    VR_AI_EXPAND,
    VR_AI_MINE,
    VR_AI_TRADE,
    VR_AI_RETREAT,
    VR_AI_NOPTIONS
};
/* "No decision yet" in a previous-choice column (new fleets). */
#define VR_AI_NONE 0xffu

/* "attack", "defend", "expand", "mine", "trade", "retreat"; "?" otherwise. */
const char *vr_ai_option_name(int option);

/* Stances, numbered as the factions.stance column of components.def. */
enum vr_ai_stance { VR_AI_BALANCED = 0, VR_AI_AGGRESSIVE = 1, VR_AI_DEFENSIVE = 2 };

/* Stream of vr_rand for exploration noise.  Far above enum vr_stream of
 * vr_sim.h so the two never collide; moves there when the worker runs AI. */
#define VR_AI_STREAM_NOISE 0x41490001u

/* Strength above this counts as this (keeps F + enemy finite). */
#define VR_AI_MAX_STRENGTH 1e30f

/* ---- faction policy ---------------------------------------------------- */
/* One per faction, indexed by the faction number of the fleets (slot 0 is
 * "no faction" and may hold anything).  Weights derive from it:
 *   w[o] = stance_weight[stance][o] * (0.5 + 1.5*share(o))
 * where share is military for attack/defend, economy for mine/trade,
 * expansion for expand (shares are normalised by their sum; an invalid or
 * zero sum counts as 1/3 each), and 1 for retreat's (0.5 + 1.5*share).
 * Stance weights (attack defend expand mine trade retreat):
 *   balanced   1.0 1.0 1.0 1.0 1.0 1.0
 *   aggressive 1.4 0.8 1.1 0.9 0.9 0.7
 *   defensive  0.7 1.4 0.9 1.0 1.0 1.3
 * An unknown stance counts as balanced. */
typedef struct vr_ai_policy {
    uint8_t stance;       /* enum vr_ai_stance */
    uint8_t reserved[3];
    float military;       /* budget shares, >= 0 */
    float economy;
    float expansion;
} vr_ai_policy;
_Static_assert(sizeof(vr_ai_policy) == 16, "vr_ai_policy is an arena row");

/* The six option weights of a policy (NULL gives the balanced default). */
void vr_ai_policy_weights(const vr_ai_policy *p, float w[VR_AI_NOPTIONS]);

/* ---- parameters of one decision pass ----------------------------------- */
enum vr_ai_log_mode {
    /* default: log a row when its choice differs from prev_choice (all rows
     * when prev_choice is NULL): a turn logs what changed, which keeps up
     * with millions of decisions per second */
    VR_AI_LOG_CHANGED = 0,
    VR_AI_LOG_ALL = 1,     /* every decision */
    /* a rotating sample: rows with (vr_mix64(id) + turn) % log_every == 0,
     * so each entity is logged once every log_every turns, and a turn logs
     * about 1/log_every of them whatever the id scheme (log_every <= 1: all) */
    VR_AI_LOG_SAMPLE = 2,
};

typedef struct vr_ai_params {
    uint64_t seed;
    uint64_t turn;
    uint64_t cause;                 /* written into each record: the event or
                                       command this pass runs for (0: the turn) */
    uint32_t universe;
    uint32_t npolicy;               /* entries of policy */
    const vr_ai_policy *policy;     /* may be NULL: all balanced */
    float range;                    /* distance scale R of P(d); <= 0 or NaN: 10 */
    float noise;                    /* exploration amplitude; 0 (or invalid): none */
    uint32_t log_mode;              /* enum vr_ai_log_mode */
    uint32_t log_every;             /* k of VR_AI_LOG_SAMPLE */
} vr_ai_params;

/* ---- the decision log -------------------------------------------------- */
enum vr_ai_kind { VR_AI_KIND_FLEET = 1, VR_AI_KIND_FACTION = 2, VR_AI_KIND_PORTAL = 3 /* a fleet takes a portal (portal.c) */ };

/* One logged decision.  Frozen layout: it is read from shared memory by
 * readers built separately (Python), so fields only ever get added in the
 * reserved bytes, and a change bumps VR_AI_LOG_VERSION. */
typedef struct vr_ai_record {
    uint64_t turn;                    /*  0 */
    uint64_t entity;                  /*  8: fleet or faction id */
    uint64_t cause;                   /* 16: vr_ai_params.cause */
    float score[VR_AI_NOPTIONS];      /* 24: every option considered */
    uint8_t kind;                     /* 48: enum vr_ai_kind */
    uint8_t choice;                   /* 49: enum vr_ai_option */
    uint8_t prev;                     /* 50: previous choice or VR_AI_NONE */
    uint8_t reserved;                 /* 51 */
    uint32_t universe;                /* 52 */
} vr_ai_record;
_Static_assert(sizeof(vr_ai_record) == 56, "vr_ai_record layout is frozen");
_Static_assert(offsetof(vr_ai_record, score) == 24, "vr_ai_record layout is frozen");
_Static_assert(offsetof(vr_ai_record, kind) == 48, "vr_ai_record layout is frozen");
_Static_assert(offsetof(vr_ai_record, universe) == 52, "vr_ai_record layout is frozen");

#define VR_AI_LOG_MAGIC 0x4c415256u /* "VRAL" little-endian */
#define VR_AI_LOG_VERSION 1u

/* Ring of the newest `capacity` records over caller memory.  When full, an
 * append overwrites the oldest record and counts it in `dropped`.
 *
 * Written by one writer only (the worker that decides); readers may be other
 * processes mapping the same memory read-only.  The records sit at
 * records_off bytes from this header (same mapping; offsets, never
 * pointers).  Record number s (0-based since init) goes to slot s % capacity
 * like a seqlock: the writer stores claimed = s + 1, a release fence, the
 * record, then head = s + 1 with a release store.  A reader loads head
 * (acquire), copies a record s with head - capacity <= s < head, issues an
 * acquire fence and keeps the copy if claimed <= s + capacity (record
 * s + capacity, which reuses the slot, had not begun); else the copy may be
 * torn.  vr_ai_log_get does exactly this.
 */
typedef struct vr_ai_log {
    uint32_t magic;        /*  0: VR_AI_LOG_MAGIC once initialised */
    uint32_t version;      /*  4: VR_AI_LOG_VERSION */
    uint32_t record_size;  /*  8: sizeof(vr_ai_record) */
    uint32_t capacity;     /* 12: records in the ring, >= 1 */
    int64_t records_off;   /* 16: byte offset of record slot 0 from this header */
    uint64_t head;         /* 24: records appended since init (release-stored) */
    uint64_t dropped;      /* 32: records overwritten by wrap-around */
    uint64_t decisions;    /* 40: decisions seen by decide passes, logged or not */
    uint64_t claimed;      /* 48: records whose writing has begun (>= head) */
    uint64_t reserved;     /* 56 */
} vr_ai_log;
_Static_assert(sizeof(vr_ai_log) == 64, "vr_ai_log layout is frozen");
_Static_assert(offsetof(vr_ai_log, head) == 24, "vr_ai_log layout is frozen");
_Static_assert(offsetof(vr_ai_log, claimed) == 48, "vr_ai_log layout is frozen");

/* Bytes for a header followed by `capacity` records (sizing shared memory). */
size_t vr_ai_log_bytes(uint32_t capacity);

/* Initialises the ring over `records` (capacity entries, caller-owned; must
 * live in the same mapping as log if other processes read it; NULL means
 * "right after the header", as laid out by vr_ai_log_bytes).
 * Returns 0 or -VR_EBADARG (NULL log, capacity 0). */
int vr_ai_log_init(vr_ai_log *log, vr_ai_record *records, uint32_t capacity);
/* Poisons the header; the memory stays the caller's. */
void vr_ai_log_fini(vr_ai_log *log);

/* Appends a copy of *r.  Returns 0 or -VR_EBADARG (NULL, uninitialised). */
int vr_ai_log_append(vr_ai_log *log, const vr_ai_record *r);
/* Records held (min(head, capacity)); 0 for NULL or uninitialised. */
uint64_t vr_ai_log_count(const vr_ai_log *log);
/* Records lost to wrap-around since init; 0 for NULL or uninitialised. */
uint64_t vr_ai_log_dropped(const vr_ai_log *log);
/* Copies the i-th newest record (0 = newest) into *out.  Returns 0,
 * -VR_ENOTFOUND when i >= count, -VR_ETORN when the writer overwrote it
 * while it was read, -VR_EBADARG for NULL or an uninitialised log. */
int vr_ai_log_get(const vr_ai_log *log, uint64_t i, vr_ai_record *out);

/* ---- fleet decisions --------------------------------------------------- */
/* Observations of n fleets, one column each (row i is fleet i).  All
 * columns are required except prev_choice. */
typedef struct vr_ai_obs {
    const uint64_t *id;               /* fleet entity id: noise key, log */
    const uint16_t *faction;          /* index into params->policy */
    const uint8_t *prev_choice;       /* last turn's choice or VR_AI_NONE; may be NULL */
    const float *own_strength;
    const float *enemy_strength;      /* visible hostile strength nearby */
    const float *friendly_strength;   /* other friendly strength nearby */
    const float *enemy_dist;          /* to the nearest enemy target */
    const float *expand_dist;         /* to the nearest unclaimed system */
    const float *asteroid_dist;       /* to the nearest asteroid field */
    const float *cargo;               /* cargo fill ratio, 0..1 */
    const float *home_threat;         /* enemy strength near the faction's planets */
    const float *health;              /* hull ratio, 0..1 */
    const float *morale;              /* 0..1 */
} vr_ai_obs;

/* The same columns starting at row `first` (for deciding in chunks). */
vr_ai_obs vr_ai_obs_offset(const vr_ai_obs *o, uint32_t first);

/* Scores and decides n fleets: choice_out[i] gets the option of fleet i;
 * scores_out (n * VR_AI_NOPTIONS floats, row-major; may be NULL) gets its
 * scores; log (may be NULL) gets the records params->log_mode selects, in
 * row order, and its `decisions` counter grows by n.
 * Returns 0 or -VR_EBADARG (NULL params/obs/column/choice_out with n > 0,
 * or an uninitialised log); nothing is written on error. */
int vr_ai_decide_fleets(const vr_ai_params *params, const vr_ai_obs *obs, uint32_t n,
                        uint8_t *choice_out, float *scores_out, vr_ai_log *log);

/* ---- faction decisions ------------------------------------------------- */
/* Observations of n factions (totals over what the faction can see).  All
 * columns are required except prev_choice. */
typedef struct vr_ai_faction_obs {
    const uint64_t *id;               /* faction entity id: noise key, log */
    const uint16_t *faction;          /* index into params->policy */
    const uint8_t *prev_choice;       /* may be NULL */
    const float *strength;            /* own military strength */
    const float *enemy_strength;      /* strength of factions at war with it */
    const float *home_threat;         /* enemy strength near its planets */
    const float *targets;             /* enemy-held systems within reach */
    const float *unclaimed;           /* unclaimed systems within reach */
    const float *fields;              /* asteroid fields within reach */
    const float *stockpile;           /* unsold resources */
    const float *income;              /* net income per turn (may be < 0) */
} vr_ai_faction_obs;

enum vr_ai_diplomacy { VR_AI_DIPLO_KEEP = 0, VR_AI_DIPLO_SEEK_PEACE = 1, VR_AI_DIPLO_SEEK_WAR = 2 };

/* What a faction decided: the posture (an option) and suggestions the
 * economy and diplomacy systems may apply. */
typedef struct vr_ai_faction_out {
    uint8_t choice;       /* enum vr_ai_option */
    uint8_t stance;       /* suggested enum vr_ai_stance */
    uint8_t diplomacy;    /* enum vr_ai_diplomacy */
    uint8_t reserved;
    float military;       /* suggested budget split, sums to 1 */
    float economy;
    float expansion;
} vr_ai_faction_out;
_Static_assert(sizeof(vr_ai_faction_out) == 16, "vr_ai_faction_out is an arena row");

/* Scores and decides n factions, logs like vr_ai_decide_fleets (kind
 * VR_AI_KIND_FACTION).  Rules, with g(x) = x/(x+1) for x >= 0:
 *   a = S/(S + E) (1 if E == 0), T = home threat, s = stockpile/(10*(|income|+1))
 *   attack  = w0 * 2*a * g(targets)
 *   defend  = w1 * (0.05 + 2*T/(T + S + 1))
 *   expand  = w2 * 1.2 * g(unclaimed) * (0.25 + 0.75*a)
 *   mine    = w3 * g(fields) * (1 - g(s))
 *   trade   = w4 * g(s)
 *   retreat = w5 * (1.5*(1 - a) + (income < 0 ? 0.5 : 0))  (consolidate, seek peace)
 * Suggestions: budget split proportional to (attack+defend+retreat,
 * mine+trade, expand); stance aggressive after attack, defensive after
 * defend or retreat, else balanced; diplomacy SEEK_PEACE when a < 0.35,
 * SEEK_WAR when attack was chosen and a > 0.65, else KEEP.
 * Returns 0 or -VR_EBADARG as vr_ai_decide_fleets. */
int vr_ai_decide_factions(const vr_ai_params *params, const vr_ai_faction_obs *obs, uint32_t n,
                          vr_ai_faction_out *out, float *scores_out, vr_ai_log *log);

#endif
