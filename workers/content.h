/* content.h: game content (factions, hull classes, weapons, ship designs,
 * planet classes), built in or loaded from a content pack.
 *
 * A vr_content is immutable once made.  It holds flat arrays of fixed-width,
 * padding-free records whose strings are offsets into one string table, so
 * the whole object can be copied byte for byte into an arena or handed to
 * Python as numpy structured arrays.  Every array is sorted by its id
 * (strcmp order) and references are indices into those arrays, so the same
 * content, whatever the order of the JSON objects it came from, gives the
 * same indices, the same bytes and the same vr_content_hash().
 *
 * Two sources:
 *   vr_content_builtin()  procedural content, a pure function of a seed, so
 *                         the program runs with no content pack at all;
 *   vr_content_load()     a content pack in the original engine's JSON
 *                         layout (see content.c for the files and fields).
 *
 * Derived combat stats of a design (attacks, strength, ap, bs, md,
 * leadership) follow the rules written at the top of content.c.
 */
#ifndef VR_CONTENT_H
#define VR_CONTENT_H

#include <stddef.h>
#include <stdint.h>

/* "No index" (a design whose faction or hull is not set, an unused offset). */
#define VR_CONTENT_NONE UINT32_MAX

/* Weapon tags the combat rules know, as bits of vr_weapon.tag_mask.  Every
 * tag, known or not, is also kept as a string (vr_content_tags()). */
#define VR_WEAPON_TAGS(X)                                                                  \
    X(ENERGY, "energy")                                                                    \
    X(KINETIC, "kinetic")                                                                  \
    X(EXPLOSIVE, "explosive")                                                              \
    X(THERMAL, "thermal")                                                                  \
    X(EXOTIC, "exotic")                                                                    \
    X(MISSILE, "missile")                                                                  \
    X(LASER, "laser")                                                                      \
    X(PLASMA, "plasma")                                                                    \
    X(ION, "ion")                                                                          \
    X(LANCE, "lance")                                                                      \
    X(HEAVY, "heavy")                                                                      \
    X(LONG_RANGE, "long_range")                                                            \
    X(ACCURATE, "accurate")                                                                \
    X(ANTI_SHIELD, "anti_shield")                                                          \
    X(SHIELD_PIERCING, "shield_piercing")                                                  \
    X(ANTI_TANK, "anti_tank")                                                              \
    X(ANTI_HEAVY, "anti_heavy")                                                            \
    X(ANTI_FIGHTER, "anti_fighter")                                                        \
    X(PD, "pd")                                                                            \
    X(ARCING, "arcing")                                                                    \
    X(IGNORE_COVER, "ignore_cover")                                                        \
    X(HIGH_DAMAGE, "high_damage")                                                          \
    X(SUPERWEAPON, "superweapon")

enum vr_weapon_tag_bit {
#define VR_WTAG_BIT_(name, str) VR_WTAG_BIT_##name,
    VR_WEAPON_TAGS(VR_WTAG_BIT_)
#undef VR_WTAG_BIT_
    VR_WTAG_COUNT
};
#define VR_WTAG(name) (1u << VR_WTAG_BIT_##name)
_Static_assert(VR_WTAG_COUNT <= 32, "weapon tag bits must fit in a uint32_t");

/* Bits of vr_design.traits, from the design's "traits" strings. */
enum vr_design_trait {
    VR_TRAIT_STANDARD = 1u << 0,
    VR_TRAIT_TACTICAL = 1u << 1,
    VR_TRAIT_ELITE = 1u << 2,
    VR_TRAIT_INTERDICTOR = 1u << 3,
};

/* All strings are offsets into the string table (vr_content_string()). */

typedef struct vr_faction {
    uint32_t id;           /* registry key, e.g. "Templars_of_the_Flux" */
    uint32_t name;         /* display name ("Templars of the Flux" if the pack says "Unknown") */
    uint32_t index;        /* this faction's position in vr_content_factions() */
    uint32_t design_first; /* its designs: vr_content_faction_designs() */
    uint32_t ndesigns;
} vr_faction;
_Static_assert(sizeof(vr_faction) == 20, "vr_faction is exported as raw bytes: no padding");

typedef struct vr_hull_class {
    uint32_t id;   /* "corvette", "cruiser", ... */
    uint32_t name; /* "Corvette" */
    uint32_t size; /* 1 (corvette) .. 32 (mothership) */
    uint32_t tier; /* tech tier, 1..5 */
    float hp;
    float evasion; /* 0..1 */
    float armor;
    float speed;
} vr_hull_class;
_Static_assert(sizeof(vr_hull_class) == 32, "vr_hull_class is exported as raw bytes: no padding");

typedef struct vr_weapon {
    uint32_t id;        /* registry key */
    uint32_t name;
    uint32_t category;  /* "Energy", "Ballistic", ... ("" if none) */
    uint32_t tag_first; /* its tags: vr_content_tags()[tag_first .. +ntags) */
    uint32_t ntags;
    uint32_t tag_mask;  /* VR_WTAG() bits of the tags the rules know */
    float range;
    float strength;
    float ap;      /* armour penetration, <= 0 in the original pack */
    float attacks; /* shots per combat round, may be fractional */
} vr_weapon;
_Static_assert(sizeof(vr_weapon) == 40, "vr_weapon is exported as raw bytes: no padding");

