/* ai.c: scores the six options of fleets and factions, picks one, logs it.
 *
 * The rules are written out in ai.h; this file keeps them in one place each
 * (fleet_scores, faction_scores) and feeds both through the same argmax,
 * noise and logging code.  Everything is branch-light float arithmetic on
 * one row at a time, in a fixed order of operations, so results depend only
 * on the row's inputs (never on n, chunking or the machine).  Inputs are
 * sanitised first, which makes every score finite and >= 0 and keeps NaN
 * away from the argmax.
 */
#include "ai.h"

#include <math.h>
#include <string.h>

static const char *const option_names[VR_AI_NOPTIONS] = {
    "attack", "defend", "expand", "mine", "trade", "retreat",
};

const char *vr_ai_option_name(int option)
{
    if (option < 0 || option >= VR_AI_NOPTIONS)
        return "?";
    return option_names[option];
}

/* ---- sanitising -------------------------------------------------------- */
/* These are written so that NaN fails every comparison and lands on 0. */

/* Each is a max then a min in this operand order, which compilers turn
 * into branch-free maxss/minss (random inputs would defeat a predictor). */
static inline float strength(float x)
{
    x = x > 0.0f ? x : 0.0f;
    return x < VR_AI_MAX_STRENGTH ? x : VR_AI_MAX_STRENGTH;
}

static inline float unit(float x)
{
    x = x > 0.0f ? x : 0.0f;
    return x < 1.0f ? x : 1.0f;
}

/* Proximity R/(R+d) of a target at distance d; 0 when there is none. */
static inline float proximity(float d, float range)
{
    float v = range / (range + (d > 0.0f ? d : 0.0f));
    return d >= 0.0f && d <= 3.4e38f ? v : 0.0f;
}

/* x/(x+1) for x >= 0 (invalid x counts as 0). */
static inline float sat(float x)
{
    x = strength(x);
    return x / (x + 1.0f);
}

/* Share of force F against hostile strength E: F/(F+E), 1 when E == 0.
 * (The division's 0/0 when both are 0 is computed and discarded.) */
static inline float advantage(float f, float e)
{
    float a = f / (f + e);
    return e > 0.0f ? a : 1.0f;
}

/* ---- policy ------------------------------------------------------------ */

static const float stance_weight[3][VR_AI_NOPTIONS] = {
    [VR_AI_BALANCED] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f},
    [VR_AI_AGGRESSIVE] = {1.4f, 0.8f, 1.1f, 0.9f, 0.9f, 0.7f},
    [VR_AI_DEFENSIVE] = {0.7f, 1.4f, 0.9f, 1.0f, 1.0f, 1.3f},
};

void vr_ai_policy_weights(const vr_ai_policy *p, float w[VR_AI_NOPTIONS])
{
    unsigned st = p && p->stance < 3 ? p->stance : VR_AI_BALANCED;
    float mil = 1.0f / 3.0f, eco = 1.0f / 3.0f, expn = 1.0f / 3.0f;
    if (p) {
        float m = strength(p->military), e = strength(p->economy), x = strength(p->expansion);
        float sum = m + e + x;
        if (sum > 0.0f && sum < VR_AI_MAX_STRENGTH) {
            mil = m / sum;
            eco = e / sum;
            expn = x / sum;
        }
    }
    const float *s = stance_weight[st];
    w[VR_AI_ATTACK] = s[VR_AI_ATTACK] * (0.5f + 1.5f * mil);
    w[VR_AI_DEFEND] = s[VR_AI_DEFEND] * (0.5f + 1.5f * mil);
    w[VR_AI_EXPAND] = s[VR_AI_EXPAND] * (0.5f + 1.5f * expn);
    w[VR_AI_MINE] = s[VR_AI_MINE] * (0.5f + 1.5f * eco);
    w[VR_AI_TRADE] = s[VR_AI_TRADE] * (0.5f + 1.5f * eco);
    w[VR_AI_RETREAT] = s[VR_AI_RETREAT];
}

