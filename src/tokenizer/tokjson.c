/* tokjson.c — loading tokenizer.json (Hugging Face tokenizers: model, normalizer,
 * pre-tokenizer, post-processor, decoder, added tokens) and GPT-2 vocab.json + merges.txt. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

// --- small JSON helpers --------------------------------------------------------------------
static const char *jstr(const json_t *o, const char *k) {
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jbool(const json_t *o, const char *k, int def) {
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static long long jint(const json_t *o, const char *k, long long def) {
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

/* pattern: {"String": s} or {"Regex": r}; sets either a literal or a compiled regex */
static int jpattern(const json_t *o, char **lit, size_t *litlen, pcre2_code **re, const char *file,
                    const char *where, Error *err) {
    const json_t *p = json_object_get(o, "pattern");
    const char *s = jstr(p, "String");
    if (s) { *lit = modex_xstrdup(s); *litlen = strlen(s); return 0; }
    const json_t *r = json_object_get(p, "Regex");
    if (json_is_string(r)) {
        *re = tok_regex(json_string_value(r), json_string_length(r), err, file);
        return *re ? 0 : -1;
    }
    return modex_error(err, file, "%s: pattern (expected {\"String\": ...} or {\"Regex\": ...})", where);
}

static int jbehavior(const char *b) {
    if (!b) return SB_ISOLATED;
    if (!strcmp(b, "Removed")) return SB_REMOVED;
    if (!strcmp(b, "MergedWithPrevious")) return SB_PREV;
    if (!strcmp(b, "MergedWithNext")) return SB_NEXT;
    if (!strcmp(b, "Contiguous")) return SB_CONTIGUOUS;
    return SB_ISOLATED;
}

/* Metaspace prepend scheme: prepend_scheme, else the legacy add_prefix_space. */
static int jprepend(const json_t *o) {
    const char *s = jstr(o, "prepend_scheme");
    if (s) return !strcmp(s, "always") ? 2 : !strcmp(s, "first") ? 1 : 0;
    return jbool(o, "add_prefix_space", 1) ? 2 : 0;
}

static void jrepl(const json_t *o, char *repl, int *rl) {
    const char *r = jstr(o, "replacement");
    if (!r || strlen(r) > 4) r = "\xe2\x96\x81";
    strcpy(repl, r);
    if (rl) *rl = (int)strlen(r);
}

// --- pipeline sections ----------------------------------------------------------------------
static int parse_normalizer(Tokenizer *t, const json_t *o, const char *file, Error *err) {
    if (json_is_null(o) || !o) return 0;
    const char *ty = jstr(o, "type");
    if (ty && !strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(o, "normalizers");
        size_t i;
        const json_t *v;
        json_array_foreach(a, i, v) if (parse_normalizer(t, v, file, err)) return -1;
        return 0;
    }
    Normalizer nz;
    memset(&nz, 0, sizeof nz);
    if (!ty) return modex_error(err, file, "normalizer.type missing (expected a normalizer object)");
    if (!strcmp(ty, "NFC")) nz.kind = N_NFC;
    else if (!strcmp(ty, "NFD")) nz.kind = N_NFD;
    else if (!strcmp(ty, "NFKC") || !strcmp(ty, "Precompiled")) nz.kind = N_NFKC; /* Precompiled: the nmt_nfkc charsmap, approximated by NFKC */
    else if (!strcmp(ty, "NFKD")) nz.kind = N_NFKD;
    else if (!strcmp(ty, "Lowercase")) nz.kind = N_LOWER;
    else if (!strcmp(ty, "StripAccents")) nz.kind = N_STRIP_ACCENTS;
    else if (!strcmp(ty, "Strip")) {
        nz.kind = N_STRIP;
        nz.left = jbool(o, "strip_left", 1); nz.right = jbool(o, "strip_right", 1);
    } else if (!strcmp(ty, "Prepend")) {
        nz.kind = N_PREPEND;
        const char *p = jstr(o, "prepend");
        nz.content = modex_xstrdup(p ? p : ""); nz.clen = strlen(nz.content);
    } else if (!strcmp(ty, "Replace")) {
        nz.kind = N_REPLACE;
        if (jpattern(o, &nz.pat, &nz.plen, &nz.re, file, "normalizer Replace", err)) return -1;
        const char *c = jstr(o, "content");
        nz.content = modex_xstrdup(c ? c : ""); nz.clen = strlen(nz.content);
    } else if (!strcmp(ty, "BertNormalizer")) {
        nz.kind = N_BERT;
        nz.clean = jbool(o, "clean_text", 1);
        nz.chinese = jbool(o, "handle_chinese_chars", 1);
        nz.lower = jbool(o, "lowercase", 1);
        nz.strip_accents = jbool(o, "strip_accents", nz.lower); /* null follows lowercase */
    } else {
        return modex_error(err, file, "normalizer type '%s' is not supported (expected BertNormalizer, "
                           "NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, StripAccents, Sequence)", ty);
    }
    t->norm = modex_xrealloc(t->norm, (size_t)(t->n_norm + 1) * sizeof *t->norm);
    t->norm[t->n_norm++] = nz;
    return 0;
}

