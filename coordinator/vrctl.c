/* vrctl.c: command-line client of a running cluster's command socket.
 *
 * Finds the command endpoint in the cluster segment (or takes --endpoint),
 * sends one msgpack request, waits at most --timeout seconds, and prints the
 * reply for people (default) or as JSON (--json).  Exit status: 0 ok,
 * 1 the coordinator answered with an error (or `result` names a command
 * that failed), 2 usage, 3 unreachable.
 */
#include "vr_coord.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void usage(FILE *f)
{
    fprintf(f,
"usage: vrctl [-n NAME] [-e ENDPOINT] [-t SECONDS] [--json] COMMAND [ARGS]\n"
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
"game commands (checked at once, applied at the start of the next turn; they\n"
"reply a ticket, and `vrctl result TICKET` tells what happened):\n"
"  order U FLEET move|attack --to SYSTEM [--universe V]  send fleet FLEET (id, decimal or 0x...)\n"
"                                          (with --universe: SYSTEM of universe V, through a portal)\n"
"  order U FLEET hold|retreat               stop where it is / go to its faction's home\n"
"  spawn U FACTION DESIGN SYSTEM [--ships N]  new fleet of N (1-100) ships; FACTION:\n"
"                                           1-based number or name, DESIGN: index or name\n"
"  policy U FACTION [--stance S] [--budget M,E,X|auto]\n"
"                                           S: balanced, aggressive, defensive or auto\n"
"  result TICKET                            pending, done (with the fleet id) or failed\n"
"\n"
"  snapshot [PATH]  write the whole cluster at the last committed turn to PATH (default:\n"
"                   the coordinator's --snapshot-dir); replies path, turn and bytes\n"
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
    case VR_CMD_ORDER:
    case VR_CMD_SPAWN:
    case VR_CMD_POLICY:
        printf("ticket %" PRIu64 ": %s for universe %" PRIu64 " queued after turn %" PRIu64
               "; `vrctl result %" PRIu64 "` tells what it did\n",
               u64(r, "ticket"), str(r, "op", a, sizeof a), u64(r, "universe"), u64(r, "turn"), u64(r, "ticket"));
        break;
    case VR_CMD_RESULT: {
        str(r, "state", b, sizeof b);
        printf("ticket %" PRIu64 ": %s %s", u64(r, "ticket"), str(r, "op", a, sizeof a), b);
        if (strcmp(b, "pending") == 0)
            printf(" (not applied yet)\n");
        else if (strcmp(b, "done") == 0 && get(r, "fleet"))
            printf(" at turn %" PRIu64 ": fleet %" PRIu64 " (0x%" PRIx64 ")\n", u64(r, "turn"), u64(r, "fleet"),
                   u64(r, "fleet"));
        else if (strcmp(b, "done") == 0)
            printf(" at turn %" PRIu64 ": faction %" PRIu64 "\n", u64(r, "turn"), u64(r, "faction"));
        else
            printf(" at turn %" PRIu64 ": %s\n", u64(r, "turn"), str(r, "error", d, sizeof d));
        break;
    }
    case VR_CMD_SNAPSHOT: {
        char path[1100];
        printf("snapshot of turn %" PRIu64 ": %s (%" PRIu64 " bytes)\n", u64(r, "turn"), str(r, "path", path, sizeof path),
               u64(r, "bytes"));
        break;
    }
    default:
        printf("turn %" PRIu64 " (%s)\n", u64(r, "turn"), str(r, "status", a, sizeof a));
        break;
    }
}

static void pack_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* Arguments of the game commands, as request fields. */
typedef struct game_field {
    const char *key;
    const char *text; /* a string value, or NULL */
    uint64_t num;
    bool budget;      /* num unused: b[] holds the split */
    double b[3];
} game_field;

typedef struct game_args {
    int nfields;
    game_field f[8];
} game_args;

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A non-negative integer (decimal or 0x hex) into *v; false if it is not one. */
static bool parse_num(const char *s, uint64_t *v)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *v = x;
    return true;
}