/* ---- shared pass machinery --------------------------------------------- */

#define WCACHE 256 /* factions whose weights a pass caches */

/* Per-pass constants derived (and sanitised) from the params once, and the
 * weights of the factions seen so far (filled lazily, so a pass over a few
 * rows does not pay for the whole policy table). */
typedef struct pass {
    const vr_ai_params *p;
    vr_ai_log *log;
    vr_ai_record *slots;
    uint64_t head;
    float range;
    float noise;
    uint32_t every;
    uint32_t mode;
    uint8_t kind;
    uint8_t have[WCACHE];
    float w[WCACHE][VR_AI_NOPTIONS];
} pass;

/* Weights of faction f: its policy row, or the balanced default. */
static inline const float *weights_of(pass *ps, uint32_t f, float tmp[VR_AI_NOPTIONS])
{
    const vr_ai_params *p = ps->p;
    const vr_ai_policy *row = p->policy && f < p->npolicy ? &p->policy[f] : NULL;
    if (f < WCACHE) {
        if (!ps->have[f]) {
            vr_ai_policy_weights(row, ps->w[f]);
            ps->have[f] = 1;
        }
        return ps->w[f];
    }
    vr_ai_policy_weights(row, tmp);
    return tmp;
}

static int log_ok(const vr_ai_log *log)
{
    return log && log->magic == VR_AI_LOG_MAGIC && log->version == VR_AI_LOG_VERSION &&
           log->record_size == sizeof(vr_ai_record) && log->capacity > 0;
}

static inline vr_ai_record *log_slots(const vr_ai_log *log)
{
    return (vr_ai_record *)((uintptr_t)log + (uintptr_t)log->records_off);
}

static int pass_begin(pass *ps, const vr_ai_params *p, vr_ai_log *log, uint8_t kind)
{
    if (!p || (log && !log_ok(log)))
        return -VR_EBADARG;
    ps->p = p;
    ps->log = log;
    ps->slots = log ? log_slots(log) : NULL;
    ps->head = log ? log->head : 0;
    ps->range = p->range > 0.0f && p->range < VR_AI_MAX_STRENGTH ? p->range : 10.0f;
    ps->noise = p->noise > 0.0f && p->noise < VR_AI_MAX_STRENGTH ? p->noise : 0.0f;
    ps->mode = p->log_mode;
    ps->every = p->log_every > 1 ? p->log_every : 1;
    ps->kind = kind;
    memset(ps->have, 0, sizeof ps->have);
    return 0;
}

/* Adds the exploration noise of entity id to s (ps->noise > 0). */
static inline void pass_noise(const pass *ps, uint64_t id, float s[VR_AI_NOPTIONS])
{
    uint64_t r = vr_rand(ps->p->seed, ps->p->universe, ps->p->turn, id, VR_AI_STREAM_NOISE);
    for (int o = 0; o < VR_AI_NOPTIONS; o++)
        s[o] += ps->noise * ((float)((r >> (10 * o)) & 1023u) * (1.0f / 1024.0f));
}

/* Argmax, ties to the lowest index; written with selects, not jumps. */
static inline uint8_t argmax(const float s[VR_AI_NOPTIONS])
{
    uint8_t best = 0;
    float top = s[0];
    for (int o = 1; o < VR_AI_NOPTIONS; o++) {
        int up = s[o] > top;
        best = up ? (uint8_t)o : best;
        top = up ? s[o] : top;
    }
    return best;
}

/* Whether the log filter keeps this decision (ps->log != NULL). */
static inline int pass_keep(const pass *ps, uint64_t id, uint8_t prev, uint8_t best)
{
    switch (ps->mode) {
    case VR_AI_LOG_ALL:
        return 1;
    case VR_AI_LOG_SAMPLE:
        return (vr_mix64(id) + ps->p->turn) % ps->every == 0;
    default: /* VR_AI_LOG_CHANGED and unknown modes */
        return prev != best;
    }
}

