/* bpe_train.c — byte-level BPE as GPT-2 and Hugging Face `tokenizers` do it: the GPT-2
 * pre-tokenizer regex (PCRE2, Unicode), bytes mapped to printable characters, merges learnt
 * greedily by pair frequency (ties: the smaller pair of ids, as the tokenizers trainer does),
 * saved as a tokenizer.json that PreTrainedTokenizerFast loads unchanged. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include "modex/train.h"
#include "modex/util.h"
#include "train_internal.h"

static const char *gpt2_pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// --- byte <-> unicode (GPT-2's table) ----------------------------------------------------
/* Code point that stands for byte b; printable bytes stand for themselves. */
static int byte_cp(int b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
    return 256 + n;
}
static int put_utf8(char *o, int cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2; /* all code points here are < 0x800 */
}
/* Token id of each byte: 1 + rank of its code point (the trainer sorts its alphabet). */
static void byte_ids(int id[256]) {
    for (int b = 0; b < 256; b++) {
        int cp = byte_cp(b), rank = 0;
        for (int x = 0; x < 256; x++) rank += byte_cp(x) < cp;
        id[b] = 1 + rank;
    }
}

// --- string -> int hash map (words, tokens) -------------------------------------------------
typedef struct SMap { char **k; size_t *klen; int64_t *v; size_t cap, n; } SMap;
static uint64_t fnv(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}
static int64_t *smap_slot(SMap *m, const char *s, size_t n, int create) {
    if (create && 2 * (m->n + 1) > m->cap) {
        SMap g = {0};
        g.cap = m->cap ? m->cap * 2 : 1024;
        g.k = modex_xcalloc(g.cap, sizeof *g.k);
        g.klen = modex_xcalloc(g.cap, sizeof *g.klen);
        g.v = modex_xcalloc(g.cap, sizeof *g.v);
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i]) {
                size_t j = fnv(m->k[i], m->klen[i]) & (g.cap - 1);
                while (g.k[j]) j = (j + 1) & (g.cap - 1);
                g.k[j] = m->k[i]; g.klen[j] = m->klen[i]; g.v[j] = m->v[i];
            }
        g.n = m->n;
        free(m->k); free(m->klen); free(m->v);
        *m = g;
    }
    if (!m->cap) return NULL;
    size_t j = fnv(s, n) & (m->cap - 1);
    while (m->k[j]) {
        if (m->klen[j] == n && memcmp(m->k[j], s, n) == 0) return &m->v[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!create) return NULL;
    m->k[j] = modex_xmalloc(n + 1);
    memcpy(m->k[j], s, n);
    m->k[j][n] = 0;
    m->klen[j] = n;
    m->v[j] = -1;
    m->n++;
    return &m->v[j];
}
static void smap_free(SMap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->k[i]);
    free(m->k); free(m->klen); free(m->v);
    memset(m, 0, sizeof *m);
}

// --- (id, id) -> int hash map (pair counts, merge ranks) -----------------------------------
typedef struct PMap { uint64_t *k; int64_t *v; size_t cap, n; } PMap;
static uint64_t pkey(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }
static uint64_t pmix(uint64_t k) { k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; return k ^ (k >> 33); }
static int64_t *pmap_slot(PMap *m, uint64_t key, int create) {
    if (create && 2 * (m->n + 1) > m->cap) {
        PMap g = {0};
        g.cap = m->cap ? m->cap * 2 : 4096;
        g.k = modex_xcalloc(g.cap, 8);
        g.v = modex_xcalloc(g.cap, 8);
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i]) {
                size_t j = pmix(m->k[i]) & (g.cap - 1);
                while (g.k[j]) j = (j + 1) & (g.cap - 1);
                g.k[j] = m->k[i]; g.v[j] = m->v[i];
            }
        g.n = m->n;
        free(m->k); free(m->v);
        *m = g;
    }
    if (!m->cap) return NULL;
    size_t j = pmix(key) & (m->cap - 1);
    while (m->k[j]) {
        if (m->k[j] == key) return &m->v[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!create) return NULL;
    m->k[j] = key;
    m->v[j] = 0;
    m->n++;
    return &m->v[j];
}
static void pmap_free(PMap *m) { free(m->k); free(m->v); memset(m, 0, sizeof *m); }

// --- pre-tokenizer ---------------------------------------------------------------------------
typedef int (*PieceFn)(void *ctx, const char *s, size_t n);