static int parse_pretok(Tokenizer *t, const json_t *o, const char *file, Error *err) {
    if (json_is_null(o) || !o) return 0;
    const char *ty = jstr(o, "type");
    if (ty && !strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(o, "pretokenizers");
        size_t i;
        const json_t *v;
        json_array_foreach(a, i, v) if (parse_pretok(t, v, file, err)) return -1;
        return 0;
    }
    PreTok p;
    memset(&p, 0, sizeof p);
    if (!ty) return modex_error(err, file, "pre_tokenizer.type missing (expected a pre-tokenizer object)");
    if (!strcmp(ty, "ByteLevel")) {
        p.kind = P_BYTELEVEL;
        p.add_prefix_space = jbool(o, "add_prefix_space", 1);
        p.use_regex = jbool(o, "use_regex", 1);
        if (p.use_regex && !(p.re = tok_regex(TOK_GPT2_REGEX, strlen(TOK_GPT2_REGEX), err, file))) return -1;
        t->byte_level = 1;
    } else if (!strcmp(ty, "BertPreTokenizer")) {
        p.kind = P_BERT;
    } else if (!strcmp(ty, "Whitespace")) {
        p.kind = P_WHITESPACE;
        static const char re[] = "\\w+|[^\\w\\s]+";
        if (!(p.re = tok_regex(re, strlen(re), err, file))) return -1;
    } else if (!strcmp(ty, "WhitespaceSplit")) {
        p.kind = P_WSSPLIT;
    } else if (!strcmp(ty, "Metaspace")) {
        p.kind = P_METASPACE;
        jrepl(o, p.repl, &p.repl_len);
        p.prepend = jprepend(o);
        p.split = jbool(o, "split", 1);
    } else if (!strcmp(ty, "Split")) {
        p.kind = P_SPLIT;
        if (jpattern(o, &p.pat, &p.plen, &p.re, file, "pre_tokenizer Split", err)) return -1;
        p.behavior = jbehavior(jstr(o, "behavior"));
        p.invert = jbool(o, "invert", 0);
    } else if (!strcmp(ty, "Digits")) {
        p.kind = P_DIGITS;
        p.individual = jbool(o, "individual_digits", 0);
    } else if (!strcmp(ty, "Punctuation")) {
        p.kind = P_PUNCT;
        p.behavior = jbehavior(jstr(o, "behavior"));
    } else {
        return modex_error(err, file, "pre_tokenizer type '%s' is not supported (expected ByteLevel, "
                           "BertPreTokenizer, Whitespace, WhitespaceSplit, Metaspace, Split, Digits, "
                           "Punctuation, Sequence)", ty);
    }
    t->pre = modex_xrealloc(t->pre, (size_t)(t->n_pre + 1) * sizeof *t->pre);
    t->pre[t->n_pre++] = p;
    return 0;
}

