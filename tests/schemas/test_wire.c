/* test_wire.c: Check suite for schemas/wire.c (the worker protocol on msgpack).
 *
 * Every message type must survive encode/decode with its fields in the order
 * messages.def documents (Python and other builds rely on it), and decoding
 * must turn anything else (random bytes, other versions, wrong shapes and
 * types, trailing or missing bytes) into -VR_EBADMSG or -VR_EBADVERSION with
 * a reason in m->text, never a crash.  Hostile messages are built with
 * msgpack-c's own packer so each case is exactly the shape it claims.
 */
#include "vr_schema.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* Fields after [type, version], as messages.def documents them:
 * u universe, p pid, f flags, t turn, h hash, s seed, E entities,
 * n turn_ns, c code, x text, M metrics, C commands (TURN), R results (DONE),
 * P portal traffic (DONE). */
static const struct {
    int type;
    const char *fields;
} shapes[] = {
    {VR_MSG_HELLO, "upfthE"}, {VR_MSG_TURN, "tsC"}, {VR_MSG_DONE, "thEnMRP"}, {VR_MSG_COMMIT, "t"},
    {VR_MSG_STOP, ""},       {VR_MSG_FAIL, "tcx"}, {VR_MSG_PING, ""},    {VR_MSG_PONG, "t"},
    {VR_MSG_RESEND, "ut"}, {VR_MSG_ADOPT, "th"},
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

/* A message with every field set to something distinctive. */
static vr_msg full_msg(int type)
{
    vr_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.version = 77; /* ignored by encode */
    m.universe = 4000000000u;
    m.pid = -123456;
    m.flags = 0x0000000Bu;
    m.code = -VR_EFULL;
    m.turn = 0xFFFFFFFFFFFFFFF0ull;
    m.hash = 0xDEADBEEFCAFEF00Dull;
    m.seed = 0x0123456789ABCDEFull;
    m.entities = 1234567890123ull;
    m.turn_ns = 987654321ull;
    for (int k = 0; k < VR_NMETRICS; k++)
        m.metrics[k] = 1000000007ull * (uint64_t)(k + 1);
    snprintf(m.text, sizeof m.text, "fleets: table is full (type %d)", type);
    m.ncmds = 3;
    for (uint32_t i = 0; i < m.ncmds; i++)
        m.cmds[i] = (vr_wcmd){.ticket = 0xFFFFFFFFFFFFull + i, .fleet = 0x0000000500000007ull + i, .op = 1 + i,
                              .system = 4000000000u + i, .faction = 65535, .design = 70000, .ships = 100,
                              .stance = (uint8_t)(i == 2 ? VR_STANCE_KEEP : i), .budget_mode = (uint8_t)i,
                              .budget = {0.25f, 0.5f + (float)i, 1.0f / 3}};
    m.nresults = 2;
    m.results[0] = (vr_wresult){.ticket = 9, .entity = 0x0000000300000002ull, .code = 0};
    m.results[1] = (vr_wresult){.ticket = 10, .entity = 0, .code = -VR_EBADID};
    snprintf(m.results[1].text, sizeof m.results[1].text, "fleet 12 is dead at turn 5");
    m.nportal = 2;
    m.portal[0] = (vr_portal_stat){.peer = 3, .dir = 0, .turn = 7, .fleets = 2, .ships = 30, .res = {1, 2, 3, 4}};
    m.portal[1] = (vr_portal_stat){.peer = 1, .dir = 1, .turn = 6, .fleets = 0, .ships = 0, .res = {0, 0, -5, 0}};
    return m;
}

/* What decoding the encoding of full_msg(type) must give: the type's own
 * fields, everything else zero. */
static vr_msg expected_msg(int type, const char *fields)
{
    vr_msg in = full_msg(type), m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.version = VR_WIRE_VERSION;
    for (const char *f = fields; *f; f++) {
        switch (*f) {
        case 'u': m.universe = in.universe; break;
        case 'p': m.pid = in.pid; break;
        case 'f': m.flags = in.flags; break;
        case 't': m.turn = in.turn; break;
        case 'h': m.hash = in.hash; break;
        case 's': m.seed = in.seed; break;
        case 'E': m.entities = in.entities; break;
        case 'n': m.turn_ns = in.turn_ns; break;
        case 'c': m.code = in.code; break;
        case 'x': memcpy(m.text, in.text, sizeof m.text); break;
        case 'M': memcpy(m.metrics, in.metrics, sizeof m.metrics); break;
        case 'C': m.ncmds = in.ncmds; memcpy(m.cmds, in.cmds, sizeof m.cmds); break;
        case 'R': m.nresults = in.nresults; memcpy(m.results, in.results, sizeof m.results); break;
        case 'P': m.nportal = in.nportal; memcpy(m.portal, in.portal, sizeof m.portal); break;
        }
    }
    return m;
}

static void assert_msg_eq(const vr_msg *a, const vr_msg *b)
{
    ck_assert_int_eq(a->type, b->type);
    ck_assert_uint_eq(a->version, b->version);
    ck_assert_uint_eq(a->universe, b->universe);
    ck_assert_int_eq(a->pid, b->pid);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_int_eq(a->code, b->code);
    ck_assert_uint_eq(a->turn, b->turn);
    ck_assert_uint_eq(a->hash, b->hash);
    ck_assert_uint_eq(a->seed, b->seed);
    ck_assert_uint_eq(a->entities, b->entities);
    ck_assert_uint_eq(a->turn_ns, b->turn_ns);
    ck_assert_str_eq(a->text, b->text);
}

/* A decode failure: one of the two documented codes and a reason. */
static void assert_rejected(int rc, const vr_msg *m, int want, const char *what)
{
    ck_assert_msg(rc == want, "%s: decode returned %d (%s), expected %d", what, rc,
                  rc ? vr_strerror(rc) : "ok", want);
    ck_assert_msg(strnlen(m->text, sizeof m->text) < sizeof m->text, "%s: text not terminated", what);
    ck_assert_msg(m->text[0] != 0, "%s: no reason given in m->text", what);
}

/* msgpack-c packer over a growing buffer. */
typedef struct packer {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} packer;

static void pk_begin(packer *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static int pk_decode(packer *p, vr_msg *m)
{
    int rc = vr_msg_decode(p->sb.data, p->sb.size, m);
    msgpack_sbuffer_destroy(&p->sb);
    return rc;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* A valid value for field f. */
static void pk_good_field(msgpack_packer *pk, char f)
{
    if (f == 'x')
        pk_str(pk, "why");
    else if (f == 'M') {
        msgpack_pack_array(pk, VR_NMETRICS);
        for (int k = 0; k < VR_NMETRICS; k++)
            msgpack_pack_uint32(pk, 3);
    }
    else if (f == 'p' || f == 'c')
        msgpack_pack_int32(pk, -3);
    else if (f == 'C' || f == 'R' || f == 'P')
        msgpack_pack_array(pk, 0); /* no commands, no results, no portal traffic */
    else
        msgpack_pack_uint32(pk, 3);
}

/* Whether text holds n as a whole number (not part of a longer one). */
static int has_number(const char *text, unsigned long long n)
{
    char num[32];
    int len = snprintf(num, sizeof num, "%llu", n);
    for (const char *p = text; (p = strstr(p, num)) != NULL; p++)
        if ((p == text || !isdigit((unsigned char)p[-1])) && !isdigit((unsigned char)p[len]))
            return 1;
    return 0;
}

/* ---- round trips ------------------------------------------------------------ */

START_TEST(test_round_trip_every_type)
{
    int type = shapes[_i].type;
    vr_msg in = full_msg(type), out;
    char buf[VR_WIRE_MAX_BYTES];
    int n = vr_msg_encode(&in, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5A, sizeof out);
    ck_assert_int_eq(vr_msg_decode(buf, (size_t)n, &out), 0);
    vr_msg want = expected_msg(type, shapes[_i].fields);
    assert_msg_eq(&out, &want);
    ck_assert_int_eq(memcmp(&out, &want, sizeof out), 0);
}
END_TEST

/* The encoding is the array messages.def documents: [type, ver, fields...]. */
START_TEST(test_encoding_shape)
{
    int type = shapes[_i].type;
    const char *f = shapes[_i].fields;
    vr_msg in = full_msg(type);
    char buf[VR_WIRE_MAX_BYTES];
    int n = vr_msg_encode(&in, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&up, buf, (size_t)n, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, (size_t)n);
    ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(up.data.via.array.size, 2 + strlen(f));
    const msgpack_object *a = up.data.via.array.ptr;
    ck_assert_int_eq(a[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_uint_eq(a[0].via.u64, (uint64_t)type);
    ck_assert_uint_eq(a[1].via.u64, VR_WIRE_VERSION);
    for (size_t i = 0; f[i]; i++) {
        const msgpack_object *e = &a[2 + i];
        switch (f[i]) {
        case 'x':
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_STR);
            ck_assert_uint_eq(e->via.str.size, strlen(in.text));
            ck_assert_int_eq(memcmp(e->via.str.ptr, in.text, e->via.str.size), 0);
            break;
        case 'p':
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
            ck_assert_int_eq(e->via.i64, in.pid);
            break;
        case 'c':
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
            ck_assert_int_eq(e->via.i64, in.code);
            break;
        case 'P':
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_ARRAY);
            ck_assert_uint_eq(e->via.array.size, in.nportal);
            for (uint32_t k = 0; k < e->via.array.size; k++)
                ck_assert_uint_eq(e->via.array.ptr[k].via.array.size, 9);
            break;
        case 'C':
        case 'R':
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_ARRAY);
            ck_assert_uint_eq(e->via.array.size, f[i] == 'C' ? in.ncmds : in.nresults);
            for (uint32_t k = 0; k < e->via.array.size; k++)
                ck_assert_uint_eq(e->via.array.ptr[k].via.array.size, f[i] == 'C' ? 10 : 4);
            break;
        case 'M':
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_ARRAY);
            ck_assert_uint_eq(e->via.array.size, VR_NMETRICS);
            for (int k = 0; k < VR_NMETRICS; k++)
                ck_assert_uint_eq(e->via.array.ptr[k].via.u64, in.metrics[k]);
            break;
        default: {
            uint64_t want = f[i] == 'u' ? in.universe : f[i] == 'f' ? in.flags
                          : f[i] == 't' ? in.turn : f[i] == 'h' ? in.hash
                          : f[i] == 's' ? in.seed : f[i] == 'E' ? in.entities : in.turn_ns;
            ck_assert_int_eq(e->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
            ck_assert_uint_eq(e->via.u64, want);
        }
        }
    }
    msgpack_unpacked_destroy(&up);
}
END_TEST

START_TEST(test_round_trip_extremes)
{
    char buf[VR_WIRE_MAX_BYTES];
    vr_msg in, out;
    memset(&in, 0, sizeof in);
    in.type = VR_MSG_HELLO;
    in.universe = UINT32_MAX;
    in.pid = INT32_MIN;
    in.flags = UINT32_MAX;
    in.turn = UINT64_MAX;
    in.hash = 0;
    int n = vr_msg_encode(&in, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(vr_msg_decode(buf, (size_t)n, &out), 0);
    ck_assert_uint_eq(out.universe, UINT32_MAX);
    ck_assert_int_eq(out.pid, INT32_MIN);
    ck_assert_uint_eq(out.flags, UINT32_MAX);
    ck_assert_uint_eq(out.turn, UINT64_MAX);
    ck_assert_uint_eq(out.hash, 0);

    memset(&in, 0, sizeof in);
    in.type = VR_MSG_FAIL;
    in.code = INT32_MAX;
    in.turn = 0;
    n = vr_msg_encode(&in, buf, sizeof buf); /* empty text */
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(vr_msg_decode(buf, (size_t)n, &out), 0);
    ck_assert_int_eq(out.code, INT32_MAX);
    ck_assert_str_eq(out.text, "");

    /* the longest text that fits, 255 characters */
    memset(in.text, 'a', sizeof in.text - 1);
    in.text[sizeof in.text - 1] = 0;
    n = vr_msg_encode(&in, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(vr_msg_decode(buf, (size_t)n, &out), 0);
    ck_assert_str_eq(out.text, in.text);
}
END_TEST

/* A peer may send a longer text than vr_msg holds: it is cut, not overflowed. */
START_TEST(test_decode_long_text_is_truncated)
{
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    packer p;
    vr_msg m;
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 5);
    msgpack_pack_int(&p.pk, VR_MSG_FAIL);
    msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
    msgpack_pack_uint64(&p.pk, 9);
    msgpack_pack_int32(&p.pk, -1);
    pk_str(&p.pk, big);
    ck_assert_int_eq(pk_decode(&p, &m), 0);
    ck_assert_uint_eq(strlen(m.text), sizeof m.text - 1);
    ck_assert_int_eq(strncmp(m.text, big, sizeof m.text - 1), 0);
    ck_assert_uint_eq(m.turn, 9);
    ck_assert_int_eq(m.code, -1);
}
END_TEST

/* ---- encode errors ----------------------------------------------------------- */

START_TEST(test_encode_small_buffer)
{
    int type = shapes[_i].type;
    vr_msg in = full_msg(type);
    char ref[1024];
    int n = vr_msg_encode(&in, ref, sizeof ref);
    ck_assert_int_gt(n, 2);
    char buf[1024];
    for (int cap = 0; cap < n; cap++) {
        memset(buf, 0x5A, sizeof buf);
        ck_assert_int_eq(vr_msg_encode(&in, buf, (size_t)cap), -ENOSPC);
        for (size_t i = 0; i < sizeof buf; i++)
            ck_assert_msg(buf[i] == 0x5A, "cap %d: byte %zu written", cap, i);
    }
    memset(buf, 0x5A, sizeof buf);
    ck_assert_int_eq(vr_msg_encode(&in, buf, (size_t)n), n);
    ck_assert_int_eq(memcmp(buf, ref, (size_t)n), 0);
    ck_assert_int_eq((unsigned char)buf[n], 0x5A);
}
END_TEST

START_TEST(test_encode_unknown_type)
{
    char buf[VR_WIRE_MAX_BYTES];
    static const int bad[] = {0, 11, 99, -1, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vr_msg in = full_msg(bad[i]);
        ck_assert_int_eq(vr_msg_encode(&in, buf, sizeof buf), -VR_EBADMSG);
    }
}
END_TEST

/* ---- decode errors ------------------------------------------------------------ */

/* Random bytes: never a crash, always one of the two documented errors. */
START_TEST(test_decode_random_bytes)
{
    unsigned char buf[80];
    vr_msg m;
    uint64_t ctr = 12345;
    int versions = 0;
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = (size_t)(vr_mix64(ctr++) % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)vr_mix64(ctr++);
        /* a third start like an array, to get past the first checks */
        if (len > 0 && iter % 3 == 0)
            buf[0] = (unsigned char)(0x90 | (vr_mix64(ctr++) % 8));
        int rc = vr_msg_decode(buf, len, &m);
        ck_assert_msg(rc == -VR_EBADMSG || rc == -VR_EBADVERSION,
                      "iteration %d (%zu bytes): decode returned %d", iter, len, rc);
        ck_assert(strnlen(m.text, sizeof m.text) < sizeof m.text);
        ck_assert(m.text[0] != 0);
        versions += rc == -VR_EBADVERSION;
    }
    /* the array-shaped third must reach the version check at least sometimes */
    ck_assert_int_gt(versions, 0);
}
END_TEST

/* Valid encodings with a few bytes changed: either rejected with a documented
 * code, or a message that encodes and decodes to itself. */
START_TEST(test_decode_mutated)
{
    uint64_t ctr = 777;
    int accepted = 0, rejected = 0;
    for (int iter = 0; iter < 5000; iter++) {
        int s = (int)(vr_mix64(ctr++) % NSHAPES);
        vr_msg in = full_msg(shapes[s].type), m;
        unsigned char buf[600];
        int n = vr_msg_encode(&in, (char *)buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        int flips = 1 + (int)(vr_mix64(ctr++) % 3);
        for (int k = 0; k < flips; k++) {
            uint64_t at = vr_mix64(ctr++) % (uint64_t)n;
            buf[at] = (unsigned char)vr_mix64(ctr++);
        }
        int rc = vr_msg_decode(buf, (size_t)n, &m);
        if (rc == 0) {
            accepted++;
            char again[600];
            vr_msg m2;
            int n2 = vr_msg_encode(&m, again, sizeof again);
            ck_assert_int_gt(n2, 0);
            ck_assert_int_eq(vr_msg_decode(again, (size_t)n2, &m2), 0);
            assert_msg_eq(&m, &m2);
        } else {
            rejected++;
            assert_rejected(rc, &m, rc == -VR_EBADVERSION ? -VR_EBADVERSION : -VR_EBADMSG, "mutated");
        }
    }
    ck_assert_int_gt(rejected, 0);
    ck_assert_int_gt(accepted, 0); /* a changed value byte still decodes */
}
END_TEST

START_TEST(test_decode_wrong_version)
{
    static const uint64_t versions[] = {0, VR_WIRE_VERSION + 1, 4242, 0x100000000ull + VR_WIRE_VERSION};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        packer p;
        vr_msg m;
        pk_begin(&p);
        msgpack_pack_array(&p.pk, 4);
        msgpack_pack_int(&p.pk, VR_MSG_TURN);
        msgpack_pack_uint64(&p.pk, versions[i]);
        msgpack_pack_uint64(&p.pk, 1);
        msgpack_pack_uint64(&p.pk, 2);
        int rc = pk_decode(&p, &m);
        assert_rejected(rc, &m, -VR_EBADVERSION, "wrong version");
        ck_assert_msg(has_number(m.text, versions[i]), "\"%s\" does not name version %llu", m.text,
                      (unsigned long long)versions[i]);
        ck_assert_msg(has_number(m.text, VR_WIRE_VERSION), "\"%s\" does not name our version %u",
                      m.text, VR_WIRE_VERSION);
        ck_assert_uint_eq(m.version, (uint32_t)versions[i]);
    }
    /* a negative version is refused too */
    packer p;
    vr_msg m;
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_int(&p.pk, VR_MSG_PING);
    msgpack_pack_int(&p.pk, -1);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADVERSION, "version -1");

    /* a newer peer's unknown message is a version problem, not a bad message */
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_int(&p.pk, 99);
    msgpack_pack_uint32(&p.pk, 4242);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADVERSION, "unknown type, version 4242");
    ck_assert_uint_eq(m.version, 4242);
}
END_TEST

