/* tokenizer.c — the public tokenizer API: finding the tokenizer files, the encode pipeline
 * (added tokens -> normalizers -> pre-tokenizers -> model -> post-processor), decoding. */
#include <stdlib.h>
#include <string.h>
#include "modex/tokenizer.h"
#include "modex/util.h"
#include "tok_internal.h"

// --- construction --------------------------------------------------------------------------
Tokenizer *tok_new(int n_vocab) {
    Tokenizer *t = modex_xcalloc(1, sizeof *t);
    t->n_vocab = n_vocab;
    t->vocab_cap = n_vocab + 1;
    t->piece = modex_xcalloc((size_t)n_vocab + 1, sizeof *t->piece);
    t->piece_len = modex_xcalloc((size_t)n_vocab + 1, sizeof *t->piece_len);
    t->form = modex_xcalloc((size_t)n_vocab + 1, sizeof *t->form);
    t->form_len = modex_xcalloc((size_t)n_vocab + 1, sizeof *t->form_len);
    t->score = modex_xcalloc((size_t)n_vocab + 1, sizeof *t->score);
    t->type = modex_xcalloc((size_t)n_vocab + 1, 1);
    strmap_init(&t->vocab, (size_t)n_vocab);
    t->unk_id = t->bos_id = t->eos_id = t->pad_id = t->cls_id = t->sep_id = -1;
    t->max_chars = 100;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

static void grow_vocab(Tokenizer *t, int n) {
    if (n <= t->n_vocab) return;
    size_t o = (size_t)t->n_vocab + 1, m = (size_t)n + 1;
    if (n + 1 > t->vocab_cap) { /* geometric growth: loading a vocabulary id by id stays linear */
        int cap = t->vocab_cap ? t->vocab_cap : 256;
        while (cap < n + 1) cap *= 2;
        t->piece = modex_xrealloc(t->piece, (size_t)cap * sizeof *t->piece);
        t->piece_len = modex_xrealloc(t->piece_len, (size_t)cap * sizeof *t->piece_len);
        t->form = modex_xrealloc(t->form, (size_t)cap * sizeof *t->form);
        t->form_len = modex_xrealloc(t->form_len, (size_t)cap * sizeof *t->form_len);
        t->score = modex_xrealloc(t->score, (size_t)cap * sizeof *t->score);
        t->type = modex_xrealloc(t->type, (size_t)cap);
        t->vocab_cap = cap;
    }
    for (size_t i = o; i < m; i++) {
        t->piece[i] = t->form[i] = NULL; t->piece_len[i] = t->form_len[i] = 0;
        t->score[i] = 0; t->type[i] = 0;
    }
    t->n_vocab = n;
}

void tok_set_piece(Tokenizer *t, int32_t id, const char *s, size_t len) {
    if (id < 0) return;
    grow_vocab(t, id + 1);
    if (t->form[id] != t->piece[id]) free(t->form[id]);
    free(t->piece[id]);
    t->piece[id] = modex_xmalloc(len + 1);
    memcpy(t->piece[id], s, len); t->piece[id][len] = 0;
    t->piece_len[id] = (uint32_t)len;
    t->form[id] = t->piece[id]; t->form_len[id] = (uint32_t)len;
    if (t->byte_level) { /* the model works on raw bytes: undo the byte->unicode mapping */
        char *b = modex_xmalloc(len + 1);
        size_t n = 0;
        int ok = 1;
        for (size_t i = 0; i < len && ok;) {
            int32_t c;
            i += (size_t)tok_utf8_decode(s + i, len - i, &c);
            int v = tok_cp_to_byte(c);
            if (v < 0) ok = 0;
            else b[n++] = (char)v;
        }
        if (ok) { b[n] = 0; t->form[id] = b; t->form_len[id] = (uint32_t)n; }
        else free(b);
    }
    strmap_put(&t->vocab, t->form[id], t->form_len[id], id);
}

AddedTok *tok_add_added(Tokenizer *t, const char *s, size_t len, int32_t id, int special) {
    if (!len) return NULL;
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == len && memcmp(t->added[i].content, s, len) == 0) return NULL;
    t->added = modex_xrealloc(t->added, (size_t)(t->n_added + 1) * sizeof *t->added);
    AddedTok *a = &t->added[t->n_added++];
    memset(a, 0, sizeof *a);
    a->content = modex_xmalloc(len + 1);
    memcpy(a->content, s, len); a->content[len] = 0;
    a->len = len; a->id = id; a->special = special;
    return a;
}

