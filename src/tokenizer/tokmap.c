/* tokmap.c — the small data structures under every tokenizer: string and pair hash maps,
 * UTF-8 helpers, the GPT-2 byte<->unicode table, the aligned normalized string. */
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

// --- string map --------------------------------------------------------------------------
static uint32_t hash_bytes(const char *k, size_t n) {
    uint32_t h = 2166136261u;  /* FNV-1a, then a final mix so that low bits spread */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 16777619u;
    h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 12;
    return h;
}

void strmap_init(StrMap *m, size_t expect) {
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    m->cap = cap; m->n = 0;
    m->e = modex_xcalloc(cap, sizeof *m->e);
}

void strmap_free(StrMap *m) {
    if (!m->e) return;
    for (size_t i = 0; i < m->cap; i++) free(m->e[i].key);
    free(m->e);
    memset(m, 0, sizeof *m);
}

int32_t strmap_get(const StrMap *m, const char *k, size_t len) {
    if (!m->cap) return -1;
    uint32_t h = hash_bytes(k, len);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const StrEntry *e = &m->e[i];
        if (!e->key) return -1;
        if (e->hash == h && e->klen == len && memcmp(e->key, k, len) == 0) return e->val;
    }
}

static void strmap_insert(StrMap *m, StrEntry x) {
    size_t i = x.hash & (m->cap - 1);
    while (m->e[i].key) i = (i + 1) & (m->cap - 1);
    m->e[i] = x;
    m->n++;
}

void strmap_put(StrMap *m, const char *k, size_t len, int32_t v) {
    if (!m->cap) strmap_init(m, 16);
    if ((m->n + 1) * 2 > m->cap) {
        StrMap o = *m;
        strmap_init(m, o.cap);
        for (size_t i = 0; i < o.cap; i++) if (o.e[i].key) strmap_insert(m, o.e[i]);
        free(o.e);
    }
    uint32_t h = hash_bytes(k, len);
    for (size_t i = h & (m->cap - 1); m->e[i].key; i = (i + 1) & (m->cap - 1))
        if (m->e[i].hash == h && m->e[i].klen == len && memcmp(m->e[i].key, k, len) == 0) return;
    StrEntry x = {modex_xmalloc(len + 1), (uint32_t)len, h, v};
    memcpy(x.key, k, len); x.key[len] = 0;
    strmap_insert(m, x);
}

// --- pair map ---------------------------------------------------------------------------
static size_t pair_slot(uint64_t k, size_t cap) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

void pairmap_init(PairMap *m, size_t expect) {
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    m->cap = cap; m->n = 0;
    m->e = modex_xmalloc(cap * sizeof *m->e);
    for (size_t i = 0; i < cap; i++) m->e[i].key = UINT64_MAX;
}

void pairmap_free(PairMap *m) {
    free(m->e);
    memset(m, 0, sizeof *m);
}

int pairmap_get(const PairMap *m, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    if (!m->cap) return 0;
    uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (size_t i = pair_slot(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const PairEntry *e = &m->e[i];
        if (e->key == k) { *rank = e->rank; *id = e->id; return 1; }
        if (e->key == UINT64_MAX) return 0;
    }
}

void pairmap_put(PairMap *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
    if (!m->cap) pairmap_init(m, 16);
    if ((m->n + 1) * 2 > m->cap) {
        PairMap o = *m;
        pairmap_init(m, o.cap);
        for (size_t i = 0; i < o.cap; i++)
            if (o.e[i].key != UINT64_MAX)
                pairmap_put(m, (int32_t)(o.e[i].key >> 32), (int32_t)(uint32_t)o.e[i].key, o.e[i].rank, o.e[i].id);
        pairmap_free(&o);
    }
    uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = pair_slot(k, m->cap);
    for (; m->e[i].key != UINT64_MAX; i = (i + 1) & (m->cap - 1))
        if (m->e[i].key == k) return; /* the first (lowest-rank) merge wins */
    m->e[i].key = k; m->e[i].rank = rank; m->e[i].id = id;
    m->n++;
}

// --- UTF-8 ------------------------------------------------------------------------------
int tok_utf8_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

int tok_utf8_decode(const char *s, size_t n, int32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    int l = tok_utf8_len(u[0]);
    if ((size_t)l > n) l = 1;
    int32_t c = l == 1 ? u[0] : l == 2 ? u[0] & 0x1f : l == 3 ? u[0] & 0x0f : u[0] & 0x07;
    for (int i = 1; i < l; i++) c = c << 6 | (u[i] & 0x3f);
    *cp = c;
    return l;
}

int tok_utf8_encode(int32_t c, char *o) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xc0 | c >> 6); o[1] = (char)(0x80 | (c & 0x3f)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | c >> 12); o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f)); return 3;
    }
    o[0] = (char)(0xf0 | c >> 18); o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f)); o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

