/* test_tokenizer.c — every line of every fixture encodings.jsonl reproduced exactly (GPT-2
 * vocab.json+merges.txt, Llama tokenizer.model and vocab.gguf, byte-level BPE, WordPiece and
 * Unigram tokenizer.json), decoding round trips, offsets, special ids, thread safety, and the
 * one-line errors for broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/tokenizer.h"
#include "modex/util.h"

static char fixtures[1024];
static char tmpdir[256];

static const char *fx(const char *rel) {
    static char p[4][1200];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", fixtures, rel);
    return p[k];
}

static const char *tmp(const char *name) {
    static char p[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

// --- fixture lines -----------------------------------------------------------------------------
typedef struct Line { char *text; size_t len; int32_t *ids; int n; } Line;

static int read_lines(const char *path, Line **out) {
    char *all = modex_read_text(path, NULL, NULL);
    assert_non_null(all);
    int n = 0, cap = 0;
    Line *v = NULL;
    for (char *p = strtok(all, "\n"); p; p = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(p, 0, &je);
        assert_non_null(o);
        const json_t *tx = json_object_get(o, "text"), *ids = json_object_get(o, "ids");
        assert_true(json_is_string(tx) && json_is_array(ids));
        if (n == cap) { cap = cap ? 2 * cap : 32; v = realloc(v, (size_t)cap * sizeof *v); }
        v[n].len = json_string_length(tx);
        v[n].text = malloc(v[n].len + 1);
        memcpy(v[n].text, json_string_value(tx), v[n].len + 1);
        v[n].n = (int)json_array_size(ids);
        v[n].ids = malloc(sizeof(int32_t) * (size_t)(v[n].n + 1));
        for (int i = 0; i < v[n].n; i++) v[n].ids[i] = (int32_t)json_integer_value(json_array_get(ids, (size_t)i));
        json_decref(o);
        n++;
    }
    free(all);
    *out = v;
    return n;
}

static void free_lines(Line *v, int n) {
    for (int i = 0; i < n; i++) { free(v[i].text); free(v[i].ids); }
    free(v);
}

/* Encodes every fixture line with add_special and compares all ids; checks the offsets. Returns
 * the number of lines. */
static int check_fixture(const Tokenizer *t, const char *jsonl, int add_special) {
    Line *v;
    int n = read_lines(jsonl, &v);
    assert_true(n >= 10);
    int mismatches = 0;
    for (int i = 0; i < n; i++) {
        TokEncoding e;
        Error err;
        assert_int_equal(modex_tok_encode(t, v[i].text, v[i].len, add_special, &e, &err), 0);
        int same = e.n == v[i].n && memcmp(e.ids, v[i].ids, sizeof(int32_t) * (size_t)e.n) == 0;
        if (!same) {
            mismatches++;
            printf("  %s line %d %s: got", jsonl, i + 1, v[i].text);
            for (int k = 0; k < e.n; k++) printf(" %d", e.ids[k]);
            printf("\n");
        }
        int32_t last = 0;
        for (int k = 0; k < e.n; k++) {
            if (e.begin[k] < 0) { assert_int_equal(e.end[k], -1); continue; }
            assert_true(e.begin[k] >= last || e.begin[k] >= e.begin[k > 0 ? k - 1 : 0]);
            assert_true(e.begin[k] <= e.end[k] && (size_t)e.end[k] <= v[i].len);
            last = e.begin[k];
        }
        modex_tok_encoding_free(&e);
    }
    free_lines(v, n);
    assert_int_equal(mismatches, 0);
    return n;
}

/* Decoding each fixture encoding gives back the text (lines listed in skip excepted). */
static void check_roundtrip(const Tokenizer *t, const char *jsonl, int (*lossy)(const char *)) {
    Line *v;
    int n = read_lines(jsonl, &v), checked = 0;
    for (int i = 0; i < n; i++) {
        if (lossy && lossy(v[i].text)) continue;
        char *s = modex_tok_decode(t, v[i].ids, v[i].n, 1);
        if (strcmp(s, v[i].text) != 0) printf("  decode line %d: got '%s' want '%s'\n", i + 1, s, v[i].text);
        assert_string_equal(s, v[i].text);
        free(s);
        checked++;
    }
    assert_true(checked >= n - 2);
    free_lines(v, n);
}