static int32_t find_piece(const Tokenizer *t, const char *s) {
    for (int i = 0; i < t->n_vocab; i++)
        if (t->piece[i] && strcmp(t->piece[i], s) == 0) return i;
    return -1;
}

void tok_finish(Tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        char name[8];
        if (t->byte_level) {
            char c = (char)b;
            t->byte_id[b] = strmap_get(&t->vocab, &c, 1);
        } else {
            snprintf(name, sizeof name, "<0x%02X>", b);
            t->byte_id[b] = strmap_get(&t->vocab, name, 6);
        }
    }
    if (!t->byte_level && t->spm) /* SentencePiece byte pieces are typed, not just named */
        for (int b = 0; b < 256; b++)
            if (t->byte_id[b] >= 0 && t->type[t->byte_id[b]] && t->type[t->byte_id[b]] != SPM_BYTE) t->byte_id[b] = -1;
    static const char *bos[] = {"<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>", "<|endoftext|>", NULL};
    static const char *eos[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>", NULL};
    for (int i = 0; t->bos_id < 0 && bos[i]; i++) t->bos_id = find_piece(t, bos[i]);
    for (int i = 0; t->eos_id < 0 && eos[i]; i++) t->eos_id = find_piece(t, eos[i]);
    if (t->cls_id < 0) t->cls_id = find_piece(t, "[CLS]");
    if (t->sep_id < 0) t->sep_id = find_piece(t, "[SEP]");
    if (t->pad_id < 0) t->pad_id = find_piece(t, "[PAD]");
    if (t->pad_id < 0) t->pad_id = find_piece(t, "<pad>");
    t->min_score = 1e300; t->max_score = -1e300;
    t->max_piece_len = 1;
    for (int i = 0; i < t->n_vocab; i++) {
        if (!t->piece[i]) continue;
        if (t->score[i] < t->min_score) t->min_score = t->score[i];
        if (t->score[i] > t->max_score) t->max_score = t->score[i];
        if ((int)t->form_len[i] > t->max_piece_len) t->max_piece_len = (int)t->form_len[i];
    }
    for (int i = 0; i < t->n_added; i++) if (t->added[i].id >= t->n_vocab) grow_vocab(t, t->added[i].id + 1);
    for (int i = 0; i < t->n_added; i++)
        if (!t->piece[t->added[i].id]) {
            t->piece[t->added[i].id] = modex_xstrdup(t->added[i].content);
            t->piece_len[t->added[i].id] = (uint32_t)t->added[i].len;
            t->form[t->added[i].id] = t->piece[t->added[i].id];
            t->form_len[t->added[i].id] = (uint32_t)t->added[i].len;
        }
}

// --- loading -------------------------------------------------------------------------------
static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

Tokenizer *modex_tok_load(const char *path, Error *err) {
    Tokenizer *t = NULL;
    if (modex_path_is_dir(path)) {
        char *tj = modex_path_join(path, "tokenizer.json");
        char *vj = modex_path_join(path, "vocab.json");
        char *mt = modex_path_join(path, "merges.txt");
        char *sp = modex_path_join(path, "tokenizer.model");
        if (modex_file_exists(tj)) t = tok_load_json(tj, err);
        else if (modex_file_exists(vj) && modex_file_exists(mt)) t = tok_load_gpt2(vj, mt, err);
        else if (modex_file_exists(sp)) t = tok_load_spm(sp, err);
        else modex_error(err, path, "no tokenizer found (expected tokenizer.json, vocab.json + merges.txt or tokenizer.model)");
        free(tj); free(vj); free(mt); free(sp);
    } else if (!modex_file_exists(path)) {
        modex_error(err, path, "no such file (expected a tokenizer file or a model folder)");
    } else if (ends_with(path, ".gguf")) {
        t = tok_load_gguf(path, err);
    } else if (ends_with(path, ".model")) {
        t = tok_load_spm(path, err);
    } else if (ends_with(path, "vocab.json")) {
        char *dir = modex_xstrdup(path);
        char *slash = strrchr(dir, '/');
        char *mt;
        if (slash) { slash[1] = 0; mt = modex_path_join(dir, "merges.txt"); }
        else mt = modex_xstrdup("merges.txt");
        if (modex_file_exists(mt)) t = tok_load_gpt2(path, mt, err);
        else modex_error(err, mt, "missing (expected merges.txt next to vocab.json)");
        free(mt); free(dir);
    } else {
        t = tok_load_json(path, err);
    }
    if (t) t->path = modex_xstrdup(path);
    return t;
}

