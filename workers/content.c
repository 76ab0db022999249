/* content.c: built-in procedural content and the loader of content packs in
 * the original engine's JSON layout (parsed with jansson).
 *
 * Both sources fill a "draft": records of the public types whose strings are
 * offsets into a scratch string pool, and whose references (a design's
 * faction, its weapon components, its hull) are still names.  finalize()
 * then turns any draft into a vr_content the same way: it sorts every array
 * by id (strcmp order), rejects duplicate ids, copies strings into the final
 * table in that order, and resolves references by binary search.  So the
 * result depends only on the content, never on JSON object order, and the
 * built-in content obeys exactly the rules a loaded pack does.
 *
 * Rules for what the pack does not state directly:
 *   faction display name  the registry's "name", unless missing, empty or
 *                         "Unknown" (as in the original pack): then the id
 *                         with '_' read as ' '.
 *   weapon mounts         a component whose id is in the weapon registry is a
 *                         weapon mount (repeats count); an unknown component
 *                         in a slot named "weapon..." is an error; anything
 *                         else is a module and is ignored (its effect is
 *                         already in base_stats).
 *   hull class of design  the hull whose id equals the design's type; else
 *                         the first present of the type's aliases (fighter,
 *                         interceptor, bomber -> corvette; frigate ->
 *                         corvette, destroyer; carrier -> battleship,
 *                         cruiser; dreadnought -> battleship, titan;
 *                         interdictor -> cruiser, destroyer; mothership ->
 *                         titan); else the hull named by the type's last
 *                         "_word" (missile_destroyer -> destroyer); else the
 *                         smallest hull.
 *   attacks               sum of the mounted weapons' attacks.
 *   strength, ap          the mounted weapons' strength and ap, weighted by
 *                         their attacks (0 with no weapons).
 *   bs (accuracy)         45 + sensors/5, +10 Elite or +5 Tactical, +5 if a
 *                         weapon is tagged "accurate"; rounded, in 5..95.
 *   md (evasion)          100 * hull evasion, +20 for strike craft (fighter,
 *                         interceptor, bomber); rounded, in 0..95.
 *   leadership            4 + hull tier, +2 Elite or +1 Tactical, +2 if the
 *                         type names a "command" ship; in 0..12.
 * Derived values are computed in double in mount order, so they are the
 * same bits on every IEEE machine (the build disables FP contraction).
 */
#include "content.h"

#include "vr_schema.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <xxhash.h>

#define CONTENT_TAG 0x544E4356u  /* "VCNT": a live vr_content */
#define CONTENT_DEAD 0x44414544u /* "DEAD": poisoned by destroy */
#define MAX_ENTRIES (1u << 22)   /* per array: far above any real pack */
#define PATHLEN 512              /* field paths in messages (truncated if longer) */

struct vr_content {
    uint32_t tag;
    char *str; /* string table; offset 0 is "" */
    size_t nstr;
    vr_faction *fac;
    vr_hull_class *hull;
    vr_weapon *wpn;
    uint32_t *tags;
    vr_design *des;
    uint32_t *dweap;
    uint32_t *fdes; /* design indices grouped by faction (vr_faction.design_first) */
    vr_planet_class *pc;
    uint32_t nfac, nhull, nwpn, ntags, ndes, ndweap, nfdes, npc;
};

/* ---- small helpers ------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

/* Appends n bytes of s and a NUL; *off receives the offset. */
static int sb_addn(sbuf *b, const char *s, size_t n, uint32_t *off)
{
    if (b->len + n + 1 > UINT32_MAX)
        return -ENOMEM;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->p[b->len + n] = '\0';
    *off = (uint32_t)b->len;
    b->len += n + 1;
    return 0;
}

static int sb_add(sbuf *b, const char *s, uint32_t *off) { return sb_addn(b, s, strlen(s), off); }

/* Makes room for need elements in the array whose pointer is at pp
 * (capacity *cap).  The pointer is read and written with memcpy so any
 * element type can share this function without breaking aliasing rules. */
static int grow(void *pp, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    if (need > MAX_ENTRIES * 16u)
        return -ENOMEM;
    uint32_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *p;
    memcpy(&p, pp, sizeof p);
    void *q = realloc(p, (size_t)nc * elem);
    if (!q)
        return -ENOMEM;
    memcpy(pp, &q, sizeof q);
    *cap = nc;
    return 0;
}

