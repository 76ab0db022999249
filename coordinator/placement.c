/* placement.c: where each universe runs, planned from the hwloc topology.
 *
 * Universes are balanced across NUMA nodes by expected arena size (largest
 * first onto the least loaded node, ties to the lowest node), which is
 * deterministic and needs nothing but the topology, so `vr-coordinator
 * --plan` prints the plan without starting anything.  A topology that is not
 * this machine (synthetic or XML) still gives a plan; binding it is only
 * reported by the workers.
 */
#include "vr_coord.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int vr_topology_load(hwloc_topology_t *topo, const char *spec, char *err, size_t errlen)
{
    if (hwloc_topology_init(topo) < 0) {
        snprintf(err, errlen, "hwloc_topology_init: %s", strerror(errno));
        return -VR_EBADARG;
    }
    if (spec && *spec) {
        size_t n = strlen(spec);
        int rc = n > 4 && strcmp(spec + n - 4, ".xml") == 0 ? hwloc_topology_set_xml(*topo, spec)
                                                            : hwloc_topology_set_synthetic(*topo, spec);
        if (rc < 0) {
            snprintf(err, errlen, "topology \"%s\": neither a readable .xml file nor a valid synthetic "
                     "description (e.g. \"package:2 numa:1 core:4 pu:1\")", spec);
            hwloc_topology_destroy(*topo);
            return -VR_EBADARG;
        }
    }
    if (hwloc_topology_load(*topo) < 0) {
        snprintf(err, errlen, "hwloc_topology_load: %s", strerror(errno));
        hwloc_topology_destroy(*topo);
        return -VR_EBADARG;
    }
    return 0;
}

int vr_plan_make(vr_plan *p, hwloc_topology_t topo, const uint64_t *bytes, uint32_t n,
                 enum vr_pin_mode pin)
{
    memset(p, 0, sizeof *p);
    int nn = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    p->nnodes = nn > 0 ? (uint32_t)nn : 1;
    p->n = n;
    p->thissystem = hwloc_topology_is_thissystem(topo);
    const char *src = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo), "Backend");
    snprintf(p->topology, sizeof p->topology, "%s", src ? src : "unknown");
    p->place = calloc(n ? n : 1, sizeof *p->place);
    p->node_bytes = calloc(p->nnodes, sizeof *p->node_bytes);
    p->node_os = calloc(p->nnodes, sizeof *p->node_os);
    uint32_t *order = calloc(n ? n : 1, sizeof *order);
    uint32_t *node_count = calloc(p->nnodes, sizeof *node_count);
    if (!p->place || !p->node_bytes || !p->node_os || !order || !node_count) {
        free(order), free(node_count);
        vr_plan_fini(p);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    /* stable insertion sort by size, descending */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = order[i], j = i;
        while (j > 0 && bytes[order[j - 1]] < bytes[x])
            order[j] = order[j - 1], j--;
        order[j] = x;
    }
    for (uint32_t k = 0; k < p->nnodes; k++) {
        hwloc_obj_t o = nn > 0 ? hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, k) : NULL;
        p->node_os[k] = o ? o->os_index : 0;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t u = order[k], best = 0;
        for (uint32_t j = 1; j < p->nnodes; j++)
            if (p->node_bytes[j] < p->node_bytes[best])
                best = j;
        p->node_bytes[best] += bytes[u];
        vr_place *pl = &p->place[u];
        pl->universe = u;
        pl->node = (int)p->node_os[best];
        pl->arena_bytes = bytes[u];
        hwloc_obj_t node = nn > 0 ? hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, best) : NULL;
        hwloc_const_cpuset_t set = node ? node->cpuset : hwloc_topology_get_topology_cpuset(topo);
        hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
        int w = pin == VR_PIN_CORE ? hwloc_get_nbobjs_inside_cpuset_by_type(topo, set, unit) : 0;
        if (pin == VR_PIN_CORE && w <= 0) /* no cores in the topology: one PU each */
            unit = HWLOC_OBJ_PU, w = hwloc_get_nbobjs_inside_cpuset_by_type(topo, set, unit);
        if (w > 0) {
            /* the (i mod w)-th core of the node (all its PUs: two hyperthreads
             * of one core are one choice), for the i-th universe placed there */
            hwloc_obj_t c = hwloc_get_obj_inside_cpuset_by_type(topo, set, unit, node_count[best] % (unsigned)w);
            hwloc_bitmap_list_snprintf(pl->cpus, sizeof pl->cpus, c ? c->cpuset : set);
        } else {
            hwloc_bitmap_list_snprintf(pl->cpus, sizeof pl->cpus, set);
        }
        node_count[best]++;
    }
    free(order), free(node_count);
    return 0;
}

void vr_plan_fini(vr_plan *p)
{
    free(p->place), free(p->node_bytes), free(p->node_os);
    memset(p, 0, sizeof *p);
}

void vr_plan_print(const vr_plan *p, FILE *out)
{
    fprintf(out, "placement plan: %u universes on %u NUMA node%s (topology: %s%s)\n", p->n,
            p->nnodes, p->nnodes == 1 ? "" : "s", p->topology,
            p->thissystem ? ", this machine" : ", not this machine: binding will be reported, not applied");
    fprintf(out, "%-9s %-5s %-16s %14s\n", "universe", "node", "cpus", "arena bytes");
    for (uint32_t i = 0; i < p->n; i++)
        fprintf(out, "u%-8u %-5d %-16s %14llu\n", p->place[i].universe, p->place[i].node,
                p->place[i].cpus, (unsigned long long)p->place[i].arena_bytes);
    for (uint32_t k = 0; k < p->nnodes; k++)
        fprintf(out, "node %u: %llu arena bytes\n", p->node_os[k], (unsigned long long)p->node_bytes[k]);
}