typedef struct Re { pcre2_code *re; pcre2_match_data *md; } Re;
static int re_open(Re *r, const char *name, Error *err) {
    int ec;
    PCRE2_SIZE eo;
    r->re = pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                          &ec, &eo, NULL);
    if (!r->re) return modex_error(err, name, "internal: the GPT-2 pattern does not compile");
    pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
    r->md = pcre2_match_data_create_from_pattern(r->re, NULL);
    return 0;
}
static void re_close(Re *r) { pcre2_match_data_free(r->md); pcre2_code_free(r->re); }

/* Calls fn on every regex piece of text; invalid UTF-8 is an error at its byte offset (base
 * is added: the offset of text in the file). */
static int pieces(Re *r, const char *text, size_t len, size_t base, const char *name, PieceFn fn,
                  void *ctx, Error *err) {
    size_t pos = 0;
    uint32_t opts = 0;
    while (pos < len) {
        int m = pcre2_match(r->re, (PCRE2_SPTR)text, len, pos, opts, r->md, NULL);
        opts = PCRE2_NO_UTF_CHECK; /* the whole subject was checked by the first call */
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            long long at = m <= PCRE2_ERROR_UTF8_ERR1 && m >= PCRE2_ERROR_UTF8_ERR21
                               ? (long long)pcre2_get_startchar(r->md) : (long long)pos;
            return modex_error_at(err, name, (long long)base + at, "invalid UTF-8 (UTF-8 text)");
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        if (ov[1] <= ov[0]) { pos = ov[0] + 1; continue; }
        if (fn(ctx, text + ov[0], ov[1] - ov[0])) return -1;
        pos = ov[1];
    }
    return 0;
}

static int pretokenize(const char *text, size_t len, const char *name, PieceFn fn, void *ctx,
                       Error *err) {
    Re r;
    if (re_open(&r, name, err)) return -1;
    int rc = pieces(&r, text, len, 0, name, fn, ctx, err);
    re_close(&r);
    return rc;
}

