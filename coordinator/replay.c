/* replay.c: vr-replay SNAPSHOT LOG --until T.
 *
 * Reproduces a run in one process, with no coordinator, workers or sockets:
 * loads every universe of the snapshot into a private arena (a shared-memory
 * segment unlinked as soon as it is mapped), builds the simulation of each
 * universe from the snapshot's options (seed, scenario, content, portals),
 * then for each turn after the snapshot's, for each universe, does what a
 * worker does: portal arrivals (the peers' committed outboxes of the turn
 * before, encoded and decoded as on the wire, checked, in source order), the
 * turn's logged commands in logged order, the turn's systems; and publishes
 * every universe only once all computed the turn.  Every turn's hashes are
 * compared with the log's "H" lines: the first difference is printed
 * (turn, universe, expected, got) and the exit status is 1.  Reaching T
 * prints the final hashes and exits 0.  Exit 2: usage; 3: a file is
 * unusable (named, with what is wrong).
 */
#include "vr_coord.h"
#include "vr_snapshot.h"
#include "vr_sim.h"
#include "content.h"
#include "portal.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct lcmd {
    uint64_t turn;
    uint32_t universe;
    vr_wcmd w;
} lcmd;

typedef struct lhash {
    uint64_t turn, cluster;
    uint64_t *u;
    long line;
} lhash;

typedef struct logdata {
    lcmd *cmds;
    size_t ncmds, capc;
    lhash *hashes;
    size_t nhashes, caph;
} logdata;

static void usage(FILE *f)
{
    fprintf(f,
"usage: vr-replay SNAPSHOT LOG --until T [--content DIR] [--quiet]\n"
"Replays a run from a snapshot (vrctl snapshot, --snapshot-every) and the\n"
"coordinator's --command-log, in one process, checking every turn's hashes\n"
"against the log.\n"
"  --until T        replay up to turn T (after the snapshot's turn)\n"
"  --content DIR    the content pack, when it moved since the snapshot (its hash must match)\n"
"  -q, --quiet      no per-turn lines\n"
"Exit status: 0 reached T with every hash equal (final hashes printed),\n"
"1 divergence (first turn, universe, expected and computed hash printed),\n"
"2 usage, 3 unusable snapshot, log or content.\n");
}

static void logdata_free(logdata *ld)
{
    for (size_t i = 0; i < ld->nhashes; i++)
        free(ld->hashes[i].u);
    free(ld->hashes), free(ld->cmds);
    memset(ld, 0, sizeof *ld);
}

/* Parses the command log.  0, or 3 with the line named on stderr. */
static int read_log(const char *path, uint32_t nu, logdata *ld)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vr-replay: command log %s: %s\n", path, strerror(errno));
        return 3;
    }
    char line[4096];
    long ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n')
            line[--l] = 0;
        if (l == 0 || line[0] == '#')
            continue;
        if (line[0] == 'C' && line[1] == ' ') {
            lcmd c;
            memset(&c, 0, sizeof c);
            unsigned op, sys, fac, des, ships, stance, bm, tou;
            double b0, b1, b2;
            int used = 0;
            if (sscanf(line + 2, "%" SCNu64 " %u %" SCNu64 " %u %" SCNu64 " %u %u %u %u %u %u %la %la %la %u%n", &c.turn,
                       &c.universe, &c.w.ticket, &op, &c.w.fleet, &sys, &fac, &des, &ships, &stance, &bm, &b0, &b1,
                       &b2, &tou, &used) != 15 || line[2 + used] != 0 || c.universe >= nu) {
                fprintf(stderr, "vr-replay: %s line %ld: not a command line of %u universes: \"%.80s\"\n", path, ln,
                        nu, line);
                fclose(f);
                return 3;
            }
            c.w.op = op, c.w.system = sys, c.w.faction = fac, c.w.design = des, c.w.ships = ships;
            c.w.stance = (uint8_t)stance, c.w.budget_mode = (uint8_t)bm, c.w.to_universe = tou;
            c.w.budget[0] = (float)b0, c.w.budget[1] = (float)b1, c.w.budget[2] = (float)b2;
            if (ld->ncmds == ld->capc) {
                size_t cap = ld->capc ? 2 * ld->capc : 256;
                lcmd *nc = realloc(ld->cmds, cap * sizeof *nc);
                if (!nc) {
                    fprintf(stderr, "vr-replay: %s: out of memory\n", path);
                    fclose(f);
                    return 3;
                }
                ld->cmds = nc, ld->capc = cap;
            }
            ld->cmds[ld->ncmds++] = c;
        } else if (line[0] == 'H' && line[1] == ' ') {
            lhash h = {.line = ln, .u = calloc(nu, sizeof(uint64_t))};
            char *p = line + 2, *end;
            h.turn = strtoull(p, &end, 10);
            bool ok = end != p;
            p = end;
            h.cluster = strtoull(p, &end, 16);
            ok = ok && end != p;
            for (uint32_t u = 0; ok && u < nu; u++) {
                p = end;
                h.u[u] = strtoull(p, &end, 16);
                ok = end != p;
            }
            if (!ok || *end) {
                fprintf(stderr, "vr-replay: %s line %ld: not a hash line of %u universes: \"%.80s\"\n", path, ln, nu,
                        line);
                free(h.u);
                fclose(f);
                return 3;
            }
            if (ld->nhashes == ld->caph) {
                size_t cap = ld->caph ? 2 * ld->caph : 256;
                lhash *nh = realloc(ld->hashes, cap * sizeof *nh);
                if (!nh) {
                    fprintf(stderr, "vr-replay: %s: out of memory\n", path);
                    free(h.u);
                    fclose(f);
                    return 3;
                }
                ld->hashes = nh, ld->caph = cap;
            }
            ld->hashes[ld->nhashes++] = h;
        } else {
            fprintf(stderr, "vr-replay: %s line %ld: unknown line \"%.80s\" (lines start with C, H or #)\n", path, ln,
                    line);
            fclose(f);
            return 3;
        }
    }
    fclose(f);
    return 0;
}

