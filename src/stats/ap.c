/* ap.c — average precision and ROC AUC exactly as scikit-learn defines them: scores sorted
 * descending, one threshold per distinct score, so tied scores enter the curve together. */
#include "modex/stats.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// --- sortable keys and radix sort -------------------------------------------------------

static void insertion_sort(uint32_t *key, int32_t *val, int n) {
    for (int i = 1; i < n; i++) {
        uint32_t k = key[i];
        int32_t v = val[i];
        int j = i - 1;
        while (j >= 0 && key[j] > k) { key[j + 1] = key[j]; val[j + 1] = val[j]; j--; }
        key[j + 1] = k;
        val[j + 1] = v;
    }
}

void modex_radix_sort_u32(uint32_t *key, int32_t *val, int n, uint32_t *tk, int32_t *tv) {
    if (n < 48) { insertion_sort(key, val, n); return; }
    uint32_t hist[4][256];
    memset(hist, 0, sizeof hist);
    for (int i = 0; i < n; i++) {
        uint32_t k = key[i];
        hist[0][k & 255]++; hist[1][(k >> 8) & 255]++;
        hist[2][(k >> 16) & 255]++; hist[3][k >> 24]++;
    }
    uint32_t *sk = key, *dk = tk;
    int32_t *sv = val, *dv = tv;
    for (int pass = 0; pass < 4; pass++) {
        uint32_t *h = hist[pass];
        int shift = pass * 8;
        if (h[(sk[0] >> shift) & 255] == (uint32_t)n) continue; /* every key shares this digit */
        uint32_t sum = 0;
        for (int b = 0; b < 256; b++) { uint32_t c = h[b]; h[b] = sum; sum += c; }
        for (int i = 0; i < n; i++) {
            uint32_t d = (sk[i] >> shift) & 255, o = h[d]++;
            dk[o] = sk[i];
            dv[o] = sv[i];
        }
        uint32_t *t = sk; sk = dk; dk = t;
        int32_t *t2 = sv; sv = dv; dv = t2;
    }
    if (sk != key) {
        memcpy(key, sk, (size_t)n * sizeof *key);
        memcpy(val, sv, (size_t)n * sizeof *val);
    }
}

// --- AP and AUC ---------------------------------------------------------------------------

/* key/ord get the scores sorted ascending (callers walk them from the top). */
static int sort_scores(const float *scores, int n, uint32_t **key, int32_t **ord) {
    *key = modex_xmalloc((size_t)(n > 0 ? n : 1) * 2 * sizeof **key);
    *ord = modex_xmalloc((size_t)(n > 0 ? n : 1) * 2 * sizeof **ord);
    for (int i = 0; i < n; i++) { (*key)[i] = modex_float_key(scores[i]); (*ord)[i] = i; }
    modex_radix_sort_u32(*key, *ord, n, *key + n, *ord + n);
    return 0;
}

double modex_ap(const float *scores, const unsigned char *labels, int n) {
    uint32_t *key; int32_t *ord;
    long P = 0;
    for (int i = 0; i < n; i++) P += labels[i] != 0;
    if (P == 0) return NAN;
    sort_scores(scores, n, &key, &ord);
    long tp = 0, fp = 0;
    double sum = 0;
    for (int i = n - 1; i >= 0;) { /* descending: one group of equal keys at a time */
        long dp = 0, dn = 0;
        int g = i;
        while (g >= 0 && key[g] == key[i]) { if (labels[ord[g]]) dp++; else dn++; g--; }
        tp += dp; fp += dn;
        if (dp) sum += (double)dp * ((double)tp / (double)(tp + fp));
        i = g;
    }
    free(key); free(ord);
    return sum / (double)P;
}

double modex_roc_auc(const float *scores, const unsigned char *labels, int n) {
    uint32_t *key; int32_t *ord;
    long P = 0;
    for (int i = 0; i < n; i++) P += labels[i] != 0;
    long N = n - P;
    if (P == 0 || N == 0) return NAN;
    sort_scores(scores, n, &key, &ord);
    long tp = 0;
    double twice = 0; /* 2 x (pairs ranked right + half the tied pairs), exact in doubles */
    for (int i = n - 1; i >= 0;) {
        long dp = 0, dn = 0;
        int g = i;
        while (g >= 0 && key[g] == key[i]) { if (labels[ord[g]]) dp++; else dn++; g--; }
        twice += (double)dn * (double)(2 * tp + dp);
        tp += dp;
        i = g;
    }
    free(key); free(ord);
    return twice / (2.0 * (double)P * (double)N);
}
