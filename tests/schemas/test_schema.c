/* test_schema.c: Check suite for schemas/schema.c.
 *
 * The tables generated from components.def and errors.def must be complete
 * and self-consistent, because the arena's column directory, the Python
 * bridge and the docs are all derived from them: every column belongs to a
 * table, every table has its implicit _gen/_free columns where VR_COL_GEN/
 * VR_COL_FREE say, name lookups find exactly what is declared, and the
 * Markdown output documents every column.  vr_name_put, the writer of the
 * fixed-width name columns, pads with NUL, never writes past the width and
 * cuts a long name only between UTF-8 characters.
 */
#include "vr_schema.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Size in bytes named by a numpy type string such as "<f4" or "|S64". */
static unsigned dtype_size(const char *dt) { return (unsigned)atoi(dt + 2); }

/* ---- hash ------------------------------------------------------------------ */

START_TEST(test_hash_nonzero_and_stable)
{
    /* Computed in two processes, each starting with an empty cache (the
     * runner never computes the hash, and the fork comes first), it is the
     * same value. */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint64_t x = vr_schema_hash();
        ssize_t w = write(fds[1], &x, sizeof x);
        _exit(w == (ssize_t)sizeof x ? 0 : 1);
    }
    close(fds[1]);
    uint64_t h = vr_schema_hash();
    ck_assert_uint_ne(h, 0);
    ck_assert_uint_eq(vr_schema_hash(), h);
    uint64_t other = 0;
    ck_assert_int_eq(read(fds[0], &other, sizeof other), (ssize_t)sizeof other);
    close(fds[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_uint_eq(other, h);
}
END_TEST

/* ---- tables and columns ------------------------------------------------------ */

START_TEST(test_tables)
{
    ck_assert_int_ge(VR_NTABLES, 1);
    ck_assert_str_eq(vr_tables[VR_TAB_systems].name, "systems");
    ck_assert_str_eq(vr_tables[VR_TAB_lanes].name, "lanes");
    ck_assert_str_eq(vr_tables[VR_TAB_fleets].name, "fleets");
    for (int t = 0; t < VR_NTABLES; t++) {
        ck_assert_ptr_nonnull(vr_tables[t].name);
        ck_assert_ptr_nonnull(vr_tables[t].doc);
        ck_assert_uint_gt(strlen(vr_tables[t].name), 0);
        ck_assert_uint_lt(strlen(vr_tables[t].name), 24); /* fits vr_tabledesc.name */
        ck_assert_uint_gt(strlen(vr_tables[t].doc), 0);
        for (int u = 0; u < t; u++)
            ck_assert_str_ne(vr_tables[t].name, vr_tables[u].name);
    }
}
END_TEST

START_TEST(test_declared_columns)
{
    ck_assert_int_eq(VR_NCOLUMNS, VR_NCOLUMNS_DECLARED + 2 * VR_NTABLES);
    int per_table[VR_NTABLES] = {0};
    uint32_t last_table = 0;
    for (int c = 0; c < VR_NCOLUMNS_DECLARED; c++) {
        const vr_column_def *d = &vr_columns[c];
        ck_assert_ptr_nonnull(d->name);
        ck_assert_ptr_nonnull(d->doc);
        ck_assert_ptr_nonnull(d->dtype);
        ck_assert_msg(d->table < VR_NTABLES, "column %d: table %u", c, d->table);
        /* declared columns come grouped by table, in table order */
        ck_assert_uint_ge(d->table, last_table);
        last_table = d->table;
        per_table[d->table]++;
        ck_assert_uint_gt(strlen(d->name), 0);
        ck_assert_uint_lt(strlen(d->name), 24); /* fits vr_coldesc.name */
        ck_assert_msg(d->name[0] != '_', "%s: a leading _ is reserved for implicit columns", d->name);
        ck_assert_uint_lt(strlen(d->dtype), 8); /* fits vr_coldesc.dtype */
        ck_assert_msg(d->dtype[0] == '<' || d->dtype[0] == '|', "%s: dtype %s", d->name, d->dtype);
        ck_assert_msg(strchr("fiu", d->dtype[1]) != NULL, "%s: dtype %s", d->name, d->dtype);
        ck_assert_uint_eq(dtype_size(d->dtype), d->elem_size);
        ck_assert_uint_ge(d->lanes, 1);
        ck_assert_uint_gt(strlen(d->doc), 0);
        for (int e = 0; e < c; e++)
            if (vr_columns[e].table == d->table)
                ck_assert_str_ne(vr_columns[e].name, d->name);
    }
    for (int t = 0; t < VR_NTABLES; t++)
        ck_assert_msg(per_table[t] > 0, "table %s has no declared column", vr_tables[t].name);

    /* the enum names the row of vr_columns that describes that column */
    ck_assert_str_eq(vr_columns[VR_COL_systems_x].name, "x");
    ck_assert_uint_eq(vr_columns[VR_COL_systems_x].table, VR_TAB_systems);
    ck_assert_str_eq(vr_columns[VR_COL_systems_owner].dtype, "<u2");
    ck_assert_str_eq(vr_columns[VR_COL_lanes_length].name, "length");
    ck_assert_uint_eq(vr_columns[VR_COL_lanes_length].table, VR_TAB_lanes);
    ck_assert_str_eq(vr_columns[VR_COL_fleets_speed].name, "speed");
    ck_assert_str_eq(vr_columns[VR_COL_fleets_speed].dtype, "<f4");
    ck_assert_uint_eq(vr_columns[VR_COL_fleets_speed].elem_size, sizeof(float));
    ck_assert_uint_eq(vr_columns[VR_COL_fleets_speed].table, VR_TAB_fleets);
    ck_assert_str_eq(vr_columns[VR_COL_fleets_faction].dtype, "<u2");
    ck_assert_uint_eq(vr_columns[VR_COL_fleets_faction].elem_size, 2);
}
END_TEST

START_TEST(test_implicit_columns)
{
    for (int t = 0; t < VR_NTABLES; t++) {
        const vr_column_def *g = &vr_columns[VR_COL_GEN(t)];
        const vr_column_def *f = &vr_columns[VR_COL_FREE(t)];
        ck_assert_int_lt(VR_COL_FREE(t), VR_NCOLUMNS);
        ck_assert_int_ge(VR_COL_GEN(t), VR_NCOLUMNS_DECLARED);
        ck_assert_str_eq(g->name, "_gen");
        ck_assert_str_eq(f->name, "_free");
        ck_assert_uint_eq(g->table, (uint32_t)t);
        ck_assert_uint_eq(f->table, (uint32_t)t);
        ck_assert_str_eq(g->dtype, "<u4");
        ck_assert_str_eq(f->dtype, "<u4");
        ck_assert_uint_eq(g->elem_size, 4);
        ck_assert_uint_eq(f->elem_size, 4);
        ck_assert_uint_eq(g->lanes, 1);
        ck_assert_uint_eq(f->lanes, 1);
        ck_assert_ptr_nonnull(g->doc);
        ck_assert_ptr_nonnull(f->doc);
    }
    /* and nothing else after the declared columns */
    int implicit = 0;
    for (int c = VR_NCOLUMNS_DECLARED; c < VR_NCOLUMNS; c++)
        implicit += vr_columns[c].name[0] == '_';
    ck_assert_int_eq(implicit, 2 * VR_NTABLES);
}
END_TEST

START_TEST(test_lookup_tables)
{
    for (int t = 0; t < VR_NTABLES; t++)
        ck_assert_int_eq(vr_schema_table(vr_tables[t].name), t);
    ck_assert_int_eq(vr_schema_table("fleets"), VR_TAB_fleets);
    ck_assert_int_eq(vr_schema_table("nope"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_table(""), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_table("Fleets"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_table("fleet"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_table("fleetsx"), -VR_ENOTFOUND);
}
END_TEST

START_TEST(test_lookup_columns)
{
    for (int c = 0; c < VR_NCOLUMNS; c++)
        ck_assert_int_eq(vr_schema_column((int)vr_columns[c].table, vr_columns[c].name), c);
    ck_assert_int_eq(vr_schema_column(VR_TAB_fleets, "speed"), VR_COL_fleets_speed);
    ck_assert_int_eq(vr_schema_column(VR_TAB_lanes, "from"), VR_COL_lanes_from);
    ck_assert_int_eq(vr_schema_column(VR_TAB_lanes, "_gen"), VR_COL_GEN(VR_TAB_lanes));
    ck_assert_int_eq(vr_schema_column(VR_TAB_fleets, "_free"), VR_COL_FREE(VR_TAB_fleets));
    /* a column of another table is not found */
    ck_assert_int_eq(vr_schema_column(VR_TAB_systems, "speed"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_column(VR_TAB_fleets, "x"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_column(VR_TAB_fleets, "nope"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_column(VR_TAB_fleets, ""), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_column(-1, "speed"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_column(VR_NTABLES, "speed"), -VR_ENOTFOUND);
    ck_assert_int_eq(vr_schema_column(VR_NTABLES, "_gen"), -VR_ENOTFOUND);
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

static const struct {
    int value;
    const char *msg;
} errors[] = {
#define VR_ERR(name, value, msg) {VR_E##name, msg},
#include "errors.def"
#undef VR_ERR
};
#define NERRORS (int)(sizeof errors / sizeof errors[0])

START_TEST(test_strerror_project_codes)
{
    ck_assert_int_ge(NERRORS, 17);
    for (int i = 0; i < NERRORS; i++) {
        const char *s = vr_strerror(-errors[i].value);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, errors[i].msg);
        ck_assert_uint_gt(strlen(s), 0);
        /* a positive code names the same error */
        ck_assert_str_eq(vr_strerror(errors[i].value), s);
        /* project codes never collide with errno values or each other */
        ck_assert_int_ge(errors[i].value, 1000);
        for (int j = 0; j < i; j++) {
            ck_assert_int_ne(errors[i].value, errors[j].value);
            ck_assert_str_ne(errors[i].msg, errors[j].msg);
        }
    }
    ck_assert_str_eq(vr_strerror(-VR_ETORN), "the turn being read was overwritten by the writer");
}
END_TEST

START_TEST(test_strerror_errno)
{
    static const int codes[] = {ENOENT, EEXIST, ENOSPC, EROFS, ENOMEM, EACCES, EINVAL};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char want[256];
        snprintf(want, sizeof want, "%s", strerror(codes[i]));
        ck_assert_str_eq(vr_strerror(-codes[i]), want);
    }
    /* unknown codes still give a string */
    const char *s = vr_strerror(-999999);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_gt(strlen(s), 0);
    ck_assert_ptr_nonnull(vr_strerror(0));
}
END_TEST

/* ---- messages ------------------------------------------------------------------ */

START_TEST(test_msg_names)
{
    ck_assert_str_eq(vr_msg_name(VR_MSG_HELLO), "HELLO");
    ck_assert_str_eq(vr_msg_name(VR_MSG_TURN), "TURN");
    ck_assert_str_eq(vr_msg_name(VR_MSG_DONE), "DONE");
    ck_assert_str_eq(vr_msg_name(VR_MSG_COMMIT), "COMMIT");
    ck_assert_str_eq(vr_msg_name(VR_MSG_STOP), "STOP");
    ck_assert_str_eq(vr_msg_name(VR_MSG_FAIL), "FAIL");
    ck_assert_str_eq(vr_msg_name(VR_MSG_PING), "PING");
    ck_assert_str_eq(vr_msg_name(VR_MSG_PONG), "PONG");
    ck_assert_str_eq(vr_msg_name(0), "?");
    ck_assert_str_eq(vr_msg_name(99), "?");
    ck_assert_str_eq(vr_msg_name(-1), "?");
}
END_TEST

/* ---- name columns ---------------------------------------------------------------- */

/* vr_name_put into the middle of a 0xEE-filled buffer: returns what it kept
 * and checks that nothing outside dst[0 .. width) was touched. */
static size_t put(uint8_t *buf, size_t width, const char *src)
{
    memset(buf, 0xEE, 96);
    size_t kept = vr_name_put(buf + 16, width, src);
    for (size_t i = 0; i < 16; i++)
        ck_assert_uint_eq(buf[i], 0xEE);
    for (size_t i = 16 + width; i < 96; i++)
        ck_assert_msg(buf[i] == 0xEE, "byte %zu after a name of width %zu was written", i - 16, width);
    return kept;
}

START_TEST(test_name_put)
{
    uint8_t buf[96];
    uint8_t *d = buf + 16;
    /* fits: the name, then NUL padding to the width */
    ck_assert_uint_eq(put(buf, 48, "Templars_of_the_Flux"), 20);
    ck_assert_mem_eq(d, "Templars_of_the_Flux", 20);
    for (size_t i = 20; i < 48; i++)
        ck_assert_uint_eq(d[i], 0);
    /* exactly the width: no NUL at all */
    ck_assert_uint_eq(put(buf, 8, "abcdefgh"), 8);
    ck_assert_mem_eq(d, "abcdefgh", 8);
    /* longer ASCII: cut at the width */
    ck_assert_uint_eq(put(buf, 8, "abcdefghij"), 8);
    ck_assert_mem_eq(d, "abcdefgh", 8);
    /* empty, NULL, width 0 */
    ck_assert_uint_eq(put(buf, 4, ""), 0);
    ck_assert_mem_eq(d, "\0\0\0\0", 4);
    ck_assert_uint_eq(put(buf, 4, NULL), 0);
    ck_assert_mem_eq(d, "\0\0\0\0", 4);
    ck_assert_uint_eq(put(buf, 0, "abc"), 0);
}
END_TEST

START_TEST(test_name_put_utf8_boundary)
{
    uint8_t buf[96];
    uint8_t *d = buf + 16;
    /* "a" + U+00C6 (2 bytes) + U+03A9 (2 bytes) + U+1F680 (4 bytes) = 9 bytes */
    const char *s = "a\xc3\x86\xce\xa9\xf0\x9f\x9a\x80";
    ck_assert_uint_eq(strlen(s), 9);
    /* expected kept bytes for every width: never in the middle of a character */
    static const size_t kept[] = {0, 1, 1, 3, 3, 5, 5, 5, 5, 9, 9};
    for (size_t w = 0; w < sizeof kept / sizeof kept[0]; w++) {
        ck_assert_msg(put(buf, w, s) == kept[w], "width %zu: kept %zu, expected %zu", w,
                      vr_name_put(d, w, s), kept[w]);
        ck_assert_mem_eq(d, s, kept[w]);
        for (size_t i = kept[w]; i < w; i++)
            ck_assert_uint_eq(d[i], 0);
    }
    /* a name of 3-byte characters cut at 48 bytes keeps 16 of them */
    char long_name[3 * 20 + 1];
    for (int i = 0; i < 20; i++)
        memcpy(long_name + 3 * i, "\xe2\x82\xac", 3); /* U+20AC */
    long_name[60] = '\0';
    ck_assert_uint_eq(put(buf, 47, long_name), 45);
    ck_assert_uint_eq(d[45], 0);
    ck_assert_uint_eq(d[46], 0);
    ck_assert_uint_eq(put(buf, 48, long_name), 48);
}
END_TEST

/* ---- markdown ------------------------------------------------------------------ */

START_TEST(test_markdown)
{
    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    ck_assert_ptr_nonnull(f);
    vr_schema_markdown(f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_eq(strlen(doc), len);

    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)vr_schema_hash());
    ck_assert_msg(strstr(doc, hash) != NULL, "markdown does not show the schema hash %s", hash);

    /* every column is listed in the section of its own table */
    for (int t = 0; t < VR_NTABLES; t++) {
        char head[64];
        snprintf(head, sizeof head, "## `%s`", vr_tables[t].name);
        const char *sec = strstr(doc, head);
        ck_assert_msg(sec != NULL, "no section for table %s", vr_tables[t].name);
        const char *end = strstr(sec + strlen(head), "\n## ");
        size_t seclen = end ? (size_t)(end - sec) : strlen(sec);
        char *copy = strndup(sec, seclen);
        ck_assert_ptr_nonnull(copy);
        int found = 0;
        for (int c = 0; c < VR_NCOLUMNS; c++) {
            if ((int)vr_columns[c].table != t)
                continue;
            char cell[64];
            snprintf(cell, sizeof cell, "| `%s` | `%s` |", vr_columns[c].name, vr_columns[c].dtype);
            ck_assert_msg(strstr(copy, cell) != NULL, "table %s: no row \"%s\"", vr_tables[t].name,
                          cell);
            found++;
        }
        ck_assert_int_ge(found, 3);
        free(copy);
    }
    /* and every message type */
    static const char *msgs[] = {"HELLO", "TURN", "DONE", "COMMIT", "STOP", "FAIL", "PING", "PONG"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char cell[32];
        snprintf(cell, sizeof cell, "| %s |", msgs[i]);
        ck_assert_msg(strstr(doc, cell) != NULL, "message %s missing", msgs[i]);
    }
    free(doc);
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("hash");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_hash_nonzero_and_stable);
    suite_add_tcase(s, tc);

    tc = tcase_create("tables");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_declared_columns);
    tcase_add_test(tc, test_implicit_columns);
    tcase_add_test(tc, test_lookup_tables);
    tcase_add_test(tc, test_lookup_columns);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_strerror_project_codes);
    tcase_add_test(tc, test_strerror_errno);
    tcase_add_test(tc, test_msg_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("names");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_name_put);
    tcase_add_test(tc, test_name_put_utf8_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("markdown");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_markdown);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(schema_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
