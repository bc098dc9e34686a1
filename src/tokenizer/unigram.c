/* unigram.c — Unigram language model segmentation (tokenizers' Unigram and SentencePiece
 * unigram): Viterbi over all vocabulary pieces that match at each character, an unknown
 * character costs min_score - 10; unknown runs are fused, or become byte pieces. */
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

typedef struct Node { double score; int32_t start, id; } Node;

void tok_push_unknown(const Tokenizer *t, const NormStr *ns, size_t a, size_t b, TokOut *o, int fuse) {
    if (b <= a) return;
    int ok = t->byte_fallback;
    for (size_t k = a; ok && k < b; k++) ok = t->byte_id[(unsigned char)ns->s[k]] >= 0;
    if (ok) {
        for (size_t k = a; k < b; k++) tokout_push(o, t->byte_id[(unsigned char)ns->s[k]], ns->ob[k], ns->oe[k]);
        return;
    }
    if (t->unk_id < 0) { tokout_bad(o, ns->ob[a]); return; }
    if (fuse && o->n > 0 && o->ids[o->n - 1] == t->unk_id && o->e[o->n - 1] == ns->ob[a]) {
        o->e[o->n - 1] = ns->oe[b - 1];
        return;
    }
    tokout_push(o, t->unk_id, ns->ob[a], ns->oe[b - 1]);
}

/* pieces the lattice may use */
static int usable(const Tokenizer *t, int32_t id) {
    if (!t->spm) return 1;
    return t->type[id] == SPM_NORMAL || t->type[id] == SPM_USER;
}

void unigram_encode(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o) {
    if (n == 0) return;
    const char *s = ns->s + off;
    Node *best = modex_xmalloc((n + 1) * sizeof *best);
    for (size_t i = 0; i <= n; i++) { best[i].start = -1; best[i].score = 0; best[i].id = -1; }
    best[0].start = 0;
    double unk_score = t->min_score - 10.0;
    for (size_t i = 0; i < n;) {
        size_t mblen = (size_t)tok_utf8_len((unsigned char)s[i]);
        if (i + mblen > n) mblen = n - i;
        double here = best[i].score;
        int single = 0;
        size_t maxl = MODEX_MIN((size_t)t->max_piece_len, n - i);
        for (size_t l = 1; l <= maxl; l++) {
            int32_t id = strmap_get(&t->vocab, s + i, l);
            if (id < 0 || !usable(t, id)) continue;
            double sc = t->spm && t->type[id] == SPM_USER ? (double)l * t->max_score - 0.1 : t->score[id];
            double cand = here + sc;
            if (best[i + l].start < 0 || cand > best[i + l].score) {
                best[i + l].score = cand; best[i + l].start = (int32_t)i; best[i + l].id = id;
            }
            if (l == mblen) single = 1;
        }
        if (!single) {
            double cand = here + unk_score;
            if (best[i + mblen].start < 0 || cand > best[i + mblen].score) {
                best[i + mblen].score = cand; best[i + mblen].start = (int32_t)i; best[i + mblen].id = -1;
            }
        }
        i += mblen;
    }
    /* backtrack into a list of [start, end) */
    int cnt = 0;
    for (size_t e = n; e > 0; e = (size_t)best[e].start) cnt++;
    size_t *bd = modex_xmalloc(((size_t)cnt + 1) * sizeof *bd);
    int k = cnt;
    bd[k] = n;
    for (size_t e = n; e > 0; e = (size_t)best[e].start) bd[--k] = (size_t)best[e].start;
    int first = o->n;
    for (int j = 0; j < cnt; j++) {
        size_t a = bd[j], b = bd[j + 1];
        int32_t id = best[b].id;
        if (id < 0 || id == t->unk_id) tok_push_unknown(t, ns, off + a, off + b, o, o->n > first);
        else tokout_push(o, id, ns->ob[off + a], ns->oe[off + b - 1]);
    }
    free(bd);
    free(best);
}
