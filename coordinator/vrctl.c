/* vrctl.c: command-line client of a running cluster's command socket.
 *
 * Finds the command endpoint in the cluster segment (or takes --endpoint),
 * sends one msgpack request, waits at most --timeout seconds, and prints the
 * reply for people (default) or as JSON (--json).  Exit status: 0 ok,
 * 1 the coordinator answered with an error, 2 usage, 3 unreachable.
 */
#include "vr_coord.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void usage(FILE *f)
{
    fprintf(f,
"usage: vrctl [-n NAME] [-e ENDPOINT] [-t SECONDS] [--json] COMMAND [N]\n"
"Talks to the coordinator of cluster NAME (default \"default\").\n"
"\n"
"commands:\n"
"  status      cluster state, turn, turn rate and every universe's worker\n"
"  step [N]    pause, run N turns (default 1), reply when turn +N is committed\n"
"  pause       finish the running turn, then start no new one\n"
"  resume      run freely again\n"
"  hash        per-universe and cluster hash at the last committed turn\n"
"  shutdown    stop the cluster cleanly (segments are removed)\n"
"  top         live view from shared memory: turn, rate, per-system times (vrctl top --help)\n"
"  map         draw a universe's galaxy to a PNG (vrctl map --help; needs matplotlib)\n"
"\n"
"  -n, --name NAME       cluster name\n"
"  -e, --endpoint EP     command endpoint (default: read from /dev/shm/vr.NAME.cluster)\n"
"  -t, --timeout S       seconds to wait for the reply (default 10; step waits for its turns)\n"
"      --json            print the reply as JSON\n");
}