/* One field too few or too many, for every type. */
START_TEST(test_decode_wrong_field_count)
{
    int type = shapes[_i].type;
    const char *f = shapes[_i].fields;
    size_t nf = strlen(f);
    for (int delta = -1; delta <= 1; delta += 2) {
        if (delta < 0 && nf == 0)
            continue;
        packer p;
        vr_msg m;
        pk_begin(&p);
        msgpack_pack_array(&p.pk, 2 + nf + (size_t)delta);
        msgpack_pack_int(&p.pk, type);
        msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
        for (size_t i = 0; i < nf + (size_t)delta; i++)
            pk_good_field(&p.pk, i < nf ? f[i] : 't');
        int rc = pk_decode(&p, &m);
        assert_rejected(rc, &m, -VR_EBADMSG, delta < 0 ? "one field too few" : "one field too many");
        ck_assert_msg(strstr(m.text, vr_msg_name(type)) != NULL, "\"%s\" does not name %s", m.text,
                      vr_msg_name(type));
    }
    /* the same shape with the right count decodes (the cases above are not
     * rejected for some other reason) */
    packer p;
    vr_msg m;
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 2 + nf);
    msgpack_pack_int(&p.pk, type);
    msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
    for (size_t i = 0; i < nf; i++)
        pk_good_field(&p.pk, f[i]);
    ck_assert_int_eq(pk_decode(&p, &m), 0);
    ck_assert_int_eq(m.type, type);
}
END_TEST

