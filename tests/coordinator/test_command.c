/* test_command.c: Check suite for coordinator/command.c (the command protocol).
 *
 * Requests reach the coordinator from anyone who can open its socket, so the
 * parser is tested like a network decoder: every command and field it knows,
 * then every way a request can be wrong (shape, types, ranges, versions,
 * trailing or missing bytes, size, hostile length headers, deep nesting,
 * random and mutated bytes).  Each rejection must come with the right code,
 * kind VR_CMD_NONE and a sentence naming what was wrong.  Requests are built
 * with msgpack-c's packer so each case is exactly the shape it claims; the
 * hostile headers are written byte by byte.
 *
 * Allocation probe: msgpack-c allocates a container's elements when it reads
 * the header, so a 5-byte array32 header could make the parser ask for
 * gigabytes.  On glibc without sanitizers this file replaces malloc with a
 * forwarder to __libc_malloc that records the largest request, and the
 * hostile-header and fuzz tests bound it.  Under sanitizers (which own
 * malloc) only the error codes and messages are checked.
 */
#include "vr_coord.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define VT_SANITIZED 1
#endif
#endif

#if defined(__GLIBC__) && !defined(VT_SANITIZED)
#define VT_MALLOC_PROBE 1
extern void *__libc_malloc(size_t size);
static size_t vt_largest_malloc;
void *malloc(size_t size)
{
    if (size > vt_largest_malloc)
        vt_largest_malloc = size;
    return __libc_malloc(size);
}
#endif

/* What the parser may allocate for any request in these tests: msgpack's
 * first zone chunk and the objects of at most a few kilobytes of input. */
#define VT_ALLOC_BOUND ((size_t)1 << 20)

static void probe_reset(void)
{
#ifdef VT_MALLOC_PROBE
    vt_largest_malloc = 0;
#endif
}

static void probe_check(const char *what)
{
#ifdef VT_MALLOC_PROBE
    ck_assert_msg(vt_largest_malloc <= VT_ALLOC_BOUND, "%s: parser asked malloc for %zu bytes", what,
                  vt_largest_malloc);
#else
    (void)what;
#endif
}

/* ---- building requests -------------------------------------------------- */
typedef struct req {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} req;

static void req_init(req *r)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void req_fini(req *r) { msgpack_sbuffer_destroy(&r->sb); }

static void str(req *r, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(&r->pk, n);
    msgpack_pack_str_body(&r->pk, s, n);
}

/* {"cmd": name} */
static void req_cmd(req *r, const char *name)
{
    req_init(r);
    msgpack_pack_map(&r->pk, 1);
    str(r, "cmd");
    str(r, name);
}

/* {"cmd": name, "n": n} */
static void req_cmd_n(req *r, const char *name, int64_t n)
{
    req_init(r);
    msgpack_pack_map(&r->pk, 2);
    str(r, "cmd");
    str(r, name);
    str(r, "n");
    msgpack_pack_int64(&r->pk, n);
}

/* ---- checking results --------------------------------------------------- */
typedef struct result {
    int rc;
    vr_cmd cmd;
    char err[256];
} result;

static result parse(const void *data, size_t len)
{
    result r;
    memset(&r.cmd, 0xA5, sizeof r.cmd); /* the parser must set every field */
    memset(r.err, 0x7F, sizeof r.err);
    r.err[sizeof r.err - 1] = 0;
    r.rc = vr_cmd_parse(data, len, &r.cmd, r.err, sizeof r.err);
    return r;
}

static result parse_req(const req *q) { return parse(q->sb.data, q->sb.size); }

static void assert_ok(const result *r, vr_cmd_kind kind, int64_t n)
{
    ck_assert_msg(r->rc == 0, "rejected (%d): %s", r->rc, r->err);
    ck_assert_int_eq(r->cmd.kind, kind);
    ck_assert_int_eq(r->cmd.n, n);
}

/* Whether the decimal number v appears in s as a whole number. */
static bool has_number(const char *s, unsigned long long v)
{
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || (p > s && p[-1] >= '0' && p[-1] <= '9'))
            continue;
        if (strtoull(p, NULL, 10) == v)
            return true;
    }
    return false;
}

/* Rejected with code rc, kind reset, and a message containing `want` (if not
 * NULL). */
static void assert_rejected(const result *r, int rc, const char *want, const char *what)
{
    ck_assert_msg(r->rc == rc, "%s: rc %d, expected %d (%s)", what, r->rc, rc, r->err);
    ck_assert_msg(r->cmd.kind == VR_CMD_NONE, "%s: kind %d left set", what, (int)r->cmd.kind);
    ck_assert_msg(strlen(r->err) > 0, "%s: empty message", what);
    if (want)
        ck_assert_msg(strstr(r->err, want) != NULL, "%s: message \"%s\" does not mention \"%s\"", what, r->err,
                      want);
}

static void assert_req_rejected(req *q, int rc, const char *want, const char *what)
{
    result r = parse_req(q);
    assert_rejected(&r, rc, want, what);
    req_fini(q);
}

