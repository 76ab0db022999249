/* portal_wire.c: the transfer batch on the wire (msgpack), built from the
 * outbox tables of an arena.
 *
 * A batch is one msgpack array
 *   ["VRPB", version, source, dest, turn, count, [fleet...]]
 *   fleet = [id, link, dest, faction, order, speed, [ore, alloys, fuel, food],
 *            capacity, upkeep, [ship...]]
 *   ship  = [design, faction, hull, shield, armor, strength, ap, attacks,
 *            accuracy, evasion, morale, state, speed, cargo]
 * floats as float32 (the arena's bits, exactly).  One batch per (source,
 * destination, turn), empty ones too, so the receiver knows when it has
 * everything.  Decoding trusts nothing: the length is bounded, every
 * length field is checked against the bytes left before msgpack-c
 * allocates (vr_msgpack_check), count must equal the fleets sent, every
 * field has its type and range, and a failure leaves the batch empty.
 */
#include "portal.h"

#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "VRPB"

void vr_portal_batch_init(vr_portal_batch *b)
{
    memset(b, 0, sizeof *b);
}

void vr_portal_batch_fini(vr_portal_batch *b)
{
    free(b->fleets);
    free(b->ships);
    memset(b, 0, sizeof *b);
}

static int reserve(vr_portal_batch *b, uint32_t nf, uint32_t ns)
{
    if (nf > b->cap_fleets) {
        vr_pfleet *x = realloc(b->fleets, (size_t)nf * sizeof *x);
        if (!x)
            return -ENOMEM;
        b->fleets = x, b->cap_fleets = nf;
    }
    if (ns > b->cap_ships) {
        vr_pship *x = realloc(b->ships, (size_t)ns * sizeof *x);
        if (!x)
            return -ENOMEM;
        b->ships = x, b->cap_ships = ns;
    }
    return 0;
}

int vr_portal_batch_from_outbox(vr_portal_batch *b, const vr_cols *c, uint32_t source, uint32_t dest,
                                uint64_t turn)
{
    uint32_t nt = c->tables[VR_TAB_transit].count, nsh = c->tables[VR_TAB_transit_ships].count;
    b->source = source, b->dest = dest, b->turn = turn, b->nfleets = b->nships = 0;
    uint32_t nf = 0, ns = 0;
    for (uint32_t t = 0; t < nt; t++)
        if ((c->gen[VR_TAB_transit][t] & 1) && c->transit_to[t] == dest)
            nf++, ns += c->transit_ships[t];
    int rc = reserve(b, nf ? nf : 1, ns ? ns : 1);
    if (rc)
        return rc;
    for (uint32_t t = 0; t < nt; t++) {
        if (!(c->gen[VR_TAB_transit][t] & 1) || c->transit_to[t] != dest)
            continue;
        vr_pfleet *f = &b->fleets[b->nfleets++];
        f->fleet = c->transit_fleet[t];
        f->link = c->transit_link[t];
        f->dest = c->transit_dest[t];
        f->faction = c->transit_faction[t];
        f->order = c->transit_order[t];
        f->speed = c->transit_speed[t];
        memcpy(f->cargo, c->transit_cargo + (size_t)t * VR_NRES, sizeof f->cargo);
        f->capacity = c->transit_capacity[t];
        f->upkeep = c->transit_upkeep[t];
        f->first = b->nships;
        f->nships = 0;
        for (uint32_t k = c->transit_first[t], e = k + c->transit_ships[t]; k < e && k < nsh; k++) {
            vr_pship *s = &b->ships[b->nships++];
            s->design = c->transit_ships_design[k];
            s->faction = c->transit_ships_faction[k];
            s->hull = c->transit_ships_hull[k];
            s->shield = c->transit_ships_shield[k];
            s->armor = c->transit_ships_armor[k];
            s->strength = c->transit_ships_strength[k];
            s->ap = c->transit_ships_ap[k];
            s->attacks = c->transit_ships_attacks[k];
            s->accuracy = c->transit_ships_accuracy[k];
            s->evasion = c->transit_ships_evasion[k];
            s->morale = c->transit_ships_morale[k];
            s->state = c->transit_ships_state[k];
            s->speed = c->transit_ships_speed[k];
            s->cargo = c->transit_ships_cargo[k];
            f->nships++;
        }
    }
    return 0;
}

void vr_portal_batch_totals(const vr_portal_batch *b, vr_portal_stat *st)
{
    memset(st, 0, sizeof *st);
    st->turn = b->turn;
    for (uint32_t i = 0; i < b->nfleets; i++) {
        st->fleets++;
        st->ships += b->fleets[i].nships;
        for (int r = 0; r < VR_NRES; r++)
            st->res[r] += b->fleets[i].cargo[r];
    }
}

