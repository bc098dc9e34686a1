/* decode.c — the tokenizers library's decoders (ByteLevel, WordPiece, Metaspace, Replace,
 * ByteFallback, Fuse, Strip, BPEDecoder) over the list of token strings, then joined; invalid
 * UTF-8 in the result becomes U+FFFD as in String::from_utf8_lossy. */
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

typedef struct Buf { char *s; size_t n, cap; } Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = modex_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static char *buf_take(Buf *b, size_t *n) {
    if (!b->s) buf_add(b, "", 0);
    *n = b->n;
    return b->s;
}

/* s with every occurrence of pat replaced by rep. */
static char *replace_all(const char *s, size_t n, const char *pat, const char *rep, size_t *outn) {
    Buf b = {0};
    size_t pl = strlen(pat), rl = strlen(rep);
    for (size_t i = 0; i < n;) {
        if (pl && i + pl <= n && memcmp(s + i, pat, pl) == 0) { buf_add(&b, rep, rl); i += pl; }
        else { buf_add(&b, s + i, 1); i++; }
    }
    return buf_take(&b, outn);
}

static char *lossy(const char *s, size_t n) {
    Buf b = {0};
    for (size_t i = 0; i < n;) {
        long bad = tok_utf8_invalid(s + i, n - i);
        size_t good = bad < 0 ? n - i : (size_t)bad;
        buf_add(&b, s + i, good);
        i += good;
        if (i < n) { /* skip one maximal invalid prefix (at least one byte) */
            buf_add(&b, "\xef\xbf\xbd", 3);
            unsigned char c = (unsigned char)s[i];
            size_t l = 1, want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            while (l < want && i + l < n && ((unsigned char)s[i + l] & 0xc0) == 0x80 &&
                   tok_utf8_invalid(s + i, l + 1) != 0)
                l++;
            i += l;
        }
    }
    size_t m;
    return buf_take(&b, &m);
}

static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

// --- one decoder over the token list --------------------------------------------------------
static int apply(const Decoder *d, char **tok, size_t *len, int n) {
    switch (d->kind) {
    case D_BYTELEVEL:
    case D_FUSE: {
        Buf b = {0};
        for (int i = 0; i < n; i++) {
            if (d->kind == D_FUSE) { buf_add(&b, tok[i], len[i]); free(tok[i]); continue; }
            char *raw = modex_xmalloc(len[i] + 1);
            size_t m = 0;
            int ok = 1;
            for (size_t k = 0; k < len[i] && ok;) {
                int32_t c;
                k += (size_t)tok_utf8_decode(tok[i] + k, len[i] - k, &c);
                int v = tok_cp_to_byte(c);
                if (v < 0) ok = 0; else raw[m++] = (char)v;
            }
            if (ok) buf_add(&b, raw, m); else buf_add(&b, tok[i], len[i]);
            free(raw); free(tok[i]);
        }
        if (n == 0) return 0;
        if (d->kind == D_BYTELEVEL) {
            size_t m;
            char *s = buf_take(&b, &m);
            tok[0] = lossy(s, m); len[0] = strlen(tok[0]);
            free(s);
        } else {
            tok[0] = buf_take(&b, &len[0]);
        }
        return 1;
    }
    case D_BYTEFALLBACK: {
        int m = 0;
        Buf bytes = {0};
        char **out = modex_xmalloc(((size_t)n + 1) * sizeof *out);
        size_t *ol = modex_xmalloc(((size_t)n + 1) * sizeof *ol);
        for (int i = 0; i <= n; i++) {
            int v = i < n ? byte_token(tok[i], len[i]) : -1;
            if (v >= 0) { char c = (char)v; buf_add(&bytes, &c, 1); free(tok[i]); continue; }
            if (bytes.n) {
                if (tok_utf8_invalid(bytes.s, bytes.n) < 0) { out[m] = bytes.s; ol[m++] = bytes.n; bytes.s = NULL; }
                else {
                    for (size_t k = 0; k < bytes.n; k++) { out[m] = modex_xstrdup("\xef\xbf\xbd"); ol[m++] = 3; }
                    free(bytes.s); bytes.s = NULL;
                }
                bytes.n = bytes.cap = 0;
            }
            if (i < n) { out[m] = tok[i]; ol[m++] = len[i]; }
        }
        memcpy(tok, out, (size_t)m * sizeof *tok);
        memcpy(len, ol, (size_t)m * sizeof *len);
        free(out); free(ol);
        return m;
    }
    case D_REPLACE:
    case D_BPE_SUFFIX:
        for (int i = 0; i < n; i++) {
            size_t m;
            const char *rep = d->kind == D_REPLACE ? d->b : i == n - 1 ? "" : " ";
            char *s = replace_all(tok[i], len[i], d->a, rep, &m);
            free(tok[i]); tok[i] = s; len[i] = m;
        }
        return n;
    case D_STRIP:
        for (int i = 0; i < n; i++) {
            size_t cl = strlen(d->a), a = 0, b = len[i];
            for (int k = 0; k < d->start && cl && a + cl <= b && !memcmp(tok[i] + a, d->a, cl); k++) a += cl;
            for (int k = 0; k < d->stop && cl && b >= a + cl && !memcmp(tok[i] + b - cl, d->a, cl); k++) b -= cl;
            memmove(tok[i], tok[i] + a, b - a);
            tok[i][b - a] = 0; len[i] = b - a;
        }
        return n;
    case D_METASPACE:
        for (int i = 0; i < n; i++) {
            size_t m;
            const char *rep = i == 0 && d->prepend ? "" : " ";
            char *s = replace_all(tok[i], len[i], d->repl, rep, &m);
            free(tok[i]); tok[i] = s; len[i] = m;
        }
        return n;
    case D_WORDPIECE:
        for (int i = 0; i < n; i++) {
            Buf b = {0};
            size_t pl = strlen(d->a);
            if (i > 0 && len[i] >= pl && !memcmp(tok[i], d->a, pl)) buf_add(&b, tok[i] + pl, len[i] - pl);
            else { if (i > 0) buf_add(&b, " ", 1); buf_add(&b, tok[i], len[i]); }
            free(tok[i]);
            tok[i] = buf_take(&b, &len[i]);
            if (d->cleanup) {
                static const char *pairs[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","},
                    {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                    {" 've", "'ve"}, {" 're", "'re"}};
                for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
                    size_t m;
                    char *s = replace_all(tok[i], len[i], pairs[k][0], pairs[k][1], &m);
                    free(tok[i]); tok[i] = s; len[i] = m;
                }
            }
        }
        return n;
    }
    return n;
}

char *tok_decode_pieces(const Tokenizer *t, char **tok, size_t *len, int n) {
    for (int i = 0; i < t->n_dec; i++) n = apply(&t->dec[i], tok, len, n);
    Buf b = {0};
    for (int i = 0; i < n; i++) { buf_add(&b, tok[i], len[i]); free(tok[i]); }
    free(tok); free(len);
    size_t m;
    char *s = buf_take(&b, &m);
    char *r = lossy(s, m);
    free(s);
    return r;
}