typedef struct vr_design {
    uint32_t id;           /* blueprint id, e.g. "templars_of_the_flux_fighter_standard" */
    uint32_t name;
    uint32_t type;         /* ship class as the pack names it: "fighter", "mothership", ... */
    uint32_t faction;      /* index into vr_content_factions() */
    uint32_t hull;         /* index into vr_content_hulls() (rule in content.c) */
    uint32_t weapon_first; /* mounts: vr_content_design_weapons()[weapon_first .. +nweapons) */
    uint32_t nweapons;     /* one entry per mounted weapon component (repeats kept) */
    uint32_t cost;
    float hp, armor, shield, damage, speed, range, sensors; /* base_stats, as given */
    /* Derived (content.c): */
    float attacks;      /* sum of the weapons' attacks */
    float strength;     /* attack-weighted mean strength of the weapons */
    float ap;           /* attack-weighted mean ap of the weapons */
    uint8_t bs;         /* accuracy, 0..100 */
    uint8_t md;         /* evasion (missile defence), 0..100 */
    uint8_t leadership; /* 0..12 */
    uint8_t traits;     /* enum vr_design_trait bits */
} vr_design;
_Static_assert(sizeof(vr_design) == 76, "vr_design is exported as raw bytes: no padding");

typedef struct vr_planet_class {
    uint32_t name;  /* "Forge World" */
    uint32_t slots; /* building slots */
    float req_mod;  /* requisition (income) multiplier */
    float def_mod;  /* defence multiplier */
} vr_planet_class;
_Static_assert(sizeof(vr_planet_class) == 16, "vr_planet_class is exported as raw bytes: no padding");

typedef struct vr_content vr_content;

/* Procedural content, a pure function of seed: 6 factions with generated
 * names, 6 hull classes (corvette, frigate, destroyer, cruiser, battleship,
 * titan), 7 weapons and 10 designs per faction (42 and 60), 6 planet classes.
 * Every faction has designs of every hull class.  Returns 0, -VR_EBADARG
 * (out NULL) or -ENOMEM; on error *out is NULL. */
int vr_content_builtin(vr_content **out, uint64_t seed);
/* Designs of the built-in content, whatever the seed (arena sizing needs it
 * before any content is made). */
#define VR_CONTENT_BUILTIN_DESIGNS 60u

/* Loads the content pack under dir (the original engine's layout):
 *   universes/<u>/factions/faction_registry.json   required
 *   universes/<u>/factions/weapon_registry.json    required
 *   universes/<u>/units/procedural_roster.json     required
 *   universes/<u>/game_data.json                   optional (planet_classes)
 *   data/ships/hulls.json                          optional (built-in hulls if absent)
 * where <u> is the first directory under universes/ (by name) holding
 * factions/faction_registry.json; dir may also be a universe directory
 * itself.  Unknown fields are ignored.
 * Returns 0, -ENOENT (dir or a required file missing), -VR_ECONTENT (a file
 * is not valid JSON, a field is missing or of the wrong type, a reference
 * does not resolve, a registry is empty), -VR_EBADARG or -ENOMEM.  On error
 * *out is NULL and err (if not NULL) holds a message naming the file and the
 * field, e.g. "universes/void_reckoning/units/procedural_roster.json:
 * x_fighter.base_stats.hp: expected a number, got a string". */
int vr_content_load(vr_content **out, const char *dir, char *err, size_t errlen);

/* Frees *c and sets it to NULL.  NULL or *c NULL is a no-op. */
void vr_content_destroy(vr_content **c);

/* XXH3-64 of every array and the string table: equal content gives an equal
 * hash (on machines of the same byte order). */
uint64_t vr_content_hash(const vr_content *c);

/* The string at offset off ("" for VR_CONTENT_NONE or an offset out of
 * range).  Valid as long as c lives. */
const char *vr_content_string(const vr_content *c, uint32_t off);
/* The whole string table (NUL-separated), for export. */
const char *vr_content_strings(const vr_content *c, size_t *len);

/* The arrays, sorted by id; *n receives the count (0 and NULL if c is NULL). */
const vr_faction *vr_content_factions(const vr_content *c, uint32_t *n);
const vr_hull_class *vr_content_hulls(const vr_content *c, uint32_t *n);
const vr_weapon *vr_content_weapons(const vr_content *c, uint32_t *n);
const vr_design *vr_content_designs(const vr_content *c, uint32_t *n);
const vr_planet_class *vr_content_planet_classes(const vr_content *c, uint32_t *n);
/* Weapon indices of all design mounts (vr_design.weapon_first/nweapons). */
const uint32_t *vr_content_design_weapons(const vr_content *c, uint32_t *n);
/* String offsets of all weapon tags (vr_weapon.tag_first/ntags). */
const uint32_t *vr_content_tags(const vr_content *c, uint32_t *n);

/* Index of the entry with this id, or -VR_ENOTFOUND (-VR_EBADARG for NULL
 * arguments).  Binary search. */
int vr_content_faction_find(const vr_content *c, const char *id);
int vr_content_hull_find(const vr_content *c, const char *id);
int vr_content_weapon_find(const vr_content *c, const char *id);
int vr_content_design_find(const vr_content *c, const char *id);

/* Design indices of faction f, in id order; *n receives their number.
 * NULL and 0 for an unknown faction. */
const uint32_t *vr_content_faction_designs(const vr_content *c, uint32_t f, uint32_t *n);

#endif
