/* cmd_probes.c — `modex probes wordnet -o FILE.csv`: probe sets built from real language data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/cli.h"
#include "modex/error.h"
#include "modex/util.h"
#include "modex/wordnet.h"

static void usage(FILE *f) {
    WordnetOptions d;
    modex_wordnet_options_default(&d);
    fprintf(f,
            "usage: modex probes wordnet -o FILE.csv [options]\n"
            "\n"
            "Builds a probe CSV (text,function,subfunction,label,span,answer,id) from the WordNet 3.0\n"
            "database (Debian: apt-get install wordnet-base):\n"
            "  semantic   one sub-function per word and pair of its senses: the usage examples of\n"
            "             sense A (label 1) and of sense B (label 0); span = the word as written\n"
            "  knowledge  one sub-function per relation (kind_of, instance_of, part_of, member_of,\n"
            "             opposite_of, way_to, entails, causes): a true statement (label 1) and the\n"
            "             same template with a wrong partner of the same category (label 0);\n"
            "             answer = the true partner\n"
            "\n"
            "options:\n"
            "  -o, --output FILE        the CSV to write (required; refused if it exists)\n"
            "  --force                  overwrite an existing FILE\n"
            "  --wordnet-dir DIR        the database folder (default: $WNSEARCHDIR, else %s)\n"
            "  --words W1,W2,...        semantic: only these words (all their sense pairs; the\n"
            "                           knowledge rows stay unless --pairs 0)\n"
            "  --pos noun|verb|adj      semantic: parts of speech, comma-separated (default all three)\n"
            "  --min-examples N         usage examples each sense needs (default %d)\n"
            "  --max-subfunctions N     semantic sub-functions kept, sampled by seed (default %d; 0: none)\n"
            "  --per-word N             sense pairs per word without --words (default %d; 0: any)\n"
            "  --pairs N                knowledge: true statements per relation (default %d; 0: none)\n"
            "  --seed N                 sampling seed (default %llu); same seed, same file\n"
            "  -h, --help               this text\n",
            modex_wordnet_default_dir(), d.min_examples, d.max_subfunctions, d.per_word, d.pairs,
            (unsigned long long)d.seed);
}

static int fail(const char *where, const char *fmt, const char *arg) {
    Error e;
    modex_error(&e, where, fmt, arg);
    modex_error_print(&e);
    return 2;
}

static int parse_count(const char *opt, const char *s, long long max, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > max) return fail(opt, "'%s' is not a count (a whole number, 0 or more)", s);
    *out = v;
    return 0;
}

static int cmd_wordnet(int argc, char **argv) {
    WordnetOptions o;
    modex_wordnet_options_default(&o);
    const char *out = NULL, *dir = NULL;
    int force = 0, rc = 2;
    char **words = NULL, *wordbuf = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (modex_is_help(a)) { usage(stdout); free(words); free(wordbuf); return 0; }
        if (!strcmp(a, "--force")) { force = 1; continue; }
        int takes = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--wordnet-dir") ||
                    !strcmp(a, "--words") || !strcmp(a, "--pos") || !strcmp(a, "--min-examples") ||
                    !strcmp(a, "--max-subfunctions") || !strcmp(a, "--per-word") ||
                    !strcmp(a, "--pairs") || !strcmp(a, "--seed");
        if (!takes) { rc = fail(a, "unknown option (see modex probes wordnet --help)%s", ""); goto done; }
        if (i + 1 >= argc) { rc = fail(a, "needs a value (see modex probes wordnet --help)%s", ""); goto done; }
        const char *v = argv[++i];
        long long n;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
        else if (!strcmp(a, "--wordnet-dir")) dir = v;
        else if (!strcmp(a, "--words")) {
            free(words); free(wordbuf);
            wordbuf = modex_xstrdup(v);
            words = modex_xmalloc((strlen(v) + 1) * sizeof *words);
            o.nwords = 0;
            for (char *t = strtok(wordbuf, ","); t; t = strtok(NULL, ","))
                if (*t) words[o.nwords++] = t;
            if (!o.nwords) { rc = fail(a, "'%s' names no word (a comma-separated list)", v); goto done; }
            o.words = (const char *const *)words;
        } else if (!strcmp(a, "--pos")) {
            o.pos_mask = 0;
            char *buf = modex_xstrdup(v);
            for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                if (!strcmp(t, "noun")) o.pos_mask |= 1u << WN_NOUN;
                else if (!strcmp(t, "verb")) o.pos_mask |= 1u << WN_VERB;
                else if (!strcmp(t, "adj")) o.pos_mask |= 1u << WN_ADJ;
                else { free(buf); rc = fail(a, "'%s' is not a part of speech (noun, verb or adj)", v); goto done; }
            }
            free(buf);
            if (!o.pos_mask) { rc = fail(a, "'%s' is not a part of speech (noun, verb or adj)", v); goto done; }
        } else if (!strcmp(a, "--seed")) {
            if (parse_count(a, v, (long long)9e18, &n)) goto done;
            o.seed = (uint64_t)n;
        } else {
            if (parse_count(a, v, 1000000000LL, &n)) goto done;
            if (!strcmp(a, "--min-examples")) {
                if (n < 1) { rc = fail(a, "'%s' is too small (at least 1)", v); goto done; }
                o.min_examples = (int)n;
            } else if (!strcmp(a, "--max-subfunctions")) o.max_subfunctions = (int)n;
            else if (!strcmp(a, "--per-word")) o.per_word = (int)n;
            else o.pairs = (int)n;
        }
    }
    if (!out) { rc = fail("probes wordnet", "no output file (-o FILE.csv)%s", ""); goto done; }
    Error err = {{0}};
    /* Refuse an existing output before the (seconds-long) build. */
    if (!force && modex_file_exists(out)) {
        rc = fail(out, "already exists (a new name, or --force to overwrite)%s", "");
        goto done;
    }
    Wordnet wn;
    if (modex_wordnet_load(&wn, dir, &err)) { modex_error_print(&err); goto done; }
    WordnetProbe p;
    if (modex_wordnet_probe_build(&wn, &o, &p, &err)) {
        modex_error_print(&err);
        modex_wordnet_free(&wn);
        goto done;
    }
    if (modex_wordnet_probe_write(&p, out, force, &err)) modex_error_print(&err);
    else { modex_wordnet_probe_summary(&p, stderr); rc = 0; }
    modex_wordnet_probe_free(&p);
    modex_wordnet_free(&wn);
done:
    free(words);
    free(wordbuf);
    return rc;
}

static int cmd_probes(int argc, char **argv) {
    if (argc < 2 || modex_is_help(argv[1])) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: modex probes wordnet -o FILE.csv [options]   (see modex probes wordnet --help)\n"
                   "\nsources:\n  wordnet   word senses and lexical relations from WordNet 3.0\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "wordnet")) return cmd_wordnet(argc - 1, argv + 1);
    return fail(argv[1], "unknown probe source (wordnet)%s", "");
}

MODEX_COMMAND(probes, "build probe CSVs from real language data (wordnet)", cmd_probes)
