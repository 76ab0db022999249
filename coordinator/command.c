/* command.c: parsing of command requests and building of error replies.
 *
 * Requests come from anyone who can reach the command socket, so parsing
 * trusts nothing: the size is bounded, msgpack decoding is bounded by the
 * buffer, every key and value is type-checked, and each failure produces a
 * sentence naming the offending part.  Parsing never changes state.
 */
#include "vr_coord.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

const char *vr_cmd_name(vr_cmd_kind k)
{
    switch (k) {
#define VR_CMD_CASE(kk, s)                                                                \
    case VR_CMD_##kk:                                                                     \
        return s;
        VR_CMDS(VR_CMD_CASE)
#undef VR_CMD_CASE
    default:
        return "?";
    }
}

static bool key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, s, n) == 0;
}

/* printable copy of a msgpack string for error messages */
static void show(char *out, size_t len, const msgpack_object *o)
{
    size_t n = o->via.str.size < len - 1 ? o->via.str.size : len - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = o->via.str.ptr[i];
        out[i] = (ch >= 32 && ch < 127) ? ch : '?';
    }
    out[n] = 0;
}

/* Fields a request may carry, and which commands take them. */
enum { F_CMD, F_N, F_V, F_UNIVERSE, F_FLEET, F_KIND, F_TO, F_FACTION, F_DESIGN, F_AT, F_SHIPS, F_STANCE,
       F_BUDGET, F_TICKET, F_TO_UNIVERSE, F_PATH, F_COUNT };
static const char *const field_names[F_COUNT] = {"cmd", "n", "v", "universe", "fleet", "kind", "to", "faction",
                                                 "design", "at", "ships", "stance", "budget", "ticket",
                                                 "to_universe", "path"};

#define BIT(k) (1u << VR_CMD_##k)
/* commands that take each field (cmd and v: all) */
static const uint32_t field_cmds[F_COUNT] = {
    [F_N] = BIT(STEP),
    [F_UNIVERSE] = BIT(ORDER) | BIT(SPAWN) | BIT(POLICY),
    [F_FLEET] = BIT(ORDER), [F_KIND] = BIT(ORDER), [F_TO] = BIT(ORDER),
    [F_FACTION] = BIT(SPAWN) | BIT(POLICY), [F_DESIGN] = BIT(SPAWN), [F_AT] = BIT(SPAWN),
    [F_SHIPS] = BIT(SPAWN), [F_STANCE] = BIT(POLICY), [F_BUDGET] = BIT(POLICY), [F_TICKET] = BIT(RESULT),
    [F_TO_UNIVERSE] = BIT(ORDER), [F_PATH] = BIT(SNAPSHOT),
};
/* fields each command must have */
static const uint32_t required[] = {
    [VR_CMD_ORDER] = 1u << F_UNIVERSE | 1u << F_FLEET | 1u << F_KIND,
    [VR_CMD_SPAWN] = 1u << F_UNIVERSE | 1u << F_FACTION | 1u << F_DESIGN | 1u << F_AT,
    [VR_CMD_POLICY] = 1u << F_UNIVERSE | 1u << F_FACTION,
    [VR_CMD_RESULT] = 1u << F_TICKET,
};

/* An unsigned integer field from lo to hi, or -VR_EBADARG naming it. */
static int get_uint(const msgpack_object *v, const char *name, uint64_t lo, uint64_t hi, uint64_t *out, char *err,
                    size_t errlen)
{
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 < lo || v->via.u64 > hi) {
        snprintf(err, errlen, "\"%s\" must be an integer from %llu to %llu", name, (unsigned long long)lo,
                 (unsigned long long)hi);
        return -VR_EBADARG;
    }
    *out = v->via.u64;
    return 0;
}