START_TEST(test_decode_too_short_arrays)
{
    packer p;
    vr_msg m;
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 0);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "[]");
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 1);
    msgpack_pack_int(&p.pk, VR_MSG_PING);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "[7]");
}
END_TEST

/* Kinds of wrong value for a field. */
enum bad_kind { BAD_STR, BAD_NIL, BAD_FLOAT, BAD_BOOL, BAD_ARRAY, BAD_MAP, BAD_NEG, BAD_BIG32,
                BAD_SBIG, BAD_SSMALL, BAD_BIN, NBAD };

/* Packs a bad value of kind k for field f; returns 0 when k is not bad for f
 * (e.g. a negative number for a signed field). */
static int pk_bad_field(msgpack_packer *pk, char f, int k)
{
    int is_text = f == 'x', is_signed = f == 'p' || f == 'c', is_32 = f == 'u' || f == 'f';
    switch (k) {
    case BAD_STR:
        if (is_text)
            return 0;
        pk_str(pk, "12");
        return 1;
    case BAD_NIL: msgpack_pack_nil(pk); return 1;
    case BAD_FLOAT: msgpack_pack_double(pk, 1.0); return 1;
    case BAD_BOOL: msgpack_pack_true(pk); return 1;
    case BAD_ARRAY:
        msgpack_pack_array(pk, 1);
        msgpack_pack_uint32(pk, 1);
        return 1;
    case BAD_MAP:
        msgpack_pack_map(pk, 1);
        msgpack_pack_uint32(pk, 1);
        msgpack_pack_uint32(pk, 1);
        return 1;
    case BAD_NEG:
        if (is_signed)
            return 0;
        msgpack_pack_int32(pk, -1);
        return 1;
    case BAD_BIG32:
        if (!is_32 && !is_signed && !is_text)
            return 0;
        msgpack_pack_uint64(pk, 0x100000000ull);
        return 1;
    case BAD_SBIG:
        if (!is_signed)
            return 0;
        msgpack_pack_uint64(pk, (uint64_t)INT32_MAX + 1);
        return 1;
    case BAD_SSMALL:
        if (!is_signed)
            return 0;
        msgpack_pack_int64(pk, (int64_t)INT32_MIN - 1);
        return 1;
    case BAD_BIN:
        msgpack_pack_bin(pk, 2);
        msgpack_pack_bin_body(pk, "12", 2);
        return 1;
    }
    return 0;
}

