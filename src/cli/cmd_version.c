/* cmd_version.c — `modex version`. */
#include <stdio.h>
#include "modex/cli.h"
static int cmd_version(int argc, char **argv) {
    (void)argc; (void)argv;
    printf("modex %s\n", MODEX_VERSION);
    return 0;
}
MODEX_COMMAND(version, "print the version", cmd_version)