/* A name field: a string of 1..VR_CMD_NAME_MAX bytes with no NUL. */
static int get_name(const msgpack_object *v, const char *what, char *out, uint32_t *outlen, char *err,
                    size_t errlen)
{
    char shown[48];
    show(shown, sizeof shown, v);
    if (v->via.str.size == 0 || v->via.str.size > VR_CMD_NAME_MAX || memchr(v->via.str.ptr, 0, v->via.str.size)) {
        snprintf(err, errlen, "no %s is named \"%s\" (names are 1 to %d bytes without NUL)", what, shown,
                 VR_CMD_NAME_MAX);
        return -VR_EBADARG;
    }
    memcpy(out, v->via.str.ptr, v->via.str.size);
    out[v->via.str.size] = 0;
    *outlen = v->via.str.size;
    return 0;
}

static int get_number(const msgpack_object *v, double *out)
{
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)v->via.u64; return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)v->via.i64; return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = v->via.f64; return 0;
    default: return -1;
    }
}

/* One field's value into out; 0 or an error with a sentence. */
static int parse_field(int f, const msgpack_object *v, vr_cmd *out, char *err, size_t errlen)
{
    uint64_t u;
    char name[48];
    int rc;
    switch (f) {
    case F_N:
        if ((rc = get_uint(v, "n", 1, VR_CMD_MAX_STEP, &u, err, errlen)))
            return rc;
        out->n = (int64_t)u;
        return 0;
    case F_UNIVERSE:
        if ((rc = get_uint(v, "universe", 0, VR_CMD_MAX_UNIVERSES - 1, &u, err, errlen)))
            return rc;
        out->universe = (uint32_t)u;
        return 0;
    case F_FLEET:
        if ((rc = get_uint(v, "fleet", 1, UINT64_MAX, &u, err, errlen)))
            return rc;
        out->fleet = u;
        return 0;
    case F_TO:
    case F_AT:
        if ((rc = get_uint(v, field_names[f], 0, VR_NO_SYSTEM - 1, &u, err, errlen)))
            return rc;
        out->system = (uint32_t)u;
        return 0;
    case F_TO_UNIVERSE:
        if ((rc = get_uint(v, "to_universe", 0, VR_CMD_MAX_UNIVERSES - 1, &u, err, errlen)))
            return rc;
        out->to_universe = (uint32_t)u + 1;
        return 0;
    case F_SHIPS:
        if ((rc = get_uint(v, "ships", 1, VR_SPAWN_MAX_SHIPS, &u, err, errlen)))
            return rc;
        out->ships = (uint32_t)u;
        return 0;
    case F_PATH:
        if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size > VR_CMD_PATH_MAX ||
            memchr(v->via.str.ptr, 0, v->via.str.size)) {
            snprintf(err, errlen, "\"path\" must be a file name of 1 to %d bytes", VR_CMD_PATH_MAX);
            return -VR_EBADARG;
        }
        memcpy(out->path, v->via.str.ptr, v->via.str.size);
        out->path[v->via.str.size] = 0;
        return 0;
    case F_TICKET:
        if ((rc = get_uint(v, "ticket", 1, UINT64_MAX, &u, err, errlen)))
            return rc;
        out->ticket = u;
        return 0;
    case F_KIND:
        if (v->type == MSGPACK_OBJECT_STR) {
#define VR_KIND_MATCH(k, code, s)                                                                  \
    if (key_is(v, s)) {                                                                            \
        out->op = VR_OP_##k;                                                                       \
        return 0;                                                                                  \
    }
            VR_ORDER_KINDS(VR_KIND_MATCH)
#undef VR_KIND_MATCH
            show(name, sizeof name, v);
            snprintf(err, errlen, "bad order kind \"%s\" (known: move, attack, hold, retreat)", name);
        } else {
            snprintf(err, errlen, "\"kind\" must be a string: move, attack, hold or retreat");
        }
        return -VR_EBADARG;
    case F_FACTION:
        if (v->type == MSGPACK_OBJECT_STR)
            return get_name(v, "faction", out->faction_name, &out->faction_len, err, errlen);
        if ((rc = get_uint(v, "faction", 1, 65535, &u, err, errlen))) {
            snprintf(err, errlen, "\"faction\" must be a faction number from 1 to 65535 or a faction name");
            return rc;
        }
        out->faction = (uint32_t)u;
        return 0;
    case F_DESIGN:
        if (v->type == MSGPACK_OBJECT_STR)
            return get_name(v, "design", out->design_name, &out->design_len, err, errlen);
        if ((rc = get_uint(v, "design", 0, 65535, &u, err, errlen))) {
            snprintf(err, errlen, "\"design\" must be a design index from 0 to 65535 or a design name");
            return rc;
        }
        out->design = (uint32_t)u;
        return 0;
    case F_STANCE:
        if (v->type == MSGPACK_OBJECT_STR) {
#define VR_STANCE_MATCH(k, code, s)                                                                \
    if (key_is(v, s)) {                                                                            \
        out->stance = VR_STANCE_##k;                                                               \
        return 0;                                                                                  \
    }
            VR_STANCES(VR_STANCE_MATCH)
#undef VR_STANCE_MATCH
            show(name, sizeof name, v);
            snprintf(err, errlen, "bad stance \"%s\" (known: balanced, aggressive, defensive, auto)", name);
        } else {
            snprintf(err, errlen, "\"stance\" must be a string: balanced, aggressive, defensive or auto");
        }
        return -VR_EBADARG;
    case F_BUDGET: {
        if (key_is(v, "auto")) {
            out->budget_mode = VR_BUDGET_AUTO;
            return 0;
        }
        double sum = 0;
        bool good = v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 3;
        for (uint32_t i = 0; good && i < 3; i++) {
            double x;
            good = get_number(&v->via.array.ptr[i], &x) == 0 && x >= 0 && x <= 1e9; /* NaN fails too */
            out->budget[i] = good ? x : 0;
            sum += good ? x : 0;
        }
        if (!good || !(sum > 0)) {
            snprintf(err, errlen, "bad budget: \"budget\" must be [military, economy, expansion], three numbers "
                     "from 0 to 1e9 with a positive sum, or \"auto\"");
            return -VR_EBADARG;
        }
        out->budget_mode = VR_BUDGET_SET;
        return 0;
    }
    default:
        return 0;
    }
}

