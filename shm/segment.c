/* segment.c: POSIX shared-memory segments: create, map, validate, list, remove.
 *
 * Segments are created O_EXCL with the caller's mode (0600 by default) so a
 * second coordinator can never silently share a name.  Validation trusts
 * nothing in the segment: every size and version is checked against what was
 * actually mapped, and a mismatch is a return code plus a sentence.
 */
#include "shm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int vr_name_check(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > VR_NAME_MAX)
        return -VR_EBADNAME;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return -VR_EBADNAME;
    }
    return 0;
}

void vr_segname(char *out, size_t len, const char *name, int universe)
{
    if (universe < 0)
        snprintf(out, len, "/vr.%s.cluster", name);
    else
        snprintf(out, len, "/vr.%s.u%d", name, universe);
}

void vr__seghdr_init(vr_seghdr *h, uint64_t magic, uint32_t header_size, uint64_t total,
                     uint64_t cluster_id)
{
    memset(h, 0, sizeof *h);
    h->layout_version = VR_LAYOUT_VERSION;
    h->header_size = header_size;
    h->total_size = total;
    h->schema_hash = vr_schema_hash();
    h->cluster_id = cluster_id;
    h->creator_pid = (int32_t)getpid();
    /* magic last: a reader that sees it sees a complete header */
    atomic_thread_fence(memory_order_release);
    h->magic = magic;
}

int vr__seg_create(vr_mapping *m, const char *segname, uint64_t size, mode_t mode)
{
    memset(m, 0, sizeof *m);
    int fd = shm_open(segname, O_CREAT | O_EXCL | O_RDWR, mode);
    if (fd < 0)
        return -errno;
    /* shm_open applies the umask; the mode asked for is the mode we get */
    if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        close(fd);
        shm_unlink(segname);
        return -e;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        shm_unlink(segname);
        return -e;
    }
    m->base = p;
    m->size = size;
    m->writable = true;
    return 0;
}

static int why_set(char *why, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static int why_set(char *why, size_t len, int rc, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int vr__seg_attach(vr_mapping *m, const char *segname, bool writable, uint64_t magic,
                   uint64_t cluster_id, char *why, size_t whylen)
{
    memset(m, 0, sizeof *m);
    int fd = shm_open(segname, writable ? O_RDWR : O_RDONLY, 0);
    if (fd < 0)
        return why_set(why, whylen, -errno, "%s: shm_open: %s", segname, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return why_set(why, whylen, -e, "%s: fstat: %s", segname, strerror(e));
    }
    size_t size = (size_t)st.st_size;
    if (size < sizeof(vr_seghdr)) {
        close(fd);
        return why_set(why, whylen, -VR_ETRUNCATED, "%s: %zu bytes, shorter than a segment header",
                       segname, size);
    }
    void *p = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return why_set(why, whylen, -e, "%s: mmap %zu bytes: %s", segname, size, strerror(e));
    m->base = p;
    m->size = size;
    m->writable = writable;

    const vr_seghdr *h = p;
    int rc = 0;
    if (h->magic != magic)
        rc = why_set(why, whylen, -VR_EBADMAGIC, "%s: magic %016llx, expected %016llx", segname,
                     (unsigned long long)h->magic, (unsigned long long)magic);
    else if (h->layout_version != VR_LAYOUT_VERSION)
        rc = why_set(why, whylen, -VR_EBADVERSION,
                     "%s: layout version %u, this build reads version %u", segname,
                     h->layout_version, VR_LAYOUT_VERSION);
    else if (h->schema_hash != vr_schema_hash())
        rc = why_set(why, whylen, -VR_EBADSCHEMA, "%s: schema hash %016llx, this build has %016llx",
                     segname, (unsigned long long)h->schema_hash,
                     (unsigned long long)vr_schema_hash());
    else if (h->total_size > size)
        rc = why_set(why, whylen, -VR_ETRUNCATED, "%s: header says %llu bytes, segment has %zu",
                     segname, (unsigned long long)h->total_size, size);
    else if (h->header_size < sizeof(vr_seghdr) || h->header_size > h->total_size)
        rc = why_set(why, whylen, -VR_EBADHEADER, "%s: header size %u out of range", segname,
                     h->header_size);
    else if (cluster_id && h->cluster_id != cluster_id)
        rc = why_set(why, whylen, -VR_EBADHEADER, "%s: cluster id %016llx, expected %016llx",
                     segname, (unsigned long long)h->cluster_id, (unsigned long long)cluster_id);
    if (rc)
        vr__seg_unmap(m);
    return rc;
}

void vr__seg_unmap(vr_mapping *m)
{
    if (m->base)
        munmap(m->base, m->size);
    memset(m, 0, sizeof *m);
}

int vr_shm_list(const char *name, char (*names)[VR_SEGNAME_MAX], int max)
{
    char prefix[VR_SEGNAME_MAX];
    int plen = snprintf(prefix, sizeof prefix, "vr.%s.", name);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, (size_t)plen) != 0)
            continue;
        /* "vr.NAME.cluster" or "vr.NAME.u<digits>" only: never another cluster
         * whose name merely starts with NAME */
        const char *rest = de->d_name + plen;
        bool ours = strcmp(rest, "cluster") == 0;
        if (!ours && rest[0] == 'u' && rest[1]) {
            ours = true;
            for (const char *q = rest + 1; *q; q++)
                ours = ours && *q >= '0' && *q <= '9';
        }
        if (!ours)
            continue;
        if (n < max && strlen(de->d_name) + 2 <= VR_SEGNAME_MAX) {
            names[n][0] = '/';
            memcpy(names[n] + 1, de->d_name, strlen(de->d_name) + 1);
        }
        n++;
    }
    closedir(d);
    return n;
}

int vr_shm_remove_all(const char *name)
{
    char names[256][VR_SEGNAME_MAX];
    int n = vr_shm_list(name, names, 256);
    int removed = 0;
    for (int i = 0; i < n && i < 256; i++)
        if (shm_unlink(names[i]) == 0)
            removed++;
    return n < 0 ? n : removed;
}

int vr_shm_owner(const char *segname, int32_t *pid)
{
    int fd = shm_open(segname, O_RDONLY, 0);
    if (fd < 0)
        return -errno;
    vr_seghdr h;
    ssize_t r = pread(fd, &h, sizeof h, 0);
    close(fd);
    if (r != (ssize_t)sizeof h)
        return -VR_ETRUNCATED;
    if (h.magic != VR_MAGIC_ARENA && h.magic != VR_MAGIC_CLUSTER)
        return -VR_EBADMAGIC;
    *pid = h.creator_pid;
    return 0;
}