static Tokenizer *load_ok(const char *path) {
    Error err;
    Tokenizer *t = modex_tok_load(path, &err);
    if (!t) printf("  load %s: %s\n", path, err.msg);
    assert_non_null(t);
    return t;
}

// --- the fixtures ------------------------------------------------------------------------------
static void test_gpt2(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/gpt2-bpe"));
    assert_string_equal(modex_tok_kind(t), "byte-level BPE (vocab.json + merges.txt)");
    assert_int_equal(modex_tok_vocab_size(t), 50257);
    assert_int_equal(modex_tok_special(t, "eos"), 50256);
    assert_string_equal(modex_tok_piece(t, 995), "\xc4\xa0world"); /* "Ġworld" */
    check_fixture(t, fx("tokenizers/gpt2-bpe/encodings.jsonl"), 1);
    check_fixture(t, fx("tokenizers/gpt2-bpe/encodings.jsonl"), 0);
    check_roundtrip(t, fx("tokenizers/gpt2-bpe/encodings.jsonl"), NULL);
    /* offsets into the original text */
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, "Hello world", 11, 1, &e, &err), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.begin[0], 0); assert_int_equal(e.end[0], 5);
    assert_int_equal(e.begin[1], 5); assert_int_equal(e.end[1], 11);
    modex_tok_encoding_free(&e);
    /* the special token in text is matched whole */
    const char *s = "a<|endoftext|>b";
    assert_int_equal(modex_tok_encode(t, s, strlen(s), 1, &e, &err), 0);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.ids[1], 50256);
    assert_int_equal(e.begin[1], -1);
    modex_tok_encoding_free(&e);
    /* the same tokenizer from the vocab.json path */
    Tokenizer *t2 = load_ok(fx("tokenizers/gpt2-bpe/vocab.json"));
    check_fixture(t2, fx("tokenizers/gpt2-bpe/encodings.jsonl"), 1);
    modex_tok_free(t2);
    modex_tok_free(t);
}

static void test_bytebpe(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/bytebpe/tokenizer.json"));
    assert_string_equal(modex_tok_kind(t), "byte-level BPE (tokenizer.json)");
    assert_int_equal(modex_tok_special_added(t, NULL, NULL, NULL, NULL), 0);
    check_fixture(t, fx("tokenizers/bytebpe/encodings.jsonl"), 1);
    check_roundtrip(t, fx("tokenizers/bytebpe/encodings.jsonl"), NULL);
    modex_tok_free(t);
}

static void test_probe_e2e_tokenizer(void **st) {
    (void)st;
    /* the analysis uses this one: no special tokens are added */
    Tokenizer *t = load_ok(fx("probe-e2e/model"));
    assert_int_equal(modex_tok_special_added(t, NULL, NULL, NULL, NULL), 0);
    check_fixture(t, fx("tokenizers/bytebpe/encodings.jsonl"), 1);
    modex_tok_free(t);
}

static void test_wordpiece(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/wordpiece"));
    assert_string_equal(modex_tok_kind(t), "WordPiece (tokenizer.json)");
    assert_int_equal(modex_tok_special(t, "cls"), 2);
    assert_int_equal(modex_tok_special(t, "sep"), 3);
    assert_int_equal(modex_tok_special(t, "unk"), 1);
    assert_int_equal(modex_tok_special(t, "pad"), 0);
    /* the fixture ids include [CLS] ... [SEP] from the TemplateProcessing post-processor */
    check_fixture(t, fx("tokenizers/wordpiece/encodings.jsonl"), 1);
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, "Hello world", 11, 1, &e, &err), 0);
    assert_int_equal(e.ids[0], 2);
    assert_int_equal(e.ids[e.n - 1], 3);
    assert_int_equal(e.begin[0], -1);
    char *s = modex_tok_decode(t, e.ids, e.n, 0);
    assert_string_equal(s, "[CLS] hello world [SEP]"); /* lower-cased: WordPiece is lossy */
    free(s);
    s = modex_tok_decode(t, e.ids, e.n, 1);
    assert_string_equal(s, "hello world");
    free(s);
    TokEncoding e0;
    assert_int_equal(modex_tok_encode(t, "Hello world", 11, 0, &e0, &err), 0);
    assert_int_equal(e0.n, e.n - 2);
    assert_memory_equal(e0.ids, e.ids + 1, sizeof(int32_t) * (size_t)e0.n);
    modex_tok_encoding_free(&e0);
    modex_tok_encoding_free(&e);
    modex_tok_free(t);
}