/* ---- accepted requests -------------------------------------------------- */
START_TEST(test_every_command_parses)
{
    static const struct {
        const char *name;
        vr_cmd_kind kind;
    } cmds[] = {{"status", VR_CMD_STATUS}, {"step", VR_CMD_STEP},  {"pause", VR_CMD_PAUSE},
                {"resume", VR_CMD_RESUME}, {"hash", VR_CMD_HASH}, {"shutdown", VR_CMD_SHUTDOWN}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        req q;
        req_cmd(&q, cmds[i].name);
        result r = parse_req(&q);
        assert_ok(&r, cmds[i].kind, cmds[i].kind == VR_CMD_STEP ? 1 : 0);
        req_fini(&q);

        /* with the wire version, before and after "cmd" */
        for (int vfirst = 0; vfirst < 2; vfirst++) {
            req_init(&q);
            msgpack_pack_map(&q.pk, 2);
            if (vfirst)
                str(&q, "v"), msgpack_pack_unsigned_int(&q.pk, VR_WIRE_VERSION);
            str(&q, "cmd"), str(&q, cmds[i].name);
            if (!vfirst)
                str(&q, "v"), msgpack_pack_unsigned_int(&q.pk, VR_WIRE_VERSION);
            r = parse_req(&q);
            assert_ok(&r, cmds[i].kind, cmds[i].kind == VR_CMD_STEP ? 1 : 0);
            req_fini(&q);
        }
    }
}
END_TEST

/* snapshot: no field, or "path" (a non-empty string without NUL, at most
 * VR_CMD_PATH_MAX bytes); "path" with another command is refused */
START_TEST(test_snapshot_path)
{
    req q;
    req_cmd(&q, "snapshot");
    result r = parse_req(&q);
    assert_ok(&r, VR_CMD_SNAPSHOT, 0);
    ck_assert_str_eq(r.cmd.path, "");
    req_fini(&q);
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "snapshot"), str(&q, "path"), str(&q, "/tmp/x.vrsnap");
    r = parse_req(&q);
    assert_ok(&r, VR_CMD_SNAPSHOT, 0);
    ck_assert_str_eq(r.cmd.path, "/tmp/x.vrsnap");
    req_fini(&q);
    static char longp[VR_CMD_PATH_MAX + 2];
    memset(longp, 'a', VR_CMD_PATH_MAX + 1);
    const char *bad[] = {"", longp};
    for (int i = 0; i < 2; i++) {
        req_init(&q);
        msgpack_pack_map(&q.pk, 2);
        str(&q, "cmd"), str(&q, "snapshot"), str(&q, "path"), str(&q, bad[i]);
        assert_req_rejected(&q, -VR_EBADARG, "\"path\"", "bad path");
    }
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "snapshot"), str(&q, "path"), msgpack_pack_int(&q.pk, 3);
    assert_req_rejected(&q, -VR_EBADARG, "\"path\"", "path not a string");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "snapshot"), str(&q, "path");
    msgpack_pack_str(&q.pk, 3), msgpack_pack_str_body(&q.pk, "a\0b", 3);
    assert_req_rejected(&q, -VR_EBADARG, "\"path\"", "NUL in path");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "status"), str(&q, "path"), str(&q, "/tmp/x");
    assert_req_rejected(&q, -VR_EBADARG, "does not take the field \"path\"", "path on status");
}
END_TEST

START_TEST(test_step_n)
{
    static const int64_t ns[] = {1, 2, 17, 1000, VR_CMD_MAX_STEP - 1, VR_CMD_MAX_STEP};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        req q;
        req_cmd_n(&q, "step", ns[i]);
        result r = parse_req(&q);
        assert_ok(&r, VR_CMD_STEP, ns[i]);
        req_fini(&q);
    }
    /* "n" first, and with "v" */
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 3);
    str(&q, "n"), msgpack_pack_uint8(&q.pk, 7);
    str(&q, "v"), msgpack_pack_uint64(&q.pk, VR_WIRE_VERSION);
    str(&q, "cmd"), str(&q, "step");
    result r = parse_req(&q);
    assert_ok(&r, VR_CMD_STEP, 7);
    req_fini(&q);
}
END_TEST

START_TEST(test_cmd_name_round_trip)
{
    for (int k = VR_CMD_NONE + 1; k <= VR_CMD_SNAPSHOT; k++) {
        const char *name = vr_cmd_name((vr_cmd_kind)k);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "?");
        for (int j = VR_CMD_NONE + 1; j < k; j++)
            ck_assert_str_ne(name, vr_cmd_name((vr_cmd_kind)j));
        if (k > VR_CMD_SHUTDOWN && k != VR_CMD_SNAPSHOT) /* game commands need fields: see the game tests */
            continue;
        req q;
        req_cmd(&q, name);
        result r = parse_req(&q);
        assert_ok(&r, (vr_cmd_kind)k, k == VR_CMD_STEP ? 1 : 0);
        req_fini(&q);
    }
    ck_assert_str_eq(vr_cmd_name(VR_CMD_NONE), "?");
    ck_assert_str_eq(vr_cmd_name((vr_cmd_kind)(VR_CMD_SNAPSHOT + 1)), "?");
    ck_assert_str_eq(vr_cmd_name(VR_CMD_STEP), "step");
}
END_TEST

/* ---- rejected requests -------------------------------------------------- */
START_TEST(test_empty_input)
{
    result r = parse("", 0);
    assert_rejected(&r, -VR_EBADMSG, NULL, "empty request");
    r = parse(NULL, 0);
    assert_rejected(&r, -VR_EBADMSG, NULL, "NULL request");
}
END_TEST

START_TEST(test_not_a_map)
{
    req q;
    req_init(&q);
    msgpack_pack_array(&q.pk, 2);
    str(&q, "cmd"), str(&q, "status");
    assert_req_rejected(&q, -VR_EBADMSG, "map", "array");
    req_init(&q);
    msgpack_pack_int(&q.pk, 5);
    assert_req_rejected(&q, -VR_EBADMSG, "map", "int");
    req_init(&q);
    str(&q, "status");
    assert_req_rejected(&q, -VR_EBADMSG, "map", "string");
    req_init(&q);
    msgpack_pack_nil(&q.pk);
    assert_req_rejected(&q, -VR_EBADMSG, "map", "nil");
}
END_TEST

