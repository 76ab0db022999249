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
    case VR_MSG_DONE:   return "thEn";    /* turn, hash, entities, turn_ns */
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

int vr_msg_decode(const void *data, size_t len, vr_msg *m)
{
    memset(m, 0, sizeof *m);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = 0;
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