/* Metaspace with prepend_scheme "always" adds no U+2581 to a text that starts with a space, and
 * its decoder drops the first one: the tokenizers library loses one leading space too. */
static int starts_with_space(const char *s) { return s[0] == ' '; }

static void test_unigram(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/unigram/tokenizer.json"));
    assert_string_equal(modex_tok_kind(t), "Unigram (tokenizer.json)");
    check_fixture(t, fx("tokenizers/unigram/encodings.jsonl"), 1);
    check_roundtrip(t, fx("tokenizers/unigram/encodings.jsonl"), starts_with_space);
    /* NFKC: decomposed, half-width and conjoining-jamo spellings encode as the composed ones */
    const char *pairs[][2] = {{"caf\x65\xcc\x81 x", "caf\xc3\xa9 x"}, {"\xef\xbd\xb6\xef\xbe\x9e", "\xe3\x82\xac"},
                              {"\xe1\x84\x80\xe1\x85\xa1", "\xea\xb0\x80"}, {"\xef\xac\x81ne", "fine"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        TokEncoding a, b;
        Error err;
        assert_int_equal(modex_tok_encode(t, pairs[i][0], strlen(pairs[i][0]), 1, &a, &err), 0);
        assert_int_equal(modex_tok_encode(t, pairs[i][1], strlen(pairs[i][1]), 1, &b, &err), 0);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.ids, b.ids, sizeof(int32_t) * (size_t)a.n);
        assert_int_equal(a.end[a.n - 1], (int32_t)strlen(pairs[i][0])); /* offsets stay in the original */
        modex_tok_encoding_free(&a);
        modex_tok_encoding_free(&b);
    }
    modex_tok_free(t);
}

static void test_llama_spm(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/llama-spm/tokenizer.model"));
    assert_string_equal(modex_tok_kind(t), "SentencePiece BPE (tokenizer.model)");
    assert_int_equal(modex_tok_vocab_size(t), 32000);
    assert_int_equal(modex_tok_special(t, "bos"), 1);
    assert_int_equal(modex_tok_special(t, "eos"), 2);
    assert_int_equal(modex_tok_special(t, "unk"), 0);
    /* sentencepiece adds no BOS; the fixture has none */
    assert_int_equal(modex_tok_special_added(t, NULL, NULL, NULL, NULL), 0);
    check_fixture(t, fx("tokenizers/llama-spm/encodings.jsonl"), 1);
    check_roundtrip(t, fx("tokenizers/llama-spm/encodings.jsonl"), NULL);
    modex_tok_free(t);
}

static void test_llama_gguf(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/llama-spm/vocab.gguf"));
    assert_string_equal(modex_tok_kind(t), "SentencePiece BPE (GGUF)");
    /* tokenizer.ggml.add_bos_token is true: the fixture (no BOS) is add_special = 0 */
    const int32_t *pre;
    int npre;
    assert_int_equal(modex_tok_special_added(t, &pre, &npre, NULL, NULL), 1);
    assert_int_equal(npre, 1);
    assert_int_equal(pre[0], 1);
    check_fixture(t, fx("tokenizers/llama-spm/encodings.jsonl"), 0);
    check_roundtrip(t, fx("tokenizers/llama-spm/encodings.jsonl"), NULL);
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, "Hello world", 11, 1, &e, &err), 0);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.ids[0], 1); assert_int_equal(e.ids[1], 15043); assert_int_equal(e.ids[2], 3186);
    assert_int_equal(e.begin[1], 0); assert_int_equal(e.end[1], 5);
    char *s = modex_tok_decode(t, e.ids, e.n, 1);
    assert_string_equal(s, "Hello world");
    free(s);
    modex_tok_encoding_free(&e);
    modex_tok_free(t);
}

