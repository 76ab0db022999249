/* bench_snapshot.c: vr-bench-snapshot, snapshot write and restore throughput.
 *
 * Builds U arenas (segments "/vr.bsnapPID.uK", unlinked as soon as they are
 * mapped, so none is left behind) whose published buffers hold --mb MiB in
 * total (every row of every column in use: the whole buffer is snapshot
 * data), then measures, in the same run:
 *   - snapshot write: vr_snapshot_write (stream + XXH3 + fsync + rename +
 *     directory fsync) into --dir;
 *   - restore: vr_snapshot_open (map + verify every checksum) and
 *     vr_snapshot_load_arena into fresh arenas (copy + hash check), as
 *     vr-coordinator --restore does;
 * and the floors beside them:
 *   - memcpy bandwidth: the same bytes between two pre-faulted heap
 *     buffers, best of 3;
 *   - disk: write() of the same bytes to a file in --dir, then fsync.
 * The restore reads a file that was just written, so from the page cache:
 * its floor is memcpy (plus one XXH3 pass and the arena hash), not the disk.
 * GB/s are 1e9 bytes per second of snapshot bytes.  It measures, never
 * judges: exit 0 whatever the figures.  1: a call failed; 2: usage.
 */
#include "vr_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_arena(vr_arena **a, uint32_t u, uint32_t rows, int tag)
{
    vr_arena_spec spec = {.universe = u, .seed = 1};
    for (int t = 0; t < VR_NTABLES; t++)
        spec.capacity[t] = 16;
    spec.capacity[VR_TAB_fleets] = rows;
    spec.capacity[VR_TAB_ships] = rows * 4;
    char seg[VR_SEGNAME_MAX];
    snprintf(seg, sizeof seg, "/vr.bsnap%d_%d.u%u", (int)getpid(), tag, u);
    int rc = vr_arena_create(a, seg, &spec, 0600);
    shm_unlink(seg);
    if (rc)
        fprintf(stderr, "vr-bench-snapshot: cannot create arena %s: %s\n", seg, vr_strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    double mb = 512;
    uint32_t nu = 4;
    const char *dir = getenv("VR_RUNDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    static const struct option lo[] = {{"mb", 1, 0, 'm'}, {"universes", 1, 0, 'u'}, {"dir", 1, 0, 'd'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'm': mb = strtod(optarg, NULL); break;
        case 'u': nu = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'd': dir = optarg; break;
        case 'h':
            printf("usage: vr-bench-snapshot [--mb MiB of snapshot data (512)] [--universes U (4)] [--dir DIR]\n");
            return 0;
        default: return 2;
        }
    }
    if (!(mb >= 1 && mb <= 65536) || nu < 1 || nu > 64) {
        fprintf(stderr, "vr-bench-snapshot: --mb 1..65536, --universes 1..64\n");
        return 2;
    }
    /* rows per arena for mb MiB of buffers in total */
    vr_arena_spec s1 = {0}, s2 = {0};
    for (int t = 0; t < VR_NTABLES; t++)
        s1.capacity[t] = s2.capacity[t] = 16;
    s1.capacity[VR_TAB_fleets] = 1000, s1.capacity[VR_TAB_ships] = 4000;
    s2.capacity[VR_TAB_fleets] = 2000, s2.capacity[VR_TAB_ships] = 8000;
    double per_row = (double)(vr_arena_size(&s2) - vr_arena_size(&s1)) / 2.0 / 1000.0; /* one buffer */
    uint32_t rows = (uint32_t)(mb * 1048576.0 / nu / per_row);
    vr_arena **a = calloc(nu, sizeof *a), **b = calloc(nu, sizeof *b);
    uint64_t data = 0;
    for (uint32_t u = 0; u < nu; u++) {
        if (make_arena(&a[u], u, rows, 0))
            return 1;
        vr_arena_prefault(a[u]);
        vr_cols c;
        vr_arena_begin(a[u], &c);
        for (uint32_t t = 0; t < VR_NTABLES; t++) /* every row in use */
            c.tables[t].count = c.tables[t].live = c.capacity[t];
        /* fill the whole buffer after the row counts with non-zero bytes */
        const vr_arena_hdr *h = vr_arena_header(a[u]);
        size_t skip = sizeof(vr_bufhdr) + VR_NTABLES * sizeof(vr_tabstate);
        uint8_t *q = (uint8_t *)vr_arena_base(a[u]) + h->buffer_offset[0] + skip;
        for (size_t i = 0; i < h->buffer_size - skip; i += 8) {
            uint64_t v = (i * 0x9E3779B97F4A7C15ull) ^ u;
            memcpy(q + i, &v, h->buffer_size - skip - i < 8 ? h->buffer_size - skip - i : 8);
        }
        vr_arena_publish(a[u], 100, vr_arena_hash(a[u]));
        data += h->buffer_size;
    }
    printf("# vr-bench-snapshot: %u universes, %.0f MiB of published buffers (%" PRIu64 " bytes), dir %s\n\n", nu,
           (double)data / 1048576.0, data, dir);

    /* floor 1: memcpy */
    uint8_t *src = malloc(data), *dst = malloc(data);
    if (!src || !dst)
        return 1;
    memset(src, 0x5a, data);
    memset(dst, 0xa5, data);
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        double t = now_s();
        memcpy(dst, src, data);
        t = now_s() - t;
        if (t < best)
            best = t;
    }
    double memcpy_gbs = (double)data / best / 1e9;
    free(dst);
    /* floor 1b: memcpy into fresh shared memory (first touch, as a restore's new arenas) */
    uint8_t *fresh = mmap(NULL, data, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (fresh == MAP_FAILED)
        return 1;
    double t_touch = now_s();
    memcpy(fresh, src, data);
    t_touch = now_s() - t_touch;
    munmap(fresh, data);
    /* floor 2: plain write + fsync */
    char path[4096], raw[4096];
    snprintf(raw, sizeof raw, "%s/vr-bench-raw-%d", dir, (int)getpid());
    snprintf(path, sizeof path, "%s/vr-bench-snap-%d.vrsnap", dir, (int)getpid());
    int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "vr-bench-snapshot: %s: %s\n", raw, strerror(errno));
        return 1;
    }
    double t = now_s();
    for (uint64_t off = 0; off < data;) {
        ssize_t w = write(fd, src + off, data - off > (1u << 26) ? (1u << 26) : data - off);
        if (w <= 0)
            return 1;
        off += (uint64_t)w;
    }
    fsync(fd);
    double disk_s = now_s() - t;
    close(fd);
    unlink(raw);
    free(src);

    /* snapshot write */
    vr_snap_info in = {.turn = 100, .seed = 1, .systems = 16, .fleets = rows, .factions = 4, .cluster_name = "bench"};
    char err[1024] = "";
    uint64_t bytes = 0;
    t = now_s();
    int rc = vr_snapshot_write(path, a, nu, &in, &bytes, err, sizeof err);
    double write_s = now_s() - t;
    if (rc) {
        fprintf(stderr, "vr-bench-snapshot: %s\n", err);
        return 1;
    }
    /* restore: open + verify + load into fresh arenas */
    for (uint32_t u = 0; u < nu; u++) {
        if (make_arena(&b[u], u, rows, 1))
            return 1;
        /* not pre-faulted: as in vr-coordinator --restore, the copy is the first touch */
    }
    t = now_s();
    vr_snapshot *s = NULL;
    rc = vr_snapshot_open(&s, path, err, sizeof err);
    double open_s = now_s() - t;
    for (uint32_t u = 0; rc == 0 && u < nu; u++)
        rc = vr_snapshot_load_arena(s, u, b[u], err, sizeof err);
    double restore_s = now_s() - t;
    vr_snapshot_close(&s);
    unlink(path);
    if (rc) {
        fprintf(stderr, "vr-bench-snapshot: %s\n", err);
        return 1;
    }
    printf("| what | seconds | GB/s | floor |\n|---|---:|---:|---|\n");
    printf("| snapshot write (stream + XXH3 + fsync + rename) | %.3f | %.2f | disk write+fsync %.2f GB/s |\n",
           write_s, (double)bytes / write_s / 1e9, (double)data / disk_s / 1e9);
    printf("| restore (map + verify checksums + copy into arenas + hash check) | %.3f | %.2f | memcpy %.2f GB/s, "
           "into fresh shared memory %.2f GB/s |\n", restore_s, (double)bytes / restore_s / 1e9, memcpy_gbs,
           (double)data / t_touch / 1e9);
    printf("| of which open + verify | %.3f | %.2f | |\n", open_s, (double)bytes / open_s / 1e9);
    printf("| floor: memcpy, best of 3 | %.3f | %.2f | |\n", best, memcpy_gbs);
    printf("| floor: memcpy into fresh shared memory (first touch) | %.3f | %.2f | |\n", t_touch,
           (double)data / t_touch / 1e9);
    printf("| floor: write() + fsync of the same bytes | %.3f | %.2f | |\n", disk_s, (double)data / disk_s / 1e9);
    printf("\nsnapshot file: %" PRIu64 " bytes; the restore read it from the page cache.\n", bytes);
    for (uint32_t u = 0; u < nu; u++) {
        vr_arena_detach(&a[u]);
        vr_arena_detach(&b[u]);
    }
    free(a), free(b);
    return 0;
}