/* Every field of every type, every kind of wrong value. */
START_TEST(test_decode_wrong_field_types)
{
    int type = shapes[_i].type;
    const char *f = shapes[_i].fields;
    size_t nf = strlen(f);
    int cases = 0;
    for (size_t pos = 0; pos < nf; pos++) {
        for (int k = 0; k < NBAD; k++) {
            packer p;
            vr_msg m;
            pk_begin(&p);
            msgpack_pack_array(&p.pk, 2 + nf);
            msgpack_pack_int(&p.pk, type);
            msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
            int bad = 0;
            for (size_t i = 0; i < nf; i++) {
                if (i == pos)
                    bad = pk_bad_field(&p.pk, f[i], k);
                if (i != pos || !bad)
                    pk_good_field(&p.pk, f[i]);
            }
            if (!bad) {
                msgpack_sbuffer_destroy(&p.sb);
                continue;
            }
            char what[64];
            snprintf(what, sizeof what, "%s field %zu ('%c') bad kind %d", vr_msg_name(type), pos,
                     f[pos], k);
            assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, what);
            cases++;
        }
    }
    if (nf > 0)
        ck_assert_int_ge(cases, (int)nf * 6);
}
END_TEST

START_TEST(test_decode_bad_type_or_version_field)
{
    for (int k = 0; k < NBAD; k++) {
        if (k == BAD_NEG || k == BAD_SBIG || k == BAD_SSMALL || k == BAD_BIG32)
            continue; /* integers: covered as unknown types below */
        for (int which = 0; which < 2; which++) {
            packer p;
            vr_msg m;
            pk_begin(&p);
            msgpack_pack_array(&p.pk, 2);
            if (which == 0)
                pk_bad_field(&p.pk, 't', k);
            else
                msgpack_pack_int(&p.pk, VR_MSG_PING);
            if (which == 1)
                pk_bad_field(&p.pk, 't', k);
            else
                msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
            assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, which ? "bad version field" : "bad type field");
        }
    }
    /* not an array at all */
    packer p;
    vr_msg m;
    pk_begin(&p);
    msgpack_pack_map(&p.pk, 2);
    msgpack_pack_int(&p.pk, VR_MSG_PING);
    msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
    msgpack_pack_int(&p.pk, 0);
    msgpack_pack_int(&p.pk, 0);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "a map");
    pk_begin(&p);
    msgpack_pack_uint32(&p.pk, VR_MSG_PING);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "an integer");
    pk_begin(&p);
    pk_str(&p.pk, "PING");
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "a string");
}
END_TEST

