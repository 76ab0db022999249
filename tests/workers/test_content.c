/* test_content.c: Check suite for workers/content.c (built-in content and
 * content packs in the original engine's JSON layout).
 *
 * The real pack (env VR_CONTENT_DIR, else ../shared/data/void_reckoning next
 * to the source tree) must load unchanged with known counts and values.
 * Small packs written into a mkdtemp directory check the rules (order
 * independence, derived stats, hull fallback, universe discovery), and
 * broken ones check that every failure names the file and the field and
 * never crashes.  Temporary directories are removed before any assertion,
 * so a failing test leaves nothing behind either.
 */
#include "content.h"
#include "vr_schema.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 1024

/* ---- helpers ------------------------------------------------------------- */

static const char *pack_dir(void)
{
    static char buf[4096];
    const char *env = getenv("VR_CONTENT_DIR");
    if (env && *env)
        return env;
    char here[2048];
    snprintf(here, sizeof here, "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(here, sizeof here, ".");
    snprintf(buf, sizeof buf, "%s/../../../shared/data/void_reckoning", here);
    return buf;
}

#define F_FAC "universes/void_reckoning/factions/faction_registry.json"
#define F_WPN "universes/void_reckoning/factions/weapon_registry.json"
#define F_DES "universes/void_reckoning/units/procedural_roster.json"
#define F_HULL "data/ships/hulls.json"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Writes data to dir/rel, creating the directories on the way. */
static void write_file(const char *dir, const char *rel, const char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *p = path + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_str(const char *dir, const char *rel, const char *s) { write_file(dir, rel, s, strlen(s)); }

static void copy_from_pack(const char *dir, const char *rel)
{
    char src[4096];
    size_t n;
    snprintf(src, sizeof src, "%s/%s", pack_dir(), rel);
    char *buf = read_file(src, &n);
    write_file(dir, rel, buf, n);
    free(buf);
}

/* A copy of the real pack's file rel with the first `from` replaced by `to`. */
static void copy_replaced(const char *dir, const char *rel, const char *from, const char *to)
{
    char src[4096];
    size_t n;
    snprintf(src, sizeof src, "%s/%s", pack_dir(), rel);
    char *buf = read_file(src, &n);
    char *at = strstr(buf, from);
    ck_assert_msg(at != NULL, "'%s' not in %s", from, rel);
    size_t head = (size_t)(at - buf), fl = strlen(from), tl = strlen(to);
    char *out = malloc(n - fl + tl + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, buf, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, at + fl, n - head - fl);
    write_file(dir, rel, out, n - fl + tl);
    free(out);
    free(buf);
}

static void make_tmp(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/vr_content_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* The real pack's required files (and hulls unless without_hulls) in a new
 * temp dir. */
static void make_real_copy(char *dir, size_t len, int without_hulls)
{
    make_tmp(dir, len);
    copy_from_pack(dir, F_FAC);
    copy_from_pack(dir, F_WPN);
    copy_from_pack(dir, F_DES);
    if (!without_hulls)
        copy_from_pack(dir, F_HULL);
}

/* Loads dir, removes it, then returns the code (message in err). */
static int load_and_remove(const char *dir, char *err)
{
    vr_content *c = NULL;
    err[0] = '\0';
    int rc = vr_content_load(&c, dir, err, ERRLEN);
    int null_on_error = rc == 0 || c == NULL;
    vr_content_destroy(&c);
    rmtree(dir);
    ck_assert_msg(null_on_error, "*out must be NULL on error");
    return rc;
}

#define ASSERT_HAS(err, sub) ck_assert_msg(strstr((err), (sub)) != NULL, "message '%s' lacks '%s'", (err), (sub))

static const vr_design *design(const vr_content *c, const char *id)
{
    int i = vr_content_design_find(c, id);
    ck_assert_msg(i >= 0, "design %s: %s", id, vr_strerror(i));
    uint32_t n;
    return &vr_content_designs(c, &n)[i];
}

static vr_content *load_ok(const char *dir)
{
    vr_content *c = NULL;
    char err[ERRLEN];
    int rc = vr_content_load(&c, dir, err, sizeof err);
    ck_assert_msg(rc == 0, "load %s: %s (%s)", dir, err, vr_strerror(rc));
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Every reference of c points inside its arrays; faction design lists are
 * exact. */
static void check_consistent(const vr_content *c)
{
    uint32_t nf, nh, nw, nd, nm, nt;
    const vr_faction *f = vr_content_factions(c, &nf);
    vr_content_hulls(c, &nh);
    const vr_weapon *w = vr_content_weapons(c, &nw);
    const vr_design *d = vr_content_designs(c, &nd);
    const uint32_t *m = vr_content_design_weapons(c, &nm);
    vr_content_tags(c, &nt);
    uint32_t total = 0;
    for (uint32_t i = 0; i < nf; i++) {
        ck_assert_uint_eq(f[i].index, i);
        if (i)
            ck_assert_int_lt(strcmp(vr_content_string(c, f[i - 1].id), vr_content_string(c, f[i].id)), 0);
        uint32_t n;
        const uint32_t *list = vr_content_faction_designs(c, i, &n);
        for (uint32_t k = 0; k < n; k++)
            ck_assert_uint_eq(d[list[k]].faction, i);
        total += n;
    }
    ck_assert_uint_eq(total, nd);
    for (uint32_t i = 0; i < nw; i++)
        ck_assert_uint_le(w[i].tag_first + w[i].ntags, nt);
    for (uint32_t i = 0; i < nd; i++) {
        ck_assert_uint_lt(d[i].faction, nf);
        ck_assert_uint_lt(d[i].hull, nh);
        ck_assert_uint_le(d[i].weapon_first + d[i].nweapons, nm);
        for (uint32_t k = 0; k < d[i].nweapons; k++)
            ck_assert_uint_lt(m[d[i].weapon_first + k], nw);
        ck_assert_uint_le(d[i].bs, 100);
        ck_assert_uint_le(d[i].md, 100);
        ck_assert_uint_le(d[i].leadership, 12);
        if (i)
            ck_assert_int_lt(strcmp(vr_content_string(c, d[i - 1].id), vr_content_string(c, d[i].id)), 0);
    }
}

/* ---- the real pack ------------------------------------------------------- */

START_TEST(test_real_pack)
{
    vr_content *c = load_ok(pack_dir());
    uint32_t nf, nw, nd, nh, npc;
    vr_content_factions(c, &nf);
    const vr_weapon *w = vr_content_weapons(c, &nw);
    vr_content_designs(c, &nd);
    const vr_hull_class *h = vr_content_hulls(c, &nh);
    vr_content_planet_classes(c, &npc);
    ck_assert_uint_eq(nf, 10);
    ck_assert_uint_eq(nw, 200);
    ck_assert_uint_eq(nd, 420);
    ck_assert_uint_eq(nh, 9);   /* from data/ships/hulls.json */
    ck_assert_uint_eq(npc, 14); /* from game_data.json */
    check_consistent(c);

    int fi = vr_content_faction_find(c, "Templars_of_the_Flux");
    ck_assert_int_ge(fi, 0);
    const vr_faction *f = &vr_content_factions(c, &nf)[fi];
    ck_assert_str_eq(vr_content_string(c, f->name), "Templars of the Flux");
    ck_assert_uint_eq(f->ndesigns, 42);
    ck_assert_int_eq(vr_content_faction_find(c, "No_Such_Faction"), -VR_ENOTFOUND);

    const vr_design *d = design(c, "templars_of_the_flux_fighter_standard");
    ck_assert_uint_eq(d->cost, 200);
    ck_assert_float_eq(d->hp, 80.0f);
    ck_assert_float_eq(d->speed, 55.0f);
    ck_assert_float_eq_tol(d->range, 10.98f, 1e-4f);
    ck_assert_uint_eq(d->faction, (uint32_t)fi);
    ck_assert_str_eq(vr_content_string(c, d->type), "fighter");
    ck_assert_str_eq(vr_content_string(c, d->name), "Templars_of_the_Flux Standard Fighter");
    ck_assert_uint_eq(d->nweapons, 1); /* the utility module is not a weapon */
    uint32_t nm;
    uint32_t wi = vr_content_design_weapons(c, &nm)[d->weapon_first];
    ck_assert_str_eq(vr_content_string(c, w[wi].id), "Templars_of_the_Flux_base_melta_weapon_2");
    ck_assert_int_eq(vr_content_weapon_find(c, "Templars_of_the_Flux_base_melta_weapon_2"), (int)wi);
    ck_assert_float_eq_tol(w[wi].strength, 8.74f, 1e-4f);
    ck_assert_float_eq_tol(w[wi].ap, -3.84f, 1e-4f);
    ck_assert_float_eq_tol(w[wi].attacks, 0.99f, 1e-4f);
    ck_assert_str_eq(vr_content_string(c, w[wi].category), "Thermal");
    ck_assert_uint_eq(w[wi].ntags, 4);
    ck_assert(w[wi].tag_mask & VR_WTAG(ANTI_TANK));

    /* Derived stats: one weapon, corvette hull (fighter alias) + strike craft. */
    ck_assert_float_eq_tol(d->attacks, 0.99f, 1e-4f);
    ck_assert_float_eq_tol(d->strength, 8.74f, 1e-4f);
    ck_assert_str_eq(vr_content_string(c, h[d->hull].id), "corvette");
    ck_assert_uint_eq(d->md, 80);
    ck_assert_uint_eq(d->bs, 47); /* 45 + 10 sensors / 5 */
    ck_assert_uint_eq(d->leadership, 5);
    ck_assert_uint_eq(d->traits, VR_TRAIT_STANDARD);

    /* Types that are hull ids map to themselves. */
    const vr_design *m = design(c, "templars_of_the_flux_mothership_standard");
    ck_assert_str_eq(vr_content_string(c, h[m->hull].id), "mothership");
    ck_assert_uint_gt(m->nweapons, 10);
    vr_content_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_real_pack_hash_stable)
{
    vr_content *a = load_ok(pack_dir());
    vr_content *b = load_ok(pack_dir());
    uint64_t ha = vr_content_hash(a);
    ck_assert_uint_ne(ha, 0);
    ck_assert_uint_eq(ha, vr_content_hash(b));
    size_t la, lb;
    const char *sa = vr_content_strings(a, &la), *sb = vr_content_strings(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(sa, sb, la), 0);
    vr_content *bi = NULL;
    ck_assert_int_eq(vr_content_builtin(&bi, 1), 0);
    ck_assert_uint_ne(ha, vr_content_hash(bi));
    vr_content_destroy(&a);
    vr_content_destroy(&b);
    vr_content_destroy(&bi);
}
END_TEST

/* Without hulls.json the built-in hull classes stand in. */
START_TEST(test_real_pack_without_hulls)
{
    char dir[64];
    make_real_copy(dir, sizeof dir, 1);
    vr_content *c = NULL;
    char err[ERRLEN];
    int rc = vr_content_load(&c, dir, err, sizeof err);
    rmtree(dir);
    ck_assert_msg(rc == 0, "%s", err);
    uint32_t nh, nd, npc;
    const vr_hull_class *h = vr_content_hulls(c, &nh);
    vr_content_designs(c, &nd);
    vr_content_planet_classes(c, &npc);
    ck_assert_uint_eq(nh, 6);
    ck_assert_uint_eq(nd, 420);
    ck_assert_uint_eq(npc, 6); /* no game_data.json copied: built-in */
    ck_assert_int_ge(vr_content_hull_find(c, "frigate"), 0);
    ck_assert_str_eq(vr_content_string(c, h[design(c, "templars_of_the_flux_frigate_standard")->hull].id), "frigate");
    ck_assert_str_eq(vr_content_string(c, h[design(c, "templars_of_the_flux_mothership_standard")->hull].id), "titan");
    ck_assert_str_eq(vr_content_string(c, h[design(c, "templars_of_the_flux_missile_destroyer_standard")->hull].id),
                     "destroyer");
    check_consistent(c);
    vr_content_destroy(&c);
}
END_TEST

/* ---- built-in content ---------------------------------------------------- */

START_TEST(test_builtin_deterministic)
{
    vr_content *a = NULL, *b = NULL, *o = NULL;
    ck_assert_int_eq(vr_content_builtin(&a, 42), 0);
    ck_assert_int_eq(vr_content_builtin(&b, 42), 0);
    ck_assert_int_eq(vr_content_builtin(&o, 43), 0);
    ck_assert_uint_eq(vr_content_hash(a), vr_content_hash(b));
    ck_assert_uint_ne(vr_content_hash(a), vr_content_hash(o));
    uint32_t nd, nda;
    const vr_design *da = vr_content_designs(a, &nda), *db = vr_content_designs(b, &nd);
    ck_assert_uint_eq(nd, nda);
    ck_assert_int_eq(memcmp(da, db, nd * sizeof *da), 0);

    uint32_t nf, nh, nw, npc;
    const vr_faction *f = vr_content_factions(a, &nf);
    vr_content_hulls(a, &nh);
    vr_content_weapons(a, &nw);
    vr_content_planet_classes(a, &npc);
    ck_assert_uint_eq(nf, 6);
    ck_assert_uint_eq(nh, 6);
    ck_assert_uint_eq(nw, 42);
    ck_assert_uint_eq(nd, 60);
    ck_assert_uint_eq(npc, 6);
    for (uint32_t i = 0; i < nf; i++) {
        ck_assert_uint_ge(f[i].ndesigns, 1);
        ck_assert_str_ne(vr_content_string(a, f[i].name), "");
        ck_assert_int_eq(vr_content_faction_find(a, vr_content_string(a, f[i].id)), (int)i);
    }
    for (uint32_t i = 0; i < nd; i++) {
        ck_assert_uint_ge(da[i].nweapons, 1);
        ck_assert_float_gt(da[i].hp, 0.0f);
        ck_assert_float_gt(da[i].attacks, 0.0f);
        ck_assert_int_eq(vr_content_design_find(a, vr_content_string(a, da[i].id)), (int)i);
    }
    check_consistent(a);
    check_consistent(o);
    vr_content_destroy(&a);
    vr_content_destroy(&b);
    vr_content_destroy(&o);
    ck_assert_ptr_null(a);
}
END_TEST

START_TEST(test_builtin_many_seeds)
{
    for (uint64_t seed = 0; seed < 64; seed++) {
        vr_content *c = NULL;
        ck_assert_int_eq(vr_content_builtin(&c, seed * 0x9e3779b97f4a7c15ull), 0);
        uint32_t nf, nh;
        const vr_faction *f = vr_content_factions(c, &nf);
        vr_content_hulls(c, &nh);
        const vr_design *d = vr_content_designs(c, &(uint32_t){0});
        ck_assert_uint_eq(nf, 6);
        for (uint32_t i = 0; i < nf; i++) {
            uint32_t n, seen = 0;
            const uint32_t *list = vr_content_faction_designs(c, i, &n);
            ck_assert_uint_eq(n, f[i].ndesigns);
            for (uint32_t k = 0; k < n; k++)
                seen |= 1u << d[list[k]].hull;
            ck_assert_uint_eq(seen, (1u << nh) - 1); /* every hull class */
        }
        check_consistent(c);
        vr_content_destroy(&c);
    }
}
END_TEST

/* ---- small hand-written packs --------------------------------------------- */

#define U "universes/vr/"

static const char small_factions[] =
    "{\"Alpha_Union\": {\"id\": \"Alpha_Union\", \"name\": \"Unknown\"},\n"
    " \"Beta_Swarm\": {\"id\": \"Beta_Swarm\", \"name\": \"The Beta Swarm\"}}\n";
static const char small_factions_rev[] =
    "{\"Beta_Swarm\": {\"name\": \"The Beta Swarm\", \"quirks\": {\"x\": 1}, \"id\": \"Beta_Swarm\"},\n"
    " \"Alpha_Union\": {\"name\": \"Unknown\", \"id\": \"Alpha_Union\", \"ethics\": []}}\n";
static const char small_weapons[] =
    "{\"gun_a\": {\"id\": \"gun_a\", \"name\": \"Gun A\", \"category\": \"Ballistic\",\n"
    "   \"stats\": {\"range\": 20, \"strength\": 5, \"ap\": -1, \"attacks\": 2}, \"tags\": [\"kinetic\", \"accurate\"]},\n"
    " \"gun_b\": {\"id\": \"gun_b\", \"name\": \"Gun B\", \"category\": \"Energy\",\n"
    "   \"stats\": {\"range\": 30, \"strength\": 8, \"ap\": -3, \"attacks\": 1}, \"tags\": [\"energy\", \"lance\"]}}\n";
static const char small_weapons_rev[] =
    "{\"gun_b\": {\"stats\": {\"attacks\": 1, \"ap\": -3, \"strength\": 8, \"range\": 30, \"ion\": 2},\n"
    "   \"tags\": [\"energy\", \"lance\"], \"id\": \"gun_b\", \"name\": \"Gun B\", \"category\": \"Energy\"},\n"
    " \"gun_a\": {\"tier\": 3, \"id\": \"gun_a\", \"name\": \"Gun A\", \"category\": \"Ballistic\",\n"
    "   \"stats\": {\"range\": 20.0, \"strength\": 5, \"ap\": -1, \"attacks\": 2}, \"tags\": [\"kinetic\", \"accurate\"]}}\n";
#define CRUISER                                                                                       \
    "\"alpha_cruiser\": {\"name\": \"Alpha Cruiser\", \"blueprint_id\": \"alpha_cruiser\", \"type\": "   \
    "\"cruiser\",\n"                                                                                  \
    "   \"faction\": \"Alpha_Union\", \"cost\": 1000,\n"                                              \
    "   \"base_stats\": {\"hp\": 1500, \"armor\": 10, \"shield\": 100, \"damage\": 30, \"speed\": 40, " \
    "\"range\": 20, \"sensors\": 50},\n"                                                              \
    "   \"components\": [{\"slot\": \"weapon_heavy\", \"component\": \"gun_a\"},\n"                   \
    "                  {\"slot\": \"weapon_heavy\", \"component\": \"gun_b\"},\n"                     \
    "                  {\"slot\": \"module_defense\", \"component\": \"Standard Armor Plating\"}],\n" \
    "   \"traits\": [\"Elite\"], \"abilities\": {}}"
#define FIGHTER                                                                                       \
    "\"beta_fighter\": {\"name\": \"Beta Fighter\", \"blueprint_id\": \"beta_fighter\", \"type\": "     \
    "\"fighter\",\n"                                                                                  \
    "   \"faction\": \"Beta_Swarm\", \"cost\": 150,\n"                                                \
    "   \"base_stats\": {\"hp\": 60, \"armor\": 0, \"shield\": 0, \"damage\": 8, \"speed\": 70, "       \
    "\"range\": 30, \"sensors\": 0},\n"                                                               \
    "   \"components\": [{\"slot\": \"weapon_light\", \"component\": \"gun_b\"}],\n"                  \
    "   \"traits\": [\"Standard\"]}"
static const char small_roster[] = "{" CRUISER ",\n " FIGHTER "}\n";
static const char small_roster_rev[] = "{" FIGHTER ",\n " CRUISER "}\n";

static void make_small(char *dir, size_t len, int reversed)
{
    make_tmp(dir, len);
    write_str(dir, U "factions/faction_registry.json", reversed ? small_factions_rev : small_factions);
    write_str(dir, U "factions/weapon_registry.json", reversed ? small_weapons_rev : small_weapons);
    write_str(dir, U "units/procedural_roster.json", reversed ? small_roster_rev : small_roster);
}

START_TEST(test_small_pack_rules)
{
    char dir[64];
    make_small(dir, sizeof dir, 0);
    vr_content *c = NULL;
    char err[ERRLEN];
    int rc = vr_content_load(&c, dir, err, sizeof err);
    rmtree(dir);
    ck_assert_msg(rc == 0, "%s", err);
    check_consistent(c);
    uint32_t nf, nh;
    const vr_faction *f = vr_content_factions(c, &nf);
    const vr_hull_class *h = vr_content_hulls(c, &nh);
    ck_assert_uint_eq(nf, 2);
    ck_assert_str_eq(vr_content_string(c, f[0].id), "Alpha_Union");
    ck_assert_str_eq(vr_content_string(c, f[0].name), "Alpha Union"); /* "Unknown" -> from the id */
    ck_assert_str_eq(vr_content_string(c, f[1].name), "The Beta Swarm");
    ck_assert_uint_eq(nh, 6); /* built-in */

    const vr_design *d = design(c, "alpha_cruiser");
    ck_assert_uint_eq(d->nweapons, 2);
    ck_assert_float_eq_tol(d->attacks, 3.0f, 1e-6f);
    ck_assert_float_eq_tol(d->strength, 6.0f, 1e-6f);      /* (2*5 + 1*8) / 3 */
    ck_assert_float_eq_tol(d->ap, -5.0f / 3.0f, 1e-6f);    /* (2*-1 + 1*-3) / 3 */
    ck_assert_str_eq(vr_content_string(c, h[d->hull].id), "cruiser");
    ck_assert_uint_eq(d->bs, 70);        /* 45 + 50/5 + 10 elite + 5 accurate */
    ck_assert_uint_eq(d->md, 15);        /* cruiser evasion 0.15 */
    ck_assert_uint_eq(d->leadership, 9); /* 4 + tier 3 + 2 elite */
    ck_assert_uint_eq(d->traits, VR_TRAIT_ELITE);

    d = design(c, "beta_fighter");
    ck_assert_str_eq(vr_content_string(c, h[d->hull].id), "corvette");
    ck_assert_uint_eq(d->md, 80);
    ck_assert_uint_eq(d->bs, 45);
    ck_assert_uint_eq(d->leadership, 5);
    ck_assert_uint_eq(d->faction, 1);

    uint32_t nw;
    const vr_weapon *w = vr_content_weapons(c, &nw);
    ck_assert_uint_eq(w[1].tag_mask, VR_WTAG(ENERGY) | VR_WTAG(LANCE));
    ck_assert_uint_eq(w[0].tag_mask, VR_WTAG(KINETIC) | VR_WTAG(ACCURATE));
    uint32_t nt;
    const uint32_t *tags = vr_content_tags(c, &nt);
    ck_assert_str_eq(vr_content_string(c, tags[w[1].tag_first + 1]), "lance");
    vr_content_destroy(&c);
}
END_TEST

/* JSON object order and unknown extra fields change nothing. */
START_TEST(test_small_pack_order_independent)
{
    char d1[64], d2[64];
    make_small(d1, sizeof d1, 0);
    make_small(d2, sizeof d2, 1);
    vr_content *a = NULL, *b = NULL;
    char e1[ERRLEN], e2[ERRLEN];
    int r1 = vr_content_load(&a, d1, e1, sizeof e1);
    int r2 = vr_content_load(&b, d2, e2, sizeof e2);
    rmtree(d1);
    rmtree(d2);
    ck_assert_msg(r1 == 0, "%s", e1);
    ck_assert_msg(r2 == 0, "%s", e2);
    ck_assert_uint_eq(vr_content_hash(a), vr_content_hash(b));
    vr_content_destroy(&a);
    vr_content_destroy(&b);
}
END_TEST

/* The universe directory is found by content, and may be given directly. */
START_TEST(test_universe_discovery)
{
    char dir[64], sub[128];
    make_small(dir, sizeof dir, 0);
    write_str(dir, "universes/aaa_empty/readme.txt", "not a universe\n");
    snprintf(sub, sizeof sub, "%s/universes/vr", dir);
    vr_content *a = NULL, *b = NULL;
    char e1[ERRLEN], e2[ERRLEN];
    int r1 = vr_content_load(&a, dir, e1, sizeof e1);
    int r2 = vr_content_load(&b, sub, e2, sizeof e2);
    rmtree(dir);
    ck_assert_msg(r1 == 0, "%s", e1);
    ck_assert_msg(r2 == 0, "%s", e2);
    ck_assert_uint_eq(vr_content_hash(a), vr_content_hash(b));
    vr_content_destroy(&a);
    vr_content_destroy(&b);
}
END_TEST

/* ---- broken packs ---------------------------------------------------------- */

START_TEST(test_missing_dir)
{
    char err[ERRLEN];
    vr_content *c = (vr_content *)&err; /* must be overwritten with NULL */
    int rc = vr_content_load(&c, "/nonexistent/vr_content_pack", err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_ptr_null(c);
    ASSERT_HAS(err, "/nonexistent/vr_content_pack");

    char dir[64];
    make_tmp(dir, sizeof dir); /* exists, but is no pack */
    rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -ENOENT);
    ASSERT_HAS(err, "faction_registry.json");
}
END_TEST

START_TEST(test_missing_required_file)
{
    static const char *const files[] = {F_WPN, F_DES};
    for (int i = 0; i < 2; i++) {
        char dir[64], path[256], err[ERRLEN];
        make_real_copy(dir, sizeof dir, 0);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        ck_assert_int_eq(unlink(path), 0);
        int rc = load_and_remove(dir, err);
        ck_assert_int_eq(rc, -ENOENT);
        ASSERT_HAS(err, files[i]);
    }
}
END_TEST

START_TEST(test_truncated_json)
{
    char dir[64], err[ERRLEN], src[4096];
    size_t n;
    make_real_copy(dir, sizeof dir, 0);
    snprintf(src, sizeof src, "%s/%s", pack_dir(), F_WPN);
    char *buf = read_file(src, &n);
    write_file(dir, F_WPN, buf, n / 2);
    free(buf);
    int rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -VR_ECONTENT);
    ASSERT_HAS(err, "weapon_registry.json: line ");
    ASSERT_HAS(err, "JSON syntax error");
}
END_TEST

START_TEST(test_wrong_type_hp)
{
    char dir[64], err[ERRLEN];
    make_real_copy(dir, sizeof dir, 0);
    copy_replaced(dir, F_DES, "\"hp\": 80,", "\"hp\": \"80\",");
    int rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -VR_ECONTENT);
    ASSERT_HAS(err, "procedural_roster.json: templars_of_the_flux_fighter_standard.base_stats.hp: "
                    "expected a number, got a string");
}
END_TEST

START_TEST(test_missing_field)
{
    char dir[64], err[ERRLEN];
    make_real_copy(dir, sizeof dir, 0);
    copy_replaced(dir, F_DES, "\"cost\": 200,", "");
    int rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -VR_ECONTENT);
    ASSERT_HAS(err, "templars_of_the_flux_fighter_standard.cost: required field is missing");

    make_real_copy(dir, sizeof dir, 0);
    copy_replaced(dir, F_WPN, "\"strength\": 8.74,", "");
    rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -VR_ECONTENT);
    ASSERT_HAS(err, "weapon_registry.json: Templars_of_the_Flux_base_melta_weapon_2.stats.strength");
}
END_TEST

