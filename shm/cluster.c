/* cluster.c: the cluster segment, the directory of a running cluster.
 *
 * Layout: vr_cluster_hdr | field directory (vr_fielddesc[nufields]) |
 * vr_urec[nuniverses].  The field directory describes vr_urec (name, numpy
 * type string, offset) so Python builds a structured dtype from it instead of
 * hard-coding the record.  Only the coordinator writes this segment, inside a
 * sequence lock (vr_cluster_write_begin/end) so readers can take a
 * consistent copy of turn, hashes and universe records.
 */
#include "shm_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct vr_cluster {
    vr_mapping m;
    vr_cluster_hdr *h;
};

static const vr_fielddesc ufields[] = {
#define VR_UFIELD_DIR(fname, ctype, dt, arr) {.name = #fname, .dtype = dt, .offset = offsetof(vr_urec, fname)},
    VR_UFIELDS(VR_UFIELD_DIR)
#undef VR_UFIELD_DIR
#define VR_METRIC(mname, doc) {.name = "m_" #mname, .dtype = "<u8", .offset = offsetof(vr_urec, m_##mname)},
#include "metrics.def"
#undef VR_METRIC
};
#define NUFIELDS (sizeof ufields / sizeof ufields[0])

static void layout(uint32_t n, uint64_t *fieldoff, uint64_t *recoff, uint64_t *total)
{
    *fieldoff = VR__ALIGN(sizeof(vr_cluster_hdr), 64);
    *recoff = VR__ALIGN(*fieldoff + NUFIELDS * sizeof(vr_fielddesc), 64);
    *total = VR__ALIGN(*recoff + (uint64_t)n * sizeof(vr_urec), 4096);
}

int vr_cluster_create(vr_cluster **out, const char *name, uint32_t n, uint64_t cluster_id,
                      mode_t mode)
{
    *out = NULL;
    int rc = vr_name_check(name);
    if (rc)
        return rc;
    if (n == 0 || n > 4096)
        return -VR_EBADARG;
    uint64_t fo, ro, total;
    layout(n, &fo, &ro, &total);
    char seg[VR_SEGNAME_MAX];
    vr_segname(seg, sizeof seg, name, -1);
    vr_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    rc = vr__seg_create(&c->m, seg, total, mode);
    if (rc) {
        free(c);
        return rc;
    }
    vr_cluster_hdr *h = c->h = c->m.base;
    snprintf(h->name, sizeof h->name, "%s", name);
    h->nuniverses = n;
    h->coordinator_pid = (int32_t)getpid();
    h->status = VR_CLUSTER_STARTING;
    h->urec_size = sizeof(vr_urec);
    h->urec_offset = ro;
    h->ufield_offset = fo;
    h->nufields = NUFIELDS;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->started_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    memcpy((uint8_t *)c->m.base + fo, ufields, sizeof ufields);
    vr__seghdr_init(&h->seg, VR_MAGIC_CLUSTER, (uint32_t)ro, total, cluster_id);
    *out = c;
    return 0;
}

int vr_cluster_attach(vr_cluster **out, const char *name, bool writable, char *why, size_t whylen)
{
    *out = NULL;
    int rc = vr_name_check(name);
    if (rc) {
        if (why)
            snprintf(why, whylen, "cluster name \"%s\": %s", name, vr_strerror(rc));
        return rc;
    }
    char seg[VR_SEGNAME_MAX];
    vr_segname(seg, sizeof seg, name, -1);
    vr_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    rc = vr__seg_attach(&c->m, seg, writable, VR_MAGIC_CLUSTER, 0, why, whylen);
    if (rc == 0) {
        c->h = c->m.base;
        const vr_cluster_hdr *h = c->h;
        uint64_t fo, ro, total;
        layout(h->nuniverses, &fo, &ro, &total);
        if (c->m.size < sizeof *h || h->nuniverses == 0 || h->nuniverses > 4096 ||
            h->urec_size != sizeof(vr_urec) || h->urec_offset != ro || h->ufield_offset != fo ||
            h->nufields != NUFIELDS || total > h->seg.total_size) {
            rc = -VR_EBADHEADER;
            if (why)
                snprintf(why, whylen, "%s: universe table does not fit the segment", seg);
            vr__seg_unmap(&c->m);
        }
    }
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void vr_cluster_detach(vr_cluster **c)
{
    if (!c || !*c)
        return;
    vr__seg_unmap(&(*c)->m);
    free(*c);
    *c = NULL;
}

vr_cluster_hdr *vr_cluster_header(vr_cluster *c) { return c->h; }

vr_urec *vr_cluster_universe(vr_cluster *c, uint32_t i)
{
    if (i >= c->h->nuniverses)
        return NULL;
    return (vr_urec *)((uint8_t *)c->m.base + c->h->urec_offset) + i;
}

void vr_cluster_write_begin(vr_cluster *c)
{
    uint64_t s = atomic_load_explicit(&c->h->seq, memory_order_relaxed);
    atomic_store_explicit(&c->h->seq, s | 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

void vr_cluster_write_end(vr_cluster *c)
{
    uint64_t s = atomic_load_explicit(&c->h->seq, memory_order_relaxed);
    atomic_store_explicit(&c->h->seq, (s | 1) + 1, memory_order_release);
}

const char *vr_cluster_status_name(uint32_t s)
{
    static const char *names[] = {"none", "starting", "running", "paused", "stopping", "stopped", "failed"};
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *vr_worker_status_name(uint32_t s)
{
    static const char *names[] = {"none", "starting", "ready", "busy", "dead", "hung", "stopped"};
    return s < sizeof names / sizeof names[0] ? names[s] : "?";
}
