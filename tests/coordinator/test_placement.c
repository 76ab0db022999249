/* test_placement.c: Check suite for coordinator/placement.c (NUMA placement).
 *
 * The machine this runs on has one NUMA node, so every multi-node case uses
 * an hwloc synthetic topology (and one its XML export), exactly as
 * `vr-coordinator --topology` does.  The plan is checked against what the
 * header promises: largest arena first onto the least loaded node, ties to
 * the lowest node (so equal sizes go round robin and the plan is
 * deterministic), each place's cpus the node's cpuset (VR_PIN_NODE) or one
 * core of it (VR_PIN_CORE), per-node byte totals that add up, and a printout
 * naming every universe and node.  Each topology's expected nodes and cpusets
 * are written out by hand, not derived from hwloc, so a wrong synthetic
 * string or a wrong plan fails loudly.
 */
#include "vr_coord.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Synthetic topologies and what hwloc 2.9 must make of them.  All of these
 * strings give NUMA nodes; the last two are alternative spellings. */
static const struct topo_case {
    const char *spec;
    uint32_t nodes;
    uint32_t cores_per_node;
    const char *cpus[4]; /* cpuset list of each node, by logical index */
} topos[] = {
    {"package:1 numa:1 core:2 pu:1", 1, 2, {"0-1"}},
    {"package:2 numa:1 core:4 pu:1", 2, 4, {"0-3", "4-7"}},
    {"package:4 numa:1 core:2 pu:1", 4, 2, {"0-1", "2-3", "4-5", "6-7"}},
    {"numa:2 core:4 pu:1", 2, 4, {"0-3", "4-7"}},
    {"pack:2 [numa] core:4 pu:1", 2, 4, {"0-3", "4-7"}},
};
#define NTOPOS (int)(sizeof topos / sizeof topos[0])

static hwloc_topology_t load(const char *spec)
{
    hwloc_topology_t t;
    char err[256] = "";
    int rc = vr_topology_load(&t, spec, err, sizeof err);
    ck_assert_msg(rc == 0, "vr_topology_load(\"%s\") = %d: %s", spec ? spec : "(null)", rc, err);
    return t;
}

/* Logical index of the node whose OS index is os, or fails. */
static uint32_t node_index(const vr_plan *p, int os)
{
    for (uint32_t k = 0; k < p->nnodes; k++)
        if ((int)p->node_os[k] == os)
            return k;
    ck_abort_msg("universe placed on node %d, which is not in the plan", os);
    return 0;
}

/* Everything a plan must satisfy whatever the sizes and pin mode. */
static void check_plan_invariants(const vr_plan *p, const uint64_t *sizes, uint32_t n, uint32_t nodes)
{
    ck_assert_uint_eq(p->n, n);
    ck_assert_uint_eq(p->nnodes, nodes);
    ck_assert_ptr_nonnull(p->place);
    ck_assert_ptr_nonnull(p->node_bytes);
    ck_assert_ptr_nonnull(p->node_os);
    uint64_t total = 0, planned = 0, per_node[8] = {0};
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(p->place[i].universe, i);
        ck_assert_uint_eq(p->place[i].arena_bytes, sizes[i]);
        ck_assert_msg(p->place[i].cpus[0] != 0, "u%u has no cpus", i);
        per_node[node_index(p, p->place[i].node)] += sizes[i];
        total += sizes[i];
    }
    for (uint32_t k = 0; k < nodes; k++) {
        ck_assert_uint_eq(p->node_bytes[k], per_node[k]);
        planned += p->node_bytes[k];
        for (uint32_t j = 0; j < k; j++)
            ck_assert_uint_ne(p->node_os[j], p->node_os[k]);
    }
    ck_assert_uint_eq(planned, total);
}

START_TEST(test_synthetic_gives_numa_nodes)
{
    const struct topo_case *tc = &topos[_i];
    hwloc_topology_t t = load(tc->spec);
    ck_assert_msg(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE) == (int)tc->nodes,
                  "\"%s\": %d NUMA nodes, expected %u", tc->spec,
                  hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE), tc->nodes);
    ck_assert_int_eq(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE), (int)(tc->nodes * tc->cores_per_node));
    ck_assert(!hwloc_topology_is_thissystem(t));
    for (uint32_t k = 0; k < tc->nodes; k++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, k);
        char list[64];
        hwloc_bitmap_list_snprintf(list, sizeof list, o->cpuset);
        ck_assert_msg(strcmp(list, tc->cpus[k]) == 0, "\"%s\" node %u: cpus %s, expected %s", tc->spec, k,
                      list, tc->cpus[k]);
    }
    hwloc_topology_destroy(t);
}
END_TEST