static int parse_decoder(Tokenizer *t, const json_t *o, const char *file, Error *err) {
    if (json_is_null(o) || !o) return 0;
    const char *ty = jstr(o, "type");
    if (ty && !strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(o, "decoders");
        size_t i;
        const json_t *v;
        json_array_foreach(a, i, v) if (parse_decoder(t, v, file, err)) return -1;
        return 0;
    }
    Decoder d;
    memset(&d, 0, sizeof d);
    if (!ty) return modex_error(err, file, "decoder.type missing (expected a decoder object)");
    if (!strcmp(ty, "ByteLevel")) { d.kind = D_BYTELEVEL; t->byte_level = 1; }
    else if (!strcmp(ty, "ByteFallback")) d.kind = D_BYTEFALLBACK;
    else if (!strcmp(ty, "Fuse")) d.kind = D_FUSE;
    else if (!strcmp(ty, "WordPiece")) {
        d.kind = D_WORDPIECE;
        const char *p = jstr(o, "prefix");
        d.a = modex_xstrdup(p ? p : "##");
        d.cleanup = jbool(o, "cleanup", 1);
    } else if (!strcmp(ty, "Metaspace")) {
        d.kind = D_METASPACE;
        jrepl(o, d.repl, NULL);
        d.prepend = jprepend(o) != 0;
    } else if (!strcmp(ty, "Replace")) {
        d.kind = D_REPLACE;
        const char *s = jstr(json_object_get(o, "pattern"), "String");
        if (!s) return modex_error(err, file, "decoder Replace: pattern (expected {\"String\": ...})");
        const char *c = jstr(o, "content");
        d.a = modex_xstrdup(s); d.b = modex_xstrdup(c ? c : "");
    } else if (!strcmp(ty, "Strip")) {
        d.kind = D_STRIP;
        const char *c = jstr(o, "content");
        d.a = modex_xstrdup(c ? c : " ");
        d.start = (int)jint(o, "start", 0); d.stop = (int)jint(o, "stop", 0);
    } else if (!strcmp(ty, "BPEDecoder")) {
        d.kind = D_BPE_SUFFIX;
        const char *s = jstr(o, "suffix");
        d.a = modex_xstrdup(s ? s : "</w>");
    } else {
        return modex_error(err, file, "decoder type '%s' is not supported (expected ByteLevel, WordPiece, "
                           "Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, Sequence)", ty);
    }
    t->dec = modex_xrealloc(t->dec, (size_t)(t->n_dec + 1) * sizeof *t->dec);
    t->dec[t->n_dec++] = d;
    return 0;
}

static void post_add(int32_t **a, int *n, int32_t id) {
    *a = modex_xrealloc(*a, (size_t)(*n + 1) * sizeof **a);
    (*a)[(*n)++] = id;
}