START_TEST(test_missing_cmd)
{
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 0);
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\"", "empty map");
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "n"), msgpack_pack_int(&q.pk, 3);
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\"", "only n");
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "v"), msgpack_pack_unsigned_int(&q.pk, VR_WIRE_VERSION);
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\"", "only v");
}
END_TEST

START_TEST(test_cmd_not_a_string)
{
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "cmd"), msgpack_pack_int(&q.pk, 1);
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\" must be a string", "cmd int");
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "cmd"), msgpack_pack_bin(&q.pk, 6), msgpack_pack_bin_body(&q.pk, "status", 6);
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\" must be a string", "cmd bin");
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "cmd"), msgpack_pack_array(&q.pk, 1), str(&q, "status");
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\" must be a string", "cmd array");
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "cmd"), msgpack_pack_nil(&q.pk);
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\" must be a string", "cmd nil");
}
END_TEST

START_TEST(test_unknown_command)
{
    static const char *const bad[] = {"explode", "", "STATUS", "stat", "statusx", "step "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req q;
        req_cmd(&q, bad[i]);
        char want[64];
        snprintf(want, sizeof want, "\"%s\"", bad[i]);
        assert_req_rejected(&q, -VR_EBADMSG, want, bad[i]);
    }
    /* "status\0" must not match "status"; the name is shown printable */
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "cmd");
    msgpack_pack_str(&q.pk, 7), msgpack_pack_str_body(&q.pk, "status\0", 7);
    assert_req_rejected(&q, -VR_EBADMSG, "\"status?\"", "status NUL");
    /* a long name: message still a terminated sentence within the buffer */
    char longname[300];
    memset(longname, 'z', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    req_cmd(&q, longname);
    result r = parse_req(&q);
    assert_rejected(&r, -VR_EBADMSG, "unknown command \"zzzz", "long name");
    ck_assert_uint_lt(strlen(r.err), sizeof r.err);
    req_fini(&q);
}
END_TEST

START_TEST(test_unknown_field)
{
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "status");
    str(&q, "colour"), msgpack_pack_int(&q.pk, 1);
    assert_req_rejected(&q, -VR_EBADMSG, "\"colour\"", "unknown field after cmd");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "Cmd"), str(&q, "status");
    str(&q, "cmd"), str(&q, "status");
    assert_req_rejected(&q, -VR_EBADMSG, "\"Cmd\"", "unknown field before cmd");
}
END_TEST

START_TEST(test_non_string_key)
{
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    msgpack_pack_int(&q.pk, 1), str(&q, "status");
    assert_req_rejected(&q, -VR_EBADMSG, "keys must be strings", "int key");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "status");
    msgpack_pack_bin(&q.pk, 1), msgpack_pack_bin_body(&q.pk, "n", 1), msgpack_pack_int(&q.pk, 1);
    assert_req_rejected(&q, -VR_EBADMSG, "keys must be strings", "bin key");
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    msgpack_pack_nil(&q.pk), msgpack_pack_nil(&q.pk);
    assert_req_rejected(&q, -VR_EBADMSG, "keys must be strings", "nil key");
}
END_TEST

/* A key given twice: the request is ambiguous, and a known first "cmd" must
 * not let an unknown second one through. */
START_TEST(test_duplicate_fields)
{
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "status");
    str(&q, "cmd"), str(&q, "bogus");
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\"", "cmd twice, second unknown");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "pause");
    str(&q, "cmd"), str(&q, "shutdown");
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\"", "cmd twice");
    req_init(&q);
    msgpack_pack_map(&q.pk, 3);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), msgpack_pack_int(&q.pk, 2);
    str(&q, "n"), msgpack_pack_int(&q.pk, 3);
    assert_req_rejected(&q, -VR_EBADMSG, "\"n\"", "n twice");
    req_init(&q);
    msgpack_pack_map(&q.pk, 3);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "v"), msgpack_pack_unsigned_int(&q.pk, VR_WIRE_VERSION);
    str(&q, "v"), msgpack_pack_unsigned_int(&q.pk, VR_WIRE_VERSION);
    assert_req_rejected(&q, -VR_EBADMSG, "\"v\"", "v twice");
}
END_TEST

START_TEST(test_bad_n)
{
    char range[64];
    snprintf(range, sizeof range, "from 1 to %d", VR_CMD_MAX_STEP);
    static const int64_t bad[] = {0, -1, -1000, INT64_MIN, VR_CMD_MAX_STEP + 1, INT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req q;
        req_cmd_n(&q, "step", bad[i]);
        char what[64];
        snprintf(what, sizeof what, "n = %lld", (long long)bad[i]);
        assert_req_rejected(&q, -VR_EBADARG, range, what);
    }
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "step");
    msgpack_pack_uint64(&q.pk, UINT64_MAX); /* as a key: not a string */
    msgpack_pack_int(&q.pk, 1);
    assert_req_rejected(&q, -VR_EBADMSG, NULL, "integer key");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), msgpack_pack_uint64(&q.pk, UINT64_MAX);
    assert_req_rejected(&q, -VR_EBADARG, range, "n = 2^64-1");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), str(&q, "5");
    assert_req_rejected(&q, -VR_EBADARG, range, "n as a string");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), msgpack_pack_double(&q.pk, 5.0);
    assert_req_rejected(&q, -VR_EBADARG, range, "n as a float");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), msgpack_pack_true(&q.pk);
    assert_req_rejected(&q, -VR_EBADARG, range, "n as a bool");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), msgpack_pack_nil(&q.pk);
    assert_req_rejected(&q, -VR_EBADARG, range, "n nil");
}
END_TEST