/* Equal sizes: round robin from the first node (ties go to the lowest). */
START_TEST(test_equal_sizes_spread_evenly)
{
    const struct topo_case *tc = &topos[_i];
    hwloc_topology_t t = load(tc->spec);
    uint64_t sizes[32];
    for (uint32_t n = 1; n <= 3 * tc->nodes + 1; n++) {
        for (uint32_t i = 0; i < n; i++)
            sizes[i] = 1u << 20;
        vr_plan p;
        ck_assert_int_eq(vr_plan_make(&p, t, sizes, n, VR_PIN_NODE), 0);
        check_plan_invariants(&p, sizes, n, tc->nodes);
        ck_assert(!p.thissystem);
        ck_assert_msg(strstr(p.topology, "Synthetic") != NULL, "topology \"%s\"", p.topology);
        ck_assert_int_eq(p.place[0].node, (int)p.node_os[0]);
        uint32_t count[8] = {0}, lo = UINT32_MAX, hi = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = node_index(&p, p.place[i].node);
            ck_assert_msg(k == i % tc->nodes, "n=%u: u%u on node %u, expected %u", n, i, k, i % tc->nodes);
            ck_assert_str_eq(p.place[i].cpus, tc->cpus[k]);
            count[k]++;
        }
        for (uint32_t k = 0; k < tc->nodes; k++) {
            ck_assert_uint_eq(p.node_os[k], k);
            ck_assert_uint_eq(p.node_bytes[k], (uint64_t)count[k] << 20);
            lo = count[k] < lo ? count[k] : lo;
            hi = count[k] > hi ? count[k] : hi;
        }
        ck_assert_msg(hi - lo <= 1, "n=%u: node counts range from %u to %u", n, lo, hi);
        vr_plan_fini(&p);
    }
    hwloc_topology_destroy(t);
}
END_TEST

/* One big universe and ten small ones on two nodes: the big one is placed
 * first and stays alone; the small ones fill the other node. */
START_TEST(test_unequal_sizes_largest_first)
{
    hwloc_topology_t t = load("package:2 numa:1 core:4 pu:1");
    const uint64_t sizes[] = {100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10};
    const uint32_t n = sizeof sizes / sizeof sizes[0];
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, sizes, n, VR_PIN_NODE), 0);
    check_plan_invariants(&p, sizes, n, 2);
    uint32_t big = node_index(&p, p.place[0].node);
    ck_assert_uint_eq(big, 0);
    for (uint32_t i = 1; i < n; i++)
        ck_assert_msg(node_index(&p, p.place[i].node) != big, "u%u shares the big universe's node", i);
    ck_assert_uint_eq(p.node_bytes[0], 100);
    ck_assert_uint_eq(p.node_bytes[1], 100);
    vr_plan_fini(&p);

    /* The big one last in universe order: placing in order would put it on
     * top of u0 (110 vs 10); largest first keeps it alone (100 vs 20). */
    const uint64_t late[] = {10, 10, 100};
    ck_assert_int_eq(vr_plan_make(&p, t, late, 3, VR_PIN_NODE), 0);
    check_plan_invariants(&p, late, 3, 2);
    ck_assert_int_eq(p.place[2].node, 0);
    ck_assert_int_eq(p.place[0].node, 1);
    ck_assert_int_eq(p.place[1].node, 1);
    ck_assert_uint_eq(p.node_bytes[0], 100);
    ck_assert_uint_eq(p.node_bytes[1], 20);
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}
END_TEST

/* Greedy largest-first on many mixed sizes: node loads differ by at most the
 * largest item, on every topology. */
START_TEST(test_unequal_sizes_balanced)
{
    const struct topo_case *tc = &topos[_i];
    hwloc_topology_t t = load(tc->spec);
    uint64_t sizes[40], x = 0x9E3779B97F4A7C15ull, biggest = 0;
    for (uint32_t i = 0; i < 40; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sizes[i] = (x % 1000 + 1) << 20;
        biggest = sizes[i] > biggest ? sizes[i] : biggest;
    }
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, sizes, 40, VR_PIN_NODE), 0);
    check_plan_invariants(&p, sizes, 40, tc->nodes);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t k = 0; k < p.nnodes; k++) {
        lo = p.node_bytes[k] < lo ? p.node_bytes[k] : lo;
        hi = p.node_bytes[k] > hi ? p.node_bytes[k] : hi;
    }
    ck_assert_msg(hi - lo <= biggest, "node loads %llu..%llu differ by more than the largest item %llu",
                  (unsigned long long)lo, (unsigned long long)hi, (unsigned long long)biggest);
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}
END_TEST