static int parse_post(Tokenizer *t, const json_t *o, const char *file, Error *err) {
    if (json_is_null(o) || !o) return 0;
    const char *ty = jstr(o, "type");
    if (!ty) return modex_error(err, file, "post_processor.type missing (expected a post-processor object)");
    if (!strcmp(ty, "Sequence")) {
        const json_t *a = json_object_get(o, "processors");
        size_t i;
        const json_t *v;
        json_array_foreach(a, i, v) if (parse_post(t, v, file, err)) return -1;
        return 0;
    }
    if (!strcmp(ty, "ByteLevel")) return 0; /* only trims offsets */
    if (!strcmp(ty, "TemplateProcessing")) {
        const json_t *single = json_object_get(o, "single"), *specials = json_object_get(o, "special_tokens");
        int seen_seq = 0;
        size_t i;
        const json_t *v;
        json_array_foreach(single, i, v) {
            if (json_object_get(v, "Sequence")) { seen_seq = 1; continue; }
            const char *name = jstr(json_object_get(v, "SpecialToken"), "id");
            const json_t *sp = name ? json_object_get(specials, name) : NULL;
            const json_t *ids = json_object_get(sp, "ids");
            if (!json_is_array(ids))
                return modex_error(err, file, "post_processor: special token '%s' (expected it in special_tokens with ids)",
                                   name ? name : "?");
            size_t k;
            const json_t *id;
            json_array_foreach(ids, k, id) {
                if (seen_seq) post_add(&t->post_suf, &t->n_post_suf, (int32_t)json_integer_value(id));
                else post_add(&t->post_pre, &t->n_post_pre, (int32_t)json_integer_value(id));
            }
            if (name && !strcmp(name, "[CLS]")) t->cls_id = (int32_t)json_integer_value(json_array_get(ids, 0));
            if (name && !strcmp(name, "[SEP]")) t->sep_id = (int32_t)json_integer_value(json_array_get(ids, 0));
        }
        return 0;
    }
    if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
        const json_t *cls = json_object_get(o, "cls"), *sep = json_object_get(o, "sep");
        if (!json_is_array(cls) || !json_is_array(sep))
            return modex_error(err, file, "post_processor %s: cls/sep (expected [token, id] pairs)", ty);
        t->cls_id = (int32_t)json_integer_value(json_array_get(cls, 1));
        t->sep_id = (int32_t)json_integer_value(json_array_get(sep, 1));
        post_add(&t->post_pre, &t->n_post_pre, t->cls_id);
        post_add(&t->post_suf, &t->n_post_suf, t->sep_id);
        return 0;
    }
    return modex_error(err, file, "post_processor type '%s' is not supported (expected TemplateProcessing, "
                       "BertProcessing, RobertaProcessing, ByteLevel, Sequence)", ty);
}

// --- merges -------------------------------------------------------------------------------
/* Adds merge (a, b) with the given rank; 1 = ok, 0 = a piece is missing from the vocabulary. */
static int add_merge(Tokenizer *t, const char *a, size_t al, const char *b, size_t bl, int32_t rank,
                     const char **missing) {
    char *ab = modex_xmalloc(al + bl + 1);
    memcpy(ab, a, al); memcpy(ab + al, b, bl); ab[al + bl] = 0;
    /* look the pieces up in the model's form (raw bytes for byte-level) */
    int32_t ia = -1, ib = -1, iab = -1;
    const char *parts[3] = {a, b, ab};
    size_t lens[3] = {al, bl, al + bl};
    int32_t *ids[3] = {&ia, &ib, &iab};
    for (int k = 0; k < 3; k++) {
        const char *s = parts[k];
        size_t n = lens[k];
        char tmp[1024];
        if (t->byte_level && n < sizeof tmp) {
            size_t m = 0;
            int ok = 1;
            for (size_t i = 0; i < n && ok;) {
                int32_t c;
                i += (size_t)tok_utf8_decode(s + i, n - i, &c);
                int v = tok_cp_to_byte(c);
                if (v < 0) ok = 0; else tmp[m++] = (char)v;
            }
            if (ok) { s = tmp; n = m; }
        }
        *ids[k] = strmap_get(&t->vocab, s, n);
    }
    free(ab);
    if (ia < 0) { *missing = "first"; return 0; }
    if (ib < 0) { *missing = "second"; return 0; }
    if (iab < 0) { *missing = "merged"; return 0; }
    pairmap_put(&t->merges, ia, ib, rank, iab);
    return 1;
}

