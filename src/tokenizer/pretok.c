/* pretok.c — the tokenizers library's pre-tokenizers: ByteLevel (GPT-2 regex), BertPreTokenizer,
 * Whitespace, WhitespaceSplit, Metaspace, Split, Digits, Punctuation. Each splits the current
 * words (byte ranges of the NormStr) further, with the library's split behaviours. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "modex/util.h"
#include "tok_internal.h"

int tok_is_ws(int32_t c);

const char TOK_GPT2_REGEX[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

pcre2_code *tok_regex(const char *pat, size_t len, Error *err, const char *file) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        modex_error(err, file, "pre-tokenizer regex '%.*s' at %zu: %s (expected a valid regex)",
                    (int)MODEX_MIN(len, 200), pat, (size_t)eo, (const char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is absent */
    return re;
}

static int is_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_PC || k == UTF8PROC_CATEGORY_PD || k == UTF8PROC_CATEGORY_PS ||
           k == UTF8PROC_CATEGORY_PE || k == UTF8PROC_CATEGORY_PI || k == UTF8PROC_CATEGORY_PF ||
           k == UTF8PROC_CATEGORY_PO;
}

// --- splitting one word by its matches -----------------------------------------------------
typedef struct Seg { size_t b, e; int m; } Seg;
typedef struct Segs { Seg *s; int n, cap; } Segs;

static void seg_push(Segs *g, size_t b, size_t e, int m) {
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->s = modex_xrealloc(g->s, (size_t)g->cap * sizeof *g->s);
    }
    g->s[g->n].b = b; g->s[g->n].e = e; g->s[g->n].m = m;
    g->n++;
}

/* matches (sorted, non-overlapping, inside [b,e)) -> output words, as split() does */
static void split_by(const Ranges *mt, size_t b, size_t e, int behavior, int invert, Ranges *out, Segs *sg, Segs *sr) {
    if (behavior == SB_ISOLATED && !invert) { /* the common case (ByteLevel): no copies */
        size_t prev = b;
        for (int i = 0; i < mt->n; i++) {
            if (mt->r[i].b > prev) ranges_push(out, prev, mt->r[i].b);
            ranges_push(out, mt->r[i].b, mt->r[i].e);
            prev = mt->r[i].e;
        }
        if (prev < e) ranges_push(out, prev, e);
        return;
    }
    Segs g = *sg, r = *sr;
    g.n = r.n = 0;
    size_t prev = b;
    for (int i = 0; i < mt->n; i++) {
        if (mt->r[i].b > prev) seg_push(&g, prev, mt->r[i].b, 0);
        seg_push(&g, mt->r[i].b, mt->r[i].e, 1);
        prev = mt->r[i].e;
    }
    if (prev < e) seg_push(&g, prev, e, 0);
    if (invert) for (int i = 0; i < g.n; i++) g.s[i].m = !g.s[i].m;
    int pm = 0;
    switch (behavior) {
    case SB_REMOVED:
        for (int i = 0; i < g.n; i++) if (!g.s[i].m) seg_push(&r, g.s[i].b, g.s[i].e, 0);
        break;
    case SB_ISOLATED:
        for (int i = 0; i < g.n; i++) seg_push(&r, g.s[i].b, g.s[i].e, g.s[i].m);
        break;
    case SB_PREV:
        for (int i = 0; i < g.n; i++) {
            if (g.s[i].m && !pm && r.n) r.s[r.n - 1].e = g.s[i].e;
            else seg_push(&r, g.s[i].b, g.s[i].e, g.s[i].m);
            pm = g.s[i].m;
        }
        break;
    case SB_NEXT:
        for (int i = g.n - 1; i >= 0; i--) {
            if (g.s[i].m && !pm && r.n) r.s[r.n - 1].b = g.s[i].b;
            else seg_push(&r, g.s[i].b, g.s[i].e, g.s[i].m);
            pm = g.s[i].m;
        }
        for (int i = 0; i < r.n / 2; i++) { Seg x = r.s[i]; r.s[i] = r.s[r.n - 1 - i]; r.s[r.n - 1 - i] = x; }
        break;
    case SB_CONTIGUOUS:
        for (int i = 0; i < g.n; i++) {
            if (g.s[i].m == pm && r.n) r.s[r.n - 1].e = g.s[i].e;
            else seg_push(&r, g.s[i].b, g.s[i].e, g.s[i].m);
            pm = g.s[i].m;
        }
        break;
    }
    for (int i = 0; i < r.n; i++) if (r.s[i].e > r.s[i].b) ranges_push(out, r.s[i].b, r.s[i].e);
    *sg = g; *sr = r;
}

static void regex_matches(pcre2_code *re, pcre2_match_data *md, const NormStr *ns, size_t b,
                          size_t e, Ranges *mt) {
    mt->n = 0;
    size_t at = 0, len = e - b;
    const char *s = ns->s + b;
    while (at < len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] > ov[0]) { ranges_push(mt, b + ov[0], b + ov[1]); at = ov[1]; }
        else at = ov[0] + (size_t)tok_utf8_len((unsigned char)s[ov[0]]);
    }
}

static void literal_matches(const char *p, size_t pl, const NormStr *ns, size_t b, size_t e, Ranges *mt) {
    mt->n = 0;
    if (!pl) return;
    for (size_t i = b; i + pl <= e;) {
        if (memcmp(ns->s + i, p, pl) == 0) { ranges_push(mt, i, i + pl); i += pl; }
        else i++;
    }
}

