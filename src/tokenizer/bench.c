/* bench.c — the tokenizer's bench row: byte-level BPE (the GPT-2 vocabulary from the fixtures)
 * encoding a few MB of generated English-like text on one thread. One word in eight is
 * a random letter string (rare words, names), so that the word cache does not hide the merge loop. */
#include "modex/bench.h"
#include <stdlib.h>
#include <string.h>
#include "modex/tokenizer.h"
#include "modex/util.h"
#include "tok_internal.h"

static const char *WORDS[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
    "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
    "more", "when", "will", "would", "who", "so", "no", "people", "between", "government", "country",
    "important", "understanding", "neurons", "language", "models", "modularity", "emergent", "because",
    "through", "during", "without", "another", "question", "different", "information", "development",
    "Transformer", "London", "Paris", "January", "research", "university", "however", "children",
};

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

static char *make_text(size_t target, size_t *len) {
    char *b = modex_xmalloc(target + 64);
    size_t n = 0;
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    int in_sentence = 0;
    while (n < target) {
        uint64_t r = rng(&s);
        if (in_sentence) b[n++] = ' ';
        if (r % 8 == 0) { /* a random word */
            int l = 3 + (int)((r >> 8) % 8);
            for (int i = 0; i < l; i++) b[n++] = (char)('a' + (rng(&s) % 26));
        } else {
            const char *w = WORDS[(r >> 8) % (sizeof WORDS / sizeof WORDS[0])];
            size_t l = strlen(w);
            memcpy(b + n, w, l);
            if (!in_sentence && b[n] >= 'a' && b[n] <= 'z') b[n] = (char)(b[n] - 32);
            n += l;
        }
        in_sentence = 1;
        if (r % 97 == 0) { b[n++] = ','; }
        if ((r >> 20) % 13 == 0) { memcpy(b + n, (r >> 30) % 5 ? ". " : ".\n\n", 3); n += 2 + ((r >> 30) % 5 == 0); in_sentence = 0; }
        if ((r >> 40) % 53 == 0) n += (size_t)snprintf(b + n, 16, " %u", (unsigned)(r % 100000));
    }
    b[n] = 0;
    *len = n;
    return b;
}

/* The limit: the GPT-2 pre-tokenizer regex alone (PCRE2 JIT) over the same text, since every
 * byte goes through it before BPE. */
static double regex_scan(const char *text, size_t len) {
    Error err;
    pcre2_code *re = tok_regex(TOK_GPT2_REGEX, strlen(TOK_GPT2_REGEX), &err, "bench");
    if (!re) return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    double t0 = modex_now();
    size_t at = 0, n = 0;
    while (at < len && pcre2_match(re, (PCRE2_SPTR)text, len, at, PCRE2_NO_UTF_CHECK, md, NULL) >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        n++;
    }
    double dt = modex_now() - t0;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return n ? dt : 0;
}

int modex_bench_tokenizer(FILE *out) {
    const char *fx = getenv("FIXTURES");
    char *dir = modex_path_join(fx ? fx : "../shared/fixtures", "tokenizers/gpt2-bpe");
    size_t len;
    char *text = make_text(4u << 20, &len);
    double best = 1e30, lim = 1e30;
    int ntok = 0, rc = 0;
    Error err;
    for (int rep = 0; rep < 3 && rc == 0; rep++) { /* a fresh tokenizer each time: a cold word cache */
        Tokenizer *t = modex_tok_load(dir, &err);
        if (!t) { rc = -1; break; }
        TokEncoding e;
        double t0 = modex_now();
        rc = modex_tok_encode(t, text, len, 0, &e, &err);
        double dt = modex_now() - t0;
        if (rc == 0) { ntok = e.n; modex_tok_encoding_free(&e); }
        if (dt < best) best = dt;
        modex_tok_free(t);
        double r = regex_scan(text, len);
        if (r > 0 && r < lim) lim = r;
    }
    if (rc == 0)
        fprintf(out, "| byte-level BPE encode, GPT-2 vocab, 1 thread (%.1f MB English-like text, %d tokens) | %.1f MB/s "
                     "| GPT-2 pre-tokenizer regex alone %.1f MB/s | %.0f%% |\n",
                (double)len / 1e6, ntok, (double)len / 1e6 / best, (double)len / 1e6 / lim, 100.0 * lim / best);
    else
        fprintf(out, "| byte-level BPE encode, GPT-2 vocab, 1 thread | skipped: %s | | |\n", err.msg);
    free(text);
    free(dir);
    return rc;
}
MODEX_BENCH(tokenizer, modex_bench_tokenizer)