/* Appends one record (the seqlock steps of ai.h). */
static void pass_log(pass *ps, uint64_t id, uint8_t prev, uint8_t best,
                     const float s[VR_AI_NOPTIONS])
{
    vr_ai_log *log = ps->log;
    __atomic_store_n(&log->claimed, ps->head + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vr_ai_record *r = &ps->slots[ps->head % log->capacity];
    r->turn = ps->p->turn;
    r->entity = id;
    r->cause = ps->p->cause;
    memcpy(r->score, s, sizeof r->score);
    r->kind = ps->kind;
    r->choice = best;
    r->prev = prev;
    r->reserved = 0;
    r->universe = ps->p->universe;
    if (ps->head >= log->capacity)
        log->dropped++;
    ps->head++;
    __atomic_store_n(&log->head, ps->head, __ATOMIC_RELEASE);
}

/* Noise (if any), argmax, log (if kept): the common tail of every row. */
static inline __attribute__((always_inline)) uint8_t pass_decide(pass *ps, uint64_t id, uint8_t prev, float s[VR_AI_NOPTIONS])
{
    if (ps->noise > 0.0f)
        pass_noise(ps, id, s);
    uint8_t best = argmax(s);
    if (ps->log && pass_keep(ps, id, prev, best))
        pass_log(ps, id, prev, best, s);
    return best;
}

static void pass_end(pass *ps, uint32_t n)
{
    if (ps->log)
        ps->log->decisions += n;
}

/* ---- fleets ------------------------------------------------------------ */

static int fleet_obs_ok(const vr_ai_obs *o)
{
    return o && o->id && o->faction && o->own_strength && o->enemy_strength &&
           o->friendly_strength && o->enemy_dist && o->expand_dist && o->asteroid_dist &&
           o->cargo && o->home_threat && o->health && o->morale;
}

vr_ai_obs vr_ai_obs_offset(const vr_ai_obs *o, uint32_t first)
{
    vr_ai_obs r;
    memset(&r, 0, sizeof r);
    if (!o)
        return r;
#define OFF(f) r.f = o->f ? o->f + first : NULL
    OFF(id);
    OFF(faction);
    OFF(prev_choice);
    OFF(own_strength);
    OFF(enemy_strength);
    OFF(friendly_strength);
    OFF(enemy_dist);
    OFF(expand_dist);
    OFF(asteroid_dist);
    OFF(cargo);
    OFF(home_threat);
    OFF(health);
    OFF(morale);
#undef OFF
    return r;
}

/* The fleet rules of ai.h, row i. */
static inline void fleet_scores(pass *ps, const vr_ai_obs *restrict o, uint32_t i,
                                float s[VR_AI_NOPTIONS])
{
    float tmp[VR_AI_NOPTIONS];
    const float *w = weights_of(ps, o->faction[i], tmp);

    float own = strength(o->own_strength[i]);
    float enemy = strength(o->enemy_strength[i]);
    float force = own + 0.5f * strength(o->friendly_strength[i]);
    float threat = strength(o->home_threat[i]);
    float cargo = unit(o->cargo[i]);
    float health = unit(o->health[i]);
    float morale = unit(o->morale[i]);
    float a = advantage(force, enemy);
    float safe = 0.25f + 0.75f * a;

    s[VR_AI_ATTACK] = w[VR_AI_ATTACK] * (2.0f * a * (0.5f + 0.5f * morale) * health *
                                         proximity(o->enemy_dist[i], ps->range));
    s[VR_AI_DEFEND] = w[VR_AI_DEFEND] *
                      (0.05f + 2.0f * threat / (threat + own + 1.0f) * (0.5f + 0.5f * health));
    s[VR_AI_EXPAND] = w[VR_AI_EXPAND] * (0.9f * proximity(o->expand_dist[i], ps->range) * safe);
    s[VR_AI_MINE] = w[VR_AI_MINE] *
                    (0.8f * (1.0f - cargo) * proximity(o->asteroid_dist[i], ps->range) * safe);
    s[VR_AI_TRADE] = w[VR_AI_TRADE] * (0.9f * cargo * safe);
    s[VR_AI_RETREAT] = w[VR_AI_RETREAT] *
                       (1.2f * (1.0f - health) + 1.5f * (1.0f - a) * (1.25f - 0.5f * morale));
}

int vr_ai_decide_fleets(const vr_ai_params *params, const vr_ai_obs *obs, uint32_t n,
                        uint8_t *choice_out, float *scores_out, vr_ai_log *log)
{
    pass ps;
    if (n > 0 && (!fleet_obs_ok(obs) || !choice_out))
        return -VR_EBADARG;
    int rc = pass_begin(&ps, params, log, VR_AI_KIND_FLEET);
    if (rc < 0)
        return rc;
    const uint8_t *prev = obs ? obs->prev_choice : NULL;
    for (uint32_t i = 0; i < n; i++) {
        float s[VR_AI_NOPTIONS];
        fleet_scores(&ps, obs, i, s);
        choice_out[i] = pass_decide(&ps, obs->id[i], prev ? prev[i] : VR_AI_NONE, s);
        if (scores_out)
            memcpy(scores_out + (size_t)i * VR_AI_NOPTIONS, s, sizeof s);
    }
    pass_end(&ps, n);
    return 0;
}

/* ---- factions ---------------------------------------------------------- */

static int faction_obs_ok(const vr_ai_faction_obs *o)
{
    return o && o->id && o->faction && o->strength && o->enemy_strength && o->home_threat &&
           o->targets && o->unclaimed && o->fields && o->stockpile && o->income;
}

/* The faction rules of ai.h, row i; *adv gets a. */
static inline void faction_scores(pass *ps, const vr_ai_faction_obs *restrict o, uint32_t i,
                                  float s[VR_AI_NOPTIONS], float *adv)
{
    float tmp[VR_AI_NOPTIONS];
    const float *w = weights_of(ps, o->faction[i], tmp);

    float own = strength(o->strength[i]);
    float threat = strength(o->home_threat[i]);
    float a = advantage(own, strength(o->enemy_strength[i]));
    float income = o->income[i];
    float mag = fabsf(income);
    if (!(mag < VR_AI_MAX_STRENGTH)) /* NaN or huge */
        mag = income = 0.0f;
    float glut = sat(strength(o->stockpile[i]) / (10.0f * (mag + 1.0f)));

    s[VR_AI_ATTACK] = w[VR_AI_ATTACK] * (2.0f * a * sat(o->targets[i]));
    s[VR_AI_DEFEND] = w[VR_AI_DEFEND] * (0.05f + 2.0f * threat / (threat + own + 1.0f));
    s[VR_AI_EXPAND] = w[VR_AI_EXPAND] * (1.2f * sat(o->unclaimed[i]) * (0.25f + 0.75f * a));
    s[VR_AI_MINE] = w[VR_AI_MINE] * (sat(o->fields[i]) * (1.0f - glut));
    s[VR_AI_TRADE] = w[VR_AI_TRADE] * glut;
    s[VR_AI_RETREAT] = w[VR_AI_RETREAT] * (1.5f * (1.0f - a) + (income < 0.0f ? 0.5f : 0.0f));
    *adv = a;
}

int vr_ai_decide_factions(const vr_ai_params *params, const vr_ai_faction_obs *obs, uint32_t n,
                          vr_ai_faction_out *out, float *scores_out, vr_ai_log *log)
{
    pass ps;
    if (n > 0 && (!faction_obs_ok(obs) || !out))
        return -VR_EBADARG;
    int rc = pass_begin(&ps, params, log, VR_AI_KIND_FACTION);
    if (rc < 0)
        return rc;
    const uint8_t *prev = obs ? obs->prev_choice : NULL;
    for (uint32_t i = 0; i < n; i++) {
        float s[VR_AI_NOPTIONS], a;
        faction_scores(&ps, obs, i, s, &a);
        uint8_t c = pass_decide(&ps, obs->id[i], prev ? prev[i] : VR_AI_NONE, s);

        vr_ai_faction_out *f = &out[i];
        memset(f, 0, sizeof *f);
        f->choice = c;
        f->stance = c == VR_AI_ATTACK                         ? VR_AI_AGGRESSIVE
                    : c == VR_AI_DEFEND || c == VR_AI_RETREAT ? VR_AI_DEFENSIVE
                                                              : VR_AI_BALANCED;
        f->diplomacy = a < 0.35f                          ? VR_AI_DIPLO_SEEK_PEACE
                       : c == VR_AI_ATTACK && a > 0.65f ? VR_AI_DIPLO_SEEK_WAR
                                                         : VR_AI_DIPLO_KEEP;
        /* defend >= 0.05 * its weight > 0, so the sum is never 0 */
        float mil = s[VR_AI_ATTACK] + s[VR_AI_DEFEND] + s[VR_AI_RETREAT];
        float eco = s[VR_AI_MINE] + s[VR_AI_TRADE];
        float expn = s[VR_AI_EXPAND];
        float sum = mil + eco + expn;
        f->military = mil / sum;
        f->economy = eco / sum;
        f->expansion = expn / sum;
        if (scores_out)
            memcpy(scores_out + (size_t)i * VR_AI_NOPTIONS, s, sizeof s);
    }
    pass_end(&ps, n);
    return 0;
}

/* ---- the log ----------------------------------------------------------- */

size_t vr_ai_log_bytes(uint32_t capacity)
{
    return sizeof(vr_ai_log) + (size_t)capacity * sizeof(vr_ai_record);
}

int vr_ai_log_init(vr_ai_log *log, vr_ai_record *records, uint32_t capacity)
{
    if (!log || capacity == 0)
        return -VR_EBADARG;
    memset(log, 0, sizeof *log);
    log->version = VR_AI_LOG_VERSION;
    log->record_size = sizeof(vr_ai_record);
    log->capacity = capacity;
    log->records_off = records ? (int64_t)((uintptr_t)records - (uintptr_t)log)
                               : (int64_t)sizeof(vr_ai_log);
    __atomic_store_n(&log->magic, VR_AI_LOG_MAGIC, __ATOMIC_RELEASE);
    return 0;
}

void vr_ai_log_fini(vr_ai_log *log)
{
    if (!log)
        return;
    log->magic = 0xdeadbeefu;
    log->capacity = 0;
}

int vr_ai_log_append(vr_ai_log *log, const vr_ai_record *r)
{
    if (!log_ok(log) || !r)
        return -VR_EBADARG;
    uint64_t h = log->head;
    __atomic_store_n(&log->claimed, h + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    log_slots(log)[h % log->capacity] = *r;
    if (h >= log->capacity)
        log->dropped++;
    __atomic_store_n(&log->head, h + 1, __ATOMIC_RELEASE);
    return 0;
}

uint64_t vr_ai_log_count(const vr_ai_log *log)
{
    if (!log_ok(log))
        return 0;
    uint64_t h = __atomic_load_n(&log->head, __ATOMIC_ACQUIRE);
    return h < log->capacity ? h : log->capacity;
}

uint64_t vr_ai_log_dropped(const vr_ai_log *log)
{
    return log_ok(log) ? log->dropped : 0;
}

int vr_ai_log_get(const vr_ai_log *log, uint64_t i, vr_ai_record *out)
{
    if (!log_ok(log) || !out)
        return -VR_EBADARG;
    uint64_t cap = log->capacity;
    uint64_t h = __atomic_load_n(&log->head, __ATOMIC_ACQUIRE);
    uint64_t held = h < cap ? h : cap;
    if (i >= held)
        return -VR_ENOTFOUND;
    uint64_t s = h - 1 - i; /* sequence number of the record */
    memcpy(out, &log_slots(log)[s % cap], sizeof *out);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&log->claimed, __ATOMIC_RELAXED) > s + cap)
        return -VR_ETORN;
    return 0;
}
