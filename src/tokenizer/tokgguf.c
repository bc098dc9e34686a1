/* tokgguf.c — the vocabulary in GGUF metadata (tokenizer.ggml.*): model "llama" is
 * SentencePiece BPE (tokens, scores, token types), "gpt2" is byte-level BPE (tokens, merges);
 * special ids and add_bos/add_eos as llama.cpp reads them. */
#include <stdlib.h>
#include <string.h>
#include "modex/gguf.h"
#include "modex/util.h"
#include "tok_internal.h"

void spm_setup(Tokenizer *t);

/* Pre-tokenizer regexes by tokenizer.ggml.pre (llama.cpp's names); GPT-2's otherwise. */
static const char *pre_regex(const char *pre) {
    static const char llama3[] =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static const char qwen2[] =
        "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
        " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    if (pre && (!strcmp(pre, "llama3") || !strcmp(pre, "llama-bpe") || !strcmp(pre, "llama-v3"))) return llama3;
    if (pre && !strcmp(pre, "qwen2")) return qwen2;
    return TOK_GPT2_REGEX;
}

static int32_t id_key(const Gguf *g, const char *key, int n) {
    int64_t v = modex_gguf_int(g, key, -1);
    return v >= 0 && v < n ? (int32_t)v : -1;
}

Tokenizer *tok_load_gguf(const char *path, Error *err) {
    Gguf g;
    if (modex_gguf_open(&g, path, err)) return NULL;
    Tokenizer *t = NULL;
    GgufStr *tok = NULL, *mer = NULL;
    char *model = modex_gguf_str(&g, "tokenizer.ggml.model");
    char *pre = modex_gguf_str(&g, "tokenizer.ggml.pre");
    if (!model) {
        modex_error(err, path, "tokenizer.ggml.model missing (expected a GGUF file with a vocabulary)");
        goto fail;
    }
    int is_spm = !strcmp(model, "llama"), is_bpe = !strcmp(model, "gpt2");
    if (!is_spm && !is_bpe) {
        modex_error(err, path, "tokenizer.ggml.model '%s': unknown tokenizer model type (expected llama or gpt2)", model);
        goto fail;
    }
    const GgufKV *kt = modex_gguf_kv(&g, "tokenizer.ggml.tokens");
    int n = modex_gguf_arr_strs(&g, kt, &tok);
    if (n <= 0) {
        modex_error(err, path, "tokenizer.ggml.tokens missing or not strings (expected an array of strings)");
        goto fail;
    }
    const GgufKV *ks = modex_gguf_kv(&g, "tokenizer.ggml.scores");
    const GgufKV *ky = modex_gguf_kv(&g, "tokenizer.ggml.token_type");
    if ((ks && ks->arr_n != (uint64_t)n) || (ky && ky->arr_n != (uint64_t)n)) {
        modex_error(err, path, "tokenizer.ggml.scores/token_type: %llu/%llu entries (expected %d, one per token)",
                    ks ? (unsigned long long)ks->arr_n : 0ULL, ky ? (unsigned long long)ky->arr_n : 0ULL, n);
        goto fail;
    }
    t = tok_new(n);
    t->byte_level = is_bpe;
    for (int i = 0; i < n; i++) {
        tok_set_piece(t, i, tok[i].s, (size_t)tok[i].len);
        t->score[i] = ks ? modex_gguf_arr_num(ks, (uint64_t)i) : 0;
        int ty = ky ? (int)modex_gguf_arr_num(ky, (uint64_t)i) : SPM_NORMAL;
        t->type[i] = (uint8_t)(ty >= 1 && ty <= 6 ? ty : SPM_NORMAL);
    }
    t->bos_id = id_key(&g, "tokenizer.ggml.bos_token_id", n);
    t->eos_id = id_key(&g, "tokenizer.ggml.eos_token_id", n);
    t->unk_id = id_key(&g, "tokenizer.ggml.unknown_token_id", n);
    t->pad_id = id_key(&g, "tokenizer.ggml.padding_token_id", n);
    t->sep_id = id_key(&g, "tokenizer.ggml.seperator_token_id", n);
    t->cls_id = id_key(&g, "tokenizer.ggml.cls_token_id", n);
    const GgufKV *ab = modex_gguf_kv(&g, "tokenizer.ggml.add_bos_token");
    const GgufKV *ae = modex_gguf_kv(&g, "tokenizer.ggml.add_eos_token");
    int add_bos = ab ? (int)modex_gguf_int(&g, "tokenizer.ggml.add_bos_token", 0) : is_spm;
    int add_eos = ae ? (int)modex_gguf_int(&g, "tokenizer.ggml.add_eos_token", 0) : 0;
    if (add_bos && t->bos_id >= 0) { t->post_pre = modex_xmalloc(sizeof(int32_t)); t->post_pre[0] = t->bos_id; t->n_post_pre = 1; }
    if (add_eos && t->eos_id >= 0) { t->post_suf = modex_xmalloc(sizeof(int32_t)); t->post_suf[0] = t->eos_id; t->n_post_suf = 1; }
    if (is_spm) {
        t->model = TM_SPM_BPE;
        t->byte_fallback = 1;
        t->spm_escape = 1;
        t->spm_dummy = (int)modex_gguf_int(&g, "tokenizer.ggml.add_space_prefix", 1);
        t->spm_remove_ws = (int)modex_gguf_int(&g, "tokenizer.ggml.remove_extra_whitespaces", 0);
        if (t->unk_id < 0) t->unk_id = -1;
        snprintf(t->kind, sizeof t->kind, "SentencePiece BPE (GGUF)");
        spm_setup(t);
    } else {
        t->model = TM_BPE;
        const GgufKV *km = modex_gguf_kv(&g, "tokenizer.ggml.merges");
        int nm = modex_gguf_arr_strs(&g, km, &mer);
        if (nm < 0) { modex_error(err, path, "tokenizer.ggml.merges missing (expected an array of \"a b\" strings)"); goto fail; }
        pairmap_init(&t->merges, (size_t)nm);
        for (int i = 0; i < nm; i++) {
            const char *s = mer[i].s, *sp = memchr(s, ' ', (size_t)mer[i].len);
            size_t al = sp ? (size_t)(sp - s) : 0, bl = sp ? (size_t)mer[i].len - al - 1 : 0;
            char ab[1024];
            int32_t ia = -1, ib = -1, iab = -1;
            if (sp && al && bl && al + bl < sizeof ab && !memchr(sp + 1, ' ', bl)) {
                /* the merge's pieces are vocabulary strings: look them up by piece */
                memcpy(ab, s, al); memcpy(ab + al, sp + 1, bl);
                for (int k = 0; k < 3; k++) {
                    const char *p = k == 0 ? s : k == 1 ? sp + 1 : ab;
                    size_t pl = k == 0 ? al : k == 1 ? bl : al + bl;
                    char raw[1024];
                    size_t m = 0;
                    int ok = 1;
                    for (size_t q = 0; q < pl && ok;) {
                        int32_t c;
                        q += (size_t)tok_utf8_decode(p + q, pl - q, &c);
                        int v = tok_cp_to_byte(c);
                        if (v < 0) ok = 0; else raw[m++] = (char)v;
                    }
                    int32_t id = ok ? strmap_get(&t->vocab, raw, m) : strmap_get(&t->vocab, p, pl);
                    if (k == 0) ia = id; else if (k == 1) ib = id; else iab = id;
                }
            }
            if (ia < 0 || ib < 0 || iab < 0) {
                modex_error(err, path, "tokenizer.ggml.merges[%d] '%.*s' is malformed or names unknown pieces "
                            "(expected two vocabulary pieces separated by one space)", i, (int)MODEX_MIN(mer[i].len, 80), s);
                goto fail;
            }
            pairmap_put(&t->merges, ia, ib, i, iab);
        }
        PreTok pt;
        memset(&pt, 0, sizeof pt);
        pt.kind = P_BYTELEVEL; pt.use_regex = 1;
        const char *re = pre_regex(pre);
        if (!(pt.re = tok_regex(re, strlen(re), err, path))) goto fail;
        t->pre = modex_xcalloc(1, sizeof *t->pre);
        t->pre[0] = pt; t->n_pre = 1;
        t->dec = modex_xcalloc(1, sizeof *t->dec);
        t->dec[0].kind = D_BYTELEVEL; t->n_dec = 1;
        for (int i = 0; i < n; i++)
            if (t->type[i] == SPM_CONTROL || t->type[i] == SPM_USER)
                tok_add_added(t, t->piece[i], t->piece_len[i], i, t->type[i] == SPM_CONTROL);
        snprintf(t->kind, sizeof t->kind, "byte-level BPE (GGUF)");
        tok_finish(t);
    }
    free(tok); free(mer); free(model); free(pre);
    modex_gguf_close(&g);
    return t;
fail:
    free(tok); free(mer); free(model); free(pre);
    modex_gguf_close(&g);
    modex_tok_free(t);
    return NULL;
}