// --- a SentencePiece-style BPE tokenizer.json (as Llama / Mistral ship it) --------------------
/* vocab: <unk> <s> </s>, the 256 byte pieces, then ▁ a b ▁a ab ▁ab; merges ▁+a, a+b, ▁a+b */
static void write_spm_json(const char *path, int byte_fallback, int metaspace) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true},"
               "{\"id\": 1, \"content\": \"<s>\", \"special\": true}, {\"id\": 2, \"content\": \"</s>\", \"special\": true}],\n");
    if (metaspace)
        fprintf(f, "\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
                   "\"prepend_scheme\": \"first\", \"split\": false},\n");
    else
        fprintf(f, "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},"
                   "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"}]}, \"pre_tokenizer\": null,\n");
    fprintf(f, "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}},"
               "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}},\n"
               "\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"\\u2581\"}, \"content\": \" \"},"
               "{\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]},\n"
               "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, \"byte_fallback\": %s, \"vocab\": {"
               "\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2", byte_fallback ? "true" : "false");
    for (int b = 0; b < 256; b++) fprintf(f, ", \"<0x%02X>\": %d", b, 3 + b);
    fprintf(f, ", \"\\u2581\": 259, \"a\": 260, \"b\": 261, \"\\u2581a\": 262, \"ab\": 263, \"\\u2581ab\": 264},\n"
               "\"merges\": [\"\\u2581 a\", \"a b\", \"\\u2581a b\"]}}\n");
    fclose(f);
}

static void expect_ids(const Tokenizer *t, const char *text, int special, const int32_t *want, int n) {
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, text, strlen(text), special, &e, &err), 0);
    if (e.n != n || memcmp(e.ids, want, sizeof(int32_t) * (size_t)n)) {
        printf("  '%s': got", text);
        for (int i = 0; i < e.n; i++) printf(" %d", e.ids[i]);
        printf("\n");
    }
    assert_int_equal(e.n, n);
    assert_memory_equal(e.ids, want, sizeof(int32_t) * (size_t)n);
    char *s = modex_tok_decode(t, e.ids, e.n, 1);
    if (t && strcmp(s, text) && want[n - 1] != 0) assert_string_equal(s, text);
    free(s);
    modex_tok_encoding_free(&e);
}

static void test_spm_style_json(void **st) {
    (void)st;
    for (int meta = 0; meta < 2; meta++) {
        write_spm_json(tmp("spm.json"), 1, meta);
        Tokenizer *t = load_ok(tmp("spm.json"));
        assert_string_equal(modex_tok_kind(t), "SentencePiece-style BPE (tokenizer.json)");
        /* ▁ a b ▁ a b: ▁+a (rank 0) twice, then ▁a+b (a+b no longer applies) */
        expect_ids(t, "ab ab", 1, (const int32_t[]){1, 264, 264}, 3);
        expect_ids(t, "ab ab", 0, (const int32_t[]){264, 264}, 2);
        /* unknown characters fall back to their UTF-8 bytes */
        expect_ids(t, "abc", 0, (const int32_t[]){264, 3 + 'c'}, 2);
        expect_ids(t, "\xc3\xa9", 0, (const int32_t[]){259, 3 + 0xc3, 3 + 0xa9}, 3);
        modex_tok_free(t);
    }
    /* without byte fallback, a run of unknown characters is one fused <unk> */
    write_spm_json(tmp("spm.json"), 0, 0);
    Tokenizer *t = load_ok(tmp("spm.json"));
    expect_ids(t, "a\xc3\xa9\xc3\xa9", 0, (const int32_t[]){262, 0}, 2);
    modex_tok_free(t);
    unlink(tmp("spm.json"));
}

/* BPE with an end-of-word suffix (as CLIP's), Whitespace pre-tokenizer, BPEDecoder */
static void test_bpe_suffix(void **st) {
    (void)st;
    const char *j = "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"decoder\": {\"type\": \"BPEDecoder\", \"suffix\": \"</w>\"},\n"
                    "\"model\": {\"type\": \"BPE\", \"end_of_word_suffix\": \"</w>\", \"vocab\": {\"a\": 0, \"b\": 1, \"a</w>\": 2,"
                    " \"b</w>\": 3, \"ab</w>\": 4, \"ab\": 5}, \"merges\": [\"a b</w>\"]}}";
    write_file(tmp("sfx.json"), j, strlen(j));
    Tokenizer *t = load_ok(tmp("sfx.json"));
    expect_ids(t, "ab ba", 1, (const int32_t[]){4, 1, 2}, 3);
    modex_tok_free(t);
    unlink(tmp("sfx.json"));
}