void modex_tok_free(Tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_vocab; i++) {
        if (t->form[i] != t->piece[i]) free(t->form[i]);
        free(t->piece[i]);
    }
    free(t->piece); free(t->piece_len); free(t->form); free(t->form_len); free(t->score); free(t->type);
    strmap_free(&t->vocab);
    pairmap_free(&t->merges);
    free(t->cont_prefix); free(t->bpe_prefix); free(t->bpe_suffix);
    for (int i = 0; i < t->n_norm; i++) {
        free(t->norm[i].pat); free(t->norm[i].content);
        if (t->norm[i].re) pcre2_code_free(t->norm[i].re);
    }
    free(t->norm);
    for (int i = 0; i < t->n_pre; i++) {
        free(t->pre[i].pat);
        if (t->pre[i].re) pcre2_code_free(t->pre[i].re);
    }
    free(t->pre);
    for (int i = 0; i < t->n_dec; i++) { free(t->dec[i].a); free(t->dec[i].b); }
    free(t->dec);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    free(t->post_pre); free(t->post_suf);
    strmap_free(&t->cache);
    for (int i = 0; i < t->n_cached; i++) free(t->cached[i].ids);
    free(t->cached);
    pthread_mutex_destroy(&t->lock);
    free(t->path);
    free(t);
}

