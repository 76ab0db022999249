/* wire.c: msgpack encoding of the worker protocol (messages.def).
 *
 * Every message is a msgpack array [type, version, fields...].  Decoding is
 * defensive: the bytes may come from anywhere, so every element's type and
 * range is checked and a failure is a return code with a reason in m->text,
 * never a crash.
 */
#include "vr_schema.h"

#include <errno.h>
#include <msgpack.h>
#include <string.h>

/* Fields after [type, version] for each message type, as a format string:
 * one letter per field (see the switches below): C = the TURN's command
 * list, R = the DONE's result list. */
static const char *fields_of(int type)
{
    switch (type) {
    case VR_MSG_HELLO:  return "upfthE";  /* universe, pid, flags, turn, hash, entities */
    case VR_MSG_TURN:   return "tsC";     /* turn, seed, commands */
    case VR_MSG_DONE:   return "thEnMRP"; /* turn, hash, entities, turn_ns, metrics, results, portal traffic */
    case VR_MSG_COMMIT: return "t";
    case VR_MSG_STOP:   return "";
    case VR_MSG_FAIL:   return "tcx";     /* turn, code, text */
    case VR_MSG_PING:   return "";
    case VR_MSG_PONG:   return "t";
    case VR_MSG_RESEND: return "ut";      /* destination universe, turn */
    case VR_MSG_ADOPT:  return "th";      /* turn, hash */
    default:            return NULL;
    }
}

static uint64_t *u64_field(vr_msg *m, char f)
{
    switch (f) {
    case 't': return &m->turn;
    case 'h': return &m->hash;
    case 's': return &m->seed;
    case 'E': return &m->entities;
    case 'n': return &m->turn_ns;
    default:  return NULL;
    }
}

static void pack_cmds(msgpack_packer *pk, const vr_msg *m)
{
    uint32_t n = m->ncmds < VR_TURN_MAX_CMDS ? m->ncmds : VR_TURN_MAX_CMDS;
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        const vr_wcmd *c = &m->cmds[i];
        bool far = c->to_universe != 0; /* the 11th field only when used */
        msgpack_pack_array(pk, far ? 11 : 10);
        msgpack_pack_uint64(pk, c->ticket);
        msgpack_pack_uint32(pk, c->op);
        msgpack_pack_uint64(pk, c->fleet);
        msgpack_pack_uint32(pk, c->system);
        msgpack_pack_uint32(pk, c->faction);
        msgpack_pack_uint32(pk, c->design);
        msgpack_pack_uint32(pk, c->ships);
        msgpack_pack_uint32(pk, c->stance);
        msgpack_pack_uint32(pk, c->budget_mode);
        msgpack_pack_array(pk, 3);
        for (int k = 0; k < 3; k++) /* float32: the exact bits the coordinator chose */
            msgpack_pack_float(pk, c->budget[k]);
        if (far)
            msgpack_pack_uint32(pk, c->to_universe - 1);
    }
}

static void pack_portal(msgpack_packer *pk, const vr_msg *m)
{
    uint32_t n = m->nportal < VR_PORTAL_STATS_MAX ? m->nportal : VR_PORTAL_STATS_MAX;
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        const vr_portal_stat *p = &m->portal[i];
        msgpack_pack_array(pk, 9);
        msgpack_pack_uint32(pk, p->peer);
        msgpack_pack_uint32(pk, p->dir);
        msgpack_pack_uint64(pk, p->turn);
        msgpack_pack_uint64(pk, p->fleets);
        msgpack_pack_uint64(pk, p->ships);
        for (int r = 0; r < 4; r++)
            msgpack_pack_int64(pk, p->res[r]);
    }
}

static void pack_results(msgpack_packer *pk, const vr_msg *m)
{
    uint32_t n = m->nresults < VR_TURN_MAX_CMDS ? m->nresults : VR_TURN_MAX_CMDS;
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        const vr_wresult *r = &m->results[i];
        size_t tl = strnlen(r->text, sizeof r->text);
        msgpack_pack_array(pk, 4);
        msgpack_pack_uint64(pk, r->ticket);
        msgpack_pack_int32(pk, r->code);
        msgpack_pack_uint64(pk, r->entity);
        msgpack_pack_str(pk, tl);
        msgpack_pack_str_body(pk, r->text, tl);
    }
}

