/* spm.c — SentencePiece: the tokenizer.model protobuf (pieces, trainer and normalizer specs),
 * its whitespace normalization (dummy prefix, U+2581), and score-driven BPE: the adjacent pair
 * whose concatenation is the best-scoring piece merges first (leftmost on ties). */
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

// --- protobuf reading ------------------------------------------------------------------------
typedef struct Pb { const uint8_t *p, *end, *base; const char *file; Error *err; } Pb;

static int pb_varint(Pb *b, uint64_t *v) {
    uint64_t r = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (b->p >= b->end)
            return modex_error_at(b->err, b->file, (long long)(b->p - b->base),
                                  "truncated varint (expected more bytes of a protobuf field)");
        uint8_t c = *b->p++;
        r |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) { *v = r; return 0; }
    }
    return modex_error_at(b->err, b->file, (long long)(b->p - b->base), "varint longer than 10 bytes (expected a protobuf varint)");
}

/* Reads one field header and value: varints into *v, length-delimited into *sub. */
static int pb_field(Pb *b, uint32_t *field, int *wt, uint64_t *v, Pb *sub) {
    uint64_t key;
    long long at = (long long)(b->p - b->base);
    if (pb_varint(b, &key)) return -1;
    *field = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    switch (*wt) {
    case 0: return pb_varint(b, v);
    case 1:
    case 5: {
        size_t n = *wt == 1 ? 8 : 4;
        if ((size_t)(b->end - b->p) < n)
            return modex_error_at(b->err, b->file, (long long)(b->p - b->base),
                                  "truncated field %u (expected %zu more bytes)", *field, n);
        uint64_t r = 0;
        for (size_t i = 0; i < n; i++) r |= (uint64_t)b->p[i] << (8 * i);
        *v = r;
        b->p += n;
        return 0;
    }
    case 2: {
        uint64_t n;
        if (pb_varint(b, &n)) return -1;
        if (n > (uint64_t)(b->end - b->p))
            return modex_error_at(b->err, b->file, (long long)(b->p - b->base),
                                  "truncated field %u: %llu bytes announced, %lld left (expected a complete tokenizer.model)",
                                  *field, (unsigned long long)n, (long long)(b->end - b->p));
        *sub = *b;
        sub->p = b->p; sub->end = b->p + n;
        b->p += n;
        return 0;
    }
    default:
        return modex_error_at(b->err, b->file, at, "protobuf wire type %d (expected 0, 1, 2 or 5: not a tokenizer.model?)", *wt);
    }
}

// --- tokenizer.model -------------------------------------------------------------------------
static void spm_decoders(Tokenizer *t) {
    t->dec = modex_xcalloc(4, sizeof *t->dec);
    t->dec[0].kind = D_REPLACE;
    t->dec[0].a = modex_xstrdup("\xe2\x96\x81"); t->dec[0].b = modex_xstrdup(" ");
    t->dec[1].kind = D_BYTEFALLBACK;
    t->dec[2].kind = D_FUSE;
    t->n_dec = 3;
    if (t->spm_dummy) {
        t->dec[3].kind = D_STRIP; t->dec[3].a = modex_xstrdup(" "); t->dec[3].start = 1;
        t->n_dec = 4;
    }
}

/* Common tail for tokenizer.model and GGUF "llama": user-defined pieces match as added tokens. */
void spm_setup(Tokenizer *t);
void spm_setup(Tokenizer *t) {
    t->spm = 1;
    for (int i = 0; i < t->n_vocab; i++)
        if (t->type[i] == SPM_USER && t->piece[i]) tok_add_added(t, t->piece[i], t->piece_len[i], i, 0);
    tok_finish(t);
    t->min_score = 1e300; t->max_score = -1e300;
    for (int i = 0; i < t->n_vocab; i++)
        if (t->type[i] == SPM_NORMAL) {
            if (t->score[i] < t->min_score) t->min_score = t->score[i];
            if (t->score[i] > t->max_score) t->max_score = t->score[i];
        }
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] >= 0 && t->type[t->byte_id[b]] != SPM_BYTE) t->byte_id[b] = -1;
    spm_decoders(t);
}

