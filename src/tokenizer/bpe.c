/* bpe.c — BPE with merge ranks (GPT-2 / tokenizers' BPE model): per word, the lowest-rank
 * adjacent pair is merged first (leftmost on ties), with a heap over a linked list of symbols.
 * Words already seen are cached (the cache is shared, behind a mutex). */
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

typedef struct Sym { int32_t id, start, len, prev, next; } Sym;
typedef struct Merge { int32_t rank, pos, id, left, right; } Merge;

// --- heap of candidate merges, smallest (rank, pos) first -------------------------------------
static int merge_less(const Merge *a, const Merge *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(Merge *h, int *n, Merge m) {
    int i = (*n)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!merge_less(&m, &h[p])) break;
        h[i] = h[p]; i = p;
    }
    h[i] = m;
}

static Merge heap_pop(Merge *h, int *n) {
    Merge top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && merge_less(&h[c + 1], &h[c])) c++;
        if (!merge_less(&h[c], &last)) break;
        h[i] = h[c]; i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

// --- initial symbols -------------------------------------------------------------------------
static int add_sym(Sym *sy, int n, int32_t id, int32_t start, int32_t len) {
    sy[n].id = id; sy[n].start = start; sy[n].len = len;
    sy[n].prev = n - 1; sy[n].next = n + 1;
    return n + 1;
}

/* Characters (or bytes) of the word as vocabulary ids; unknown ones become byte pieces or
 * (fused) unk, as the tokenizers library does. */
static int initial_symbols(const Tokenizer *t, const char *s, int32_t n, Sym *sy, int32_t *bad) {
    int ns = 0;
    int32_t unk_start = -1, unk_len = 0;
    for (int32_t i = 0; i < n;) {
        int32_t l = t->byte_level ? 1 : tok_utf8_len((unsigned char)s[i]);
        if (i + l > n) l = n - i;
        int32_t id;
        if (t->bpe_prefix || t->bpe_suffix) { /* prefix on all but the first, suffix on the last */
            char key[160];
            size_t kn = 0, pl = t->bpe_prefix && i > 0 ? strlen(t->bpe_prefix) : 0;
            size_t sl = t->bpe_suffix && i + l == n ? strlen(t->bpe_suffix) : 0;
            id = -1;
            if (pl + (size_t)l + sl <= sizeof key) {
                if (pl) memcpy(key, t->bpe_prefix, pl);
                kn = pl;
                memcpy(key + kn, s + i, (size_t)l); kn += (size_t)l;
                if (sl) memcpy(key + kn, t->bpe_suffix, sl);
                kn += sl;
                id = strmap_get(&t->vocab, key, kn);
            }
        } else {
            id = t->byte_level ? t->byte_id[(unsigned char)s[i]] : strmap_get(&t->vocab, s + i, (size_t)l);
        }
        if (id >= 0) {
            if (unk_start >= 0) { ns = add_sym(sy, ns, t->unk_id, unk_start, unk_len); unk_start = -1; }
            ns = add_sym(sy, ns, id, i, l);
        } else {
            int ok = t->byte_fallback && !t->byte_level;
            for (int32_t k = 0; ok && k < l; k++) ok = t->byte_id[(unsigned char)s[i + k]] >= 0;
            if (ok) {
                if (unk_start >= 0) { ns = add_sym(sy, ns, t->unk_id, unk_start, unk_len); unk_start = -1; }
                for (int32_t k = 0; k < l; k++) ns = add_sym(sy, ns, t->byte_id[(unsigned char)s[i + k]], i + k, 1);
            } else if (t->unk_id >= 0) {
                if (unk_start >= 0 && t->fuse_unk) unk_len += l;
                else {
                    if (unk_start >= 0) ns = add_sym(sy, ns, t->unk_id, unk_start, unk_len);
                    unk_start = i; unk_len = l;
                }
            } else if (*bad < 0) {
                *bad = i;
            }
        }
        i += l;
    }
    if (unk_start >= 0) ns = add_sym(sy, ns, t->unk_id, unk_start, unk_len);
    if (ns) sy[ns - 1].next = -1;
    return ns;
}

// --- merging ---------------------------------------------------------------------------------
static void push_pair(const Tokenizer *t, Sym *sy, int pos, Merge *h, int *nh) {
    int nx = sy[pos].next;
    if (nx < 0) return;
    Merge m;
    if (pairmap_get(&t->merges, sy[pos].id, sy[nx].id, &m.rank, &m.id)) {
        m.pos = pos; m.left = sy[pos].id; m.right = sy[nx].id;
        heap_push(h, nh, m);
    }
}