// --- random text: byte-level BPE and SentencePiece with byte fallback are lossless ----------
/* (except for U+2581 itself, which SentencePiece decodes as a space, as sentencepiece does) */
static void test_random_roundtrip(void **st) {
    (void)st;
    Tokenizer *tk[3] = {load_ok(fx("tokenizers/gpt2-bpe")), load_ok(fx("tokenizers/llama-spm/tokenizer.model")),
                        load_ok(fx("tokenizers/bytebpe/tokenizer.json"))};
    uint64_t s = 12345;
    static const int32_t pool[] = {' ', ' ', 'a', 'e', 'Z', '\'', '.', '\n', '\t', '7', 0xe9, 0x301, 0x416,
                                   0x6771, 0x1f600, 0xfffd, 0x0120, 0x7f, 0xa0, 0x3000, 0x10ffff};
    for (int r = 0; r < 300; r++) {
        char buf[256];
        size_t n = 0;
        int len = 1 + (int)(s % 40);
        for (int i = 0; i < len; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            int32_t c = pool[s % (sizeof pool / sizeof pool[0])];
            char u[4];
            int l = c < 0x80 ? (u[0] = (char)c, 1)
                  : c < 0x800 ? (u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 63)), 2)
                  : c < 0x10000 ? (u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 63)), u[2] = (char)(0x80 | (c & 63)), 3)
                  : (u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 63)), u[2] = (char)(0x80 | ((c >> 6) & 63)), u[3] = (char)(0x80 | (c & 63)), 4);
            memcpy(buf + n, u, (size_t)l);
            n += (size_t)l;
        }
        buf[n] = 0;
        for (int k = 0; k < 3; k++) {
            TokEncoding e;
            Error err;
            assert_int_equal(modex_tok_encode(tk[k], buf, n, 0, &e, &err), 0);
            char *d = modex_tok_decode(tk[k], e.ids, e.n, 1);
            if (strcmp(d, buf)) printf("  tokenizer %d: '%s' -> '%s'\n", k, buf, d);
            assert_string_equal(d, buf);
            free(d);
            modex_tok_encoding_free(&e);
        }
    }
    for (int k = 0; k < 3; k++) modex_tok_free(tk[k]);
}

static void expect_load_error(const char *path, const char *want1, const char *want2);

// --- a byte-level BPE vocabulary in GGUF metadata (tokenizer.ggml.model = "gpt2") ---------------
typedef struct GBuf { uint8_t *d; size_t n, cap; } GBuf;
static void gput(GBuf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->d = realloc(b->d, b->cap); }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void gle(GBuf *b, uint64_t v, int n) { for (int i = 0; i < n; i++) { uint8_t x = (uint8_t)(v >> (8 * i)); gput(b, &x, 1); } }
static void gstr(GBuf *b, const char *s) { gle(b, strlen(s), 8); gput(b, s, strlen(s)); }
static void gkv_str(GBuf *b, const char *k, const char *v) { gstr(b, k); gle(b, 8, 4); gstr(b, v); }
static void gkv_strs(GBuf *b, const char *k, const char **v, int n) {
    gstr(b, k); gle(b, 9, 4); gle(b, 8, 4); gle(b, (uint64_t)n, 8);
    for (int i = 0; i < n; i++) gstr(b, v[i]);
}

