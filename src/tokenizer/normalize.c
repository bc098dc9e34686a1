/* normalize.c — the tokenizers library's normalizers (NFC/NFD/NFKC/NFKD, Lowercase,
 * BertNormalizer, Replace, Prepend, Strip, StripAccents) over a NormStr, keeping for every
 * output byte the original byte range it came from. Unicode data from utf8proc. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "modex/util.h"
#include "tok_internal.h"

// --- character classes (as the tokenizers library defines them) ---------------------------
int tok_is_ws(int32_t c);
int tok_is_ws(int32_t c) {
    if (c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
        (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
        c == 0x205f || c == 0x3000)
        return 1;
    return 0;
}

static int is_other(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CN ||
           k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CS;
}

static int is_chinese(int32_t c) {
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x20000 && c <= 0x2a6df) || (c >= 0x2a700 && c <= 0x2b73f) ||
           (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

// --- per-character rewriting ---------------------------------------------------------------
static void push_cp(NormStr *o, int32_t c, int32_t ob, int32_t oe) {
    char b[4];
    ns_push(o, b, (size_t)tok_utf8_encode(c, b), ob, oe);
}

static void push_lower(NormStr *o, int32_t c, int32_t ob, int32_t oe) {
    if (c == 0x130) { push_cp(o, 'i', ob, oe); push_cp(o, 0x307, ob, oe); return; }
    push_cp(o, utf8proc_tolower(c), ob, oe);
}

/* Whether c can change by composing with what precedes it: its decomposition starts with a
 * non-starter, a Hangul vowel/trailing jamo, or one of the few starters that compose as
 * second characters (Indic/Sinhala/Myanmar/Balinese vowel signs). */
static int joins_previous(int32_t c, int opts) {
    utf8proc_int32_t d[32];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(c, d, 32, (utf8proc_option_t)(UTF8PROC_DECOMPOSE | (opts & UTF8PROC_COMPAT)), &last);
    int32_t f = n > 0 && n <= 32 ? d[0] : c;
    if (utf8proc_get_property(f)->combining_class != 0) return 1;
    if ((f >= 0x1161 && f <= 0x1175) || (f >= 0x11a8 && f <= 0x11c2)) return 1;
    static const int32_t second[] = {0x0b3e, 0x0b56, 0x0b57, 0x0bbe, 0x0bd7, 0x0c56, 0x0cc2, 0x0cd5,
                                     0x0cd6, 0x0d3e, 0x0d57, 0x0dcf, 0x0ddf, 0x102e, 0x1b35};
    for (size_t i = 0; i < sizeof second / sizeof second[0]; i++) if (f == second[i]) return 1;
    return 0;
}

/* Unicode normalization of runs "starter + what may compose with it", so that alignment stays
 * per run and the result equals normalizing the whole string. */
static void unicode_norm(const NormStr *in, NormStr *o, int opts) {
    size_t i = 0;
    while (i < in->n) {
        size_t j = i;
        int32_t c;
        j += (size_t)tok_utf8_decode(in->s + j, in->n - j, &c);
        while (j < in->n) {
            int l = tok_utf8_decode(in->s + j, in->n - j, &c);
            if (c < 0x300 || !joins_previous(c, opts)) break;
            j += (size_t)l;
        }
        if (j == i + 1 && (unsigned char)in->s[i] < 0x80) { /* ASCII is invariant */
            ns_push(o, in->s + i, 1, in->ob[i], in->oe[i]);
            i = j;
            continue;
        }
        utf8proc_uint8_t *out = NULL;
        utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)in->s + i, (utf8proc_ssize_t)(j - i),
                                          &out, (utf8proc_option_t)(UTF8PROC_STABLE | opts));
        if (m >= 0) ns_push(o, (const char *)out, (size_t)m, in->ob[i], in->oe[j - 1]);
        else ns_push(o, in->s + i, j - i, in->ob[i], in->oe[j - 1]);
        free(out);
        i = j;
    }
}