int vr_cmd_parse(const void *data, size_t len, vr_cmd *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->system = VR_NO_SYSTEM;
    out->design = UINT32_MAX;
    out->stance = VR_STANCE_KEEP;
    if (len > VR_CMD_MAX_BYTES) {
        snprintf(err, errlen, "request is %zu bytes; the limit is %d", len, VR_CMD_MAX_BYTES);
        return -VR_EBADMSG;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -VR_EBADMSG;
    if (vr_msgpack_check(data, len, err, errlen) < 0)
        goto out;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, data, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errlen, "request is not a complete msgpack object (%zu bytes)", len);
        goto out;
    }
    if (off != len) {
        snprintf(err, errlen, "request has %zu trailing bytes after the msgpack map", len - off);
        goto out;
    }
    const msgpack_object *o = &up.data;
    if (o->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "request must be a msgpack map like {\"cmd\": \"status\"}");
        goto out;
    }
    /* first pass: shape, the command and the version; values are checked
     * once the command is known, so "unknown field" wins over a bad value
     * only when the field is unknown to every command */
    const msgpack_object *val[F_COUNT] = {0};
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        char name[48];
        if (k->type != MSGPACK_OBJECT_STR) {
            snprintf(err, errlen, "request keys must be strings");
            goto out;
        }
        int f = 0;
        while (f < F_COUNT && !key_is(k, field_names[f]))
            f++;
        show(name, sizeof name, k);
        if (f == F_COUNT) {
            snprintf(err, errlen, "unknown field \"%s\" in request", name);
            goto out;
        }
        if (val[f]) {
            snprintf(err, errlen, "field \"%s\" appears twice in request", name);
            goto out;
        }
        val[f] = v;
        if (f == F_CMD) {
            if (v->type != MSGPACK_OBJECT_STR) {
                snprintf(err, errlen, "\"cmd\" must be a string");
                goto out;
            }
            show(name, sizeof name, v);
#define VR_CMD_MATCH(kk, s)                                                               \
    if (key_is(v, s))                                                                     \
        out->kind = VR_CMD_##kk;
            VR_CMDS(VR_CMD_MATCH)
#undef VR_CMD_MATCH
            if (out->kind == VR_CMD_NONE) {
                snprintf(err, errlen, "unknown command \"%s\" (known: status, step, pause, resume, "
                         "hash, shutdown, order, spawn, policy, result, snapshot)", name);
                goto out;
            }
        } else if (f == F_V) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                snprintf(err, errlen, "\"v\" must be a wire version number (this coordinator speaks %u)",
                         VR_WIRE_VERSION);
                rc = -VR_EBADVERSION;
                goto out;
            }
            if (v->via.u64 != VR_WIRE_VERSION) {
                snprintf(err, errlen, "request speaks wire version %llu, this coordinator speaks %u",
                         (unsigned long long)v->via.u64, VR_WIRE_VERSION);
                rc = -VR_EBADVERSION;
                goto out;
            }
        }
    }
    if (!val[F_CMD]) {
        snprintf(err, errlen, "request has no \"cmd\" field");
        goto out;
    }
    const char *cname = vr_cmd_name(out->kind);
    for (int f = F_N; f < F_COUNT; f++) {
        if (f == F_V || !val[f])
            continue;
        if (!(field_cmds[f] & (1u << out->kind))) {
            if (f == F_N)
                snprintf(err, errlen, "\"n\" is only valid with \"step\"");
            else
                snprintf(err, errlen, "\"%s\" does not take the field \"%s\"", cname, field_names[f]);
            rc = -VR_EBADARG;
            goto out;
        }
        if ((rc = parse_field(f, val[f], out, err, errlen)))
            goto out;
    }
    rc = -VR_EBADARG;
    uint32_t need = (size_t)out->kind < sizeof required / sizeof required[0] ? required[out->kind] : 0;
    for (int f = 0; f < F_COUNT; f++)
        if ((need & (1u << f)) && !val[f]) {
            snprintf(err, errlen, "\"%s\" needs the field \"%s\"", cname, field_names[f]);
            goto out;
        }
    switch (out->kind) {
    case VR_CMD_STEP:
        if (!val[F_N])
            out->n = 1;
        break;
    case VR_CMD_ORDER: {
        bool wants_to = out->op == VR_OP_MOVE || out->op == VR_OP_ATTACK;
        if (wants_to && !val[F_TO]) {
            snprintf(err, errlen, "order %s needs \"to\": the target system", out->op == VR_OP_MOVE ? "move" : "attack");
            goto out;
        }
        if (!wants_to && val[F_TO]) {
            snprintf(err, errlen, "\"to\" is only valid with order kinds move and attack");
            goto out;
        }
        break;
    }
    case VR_CMD_SPAWN:
        out->op = VR_OP_SPAWN;
        if (!val[F_SHIPS])
            out->ships = 1;
        break;
    case VR_CMD_POLICY:
        out->op = VR_OP_POLICY;
        if (!val[F_STANCE] && !val[F_BUDGET]) {
            snprintf(err, errlen, "\"policy\" needs \"stance\", \"budget\" or both");
            goto out;
        }
        break;
    default:
        break;
    }
    rc = 0;