static const lhash *hashes_of(const logdata *ld, uint64_t turn)
{
    for (size_t i = ld->nhashes; i-- > 0;) /* the last line for a turn wins (a restarted log) */
        if (ld->hashes[i].turn == turn)
            return &ld->hashes[i];
    return NULL;
}

/* The committed buffer as columns (read only). */
static int published_cols(const vr_arena *a, vr_cols *c)
{
    vr_view v;
    int rc = vr_arena_read_begin(a, &v);
    if (rc)
        return rc;
    memset(c, 0, sizeof *c);
#define VR_TABLE(t, doc)
#define VR_COLUMN(t, n, ct, dt, l, doc) c->t##_##n = (ct *)vr_view_column(a, &v, VR_COL_##t##_##n, NULL);
#include "components.def"
#undef VR_TABLE
#undef VR_COLUMN
    for (uint32_t t = 0; t < VR_NTABLES; t++)
        c->gen[t] = (uint32_t *)vr_view_column(a, &v, VR_COL_GEN(t), NULL);
    c->tables = (vr_tabstate *)v.tables;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t until = 0;
    bool have_until = false, quiet = false;
    const char *content_dir = NULL;
    static const struct option lo[] = {{"until", 1, 0, 'T'}, {"content", 1, 0, 'C'}, {"quiet", 0, 0, 'q'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (ch) {
        case 'T': {
            char *end;
            errno = 0;
            until = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "vr-replay: --until: \"%s\" is not a turn number\n", optarg);
                return 2;
            }
            have_until = true;
            break;
        }
        case 'C': content_dir = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2 || !have_until) {
        usage(stderr);
        return 2;
    }
    const char *snap_path = argv[optind], *log_path = argv[optind + 1];
    char err[2048] = "";
    vr_snapshot *snap = NULL;
    int rc = vr_snapshot_open(&snap, snap_path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "vr-replay: %s\n", err);
        return 3;
    }
    const vr_snap_hdr *h = vr_snapshot_header(snap);
    uint32_t nu = h->nuniverses;
    uint64_t t0 = h->turn;
    if (until < t0) {
        fprintf(stderr, "vr-replay: --until %" PRIu64 " is before the snapshot's turn %" PRIu64 "\n", until, t0);
        vr_snapshot_close(&snap);
        return 2;
    }
    logdata ld = {0};
    if ((rc = read_log(log_path, nu, &ld))) {
        logdata_free(&ld);
        vr_snapshot_close(&snap);
        return rc;
    }
    const lhash *last = ld.nhashes ? &ld.hashes[ld.nhashes - 1] : NULL;
    if (!last || last->turn < until)
        fprintf(stderr, "vr-replay: warning: %s records hashes up to turn %" PRIu64 " only; later turns are not checked\n",
                log_path, last ? last->turn : 0);

    /* the snapshot's content and portal network, exactly */
    const char *cdir = content_dir ? content_dir : h->content_dir[0] ? h->content_dir : NULL;
    vr_content *content = NULL;
    rc = cdir ? vr_content_load(&content, cdir, err, sizeof err) : vr_content_builtin(&content, h->seed);
    if (rc == 0 && vr_content_hash(content) != h->content_hash) {
        snprintf(err, sizeof err, "hashes to %016" PRIx64 ", the snapshot was taken with %016" PRIx64
                 " (did the pack change?)", vr_content_hash(content), h->content_hash);
        rc = -VR_ECONTENT;
    }
    if (rc) {
        fprintf(stderr, "vr-replay: content %s: %s\n", cdir ? cdir : "(built-in)", err[0] ? err : vr_strerror(rc));
        vr_content_destroy(&content);
        logdata_free(&ld);
        vr_snapshot_close(&snap);
        return 3;
    }
    vr_portal_net *net = NULL;
    vr_portal_config pcfg = {.universes = nu, .seed = h->seed, .spec = h->portals[0] ? h->portals : NULL,
                             .names = h->universe_names[0] ? h->universe_names : NULL};
    rc = vr_portal_net_new(&net, &pcfg, err, sizeof err);
    if (rc == 0 && vr_portal_net_hash(net) != h->portal_hash) {
        snprintf(err, sizeof err, "hashes to %016" PRIx64 ", the snapshot's to %016" PRIx64,
                 vr_portal_net_hash(net), h->portal_hash);
        rc = -VR_ECONTENT;
    }
    if (rc) {
        fprintf(stderr, "vr-replay: portal network %s: %s\n", pcfg.spec ? pcfg.spec : "default", err);
        vr_portal_net_destroy(&net);
        vr_content_destroy(&content);
        logdata_free(&ld);
        vr_snapshot_close(&snap);
        return 3;
    }

    vr_arena **arenas = calloc(nu, sizeof *arenas);
    vr_sim **sims = calloc(nu, sizeof *sims);
    uint64_t *hash = calloc(nu, sizeof *hash);
    vr_portal_batch *batches = calloc((size_t)nu * nu, sizeof *batches);
    vr_portal_batch **bp = calloc(nu, sizeof *bp);
    vr_wcmd *cmds = calloc(VR_TURN_MAX_CMDS, sizeof *cmds);
    vr_wresult *res = calloc(VR_TURN_MAX_CMDS, sizeof *res);
    int status = 0;
    for (uint32_t u = 0; u < nu && status == 0; u++) {
        vr_scenario sc = {.seed = h->seed, .universe = u, .systems = h->systems, .fleets = h->fleets,
                          .factions = h->factions, .content = content, .portals = net};
        vr_arena_spec spec = {.universe = u, .cluster_id = 1, .seed = h->seed};
        vr_sim_capacity(&sc, spec.capacity);
        char seg[VR_SEGNAME_MAX];
        snprintf(seg, sizeof seg, "/vr.replay%d.u%u", (int)getpid(), u);
        rc = vr_arena_create(&arenas[u], seg, &spec, 0600);
        shm_unlink(seg); /* private: gone with the process, whatever happens */
        if (rc == 0)
            rc = vr_snapshot_load_arena(snap, u, arenas[u], err, sizeof err);
        else
            snprintf(err, sizeof err, "cannot create an arena of %" PRIu64 " bytes: %s", vr_arena_size(&spec),
                     vr_strerror(rc));
        if (rc == 0 && (rc = vr_sim_new(&sims[u], &sc)))
            snprintf(err, sizeof err, "cannot build the simulation: %s", vr_strerror(rc));
        if (rc) {
            fprintf(stderr, "vr-replay: %s universe %u: %s\n", snap_path, u, err);
            status = 3;
        }
        hash[u] = vr_snapshot_universe(snap, u)->hash;
    }
    for (size_t i = 0; i < (size_t)nu * nu; i++)
        vr_portal_batch_init(&batches[i]);
    const lhash *lh = status == 0 ? hashes_of(&ld, t0) : NULL;
    for (uint32_t u = 0; lh && u < nu; u++)
        if (lh->u[u] != hash[u]) {
            printf("divergence at turn %" PRIu64 " universe %u: expected %016" PRIx64 " got %016" PRIx64
                   " (the snapshot does not belong to this log, line %ld)\n", t0, u, lh->u[u], hash[u], lh->line);
            status = 1;
            break;
        }
    size_t ci = 0;
    while (ci < ld.ncmds && ld.cmds[ci].turn <= t0)
        ci++;
    for (uint64_t n = t0 + 1; n <= until && status == 0; n++) {
        size_t cend = ci;
        while (cend < ld.ncmds && ld.cmds[cend].turn == n)
            cend++;
        for (uint32_t u = 0; u < nu && status == 0; u++) {
            /* arrivals: each peer's committed outbox of turn n - 1, through the wire format */
            uint32_t nb = 0;
            vr_cols own;
            published_cols(arenas[u], &own);
            for (uint32_t s = 0; n >= 2 && s < nu && status == 0; s++) {
                if (!vr_portal_net_peers(net, u, s))
                    continue;
                vr_cols pc;
                vr_portal_batch tmp;
                vr_portal_batch_init(&tmp);
                char *bytes = NULL;
                size_t len = 0;
                vr_portal_batch *b = &batches[(size_t)u * nu + s];
                vr_portal_batch_fini(b);
                vr_portal_batch_init(b);
                if (published_cols(arenas[s], &pc) || vr_portal_batch_from_outbox(&tmp, &pc, s, u, n - 1) ||
                    vr_portal_batch_encode(&tmp, &bytes, &len) ||
                    vr_portal_batch_decode(bytes, len, b, err, sizeof err) ||
                    vr_portal_batch_check(sims[u], &own, b, u, n, err, sizeof err)) {
                    fprintf(stderr, "vr-replay: turn %" PRIu64 ": portal batch u%u -> u%u unusable: %s\n", n, s, u, err);
                    status = 3;
                }
                free(bytes);
                vr_portal_batch_fini(&tmp);
                bp[nb++] = b;
            }
            uint32_t nc = 0;
            for (size_t i = ci; i < cend; i++)
                if (ld.cmds[i].universe == u) {
                    if (nc == VR_TURN_MAX_CMDS) {
                        fprintf(stderr, "vr-replay: %s: more than %d commands for universe %u in turn %" PRIu64 "\n",
                                log_path, VR_TURN_MAX_CMDS, u, n);
                        status = 3;
                        break;
                    }
                    cmds[nc++] = ld.cmds[i].w;
                }
            if (status)
                break;
            vr_cols c;
            vr_turn_stats st;
            memset(&st, 0, sizeof st);
            rc = vr_arena_begin(arenas[u], &c);
            if (rc == 0)
                rc = vr_sim_arrivals(sims[u], &c, n, bp, nb, NULL, &st);
            if (rc == 0)
                rc = vr_sim_commands(sims[u], &c, n, cmds, nc, res);
            if (rc == 0)
                rc = vr_sim_turn(sims[u], &c, n, &st);
            if (rc) {
                fprintf(stderr, "vr-replay: turn %" PRIu64 " universe %u failed: %s\n", n, u, vr_strerror(rc));
                status = 3;
                break;
            }
            hash[u] = vr_arena_hash(arenas[u]);
        }
        if (status)
            break;
        for (uint32_t u = 0; u < nu; u++) /* every universe computed n: now n is committed */
            vr_arena_publish(arenas[u], n, hash[u]);
        ci = cend;
        lh = hashes_of(&ld, n);
        for (uint32_t u = 0; lh && u < nu; u++)
            if (lh->u[u] != hash[u]) {
                printf("divergence at turn %" PRIu64 " universe %u: expected %016" PRIx64 " got %016" PRIx64
                       " (%s line %ld)\n", n, u, lh->u[u], hash[u], log_path, lh->line);
                status = 1;
                break;
            }
        if (!quiet && status == 0)
            printf("turn %" PRIu64 " cluster hash %016" PRIx64 "%s\n", n, vr_cluster_hash(hash, nu),
                   lh ? " ok" : " (not in the log)");
    }
    if (status == 0) {
        printf("final turn %" PRIu64 " cluster hash %016" PRIx64, until, vr_cluster_hash(hash, nu));
        for (uint32_t u = 0; u < nu; u++)
            printf(" u%u %016" PRIx64, u, hash[u]);
        putchar('\n');
    }
    for (size_t i = 0; i < (size_t)nu * nu; i++)
        vr_portal_batch_fini(&batches[i]);
    for (uint32_t u = 0; u < nu; u++) {
        vr_sim_destroy(&sims[u]);
        vr_arena_detach(&arenas[u]);
    }
    logdata_free(&ld);
    free(arenas), free(sims), free(hash), free(batches), free(bp), free(cmds), free(res);
    vr_portal_net_destroy(&net);
    vr_content_destroy(&content);
    vr_snapshot_close(&snap);
    return status;
}