/* TURN commands and DONE results: counts, shapes, types and ranges. */
static void pk_turn_head(packer *p)
{
    pk_begin(p);
    msgpack_pack_array(&p->pk, 5);
    msgpack_pack_int(&p->pk, VR_MSG_TURN);
    msgpack_pack_uint32(&p->pk, VR_WIRE_VERSION);
    msgpack_pack_uint32(&p->pk, 3);
    msgpack_pack_uint32(&p->pk, 4);
}

static void pk_good_cmd(msgpack_packer *pk, int skip, int bad_field)
{
    msgpack_pack_array(pk, skip ? 9 : 10);
    for (int k = 0; k < 9; k++) {
        if (k == bad_field)
            msgpack_pack_int(pk, -1);
        else
            msgpack_pack_uint32(pk, k == 1 ? 1 : 7);
    }
    if (!skip) {
        msgpack_pack_array(pk, 3);
        for (int k = 0; k < 3; k++)
            msgpack_pack_float(pk, 0.5f);
    }
}

START_TEST(test_decode_commands_and_results)
{
    packer p;
    vr_msg m;
    /* the most commands a TURN may carry decode; one more is refused */
    for (int n = VR_TURN_MAX_CMDS; n <= VR_TURN_MAX_CMDS + 1; n++) {
        pk_turn_head(&p);
        msgpack_pack_array(&p.pk, (size_t)n);
        for (int i = 0; i < n; i++)
            pk_good_cmd(&p.pk, 0, -1);
        int rc = pk_decode(&p, &m);
        if (n == VR_TURN_MAX_CMDS) {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(m.ncmds, VR_TURN_MAX_CMDS);
            ck_assert_uint_eq(m.cmds[VR_TURN_MAX_CMDS - 1].op, 1);
            ck_assert(m.cmds[0].budget[2] == 0.5f);
        } else {
            assert_rejected(rc, &m, -VR_EBADMSG, "65 commands");
        }
    }
    pk_turn_head(&p);
    msgpack_pack_array(&p.pk, 1);
    pk_good_cmd(&p.pk, 1, -1);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "a command of 9 fields");
    for (int f = 0; f < 9; f++) {
        pk_turn_head(&p);
        msgpack_pack_array(&p.pk, 1);
        pk_good_cmd(&p.pk, 0, f);
        assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "a negative command field");
    }
    pk_turn_head(&p); /* op beyond 255 */
    msgpack_pack_array(&p.pk, 1);
    msgpack_pack_array(&p.pk, 10);
    for (int k = 0; k < 9; k++)
        msgpack_pack_uint32(&p.pk, k == 1 ? 256 : 1);
    msgpack_pack_array(&p.pk, 3);
    for (int k = 0; k < 3; k++)
        msgpack_pack_float(&p.pk, 0.5f);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "op 256");
    pk_turn_head(&p); /* an integer budget */
    msgpack_pack_array(&p.pk, 1);
    msgpack_pack_array(&p.pk, 10);
    for (int k = 0; k < 9; k++)
        msgpack_pack_uint32(&p.pk, 1);
    msgpack_pack_array(&p.pk, 3);
    for (int k = 0; k < 3; k++)
        msgpack_pack_uint32(&p.pk, 1);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "integer budget");
    pk_turn_head(&p); /* commands not an array */
    msgpack_pack_map(&p.pk, 0);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "commands as a map");

    /* results: a positive code, a missing text, a long text cut */
    static const int64_t codes[] = {1, -1};
    for (int i = 0; i < 2; i++) {
        pk_begin(&p);
        msgpack_pack_array(&p.pk, 9);
        msgpack_pack_int(&p.pk, VR_MSG_DONE);
        msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
        for (int k = 0; k < 4; k++)
            msgpack_pack_uint32(&p.pk, 1);
        pk_good_field(&p.pk, 'M');
        msgpack_pack_array(&p.pk, 1);
        msgpack_pack_array(&p.pk, 4);
        msgpack_pack_uint32(&p.pk, 5);
        msgpack_pack_int64(&p.pk, codes[i]);
        msgpack_pack_uint32(&p.pk, 0);
        char big[400];
        memset(big, 'q', sizeof big - 1);
        big[sizeof big - 1] = 0;
        pk_str(&p.pk, big);
        msgpack_pack_array(&p.pk, 0); /* no portal traffic */
        int rc = pk_decode(&p, &m);
        if (codes[i] > 0) {
            assert_rejected(rc, &m, -VR_EBADMSG, "a positive result code");
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_uint_eq(m.nresults, 1);
            ck_assert_int_eq(m.results[0].code, -1);
            ck_assert_uint_eq(strlen(m.results[0].text), sizeof m.results[0].text - 1);
        }
    }
}
END_TEST