static void json_str(const char *p, uint32_t n)
{
    putchar('"');
    for (uint32_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 32)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: printf("null"); break;
    case MSGPACK_OBJECT_BOOLEAN: printf(o->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: printf("%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: printf("%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: printf("%.17g", o->via.f64); break;
    case MSGPACK_OBJECT_STR: json_str(o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_ARRAY:
        putchar('[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                putchar(',');
            json(&o->via.array.ptr[i]);
        }
        putchar(']');
        break;
    case MSGPACK_OBJECT_MAP:
        putchar('{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                putchar(',');
            json(&o->via.map.ptr[i].key);
            putchar(':');
            json(&o->via.map.ptr[i].val);
        }
        putchar('}');
        break;
    default: printf("null"); break;
    }
}

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && !memcmp(k->via.str.ptr, key, n))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static uint64_t u64(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = get(map, key);
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0;
}

static int64_t i64(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = get(map, key);
    if (!o)
        return 0;
    return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64 : (int64_t)o->via.u64;
}

static const char *str(const msgpack_object *map, const char *key, char *buf, size_t len)
{
    const msgpack_object *o = get(map, key);
    if (!o || o->type != MSGPACK_OBJECT_STR) {
        snprintf(buf, len, "?");
        return buf;
    }
    snprintf(buf, len, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    return buf;
}

static void print_human(vr_cmd_kind kind, const msgpack_object *r)
{
    char a[128], b[128], d[128];
    const msgpack_object *us = get(r, "universes");
    switch (kind) {
    case VR_CMD_STATUS: {
        const msgpack_object *rate = get(r, "turns_per_s");
        printf("cluster %s: %s, turn %" PRIu64 "%s, %.1f turns/s, cluster hash %s, coordinator pid %" PRId64 "\n",
               str(r, "name", a, sizeof a), str(r, "status", b, sizeof b), u64(r, "turn"),
               u64(r, "turn_limit") ? " (limit set)" : "", rate ? rate->via.f64 : 0.0,
               str(r, "cluster_hash", d, sizeof d), i64(r, "pid"));
        printf("%-9s %-8s %-5s %-10s %-8s %-9s %-17s %-10s %s\n", "universe", "pid", "node", "cpus", "status",
               "turn", "hash", "entities", "turn ms");
        for (uint32_t i = 0; us && us->type == MSGPACK_OBJECT_ARRAY && i < us->via.array.size; i++) {
            const msgpack_object *u = &us->via.array.ptr[i];
            printf("u%-8" PRIu64 " %-8" PRId64 " %-5" PRId64 " %-10s %-8s %-9" PRIu64 " %-17s %-10" PRIu64 " %.3f\n",
                   u64(u, "universe"), i64(u, "pid"), i64(u, "node"), str(u, "cpus", a, sizeof a),
                   str(u, "status", b, sizeof b), u64(u, "turn"), str(u, "hash", d, sizeof d),
                   u64(u, "entities"), (double)u64(u, "turn_ns") / 1e6);
        }
        break;
    }
    case VR_CMD_HASH:
        printf("turn %" PRIu64 " cluster hash %s\n", u64(r, "turn"), str(r, "cluster_hash", a, sizeof a));
        for (uint32_t i = 0; us && us->type == MSGPACK_OBJECT_ARRAY && i < us->via.array.size; i++) {
            const msgpack_object *h = &us->via.array.ptr[i];
            printf("u%u %.*s\n", i, h->type == MSGPACK_OBJECT_STR ? (int)h->via.str.size : 1,
                   h->type == MSGPACK_OBJECT_STR ? h->via.str.ptr : "?");
        }
        break;
    default:
        printf("turn %" PRIu64 " (%s)\n", u64(r, "turn"), str(r, "status", a, sizeof a));
        break;
    }
}

int main(int argc, char **argv)
{
    const char *name = "default", *endpoint = NULL;
    double timeout = 10.0;
    bool as_json = false;
    static const struct option lo[] = {{"name", 1, 0, 'n'}, {"endpoint", 1, 0, 'e'}, {"timeout", 1, 0, 't'},
                                       {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "+n:e:t:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n': name = optarg; break;
        case 'e': endpoint = optarg; break;
        case 't': {
            char *end;
            timeout = strtod(optarg, &end);
            if (*end || !(timeout > 0)) {
                fprintf(stderr, "vrctl: --timeout \"%s\" is not a positive number of seconds\n", optarg);
                return 2;
            }
            break;
        }
        case 'j': as_json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmdname = argv[optind];
    if (strcmp(cmdname, "top") == 0)
        return vrctl_top(name, argc - optind, argv + optind);
    if (strcmp(cmdname, "map") == 0)
        return vrctl_map(name, argc - optind, argv + optind);
    vr_cmd_kind kind = VR_CMD_NONE;
#define VR_CMD_FIND(k, s) if (strcmp(cmdname, s) == 0) kind = VR_CMD_##k;
    VR_CMDS(VR_CMD_FIND)
#undef VR_CMD_FIND
    if (kind == VR_CMD_NONE) {
        fprintf(stderr, "vrctl: unknown command \"%s\" (see --help)\n", cmdname);
        return 2;
    }
    int64_t n = 0;
    if (optind + 1 < argc) {
        char *end;
        n = strtoll(argv[optind + 1], &end, 10);
        if (kind != VR_CMD_STEP || *end || n < 1 || n > VR_CMD_MAX_STEP || optind + 2 < argc) {
            fprintf(stderr, "vrctl: %s takes %s\n", cmdname,
                    kind == VR_CMD_STEP ? "one count from 1 to 1000000" : "no argument");
            return 2;
        }
    }
    char ep[256];
    if (!endpoint) {
        char why[256] = "";
        vr_cluster *cl = NULL;
        int rc = vr_cluster_attach(&cl, name, false, why, sizeof why);
        if (rc) {
            if (rc == -ENOENT)
                fprintf(stderr, "vrctl: cluster \"%s\" is not running (no /dev/shm/vr.%s.cluster)\n", name, name);
            else
                fprintf(stderr, "vrctl: cannot read cluster \"%s\": %s\n", name, why[0] ? why : vr_strerror(rc));
            return 3;
        }
        snprintf(ep, sizeof ep, "%s", vr_cluster_header(cl)->cmd_endpoint);
        vr_cluster_detach(&cl);
        endpoint = ep;
    }

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n ? 3 : 2);
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "cmd", 3);
    msgpack_pack_str(&pk, strlen(cmdname));
    msgpack_pack_str_body(&pk, cmdname, strlen(cmdname));
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "v", 1);
    msgpack_pack_uint32(&pk, VR_WIRE_VERSION);
    if (n) {
        msgpack_pack_str(&pk, 1);
        msgpack_pack_str_body(&pk, "n", 1);
        msgpack_pack_int64(&pk, n);
    }

    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    int rcvtimeo = (int)(timeout * 1000);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    int status = 0;
    if (zmq_connect(s, endpoint) < 0) {
        fprintf(stderr, "vrctl: zmq_connect(%s): %s\n", endpoint, zmq_strerror(errno));
        status = 3;
    } else {
        zmq_send(s, "", 0, ZMQ_SNDMORE); /* REQ-style envelope */
        zmq_send(s, sb.data, sb.size, 0);
        zmq_msg_t m;
        zmq_msg_init(&m);
        int got;
        do { /* skip the empty delimiter */
            got = zmq_msg_recv(&m, s, 0);
        } while (got == 0);
        if (got < 0) {
            fprintf(stderr, "vrctl: no reply from %s within %.1f s (is the coordinator alive?)\n", endpoint, timeout);
            status = 3;
        } else {
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            if (msgpack_unpack_next(&up, zmq_msg_data(&m), zmq_msg_size(&m), NULL) != MSGPACK_UNPACK_SUCCESS ||
                up.data.type != MSGPACK_OBJECT_MAP) {
                fprintf(stderr, "vrctl: unreadable reply from %s\n", endpoint);
                status = 3;
            } else {
                const msgpack_object *ok = get(&up.data, "ok");
                bool good = ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
                if (as_json) {
                    json(&up.data);
                    putchar('\n');
                } else if (good) {
                    print_human(kind, &up.data);
                } else {
                    char e[512];
                    fprintf(stderr, "vrctl: %s: %s\n", cmdname, str(&up.data, "error", e, sizeof e));
                }
                status = good ? 0 : 1;
            }
            msgpack_unpacked_destroy(&up);
        }
        zmq_msg_close(&m);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    msgpack_sbuffer_destroy(&sb);
    return status;
}
