/* fuzz_wordnet.c — libFuzzer harness for the WordNet database files (wndb(5WN)). The input
 * is the twelve files separated by NUL bytes, in the order data.{noun,verb,adj,adv},
 * index.{...}, {...}.exc (missing ones are empty). A load fails with "FILE..." naming a file
 * of the folder, or gives a database whose lookups and probe-set build run clean. */
#include "fuzz_common.h"
#include "modex/wordnet.h"

static int fuzz_wordnet(const uint8_t *d, size_t n) {
    static const char *names[12] = {"data.noun", "data.verb", "data.adj", "data.adv",
                                    "index.noun", "index.verb", "index.adj", "index.adv",
                                    "noun.exc", "verb.exc", "adj.exc", "adv.exc"};
    size_t at = 0;
    for (int i = 0; i < 12; i++) {
        const uint8_t *z = at < n ? memchr(d + at, 0, n - at) : NULL;
        size_t len = at < n ? (z ? (size_t)(z - (d + at)) : n - at) : 0;
        fuzz_write(names[i], at < n ? d + at : d, len, 0);
        at = z ? (size_t)(z - d) + 1 : n;
    }
    Wordnet wn;
    Error err = {{0}};
    if (modex_wordnet_load(&wn, fuzz_folder(), &err) != 0) {
        if (!strstr(err.msg, fuzz_folder())) { fprintf(stderr, "bad error message: '%s'\n", err.msg); abort(); }
        return 0;
    }
    volatile size_t sink = 0;
    static const char *words[] = {"dog", "bark", "quick", "bank", "dogs", "barked", "quicker", "x"};
    for (int p = 0; p < WN_NPOS; p++) {
        const WordnetPosData *pd = &wn.pos[p];
        for (int i = 0; i < pd->nlemmas && i < 32; i++) {
            const WordnetLemma *l = modex_wordnet_lemma(&wn, (WordnetPos)p, pd->lemmas[i].lemma);
            if (!l) abort();
            sink += l->nsenses;
        }
        for (int i = 0; i < pd->nsynsets && i < 32; i++)
            if (modex_wordnet_synset(&wn, (WordnetPos)p, pd->synsets[i].offset) != &pd->synsets[i]) abort();
        for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
            size_t len;
            const char *text = "The dogs barked at the quicker bank, quickly.";
            const char *f = modex_wordnet_find(&wn, (WordnetPos)p, text, "dog", &len);
            if (f && (f < text || f + len > text + strlen(text))) abort();
            sink += (size_t)modex_wordnet_is_form(&wn, (WordnetPos)p, words[k], strlen(words[k]), "dog", 3);
        }
    }
    WordnetOptions o;
    modex_wordnet_options_default(&o);
    o.min_examples = 1;
    o.max_subfunctions = 8;
    o.pairs = 4;
    WordnetProbe pr;
    if (modex_wordnet_probe_build(&wn, &o, &pr, &err) == 0) {
        FILE *f = fopen("/dev/null", "w");
        if (f) { modex_wordnet_probe_fwrite(&pr, f); fclose(f); }
        for (int i = 0; i < pr.nrows; i++) sink += strlen(pr.rows[i].text);
        modex_wordnet_probe_free(&pr);
    }
    (void)sink;
    modex_wordnet_free(&wn);
    return 1;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { fuzz_wordnet(d, n); return 0; }
#endif