static void write_gguf_vocab(const char *path, const char *model) {
    /* all 256 byte-level characters, then "ab", "Ġa", "Ġab", then the end-of-text token */
    const char *tok[260];
    static char names[256][8];
    for (int b = 0; b < 256; b++) {
        int cp = b;
        if (!((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff))) {
            int k = 0;
            for (int i = 0; i < b; i++) k += !((i >= 0x21 && i <= 0x7e) || (i >= 0xa1 && i <= 0xac) || (i >= 0xae && i <= 0xff));
            cp = 256 + k;
        }
        if (cp < 0x80) { names[b][0] = (char)cp; names[b][1] = 0; }
        else { names[b][0] = (char)(0xc0 | cp >> 6); names[b][1] = (char)(0x80 | (cp & 63)); names[b][2] = 0; }
        tok[b] = names[b];
    }
    tok[256] = "ab"; tok[257] = "\xc4\xa0" "a"; tok[258] = "\xc4\xa0" "ab"; tok[259] = "<|endoftext|>";
    const char *merges[] = {"a b", "\xc4\xa0 a", "\xc4\xa0" "a b"};
    GBuf b = {0};
    gput(&b, "GGUF", 4); gle(&b, 3, 4); gle(&b, 0, 8); gle(&b, 5, 8);
    gkv_str(&b, "tokenizer.ggml.model", model);
    gkv_strs(&b, "tokenizer.ggml.tokens", tok, 260);
    gkv_strs(&b, "tokenizer.ggml.merges", merges, 3);
    gstr(&b, "tokenizer.ggml.token_type"); gle(&b, 9, 4); gle(&b, 5, 4); gle(&b, 260, 8);
    for (int i = 0; i < 260; i++) gle(&b, i == 259 ? 3 : 1, 4);
    gstr(&b, "tokenizer.ggml.eos_token_id"); gle(&b, 4, 4); gle(&b, 259, 4);
    write_file(path, b.d, b.n);
    free(b.d);
}

static void test_gguf_bpe(void **st) {
    (void)st;
    write_gguf_vocab(tmp("v.gguf"), "gpt2");
    Tokenizer *t = load_ok(tmp("v.gguf"));
    assert_string_equal(modex_tok_kind(t), "byte-level BPE (GGUF)");
    assert_int_equal(modex_tok_special(t, "eos"), 259);
    assert_int_equal(modex_tok_special_added(t, NULL, NULL, NULL, NULL), 0); /* gpt2: no BOS by default */
    /* " ab" is Ġ a b: a+b has rank 0, so it becomes Ġ ab, and (Ġ, ab) is no merge; the
       control token in the text is matched whole */
    const char *text = "ab ab<|endoftext|>";
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, text, strlen(text), 1, &e, &err), 0);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.ids[0], 256);
    assert_string_equal(modex_tok_piece(t, e.ids[1]), "\xc4\xa0"); /* the space byte */
    assert_int_equal(e.ids[2], 256);
    assert_int_equal(e.ids[3], 259);
    char *s = modex_tok_decode(t, e.ids, e.n, 0);
    assert_string_equal(s, text);
    free(s);
    modex_tok_encoding_free(&e);
    modex_tok_free(t);
    write_gguf_vocab(tmp("v.gguf"), "bert");
    expect_load_error(tmp("v.gguf"), "tokenizer.ggml.model 'bert': unknown tokenizer model type", "(expected llama or gpt2)");
    unlink(tmp("v.gguf"));
}

// --- threads share one tokenizer (and its word cache) ----------------------------------------
typedef struct Job { const Tokenizer *t; Line *v; int n, bad; } Job;

static void *encode_all(void *p) {
    Job *j = p;
    for (int r = 0; r < 20; r++)
        for (int i = 0; i < j->n; i++) {
            TokEncoding e;
            Error err;
            if (modex_tok_encode(j->t, j->v[i].text, j->v[i].len, 1, &e, &err) ||
                e.n != j->v[i].n || memcmp(e.ids, j->v[i].ids, sizeof(int32_t) * (size_t)e.n))
                j->bad++;
            modex_tok_encoding_free(&e);
        }
    return NULL;
}

static void test_threads(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/gpt2-bpe"));
    Line *v;
    int n = read_lines(fx("tokenizers/gpt2-bpe/encodings.jsonl"), &v);
    Job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (Job){t, v, n, 0};
        pthread_create(&th[i], NULL, encode_all, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) { pthread_join(th[i], NULL); assert_int_equal(jobs[i].bad, 0); }
    free_lines(v, n);
    modex_tok_free(t);
}