out:
    if (rc)
        out->kind = VR_CMD_NONE;
    msgpack_unpacked_destroy(&up);
    return rc;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void vr_reply_error(msgpack_sbuffer *sb, const char *msg)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "ok");
    msgpack_pack_false(&pk);
    pack_str(&pk, "error");
    pack_str(&pk, msg);
}

void vr_reply_error_code(msgpack_sbuffer *sb, int code, const char *msg)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pack_str(&pk, "ok");
    msgpack_pack_false(&pk);
    pack_str(&pk, "error");
    pack_str(&pk, msg);
    pack_str(&pk, "code");
    msgpack_pack_int(&pk, code);
}

uint64_t vr_cluster_hash(const uint64_t *hashes, uint32_t n)
{
    uint8_t buf[8];
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    for (uint32_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) /* little-endian on every host */
            buf[b] = (uint8_t)(hashes[i] >> (8 * b));
        XXH3_64bits_update(&st, buf, 8);
    }
    return XXH3_64bits_digest(&st);
}

/* ---- checking game commands against the committed world ------------------ */

/* Row of the first name in a name column (width bytes per row) equal to
 * name, or -1. */
static int64_t find_name(const uint8_t *col, uint32_t rows, uint32_t width, const char *name, uint32_t len)
{
    if (len > width)
        return -1;
    for (uint32_t r = 0; r < rows; r++) {
        const uint8_t *p = col + (size_t)r * width;
        if (memcmp(p, name, len) == 0 && (len == width || p[len] == 0))
            return r;
    }
    return -1;
}