// --- encoding -----------------------------------------------------------------------------
static void encode_segment(const Tokenizer *t, const char *text, size_t a, size_t b, TokOut *o) {
    if (b <= a) return;
    NormStr ns;
    ns_from_text(&ns, text + a, b - a, (int32_t)a);
    if (t->spm) {
        spm_normalize(t, &ns);
        if (t->model == TM_UNIGRAM) unigram_encode(t, &ns, 0, ns.n, o);
        else spm_bpe_encode(t, &ns, 0, ns.n, o);
        ns_free(&ns);
        return;
    }
    for (int i = 0; i < t->n_norm; i++) tok_normalize(&t->norm[i], &ns);
    Ranges w = {0};
    if (ns.n) ranges_push(&w, 0, ns.n);
    for (int i = 0; i < t->n_pre && w.n; i++) tok_pretokenize(&t->pre[i], &ns, &w);
    for (int i = 0; i < w.n; i++) {
        size_t off = w.r[i].b, n = w.r[i].e - w.r[i].b;
        switch (t->model) {
        case TM_BPE: bpe_encode_word(t, &ns, off, n, o); break;
        case TM_WORDPIECE: wordpiece_encode_word(t, &ns, off, n, o); break;
        case TM_UNIGRAM: unigram_encode(t, &ns, off, n, o); break;
        case TM_SPM_BPE: spm_bpe_encode(t, &ns, off, n, o); break;
        }
    }
    free(w.r);
    ns_free(&ns);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The added token starting at text[i] (longest), or -1. */
static int added_at(const Tokenizer *t, const char *text, size_t len, size_t i) {
    int best = -1;
    for (int k = 0; k < t->n_added; k++) {
        const AddedTok *a = &t->added[k];
        if (a->len <= len - i && text[i] == a->content[0] && memcmp(text + i, a->content, a->len) == 0 &&
            (best < 0 || a->len > t->added[best].len))
            best = k;
    }
    return best;
}

int modex_tok_encode(const Tokenizer *t, const char *text, size_t len, int add_special,
                     TokEncoding *out, Error *err) {
    memset(out, 0, sizeof *out);
    long bad = tok_utf8_invalid(text, len);
    if (bad >= 0)
        return modex_error_at(err, "(text)", bad, "invalid UTF-8 byte 0x%02x (expected UTF-8 text)",
                              (unsigned char)text[bad]);
    if (len > INT32_MAX) return modex_error(err, "(text)", "text of %zu bytes is too long (expected < 2 GiB)", len);
    TokOut o = {0};
    if (add_special) for (int i = 0; i < t->n_post_pre; i++) tokout_push(&o, t->post_pre[i], -1, -1);
    size_t seg = 0;
    for (size_t i = 0; i < len && t->n_added;) {
        int k = added_at(t, text, len, i);
        if (k < 0) { i++; continue; }
        const AddedTok *a = &t->added[k];
        size_t end = i, next = i + a->len;
        if (a->lstrip) while (end > seg && is_space(text[end - 1])) end--;
        if (a->rstrip) while (next < len && is_space(text[next])) next++;
        encode_segment(t, text, seg, end, &o);
        tokout_push(&o, a->id, a->special ? -1 : (int32_t)i, a->special ? -1 : (int32_t)(i + a->len));
        seg = i = next;
    }
    encode_segment(t, text, seg, len, &o);
    if (add_special) for (int i = 0; i < t->n_post_suf; i++) tokout_push(&o, t->post_suf[i], -1, -1);
    if (o.has_bad) {
        int32_t c;
        tok_utf8_decode(text + o.bad_at, len - (size_t)o.bad_at, &c);
        modex_error_at(err, "(text)", o.bad_at, "U+%04X has no token in %s (expected a vocabulary with an unknown "
                       "token or byte pieces)", (unsigned)c, t->path ? t->path : "the vocabulary");
        free(o.ids); free(o.b); free(o.e);
        return -1;
    }
    out->ids = o.ids; out->begin = o.b; out->end = o.e; out->n = o.n;
    if (!out->ids) { /* empty text: keep valid (non-NULL) arrays */
        out->ids = modex_xmalloc(sizeof(int32_t));
        out->begin = modex_xmalloc(sizeof(int32_t));
        out->end = modex_xmalloc(sizeof(int32_t));
    }
    return 0;
}

void modex_tok_encoding_free(TokEncoding *e) {
    if (!e) return;
    free(e->ids); free(e->begin); free(e->end);
    memset(e, 0, sizeof *e);
}

// --- decoding and queries ------------------------------------------------------------------
static int is_special(const Tokenizer *t, int32_t id) {
    if (t->type[id] == SPM_CONTROL) return 1;
    for (int i = 0; i < t->n_added; i++) if (t->added[i].id == id) return t->added[i].special;
    return 0;
}

char *modex_tok_decode(const Tokenizer *t, const int32_t *ids, int n, int skip_special) {
    char **tok = modex_xmalloc(((size_t)n + 1) * sizeof *tok);
    size_t *len = modex_xmalloc(((size_t)n + 1) * sizeof *len);
    int m = 0;
    for (int i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab || !t->piece[id]) continue;
        if (skip_special && is_special(t, id)) continue;
        tok[m] = modex_xmalloc(t->piece_len[id] + 1);
        memcpy(tok[m], t->piece[id], t->piece_len[id] + 1);
        len[m++] = t->piece_len[id];
    }
    return tok_decode_pieces(t, tok, len, m); /* frees tok[] */
}

int modex_tok_vocab_size(const Tokenizer *t) { return t->n_vocab; }

const char *modex_tok_piece(const Tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab ? t->piece[id] : NULL;
}

int32_t modex_tok_special(const Tokenizer *t, const char *w) {
    if (!strcmp(w, "bos")) return t->bos_id;
    if (!strcmp(w, "eos")) return t->eos_id;
    if (!strcmp(w, "unk")) return t->unk_id;
    if (!strcmp(w, "pad")) return t->pad_id;
    if (!strcmp(w, "cls")) return t->cls_id;
    if (!strcmp(w, "sep")) return t->sep_id;
    return -1;
}

const char *modex_tok_kind(const Tokenizer *t) { return t->kind; }

int modex_tok_special_added(const Tokenizer *t, const int32_t **prefix, int *n_prefix,
                            const int32_t **suffix, int *n_suffix) {
    if (prefix) *prefix = t->post_pre;
    if (n_prefix) *n_prefix = t->n_post_pre;
    if (suffix) *suffix = t->post_suf;
    if (n_suffix) *n_suffix = t->n_post_suf;
    return t->n_post_pre + t->n_post_suf;
}