/* Container headers claiming billions of elements, at the top or inside a
 * message: rejected without msgpack-c trying to allocate them (under
 * AddressSanitizer such an allocation aborts the process). */
START_TEST(test_decode_huge_containers)
{
    static const struct {
        const char *what;
        unsigned char bytes[16];
        size_t len;
    } cases[] = {
        {"array32 of 2^32-1", {0xdd, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01}, 7},
        {"map32 of 2^32-1", {0xdf, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01}, 7},
        {"array16 of 65535", {0xdc, 0xff, 0xff, 0x02, 0x01}, 5},
        {"array32 cut in its header", {0xdd, 0xff, 0xff}, 3},
        {"TURN with an array32 turn", {0x94, 0x02, 0x02, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, 9},
        {"TURN with a map32 seed", {0x94, 0x02, 0x02, 0x01, 0xdf, 0x7f, 0xff, 0xff, 0xff}, 9},
        {"FAIL with a fixarray text", {0x95, 0x06, 0x02, 0x01, 0x01, 0x91, 0x01}, 7},
        {"PING in an array32", {0xdd, 0x00, 0x00, 0x00, 0x02, 0x07, 0x02}, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vr_msg m;
        int rc = vr_msg_decode(cases[i].bytes, cases[i].len, &m);
        if (i == sizeof cases / sizeof cases[0] - 1) {
            /* a long form of a small array is still a message */
            ck_assert_int_eq(rc, 0);
            ck_assert_int_eq(m.type, VR_MSG_PING);
        } else {
            assert_rejected(rc, &m, -VR_EBADMSG, cases[i].what);
        }
    }
}
END_TEST

START_TEST(test_decode_unknown_type)
{
    static const int64_t types[] = {0, 9, 99, -1, 0x100000001ll, INT64_MIN};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        packer p;
        vr_msg m;
        pk_begin(&p);
        msgpack_pack_array(&p.pk, 2);
        msgpack_pack_int64(&p.pk, types[i]);
        msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
        char what[64];
        snprintf(what, sizeof what, "type %lld", (long long)types[i]);
        assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, what);
    }
    /* larger than any int64 */
    packer p;
    vr_msg m;
    pk_begin(&p);
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_uint64(&p.pk, UINT64_MAX);
    msgpack_pack_uint32(&p.pk, VR_WIRE_VERSION);
    assert_rejected(pk_decode(&p, &m), &m, -VR_EBADMSG, "type 2^64-1");
}
END_TEST

