/* fuzz_tok.h — loads a tokenizer from a fuzzed file and exercises it: a load must fail with
 * a message naming a file, or give a tokenizer whose encodings hold ids inside the
 * vocabulary and byte ranges inside the text, and whose decoding is safe. */
#ifndef MODEX_FUZZ_TOK_H
#define MODEX_FUZZ_TOK_H
#include "fuzz_common.h"
#include "modex/tokenizer.h"

static int fuzz_tok_check(const char *path, const char *named) {
    Error err = {{0}};
    Tokenizer *t = modex_tok_load(path, &err);
    if (!t) {
        if (!err.msg[0] || (named && !strstr(err.msg, named))) {
            fprintf(stderr, "bad error message: '%s'\n", err.msg);
            abort();
        }
        return 0;
    }
    static const char *texts[] = {
        "Hello world", " The  capital of France is Paris.\n", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac 123 <s></s>[CLS]",
        "don't  \t\r\n x", "\xf0\x9f\x98\x80!", "a", "",
    };
    int nv = modex_tok_vocab_size(t);
    volatile size_t sink = strlen(modex_tok_kind(t));
    for (int i = 0; i < nv && i < 64; i++) { const char *p = modex_tok_piece(t, i); if (p) sink += strlen(p); }
    sink += (size_t)modex_tok_special(t, "bos") + (size_t)modex_tok_special(t, "unk");
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        size_t len = strlen(texts[k]);
        for (int sp = 0; sp < 2; sp++) {
            TokEncoding e = {0};
            Error ee = {{0}};
            if (modex_tok_encode(t, texts[k], len, sp, &e, &ee) != 0) { if (!ee.msg[0]) abort(); continue; }
            for (int i = 0; i < e.n; i++) {
                if (e.ids[i] < 0 || e.ids[i] >= nv) { fprintf(stderr, "id %d outside [0,%d)\n", e.ids[i], nv); abort(); }
                if (!(e.begin[i] == -1 && e.end[i] == -1) &&
                    (e.begin[i] < 0 || e.end[i] < e.begin[i] || (size_t)e.end[i] > len)) {
                    fprintf(stderr, "range [%d,%d) outside the text of %zu bytes\n", e.begin[i], e.end[i], len);
                    abort();
                }
            }
            char *s = modex_tok_decode(t, e.ids, e.n, sp);
            if (s) sink += strlen(s);
            free(s);
            modex_tok_encoding_free(&e);
        }
    }
    (void)sink;
    modex_tok_free(t);
    return 1;
}
#endif