// --- tokenizer.json ----------------------------------------------------------------------------
static int load_model(Tokenizer *t, const json_t *m, const char *file, Error *err) {
    const char *ty = jstr(m, "type");
    const json_t *vocab = json_object_get(m, "vocab");
    if (!ty) ty = json_object_get(m, "merges") ? "BPE" : json_is_array(vocab) ? "Unigram"
                 : json_object_get(m, "continuing_subword_prefix") ? "WordPiece" : "?";
    const char *unk = jstr(m, "unk_token");
    if (strcmp(ty, "BPE")) t->byte_level = 0; /* a ByteLevel decoder alone does not make WordPiece byte-level */
    if (!strcmp(ty, "BPE") || !strcmp(ty, "WordPiece")) {
        if (!json_is_object(vocab)) return modex_error(err, file, "model.vocab (expected an object of piece: id)");
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)vocab, k, v) {
            json_int_t id = json_integer_value(v);
            if (!json_is_integer(v) || id < 0)
                return modex_error(err, file, "model.vocab['%s'] (expected a non-negative integer id)", k);
            if (id >= tok_id_limit(json_object_size(vocab)))
                return modex_error(err, file, "model.vocab['%s']: id %lld is far past the %zu entries (expected an id below %lld)",
                                   k, (long long)id, json_object_size(vocab), tok_id_limit(json_object_size(vocab)));
            tok_set_piece(t, (int32_t)id, k, strlen(k));
        }
        if (unk) t->unk_id = strmap_get(&t->vocab, unk, strlen(unk));
    }
    if (!strcmp(ty, "BPE")) {
        t->model = TM_BPE;
        const char *pre = jstr(m, "continuing_subword_prefix"), *suf = jstr(m, "end_of_word_suffix");
        if (pre && *pre) t->bpe_prefix = modex_xstrdup(pre); /* ASCII in practice: the same bytes in both forms */
        if (suf && *suf) t->bpe_suffix = modex_xstrdup(suf);
        t->byte_fallback = jbool(m, "byte_fallback", 0);
        t->fuse_unk = jbool(m, "fuse_unk", 0);
        t->ignore_merges = jbool(m, "ignore_merges", 0);
        const json_t *merges = json_object_get(m, "merges");
        if (!json_is_array(merges)) return modex_error(err, file, "model.merges (expected an array)");
        pairmap_init(&t->merges, json_array_size(merges));
        size_t i;
        const json_t *v;
        json_array_foreach(merges, i, v) {
            const char *a, *b, *miss = NULL;
            size_t al, bl;
            if (json_is_string(v)) {
                a = json_string_value(v);
                const char *sp = strchr(a, ' ');
                if (!sp || strchr(sp + 1, ' ') || sp == a || !sp[1])
                    return modex_error(err, file, "model.merges[%zu] '%s' is malformed (expected two pieces separated by one space)", i, a);
                al = (size_t)(sp - a); b = sp + 1; bl = strlen(b);
            } else if (json_is_array(v) && json_array_size(v) == 2 && json_is_string(json_array_get(v, 0)) &&
                       json_is_string(json_array_get(v, 1))) {
                a = json_string_value(json_array_get(v, 0)); al = json_string_length(json_array_get(v, 0));
                b = json_string_value(json_array_get(v, 1)); bl = json_string_length(json_array_get(v, 1));
            } else {
                return modex_error(err, file, "model.merges[%zu] is malformed (expected \"a b\" or [\"a\", \"b\"])", i);
            }
            if (!add_merge(t, a, al, b, bl, (int32_t)i, &miss))
                return modex_error(err, file, "model.merges[%zu]: the %s piece of '%.*s %.*s' is not in the vocabulary (expected known pieces)",
                                   i, miss, (int)al, a, (int)bl, b);
        }
        snprintf(t->kind, sizeof t->kind, "%sBPE (tokenizer.json)",
                 t->byte_level ? "byte-level " : t->byte_fallback ? "SentencePiece-style " : "");
        return 0;
    }
    if (!strcmp(ty, "WordPiece")) {
        t->model = TM_WORDPIECE;
        const char *p = jstr(m, "continuing_subword_prefix");
        t->cont_prefix = modex_xstrdup(p ? p : "##");
        t->max_chars = (int)jint(m, "max_input_chars_per_word", 100);
        if (t->unk_id < 0) return modex_error(err, file, "model.unk_token (expected a piece of the vocabulary)");
        snprintf(t->kind, sizeof t->kind, "WordPiece (tokenizer.json)");
        return 0;
    }
    if (!strcmp(ty, "Unigram")) {
        t->model = TM_UNIGRAM;
        if (!json_is_array(vocab)) return modex_error(err, file, "model.vocab (expected an array of [piece, score])");
        size_t i;
        const json_t *v;
        json_array_foreach(vocab, i, v) {
            const json_t *p = json_array_get(v, 0), *s = json_array_get(v, 1);
            if (!json_is_string(p) || !json_is_number(s))
                return modex_error(err, file, "model.vocab[%zu] (expected [piece, score])", i);
            tok_set_piece(t, (int32_t)i, json_string_value(p), json_string_length(p));
            t->score[i] = json_number_value(s);
        }
        long long unk = jint(m, "unk_id", -1); /* the id encode emits for unknown text */
        if (unk >= (long long)json_array_size(vocab))
            return modex_error(err, file, "model.unk_id %lld (expected an index into model.vocab of %zu pieces, or null)",
                               unk, json_array_size(vocab));
        t->unk_id = unk < 0 ? -1 : (int32_t)unk;
        t->byte_fallback = jbool(m, "byte_fallback", 0);
        t->fuse_unk = 1;
        snprintf(t->kind, sizeof t->kind, "Unigram (tokenizer.json)");
        return 0;
    }
    return modex_error(err, file, "model.type '%s': unknown tokenizer model type (expected BPE, WordPiece or Unigram)", ty);
}

