/* main.c — the front door: `modex [MODEL [PROBE.csv]]` opens the explorer; `modex COMMAND`. */
#include <stdio.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f, "usage: modex [MODEL [PROBE.csv]]      open the explorer\n"
               "       modex COMMAND [ARGS] [--help]\n"
               "       modex --help | --version\n\ncommands:\n");
    for (int i = 0; i < modex_command_count(); i++) {
        const Command *c = modex_command_at(i);
        if (c->name[0] != '_') fprintf(f, "  %-12s %s\n", c->name, c->summary);
    }
    fprintf(f, "\nSee modex(1) for the explorer's keys and the probe CSV format.\n");
}

int main(int argc, char **argv) {
    if (argc >= 2 && modex_is_help(argv[1])) { usage(stdout); return 0; }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) { printf("modex %s\n", MODEX_VERSION); return 0; }
    if (argc >= 2) {
        const Command *c = modex_find_command(argv[1]);
        if (c) {
            /* no temp file outlives ^C / kill; SIGBUS names the file. The explorer catches
             * SIGINT/SIGTERM/SIGHUP in its loop (ui/app.c) to restore the terminal first. */
            if (strcmp(c->name, "tui") != 0) modex_signals_install();
            return c->fn(argc - 1, argv + 1);
        }
        if (argv[1][0] == '-' && !modex_find_command("tui")) {
            fprintf(stderr, "modex: unknown option '%s' (see modex --help)\n", argv[1]);
            return 2;
        }
    }
    const Command *tui = modex_find_command("tui");
    if (!tui) { usage(stderr); return 2; }
    argv[0] = (char *)"tui";
    return tui->fn(argc, argv);
}