// --- training ------------------------------------------------------------------------------
typedef struct Words { SMap map; } Words;
static int count_piece(void *ctx, const char *s, size_t n) {
    int64_t *v = smap_slot(&((Words *)ctx)->map, s, n, 1);
    *v = *v < 0 ? 1 : *v + 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void tok_add(BpeTokenizer *t, SMap *tokmap, const char *s) {
    t->tokens = modex_xrealloc(t->tokens, (size_t)(t->vocab_size + 1) * sizeof *t->tokens);
    t->tokens[t->vocab_size] = modex_xstrdup(s);
    *smap_slot(tokmap, s, strlen(s), 1) = t->vocab_size;
    t->vocab_size++;
}

int modex_bpe_train(BpeTokenizer *tok, const char *text, size_t len, int vocab_size,
                    const char *name, Error *err) {
    memset(tok, 0, sizeof *tok);
    if (vocab_size < 257 || vocab_size > 65535)
        return modex_error(err, name, "vocabulary size %d out of range (257..65535)", vocab_size);
    Words w = {0};
    if (pretokenize(text, len, name, count_piece, &w, err)) { smap_free(&w.map); return -1; }

    /* alphabet: <|endoftext|> then the 256 byte characters in code point order */
    SMap tokmap = {0};
    tok_add(tok, &tokmap, "<|endoftext|>");
    int bid[256];
    byte_ids(bid);
    for (int id = 1; id <= 256; id++)
        for (int b = 0; b < 256; b++)
            if (bid[b] == id) {
                char s[3] = {0};
                put_utf8(s, byte_cp(b));
                tok_add(tok, &tokmap, s);
            }

    /* words as id sequences, in a fixed (sorted) order so the result never depends on
     * hash-table layout */
    size_t nw = w.map.n, k = 0;
    char **wk = modex_xmalloc((nw + 1) * sizeof *wk);
    for (size_t i = 0; i < w.map.cap; i++) if (w.map.k[i]) wk[k++] = w.map.k[i];
    qsort(wk, nw, sizeof *wk, cmp_str);
    int32_t **seq = modex_xmalloc((nw + 1) * sizeof *seq);
    int *slen = modex_xmalloc((nw + 1) * sizeof *slen);
    int64_t *cnt = modex_xmalloc((nw + 1) * sizeof *cnt);
    for (size_t i = 0; i < nw; i++) {
        size_t n = strlen(wk[i]);
        seq[i] = modex_xmalloc((n + 1) * sizeof **seq);
        for (size_t j = 0; j < n; j++) seq[i][j] = bid[(unsigned char)wk[i][j]];
        slen[i] = (int)n;
        cnt[i] = *smap_slot(&w.map, wk[i], n, 0);
    }

    while (tok->vocab_size < vocab_size) {
        PMap pc = {0};
        int32_t ba = -1, bb = -1;
        int64_t best = 0;
        for (size_t i = 0; i < nw; i++)
            for (int j = 0; j + 1 < slen[i]; j++) {
                int64_t *c = pmap_slot(&pc, pkey(seq[i][j], seq[i][j + 1]), 1);
                *c += cnt[i];
                int32_t a = seq[i][j], b = seq[i][j + 1];
                if (*c > best || (*c == best && (a < ba || (a == ba && b < bb)))) {
                    best = *c; ba = a; bb = b;
                }
            }
        pmap_free(&pc);
        if (best == 0) break; /* every word is a single token */
        size_t la = strlen(tok->tokens[ba]), lb = strlen(tok->tokens[bb]);
        char *s = modex_xmalloc(la + lb + 1);
        memcpy(s, tok->tokens[ba], la);
        memcpy(s + la, tok->tokens[bb], lb + 1);
        int64_t *have = smap_slot(&tokmap, s, la + lb, 0);
        int32_t nid = have ? (int32_t)*have : tok->vocab_size;
        if (!have) tok_add(tok, &tokmap, s);
        free(s);
        tok->merges = modex_xrealloc(tok->merges, (size_t)(tok->n_merges + 1) * sizeof *tok->merges);
        tok->merges[tok->n_merges][0] = ba;
        tok->merges[tok->n_merges][1] = bb;
        tok->merges[tok->n_merges][2] = nid;
        tok->n_merges++;
        for (size_t i = 0; i < nw; i++) { /* apply left to right, non-overlapping */
            int o = 0;
            for (int j = 0; j < slen[i]; j++) {
                if (j + 1 < slen[i] && seq[i][j] == ba && seq[i][j + 1] == bb) { seq[i][o++] = nid; j++; }
                else seq[i][o++] = seq[i][j];
            }
            slen[i] = o;
        }
    }
    for (size_t i = 0; i < nw; i++) free(seq[i]);
    free(seq); free(slen); free(cnt); free(wk);
    smap_free(&w.map);
    smap_free(&tokmap);
    return 0;
}

void modex_bpe_free(BpeTokenizer *tok) {
    for (int i = 0; i < tok->vocab_size; i++) free(tok->tokens[i]);
    free(tok->tokens);
    free(tok->merges);
    memset(tok, 0, sizeof *tok);
}

// --- encoding (GPT-2's bpe(): merge the lowest-ranked pair everywhere, repeat) ---------------
typedef struct Enc {
    const BpeTokenizer *tok;
    PMap rank;      /* pair -> rank */
    SMap cache;     /* piece -> index into ids of the cached encoding */
    int32_t *cids; size_t cn, ccap; /* cached encodings: [len, ids...] */
    int bid[256];
    int32_t *out; size_t n, cap;
} Enc;

static void enc_push(int32_t **v, size_t *n, size_t *cap, int32_t x) {
    if (*n == *cap) { *cap = *cap ? *cap * 2 : 1024; *v = modex_xrealloc(*v, *cap * sizeof **v); }
    (*v)[(*n)++] = x;
}

static int enc_piece(void *ctx, const char *s, size_t n) {
    Enc *e = ctx;
    int64_t *slot = smap_slot(&e->cache, s, n, 1);
    if (*slot < 0) {
        int32_t *w = modex_xmalloc(n * sizeof *w);
        int len = (int)n;
        for (size_t j = 0; j < n; j++) w[j] = e->bid[(unsigned char)s[j]];
        for (;;) {
            int64_t best = -1;
            for (int j = 0; j + 1 < len; j++) {
                int64_t *r = pmap_slot(&e->rank, pkey(w[j], w[j + 1]), 0);
                if (r && (best < 0 || *r < best)) best = *r;
            }
            if (best < 0) break;
            const int32_t *m = e->tok->merges[best];
            int o = 0;
            for (int j = 0; j < len; j++) {
                if (j + 1 < len && w[j] == m[0] && w[j + 1] == m[1]) { w[o++] = m[2]; j++; }
                else w[o++] = w[j];
            }
            len = o;
        }
        *slot = (int64_t)e->cn;
        enc_push(&e->cids, &e->cn, &e->ccap, len);
        for (int j = 0; j < len; j++) enc_push(&e->cids, &e->cn, &e->ccap, w[j]);
        free(w);
    }
    const int32_t *c = e->cids + *slot;
    for (int j = 0; j < c[0]; j++) enc_push(&e->out, &e->n, &e->cap, c[1 + j]);
    return 0;
}

static void enc_init(Enc *e, const BpeTokenizer *tok) {
    memset(e, 0, sizeof *e);
    e->tok = tok;
    byte_ids(e->bid);
    /* in reverse, so that the lowest rank of a pair listed twice is the one kept */
    for (int i = tok->n_merges - 1; i >= 0; i--)
        *pmap_slot(&e->rank, pkey(tok->merges[i][0], tok->merges[i][1]), 1) = i;
}
static void enc_done(Enc *e) {
    pmap_free(&e->rank);
    smap_free(&e->cache);
    free(e->cids);
}

long modex_bpe_encode(const BpeTokenizer *tok, const char *text, size_t len, int32_t **ids,
                      Error *err) {
    Enc e;
    enc_init(&e, tok);
    int rc = pretokenize(text, len, "<text>", enc_piece, &e, err);
    enc_done(&e);
    if (rc) { free(e.out); return -1; }
    *ids = e.out ? e.out : modex_xmalloc(4);
    return (long)e.n;
}

long modex_bpe_encode_lines(const BpeTokenizer *tok, const char *text, size_t len, int32_t eos,
                            int32_t **ids, long **starts, long *n_lines, Error *err) {
    Enc e;
    enc_init(&e, tok);
    Re r;
    if (re_open(&r, "<corpus>", err)) { enc_done(&e); return -1; }
    long nl = 0, cap = 0, *st = NULL;
    int rc = 0;
    for (size_t a = 0; a < len && !rc;) {
        const char *nlp = memchr(text + a, '\n', len - a);
        size_t b = nlp ? (size_t)(nlp - text) : len;
        if (b > a) { /* empty lines are skipped */
            if (nl == cap) { cap = cap ? cap * 2 : 4096; st = modex_xrealloc(st, (size_t)cap * sizeof *st); }
            st[nl++] = (long)e.n;
            rc = pieces(&r, text + a, b - a, a, "<corpus>", enc_piece, &e, err);
            enc_push(&e.out, &e.n, &e.cap, eos);
        }
        a = b + 1;
    }
    re_close(&r);
    enc_done(&e);
    if (rc) { free(e.out); free(st); return -1; }
    *ids = e.out ? e.out : modex_xmalloc(4);
    *starts = st ? st : modex_xmalloc(sizeof *st);
    *n_lines = nl;
    return (long)e.n;
}

// --- tokenizer.json -----------------------------------------------------------------------------
int modex_bpe_save_json(const BpeTokenizer *tok, const char *path, int force, Error *err) {
    json_t *root = json_object();
    json_object_set_new(root, "version", json_string("1.0"));
    json_object_set_new(root, "truncation", json_null());
    json_object_set_new(root, "padding", json_null());
    json_t *added = json_array(), *eot = json_object();
    json_object_set_new(eot, "id", json_integer(0));
    json_object_set_new(eot, "content", json_string(tok->tokens[0]));
    json_object_set_new(eot, "single_word", json_false());
    json_object_set_new(eot, "lstrip", json_false());
    json_object_set_new(eot, "rstrip", json_false());
    json_object_set_new(eot, "normalized", json_false());
    json_object_set_new(eot, "special", json_true());
    json_array_append_new(added, eot);
    json_object_set_new(root, "added_tokens", added);
    json_object_set_new(root, "normalizer", json_null());
    json_t *pre = json_object();
    json_object_set_new(pre, "type", json_string("ByteLevel"));
    json_object_set_new(pre, "add_prefix_space", json_false());
    json_object_set_new(pre, "trim_offsets", json_true());
    json_object_set_new(pre, "use_regex", json_true());
    json_object_set_new(root, "pre_tokenizer", pre);
    json_object_set_new(root, "post_processor", json_null());
    json_t *dec = json_object();
    json_object_set_new(dec, "type", json_string("ByteLevel"));
    json_object_set_new(dec, "add_prefix_space", json_true());
    json_object_set_new(dec, "trim_offsets", json_true());
    json_object_set_new(dec, "use_regex", json_true());
    json_object_set_new(root, "decoder", dec);
    json_t *model = json_object();
    json_object_set_new(model, "type", json_string("BPE"));
    json_object_set_new(model, "dropout", json_null());
    json_object_set_new(model, "unk_token", json_null());
    json_object_set_new(model, "continuing_subword_prefix", json_null());
    json_object_set_new(model, "end_of_word_suffix", json_null());
    json_object_set_new(model, "fuse_unk", json_false());
    json_object_set_new(model, "byte_fallback", json_false());
    json_object_set_new(model, "ignore_merges", json_false());
    json_t *vocab = json_object();
    for (int i = 0; i < tok->vocab_size; i++)
        json_object_set_new(vocab, tok->tokens[i], json_integer(i));
    json_object_set_new(model, "vocab", vocab);
    json_t *merges = json_array();
    for (int i = 0; i < tok->n_merges; i++) {
        json_t *p = json_array();
        json_array_append_new(p, json_string(tok->tokens[tok->merges[i][0]]));
        json_array_append_new(p, json_string(tok->tokens[tok->merges[i][1]]));
        json_array_append_new(merges, p);
    }
    json_object_set_new(model, "merges", merges);
    json_object_set_new(root, "model", model);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!s) return modex_error(err, path, "cannot serialise the tokenizer (out of memory)");
    int rc = modex_write_file(path, s, strlen(s), force, err);
    free(s);
    return rc;
}