int vr_msg_encode(const vr_msg *m, char *buf, size_t cap)
{
    const char *f = fields_of(m->type);
    if (!f)
        return -VR_EBADMSG;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2 + strlen(f));
    msgpack_pack_int(&pk, m->type);
    msgpack_pack_uint32(&pk, VR_WIRE_VERSION);
    for (const char *p = f; *p; p++) {
        vr_msg *mm = (vr_msg *)m;
        switch (*p) {
        case 'u': msgpack_pack_uint32(&pk, m->universe); break;
        case 'p': msgpack_pack_int32(&pk, m->pid); break;
        case 'f': msgpack_pack_uint32(&pk, m->flags); break;
        case 'c': msgpack_pack_int32(&pk, m->code); break;
        case 'C': pack_cmds(&pk, m); break;
        case 'R': pack_results(&pk, m); break;
        case 'P': pack_portal(&pk, m); break;
        case 'M':
            msgpack_pack_array(&pk, VR_NMETRICS);
            for (int k = 0; k < VR_NMETRICS; k++)
                msgpack_pack_uint64(&pk, m->metrics[k]);
            break;
        case 'x': {
            size_t n = strnlen(m->text, sizeof m->text);
            msgpack_pack_str(&pk, n);
            msgpack_pack_str_body(&pk, m->text, n);
            break;
        }
        default: msgpack_pack_uint64(&pk, *u64_field(mm, *p)); break;
        }
    }
    int rc = (int)sb.size;
    if (sb.size > cap)
        rc = -ENOSPC;
    else
        memcpy(buf, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int bad(vr_msg *m, const char *why)
{
    snprintf(m->text, sizeof m->text, "%s", why);
    return -VR_EBADMSG;
}

static int get_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            return -1;
        *v = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return 0;
    }
    return -1;
}

/* Walks the first msgpack object in p[0, len) without building it and fails
 * when a length or count field claims more than the bytes left (every
 * pending object needs at least one byte).  msgpack-c allocates a
 * container's elements as soon as it reads the header, so without this a
 * 6-byte array32 header makes it ask malloc for up to 96 GiB; with it, what
 * it allocates is bounded by len.  A plain truncation is left to msgpack. */
int vr_msgpack_check(const void *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *p = data;
    size_t pos = 0;
    uint64_t pending = 1;
    while (pending > 0 && pos < len) {
        size_t at = pos;
        unsigned b = p[pos++], lenbytes = 0, per = 0; /* per claimed unit: 0 bytes, 1 or 2 objects */
        uint64_t claim = 0, fixed = 0;
        pending--;
        if (b >= 0x80 && b <= 0x8f)
            claim = b & 0x0f, per = 2;
        else if (b >= 0x90 && b <= 0x9f)
            claim = b & 0x0f, per = 1;
        else if (b >= 0xa0 && b <= 0xbf)
            claim = b & 0x1f;
        else
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;            /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;            /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break;            /* bin32, str32 */
            case 0xc7: lenbytes = 1, fixed = 1; break;            /* ext8: length, type */
            case 0xc8: lenbytes = 2, fixed = 1; break;
            case 0xc9: lenbytes = 4, fixed = 1; break;
            case 0xdc: lenbytes = 2, per = 1; break;              /* array16 */
            case 0xdd: lenbytes = 4, per = 1; break;              /* array32 */
            case 0xde: lenbytes = 2, per = 2; break;              /* map16 */
            case 0xdf: lenbytes = 4, per = 2; break;              /* map32 */
            case 0xcc: case 0xd0: fixed = 1; break;
            case 0xcd: case 0xd1: case 0xd4: fixed = 2; break;   /* ..., fixext1 */
            case 0xd5: fixed = 3; break;
            case 0xca: case 0xce: case 0xd2: fixed = 4; break;
            case 0xd6: fixed = 5; break;
            case 0xcb: case 0xcf: case 0xd3: fixed = 8; break;
            case 0xd7: fixed = 9; break;
            case 0xd8: fixed = 17; break;
            default: break; /* fixints, nil, booleans, 0xc1 */
            }
        if (lenbytes > len - pos)
            return 0;
        for (unsigned i = 0; i < lenbytes; i++)
            claim = claim << 8 | p[pos++];
        if (fixed > len - pos)
            return 0;
        pos += fixed;
        if (pending + claim * (per ? per : 1) > len - pos) {
            snprintf(err, errlen, "msgpack header at byte %zu claims %llu %s but only %zu bytes follow",
                     at, (unsigned long long)claim,
                     per == 0 ? "bytes" : per == 1 ? "elements" : "map entries", len - pos);
            return -1;
        }
        if (per)
            pending += claim * per;
        else
            pos += claim;
    }
    return 0;
}