int vr_portal_batch_encode(const vr_portal_batch *b, char **out, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, MAGIC, 4);
    msgpack_pack_uint32(&pk, VR_PORTAL_BATCH_VERSION);
    msgpack_pack_uint32(&pk, b->source);
    msgpack_pack_uint32(&pk, b->dest);
    msgpack_pack_uint64(&pk, b->turn);
    msgpack_pack_uint32(&pk, b->nfleets);
    msgpack_pack_array(&pk, b->nfleets);
    for (uint32_t i = 0; i < b->nfleets; i++) {
        const vr_pfleet *f = &b->fleets[i];
        msgpack_pack_array(&pk, 10);
        msgpack_pack_uint64(&pk, f->fleet);
        msgpack_pack_uint32(&pk, f->link);
        msgpack_pack_uint32(&pk, f->dest);
        msgpack_pack_uint16(&pk, f->faction);
        msgpack_pack_uint8(&pk, f->order);
        msgpack_pack_float(&pk, f->speed);
        msgpack_pack_array(&pk, VR_NRES);
        for (int r = 0; r < VR_NRES; r++)
            msgpack_pack_int64(&pk, f->cargo[r]);
        msgpack_pack_int64(&pk, f->capacity);
        msgpack_pack_int64(&pk, f->upkeep);
        msgpack_pack_array(&pk, f->nships);
        for (uint32_t k = 0; k < f->nships; k++) {
            const vr_pship *s = &b->ships[f->first + k];
            msgpack_pack_array(&pk, 14);
            msgpack_pack_uint16(&pk, s->design);
            msgpack_pack_uint16(&pk, s->faction);
            msgpack_pack_float(&pk, s->hull);
            msgpack_pack_float(&pk, s->shield);
            msgpack_pack_float(&pk, s->armor);
            msgpack_pack_float(&pk, s->strength);
            msgpack_pack_float(&pk, s->ap);
            msgpack_pack_uint16(&pk, s->attacks);
            msgpack_pack_uint8(&pk, s->accuracy);
            msgpack_pack_uint8(&pk, s->evasion);
            msgpack_pack_uint8(&pk, s->morale);
            msgpack_pack_uint8(&pk, s->state);
            msgpack_pack_float(&pk, s->speed);
            msgpack_pack_uint32(&pk, s->cargo);
        }
    }
    if (!sb.data) { /* nothing written: cannot happen, the header is always there */
        msgpack_sbuffer_destroy(&sb);
        return -ENOMEM;
    }
    *len = sb.size;
    *out = msgpack_sbuffer_release(&sb);
    return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -VR_EBADMSG;
}

static int u(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return -1;
    *v = o->via.u64;
    return 0;
}

static int i64(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        return *v = (int64_t)o->via.u64, 0;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return *v = o->via.i64, 0;
    return -1;
}

static int f32(const msgpack_object *o, float *v)
{
    if (o->type != MSGPACK_OBJECT_FLOAT32 && o->type != MSGPACK_OBJECT_FLOAT64)
        return -1;
    double d = o->via.f64;
    if (!isfinite(d) || fabs(d) > 3.0e38)
        return -1;
    *v = (float)d;
    return 0;
}

static int decode_ship(const msgpack_object *o, vr_pship *s)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 14)
        return -1;
    const msgpack_object *a = o->via.array.ptr;
    uint64_t v[14];
    static const uint64_t max[14] = {65535, 65535, 0, 0, 0, 0, 0, 65535, 100, 100, 255, 255, 0, UINT32_MAX};
    for (int k = 0; k < 14; k++) {
        if (k >= 2 && k <= 6)
            continue;
        if (k == 12)
            continue;
        if (u(&a[k], max[k], &v[k]))
            return -1;
    }
    if (f32(&a[2], &s->hull) || f32(&a[3], &s->shield) || f32(&a[4], &s->armor) || f32(&a[5], &s->strength) ||
        f32(&a[6], &s->ap) || f32(&a[12], &s->speed))
        return -1;
    s->design = (uint16_t)v[0], s->faction = (uint16_t)v[1], s->attacks = (uint16_t)v[7];
    s->accuracy = (uint8_t)v[8], s->evasion = (uint8_t)v[9], s->morale = (uint8_t)v[10], s->state = (uint8_t)v[11];
    s->cargo = (uint32_t)v[13];
    return 0;
}

