/* shm_internal.h: helpers shared by the files of shm/ only. */
#ifndef VR_SHM_INTERNAL_H
#define VR_SHM_INTERNAL_H

#include "vr_shm.h"

/* A mapped segment. */
typedef struct vr_mapping {
    void *base;
    size_t size;
    bool writable;
} vr_mapping;

/* shm_open(O_CREAT|O_EXCL) + ftruncate + mmap read-write.  0 or -errno. */
int vr__seg_create(vr_mapping *m, const char *segname, uint64_t size, mode_t mode);

/* Opens and maps an existing segment, then validates its common header
 * against `magic` and the sizes.  0 or a negative code; `why` explains. */
int vr__seg_attach(vr_mapping *m, const char *segname, bool writable, uint64_t magic,
                   uint64_t cluster_id, char *why, size_t whylen);

void vr__seg_unmap(vr_mapping *m);

/* Fills the common header of a freshly created segment. */
void vr__seghdr_init(vr_seghdr *h, uint64_t magic, uint32_t header_size, uint64_t total,
                     uint64_t cluster_id);

#define VR__ALIGN(x, a) (((x) + (a) - 1) / (a) * (a))

#endif
