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
 * u = unsigned int (stored by position), s = string. */
static const char *fields_of(int type)
{
    switch (type) {
    case VR_MSG_HELLO:  return "upfthE";  /* universe, pid, flags, turn, hash, entities */
    case VR_MSG_TURN:   return "ts";      /* turn, seed */
    case VR_MSG_DONE:   return "thEnM";   /* turn, hash, entities, turn_ns, metrics */
    case VR_MSG_COMMIT: return "t";
    case VR_MSG_STOP:   return "";
    case VR_MSG_FAIL:   return "tcx";     /* turn, code, text */
    case VR_MSG_PING:   return "";
    case VR_MSG_PONG:   return "t";
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