static void add_num(game_args *g, const char *key, uint64_t v)
{
    g->f[g->nfields++] = (game_field){.key = key, .num = v};
}

static void add_text(game_args *g, const char *key, const char *t)
{
    g->f[g->nfields++] = (game_field){.key = key, .text = t};
}

/* A number when s is all digits, else a name. */
static void add_num_or_name(game_args *g, const char *key, const char *s)
{
    uint64_t v;
    if (all_digits(s) && parse_num(s, &v))
        add_num(g, key, v);
    else
        add_text(g, key, s);
}

static int game_usage(const char *cmd, const char *want)
{
    fprintf(stderr, "vrctl: %s takes %s (see --help)\n", cmd, want);
    return 2;
}

static int parse_game_args(vr_cmd_kind kind, char **a, int n, game_args *g)
{
    static const char *const usage_of[] = {
        [VR_CMD_ORDER] = "UNIVERSE FLEET move|attack|hold|retreat [--to SYSTEM [--universe U]]",
        [VR_CMD_SPAWN] = "UNIVERSE FACTION DESIGN SYSTEM [--ships N]",
        [VR_CMD_POLICY] = "UNIVERSE FACTION [--stance S] [--budget M,E,X|auto]",
        [VR_CMD_RESULT] = "TICKET",
    };
    const char *name = kind == VR_CMD_ORDER ? "order" : kind == VR_CMD_SPAWN ? "spawn"
                     : kind == VR_CMD_POLICY ? "policy" : "result";
    const char *pos[4];
    int npos = 0;
    uint64_t v;
    for (int i = 0; i < n; i++) {
        const char *opt = a[i];
        if (strncmp(opt, "--", 2) != 0) {
            if (npos == 4)
                return game_usage(name, usage_of[kind]);
            pos[npos++] = opt;
            continue;
        }
        if (i + 1 >= n)
            return game_usage(name, usage_of[kind]);
        const char *val = a[++i];
        if (kind == VR_CMD_ORDER && strcmp(opt, "--to") == 0) {
            if (!parse_num(val, &v))
                return game_usage(name, "--to SYSTEM (a system number)");
            add_num(g, "to", v);
        } else if (kind == VR_CMD_ORDER && strcmp(opt, "--universe") == 0) {
            if (!parse_num(val, &v))
                return game_usage(name, "--universe U (the universe of --to, through a portal)");
            add_num(g, "to_universe", v);
        } else if (kind == VR_CMD_SPAWN && strcmp(opt, "--ships") == 0) {
            if (!parse_num(val, &v))
                return game_usage(name, "--ships N (a number)");
            add_num(g, "ships", v);
        } else if (kind == VR_CMD_POLICY && strcmp(opt, "--stance") == 0) {
            add_text(g, "stance", val);
        } else if (kind == VR_CMD_POLICY && strcmp(opt, "--budget") == 0) {
            if (strcmp(val, "auto") == 0) {
                add_text(g, "budget", "auto");
                continue;
            }
            game_field *f = &g->f[g->nfields];
            char *end;
            const char *p = val;
            for (int k = 0; k < 3; k++) {
                f->b[k] = strtod(p, &end);
                if (end == p || (k < 2 && *end != ',') || (k == 2 && *end))
                    return game_usage(name, "--budget MILITARY,ECONOMY,EXPANSION (three numbers) or auto");
                p = end + 1;
            }
            f->key = "budget";
            f->budget = true;
            g->nfields++;
        } else {
            fprintf(stderr, "vrctl: %s has no option %s (see --help)\n", name, opt);
            return 2;
        }
    }
    int want = kind == VR_CMD_ORDER ? 3 : kind == VR_CMD_SPAWN ? 4 : kind == VR_CMD_POLICY ? 2 : 1;
    if (npos != want)
        return game_usage(name, usage_of[kind]);
    if (kind == VR_CMD_RESULT) {
        if (!parse_num(pos[0], &v))
            return game_usage(name, "TICKET (a number)");
        add_num(g, "ticket", v);
        return 0;
    }
    if (!parse_num(pos[0], &v))
        return game_usage(name, "a UNIVERSE number first");
    add_num(g, "universe", v);
    if (kind == VR_CMD_ORDER) {
        if (!parse_num(pos[1], &v))
            return game_usage(name, "a FLEET id (decimal or 0x hex) second");
        add_num(g, "fleet", v);
        add_text(g, "kind", pos[2]);
    } else {
        add_num_or_name(g, "faction", pos[1]);
        if (kind == VR_CMD_SPAWN) {
            add_num_or_name(g, "design", pos[2]);
            if (!parse_num(pos[3], &v))
                return game_usage(name, "a SYSTEM number last");
            add_num(g, "at", v);
        }
    }
    return 0;
}