Tokenizer *tok_load_json(const char *path, Error *err) {
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        modex_error_line(err, path, je.line, je.column, "%s (expected JSON)", je.text);
        return NULL;
    }
    Tokenizer *t = tok_new(0);
    const json_t *m = json_object_get(root, "model");
    if (!json_is_object(root) || !json_is_object(m)) {
        modex_error(err, path, "no \"model\" object (expected a tokenizers tokenizer.json)");
        goto fail;
    }
    if (parse_normalizer(t, json_object_get(root, "normalizer"), path, err) ||
        parse_pretok(t, json_object_get(root, "pre_tokenizer"), path, err) ||
        parse_decoder(t, json_object_get(root, "decoder"), path, err) ||
        parse_post(t, json_object_get(root, "post_processor"), path, err))
        goto fail;
    if (load_model(t, m, path, err)) goto fail;
    const json_t *added = json_object_get(root, "added_tokens");
    const long long lim = tok_id_limit((size_t)t->n_vocab + json_array_size(added)); /* fixed before any is added */
    size_t i;
    const json_t *v;
    json_array_foreach(added, i, v) {
        const char *c = jstr(v, "content");
        if (!c || !json_is_integer(json_object_get(v, "id"))) {
            modex_error(err, path, "added_tokens[%zu] (expected id and content)", i);
            goto fail;
        }
        long long lid = jint(v, "id", -1);
        if (lid < 0 || lid >= lim) {
            modex_error(err, path, "added_tokens[%zu]: id %lld (expected a token id from 0 to %lld)", i, lid, lim - 1);
            goto fail;
        }
        int32_t id = (int32_t)lid;
        AddedTok *a = tok_add_added(t, c, strlen(c), id, jbool(v, "special", 0));
        if (a) { /* NULL: empty content, or the same content as an earlier entry (kept) */
            a->lstrip = jbool(v, "lstrip", 0); a->rstrip = jbool(v, "rstrip", 0);
            a->normalized = jbool(v, "normalized", 0); a->single_word = jbool(v, "single_word", 0);
        }
    }
    tok_finish(t);
    for (int k = 0; k < t->n_post_pre + t->n_post_suf; k++) {
        int32_t id = k < t->n_post_pre ? t->post_pre[k] : t->post_suf[k - t->n_post_pre];
        if (id < 0 || id >= t->n_vocab) {
            modex_error(err, path, "post_processor: special token id %d is outside the vocabulary (expected 0..%d)", id, t->n_vocab - 1);
            goto fail;
        }
    }
    if (t->unk_id >= t->n_vocab) {
        modex_error(err, path, "model.unk_id %d is outside the vocabulary (expected 0..%d)", t->unk_id, t->n_vocab - 1);
        goto fail;
    }
    json_decref(root);
    return t;
fail:
    json_decref(root);
    modex_tok_free(t);
    return NULL;
}