Tokenizer *tok_load_spm(const char *path, Error *err) {
    MappedFile mf;
    if (modex_map_file(&mf, path, err)) return NULL;
    if (mf.size == 0) { /* an empty file maps to NULL: no pointer arithmetic on it */
        modex_unmap_file(&mf);
        modex_error_at(err, path, 0, "empty file (expected a SentencePiece model)");
        return NULL;
    }
    Tokenizer *t = tok_new(0);
    Pb b = {mf.data, mf.data + mf.size, mf.data, path, err};
    uint32_t f;
    int wt;
    uint64_t v;
    Pb sub;
    int n = 0, model_type = 1;
    t->spm_dummy = t->spm_remove_ws = t->spm_escape = 1;
    t->unk_id = 0;
    while (b.p < b.end) {
        if (pb_field(&b, &f, &wt, &v, &sub)) goto fail;
        if (f == 1 && wt == 2) { /* SentencePiece */
            const uint8_t *s = NULL;
            size_t sl = 0;
            float score = 0;
            int type = SPM_NORMAL;
            Pb q = sub;
            while (q.p < q.end) {
                Pb str;
                if (pb_field(&q, &f, &wt, &v, &str)) goto fail;
                if (f == 1 && wt == 2) { s = str.p; sl = (size_t)(str.end - str.p); }
                else if (f == 2 && wt == 5) { uint32_t u = (uint32_t)v; memcpy(&score, &u, 4); }
                else if (f == 3 && wt == 0) type = (int)v;
            }
            if (!s) { modex_error_at(err, path, (long long)(sub.p - b.base), "piece %d has no text (expected field 1)", n); goto fail; }
            tok_set_piece(t, n, (const char *)s, sl);
            t->score[n] = score;
            t->type[n] = (uint8_t)(type >= 1 && type <= 6 ? type : SPM_NORMAL);
            n++;
        } else if (f == 2 && wt == 2) { /* TrainerSpec */
            Pb q = sub;
            while (q.p < q.end) {
                Pb str;
                if (pb_field(&q, &f, &wt, &v, &str)) goto fail;
                if (wt != 0) continue;
                if (f == 3) model_type = (int)v;
                else if (f == 35) t->byte_fallback = (int)v;
                else if (f == 40) t->unk_id = (int32_t)v;
                else if (f == 41) t->bos_id = (int32_t)v;
                else if (f == 42) t->eos_id = (int32_t)v;
                else if (f == 43) t->pad_id = (int32_t)v;
            }
        } else if (f == 3 && wt == 2) { /* NormalizerSpec */
            Pb q = sub;
            while (q.p < q.end) {
                Pb str;
                if (pb_field(&q, &f, &wt, &v, &str)) goto fail;
                if (f == 1 && wt == 2) t->spm_nfkc = (str.end - str.p) >= 4 && memmem(str.p, (size_t)(str.end - str.p), "nfkc", 4);
                else if (f == 3 && wt == 0) t->spm_dummy = (int)v;
                else if (f == 4 && wt == 0) t->spm_remove_ws = (int)v;
                else if (f == 5 && wt == 0) t->spm_escape = (int)v;
            }
        }
    }
    if (n == 0) { modex_error_at(err, path, (long long)mf.size, "no pieces (expected a SentencePiece model)"); goto fail; }
    if (t->bos_id >= n) t->bos_id = -1;
    if (model_type == 1) { t->model = TM_UNIGRAM; snprintf(t->kind, sizeof t->kind, "SentencePiece unigram (tokenizer.model)"); }
    else if (model_type == 2) { t->model = TM_SPM_BPE; snprintf(t->kind, sizeof t->kind, "SentencePiece BPE (tokenizer.model)"); }
    else {
        modex_error(err, path, "SentencePiece model_type %d: unknown tokenizer model type (expected 1 = unigram or 2 = BPE)", model_type);
        goto fail;
    }
    for (int32_t *p = &t->unk_id; p; p = p == &t->unk_id ? &t->eos_id : p == &t->eos_id ? &t->pad_id : NULL)
        if (*p >= n) *p = -1;
    spm_setup(t);
    modex_unmap_file(&mf);
    return t;
fail:
    modex_unmap_file(&mf);
    modex_tok_free(t);
    return NULL;
}

// --- normalization -----------------------------------------------------------------------------
void spm_normalize(const Tokenizer *t, NormStr *ns) {
    if (t->spm_nfkc) {
        Normalizer nz;
        memset(&nz, 0, sizeof nz);
        nz.kind = N_NFKC;
        tok_normalize(&nz, ns);
    }
    NormStr o;
    ns_init(&o, ns->n + 8);
    size_t a = 0, b = ns->n;
    if (t->spm_remove_ws) {
        while (a < b && ns->s[a] == ' ') a++;
        while (b > a && ns->s[b - 1] == ' ') b--;
    }
    if (a < b && t->spm_dummy && ns->ob[a] == 0) {
        if (t->spm_escape) ns_push(&o, "\xe2\x96\x81", 3, ns->ob[a], ns->oe[a]);
        else ns_push(&o, " ", 1, ns->ob[a], ns->oe[a]);
    }
    for (size_t i = a; i < b; i++) {
        if (ns->s[i] == ' ') {
            if (t->spm_remove_ws && i > a && ns->s[i - 1] == ' ') continue;
            if (t->spm_escape) { ns_push(&o, "\xe2\x96\x81", 3, ns->ob[i], ns->oe[i]); continue; }
        }
        ns_push(&o, ns->s + i, 1, ns->ob[i], ns->oe[i]);
    }
    ns_free(ns);
    *ns = o;
}