static int get_u(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return -1;
    *v = o->via.u64;
    return 0;
}

static int decode_cmds(const msgpack_object *e, vr_msg *m)
{
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size > VR_TURN_MAX_CMDS) {
        snprintf(m->text, sizeof m->text, "TURN commands must be an array of at most %d commands",
                 VR_TURN_MAX_CMDS);
        return -VR_EBADMSG;
    }
    for (uint32_t i = 0; i < e->via.array.size; i++) {
        const msgpack_object *a = &e->via.array.ptr[i];
        vr_wcmd *c = &m->cmds[i];
        uint64_t v[9];
        static const uint64_t max[9] = {UINT64_MAX, 255, UINT64_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
                                        UINT32_MAX, 255, 255};
        if (a->type != MSGPACK_OBJECT_ARRAY || (a->via.array.size != 10 && a->via.array.size != 11))
            return bad(m, "a TURN command is not an array of 10 (or 11) fields");
        c->to_universe = 0;
        if (a->via.array.size == 11) {
            uint64_t u;
            if (get_u(&a->via.array.ptr[10], UINT32_MAX - 1, &u))
                return bad(m, "a TURN command's universe is not an unsigned 32-bit integer");
            c->to_universe = (uint32_t)u + 1;
        }
        for (int k = 0; k < 9; k++)
            if (get_u(&a->via.array.ptr[k], max[k], &v[k]))
                return bad(m, "a TURN command field is not an unsigned integer in range");
        const msgpack_object *b = &a->via.array.ptr[9];
        if (b->type != MSGPACK_OBJECT_ARRAY || b->via.array.size != 3)
            return bad(m, "a TURN command's budget is not an array of 3 numbers");
        for (int k = 0; k < 3; k++) {
            const msgpack_object *x = &b->via.array.ptr[k];
            if (x->type != MSGPACK_OBJECT_FLOAT32 && x->type != MSGPACK_OBJECT_FLOAT64)
                return bad(m, "a TURN command's budget holds a non-float");
            c->budget[k] = (float)x->via.f64; /* a float32 unpacked into f64: exact */
        }
        c->ticket = v[0], c->op = (uint32_t)v[1], c->fleet = v[2], c->system = (uint32_t)v[3];
        c->faction = (uint32_t)v[4], c->design = (uint32_t)v[5], c->ships = (uint32_t)v[6];
        c->stance = (uint8_t)v[7], c->budget_mode = (uint8_t)v[8];
    }
    m->ncmds = e->via.array.size;
    return 0;
}

static int decode_results(const msgpack_object *e, vr_msg *m)
{
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size > VR_TURN_MAX_CMDS) {
        snprintf(m->text, sizeof m->text, "DONE results must be an array of at most %d results",
                 VR_TURN_MAX_CMDS);
        return -VR_EBADMSG;
    }
    for (uint32_t i = 0; i < e->via.array.size; i++) {
        const msgpack_object *a = &e->via.array.ptr[i];
        vr_wresult *r = &m->results[i];
        int64_t code;
        if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 4 ||
            get_u(&a->via.array.ptr[0], UINT64_MAX, &r->ticket) || get_int(&a->via.array.ptr[1], &code) ||
            code < INT32_MIN || code > 0 || get_u(&a->via.array.ptr[2], UINT64_MAX, &r->entity) ||
            a->via.array.ptr[3].type != MSGPACK_OBJECT_STR)
            return bad(m, "a DONE result is not [ticket, code <= 0, entity, text]");
        r->code = (int32_t)code;
        const msgpack_object *t = &a->via.array.ptr[3];
        size_t n = t->via.str.size < sizeof r->text - 1 ? t->via.str.size : sizeof r->text - 1;
        memcpy(r->text, t->via.str.ptr, n);
        r->text[n] = 0;
    }
    m->nresults = e->via.array.size;
    return 0;
}

