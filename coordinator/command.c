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

int vr_cmd_parse(const void *data, size_t len, vr_cmd *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
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
    bool have_cmd = false, have_n = false, have_v = false;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        char name[48];
        if ((have_cmd && key_is(k, "cmd")) || (have_n && key_is(k, "n")) || (have_v && key_is(k, "v"))) {
            show(name, sizeof name, k);
            snprintf(err, errlen, "field \"%s\" appears twice in request", name);
            goto out;
        }
        if (key_is(k, "cmd")) {
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
                         "hash, shutdown)", name);
                goto out;
            }
            have_cmd = true;
        } else if (key_is(k, "n")) {
            if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 == 0 ||
                v->via.u64 > VR_CMD_MAX_STEP) {
                snprintf(err, errlen, "\"n\" must be an integer from 1 to %d", VR_CMD_MAX_STEP);
                rc = -VR_EBADARG;
                goto out;
            }
            out->n = (int64_t)v->via.u64;
            have_n = true;
        } else if (key_is(k, "v")) {
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
            have_v = true;
        } else if (k->type == MSGPACK_OBJECT_STR) {
            show(name, sizeof name, k);
            snprintf(err, errlen, "unknown field \"%s\" in request", name);
            goto out;
        } else {
            snprintf(err, errlen, "request keys must be strings");
            goto out;
        }
    }
    if (!have_cmd) {
        snprintf(err, errlen, "request has no \"cmd\" field");
        goto out;
    }
    if (out->kind == VR_CMD_STEP && !have_n)
        out->n = 1;
    else if (out->kind != VR_CMD_STEP && have_n) {
        snprintf(err, errlen, "\"n\" is only valid with \"step\"");
        rc = -VR_EBADARG;
        goto out;
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