// --- errors --------------------------------------------------------------------------------------
static void test_invalid_utf8(void **st) {
    (void)st;
    Tokenizer *t = load_ok(fx("tokenizers/gpt2-bpe"));
    const char *bad[] = {"ab\xff", "ab\xc3", "ab\xed\xa0\x80", "ab\xc0\xaf", "ab\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TokEncoding e;
        Error err;
        assert_int_equal(modex_tok_encode(t, bad[i], strlen(bad[i]), 1, &e, &err), -1);
        assert_non_null(strstr(err.msg, "(text):2: invalid UTF-8"));
        assert_null(strchr(err.msg, '\n'));
    }
    /* empty text: no tokens, valid arrays */
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, "", 0, 1, &e, &err), 0);
    assert_int_equal(e.n, 0);
    modex_tok_encoding_free(&e);
    modex_tok_free(t);
}

static void expect_load_error(const char *path, const char *want1, const char *want2) {
    Error err;
    memset(&err, 0, sizeof err);
    Tokenizer *t = modex_tok_load(path, &err);
    if (t) modex_tok_free(t);
    assert_null(t);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        printf("  error for %s: '%s' (wanted '%s' and '%s')\n", path, err.msg, want1, want2 ? want2 : "");
    assert_non_null(strstr(err.msg, want1));
    if (want2) assert_non_null(strstr(err.msg, want2));
    assert_null(strchr(err.msg, '\n'));
}

static void test_unknown_model_type(void **st) {
    (void)st;
    const char *j = "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}}";
    write_file(tmp("tokenizer.json"), j, strlen(j));
    expect_load_error(tmp("tokenizer.json"), "tokenizer.json: model.type 'WordLevel': unknown tokenizer model type",
                      "(expected BPE, WordPiece or Unigram)");
    /* SentencePiece model_type 3 (word) */
    const uint8_t pb[] = {0x0a, 0x08, 0x0a, 0x01, 'a', 0x15, 0, 0, 0, 0,  /* piece "a" */
                          0x12, 0x02, 0x18, 0x03};                        /* trainer_spec.model_type = 3 */
    write_file(tmp("word.model"), pb, sizeof pb);
    expect_load_error(tmp("word.model"), "word.model: SentencePiece model_type 3: unknown tokenizer model type", NULL);
    /* GGUF model other than llama / gpt2 is covered by the GGUF fixture's own vocabulary test */
    const char *bad = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},\n \"normalizer\": {\"type\": \"Nope\"}}";
    write_file(tmp("tokenizer.json"), bad, strlen(bad));
    expect_load_error(tmp("tokenizer.json"), "normalizer type 'Nope' is not supported", NULL);
    const char *oob = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0, \"[UNK]\": 1}, \"unk_token\": \"[UNK]\"},"
                      " \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 7], \"sep\": [\"[SEP]\", 1]}}";
    write_file(tmp("tokenizer.json"), oob, strlen(oob));
    expect_load_error(tmp("tokenizer.json"), "post_processor: special token id 7 is outside the vocabulary", "(expected 0..1)");
    const char *broken = "{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,}}}";
    write_file(tmp("tokenizer.json"), broken, strlen(broken));
    expect_load_error(tmp("tokenizer.json"), "tokenizer.json:2:", "(expected JSON)");
    /* ids far past the entry count are refused before any slot is allocated (fuzzing: a
     * 30-byte file naming id 50000000 made the loader allocate 1.5 GB of empty slots) */
    const char *far = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 65538}, \"merges\": []}}";
    write_file(tmp("tokenizer.json"), far, strlen(far));
    expect_load_error(tmp("tokenizer.json"), "model.vocab['b']: id 65538 is far past the 2 entries", "(expected an id below 65538)");
    const char *gap = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 65537}, \"merges\": []}}";
    write_file(tmp("tokenizer.json"), gap, strlen(gap));
    Tokenizer *tg = load_ok(tmp("tokenizer.json")); /* a gap within the slack loads */
    assert_int_equal(modex_tok_vocab_size(tg), 65538);
    modex_tok_free(tg);
    const char *added = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
                        " \"added_tokens\": [{\"id\": 1, \"content\": \"<x>\"}, {\"id\": 65539, \"content\": \"<y>\"}]}";
    write_file(tmp("tokenizer.json"), added, strlen(added));
    expect_load_error(tmp("tokenizer.json"), "added_tokens[1]: id 65539", "(expected a token id from 0 to 65538)");
    unlink(tmp("tokenizer.json"));
    unlink(tmp("word.model"));
}

