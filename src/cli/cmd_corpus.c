/* cmd_corpus.c — `modex corpus`: the synthetic multi-task training corpus and its probe set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/train.h"

static void usage(FILE *f) {
    fprintf(f, "usage: modex corpus [--out FILE] [--probe-out FILE.csv] [--seed S] [--lines N]\n"
               "                    [--probe-per-sub K] [--force]\n"
               "Writes a synthetic English corpus (one document per line) whose semantic,\n"
               "knowledge and task sub-functions are known by construction, and a held-out\n"
               "probe CSV (text,function,subfunction,label,span,answer; the answer follows the\n"
               "text with its leading space). Same seed, same bytes. Defaults: --seed 1 --lines 200000\n"
               "--probe-per-sub 60. The judged statements of the probe come in fours over two facts\n"
               "(two true, two with the objects swapped), so that word identity cannot tell true\n"
               "from false; a multiple of 4 keeps every four whole.\n");
}

static int parse_long(const char *opt, const char *v, long lo, long *out) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo) {
        fprintf(stderr, "modex: corpus: %s: '%s' is not a valid value (an integer >= %ld)\n", opt,
                v ? v : "", lo);
        return -1;
    }
    *out = x;
    return 0;
}

static int cmd_corpus(int argc, char **argv) {
    const char *out = NULL, *probe = NULL;
    long seed = 1, lines = 200000, per = 60;
    int force = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        if (!strcmp(a, "--force")) { force = 1; continue; }
        if (!strcmp(a, "--out") && v) { out = v; i++; }
        else if (!strcmp(a, "--probe-out") && v) { probe = v; i++; }
        else if (!strcmp(a, "--seed")) { if (parse_long(a, v, 0, &seed)) return 2; i++; }
        else if (!strcmp(a, "--lines")) { if (parse_long(a, v, 1, &lines)) return 2; i++; }
        else if (!strcmp(a, "--probe-per-sub")) { if (parse_long(a, v, 2, &per) || per > 100000) return 2; i++; }
        else { fprintf(stderr, "modex: corpus: unknown or incomplete option '%s' (see modex corpus --help)\n", a); return 2; }
    }
    if (!out && !probe) {
        fprintf(stderr, "modex: corpus: nothing to write (--out FILE and/or --probe-out FILE.csv)\n");
        return 2;
    }
    Error err;
    if (modex_corpus_write(out, probe, (uint64_t)seed, lines, (int)per, force, &err)) {
        modex_error_print(&err);
        return 2;
    }
    return 0;
}
MODEX_COMMAND(corpus, "write the synthetic multi-task training corpus and probe set", cmd_corpus)