static void bert(const Normalizer *nz, const NormStr *in, NormStr *o) {
    NormStr tmp;
    ns_init(&tmp, in->n + 16);
    for (size_t i = 0; i < in->n;) {
        int32_t c;
        int l = tok_utf8_decode(in->s + i, in->n - i, &c);
        int32_t ob = in->ob[i], oe = in->oe[i];
        i += (size_t)l;
        if (nz->clean) {
            if (c == 0 || c == 0xfffd || (c != '\t' && c != '\n' && c != '\r' && is_other(c))) continue;
            if (tok_is_ws(c)) c = ' ';
        }
        if (nz->chinese && is_chinese(c)) {
            push_cp(&tmp, ' ', ob, oe); push_cp(&tmp, c, ob, oe); push_cp(&tmp, ' ', ob, oe);
        } else {
            push_cp(&tmp, c, ob, oe);
        }
    }
    const NormStr *src = &tmp;
    NormStr nfd;
    if (nz->strip_accents) {
        ns_init(&nfd, tmp.n + 16);
        unicode_norm(&tmp, &nfd, UTF8PROC_DECOMPOSE);
        src = &nfd;
    }
    for (size_t i = 0; i < src->n;) {
        int32_t c;
        int l = tok_utf8_decode(src->s + i, src->n - i, &c);
        int32_t ob = src->ob[i], oe = src->oe[i];
        i += (size_t)l;
        if (nz->strip_accents && utf8proc_category(c) == UTF8PROC_CATEGORY_MN) continue;
        if (nz->lower) push_lower(o, c, ob, oe);
        else push_cp(o, c, ob, oe);
    }
    if (nz->strip_accents) ns_free(&nfd);
    ns_free(&tmp);
}

static void replace(const Normalizer *nz, const NormStr *in, NormStr *o) {
    size_t i = 0;
    if (nz->re) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(nz->re, NULL);
        while (i <= in->n) {
            int rc = pcre2_match(nz->re, (PCRE2_SPTR)in->s, in->n, i, 0, md, NULL);
            if (rc < 0) break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t a = ov[0], b = ov[1];
            for (size_t k = i; k < a; k++) ns_push(o, in->s + k, 1, in->ob[k], in->oe[k]);
            if (b > a) ns_push(o, nz->content, nz->clen, in->ob[a], in->oe[b - 1]);
            i = b > a ? b : a + (a < in->n ? (size_t)tok_utf8_len((unsigned char)in->s[a]) : 1);
            if (b == a && a < in->n) for (size_t k = a; k < i; k++) ns_push(o, in->s + k, 1, in->ob[k], in->oe[k]);
        }
        pcre2_match_data_free(md);
    } else if (nz->plen > 0) {
        while (i + nz->plen <= in->n) {
            if (memcmp(in->s + i, nz->pat, nz->plen) == 0) {
                ns_push(o, nz->content, nz->clen, in->ob[i], in->oe[i + nz->plen - 1]);
                i += nz->plen;
            } else {
                ns_push(o, in->s + i, 1, in->ob[i], in->oe[i]);
                i++;
            }
        }
    }
    for (; i < in->n; i++) ns_push(o, in->s + i, 1, in->ob[i], in->oe[i]);
}

void tok_normalize(const Normalizer *nz, NormStr *ns) {
    NormStr o;
    ns_init(&o, ns->n + 16);
    switch (nz->kind) {
    case N_NFC: unicode_norm(ns, &o, UTF8PROC_COMPOSE); break;
    case N_NFD: unicode_norm(ns, &o, UTF8PROC_DECOMPOSE); break;
    case N_NFKC: unicode_norm(ns, &o, UTF8PROC_COMPOSE | UTF8PROC_COMPAT); break;
    case N_NFKD: unicode_norm(ns, &o, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT); break;
    case N_BERT: bert(nz, ns, &o); break;
    case N_REPLACE: replace(nz, ns, &o); break;
    case N_LOWER:
    case N_STRIP_ACCENTS:
        for (size_t i = 0; i < ns->n;) {
            int32_t c;
            int l = tok_utf8_decode(ns->s + i, ns->n - i, &c);
            if (nz->kind == N_LOWER) push_lower(&o, c, ns->ob[i], ns->oe[i]);
            else if (utf8proc_category(c) != UTF8PROC_CATEGORY_MN) ns_push(&o, ns->s + i, (size_t)l, ns->ob[i], ns->oe[i]);
            i += (size_t)l;
        }
        break;
    case N_PREPEND:
        if (ns->n > 0) {
            ns_push(&o, nz->content, nz->clen, ns->ob[0], ns->oe[0]);
            for (size_t i = 0; i < ns->n; i++) ns_push(&o, ns->s + i, 1, ns->ob[i], ns->oe[i]);
        }
        break;
    case N_STRIP: {
        size_t a = 0, b = ns->n;
        int32_t c;
        while (nz->left && a < b) {
            int l = tok_utf8_decode(ns->s + a, b - a, &c);
            if (!tok_is_ws(c)) break;
            a += (size_t)l;
        }
        while (nz->right && b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)ns->s[k] & 0xc0) == 0x80) k--;
            tok_utf8_decode(ns->s + k, b - k, &c);
            if (!tok_is_ws(c)) break;
            b = k;
        }
        for (size_t i = a; i < b; i++) ns_push(&o, ns->s + i, 1, ns->ob[i], ns->oe[i]);
        break;
    }
    }
    ns_free(ns);
    *ns = o;
}