static void assert_plans_equal(const vr_plan *a, const vr_plan *b)
{
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_eq(a->nnodes, b->nnodes);
    ck_assert(a->thissystem == b->thissystem);
    ck_assert_str_eq(a->topology, b->topology);
    for (uint32_t i = 0; i < a->n; i++) {
        ck_assert_uint_eq(a->place[i].universe, b->place[i].universe);
        ck_assert_int_eq(a->place[i].node, b->place[i].node);
        ck_assert_str_eq(a->place[i].cpus, b->place[i].cpus);
        ck_assert_uint_eq(a->place[i].arena_bytes, b->place[i].arena_bytes);
    }
    for (uint32_t k = 0; k < a->nnodes; k++) {
        ck_assert_uint_eq(a->node_bytes[k], b->node_bytes[k]);
        ck_assert_uint_eq(a->node_os[k], b->node_os[k]);
    }
}

/* Same topology string and sizes, loaded and planned twice: same plan. */
START_TEST(test_deterministic)
{
    const struct topo_case *tc = &topos[_i];
    const uint64_t sizes[] = {5, 7, 7, 3, 7, 1, 9, 9, 2, 5, 5, 8};
    const uint32_t n = sizeof sizes / sizeof sizes[0];
    for (int pin = VR_PIN_NODE; pin <= VR_PIN_CORE; pin++) {
        hwloc_topology_t t1 = load(tc->spec), t2 = load(tc->spec);
        vr_plan a, b, c;
        ck_assert_int_eq(vr_plan_make(&a, t1, sizes, n, (enum vr_pin_mode)pin), 0);
        ck_assert_int_eq(vr_plan_make(&b, t2, sizes, n, (enum vr_pin_mode)pin), 0);
        ck_assert_int_eq(vr_plan_make(&c, t1, sizes, n, (enum vr_pin_mode)pin), 0);
        check_plan_invariants(&a, sizes, n, tc->nodes);
        assert_plans_equal(&a, &b);
        assert_plans_equal(&a, &c);
        vr_plan_fini(&a), vr_plan_fini(&b), vr_plan_fini(&c);
        hwloc_topology_destroy(t1), hwloc_topology_destroy(t2);
    }
}
END_TEST

/* VR_PIN_CORE: each universe gets exactly one core's PUs inside its node,
 * distinct cores for the universes of a node while there are enough, and
 * round robin over the node's cores after that. */
static void check_pin_core(const char *spec, uint32_t nodes, uint32_t cores_per_node)
{
    hwloc_topology_t t = load(spec);
    const uint32_t n = 2 * nodes * cores_per_node + 1;
    uint64_t sizes[64];
    for (uint32_t i = 0; i < n; i++)
        sizes[i] = 4096;
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, sizes, n, VR_PIN_CORE), 0);
    check_plan_invariants(&p, sizes, n, nodes);
    uint32_t seen[8] = {0};          /* universes placed so far per node */
    int core_of[8][16];              /* core logical index of the j-th universe of node k */
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = node_index(&p, p.place[i].node);
        ck_assert_msg(hwloc_bitmap_list_sscanf(set, p.place[i].cpus) == 0, "u%u cpus \"%s\"", i, p.place[i].cpus);
        hwloc_obj_t core = hwloc_get_first_largest_obj_inside_cpuset(t, set);
        ck_assert_msg(core && core->type == HWLOC_OBJ_CORE && hwloc_bitmap_isequal(core->cpuset, set),
                      "\"%s\": u%u cpus \"%s\" are not exactly one core", spec, i, p.place[i].cpus);
        hwloc_obj_t node = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, k);
        ck_assert_msg(hwloc_bitmap_isincluded(set, node->cpuset), "u%u cpus \"%s\" outside node %u", i,
                      p.place[i].cpus, k);
        uint32_t j = seen[k]++;
        core_of[k][j] = (int)core->logical_index;
        if (j < cores_per_node) {
            for (uint32_t m = 0; m < j; m++)
                ck_assert_msg(core_of[k][m] != core_of[k][j], "\"%s\": u%u shares core %d on node %u", spec,
                              i, core_of[k][j], k);
        } else {
            ck_assert_int_eq(core_of[k][j], core_of[k][j - cores_per_node]);
        }
    }
    hwloc_bitmap_free(set);
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}