// --- BPE by scores ---------------------------------------------------------------------------
typedef struct SSym { int32_t start, len, prev, next; } SSym;
typedef struct SPair { double score; int32_t left, right, size; } SPair;

static int pair_better(const SPair *a, const SPair *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void sp_push(SPair **h, int *n, int *cap, SPair x) {
    if (*n == *cap) { *cap = *cap ? *cap * 2 : 64; *h = modex_xrealloc(*h, (size_t)*cap * sizeof **h); }
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!pair_better(&x, &(*h)[p])) break;
        (*h)[i] = (*h)[p]; i = p;
    }
    (*h)[i] = x;
}

static SPair sp_pop(SPair *h, int *n) {
    SPair top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && pair_better(&h[c + 1], &h[c])) c++;
        if (!pair_better(&h[c], &last)) break;
        h[i] = h[c]; i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static int mergeable(const Tokenizer *t, int32_t id) {
    return id >= 0 && (t->type[id] == SPM_NORMAL || t->type[id] == SPM_USER || t->type[id] == SPM_UNUSED ||
                       (!t->spm && t->type[id] == 0));
}

static void maybe_pair(const Tokenizer *t, const char *s, SSym *sy, int l, int r, SPair **h, int *nh,
                       int *cap, StrMap *rev) {
    if (l < 0 || r < 0) return;
    int32_t len = sy[l].len + sy[r].len;
    int32_t id = strmap_get(&t->vocab, s + sy[l].start, (size_t)len);
    if (!mergeable(t, id)) return;
    SPair p = {t->score[id], l, r, len};
    sp_push(h, nh, cap, p);
    if (t->type[id] == SPM_UNUSED) strmap_put(rev, s + sy[l].start, (size_t)len, sy[l].len);
}

/* Emits piece s[a, a+len): unused pieces are split back as they were merged. */
static void resegment(const Tokenizer *t, const NormStr *ns, size_t a, size_t len, const StrMap *rev,
                      TokOut *o) {
    int32_t id = strmap_get(&t->vocab, ns->s + a, len);
    if (id >= 0 && t->type[id] == SPM_UNUSED) {
        int32_t left = strmap_get(rev, ns->s + a, len);
        if (left > 0) {
            resegment(t, ns, a, (size_t)left, rev, o);
            resegment(t, ns, a + (size_t)left, len - (size_t)left, rev, o);
            return;
        }
    }
    if (id < 0 || id == t->unk_id || t->type[id] == SPM_UNKNOWN) tok_push_unknown(t, ns, a, a + len, o, 1);
    else tokout_push(o, id, ns->ob[a], ns->oe[a + len - 1]);
}

void spm_bpe_encode(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o) {
    if (n == 0) return;
    const char *s = ns->s + off;
    SSym *sy = modex_xmalloc(n * sizeof *sy);
    int m = 0;
    for (size_t i = 0; i < n;) {
        int l = tok_utf8_len((unsigned char)s[i]);
        if ((size_t)l > n - i) l = (int)(n - i);
        sy[m].start = (int32_t)i; sy[m].len = l; sy[m].prev = m - 1; sy[m].next = m + 1;
        m++;
        i += (size_t)l;
    }
    sy[m - 1].next = -1;
    SPair *h = NULL;
    int nh = 0, cap = 0;
    StrMap rev = {0};
    for (int i = 1; i < m; i++) maybe_pair(t, s, sy, i - 1, i, &h, &nh, &cap, &rev);
    while (nh > 0) {
        SPair top = sp_pop(h, &nh);
        SSym *L = &sy[top.left], *R = &sy[top.right];
        if (L->len == 0 || R->len == 0 || L->len + R->len != top.size) continue;
        L->len += R->len;
        R->len = 0;
        L->next = R->next;
        if (R->next >= 0) sy[R->next].prev = top.left;
        maybe_pair(t, s, sy, L->prev, top.left, &h, &nh, &cap, &rev);
        maybe_pair(t, s, sy, top.left, L->next, &h, &nh, &cap, &rev);
    }
    for (int i = 0; i >= 0; i = sy[i].next) resegment(t, ns, off + (size_t)sy[i].start, (size_t)sy[i].len, &rev, o);
    free(h);
    free(sy);
    strmap_free(&rev);
}