static int decode_portal(const msgpack_object *e, vr_msg *m)
{
    if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size > VR_PORTAL_STATS_MAX) {
        snprintf(m->text, sizeof m->text, "DONE portal traffic must be an array of at most %d entries",
                 VR_PORTAL_STATS_MAX);
        return -VR_EBADMSG;
    }
    for (uint32_t i = 0; i < e->via.array.size; i++) {
        const msgpack_object *a = &e->via.array.ptr[i];
        vr_portal_stat *p = &m->portal[i];
        uint64_t v[5];
        if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 9)
            return bad(m, "a DONE portal entry is not [peer, dir, turn, fleets, ships, ore, alloys, fuel, food]");
        static const uint64_t max[5] = {UINT32_MAX, 1, UINT64_MAX, UINT64_MAX, UINT64_MAX};
        for (int k = 0; k < 5; k++)
            if (get_u(&a->via.array.ptr[k], max[k], &v[k]))
                return bad(m, "a DONE portal entry field is not an unsigned integer in range");
        for (int r = 0; r < 4; r++)
            if (get_int(&a->via.array.ptr[5 + r], &p->res[r]))
                return bad(m, "a DONE portal entry's cargo is not an integer");
        p->peer = (uint32_t)v[0], p->dir = (uint32_t)v[1], p->turn = v[2], p->fleets = v[3], p->ships = v[4];
    }
    m->nportal = e->via.array.size;
    return 0;
}

int vr_msg_decode(const void *data, size_t len, vr_msg *m)
{
    memset(m, 0, sizeof *m);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = 0;
    if (vr_msgpack_check(data, len, m->text, sizeof m->text) < 0) {
        rc = -VR_EBADMSG;
        goto out;
    }
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        rc = bad(m, "not a complete msgpack object");
        goto out;
    }
    if (off != len) {
        rc = bad(m, "trailing bytes after the message");
        goto out;
    }
    const msgpack_object *o = &up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2) {
        rc = bad(m, "message is not an array [type, version, ...]");
        goto out;
    }
    const msgpack_object *a = o->via.array.ptr;
    int64_t type, ver;
    if (get_int(&a[0], &type) || get_int(&a[1], &ver)) {
        rc = bad(m, "message type or version is not an integer");
        goto out;
    }
    m->type = (int)type;
    m->version = (uint32_t)ver;
    if (ver != VR_WIRE_VERSION) {
        snprintf(m->text, sizeof m->text, "wire version %lld, this build speaks %u", (long long)ver,
                 VR_WIRE_VERSION);
        rc = -VR_EBADVERSION;
        goto out;
    }
    const char *f = fields_of(m->type);
    if (!f || type != m->type) {
        rc = bad(m, "unknown message type");
        goto out;
    }
    if (o->via.array.size != 2 + strlen(f)) {
        snprintf(m->text, sizeof m->text, "%s needs %zu fields, got %u", vr_msg_name(m->type),
                 2 + strlen(f), o->via.array.size);
        rc = -VR_EBADMSG;
        goto out;
    }
    for (size_t i = 0; f[i]; i++) {
        const msgpack_object *e = &a[2 + i];
        if (f[i] == 'x') {
            if (e->type != MSGPACK_OBJECT_STR) {
                rc = bad(m, "text field is not a string");
                goto out;
            }
            size_t n = e->via.str.size < sizeof m->text - 1 ? e->via.str.size : sizeof m->text - 1;
            memcpy(m->text, e->via.str.ptr, n);
            m->text[n] = 0;
            continue;
        }
        if (f[i] == 'C' || f[i] == 'R' || f[i] == 'P') {
            if ((rc = f[i] == 'C' ? decode_cmds(e, m) : f[i] == 'R' ? decode_results(e, m) : decode_portal(e, m)))
                goto out;
            continue;
        }
        if (f[i] == 'M') {
            if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != VR_NMETRICS) {
                snprintf(m->text, sizeof m->text, "metrics must be an array of %d integers", VR_NMETRICS);
                rc = -VR_EBADMSG;
                goto out;
            }
            for (int k = 0; k < VR_NMETRICS; k++) {
                if (e->via.array.ptr[k].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                    rc = bad(m, "a metric is not a non-negative integer");
                    goto out;
                }
                m->metrics[k] = e->via.array.ptr[k].via.u64;
            }
            continue;
        }
        int64_t v;
        if (f[i] == 'p' || f[i] == 'c') {
            if (get_int(e, &v) || v < INT32_MIN || v > INT32_MAX) {
                rc = bad(m, "signed field out of range");
                goto out;
            }
            *(f[i] == 'p' ? &m->pid : &m->code) = (int32_t)v;
        } else if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            rc = bad(m, "unsigned field is not a non-negative integer");
            goto out;
        } else if (f[i] == 'u' || f[i] == 'f') {
            if (e->via.u64 > UINT32_MAX) {
                rc = bad(m, "32-bit field out of range");
                goto out;
            }
            *(f[i] == 'u' ? &m->universe : &m->flags) = (uint32_t)e->via.u64;
        } else {
            *u64_field(m, f[i]) = e->via.u64;
        }
    }
out:
    msgpack_unpacked_destroy(&up);
    return rc;
}
