/* rank.c — average ranks, Spearman's rho (SciPy's spearmanr: Pearson on average ranks),
 * top-k selection and Jaccard overlap of index sets. */
#include "modex/stats.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>

// --- ranks ------------------------------------------------------------------------------------

typedef struct { double v; int i; } Pair;

static int cmp_pair(const void *a, const void *b) {
    const Pair *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

void modex_rank_average(const double *x, int n, double *ranks) {
    Pair *p = modex_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (int i = 0; i < n; i++) { p[i].v = x[i]; p[i].i = i; }
    qsort(p, (size_t)n, sizeof *p, cmp_pair);
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && p[j + 1].v == p[i].v) j++;
        double r = 0.5 * ((double)i + (double)j) + 1.0; /* mean of 1-based ranks i+1..j+1 */
        for (int t = i; t <= j; t++) ranks[p[t].i] = r;
        i = j + 1;
    }
    free(p);
}

double modex_spearman(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    for (int i = 0; i < n; i++)
        if (isnan(x[i]) || isnan(y[i])) return NAN;
    double *rx = modex_xmalloc((size_t)n * 2 * sizeof *rx), *ry = rx + n;
    modex_rank_average(x, n, rx);
    modex_rank_average(y, n, ry);
    double m = 0.5 * (n + 1), sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double a = rx[i] - m, b = ry[i] - m;
        sxy += a * b; sxx += a * a; syy += b * b;
    }
    free(rx);
    if (sxx == 0 || syy == 0) return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

// --- selection and overlap -------------------------------------------------------------------

typedef struct { float v; int i; } FPair;

static int cmp_desc(const void *a, const void *b) {
    const FPair *x = a, *y = b;
    int xn = isnan(x->v), yn = isnan(y->v); /* NaN ranks last */
    if (xn != yn) return xn - yn;
    if (!xn && x->v != y->v) return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

void modex_top_k(const float *v, int n, int k, int *out) {
    if (k > n) k = n;
    if (k <= 0) return;
    FPair *p = modex_xmalloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++) { p[i].v = v[i]; p[i].i = i; }
    qsort(p, (size_t)n, sizeof *p, cmp_desc);
    for (int i = 0; i < k; i++) out[i] = p[i].i;
    free(p);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int sorted_unique(const int *a, int n, int *out) {
    for (int i = 0; i < n; i++) out[i] = a[i];
    qsort(out, (size_t)n, sizeof *out, cmp_int);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || out[m - 1] != out[i]) out[m++] = out[i];
    return m;
}

double modex_jaccard(const int *a, int na, const int *b, int nb) {
    int *sa = modex_xmalloc((size_t)(na + nb + 1) * sizeof *sa), *sb = sa + na;
    int ma = sorted_unique(a, na, sa), mb = sorted_unique(b, nb, sb);
    int i = 0, j = 0, inter = 0;
    while (i < ma && j < mb) {
        if (sa[i] == sb[j]) { inter++; i++; j++; }
        else if (sa[i] < sb[j]) i++;
        else j++;
    }
    free(sa);
    int uni = ma + mb - inter;
    return uni ? (double)inter / uni : 0.0;
}