/* The checks of vr_cmd_resolve on one consistent view. */
static int resolve_view(const vr_cmd *cmd, const vr_arena *a, const vr_view *v, vr_wcmd *out, char *err,
                        size_t errlen)
{
    uint32_t u = cmd->universe, nsys = 0, nfl = 0, nfac = 0, ndes = 0;
    (void)vr_view_column(a, v, VR_COL_systems_x, &nsys);
    const uint32_t *fgen = vr_view_column(a, v, VR_COL_GEN(VR_TAB_fleets), &nfl);
    const uint16_t *ffac = vr_view_column(a, v, VR_COL_fleets_faction, NULL);
    const uint8_t *facname = vr_view_column(a, v, VR_COL_factions_name, &nfac);
    const uint8_t *desname = vr_view_column(a, v, VR_COL_designs_name, &ndes);
    if (!fgen || !ffac || !facname || !desname)
        return snprintf(err, errlen, "universe %u has no fleets, factions or designs table", u), -VR_EBADARG;
    if (cmd->system != VR_NO_SYSTEM && cmd->system >= nsys) {
        snprintf(err, errlen, "target system %u is out of range: universe %u has systems 0 to %u", cmd->system, u,
                 nsys ? nsys - 1 : 0);
        return -VR_EBADARG;
    }
    *out = (vr_wcmd){.op = cmd->op, .system = cmd->system, .stance = VR_STANCE_KEEP};
    if (cmd->kind == VR_CMD_ORDER) {
        uint32_t row = (uint32_t)cmd->fleet, gen = (uint32_t)(cmd->fleet >> 32);
        if (row >= nfl || !(gen & 1)) {
            snprintf(err, errlen, "unknown fleet %llu (0x%llx) in universe %u: no such row or generation",
                     (unsigned long long)cmd->fleet, (unsigned long long)cmd->fleet, u);
            return -VR_EBADID;
        }
        if (fgen[row] != gen) {
            snprintf(err, errlen, "fleet %llu (0x%llx) of universe %u is dead (row %u now holds generation %u)",
                     (unsigned long long)cmd->fleet, (unsigned long long)cmd->fleet, u, row, fgen[row]);
            return -VR_EBADID;
        }
        out->fleet = cmd->fleet;
        out->faction = ffac[row];
        /* its own universe named as destination: a plain order */
        out->to_universe = cmd->to_universe && cmd->to_universe - 1 != u ? cmd->to_universe : 0;
        return 0;
    }
    /* spawn and policy: a faction */
    const uint32_t wf = vr_columns[VR_COL_factions_name].lanes, wd = vr_columns[VR_COL_designs_name].lanes;
    uint32_t f = cmd->faction;
    if (f == 0) {
        int64_t r = find_name(facname, nfac, wf, cmd->faction_name, cmd->faction_len);
        if (r < 0) {
            char shown[48];
            msgpack_object o = {.type = MSGPACK_OBJECT_STR,
                                .via.str = {.size = cmd->faction_len, .ptr = cmd->faction_name}};
            show(shown, sizeof shown, &o);
            snprintf(err, errlen, "unknown faction \"%s\" in universe %u (see the factions.name column)", shown, u);
            return -VR_EBADARG;
        }
        f = (uint32_t)r + 1;
    } else if (f > nfac) {
        snprintf(err, errlen, "unknown faction %u: universe %u has factions 1 to %u", f, u, nfac);
        return -VR_EBADARG;
    }
    out->faction = f;
    if (cmd->kind == VR_CMD_SPAWN) {
        uint32_t d = cmd->design;
        if (d == UINT32_MAX) {
            int64_t r = find_name(desname, ndes, wd, cmd->design_name, cmd->design_len);
            if (r < 0) {
                char shown[48];
                msgpack_object o = {.type = MSGPACK_OBJECT_STR,
                                    .via.str = {.size = cmd->design_len, .ptr = cmd->design_name}};
                show(shown, sizeof shown, &o);
                snprintf(err, errlen, "unknown design \"%s\" in universe %u (see the designs.name column)", shown,
                         u);
                return -VR_EBADARG;
            }
            d = (uint32_t)r;
        } else if (d >= ndes) {
            snprintf(err, errlen, "unknown design %u: universe %u has designs 0 to %u", d, u, ndes ? ndes - 1 : 0);
            return -VR_EBADARG;
        }
        out->design = d;
        out->ships = cmd->ships;
        return 0;
    }
    out->stance = cmd->stance;
    out->budget_mode = cmd->budget_mode;
    if (cmd->budget_mode == VR_BUDGET_SET) {
        /* normalised here, once, so every replay of the command stores the
         * same float32 bits */
        double sum = cmd->budget[0] + cmd->budget[1] + cmd->budget[2];
        for (int k = 0; k < 3; k++)
            out->budget[k] = (float)(cmd->budget[k] / sum);
    }
    return 0;
}