static void test_malformed_merges(void **st) {
    (void)st;
    unlink(tmp("tokenizer.json")); /* left over only if an earlier test failed */
    const char *vocab = "{\"a\": 0, \"b\": 1, \"ab\": 2, \"\\u0120\": 3}";
    write_file(tmp("vocab.json"), vocab, strlen(vocab));
    const char *cases[][2] = {
        {"#version: 0.2\na b\nab\n", "merges.txt:3:3: malformed merges line 'ab'"},
        {"#version: 0.2\na  b\n", "merges.txt:2:3: malformed merges line"},
        {"a b\n b\n", "merges.txt:2:1: malformed merges line"},
        {"a b\na c\n", "merges.txt:2:1: the second piece of 'a c' is not in"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(tmp("merges.txt"), cases[i][0], strlen(cases[i][0]));
        expect_load_error(tmpdir, cases[i][1], "(expected");
    }
    /* an id far past the entry count */
    const char *far = "{\"a\": 0, \"b\": 70000}";
    write_file(tmp("vocab.json"), far, strlen(far));
    write_file(tmp("merges.txt"), "", 0);
    expect_load_error(tmpdir, "vocab.json: 'b': id 70000 is far past the 2 entries", "(expected an id below 65538)");
    write_file(tmp("vocab.json"), vocab, strlen(vocab));
    /* a good file loads and merges */
    write_file(tmp("merges.txt"), "#version: 0.2\na b\n", 18);
    Tokenizer *t = load_ok(tmpdir);
    TokEncoding e;
    Error err;
    assert_int_equal(modex_tok_encode(t, "ab", 2, 1, &e, &err), 0);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.ids[0], 2);
    modex_tok_encoding_free(&e);
    /* text the vocabulary cannot express is an error, not silently dropped */
    assert_int_equal(modex_tok_encode(t, "abz", 3, 1, &e, &err), -1);
    assert_non_null(strstr(err.msg, "(text):2: U+007A has no token"));
    modex_tok_free(t);
    unlink(tmp("vocab.json"));
    unlink(tmp("merges.txt"));
}

static void test_truncated_spm(void **st) {
    (void)st;
    MappedFile m;
    Error err;
    assert_int_equal(modex_map_file(&m, fx("tokenizers/llama-spm/tokenizer.model"), &err), 0);
    size_t cuts[] = {0, 1, 2, 3, 100, 1001, m.size / 2, m.size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_file(tmp("cut.model"), m.data, cuts[i]);
        const char *want = cuts[i] == 0 ? "cut.model:0: empty file" : "cut.model:";
        expect_load_error(tmp("cut.model"), want, "(expected");
        if (cuts[i] >= 100) expect_load_error(tmp("cut.model"), "truncated", NULL);
    }
    /* a wire type that protobuf does not have */
    uint8_t junk[] = {0x0f, 0x01, 0x02};
    write_file(tmp("cut.model"), junk, sizeof junk);
    expect_load_error(tmp("cut.model"), "cut.model:0: protobuf wire type 7", NULL);
    unlink(tmp("cut.model"));
    modex_unmap_file(&m);
    expect_load_error(tmp("nothing-here"), "no such file", NULL);
    expect_load_error(tmpdir, "no tokenizer found", NULL);
}

int main(void) {
    const char *f = getenv("FIXTURES");
    snprintf(fixtures, sizeof fixtures, "%s", f && *f ? f : "../shared/fixtures");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/modex-test-tok-XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpt2),          cmocka_unit_test(test_bytebpe),
        cmocka_unit_test(test_probe_e2e_tokenizer),
        cmocka_unit_test(test_wordpiece),     cmocka_unit_test(test_unigram),
        cmocka_unit_test(test_llama_spm),     cmocka_unit_test(test_llama_gguf),
        cmocka_unit_test(test_spm_style_json), cmocka_unit_test(test_random_roundtrip),
        cmocka_unit_test(test_gguf_bpe),      cmocka_unit_test(test_bpe_suffix),
        cmocka_unit_test(test_threads),       cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_unknown_model_type), cmocka_unit_test(test_malformed_merges),
        cmocka_unit_test(test_truncated_spm),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(tmpdir);
    return rc;
}
