/* vr_schema_main.c: vr-schema, prints the schema as Markdown or its hash. */
#include "vr_schema.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--markdown") == 0) {
        vr_schema_markdown(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--hash") == 0) {
        printf("%016llx\n", (unsigned long long)vr_schema_hash());
        return 0;
    }
    fprintf(stderr, "usage: vr-schema --markdown | --hash\n");
    return 2;
}