int vr_cmd_resolve(const vr_cmd *cmd, vr_arena *const *arenas, uint32_t nuniverses, vr_wcmd *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (cmd->kind != VR_CMD_ORDER && cmd->kind != VR_CMD_SPAWN && cmd->kind != VR_CMD_POLICY) {
        snprintf(err, errlen, "\"%s\" is not a game command", vr_cmd_name(cmd->kind));
        return -VR_EBADARG;
    }
    if (cmd->universe >= nuniverses || !arenas || !arenas[cmd->universe]) {
        snprintf(err, errlen, "unknown universe %u: this cluster has universes 0 to %u", cmd->universe,
                 nuniverses ? nuniverses - 1 : 0);
        return -VR_EBADARG;
    }
    if (cmd->to_universe && (cmd->kind != VR_CMD_ORDER || (cmd->op != VR_OP_MOVE && cmd->op != VR_OP_ATTACK))) {
        snprintf(err, errlen, "\"to_universe\" goes only with an order to move or attack");
        return -VR_EBADARG;
    }
    if (cmd->to_universe && cmd->to_universe - 1 >= nuniverses) {
        snprintf(err, errlen, "unknown destination universe %u: this cluster has universes 0 to %u",
                 cmd->to_universe - 1, nuniverses ? nuniverses - 1 : 0);
        return -VR_EBADARG;
    }
    const vr_arena *a = arenas[cmd->universe];
    for (int tries = 0; tries < 8; tries++) {
        vr_view v;
        int rc = vr_arena_read_begin(a, &v);
        if (rc) {
            snprintf(err, errlen, "universe %u has no committed turn yet", cmd->universe);
            return rc;
        }
        rc = resolve_view(cmd, a, &v, out, err, errlen);
        if (vr_arena_read_end(a, &v) == 0)
            return rc;
    }
    snprintf(err, errlen, "universe %u changed under every read (torn 8 times); retry", cmd->universe);
    return -VR_ETORN;
}