START_TEST(test_pin_core_one_core_each)
{
    check_pin_core(topos[_i].spec, topos[_i].nodes, topos[_i].cores_per_node);
}
END_TEST

/* Two PUs per core: the two universes of a node get two different cores
 * ("0-1" and "2-3"), not the two hyperthreads of core 0. */
START_TEST(test_pin_core_smt)
{
    check_pin_core("package:1 numa:1 core:2 pu:2", 1, 2);
    check_pin_core("package:2 numa:1 core:2 pu:2", 2, 2);
    hwloc_topology_t t = load("package:1 numa:1 core:2 pu:2");
    const uint64_t sizes[] = {1, 1};
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, sizes, 2, VR_PIN_CORE), 0);
    ck_assert_str_eq(p.place[0].cpus, "0-1");
    ck_assert_str_eq(p.place[1].cpus, "2-3");
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}
END_TEST

/* The printout names every universe with its node, cpus and bytes, and every
 * node with its total, in lines a script can read back. */
START_TEST(test_print_names_universes_and_nodes)
{
    const struct topo_case *tc = &topos[_i];
    hwloc_topology_t t = load(tc->spec);
    const uint64_t sizes[] = {300, 100, 200, 100, 50, 400, 100, 100, 250, 10, 20};
    const uint32_t n = sizeof sizes / sizeof sizes[0];
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, sizes, n, VR_PIN_NODE), 0);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(f);
    vr_plan_print(&p, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(strstr(text, "not this machine") != NULL, "%s", text);
    bool seen_u[16] = {false}, seen_node[8] = {false};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned u, k;
        int node;
        char cpus[64];
        unsigned long long bytes;
        if (sscanf(line, "u%u %d %63s %llu", &u, &node, cpus, &bytes) == 4) {
            ck_assert_uint_lt(u, n);
            ck_assert_msg(!seen_u[u], "u%u printed twice", u);
            seen_u[u] = true;
            ck_assert_int_eq(node, p.place[u].node);
            ck_assert_str_eq(cpus, p.place[u].cpus);
            ck_assert_uint_eq(bytes, sizes[u]);
        } else if (sscanf(line, "node %u: %llu", &k, &bytes) == 2) {
            uint32_t idx = node_index(&p, (int)k);
            ck_assert_msg(!seen_node[idx], "node %u printed twice", k);
            seen_node[idx] = true;
            ck_assert_uint_eq(bytes, p.node_bytes[idx]);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        ck_assert_msg(seen_u[i], "u%u missing from the printout", i);
    for (uint32_t k = 0; k < tc->nodes; k++)
        ck_assert_msg(seen_node[k], "node %u missing from the printout", k);
    free(text);
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}
END_TEST

START_TEST(test_bad_topology_spec)
{
    static const char *const bad[] = {"nonsense:7", "package:0 pu:1", "core:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hwloc_topology_t t;
        char err[256] = "";
        ck_assert_int_eq(vr_topology_load(&t, bad[i], err, sizeof err), -VR_EBADARG);
        ck_assert_msg(strstr(err, bad[i]) != NULL, "message does not name \"%s\": %s", bad[i], err);
    }
    /* an .xml path that does not exist */
    char path[64], err[256] = "";
    snprintf(path, sizeof path, "/tmp/vr-test-no-such-%d.xml", (int)getpid());
    hwloc_topology_t t;
    ck_assert_int_eq(vr_topology_load(&t, path, err, sizeof err), -VR_EBADARG);
    ck_assert_msg(err[0] != 0, "no message for a missing XML file");
}
END_TEST

/* Export each synthetic topology to XML, load that file by path and plan on
 * it: same nodes, same cpus, not this machine. */
START_TEST(test_xml_topology)
{
    const struct topo_case *tc = &topos[_i];
    hwloc_topology_t syn = load(tc->spec);
    char path[] = "/tmp/vr-test-topo-XXXXXX.xml";
    int fd = mkstemps(path, 4);
    ck_assert_msg(fd >= 0, "mkstemps: %s", strerror(errno));
    close(fd);
    int xrc = hwloc_topology_export_xml(syn, path, 0);
    hwloc_topology_destroy(syn);
    hwloc_topology_t t;
    char err[256] = "";
    int rc = xrc == 0 ? vr_topology_load(&t, path, err, sizeof err) : -1;
    unlink(path); /* before any assertion can end the test */
    ck_assert_msg(xrc == 0, "hwloc_topology_export_xml(%s) failed", path);
    ck_assert_msg(rc == 0, "vr_topology_load(%s) = %d: %s", path, rc, err);
    ck_assert_int_eq(hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE), (int)tc->nodes);
    const uint64_t sizes[] = {8, 8, 8, 8, 8, 8, 8, 8};
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, sizes, 8, VR_PIN_NODE), 0);
    check_plan_invariants(&p, sizes, 8, tc->nodes);
    ck_assert(!p.thissystem);
    for (uint32_t i = 0; i < 8; i++)
        ck_assert_str_eq(p.place[i].cpus, tc->cpus[i % tc->nodes]);
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}
END_TEST