START_TEST(test_n_on_other_commands)
{
    static const char *const others[] = {"status", "pause", "resume", "hash", "shutdown"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        req q;
        req_cmd_n(&q, others[i], 1);
        assert_req_rejected(&q, -VR_EBADARG, "\"step\"", others[i]);
        /* "n" before "cmd" too */
        req_init(&q);
        msgpack_pack_map(&q.pk, 2);
        str(&q, "n"), msgpack_pack_int(&q.pk, 4);
        str(&q, "cmd"), str(&q, others[i]);
        assert_req_rejected(&q, -VR_EBADARG, "\"step\"", others[i]);
    }
}
END_TEST

START_TEST(test_wrong_version)
{
    static const uint64_t vs[] = {99, 0, VR_WIRE_VERSION + 1, 4294967296ull};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        req q;
        req_init(&q);
        msgpack_pack_map(&q.pk, 2);
        str(&q, "cmd"), str(&q, "status");
        str(&q, "v"), msgpack_pack_uint64(&q.pk, vs[i]);
        result r = parse_req(&q);
        char what[64];
        snprintf(what, sizeof what, "v = %llu", (unsigned long long)vs[i]);
        assert_rejected(&r, -VR_EBADVERSION, NULL, what);
        ck_assert_msg(has_number(r.err, vs[i]), "%s: message does not name it: %s", what, r.err);
        ck_assert_msg(has_number(r.err, VR_WIRE_VERSION), "%s: message does not name version %u: %s", what,
                      VR_WIRE_VERSION, r.err);
        req_fini(&q);
    }
    /* a version that is not a positive integer is refused too */
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "cmd"), str(&q, "status");
    str(&q, "v"), str(&q, "1");
    assert_req_rejected(&q, -VR_EBADVERSION, NULL, "v as a string");
    req_init(&q);
    msgpack_pack_map(&q.pk, 2);
    str(&q, "v"), msgpack_pack_int(&q.pk, -1);
    str(&q, "cmd"), str(&q, "status");
    assert_req_rejected(&q, -VR_EBADVERSION, NULL, "v = -1");
}
END_TEST

START_TEST(test_trailing_bytes)
{
    static const size_t extra[] = {1, 2, 17};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        req q;
        req_cmd(&q, "status");
        for (size_t j = 0; j < extra[i]; j++)
            msgpack_pack_nil(&q.pk);
        result r = parse_req(&q);
        assert_rejected(&r, -VR_EBADMSG, "trailing", "trailing nils");
        ck_assert_msg(has_number(r.err, extra[i]), "message does not count %zu bytes: %s", extra[i], r.err);
        req_fini(&q);
    }
    req q;
    req_cmd(&q, "status");
    msgpack_sbuffer_write(&q.sb, "\x81\xa3" "cmd" "\xa6" "status", 12); /* a second request */
    assert_req_rejected(&q, -VR_EBADMSG, "trailing", "two requests");
}
END_TEST

/* Every proper prefix of valid requests is incomplete. */
START_TEST(test_truncated_prefixes)
{
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 3);
    str(&q, "cmd"), str(&q, "step");
    str(&q, "n"), msgpack_pack_uint32(&q.pk, 123456);
    str(&q, "v"), msgpack_pack_uint64(&q.pk, VR_WIRE_VERSION);
    result r = parse_req(&q);
    assert_ok(&r, VR_CMD_STEP, 123456);
    for (size_t len = 0; len < q.sb.size; len++) {
        char *cut = malloc(len ? len : 1); /* exact size: reading past it is an error under ASan */
        memcpy(cut, q.sb.data, len);
        r = parse(cut, len);
        char what[48];
        snprintf(what, sizeof what, "prefix of %zu/%zu bytes", len, q.sb.size);
        assert_rejected(&r, -VR_EBADMSG, NULL, what);
        free(cut);
    }
    req_fini(&q);
}
END_TEST

/* Larger than VR_CMD_MAX_BYTES: refused for its size, before decoding (the
 * same request at exactly the limit is decoded and refused for its name). */
START_TEST(test_oversized)
{
    for (int over = 0; over < 2; over++) {
        size_t total = VR_CMD_MAX_BYTES + (size_t)over;
        /* {"cmd": str32 of zs}: 1 + 4 + 5 header bytes */
        size_t slen = total - 10;
        unsigned char *buf = malloc(total);
        memcpy(buf, "\x81\xa3" "cmd" "\xdb", 6);
        buf[6] = (unsigned char)(slen >> 24), buf[7] = (unsigned char)(slen >> 16);
        buf[8] = (unsigned char)(slen >> 8), buf[9] = (unsigned char)slen;
        memset(buf + 10, 'z', slen);
        result r = parse(buf, total);
        if (over) {
            assert_rejected(&r, -VR_EBADMSG, NULL, "oversized");
            ck_assert_msg(has_number(r.err, VR_CMD_MAX_BYTES), "message does not name the limit: %s", r.err);
            ck_assert_msg(has_number(r.err, total), "message does not name the size: %s", r.err);
        } else {
            assert_rejected(&r, -VR_EBADMSG, "unknown command", "at the limit");
        }
        free(buf);
    }
    /* a huge length without huge data behind it */
    result r = parse("\x81", (size_t)1 << 40);
    assert_rejected(&r, -VR_EBADMSG, NULL, "2^40 bytes claimed by the caller");
}
END_TEST

/* Headers claiming far more than the request holds: refused, naming the
 * claim, without allocating for it. */