static int merge_word(const Tokenizer *t, Sym *sy, int ns, Merge *h) {
    int nh = 0;
    for (int i = 0; i + 1 < ns; i++) push_pair(t, sy, i, h, &nh);
    while (nh > 0) {
        Merge top = heap_pop(h, &nh);
        Sym *a = &sy[top.pos];
        if (a->len == 0 || a->next < 0) continue;
        Sym *b = &sy[a->next];
        int32_t rank, id;
        /* still the pair it was pushed for, or (as the tokenizers library checks) a pair that
           merges into the same token */
        if ((a->id != top.left || b->id != top.right) &&
            (!pairmap_get(&t->merges, a->id, b->id, &rank, &id) || id != top.id))
            continue;
        a->id = top.id;
        a->len += b->len;
        b->len = 0;
        a->next = b->next;
        if (b->next >= 0) sy[b->next].prev = top.pos;
        if (a->prev >= 0) push_pair(t, sy, a->prev, h, &nh);
        push_pair(t, sy, top.pos, h, &nh);
    }
    return ns;
}

// --- cache -----------------------------------------------------------------------------------
enum { CACHE_MAX_WORD = 64, CACHE_MAX_ENTRIES = 1 << 17 };

static int cache_get(const Tokenizer *tc, const char *s, size_t n, const NormStr *ns, size_t off,
                     TokOut *o) {
    Tokenizer *t = (Tokenizer *)tc; /* the cache is the one mutable part, behind the lock */
    pthread_mutex_lock(&t->lock);
    int32_t k = strmap_get(&t->cache, s, n);
    if (k < 0) { pthread_mutex_unlock(&t->lock); return 0; }
    const TokWord *w = &t->cached[k];
    size_t at = off;
    for (int i = 0; i < w->n; i++) {
        tokout_push(o, w->ids[i], ns->ob[at], ns->oe[at + w->len[i] - 1]);
        at += w->len[i];
    }
    pthread_mutex_unlock(&t->lock);
    return 1;
}

static void cache_put(const Tokenizer *tc, const char *s, size_t n, const Sym *sy, int nsym) {
    Tokenizer *t = (Tokenizer *)tc;
    pthread_mutex_lock(&t->lock);
    if (t->n_cached < CACHE_MAX_ENTRIES && strmap_get(&t->cache, s, n) < 0) {
        if (t->n_cached == t->cap_cached) {
            t->cap_cached = t->cap_cached ? t->cap_cached * 2 : 1024;
            t->cached = modex_xrealloc(t->cached, (size_t)t->cap_cached * sizeof *t->cached);
        }
        TokWord *w = &t->cached[t->n_cached];
        int cnt = 0;
        for (int i = nsym ? 0 : -1; i >= 0; i = sy[i].next) cnt++;
        w->n = cnt;
        w->ids = modex_xmalloc((size_t)cnt * (sizeof *w->ids + sizeof *w->len) + 1);
        w->len = (uint16_t *)(w->ids + cnt);
        int j = 0;
        for (int i = nsym ? 0 : -1; i >= 0; i = sy[i].next, j++) {
            w->ids[j] = sy[i].id;
            w->len[j] = (uint16_t)sy[i].len;
        }
        strmap_put(&t->cache, s, n, t->n_cached);
        t->n_cached++;
    }
    pthread_mutex_unlock(&t->lock);
}

// --- word encoding -------------------------------------------------------------------------
void bpe_encode_word(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o) {
    if (n == 0) return;
    const char *s = ns->s + off;
    if (t->ignore_merges) {
        int32_t id = strmap_get(&t->vocab, s, n);
        if (id >= 0) { tokout_push(o, id, ns->ob[off], ns->oe[off + n - 1]); return; }
    }
    int cacheable = n <= CACHE_MAX_WORD;
    if (cacheable && cache_get(t, s, n, ns, off, o)) return;

    Sym sbuf[CACHE_MAX_WORD];
    Merge hbuf[CACHE_MAX_WORD * 2];
    Sym *sy = n <= CACHE_MAX_WORD ? sbuf : modex_xmalloc(n * sizeof *sy);
    /* each merge pushes at most two pairs, so 2n + n entries bound the heap */
    Merge *h = n <= CACHE_MAX_WORD / 2 ? hbuf : modex_xmalloc(3 * n * sizeof *h + sizeof *h);
    int32_t bad = -1;
    int nsym = initial_symbols(t, s, (int32_t)n, sy, &bad);
    if (bad >= 0) { tokout_bad(o, ns->ob[off + (size_t)bad]); cacheable = 0; }
    merge_word(t, sy, nsym, h);
    for (int i = nsym ? 0 : -1; i >= 0; i = sy[i].next) {
        size_t a = off + (size_t)sy[i].start, b = a + (size_t)sy[i].len;
        tokout_push(o, sy[i].id, ns->ob[a], ns->oe[b - 1]);
    }
    if (cacheable) cache_put(t, s, n, sy, nsym);
    if (sy != sbuf) free(sy);
    if (h != hbuf) free(h);
}