START_TEST(test_unknown_faction)
{
    char dir[64], err[ERRLEN];
    make_real_copy(dir, sizeof dir, 0);
    copy_replaced(dir, F_DES, "\"faction\": \"Templars_of_the_Flux\"", "\"faction\": \"Nobody_Here\"");
    int rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -VR_ECONTENT);
    ASSERT_HAS(err, "procedural_roster.json");
    ASSERT_HAS(err, "templars_of_the_flux_fighter_standard references unknown faction 'Nobody_Here'");
}
END_TEST

START_TEST(test_unknown_weapon)
{
    char dir[64], err[ERRLEN];
    make_real_copy(dir, sizeof dir, 0);
    copy_replaced(dir, F_DES, "\"component\": \"Templars_of_the_Flux_base_melta_weapon_2\"",
                  "\"component\": \"No_Such_Gun\"");
    int rc = load_and_remove(dir, err);
    ck_assert_int_eq(rc, -VR_ECONTENT);
    ASSERT_HAS(err, "procedural_roster.json: templars_of_the_flux_fighter_standard.components[0].component");
    ASSERT_HAS(err, "unknown weapon component 'No_Such_Gun'");
}
END_TEST

START_TEST(test_empty_registries)
{
    static const char *const files[] = {F_FAC, F_WPN, F_DES};
    static const char *const bodies[] = {"{}", "[]", "{}\n"};
    for (int i = 0; i < 3; i++) {
        char dir[64], err[ERRLEN];
        make_real_copy(dir, sizeof dir, 0);
        write_str(dir, files[i], bodies[i]);
        int rc = load_and_remove(dir, err);
        ck_assert_int_eq(rc, -VR_ECONTENT);
        ASSERT_HAS(err, files[i]);
    }
}
END_TEST