START_TEST(test_huge_length_headers)
{
    static const struct {
        const char *what;
        unsigned char bytes[16];
        size_t len;
        unsigned long long claim;
    } cases[] = {
        {"array32 4G", {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0}, 6, 0xffffffffull},
        {"array32 16M", {0xdd, 0x00, 0xff, 0xff, 0xff, 0xc0, 0xc0}, 7, 0xffffffull},
        {"map32 4G", {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa3, 'c', 'm', 'd'}, 9, 0xffffffffull},
        {"map32 16M", {0xdf, 0x00, 0xff, 0xff, 0xff, 0xc0, 0xc0}, 7, 0xffffffull},
        {"array16 64K", {0xdc, 0xff, 0xff, 0xc0}, 4, 0xffffull},
        {"map16 64K", {0xde, 0xff, 0xff, 0xc0, 0xc0}, 5, 0xffffull},
        {"str32 4G", {0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b'}, 7, 0xffffffffull},
        {"bin32 4G", {0xc6, 0xff, 0xff, 0xff, 0xff, 'a', 'b'}, 7, 0xffffffffull},
        {"ext32 4G", {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a'}, 7, 0xffffffffull},
        /* nested claims: {"cmd": array32 16M}, {"n": map32 16M}, {"cmd": str32 4G} */
        {"cmd: array32 16M", {0x81, 0xa3, 'c', 'm', 'd', 0xdd, 0x00, 0xff, 0xff, 0xff, 0xc0}, 11, 0xffffffull},
        {"n: map32 16M", {0x81, 0xa1, 'n', 0xdf, 0x00, 0xff, 0xff, 0xff, 0xc0, 0xc0}, 10, 0xffffffull},
        {"cmd: str32 4G", {0x81, 0xa3, 'c', 'm', 'd', 0xdb, 0xff, 0xff, 0xff, 0xff, 's'}, 11, 0xffffffffull},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* exact-size copy so a read past the end is caught under ASan */
        unsigned char *buf = malloc(cases[i].len);
        memcpy(buf, cases[i].bytes, cases[i].len);
        probe_reset();
        result r = parse(buf, cases[i].len);
        probe_check(cases[i].what);
        assert_rejected(&r, -VR_EBADMSG, NULL, cases[i].what);
        ck_assert_msg(has_number(r.err, cases[i].claim), "%s: message does not name the claimed %llu: %s",
                      cases[i].what, cases[i].claim, r.err);
        free(buf);
    }
}
END_TEST

/* Arrays nested far deeper than any request: refused, no crash. */
START_TEST(test_deep_nesting)
{
    static const size_t depths[] = {33, 1000, 10000, 60000};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        size_t d = depths[i];
        for (int in_map = 0; in_map < 2; in_map++) {
            size_t pre = in_map ? 5 : 0, len = pre + d + 1;
            unsigned char *buf = malloc(len);
            memcpy(buf, "\x81\xa3" "cmd", pre);
            memset(buf + pre, 0x91, d); /* [[[...nil...]]], alone or as "cmd"'s value */
            buf[len - 1] = 0xc0;
            probe_reset();
            result r = parse(buf, len);
            probe_check("deep nesting");
            char what[48];
            snprintf(what, sizeof what, "depth %zu%s", d, in_map ? " under cmd" : "");
            assert_rejected(&r, -VR_EBADMSG, NULL, what);
            free(buf);
        }
    }
    /* a little nesting under "cmd" is decoded and refused for its type */
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 1);
    str(&q, "cmd");
    msgpack_pack_array(&q.pk, 1), msgpack_pack_array(&q.pk, 1), msgpack_pack_array(&q.pk, 1);
    str(&q, "status");
    assert_req_rejected(&q, -VR_EBADMSG, "\"cmd\" must be a string", "shallow nesting");
}
END_TEST

/* ---- fuzzing -------------------------------------------------------------- */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return rng_state = x;
}

/* Any outcome is fine except a crash, an unknown code, an accepted request
 * that is not a valid command, or a rejection without a message. */
static void assert_sane(const result *r, const char *what, size_t iter)
{
    ck_assert_msg(memchr(r->err, 0, sizeof r->err) != NULL, "%s #%zu: message not terminated", what, iter);
    if (r->rc == 0) {
        ck_assert_msg(r->cmd.kind > VR_CMD_NONE && r->cmd.kind <= VR_CMD_SHUTDOWN, "%s #%zu: kind %d", what,
                      iter, (int)r->cmd.kind);
        if (r->cmd.kind == VR_CMD_STEP)
            ck_assert_msg(r->cmd.n >= 1 && r->cmd.n <= VR_CMD_MAX_STEP, "%s #%zu: n %lld", what, iter,
                          (long long)r->cmd.n);
        else
            ck_assert_msg(r->cmd.n == 0, "%s #%zu: n %lld on %s", what, iter, (long long)r->cmd.n,
                          vr_cmd_name(r->cmd.kind));
    } else {
        ck_assert_msg(r->rc == -VR_EBADMSG || r->rc == -VR_EBADARG || r->rc == -VR_EBADVERSION,
                      "%s #%zu: rc %d", what, iter, r->rc);
        ck_assert_msg(r->cmd.kind == VR_CMD_NONE, "%s #%zu: kind left set", what, iter);
        ck_assert_msg(strlen(r->err) > 0, "%s #%zu: empty message", what, iter);
    }
}

START_TEST(test_random_bytes)
{
    rng_state = 0x0123456789ABCDEFull;
    unsigned char buf[64];
    size_t accepted = 0;
    probe_reset();
    for (size_t iter = 0; iter < 5000; iter++) {
        size_t len = rnd() % sizeof buf;
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char)rnd();
        /* half of them start like a request, to get past the first byte */
        if (iter % 2 && len >= 5)
            memcpy(buf, "\x81\xa3" "cmd", 5);
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        result r = parse(exact, len);
        assert_sane(&r, "random", iter);
        accepted += r.rc == 0;
        free(exact);
    }
    probe_check("random bytes");
    ck_assert_uint_lt(accepted, 5000);
}
END_TEST