START_TEST(test_decode_trailing_bytes)
{
    vr_msg in = full_msg(shapes[_i].type), m;
    char buf[1200];
    int n = vr_msg_encode(&in, buf, sizeof buf);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(vr_msg_decode(buf, (size_t)n, &m), 0);
    buf[n] = (char)0xc0; /* nil */
    assert_rejected(vr_msg_decode(buf, (size_t)n + 1, &m), &m, -VR_EBADMSG, "one trailing nil");
    buf[n] = 0;
    assert_rejected(vr_msg_decode(buf, (size_t)n + 1, &m), &m, -VR_EBADMSG, "one trailing zero");
    /* two messages back to back are not one message */
    memcpy(buf + n, buf, (size_t)n);
    assert_rejected(vr_msg_decode(buf, 2 * (size_t)n, &m), &m, -VR_EBADMSG, "two messages");
}
END_TEST

START_TEST(test_decode_every_prefix)
{
    vr_msg in = full_msg(shapes[_i].type), m;
    char enc[512];
    int n = vr_msg_encode(&in, enc, sizeof enc);
    ck_assert_int_gt(n, 0);
    for (int len = 0; len < n; len++) {
        /* a copy of exactly len bytes, so reading past it is caught by
         * sanitizers */
        char *cut = malloc(len ? (size_t)len : 1);
        ck_assert_ptr_nonnull(cut);
        memcpy(cut, enc, (size_t)len);
        char what[64];
        snprintf(what, sizeof what, "%s cut to %d of %d bytes", vr_msg_name(in.type), len, n);
        assert_rejected(vr_msg_decode(cut, (size_t)len, &m), &m, -VR_EBADMSG, what);
        free(cut);
    }
}
END_TEST

static Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_round_trip_every_type, 0, NSHAPES);
    tcase_add_loop_test(tc, test_encoding_shape, 0, NSHAPES);
    tcase_add_test(tc, test_round_trip_extremes);
    tcase_add_test(tc, test_decode_long_text_is_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_encode_small_buffer, 0, NSHAPES);
    tcase_add_test(tc, test_encode_unknown_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_decode_random_bytes);
    tcase_add_test(tc, test_decode_mutated);
    tcase_add_test(tc, test_decode_wrong_version);
    tcase_add_loop_test(tc, test_decode_wrong_field_count, 0, NSHAPES);
    tcase_add_test(tc, test_decode_too_short_arrays);
    tcase_add_loop_test(tc, test_decode_wrong_field_types, 0, NSHAPES);
    tcase_add_test(tc, test_decode_bad_type_or_version_field);
    tcase_add_test(tc, test_decode_unknown_type);
    tcase_add_test(tc, test_decode_huge_containers);
    tcase_add_test(tc, test_decode_commands_and_results);
    tcase_add_loop_test(tc, test_decode_trailing_bytes, 0, NSHAPES);
    tcase_add_loop_test(tc, test_decode_every_prefix, 0, NSHAPES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(wire_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