/* Reads back a byte-level BPE tokenizer.json (ours or one written by `tokenizers`). */
int modex_bpe_load_json(BpeTokenizer *tok, const char *path, Error *err) {
    memset(tok, 0, sizeof *tok);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return modex_error_line(err, path, je.line, je.column, "%s (JSON)", je.text);
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
    if (!json_is_object(vocab) || !json_is_array(merges)) {
        json_decref(root);
        return modex_error(err, path, "no model.vocab / model.merges (a BPE tokenizer.json)");
    }
    int n = (int)json_object_size(vocab);
    tok->tokens = modex_xcalloc((size_t)n, sizeof *tok->tokens);
    tok->vocab_size = n;
    SMap map = {0};
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(vocab, k, v) {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id >= n || tok->tokens[id]) {
            rc = modex_error(err, path, "vocab entry '%s' has a bad or repeated id (0..%d, each once)", k, n - 1);
            break;
        }
        tok->tokens[id] = modex_xstrdup(k);
        *smap_slot(&map, k, strlen(k), 1) = id;
    }
    size_t nm = json_array_size(merges);
    tok->merges = modex_xcalloc(nm + 1, sizeof *tok->merges);
    for (size_t i = 0; i < nm && !rc; i++) {
        json_t *m = json_array_get(merges, i);
        char a[256], b[256];
        if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0))) {
            snprintf(a, sizeof a, "%s", json_string_value(json_array_get(m, 0)));
            snprintf(b, sizeof b, "%s", json_string_value(json_array_get(m, 1)));
        } else if (json_is_string(m) && strchr(json_string_value(m), ' ')) {
            const char *s = json_string_value(m), *sp = strchr(s, ' ');
            snprintf(a, sizeof a, "%.*s", (int)(sp - s), s);
            snprintf(b, sizeof b, "%s", sp + 1);
        } else { rc = modex_error(err, path, "merge %zu is not a pair of tokens", i); break; }
        char ab[512];
        snprintf(ab, sizeof ab, "%s%s", a, b);
        int64_t *ia = smap_slot(&map, a, strlen(a), 0), *ib = smap_slot(&map, b, strlen(b), 0),
                *iab = smap_slot(&map, ab, strlen(ab), 0);
        if (!ia || !ib || !iab) { rc = modex_error(err, path, "merge %zu uses a token not in the vocab", i); break; }
        tok->merges[i][0] = (int32_t)*ia;
        tok->merges[i][1] = (int32_t)*ib;
        tok->merges[i][2] = (int32_t)*iab;
        tok->n_merges++;
    }
    for (int i = 0; i < n && !rc; i++)
        if (!tok->tokens[i]) rc = modex_error(err, path, "vocab has no token with id %d (ids 0..%d)", i, n - 1);
    smap_free(&map);
    json_decref(root);
    if (rc) modex_bpe_free(tok);
    return rc;
}