long tok_utf8_invalid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        if (c < 0x80) { i++; continue; }
        int l; uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) { l = 2; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { l = 3; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { l = 4; cp = c & 0x07; min = 0x10000; }
        else return (long)i;
        if (i + (size_t)l > n) return (long)i;
        for (int k = 1; k < l; k++) {
            if ((u[i + k] & 0xc0) != 0x80) return (long)i;
            cp = cp << 6 | (u[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return (long)i;
        i += (size_t)l;
    }
    return -1;
}

// --- GPT-2 bytes <-> unicode -------------------------------------------------------------
/* Printable Latin-1 bytes map to themselves, the other 68 to U+0100.. in byte order. */
static int printable(int b) {
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

int32_t tok_byte_to_cp(int b) {
    if (printable(b)) return b;
    int k = 0;
    for (int i = 0; i < b; i++) k += !printable(i);
    return 256 + k;
}

int tok_cp_to_byte(int32_t cp) {
    if (cp < 256) return printable((int)cp) ? (int)cp : -1;
    int k = (int)cp - 256;
    for (int b = 0; b < 256; b++)
        if (!printable(b) && k-- == 0) return b;
    return -1;
}

// --- normalized string ---------------------------------------------------------------------
void ns_init(NormStr *ns, size_t cap) {
    if (cap < 16) cap = 16;
    ns->cap = cap; ns->n = 0;
    ns->s = modex_xmalloc(cap + 1);
    ns->ob = modex_xmalloc(cap * sizeof *ns->ob);
    ns->oe = modex_xmalloc(cap * sizeof *ns->oe);
}

void ns_free(NormStr *ns) {
    free(ns->s); free(ns->ob); free(ns->oe);
    memset(ns, 0, sizeof *ns);
}

void ns_push(NormStr *ns, const char *b, size_t len, int32_t ob, int32_t oe) {
    if (ns->n + len > ns->cap) {
        while (ns->n + len > ns->cap) ns->cap *= 2;
        ns->s = modex_xrealloc(ns->s, ns->cap + 1);
        ns->ob = modex_xrealloc(ns->ob, ns->cap * sizeof *ns->ob);
        ns->oe = modex_xrealloc(ns->oe, ns->cap * sizeof *ns->oe);
    }
    memcpy(ns->s + ns->n, b, len);
    for (size_t i = 0; i < len; i++) { ns->ob[ns->n + i] = ob; ns->oe[ns->n + i] = oe; }
    ns->n += len;
    ns->s[ns->n] = 0;
}

void ns_from_text(NormStr *ns, const char *text, size_t len, int32_t base) {
    ns_init(ns, len);
    memcpy(ns->s, text, len);
    ns->s[len] = 0;
    ns->n = len;
    for (size_t i = 0; i < len;) {
        size_t l = (size_t)tok_utf8_len((unsigned char)text[i]);
        if (l > len - i) l = len - i;
        for (size_t k = i; k < i + l; k++) { ns->ob[k] = base + (int32_t)i; ns->oe[k] = base + (int32_t)(i + l); }
        i += l;
    }
}

void ranges_push(Ranges *w, size_t b, size_t e) {
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 16;
        w->r = modex_xrealloc(w->r, (size_t)w->cap * sizeof *w->r);
    }
    w->r[w->n].b = b; w->r[w->n].e = e;
    w->n++;
}

void tokout_push(TokOut *o, int32_t id, int32_t b, int32_t e) {
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->ids = modex_xrealloc(o->ids, (size_t)o->cap * sizeof *o->ids);
        o->b = modex_xrealloc(o->b, (size_t)o->cap * sizeof *o->b);
        o->e = modex_xrealloc(o->e, (size_t)o->cap * sizeof *o->e);
    }
    o->ids[o->n] = id; o->b[o->n] = b; o->e[o->n] = e;
    o->n++;
}

void tokout_bad(TokOut *o, int32_t at) {
    if (!o->has_bad) { o->has_bad = 1; o->bad_at = at; }
}