START_TEST(test_other_broken_shapes)
{
    static const struct {
        const char *file, *body, *expect;
    } cases[] = {
        {U "factions/faction_registry.json", "{\"A\": 3}", "faction_registry.json: A: expected an object, got a number"},
        {U "factions/weapon_registry.json", "{\"gun_a\": {\"stats\": []}}", "gun_a.stats: expected an object, got an array"},
        {U "factions/weapon_registry.json",
         "{\"gun_a\": {\"stats\": {\"range\": 1, \"strength\": 1, \"ap\": 0, \"attacks\": 1}, \"tags\": [1]}}",
         "gun_a: tags[0]: expected a string, got a number"},
        {U "factions/weapon_registry.json", "[{\"name\": \"no id\"}]", "[0].id: required field is missing"},
        {U "units/procedural_roster.json", "{\"x\": {\"type\": \"fighter\", \"faction\": \"Alpha_Union\", "
         "\"cost\": -5, \"base_stats\": {\"hp\": 1, \"speed\": 1}}}", "x.cost: -5 is out of range"},
        {U "units/procedural_roster.json", "{\"x\": {\"type\": \"fighter\", \"faction\": \"Alpha_Union\", "
         "\"cost\": 5, \"base_stats\": {\"hp\": 1, \"speed\": 1}, \"components\": [\"gun_a\"]}}",
         "x.components[0]: expected an object, got a string"},
        {U "units/procedural_roster.json", "[{\"blueprint_id\": \"x\", \"type\": \"fighter\", \"faction\": "
         "\"Alpha_Union\", \"cost\": 5, \"base_stats\": {\"hp\": 1, \"speed\": 1}}, {\"blueprint_id\": \"x\", "
         "\"type\": \"fighter\", \"faction\": \"Alpha_Union\", \"cost\": 5, \"base_stats\": {\"hp\": 1, \"speed\": 1}}]",
         "design id 'x' appears twice"},
        {U "units/procedural_roster.json", "\"just a string\"", "procedural_roster.json: line 1"},
        {"data/ships/hulls.json", "{\"hulls\": [{\"id\": \"corvette\", \"size\": 1}]}",
         "hulls.json: corvette.base_stats: required field is missing"},
        {U "game_data.json", "{\"planet_classes\": {\"Rock\": {\"slots\": \"many\"}}}",
         "game_data.json: planet_classes.Rock.slots: expected a number, got a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64], err[ERRLEN];
        make_small(dir, sizeof dir, 0);
        write_str(dir, cases[i].file, cases[i].body);
        int rc = load_and_remove(dir, err);
        ck_assert_msg(rc == -VR_ECONTENT, "case %zu: rc %d (%s)", i, rc, err);
        ASSERT_HAS(err, cases[i].expect);
    }
}
END_TEST

/* Every prefix of a roster and single-byte damage anywhere: an error with a
 * message or a valid load, never a crash (a crash fails this forked test). */
START_TEST(test_never_crashes)
{
    size_t len = strlen(small_roster);
    char *buf = malloc(len + 1);
    ck_assert_ptr_nonnull(buf);
    int ok = 0, failed = 0;
    for (size_t cut = 0; cut <= len; cut += 3) {
        char dir[64], err[ERRLEN];
        make_small(dir, sizeof dir, 0);
        write_file(dir, U "units/procedural_roster.json", small_roster, cut);
        int rc = load_and_remove(dir, err);
        if (rc == 0)
            ok++;
        else {
            failed++;
            ck_assert_msg(strstr(err, "procedural_roster.json") != NULL, "cut %zu: '%s'", cut, err);
        }
    }
    static const char junk[] = {'}', '{', '"', '0', '-', ']', ',', 'x', '\0', (char)0xff};
    for (size_t pos = 0; pos < len; pos += 5) {
        char dir[64], err[ERRLEN];
        memcpy(buf, small_roster, len);
        buf[pos] = junk[pos % sizeof junk];
        make_small(dir, sizeof dir, 0);
        write_file(dir, U "units/procedural_roster.json", buf, len);
        int rc = load_and_remove(dir, err);
        if (rc == 0)
            ok++;
        else {
            failed++;
            ck_assert_str_ne(err, "");
        }
    }
    free(buf);
    ck_assert_int_gt(failed, 0);
    ck_assert_int_gt(ok, 0); /* the full file, and harmless damage inside strings */
}
END_TEST

START_TEST(test_bad_args)
{
    char err[ERRLEN];
    vr_content *c = NULL;
    ck_assert_int_eq(vr_content_builtin(NULL, 1), -VR_EBADARG);
    ck_assert_int_eq(vr_content_load(NULL, "x", err, sizeof err), -VR_EBADARG);
    ck_assert_int_eq(vr_content_load(&c, NULL, err, sizeof err), -VR_EBADARG);
    ck_assert_int_eq(vr_content_load(&c, "/nonexistent", NULL, 0), -ENOENT);
    vr_content_destroy(NULL);
    vr_content_destroy(&c);
    ck_assert_int_eq(vr_content_faction_find(NULL, "x"), -VR_EBADARG);
    ck_assert_uint_eq(vr_content_hash(NULL), 0);
    uint32_t n = 7;
    ck_assert_ptr_null(vr_content_designs(NULL, &n));
    ck_assert_uint_eq(n, 0);

    ck_assert_int_eq(vr_content_builtin(&c, 5), 0);
    ck_assert_int_eq(vr_content_design_find(c, "nope"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_content_weapon_find(c, NULL), -VR_EBADARG);
    ck_assert_str_eq(vr_content_string(c, VR_CONTENT_NONE), "");
    ck_assert_ptr_null(vr_content_faction_designs(c, 1000, &n));
    ck_assert_uint_eq(n, 0);
    vr_content_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

static Suite *content_suite(void)
{
    Suite *s = suite_create("content");
    TCase *tc = tcase_create("pack");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_real_pack);
    tcase_add_test(tc, test_real_pack_hash_stable);
    tcase_add_test(tc, test_real_pack_without_hulls);
    tcase_add_test(tc, test_missing_dir);
    tcase_add_test(tc, test_missing_required_file);
    tcase_add_test(tc, test_truncated_json);
    tcase_add_test(tc, test_wrong_type_hp);
    tcase_add_test(tc, test_missing_field);
    tcase_add_test(tc, test_unknown_faction);
    tcase_add_test(tc, test_unknown_weapon);
    tcase_add_test(tc, test_empty_registries);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_builtin_deterministic);
    tcase_add_test(tc, test_builtin_many_seeds);
    tcase_add_test(tc, test_small_pack_rules);
    tcase_add_test(tc, test_small_pack_order_independent);
    tcase_add_test(tc, test_universe_discovery);
    tcase_add_test(tc, test_other_broken_shapes);
    tcase_add_test(tc, test_never_crashes);
    tcase_add_test(tc, test_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(content_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