static void pack_game_args(msgpack_packer *pk, const game_args *g)
{
    for (int i = 0; i < g->nfields; i++) {
        const game_field *f = &g->f[i];
        pack_s(pk, f->key);
        if (f->budget) {
            msgpack_pack_array(pk, 3);
            for (int k = 0; k < 3; k++)
                msgpack_pack_double(pk, f->b[k]);
        } else if (f->text) {
            pack_s(pk, f->text);
        } else {
            msgpack_pack_uint64(pk, f->num);
        }
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
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    if (kind <= VR_CMD_SHUTDOWN && nargs > 0) {
        char *end;
        n = strtoll(args[0], &end, 10);
        if (kind != VR_CMD_STEP || *end || n < 1 || n > VR_CMD_MAX_STEP || nargs > 1) {
            fprintf(stderr, "vrctl: %s takes %s\n", cmdname,
                    kind == VR_CMD_STEP ? "one count from 1 to 1000000" : "no argument");
            return 2;
        }
    }
    game_args ga = {0};
    char snap_path[PATH_MAX + 1] = "";
    if (kind == VR_CMD_SNAPSHOT) {
        if (nargs > 1) {
            fprintf(stderr, "vrctl: snapshot takes at most one argument, the file to write\n");
            return 2;
        }
        if (nargs == 1) { /* the coordinator's working directory is not ours */
            char cwd[PATH_MAX];
            if (args[0][0] != '/' && getcwd(cwd, sizeof cwd))
                snprintf(snap_path, sizeof snap_path, "%s/%s", cwd, args[0]);
            else
                snprintf(snap_path, sizeof snap_path, "%s", args[0]);
        }
    } else if (kind > VR_CMD_SHUTDOWN && parse_game_args(kind, args, nargs, &ga))
        return 2;
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
    msgpack_pack_map(&pk, 2 + (n ? 1 : 0) + (uint32_t)ga.nfields + (snap_path[0] ? 1 : 0));
    pack_s(&pk, "cmd");
    pack_s(&pk, cmdname);
    pack_s(&pk, "v");
    msgpack_pack_uint32(&pk, VR_WIRE_VERSION);
    if (n) {
        pack_s(&pk, "n");
        msgpack_pack_int64(&pk, n);
    }
    pack_game_args(&pk, &ga);
    if (snap_path[0]) {
        pack_s(&pk, "path");
        pack_s(&pk, snap_path);
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
                char stb[16];
                bool failed_result = good && kind == VR_CMD_RESULT &&
                                     strcmp(str(&up.data, "state", stb, sizeof stb), "failed") == 0;
                if (as_json) {
                    json(&up.data);
                    putchar('\n');
                } else if (good) {
                    print_human(kind, &up.data);
                } else {
                    char e[512];
                    fprintf(stderr, "vrctl: %s: %s\n", cmdname, str(&up.data, "error", e, sizeof e));
                }
                status = good && !failed_result ? 0 : 1; /* a failed command: 1 too */
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