static int failf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int failf(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The string at offset off of a record whose first field is a string offset
 * (every record type here starts with its id). */
static const char *rec_id(const char *strs, const void *base, size_t stride, uint32_t i)
{
    uint32_t off;
    memcpy(&off, (const char *)base + (size_t)i * stride, sizeof off);
    return strs + off;
}

/* Binary search of key among n records sorted by id; index or -1. */
static int64_t bsearch_id(const char *strs, const void *base, uint32_t n, size_t stride, const char *key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rec_id(strs, base, stride, mid), key);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

typedef struct sortctx {
    const char *strs;
    const void *base;
    size_t stride;
} sortctx;

static int cmp_perm(const void *a, const void *b, void *arg)
{
    const sortctx *s = arg;
    return strcmp(rec_id(s->strs, s->base, s->stride, *(const uint32_t *)a),
                  rec_id(s->strs, s->base, s->stride, *(const uint32_t *)b));
}

/* *out = the permutation sorting n records by id (caller frees). */
static int sorted_perm(const char *strs, const void *base, uint32_t n, size_t stride, uint32_t **out)
{
    uint32_t *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
    if (!perm)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    sortctx s = {strs, base, stride};
    qsort_r(perm, n, sizeof *perm, cmp_perm, &s);
    *out = perm;
    return 0;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ---- the draft ---------------------------------------------------------- */

typedef struct draft_comp {
    uint32_t comp, slot, index; /* component id, slot name, position in "components" */
} draft_comp;

typedef struct draft_design {
    vr_design d;         /* strings in the draft pool; faction, hull, weapons unresolved */
    uint32_t faction_id; /* draft string */
    uint32_t comp_first, ncomp;
} draft_design;

typedef struct draft {
    sbuf s;
    vr_faction *fac;
    vr_hull_class *hull;
    vr_weapon *wpn;
    uint32_t *tags; /* draft strings */
    draft_design *des;
    draft_comp *comp;
    vr_planet_class *pc;
    uint32_t nfac, nhull, nwpn, ntags, ndes, ncomp, npc;
    uint32_t cfac, chull, cwpn, ctags, cdes, ccomp, cpc;
} draft;

static int draft_init(draft *d)
{
    memset(d, 0, sizeof *d);
    uint32_t off;
    return sb_add(&d->s, "", &off); /* offset 0 is "" */
}

static void draft_fini(draft *d)
{
    free(d->s.p);
    free(d->fac);
    free(d->hull);
    free(d->wpn);
    free(d->tags);
    free(d->des);
    free(d->comp);
    free(d->pc);
    memset(d, 0, sizeof *d);
}

#define PUSH(d, arr, n, cap, val)                                                          \
    do {                                                                                   \
        int rc_ = grow(&(d)->arr, &(d)->cap, (d)->n + 1, sizeof *(d)->arr);                \
        if (rc_)                                                                           \
            return rc_;                                                                    \
        (d)->arr[(d)->n++] = (val);                                                        \
    } while (0)

/* Adds id with '_' read as ' ' (a display name derived from an id). */
static int sb_add_display(sbuf *b, const char *id, uint32_t *off)
{
    int rc = sb_add(b, id, off);
    if (rc)
        return rc;
    for (char *p = b->p + *off; *p; p++)
        if (*p == '_')
            *p = ' ';
    return 0;
}

/* ---- built-in tables ---------------------------------------------------- */

static const struct hull_def {
    const char *id, *name;
    uint32_t size, tier;
    float hp, evasion, armor, speed;
    uint32_t mounts; /* weapon mounts of a built-in standard design */
} builtin_hulls[] = {
    {"corvette", "Corvette", 1, 1, 300.0f, 0.60f, 0.0f, 160.0f, 1},
    {"frigate", "Frigate", 2, 1, 550.0f, 0.45f, 5.0f, 150.0f, 2},
    {"destroyer", "Destroyer", 3, 2, 800.0f, 0.35f, 10.0f, 140.0f, 3},
    {"cruiser", "Cruiser", 4, 3, 1800.0f, 0.15f, 20.0f, 120.0f, 4},
    {"battleship", "Battleship", 8, 4, 4000.0f, 0.05f, 40.0f, 100.0f, 6},
    {"titan", "Titan", 16, 5, 15000.0f, 0.01f, 80.0f, 60.0f, 10},
};
#define NBUILTIN_HULLS (sizeof builtin_hulls / sizeof builtin_hulls[0])

static const struct planet_def {
    const char *name;
    uint32_t slots;
    float req_mod, def_mod;
} builtin_planets[] = {
    {"Barren Rock", 1, 0.5f, 0.6f}, {"Desert World", 3, 0.8f, 1.1f},
    {"Forge World", 8, 1.3f, 1.5f}, {"Ice World", 2, 0.7f, 1.0f},
    {"Ocean World", 4, 1.1f, 0.9f}, {"Terran World", 5, 1.0f, 1.0f},
};

static int draft_builtin_hulls(draft *d)
{
    for (size_t i = 0; i < NBUILTIN_HULLS; i++) {
        const struct hull_def *h = &builtin_hulls[i];
        vr_hull_class v = {.size = h->size, .tier = h->tier, .hp = h->hp,
                           .evasion = h->evasion, .armor = h->armor, .speed = h->speed};
        int rc = sb_add(&d->s, h->id, &v.id);
        if (!rc)
            rc = sb_add(&d->s, h->name, &v.name);
        if (rc)
            return rc;
        PUSH(d, hull, nhull, chull, v);
    }
    return 0;
}

static int draft_builtin_planets(draft *d)
{
    for (size_t i = 0; i < sizeof builtin_planets / sizeof builtin_planets[0]; i++) {
        const struct planet_def *p = &builtin_planets[i];
        vr_planet_class v = {.slots = p->slots, .req_mod = p->req_mod, .def_mod = p->def_mod};
        int rc = sb_add(&d->s, p->name, &v.name);
        if (rc)
            return rc;
        PUSH(d, pc, npc, cpc, v);
    }
    return 0;
}

/* ---- finalize: draft -> vr_content -------------------------------------- */

/* File names for messages about each part of the draft. */
typedef struct srcnames {
    const char *factions, *weapons, *designs, *hulls, *planets;
} srcnames;

static const char *const strike_craft[] = {"fighter", "interceptor", "bomber"};

static const struct hull_alias {
    const char *type;
    const char *hull[2];
} hull_aliases[] = {
    {"fighter", {"corvette", NULL}},      {"interceptor", {"corvette", NULL}},
    {"bomber", {"corvette", NULL}},       {"frigate", {"corvette", "destroyer"}},
    {"carrier", {"battleship", "cruiser"}}, {"dreadnought", {"battleship", "titan"}},
    {"interdictor", {"cruiser", "destroyer"}}, {"mothership", {"titan", NULL}},
};

/* Hull index for a design type (rule at the top of the file). */
static uint32_t hull_for_type(const vr_content *c, const char *type)
{
    int64_t h = bsearch_id(c->str, c->hull, c->nhull, sizeof *c->hull, type);
    if (h >= 0)
        return (uint32_t)h;
    for (size_t i = 0; i < sizeof hull_aliases / sizeof hull_aliases[0]; i++) {
        if (strcmp(hull_aliases[i].type, type) != 0)
            continue;
        for (int k = 0; k < 2 && hull_aliases[i].hull[k]; k++) {
            h = bsearch_id(c->str, c->hull, c->nhull, sizeof *c->hull, hull_aliases[i].hull[k]);
            if (h >= 0)
                return (uint32_t)h;
        }
    }
    const char *us = strrchr(type, '_');
    if (us) {
        h = bsearch_id(c->str, c->hull, c->nhull, sizeof *c->hull, us + 1);
        if (h >= 0)
            return (uint32_t)h;
    }
    uint32_t best = 0;
    for (uint32_t i = 1; i < c->nhull; i++)
        if (c->hull[i].size < c->hull[best].size)
            best = i;
    return best;
}

/* Fills the derived combat stats of v (weapons and hull already resolved). */
static void derive(const vr_content *c, vr_design *v, const char *type)
{
    double att = 0.0, str = 0.0, ap = 0.0;
    int accurate = 0;
    for (uint32_t k = 0; k < v->nweapons; k++) {
        const vr_weapon *w = &c->wpn[c->dweap[v->weapon_first + k]];
        att += w->attacks;
        str += (double)w->attacks * w->strength;
        ap += (double)w->attacks * w->ap;
        accurate |= (w->tag_mask & VR_WTAG(ACCURATE)) != 0;
    }
    v->attacks = (float)att;
    v->strength = att > 0.0 ? (float)(str / att) : 0.0f;
    v->ap = att > 0.0 ? (float)(ap / att) : 0.0f;

    const vr_hull_class *h = &c->hull[v->hull];
    int elite = (v->traits & VR_TRAIT_ELITE) != 0;
    int tactical = !elite && (v->traits & VR_TRAIT_TACTICAL) != 0;
    double bs = 45.0 + v->sensors / 5.0 + (elite ? 10 : tactical ? 5 : 0) + (accurate ? 5 : 0);
    v->bs = (uint8_t)lround(clampd(bs, 5.0, 95.0));
    int strike = 0;
    for (size_t i = 0; i < sizeof strike_craft / sizeof strike_craft[0]; i++)
        strike |= strcmp(type, strike_craft[i]) == 0;
    v->md = (uint8_t)lround(clampd(100.0 * h->evasion + (strike ? 20 : 0), 0.0, 95.0));
    double lead = 4.0 + h->tier + (elite ? 2 : tactical ? 1 : 0) + (strstr(type, "command") ? 2 : 0);
    v->leadership = (uint8_t)lround(clampd(lead, 0.0, 12.0));
}

static uint32_t tag_bits(const char *tag)
{
    static const char *const names[] = {
#define VR_WTAG_NAME_(name, str) str,
        VR_WEAPON_TAGS(VR_WTAG_NAME_)
#undef VR_WTAG_NAME_
    };
    for (uint32_t i = 0; i < VR_WTAG_COUNT; i++)
        if (strcasecmp(tag, names[i]) == 0)
            return 1u << i;
    return 0;
}

/* Sorted permutation of a draft array, with a duplicate check. */
static int perm_unique(const draft *d, const void *base, uint32_t n, size_t stride, const char *file,
                       const char *what, uint32_t **perm, char *err, size_t errlen)
{
    int rc = sorted_perm(d->s.p, base, n, stride, perm);
    if (rc)
        return failf(err, errlen, rc, "%s: out of memory sorting %ss", file, what);
    for (uint32_t i = 1; i < n; i++) {
        const char *a = rec_id(d->s.p, base, stride, (*perm)[i - 1]);
        if (strcmp(a, rec_id(d->s.p, base, stride, (*perm)[i])) == 0) {
            free(*perm);
            *perm = NULL;
            return failf(err, errlen, -VR_ECONTENT, "%s: %s id '%s' appears twice", file, what, a);
        }
    }
    return 0;
}

#define ADDSTR(field)                                                                      \
    do {                                                                                   \
        rc = sb_add(&s, d->s.p + (field), &(field));                                       \
        if (rc)                                                                            \
            goto nomem;                                                                    \
    } while (0)

static int finalize(draft *d, const srcnames *src, vr_content **out, char *err, size_t errlen)
{
    uint32_t *perm = NULL;
    sbuf s = {0};
    int rc;
    vr_content *c = calloc(1, sizeof *c);
    if (!c)
        return failf(err, errlen, -ENOMEM, "out of memory");
    c->tag = CONTENT_TAG;
    uint32_t zero;
    if ((rc = sb_add(&s, "", &zero)) != 0)
        goto nomem;

    if (d->nfac == 0) {
        rc = failf(err, errlen, -VR_ECONTENT, "%s: no factions (the registry is empty)", src->factions);
        goto fail;
    }
    if (d->nwpn == 0) {
        rc = failf(err, errlen, -VR_ECONTENT, "%s: no weapons (the registry is empty)", src->weapons);
        goto fail;
    }
    if (d->ndes == 0) {
        rc = failf(err, errlen, -VR_ECONTENT, "%s: no ship designs (the roster is empty)", src->designs);
        goto fail;
    }
    if (d->nhull == 0) {
        rc = failf(err, errlen, -VR_ECONTENT, "%s: no hull classes", src->hulls);
        goto fail;
    }

    /* Factions. */
    if ((rc = perm_unique(d, d->fac, d->nfac, sizeof *d->fac, src->factions, "faction", &perm, err, errlen)))
        goto fail;
    if (!(c->fac = calloc(d->nfac, sizeof *c->fac)))
        goto nomem;
    for (uint32_t i = 0; i < d->nfac; i++) {
        vr_faction f = d->fac[perm[i]];
        ADDSTR(f.id);
        ADDSTR(f.name);
        f.index = i;
        c->fac[i] = f;
    }
    c->nfac = d->nfac;
    free(perm);
    perm = NULL;

    /* Hull classes. */
    if ((rc = perm_unique(d, d->hull, d->nhull, sizeof *d->hull, src->hulls, "hull", &perm, err, errlen)))
        goto fail;
    if (!(c->hull = calloc(d->nhull, sizeof *c->hull)))
        goto nomem;
    for (uint32_t i = 0; i < d->nhull; i++) {
        vr_hull_class h = d->hull[perm[i]];
        ADDSTR(h.id);
        ADDSTR(h.name);
        c->hull[i] = h;
    }
    c->nhull = d->nhull;
    free(perm);
    perm = NULL;

    /* Weapons and their tags. */
    if ((rc = perm_unique(d, d->wpn, d->nwpn, sizeof *d->wpn, src->weapons, "weapon", &perm, err, errlen)))
        goto fail;
    if (!(c->wpn = calloc(d->nwpn, sizeof *c->wpn)) ||
        !(c->tags = calloc(d->ntags ? d->ntags : 1, sizeof *c->tags)))
        goto nomem;
    for (uint32_t i = 0; i < d->nwpn; i++) {
        vr_weapon w = d->wpn[perm[i]];
        ADDSTR(w.id);
        ADDSTR(w.name);
        ADDSTR(w.category);
        uint32_t first = c->ntags;
        w.tag_mask = 0;
        for (uint32_t k = 0; k < w.ntags; k++) {
            uint32_t t = d->tags[w.tag_first + k];
            w.tag_mask |= tag_bits(d->s.p + t);
            ADDSTR(t);
            c->tags[c->ntags++] = t;
        }
        w.tag_first = first;
        c->wpn[i] = w;
    }
    c->nwpn = d->nwpn;
    free(perm);
    perm = NULL;

    /* Designs: resolve faction, weapons and hull, derive combat stats. */
    if ((rc = perm_unique(d, d->des, d->ndes, sizeof *d->des, src->designs, "design", &perm, err, errlen)))
        goto fail;
    uint32_t nmounts = 0;
    for (uint32_t i = 0; i < d->ndes; i++)
        nmounts += d->des[i].ncomp;
    if (!(c->des = calloc(d->ndes, sizeof *c->des)) ||
        !(c->dweap = calloc(nmounts ? nmounts : 1, sizeof *c->dweap)))
        goto nomem;
    for (uint32_t i = 0; i < d->ndes; i++) {
        const draft_design *dd = &d->des[perm[i]];
        vr_design v = dd->d;
        const char *id = d->s.p + v.id, *type = d->s.p + v.type;
        const char *fname = d->s.p + dd->faction_id;
        int64_t f = bsearch_id(s.p, c->fac, c->nfac, sizeof *c->fac, fname);
        if (f < 0) {
            rc = failf(err, errlen, -VR_ECONTENT,
                       "%s: %s.faction: design %s references unknown faction '%s' (not in %s)",
                       src->designs, id, id, fname, src->factions);
            goto fail;
        }
        v.faction = (uint32_t)f;
        v.weapon_first = c->ndweap;
        v.nweapons = 0;
        for (uint32_t k = 0; k < dd->ncomp; k++) {
            const draft_comp *cp = &d->comp[dd->comp_first + k];
            const char *comp = d->s.p + cp->comp, *slot = d->s.p + cp->slot;
            int64_t w = bsearch_id(s.p, c->wpn, c->nwpn, sizeof *c->wpn, comp);
            if (w >= 0) {
                c->dweap[c->ndweap++] = (uint32_t)w;
                v.nweapons++;
            } else if (strncasecmp(slot, "weapon", 6) == 0) {
                rc = failf(err, errlen, -VR_ECONTENT,
                           "%s: %s.components[%u].component: design %s references unknown weapon "
                           "component '%s' in slot '%s' (not in %s)",
                           src->designs, id, cp->index, id, comp, slot, src->weapons);
                goto fail;
            }
        }
        c->str = s.p; /* hull_for_type() reads the table through c */
        v.hull = hull_for_type(c, type);
        derive(c, &v, type);
        ADDSTR(v.id);
        ADDSTR(v.name);
        ADDSTR(v.type);
        c->des[i] = v;
    }
    c->ndes = d->ndes;
    free(perm);
    perm = NULL;

    /* Designs of each faction, grouped (a counting sort keeps id order). */
    if (!(c->fdes = calloc(c->ndes, sizeof *c->fdes)))
        goto nomem;
    for (uint32_t i = 0; i < c->ndes; i++)
        c->fac[c->des[i].faction].ndesigns++;
    for (uint32_t f = 0, at = 0; f < c->nfac; f++) {
        c->fac[f].design_first = at;
        at += c->fac[f].ndesigns;
        c->fac[f].ndesigns = 0;
    }
    for (uint32_t i = 0; i < c->ndes; i++) {
        vr_faction *f = &c->fac[c->des[i].faction];
        c->fdes[f->design_first + f->ndesigns++] = i;
    }
    c->nfdes = c->ndes;

    /* Planet classes (may be none). */
    if ((rc = perm_unique(d, d->pc, d->npc, sizeof *d->pc, src->planets, "planet class", &perm, err, errlen)))
        goto fail;
    if (!(c->pc = calloc(d->npc ? d->npc : 1, sizeof *c->pc)))
        goto nomem;
    for (uint32_t i = 0; i < d->npc; i++) {
        vr_planet_class p = d->pc[perm[i]];
        ADDSTR(p.name);
        c->pc[i] = p;
    }
    c->npc = d->npc;
    free(perm);
    perm = NULL;

    c->str = s.p;
    c->nstr = s.len;
    *out = c;
    return 0;

nomem:
    rc = failf(err, errlen, -ENOMEM, "out of memory building content");
fail:
    free(perm);
    c->str = s.p;
    vr_content_destroy(&c);
    return rc;
}

/* ---- built-in procedural content ---------------------------------------- */

/* Random streams of the built-in content (the last argument of vr_rand);
 * far from the simulation's streams in vr_sim.h. */
enum {
    CS_NAME = 0x434f0001,
    CS_SUFFIX,
    CS_WEAPON,
    CS_MARK,
    CS_DESIGN,
    CS_MOUNT,
};

static double u01(uint64_t seed, uint64_t entity, uint32_t stream)
{
    return (double)(vr_rand(seed, 0, 0, entity, stream) >> 11) * 0x1p-53;
}

static double round2(double x) { return round(x * 100.0) / 100.0; }

#define NB_FACTIONS 6
#define NB_ARCH 7
#define NB_FITS 10 /* designs per faction */
_Static_assert(NB_FACTIONS * NB_FITS == VR_CONTENT_BUILTIN_DESIGNS, "content.h states the built-in design count");

static const struct weapon_arch {
    const char *key, *name, *category, *tags;
    double range, strength, ap, attacks;
} weapon_archs[NB_ARCH] = {
    {"laser", "Laser Battery", "Energy", "energy,laser,accurate", 30, 4, -1, 2},
    {"railgun", "Railgun", "Ballistic", "kinetic,railgun,long_range", 45, 6, -2, 1},
    {"missile", "Missile Rack", "Ballistic", "explosive,missile,long_range", 60, 7, -2, 1.5},
    {"plasma", "Plasma Cannon", "Energy", "energy,plasma,heavy", 25, 9, -3, 1},
    {"melta", "Melta Lance", "Thermal", "thermal,melta,anti_tank", 12, 12, -4, 1},
    {"ion", "Ion Cannon", "Energy", "energy,ion,anti_shield", 35, 5, -1, 1.5},
    {"flak", "Flak Array", "Ballistic", "kinetic,pd,anti_fighter", 15, 2, 0, 6},
};

static const char *const name_syllables[16] = {"kor", "vath", "ael", "drun", "sel", "mor", "tyr", "xan",
                                               "ul", "vex", "zar", "oth", "cyr", "nar", "ith", "qel"};
static const char *const name_suffixes[8] = {"Dominion", "Collective", "Hegemony", "Syndicate",
                                             "Covenant", "Concordat", "Ascendancy", "Remnant"};

static int builtin_draft(draft *d, uint64_t seed)
{
    int rc;
    uint32_t wid[NB_FACTIONS][NB_ARCH];
    char fid[NB_FACTIONS][64], fdisp[NB_FACTIONS][64];

    /* Distinct suffixes (a seeded shuffle) make the ids distinct. */
    int suf[8];
    for (int i = 0; i < 8; i++)
        suf[i] = i;
    for (int i = 7; i > 0; i--) {
        int j = (int)(vr_rand(seed, 0, 0, (uint64_t)i, CS_SUFFIX) % (uint64_t)(i + 1));
        int t = suf[i];
        suf[i] = suf[j];
        suf[j] = t;
    }
    for (int f = 0; f < NB_FACTIONS; f++) {
        uint64_t ia = vr_rand(seed, 0, 0, (uint64_t)f * 2, CS_NAME) % 16;
        uint64_t ib = (ia + 1 + vr_rand(seed, 0, 0, (uint64_t)f * 2 + 1, CS_NAME) % 15) % 16; /* != ia */
        const char *a = name_syllables[ia], *b = name_syllables[ib];
        char stem[32];
        snprintf(stem, sizeof stem, "%c%s%s", a[0] - 'a' + 'A', a + 1, b);
        snprintf(fid[f], sizeof fid[f], "%s_%s", stem, name_suffixes[suf[f]]);
        snprintf(fdisp[f], sizeof fdisp[f], "%s %s", stem, name_suffixes[suf[f]]);
        vr_faction v = {0};
        if ((rc = sb_add(&d->s, fid[f], &v.id)) || (rc = sb_add(&d->s, fdisp[f], &v.name)))
            return rc;
        PUSH(d, fac, nfac, cfac, v);
    }

    /* Weapons: each faction's take on every archetype, stats jittered by
     * +-15% and rounded to hundredths like the original pack's. */
    for (int f = 0; f < NB_FACTIONS; f++) {
        for (int a = 0; a < NB_ARCH; a++) {
            const struct weapon_arch *w = &weapon_archs[a];
            uint64_t e = (uint64_t)f * 64 + (uint64_t)a * 8;
            unsigned mark = 1 + (unsigned)(vr_rand(seed, 0, 0, e, CS_MARK) % 3);
            char buf[160];
            vr_weapon v = {0};
            snprintf(buf, sizeof buf, "%s_%s_mk%u", fid[f], w->key, mark);
            if ((rc = sb_add(&d->s, buf, &v.id)))
                return rc;
            wid[f][a] = v.id;
            snprintf(buf, sizeof buf, "%s Mk %u %s", fdisp[f], mark, w->name);
            if ((rc = sb_add(&d->s, buf, &v.name)) || (rc = sb_add(&d->s, w->category, &v.category)))
                return rc;
            v.range = (float)round2(w->range * (0.85 + 0.3 * u01(seed, e + 0, CS_WEAPON)));
            v.strength = (float)round2(w->strength * (0.85 + 0.3 * u01(seed, e + 1, CS_WEAPON)));
            v.ap = (float)round2(w->ap * (0.85 + 0.3 * u01(seed, e + 2, CS_WEAPON)));
            v.attacks = (float)round2(w->attacks * (0.85 + 0.3 * u01(seed, e + 3, CS_WEAPON)));
            v.tag_first = d->ntags;
            for (const char *p = w->tags; *p;) {
                size_t n = strcspn(p, ",");
                uint32_t t;
                if ((rc = sb_addn(&d->s, p, n, &t)))
                    return rc;
                PUSH(d, tags, ntags, ctags, t);
                v.ntags++;
                p += n + (p[n] == ',');
            }
            PUSH(d, wpn, nwpn, cwpn, v);
        }
    }

    /* Designs: a standard design on every hull, a tactical one (one more
     * mount, better crews) on corvette, destroyer, cruiser and battleship. */
    static const struct { int hull; int tactical; } fits[NB_FITS] = {
        {0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}, {0, 1}, {2, 1}, {3, 1}, {4, 1},
    };
    for (int f = 0; f < NB_FACTIONS; f++) {
        for (int j = 0; j < NB_FITS; j++) {
            const struct hull_def *h = &builtin_hulls[fits[j].hull];
            int tac = fits[j].tactical;
            uint64_t e = ((uint64_t)f * 16 + (uint64_t)j) * 64;
            draft_design dd = {0};
            vr_design *v = &dd.d;
            char buf[200], lower[64];
            size_t k;
            for (k = 0; fid[f][k] && k + 1 < sizeof lower; k++)
                lower[k] = (char)(fid[f][k] >= 'A' && fid[f][k] <= 'Z' ? fid[f][k] - 'A' + 'a' : fid[f][k]);
            lower[k] = '\0';
            snprintf(buf, sizeof buf, "%s_%s_%s", lower, h->id, tac ? "tactical" : "standard");
            if ((rc = sb_add(&d->s, buf, &v->id)))
                return rc;
            snprintf(buf, sizeof buf, "%s %s %s", fdisp[f], tac ? "Tactical" : "Standard", h->name);
            if ((rc = sb_add(&d->s, buf, &v->name)) || (rc = sb_add(&d->s, h->id, &v->type)) ||
                (rc = sb_add(&d->s, fid[f], &dd.faction_id)))
                return rc;
            v->traits = tac ? VR_TRAIT_TACTICAL : VR_TRAIT_STANDARD;
            dd.comp_first = d->ncomp;
            uint32_t mounts = h->mounts + (uint32_t)tac;
            double dmg = 0.0, range = 0.0;
            uint32_t slot;
            if ((rc = sb_add(&d->s, "weapon", &slot)))
                return rc;
            for (uint32_t m = 0; m < mounts; m++) {
                uint32_t a = (uint32_t)(vr_rand(seed, 0, 0, e + m, CS_MOUNT) % NB_ARCH);
                const vr_weapon *w = &d->wpn[(uint32_t)f * NB_ARCH + a];
                dmg += (double)w->strength * w->attacks;
                range = w->range > range ? w->range : range;
                draft_comp cp = {.comp = wid[f][a], .slot = slot, .index = m};
                PUSH(d, comp, ncomp, ccomp, cp);
                dd.ncomp++;
            }
            v->hp = (float)round(h->hp * (0.9 + 0.2 * u01(seed, e, CS_DESIGN)));
            v->armor = (float)round(h->armor * (0.8 + 0.4 * u01(seed, e + 1, CS_DESIGN)));
            v->shield = (float)round(h->size * 25.0 * u01(seed, e + 2, CS_DESIGN));
            v->speed = (float)round(h->speed * (0.35 + 0.1 * u01(seed, e + 3, CS_DESIGN)));
            v->sensors = (float)round(10.0 * h->tier + 20.0 * u01(seed, e + 4, CS_DESIGN));
            v->damage = (float)round(dmg);
            v->range = (float)range;
            v->cost = (uint32_t)round((v->hp * 0.5 + dmg * 10.0 + v->shield * 2.0) * (tac ? 1.2 : 1.0));
            PUSH(d, des, ndes, cdes, dd);
        }
    }
    if ((rc = draft_builtin_hulls(d)))
        return rc;
    return draft_builtin_planets(d);
}

int vr_content_builtin(vr_content **out, uint64_t seed)
{
    if (!out)
        return -VR_EBADARG;
    *out = NULL;
    draft d;
    int rc = draft_init(&d);
    if (!rc)
        rc = builtin_draft(&d, seed);
    if (!rc) {
        srcnames src = {"builtin", "builtin", "builtin", "builtin", "builtin"};
        rc = finalize(&d, &src, out, NULL, 0);
    }
    draft_fini(&d);
    return rc;
}

/* ---- the pack loader ---------------------------------------------------- */

typedef struct loader {
    draft d;
    const char *file; /* name of the file being read, relative to the pack */
    char *err;
    size_t errlen;
} loader;

static int bad(loader *L, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(loader *L, const char *path, const char *fmt, ...)
{
    if (L->err && L->errlen) {
        int n = snprintf(L->err, L->errlen, "%s: %s: ", L->file, path);
        if (n >= 0 && (size_t)n < L->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -VR_ECONTENT;
}

static int nomem(loader *L) { return failf(L->err, L->errlen, -ENOMEM, "%s: out of memory", L->file); }

static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Field key of obj (path prefix.key).  Absent (or null when optional):
 * error if required, else *out = NULL.  Present: must have type t. */
static int get_field(loader *L, json_t *obj, const char *prefix, const char *key, int required,
                     json_type t, const char *tname, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    char path[PATHLEN];
    int plen = snprintf(path, sizeof path, "%s.%s", prefix, key);
    *out = NULL;
    if (plen < 0 || (size_t)plen >= sizeof path)
        return bad(L, prefix, "field path too long");
    if (!v || (json_is_null(v) && !required)) {
        if (required)
            return bad(L, path, "required field is missing");
        return 0;
    }
    int ok = json_typeof(v) == t || (t == JSON_REAL && json_is_number(v));
    if (!ok)
        return bad(L, path, "expected %s, got %s", tname, jtype(v));
    *out = v;
    return 0;
}

static int get_num(loader *L, json_t *obj, const char *prefix, const char *key, int required,
                   double def, double lo, double hi, double *out)
{
    json_t *v;
    int rc = get_field(L, obj, prefix, key, required, JSON_REAL, "a number", &v);
    if (rc)
        return rc;
    if (!v) {
        *out = def;
        return 0;
    }
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) {
        char path[PATHLEN];
        snprintf(path, sizeof path, "%s.%s", prefix, key);
        return bad(L, path, "%g is out of range [%g, %g]", x, lo, hi);
    }
    *out = x;
    return 0;
}

static int get_str(loader *L, json_t *obj, const char *prefix, const char *key, int required, const char **out)
{
    json_t *v;
    int rc = get_field(L, obj, prefix, key, required, JSON_STRING, "a string", &v);
    *out = v ? json_string_value(v) : NULL;
    return rc;
}

/* Optional string field into the draft pool (def when absent). */
static int get_pstr(loader *L, json_t *obj, const char *prefix, const char *key, const char *def, uint32_t *off)
{
    const char *s;
    int rc = get_str(L, obj, prefix, key, 0, &s);
    if (rc)
        return rc;
    return sb_add(&L->d.s, s ? s : def, off) ? nomem(L) : 0;
}

typedef int (*entry_fn)(loader *L, const char *id, json_t *v);

/* Calls fn for every entry of a registry: an object keyed by id (the
 * original layout), or an array of objects carrying idkey. */
static int each_entry(loader *L, json_t *root, const char *idkey, entry_fn fn)
{
    const char *id;
    json_t *v;
    int rc;
    if (json_is_object(root)) {
        json_object_foreach(root, id, v) {
            if (!*id)
                return bad(L, "(top level)", "an entry has an empty id");
            if (!json_is_object(v))
                return bad(L, id, "expected an object, got %s", jtype(v));
            if ((rc = fn(L, id, v)))
                return rc;
        }
        return 0;
    }
    if (json_is_array(root)) {
        size_t i;
        json_array_foreach(root, i, v) {
            char path[32];
            snprintf(path, sizeof path, "[%zu]", i);
            if (!json_is_object(v))
                return bad(L, path, "expected an object, got %s", jtype(v));
            if ((rc = get_str(L, v, path, idkey, 1, &id)))
                return rc;
            if (!*id)
                return bad(L, path, "%s is empty", idkey);
            if ((rc = fn(L, id, v)))
                return rc;
        }
        return 0;
    }
    return bad(L, "(top level)", "expected an object or an array, got %s", jtype(root));
}

static int load_faction(loader *L, const char *id, json_t *v)
{
    draft *d = &L->d;
    vr_faction f = {0};
    const char *name;
    int rc = get_str(L, v, id, "name", 0, &name);
    if (rc)
        return rc;
    if (d->nfac >= MAX_ENTRIES)
        return bad(L, id, "more than %u factions", MAX_ENTRIES);
    if (sb_add(&d->s, id, &f.id))
        return nomem(L);
    if (!name || !*name || strcmp(name, "Unknown") == 0)
        rc = sb_add_display(&d->s, id, &f.name);
    else
        rc = sb_add(&d->s, name, &f.name);
    if (rc || grow(&d->fac, &d->cfac, d->nfac + 1, sizeof *d->fac))
        return nomem(L);
    d->fac[d->nfac++] = f;
    return 0;
}

static int load_weapon(loader *L, const char *id, json_t *v)
{
    draft *d = &L->d;
    vr_weapon w = {0};
    json_t *stats, *tags;
    char path[PATHLEN];
    double range, strength, ap, attacks;
    int rc;
    if (d->nwpn >= MAX_ENTRIES)
        return bad(L, id, "more than %u weapons", MAX_ENTRIES);
    if (sb_add(&d->s, id, &w.id))
        return nomem(L);
    if ((rc = get_pstr(L, v, id, "name", id, &w.name)) || (rc = get_pstr(L, v, id, "category", "", &w.category)))
        return rc;
    if ((rc = get_field(L, v, id, "stats", 1, JSON_OBJECT, "an object", &stats)))
        return rc;
    snprintf(path, sizeof path, "%s.stats", id);
    if ((rc = get_num(L, stats, path, "range", 1, 0, 0, 1e9, &range)) ||
        (rc = get_num(L, stats, path, "strength", 1, 0, 0, 1e9, &strength)) ||
        (rc = get_num(L, stats, path, "ap", 1, 0, -1e9, 1e9, &ap)) ||
        (rc = get_num(L, stats, path, "attacks", 1, 0, 0, 1e9, &attacks)))
        return rc;
    w.range = (float)range;
    w.strength = (float)strength;
    w.ap = (float)ap;
    w.attacks = (float)attacks;
    if ((rc = get_field(L, v, id, "tags", 0, JSON_ARRAY, "an array", &tags)))
        return rc;
    w.tag_first = d->ntags;
    if (tags) {
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t) {
            if (!json_is_string(t))
                return bad(L, id, "tags[%zu]: expected a string, got %s", i, jtype(t));
            uint32_t off;
            if (sb_add(&d->s, json_string_value(t), &off) || grow(&d->tags, &d->ctags, d->ntags + 1, sizeof *d->tags))
                return nomem(L);
            d->tags[d->ntags++] = off;
            w.ntags++;
        }
    }
    if (grow(&d->wpn, &d->cwpn, d->nwpn + 1, sizeof *d->wpn))
        return nomem(L);
    d->wpn[d->nwpn++] = w;
    return 0;
}

static uint8_t trait_bit(const char *t)
{
    if (strcasecmp(t, "Standard") == 0)
        return VR_TRAIT_STANDARD;
    if (strcasecmp(t, "Tactical") == 0)
        return VR_TRAIT_TACTICAL;
    if (strcasecmp(t, "Elite") == 0)
        return VR_TRAIT_ELITE;
    if (strcasecmp(t, "Interdictor") == 0)
        return VR_TRAIT_INTERDICTOR;
    return 0;
}

static int load_design(loader *L, const char *id, json_t *v)
{
    draft *d = &L->d;
    draft_design dd = {0};
    vr_design *ds = &dd.d;
    json_t *bs, *comps, *traits;
    const char *type, *faction;
    char path[PATHLEN];
    double x;
    int rc;
    if (d->ndes >= MAX_ENTRIES)
        return bad(L, id, "more than %u designs", MAX_ENTRIES);
    if (sb_add(&d->s, id, &ds->id))
        return nomem(L);
    if ((rc = get_pstr(L, v, id, "name", id, &ds->name)))
        return rc;
    if ((rc = get_str(L, v, id, "type", 1, &type)) || (rc = get_str(L, v, id, "faction", 1, &faction)))
        return rc;
    if (sb_add(&d->s, type, &ds->type) || sb_add(&d->s, faction, &dd.faction_id))
        return nomem(L);
    if ((rc = get_num(L, v, id, "cost", 1, 0, 0, (double)UINT32_MAX, &x)))
        return rc;
    ds->cost = (uint32_t)llround(x);
    if ((rc = get_field(L, v, id, "base_stats", 1, JSON_OBJECT, "an object", &bs)))
        return rc;
    snprintf(path, sizeof path, "%s.base_stats", id);
    static const struct { const char *key; size_t off; int required; double lo; } stats[] = {
        {"hp", offsetof(vr_design, hp), 1, 1e-9},
        {"armor", offsetof(vr_design, armor), 0, 0},
        {"shield", offsetof(vr_design, shield), 0, 0},
        {"damage", offsetof(vr_design, damage), 0, 0},
        {"speed", offsetof(vr_design, speed), 1, 0},
        {"range", offsetof(vr_design, range), 0, 0},
        {"sensors", offsetof(vr_design, sensors), 0, 0},
    };
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        if ((rc = get_num(L, bs, path, stats[i].key, stats[i].required, 0, stats[i].lo, 1e12, &x)))
            return rc;
        float f = (float)x;
        memcpy((char *)ds + stats[i].off, &f, sizeof f);
    }

    if ((rc = get_field(L, v, id, "traits", 0, JSON_ARRAY, "an array", &traits)))
        return rc;
    if (traits) {
        size_t i;
        json_t *t;
        json_array_foreach(traits, i, t) {
            if (!json_is_string(t))
                return bad(L, id, "traits[%zu]: expected a string, got %s", i, jtype(t));
            ds->traits |= trait_bit(json_string_value(t));
        }
    }

    if ((rc = get_field(L, v, id, "components", 0, JSON_ARRAY, "an array", &comps)))
        return rc;
    dd.comp_first = d->ncomp;
    if (comps) {
        size_t i;
        json_t *cv;
        json_array_foreach(comps, i, cv) {
            snprintf(path, sizeof path, "%s.components[%zu]", id, i);
            if (!json_is_object(cv))
                return bad(L, path, "expected an object, got %s", jtype(cv));
            const char *comp, *slot;
            if ((rc = get_str(L, cv, path, "component", 1, &comp)) || (rc = get_str(L, cv, path, "slot", 0, &slot)))
                return rc;
            draft_comp cp = {.index = (uint32_t)i};
            if (sb_add(&d->s, comp, &cp.comp) || sb_add(&d->s, slot ? slot : "", &cp.slot) ||
                grow(&d->comp, &d->ccomp, d->ncomp + 1, sizeof *d->comp))
                return nomem(L);
            d->comp[d->ncomp++] = cp;
            dd.ncomp++;
        }
    }
    if (grow(&d->des, &d->cdes, d->ndes + 1, sizeof *d->des))
        return nomem(L);
    d->des[d->ndes++] = dd;
    return 0;
}

static int load_hull(loader *L, const char *id, json_t *v)
{
    draft *d = &L->d;
    vr_hull_class h = {0};
    json_t *bs;
    char path[PATHLEN];
    double size, tier, hp, ev, armor, speed;
    int rc;
    if (d->nhull >= MAX_ENTRIES)
        return bad(L, id, "more than %u hulls", MAX_ENTRIES);
    if (sb_add(&d->s, id, &h.id))
        return nomem(L);
    if ((rc = get_pstr(L, v, id, "name", id, &h.name)) ||
        (rc = get_num(L, v, id, "size", 1, 1, 1, 1e6, &size)) ||
        (rc = get_num(L, v, id, "tech_tier", 0, 1, 0, 1e6, &tier)) ||
        (rc = get_field(L, v, id, "base_stats", 1, JSON_OBJECT, "an object", &bs)))
        return rc;
    snprintf(path, sizeof path, "%s.base_stats", id);
    if ((rc = get_num(L, bs, path, "hp", 1, 0, 1e-9, 1e12, &hp)) ||
        (rc = get_num(L, bs, path, "evasion", 0, 0, 0, 1, &ev)) ||
        (rc = get_num(L, bs, path, "armor", 0, 0, 0, 1e12, &armor)) ||
        (rc = get_num(L, bs, path, "speed", 1, 0, 0, 1e12, &speed)))
        return rc;
    h.size = (uint32_t)llround(size);
    h.tier = (uint32_t)llround(tier);
    h.hp = (float)hp;
    h.evasion = (float)ev;
    h.armor = (float)armor;
    h.speed = (float)speed;
    if (grow(&d->hull, &d->chull, d->nhull + 1, sizeof *d->hull))
        return nomem(L);
    d->hull[d->nhull++] = h;
    return 0;
}

static int load_planet(loader *L, const char *name, json_t *v)
{
    draft *d = &L->d;
    vr_planet_class p = {0};
    char path[PATHLEN];
    double req, def, slots;
    int rc;
    snprintf(path, sizeof path, "planet_classes.%s", name);
    if (d->npc >= MAX_ENTRIES)
        return bad(L, path, "more than %u planet classes", MAX_ENTRIES);
    if ((rc = get_num(L, v, path, "req_mod", 0, 1, 0, 1e6, &req)) ||
        (rc = get_num(L, v, path, "def_mod", 0, 1, 0, 1e6, &def)) ||
        (rc = get_num(L, v, path, "slots", 0, 0, 0, 1e6, &slots)))
        return rc;
    p.req_mod = (float)req;
    p.def_mod = (float)def;
    p.slots = (uint32_t)llround(slots);
    if (sb_add(&d->s, name, &p.name) || grow(&d->pc, &d->cpc, d->npc + 1, sizeof *d->pc))
        return nomem(L);
    d->pc[d->npc++] = p;
    return 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Finds the universe directory: dir itself if it holds
 * factions/faction_registry.json, else the first universes/<u> (by name)
 * that does.  urel receives its path relative to dir ("" or
 * "universes/<u>/"), base the pack root (for data/ships). */
static int find_universe(const char *dir, char *urel, size_t nurel, char *base, size_t nbase, char *err, size_t errlen)
{
    char p[4096];
    struct stat st;
    if (stat(dir, &st) != 0)
        return failf(err, errlen, -errno, "%s: %s (content pack directory)", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return failf(err, errlen, -ENOTDIR, "%s: not a directory (content pack directory)", dir);
    snprintf(p, sizeof p, "%s/factions/faction_registry.json", dir);
    if (is_file(p)) {
        urel[0] = '\0';
        snprintf(base, nbase, "%s/../..", dir);
        return 0;
    }
    snprintf(base, nbase, "%s", dir);
    snprintf(p, sizeof p, "%s/universes", dir);
    DIR *dd = opendir(p);
    if (!dd)
        return failf(err, errlen, -ENOENT,
                     "%s: no universes/<name>/factions/faction_registry.json (not a content pack in the "
                     "original layout)", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **q = realloc(names, cap * sizeof *names);
            if (!q) {
                rc = -ENOMEM;
                break;
            }
            names = q;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(dd);
    if (!rc) {
        rc = -ENOENT;
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/universes/%s/factions/faction_registry.json", dir, names[i]);
            if (is_file(p)) {
                snprintf(urel, nurel, "universes/%s/", names[i]);
                rc = 0;
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == -ENOMEM)
        return failf(err, errlen, rc, "%s: out of memory listing universes/", dir);
    if (rc)
        return failf(err, errlen, rc,
                     "%s: no universes/<name>/factions/faction_registry.json (not a content pack in the "
                     "original layout)", dir);
    return 0;
}

/* Parses base/rel into *root; L->file = rel for later messages. */
static int parse(loader *L, const char *base, const char *rel, json_t **root)
{
    char p[4096];
    json_error_t je;
    L->file = rel;
    snprintf(p, sizeof p, "%s/%s", base, rel);
    *root = json_load_file(p, 0, &je);
    if (*root)
        return 0;
    if (json_error_code(&je) == json_error_cannot_open_file)
        return failf(L->err, L->errlen, -VR_ECONTENT, "%s: cannot read: %s", rel, je.text);
    if (json_error_code(&je) == json_error_out_of_memory)
        return nomem(L);
    return failf(L->err, L->errlen, -VR_ECONTENT, "%s: line %d column %d: JSON syntax error: %s", rel, je.line,
                 je.column, je.text);
}

static int load_file(loader *L, const char *base, const char *rel, const char *idkey, entry_fn fn)
{
    json_t *root;
    int rc = parse(L, base, rel, &root);
    if (rc)
        return rc;
    rc = each_entry(L, root, idkey, fn);
    json_decref(root);
    return rc;
}

int vr_content_load(vr_content **out, const char *dir, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!out || !dir || !*dir) {
        if (out)
            *out = NULL;
        return failf(err, errlen, -VR_EBADARG, "vr_content_load: no content directory given");
    }
    *out = NULL;

    char urel[1024], base[4096];
    int rc = find_universe(dir, urel, sizeof urel, base, sizeof base, err, errlen);
    if (rc)
        return rc;
    char ffac[1200], fwpn[1200], fdes[1200], fgame[1200], fhull[1200];
    snprintf(ffac, sizeof ffac, "%sfactions/faction_registry.json", urel);
    snprintf(fwpn, sizeof fwpn, "%sfactions/weapon_registry.json", urel);
    snprintf(fdes, sizeof fdes, "%sunits/procedural_roster.json", urel);
    snprintf(fgame, sizeof fgame, "%sgame_data.json", urel);
    snprintf(fhull, sizeof fhull, "%s", "data/ships/hulls.json"); /* under the pack root */

    const char *required[] = {ffac, fwpn, fdes};
    for (size_t i = 0; i < 3; i++) {
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, required[i]);
        if (!is_file(p))
            return failf(err, errlen, -ENOENT, "%s: %s: required file of the content pack is missing", dir,
                         required[i]);
    }

    loader L = {.err = err, .errlen = errlen};
    if ((rc = draft_init(&L.d))) {
        draft_fini(&L.d);
        return failf(err, errlen, rc, "out of memory");
    }
    if ((rc = load_file(&L, dir, ffac, "id", load_faction)) ||
        (rc = load_file(&L, dir, fwpn, "id", load_weapon)) ||
        (rc = load_file(&L, dir, fdes, "blueprint_id", load_design)))
        goto done;

    /* Optional: hull classes (built-in ones otherwise). */
    srcnames src = {ffac, fwpn, fdes, "builtin", "builtin"};
    char p[8192];
    snprintf(p, sizeof p, "%s/%s", base, fhull);
    if (is_file(p)) {
        json_t *root;
        if ((rc = parse(&L, base, fhull, &root)))
            goto done;
        json_t *list = json_is_object(root) ? json_object_get(root, "hulls") : NULL;
        rc = each_entry(&L, list ? list : root, "id", load_hull);
        json_decref(root);
        if (rc)
            goto done;
        src.hulls = fhull;
    } else if ((rc = draft_builtin_hulls(&L.d))) {
        rc = failf(err, errlen, rc, "out of memory");
        goto done;
    }

    /* Optional: planet classes from game_data.json (built-in ones otherwise). */
    snprintf(p, sizeof p, "%s/%s", dir, fgame);
    json_t *planets = NULL, *game = NULL;
    if (is_file(p)) {
        if ((rc = parse(&L, dir, fgame, &game)))
            goto done;
        planets = json_is_object(game) ? json_object_get(game, "planet_classes") : NULL;
        if (planets && !json_is_object(planets))
            rc = bad(&L, "planet_classes", "expected an object, got %s", jtype(planets));
    }
    if (!rc && planets) {
        const char *k;
        json_t *v;
        src.planets = fgame;
        json_object_foreach(planets, k, v) {
            if (!json_is_object(v)) {
                rc = bad(&L, "planet_classes", "%s: expected an object, got %s", k, jtype(v));
                break;
            }
            if ((rc = load_planet(&L, k, v)))
                break;
        }
    } else if (!rc && (rc = draft_builtin_planets(&L.d))) {
        rc = failf(err, errlen, rc, "out of memory");
    }
    json_decref(game);
    if (rc)
        goto done;

    rc = finalize(&L.d, &src, out, err, errlen);
done:
    draft_fini(&L.d);
    return rc;
}

/* ---- accessors ----------------------------------------------------------- */

static int live(const vr_content *c) { return c && c->tag == CONTENT_TAG; }

void vr_content_destroy(vr_content **pc)
{
    if (!pc || !*pc)
        return;
    vr_content *c = *pc;
    free(c->str);
    free(c->fac);
    free(c->hull);
    free(c->wpn);
    free(c->tags);
    free(c->des);
    free(c->dweap);
    free(c->fdes);
    free(c->pc);
    memset(c, 0, sizeof *c);
    c->tag = CONTENT_DEAD;
    free(c);
    *pc = NULL;
}

uint64_t vr_content_hash(const vr_content *c)
{
    if (!live(c))
        return 0;
    uint64_t counts[9] = {c->nstr, c->nfac, c->nhull, c->nwpn, c->ntags, c->ndes, c->ndweap, c->nfdes, c->npc};
    uint64_t h = XXH3_64bits(counts, sizeof counts);
    h = XXH3_64bits_withSeed(c->str, c->nstr, h);
    h = XXH3_64bits_withSeed(c->fac, (size_t)c->nfac * sizeof *c->fac, h);
    h = XXH3_64bits_withSeed(c->hull, (size_t)c->nhull * sizeof *c->hull, h);
    h = XXH3_64bits_withSeed(c->wpn, (size_t)c->nwpn * sizeof *c->wpn, h);
    h = XXH3_64bits_withSeed(c->tags, (size_t)c->ntags * sizeof *c->tags, h);
    h = XXH3_64bits_withSeed(c->des, (size_t)c->ndes * sizeof *c->des, h);
    h = XXH3_64bits_withSeed(c->dweap, (size_t)c->ndweap * sizeof *c->dweap, h);
    h = XXH3_64bits_withSeed(c->fdes, (size_t)c->nfdes * sizeof *c->fdes, h);
    h = XXH3_64bits_withSeed(c->pc, (size_t)c->npc * sizeof *c->pc, h);
    return h;
}

const char *vr_content_string(const vr_content *c, uint32_t off)
{
    if (!live(c) || off >= c->nstr)
        return "";
    return c->str + off;
}

const char *vr_content_strings(const vr_content *c, size_t *len)
{
    if (len)
        *len = live(c) ? c->nstr : 0;
    return live(c) ? c->str : NULL;
}

#define ACCESSOR(fn, type, arr, n)                                                         \
    const type *fn(const vr_content *c, uint32_t *count)                                   \
    {                                                                                      \
        if (count)                                                                         \
            *count = live(c) ? c->n : 0;                                                   \
        return live(c) ? c->arr : NULL;                                                    \
    }
ACCESSOR(vr_content_factions, vr_faction, fac, nfac)
ACCESSOR(vr_content_hulls, vr_hull_class, hull, nhull)
ACCESSOR(vr_content_weapons, vr_weapon, wpn, nwpn)
ACCESSOR(vr_content_designs, vr_design, des, ndes)
ACCESSOR(vr_content_planet_classes, vr_planet_class, pc, npc)
ACCESSOR(vr_content_design_weapons, uint32_t, dweap, ndweap)
ACCESSOR(vr_content_tags, uint32_t, tags, ntags)

static int find(const vr_content *c, const void *base, uint32_t n, size_t stride, const char *id)
{
    if (!live(c) || !id)
        return -VR_EBADARG;
    int64_t i = bsearch_id(c->str, base, n, stride, id);
    return i < 0 ? -VR_ENOTFOUND : (int)i;
}

int vr_content_faction_find(const vr_content *c, const char *id)
{
    return live(c) ? find(c, c->fac, c->nfac, sizeof *c->fac, id) : -VR_EBADARG;
}
int vr_content_hull_find(const vr_content *c, const char *id)
{
    return live(c) ? find(c, c->hull, c->nhull, sizeof *c->hull, id) : -VR_EBADARG;
}
int vr_content_weapon_find(const vr_content *c, const char *id)
{
    return live(c) ? find(c, c->wpn, c->nwpn, sizeof *c->wpn, id) : -VR_EBADARG;
}
int vr_content_design_find(const vr_content *c, const char *id)
{
    return live(c) ? find(c, c->des, c->ndes, sizeof *c->des, id) : -VR_EBADARG;
}

const uint32_t *vr_content_faction_designs(const vr_content *c, uint32_t f, uint32_t *n)
{
    if (n)
        *n = 0;
    if (!live(c) || f >= c->nfac)
        return NULL;
    if (n)
        *n = c->fac[f].ndesigns;
    return c->fdes + c->fac[f].design_first;
}