/* Valid requests with a few bytes changed, inserted or removed. */
START_TEST(test_mutated_requests)
{
    rng_state = 0xFEEDFACECAFEBEEFull;
    req seeds[4];
    req_cmd_n(&seeds[0], "step", 250000);
    req_cmd(&seeds[1], "shutdown");
    req_init(&seeds[2]);
    msgpack_pack_map(&seeds[2].pk, 3);
    str(&seeds[2], "v"), msgpack_pack_uint32(&seeds[2].pk, VR_WIRE_VERSION);
    str(&seeds[2], "cmd"), str(&seeds[2], "step");
    str(&seeds[2], "n"), msgpack_pack_uint16(&seeds[2].pk, 300);
    req_cmd(&seeds[3], "status");
    unsigned char buf[64];
    size_t accepted = 0;
    probe_reset();
    for (size_t iter = 0; iter < 6000; iter++) {
        const req *s = &seeds[iter % 4];
        size_t len = s->sb.size;
        memcpy(buf, s->sb.data, len);
        int edits = 1 + (int)(rnd() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = len ? rnd() % len : 0;
            switch (rnd() % 4) {
            case 0: /* random byte */
            case 1:
                if (len)
                    buf[at] = (unsigned char)rnd();
                break;
            case 2: /* insert */
                if (len < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (unsigned char)rnd();
                    len++;
                }
                break;
            default: /* delete */
                if (len) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
            }
        }
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        result r = parse(exact, len);
        assert_sane(&r, "mutated", iter);
        accepted += r.rc == 0;
        free(exact);
    }
    probe_check("mutated requests");
    ck_assert_uint_gt(accepted, 0); /* some edits leave a valid request */
    ck_assert_uint_lt(accepted, 6000);
    for (int i = 0; i < 4; i++)
        req_fini(&seeds[i]);
}
END_TEST

/* ---- replies and the cluster hash ---------------------------------------- */
static void check_error_reply(const char *data, size_t len, const char *msg)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&up, data, len, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, len);
    const msgpack_object *o = &up.data;
    ck_assert_int_eq(o->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(o->via.map.size, 2);
    bool ok_seen = false, error_seen = false;
    for (uint32_t i = 0; i < 2; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        ck_assert_int_eq(k->type, MSGPACK_OBJECT_STR);
        if (k->via.str.size == 2 && memcmp(k->via.str.ptr, "ok", 2) == 0) {
            ck_assert_int_eq(v->type, MSGPACK_OBJECT_BOOLEAN);
            ck_assert(!v->via.boolean);
            ok_seen = true;
        } else if (k->via.str.size == 5 && memcmp(k->via.str.ptr, "error", 5) == 0) {
            ck_assert_int_eq(v->type, MSGPACK_OBJECT_STR);
            ck_assert_uint_eq(v->via.str.size, strlen(msg));
            ck_assert(memcmp(v->via.str.ptr, msg, strlen(msg)) == 0);
            error_seen = true;
        } else {
            ck_abort_msg("unexpected key in error reply");
        }
    }
    ck_assert(ok_seen && error_seen);
    msgpack_unpacked_destroy(&up);
}

START_TEST(test_reply_error)
{
    char longmsg[1000];
    memset(longmsg, 'e', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = 0;
    const char *msgs[] = {"unknown command \"explode\"", "", longmsg};
    for (size_t i = 0; i < 3; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        vr_reply_error(&sb, msgs[i]);
        check_error_reply(sb.data, sb.size, msgs[i]);
        /* appends: what was in the buffer stays in front */
        size_t first = sb.size;
        vr_reply_error(&sb, "second");
        check_error_reply(sb.data, first, msgs[i]);
        check_error_reply(sb.data + first, sb.size - first, "second");
        msgpack_sbuffer_destroy(&sb);
    }
    /* a parser error message travels intact */
    req q;
    req_cmd(&q, "explode");
    result r = parse_req(&q);
    req_fini(&q);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    vr_reply_error(&sb, r.err);
    check_error_reply(sb.data, sb.size, r.err);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_cluster_hash)
{
    uint64_t h[5] = {0x1111111111111111ull, 0x2222222222222222ull, 0xDEADBEEFCAFEF00Dull, 0, ~0ull};
    uint64_t a = vr_cluster_hash(h, 5);
    ck_assert_uint_eq(a, vr_cluster_hash(h, 5));
    /* known answer: XXH3-64 of the hashes' little-endian bytes */
    unsigned char le[40];
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 8; b++)
            le[8 * i + b] = (unsigned char)(h[i] >> (8 * b));
    ck_assert_uint_eq(a, XXH3_64bits(le, sizeof le));
    ck_assert_uint_eq(vr_cluster_hash(NULL, 0), XXH3_64bits(NULL, 0));
    /* order matters */
    uint64_t sw[5] = {h[1], h[0], h[2], h[3], h[4]};
    ck_assert_uint_ne(vr_cluster_hash(sw, 5), a);
    /* one bit of one hash */
    for (int i = 0; i < 5; i++) {
        for (int bit = 0; bit < 64; bit += 21) {
            uint64_t c[5];
            memcpy(c, h, sizeof c);
            c[i] ^= 1ull << bit;
            ck_assert_msg(vr_cluster_hash(c, 5) != a, "flipping bit %d of hash %d did not change it", bit, i);
        }
    }
    /* the count matters: a prefix hashes differently */
    ck_assert_uint_ne(vr_cluster_hash(h, 4), a);
    ck_assert_uint_ne(vr_cluster_hash(h, 1), vr_cluster_hash(h, 0));
}
END_TEST