static int decode_body(const msgpack_object *o, vr_portal_batch *b, char *err, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7)
        return bad(err, errlen, "batch is not an array of 7 fields [\"VRPB\", version, source, dest, turn, count, fleets]");
    const msgpack_object *a = o->via.array.ptr;
    if (a[0].type != MSGPACK_OBJECT_STR || a[0].via.str.size != 4 || memcmp(a[0].via.str.ptr, MAGIC, 4))
        return bad(err, errlen, "batch does not start with \"VRPB\"");
    uint64_t ver, src, dst, turn, count;
    if (u(&a[1], UINT32_MAX, &ver))
        return bad(err, errlen, "batch version is not an unsigned integer");
    if (ver != VR_PORTAL_BATCH_VERSION) {
        bad(err, errlen, "batch version %llu, this build reads %u", (unsigned long long)ver, VR_PORTAL_BATCH_VERSION);
        return -VR_EBADVERSION;
    }
    if (u(&a[2], UINT32_MAX, &src) || u(&a[3], UINT32_MAX, &dst) || u(&a[4], UINT64_MAX / 2, &turn) ||
        u(&a[5], VR_PORTAL_TRANSIT_MAX, &count))
        return bad(err, errlen, "batch source, dest, turn or count is not an unsigned integer in range "
                                "(count at most %d)", VR_PORTAL_TRANSIT_MAX);
    const msgpack_object *fl = &a[6];
    if (fl->type != MSGPACK_OBJECT_ARRAY || fl->via.array.size != count)
        return bad(err, errlen, "batch count %llu does not match its fleets (%u)", (unsigned long long)count,
                   fl->type == MSGPACK_OBJECT_ARRAY ? fl->via.array.size : 0);
    uint32_t ns = 0;
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *f = &fl->via.array.ptr[i];
        if (f->type != MSGPACK_OBJECT_ARRAY || f->via.array.size != 10 ||
            f->via.array.ptr[9].type != MSGPACK_OBJECT_ARRAY || f->via.array.ptr[9].via.array.size == 0 ||
            f->via.array.ptr[9].via.array.size > VR_PORTAL_FLEET_SHIPS)
            return bad(err, errlen, "fleet %u is not [id, link, dest, faction, order, speed, cargo, capacity, "
                                    "upkeep, ships] with 1 to %d ships", i, VR_PORTAL_FLEET_SHIPS);
        ns += f->via.array.ptr[9].via.array.size;
    }
    int rc = reserve(b, count ? (uint32_t)count : 1, ns ? ns : 1);
    if (rc)
        return rc;
    b->source = (uint32_t)src, b->dest = (uint32_t)dst, b->turn = turn;
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *fa = fl->via.array.ptr[i].via.array.ptr;
        vr_pfleet *f = &b->fleets[i];
        uint64_t v[5];
        static const uint64_t max[5] = {UINT64_MAX, UINT32_MAX, UINT32_MAX, 65535, 255};
        for (int k = 0; k < 5; k++)
            if (u(&fa[k], max[k], &v[k]))
                return bad(err, errlen, "fleet %u: field %d is not an unsigned integer in range", i, k);
        if (f32(&fa[5], &f->speed))
            return bad(err, errlen, "fleet %u: speed is not a finite float", i);
        if (fa[6].type != MSGPACK_OBJECT_ARRAY || fa[6].via.array.size != VR_NRES)
            return bad(err, errlen, "fleet %u: cargo is not an array of %d integers", i, VR_NRES);
        for (int r = 0; r < VR_NRES; r++)
            if (i64(&fa[6].via.array.ptr[r], &f->cargo[r]))
                return bad(err, errlen, "fleet %u: cargo holds a non-integer", i);
        if (i64(&fa[7], &f->capacity) || i64(&fa[8], &f->upkeep))
            return bad(err, errlen, "fleet %u: capacity or upkeep is not an integer", i);
        f->fleet = v[0], f->link = (uint32_t)v[1], f->dest = (uint32_t)v[2];
        f->faction = (uint16_t)v[3], f->order = (uint8_t)v[4];
        f->first = b->nships;
        f->nships = fa[9].via.array.size;
        for (uint32_t k = 0; k < f->nships; k++)
            if (decode_ship(&fa[9].via.array.ptr[k], &b->ships[b->nships++]))
                return bad(err, errlen, "fleet %u: ship %u is not 14 fields of the right types and ranges", i, k);
        b->nfleets++;
    }
    return 0;
}

int vr_portal_batch_decode(const void *data, size_t len, vr_portal_batch *b, char *err, size_t errlen)
{
    b->nfleets = b->nships = 0;
    b->source = b->dest = 0, b->turn = 0;
    if (!data || len == 0)
        return bad(err, errlen, "empty batch");
    if (len > VR_PORTAL_BATCH_MAX_BYTES)
        return bad(err, errlen, "batch of %zu bytes is over the %u byte limit", len, VR_PORTAL_BATCH_MAX_BYTES);
    if (vr_msgpack_check(data, len, err, errlen) < 0)
        return -VR_EBADMSG;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc;
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        rc = bad(err, errlen, "batch is not a complete msgpack object (truncated?)");
    else if (off != len)
        rc = bad(err, errlen, "%zu trailing bytes after the batch", len - off);
    else
        rc = decode_body(&up.data, b, err, errlen);
    msgpack_unpacked_destroy(&up);
    if (rc) {
        b->nfleets = b->nships = 0;
        b->source = b->dest = 0, b->turn = 0;
    }
    return rc;
}
