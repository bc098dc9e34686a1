/* wordpiece.c — WordPiece (BERT): greedy longest-match-first inside each word, continuation
 * pieces carry the "##" prefix; a word with an unmatchable rest, or longer than
 * max_input_chars_per_word chars, becomes one [UNK]. */
#include <stdlib.h>
#include <string.h>
#include "modex/util.h"
#include "tok_internal.h"

void wordpiece_encode_word(const Tokenizer *t, const NormStr *ns, size_t off, size_t n, TokOut *o) {
    if (n == 0) return;
    const char *s = ns->s + off;
    int nchars = 0;
    for (size_t i = 0; i < n; i += (size_t)tok_utf8_len((unsigned char)s[i])) nchars++;
    int32_t b0 = ns->ob[off], e0 = ns->oe[off + n - 1];
    if (nchars > t->max_chars) { tokout_push(o, t->unk_id, b0, e0); return; }
    size_t pl = strlen(t->cont_prefix);
    char *key = modex_xmalloc(pl + n + 1);
    memcpy(key, t->cont_prefix, pl);
    int first = o->n;
    size_t start = 0;
    while (start < n) {
        size_t end = n;
        int32_t cur = -1;
        while (start < end) {
            if (start == 0) cur = strmap_get(&t->vocab, s, end);
            else {
                memcpy(key + pl, s + start, end - start);
                cur = strmap_get(&t->vocab, key, pl + end - start);
            }
            if (cur >= 0) break;
            do end--; while (end > start && ((unsigned char)s[end] & 0xc0) == 0x80);
        }
        if (cur < 0) { /* the whole word is unknown */
            o->n = first;
            tokout_push(o, t->unk_id, b0, e0);
            break;
        }
        tokout_push(o, cur, ns->ob[off + start], ns->oe[off + end - 1]);
        start = end;
    }
    free(key);
}