/* every char for which pred() holds is a match */
static void char_matches(int (*pred)(int32_t), const NormStr *ns, size_t b, size_t e, Ranges *mt) {
    mt->n = 0;
    for (size_t i = b; i < e;) {
        int32_t c;
        int l = tok_utf8_decode(ns->s + i, e - i, &c);
        if (pred(c)) ranges_push(mt, i, i + (size_t)l);
        i += (size_t)l;
    }
}

static int is_digit(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

// --- rewriting words (prefixes) ----------------------------------------------------------
/* Rebuilds ns word by word: optional prefix, spaces replaced by repl (Metaspace). */
static void rewrite(const PreTok *p, NormStr *ns, Ranges *w) {
    NormStr o;
    ns_init(&o, ns->n + (size_t)w->n * 4 + 16);
    Ranges nw = {0};
    for (int i = 0; i < w->n; i++) {
        size_t b = w->r[i].b, e = w->r[i].e, start = o.n;
        if (p->kind == P_BYTELEVEL) {
            if (p->add_prefix_space && ns->s[b] != ' ') ns_push(&o, " ", 1, ns->ob[b], ns->oe[b]);
            for (size_t k = b; k < e; k++) ns_push(&o, ns->s + k, 1, ns->ob[k], ns->oe[k]);
        } else {
            int starts = ns->s[b] == ' ' ||
                         ((size_t)p->repl_len <= e - b && memcmp(ns->s + b, p->repl, (size_t)p->repl_len) == 0);
            int want = p->prepend == 2 || (p->prepend == 1 && ns->ob[b] == 0);
            if (want && !starts) ns_push(&o, p->repl, (size_t)p->repl_len, ns->ob[b], ns->oe[b]);
            for (size_t k = b; k < e; k++) {
                if (ns->s[k] == ' ') ns_push(&o, p->repl, (size_t)p->repl_len, ns->ob[k], ns->oe[k]);
                else ns_push(&o, ns->s + k, 1, ns->ob[k], ns->oe[k]);
            }
        }
        ranges_push(&nw, start, o.n);
    }
    ns_free(ns);
    *ns = o;
    free(w->r);
    *w = nw;
}

// --- the pre-tokenizers --------------------------------------------------------------------
static int is_ws_pred(int32_t c) { return tok_is_ws(c); }

void tok_pretokenize(const PreTok *p, NormStr *ns, Ranges *words) {
    if (p->kind == P_METASPACE || (p->kind == P_BYTELEVEL && p->add_prefix_space)) rewrite(p, ns, words);
    if (p->kind == P_BYTELEVEL && !p->use_regex) return;
    if (p->kind == P_METASPACE && !p->split) return;
    Ranges out = {0}, mt = {0};
    Segs sg = {0}, sr = {0};
    pcre2_match_data *md = p->re ? pcre2_match_data_create_from_pattern(p->re, NULL) : NULL;
    for (int i = 0; i < words->n; i++) {
        size_t b = words->r[i].b, e = words->r[i].e;
        switch (p->kind) {
        case P_BYTELEVEL:
            regex_matches(p->re, md, ns, b, e, &mt);
            split_by(&mt, b, e, SB_ISOLATED, 0, &out, &sg, &sr);
            break;
        case P_WHITESPACE:
            regex_matches(p->re, md, ns, b, e, &mt);
            split_by(&mt, b, e, SB_REMOVED, 1, &out, &sg, &sr);
            break;
        case P_WSSPLIT:
            char_matches(is_ws_pred, ns, b, e, &mt);
            split_by(&mt, b, e, SB_REMOVED, 0, &out, &sg, &sr);
            break;
        case P_BERT: {
            Ranges tmp = {0};
            char_matches(is_ws_pred, ns, b, e, &mt);
            split_by(&mt, b, e, SB_REMOVED, 0, &tmp, &sg, &sr);
            for (int k = 0; k < tmp.n; k++) {
                char_matches(is_punct, ns, tmp.r[k].b, tmp.r[k].e, &mt);
                split_by(&mt, tmp.r[k].b, tmp.r[k].e, SB_ISOLATED, 0, &out, &sg, &sr);
            }
            free(tmp.r);
            break;
        }
        case P_PUNCT:
            char_matches(is_punct, ns, b, e, &mt);
            split_by(&mt, b, e, p->behavior, 0, &out, &sg, &sr);
            break;
        case P_DIGITS:
            char_matches(is_digit, ns, b, e, &mt);
            split_by(&mt, b, e, p->individual ? SB_ISOLATED : SB_CONTIGUOUS, 0, &out, &sg, &sr);
            break;
        case P_METASPACE:
            literal_matches(p->repl, (size_t)p->repl_len, ns, b, e, &mt);
            split_by(&mt, b, e, SB_NEXT, 0, &out, &sg, &sr);
            break;
        case P_SPLIT:
            if (p->re) regex_matches(p->re, md, ns, b, e, &mt);
            else literal_matches(p->pat, p->plen, ns, b, e, &mt);
            split_by(&mt, b, e, p->behavior, p->invert, &out, &sg, &sr);
            break;
        }
    }
    if (md) pcre2_match_data_free(md);
    free(mt.r);
    free(sg.s); free(sr.s);
    free(words->r);
    *words = out;
}