/* ---- game commands: order, spawn, policy, result ------------------------ */

/* A request from a tiny description: pairs of key and value, where a value
 * starting with '#' is an unsigned integer, '-' a negative one, '@' a list
 * of numbers "a,b,c", '~' nil, and anything else a string. */
static void req_kv(req *q, const char *const *kv, int n)
{
    req_init(q);
    msgpack_pack_map(&q->pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        str(q, kv[2 * i]);
        const char *v = kv[2 * i + 1];
        if (v[0] == '#')
            msgpack_pack_uint64(&q->pk, strtoull(v + 1, NULL, 0));
        else if (v[0] == '-' && v[1])
            msgpack_pack_int64(&q->pk, strtoll(v, NULL, 0));
        else if (v[0] == '~')
            msgpack_pack_nil(&q->pk);
        else if (v[0] == '@') {
            int k = 1;
            for (const char *p = v + 1; *p; p++)
                k += *p == ',';
            msgpack_pack_array(&q->pk, (size_t)(v[1] ? k : 0));
            for (const char *p = v + 1; *p;) {
                char *end;
                msgpack_pack_double(&q->pk, strtod(p, &end));
                p = *end ? end + 1 : end;
            }
        } else
            str(q, v);
    }
}

#define KV(...) ((const char *const[]){__VA_ARGS__}), (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *) / 2)

static result parse_kv(const char *const *kv, int n)
{
    req q;
    req_kv(&q, kv, n);
    result r = parse_req(&q);
    req_fini(&q);
    return r;
}

START_TEST(test_game_commands_parse)
{
    result r = parse_kv(KV("cmd", "order", "universe", "#3", "fleet", "#0x500000007", "kind", "move", "to", "#12"));
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_int_eq(r.cmd.kind, VR_CMD_ORDER);
    ck_assert_uint_eq(r.cmd.universe, 3);
    ck_assert_uint_eq(r.cmd.fleet, 0x500000007ull);
    ck_assert_uint_eq(r.cmd.op, VR_OP_MOVE);
    ck_assert_uint_eq(r.cmd.system, 12);
    static const char *const kinds[] = {"attack", "hold", "retreat"};
    static const uint32_t ops[] = {VR_OP_ATTACK, VR_OP_HOLD, VR_OP_RETREAT};
    for (int i = 0; i < 3; i++) {
        r = i == 0 ? parse_kv(KV("cmd", "order", "universe", "#0", "fleet", "#1", "kind", kinds[i], "to", "#0"))
                   : parse_kv(KV("cmd", "order", "universe", "#0", "fleet", "#1", "kind", kinds[i]));
        ck_assert_msg(r.rc == 0, "%s: %s", kinds[i], r.err);
        ck_assert_uint_eq(r.cmd.op, ops[i]);
        if (i)
            ck_assert_uint_eq(r.cmd.system, VR_NO_SYSTEM);
    }
    r = parse_kv(KV("cmd", "spawn", "universe", "#1", "faction", "Templars_of_the_Flux", "design", "#4", "at", "#9"));
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_str_eq(r.cmd.faction_name, "Templars_of_the_Flux");
    ck_assert_uint_eq(r.cmd.faction, 0);
    ck_assert_uint_eq(r.cmd.design, 4);
    ck_assert_uint_eq(r.cmd.ships, 1); /* default */
    ck_assert_uint_eq(r.cmd.system, 9);
    r = parse_kv(KV("cmd", "spawn", "universe", "#1", "faction", "#2", "design", "x_fighter", "at", "#0", "ships",
                    "#100"));
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_uint_eq(r.cmd.faction, 2);
    ck_assert_uint_eq(r.cmd.design, UINT32_MAX);
    ck_assert_str_eq(r.cmd.design_name, "x_fighter");
    ck_assert_uint_eq(r.cmd.ships, 100);
    r = parse_kv(KV("cmd", "policy", "universe", "#0", "faction", "#1", "stance", "aggressive", "budget", "@1,2,1.5"));
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_uint_eq(r.cmd.stance, VR_STANCE_AGGRESSIVE);
    ck_assert_uint_eq(r.cmd.budget_mode, VR_BUDGET_SET);
    ck_assert(r.cmd.budget[2] == 1.5);
    r = parse_kv(KV("cmd", "policy", "universe", "#0", "faction", "#1", "budget", "auto"));
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_uint_eq(r.cmd.stance, VR_STANCE_KEEP);
    ck_assert_uint_eq(r.cmd.budget_mode, VR_BUDGET_AUTO);
    r = parse_kv(KV("cmd", "result", "ticket", "#18446744073709551615"));
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_uint_eq(r.cmd.ticket, UINT64_MAX);
}
END_TEST