/* This machine (NULL and ""), with hwloc's own overrides cleared. */
START_TEST(test_real_machine)
{
    unsetenv("HWLOC_SYNTHETIC");
    unsetenv("HWLOC_XMLFILE");
    unsetenv("HWLOC_THISSYSTEM");
    static const char *const specs[] = {NULL, ""};
    for (int s = 0; s < 2; s++) {
        hwloc_topology_t t = load(specs[s]);
        const uint64_t sizes[] = {3, 2, 1};
        vr_plan p;
        ck_assert_int_eq(vr_plan_make(&p, t, sizes, 3, VR_PIN_NODE), 0);
        ck_assert_uint_ge(p.nnodes, 1);
        check_plan_invariants(&p, sizes, 3, p.nnodes);
        ck_assert(p.thissystem);
        vr_plan_fini(&p);
        ck_assert_int_eq(vr_plan_make(&p, t, sizes, 3, VR_PIN_CORE), 0);
        for (uint32_t i = 0; i < 3; i++)
            ck_assert_msg(p.place[i].cpus[0] != 0, "u%u has no cpus", i);
        vr_plan_fini(&p);
        hwloc_topology_destroy(t);
    }
}
END_TEST

/* No universes: a valid empty plan; fini leaves a zeroed struct and may be
 * called again. */
START_TEST(test_zero_universes_and_fini)
{
    hwloc_topology_t t = load("package:2 numa:1 core:4 pu:1");
    vr_plan p;
    ck_assert_int_eq(vr_plan_make(&p, t, NULL, 0, VR_PIN_NODE), 0);
    ck_assert_uint_eq(p.n, 0);
    ck_assert_uint_eq(p.nnodes, 2);
    ck_assert_uint_eq(p.node_bytes[0] + p.node_bytes[1], 0);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    vr_plan_print(&p, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "0 universes"));
    free(text);
    vr_plan_fini(&p);
    ck_assert_ptr_null(p.place);
    ck_assert_ptr_null(p.node_bytes);
    ck_assert_ptr_null(p.node_os);
    ck_assert_uint_eq(p.n, 0);
    vr_plan_fini(&p);
    hwloc_topology_destroy(t);
}
END_TEST

static Suite *placement_suite(void)
{
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("topology");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_synthetic_gives_numa_nodes, 0, NTOPOS);
    tcase_add_test(tc, test_bad_topology_spec);
    tcase_add_loop_test(tc, test_xml_topology, 0, NTOPOS);
    tcase_add_test(tc, test_real_machine);
    suite_add_tcase(s, tc);

    tc = tcase_create("plan");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_equal_sizes_spread_evenly, 0, NTOPOS);
    tcase_add_test(tc, test_unequal_sizes_largest_first);
    tcase_add_loop_test(tc, test_unequal_sizes_balanced, 0, NTOPOS);
    tcase_add_loop_test(tc, test_deterministic, 0, NTOPOS);
    tcase_add_loop_test(tc, test_pin_core_one_core_each, 0, NTOPOS);
    tcase_add_test(tc, test_pin_core_smt);
    tcase_add_test(tc, test_zero_universes_and_fini);
    suite_add_tcase(s, tc);

    tc = tcase_create("print");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_print_names_universes_and_nodes, 0, NTOPOS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(placement_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