// --- vocab.json + merges.txt -------------------------------------------------------------------
Tokenizer *tok_load_gpt2(const char *vpath, const char *mpath, Error *err) {
    json_error_t je;
    json_t *vocab = json_load_file(vpath, 0, &je);
    if (!vocab) {
        modex_error_line(err, vpath, je.line, je.column, "%s (expected JSON)", je.text);
        return NULL;
    }
    Tokenizer *t = tok_new(0);
    char *text = NULL;
    t->byte_level = 1;
    t->model = TM_BPE;
    if (!json_is_object(vocab)) { modex_error(err, vpath, "not an object (expected {piece: id})"); goto fail; }
    const char *k;
    const json_t *v;
    json_object_foreach(vocab, k, v) {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0) {
            modex_error(err, vpath, "'%s' (expected a non-negative integer id)", k);
            goto fail;
        }
        if (id >= tok_id_limit(json_object_size(vocab))) {
            modex_error(err, vpath, "'%s': id %lld is far past the %zu entries (expected an id below %lld)",
                        k, (long long)id, json_object_size(vocab), tok_id_limit(json_object_size(vocab)));
            goto fail;
        }
        tok_set_piece(t, (int32_t)id, k, strlen(k));
    }
    size_t len;
    if (!(text = modex_read_text(mpath, &len, err))) goto fail;
    size_t n_lines = 1;
    for (const char *q = text; (q = memchr(q, '\n', (size_t)(text + len - q))); q++) n_lines++;
    pairmap_init(&t->merges, n_lines); /* sized by the file: a small merges.txt gets a small table */
    long line = 0;
    int32_t rank = 0;
    for (char *p = text; p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        char *end = nl ? nl : text + len;
        line++;
        size_t n = (size_t)(end - p);
        if (n && p[n - 1] == '\r') n--;
        if (!(line == 1 && n >= 8 && !memcmp(p, "#version", 8)) && n > 0) {
            char *sp = memchr(p, ' ', n);
            if (!sp || sp == p || sp == p + n - 1 || memchr(sp + 1, ' ', (size_t)(p + n - sp - 1))) {
                long col = !sp ? (long)n + 1 : sp == p ? 1 : (long)(sp - p) + 2;
                if (sp && sp != p && sp != p + n - 1) col = (long)((char *)memchr(sp + 1, ' ', (size_t)(p + n - sp - 1)) - p) + 1;
                modex_error_line(err, mpath, line, col, "malformed merges line '%.*s' (expected two pieces separated by one space)",
                                 (int)MODEX_MIN(n, 80), p);
                goto fail;
            }
            const char *miss = NULL;
            if (!add_merge(t, p, (size_t)(sp - p), sp + 1, (size_t)(p + n - sp - 1), rank++, &miss)) {
                modex_error_line(err, mpath, line, 1, "the %s piece of '%.*s' is not in %s (expected known pieces)",
                                 miss, (int)MODEX_MIN(n, 80), p, vpath);
                goto fail;
            }
        }
        p = nl ? nl + 1 : text + len;
    }
    PreTok pt;
    memset(&pt, 0, sizeof pt);
    pt.kind = P_BYTELEVEL; pt.use_regex = 1;
    if (!(pt.re = tok_regex(TOK_GPT2_REGEX, strlen(TOK_GPT2_REGEX), err, vpath))) goto fail;
    t->pre = modex_xcalloc(1, sizeof *t->pre);
    t->pre[0] = pt; t->n_pre = 1;
    t->dec = modex_xcalloc(1, sizeof *t->dec);
    t->dec[0].kind = D_BYTELEVEL; t->n_dec = 1;
    int32_t eot = strmap_get(&t->vocab, "<|endoftext|>", 13);
    if (eot >= 0) tok_add_added(t, "<|endoftext|>", 13, eot, 1);
    snprintf(t->kind, sizeof t->kind, "byte-level BPE (vocab.json + merges.txt)");
    tok_finish(t);
    free(text);
    json_decref(vocab);
    return t;
fail:
    free(text);
    json_decref(vocab);
    modex_tok_free(t);
    return NULL;
}