START_TEST(test_game_commands_hostile)
{
    static const struct {
        const char *what, *want;
        int rc;
        const char *kv[14];
        int n;
    } bad[] = {
        {"no universe", "\"universe\"", -VR_EBADARG, {"cmd", "order", "fleet", "#1", "kind", "hold"}, 3},
        {"no fleet", "\"fleet\"", -VR_EBADARG, {"cmd", "order", "universe", "#0", "kind", "hold"}, 3},
        {"no kind", "\"kind\"", -VR_EBADARG, {"cmd", "order", "universe", "#0", "fleet", "#1"}, 3},
        {"bad kind", "bad order kind \"fly\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "fly"}, 4},
        {"kind not a string", "\"kind\" must be a string", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "#1"}, 4},
        {"move without to", "needs \"to\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "move"}, 4},
        {"hold with to", "only valid with order kinds move and attack", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "hold", "to", "#1"}, 5},
        {"fleet 0", "\"fleet\"", -VR_EBADARG, {"cmd", "order", "universe", "#0", "fleet", "#0", "kind", "hold"}, 4},
        {"fleet string", "\"fleet\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "abc", "kind", "hold"}, 4},
        {"fleet negative", "\"fleet\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "-5", "kind", "hold"}, 4},
        {"universe huge", "\"universe\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#18446744073709551615", "fleet", "#1", "kind", "hold"}, 4},
        {"to huge", "\"to\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "move", "to", "#4294967295"}, 5},
        {"to nil", "\"to\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "move", "to", "~"}, 5},
        {"order with ships", "does not take the field \"ships\"", -VR_EBADARG,
         {"cmd", "order", "universe", "#0", "fleet", "#1", "kind", "hold", "ships", "#2"}, 5},
        {"spawn without at", "\"at\"", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "#1", "design", "#0"}, 4},
        {"ships 0", "\"ships\"", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "#1", "design", "#0", "at", "#0", "ships", "#0"}, 6},
        {"ships 101", "\"ships\"", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "#1", "design", "#0", "at", "#0", "ships", "#101"}, 6},
        {"faction 0", "\"faction\"", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "#0", "design", "#0", "at", "#0"}, 5},
        {"faction 2^40", "\"faction\"", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "#1099511627776", "design", "#0", "at", "#0"}, 5},
        {"empty faction name", "no faction is named", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "", "design", "#0", "at", "#0"}, 5},
        {"design nil", "\"design\"", -VR_EBADARG,
         {"cmd", "spawn", "universe", "#0", "faction", "#1", "design", "~", "at", "#0"}, 5},
        {"policy with nothing", "needs \"stance\", \"budget\"", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1"}, 3},
        {"bad stance", "bad stance \"furious\"", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1", "stance", "furious"}, 4},
        {"budget zero", "bad budget", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1", "budget", "@0,0,0"}, 4},
        {"budget two", "bad budget", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1", "budget", "@1,2"}, 4},
        {"budget negative", "bad budget", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1", "budget", "@1,-1,1"}, 4},
        {"budget huge", "bad budget", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1", "budget", "@1e300,1,1"}, 4},
        {"budget string", "bad budget", -VR_EBADARG,
         {"cmd", "policy", "universe", "#0", "faction", "#1", "budget", "lots"}, 4},
        {"result without ticket", "\"ticket\"", -VR_EBADARG, {"cmd", "result"}, 1},
        {"ticket 0", "\"ticket\"", -VR_EBADARG, {"cmd", "result", "ticket", "#0"}, 2},
        {"ticket string", "\"ticket\"", -VR_EBADARG, {"cmd", "result", "ticket", "7"}, 2},
        {"status with fleet", "does not take", -VR_EBADARG, {"cmd", "status", "fleet", "#1"}, 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        result r = parse_kv(bad[i].kv, bad[i].n);
        assert_rejected(&r, bad[i].rc, bad[i].want, bad[i].what);
    }
    /* a name longer than any name column, and one with a NUL inside */
    char longname[200];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    result r = parse_kv(KV("cmd", "spawn", "universe", "#0", "faction", "#1", "design", longname, "at", "#0"));
    assert_rejected(&r, -VR_EBADARG, "no design is named", "long design name");
    req q;
    req_init(&q);
    msgpack_pack_map(&q.pk, 4);
    str(&q, "cmd"), str(&q, "policy");
    str(&q, "universe"), msgpack_pack_uint32(&q.pk, 0);
    str(&q, "stance"), str(&q, "balanced");
    str(&q, "faction"), msgpack_pack_str(&q.pk, 3), msgpack_pack_str_body(&q.pk, "a\0b", 3);
    assert_req_rejected(&q, -VR_EBADARG, "no faction is named \"a?b\"", "NUL in a name");
}
END_TEST

static Suite *command_suite(void)
{
    Suite *s = suite_create("command");
    TCase *tc = tcase_create("accept");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_every_command_parses);
    tcase_add_test(tc, test_step_n);
    tcase_add_test(tc, test_snapshot_path);
    tcase_add_test(tc, test_cmd_name_round_trip);
    tcase_add_test(tc, test_game_commands_parse);
    tcase_add_test(tc, test_game_commands_hostile);
    suite_add_tcase(s, tc);

    tc = tcase_create("reject");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_empty_input);
    tcase_add_test(tc, test_not_a_map);
    tcase_add_test(tc, test_missing_cmd);
    tcase_add_test(tc, test_cmd_not_a_string);
    tcase_add_test(tc, test_unknown_command);
    tcase_add_test(tc, test_unknown_field);
    tcase_add_test(tc, test_non_string_key);
    tcase_add_test(tc, test_duplicate_fields);
    tcase_add_test(tc, test_bad_n);
    tcase_add_test(tc, test_n_on_other_commands);
    tcase_add_test(tc, test_wrong_version);
    tcase_add_test(tc, test_trailing_bytes);
    tcase_add_test(tc, test_truncated_prefixes);
    tcase_add_test(tc, test_oversized);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_huge_length_headers);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_random_bytes);
    tcase_add_test(tc, test_mutated_requests);
    suite_add_tcase(s, tc);

    tc = tcase_create("reply");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_reply_error);
    tcase_add_test(tc, test_cluster_hash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(command_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
