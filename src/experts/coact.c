/* coact.c — the co-activation split of MoEfication: neurons that fire together go to the same
 * expert. Graph edges from the co-activation counts, METIS k-way partition, then a rebalance
 * so that every expert has exactly n/E neurons. */
#include "modex/experts.h"
#include "modex/parallel.h"
#include "modex/util.h"
#include <math.h>
#include <metis.h>
#include <stdlib.h>
#include <string.h>

// --- counts -------------------------------------------------------------------------------------

typedef struct AccCtx {
    const int *tok_start, *tok;    /* per token: its active neurons */
    const int *neu_start, *neu;    /* per neuron: the tokens where it is active */
    int n;
    double *coact;
} AccCtx;

/* Row i only: rows are independent, so threads never share a cell and counts stay exact. */
static void acc_fn(void *vctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const AccCtx *c = vctx;
    for (int64_t i = begin; i < end; i++) {
        double *row = c->coact + (size_t)i * c->n;
        for (int q = c->neu_start[i]; q < c->neu_start[i + 1]; q++) {
            int t = c->neu[q];
            for (int r = c->tok_start[t]; r < c->tok_start[t + 1]; r++) row[c->tok[r]] += 1.0;
        }
    }
}

void modex_coact_accumulate(const float *h, int T, int n, double *coact) {
    if (T <= 0 || n <= 0) return;
    size_t active = 0;
    for (size_t t = 0; t < (size_t)T * n; t++) active += h[t] > 0;
    int *tok_start = modex_xmalloc(((size_t)T + 1) * sizeof *tok_start);
    int *tok = modex_xmalloc((active + 1) * sizeof *tok);
    int *neu_start = modex_xcalloc((size_t)n + 1, sizeof *neu_start);
    int *neu = modex_xmalloc((active + 1) * sizeof *neu);
    size_t k = 0;
    for (int t = 0; t < T; t++) {
        tok_start[t] = (int)k;
        const float *r = h + (size_t)t * n;
        for (int i = 0; i < n; i++)
            if (r[i] > 0) { tok[k++] = i; neu_start[i + 1]++; }
    }
    tok_start[T] = (int)k;
    for (int i = 0; i < n; i++) neu_start[i + 1] += neu_start[i];
    int *fill = modex_xmalloc(((size_t)n + 1) * sizeof *fill);
    memcpy(fill, neu_start, ((size_t)n + 1) * sizeof *fill);
    for (int t = 0; t < T; t++)
        for (int r = tok_start[t]; r < tok_start[t + 1]; r++) neu[fill[tok[r]]++] = t;
    AccCtx c = {tok_start, tok, neu_start, neu, n, coact};
    modex_parallel_for(n, 8, acc_fn, &c);
    free(tok_start); free(tok); free(neu_start); free(neu); free(fill);
}

// --- threshold: numpy percentile (linear interpolation) ---------------------------------------

/* k-th smallest (0-based) of a[0..n), reordering a. Deterministic median-of-three. */
static double select_kth(double *a, long n, long k) {
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi];
        double piv = (x < y) ? ((y < z) ? y : (x < z ? z : x)) : ((x < z) ? x : (y < z ? z : y));
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < piv) i++;
            while (a[j] > piv) j--;
            if (i <= j) { double t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k];
    }
    return a[k];
}

/* First non-zero of the 10th..100th percentiles of all entries; 0 if all are zero. */
static double first_nonzero_decile(const double *A, long N) {
    double *a = modex_xmalloc((size_t)N * sizeof *a);
    memcpy(a, A, (size_t)N * sizeof *a);
    double v = 0;
    for (int q = 10; q <= 100 && v == 0; q += 10) {
        double h = (double)(N - 1) * q / 100.0;
        long lo = (long)floor(h);
        double f = h - (double)lo;
        double x = select_kth(a, N, lo), y = x;
        if (f > 0 && lo + 1 < N) {
            y = a[lo + 1]; /* after selection a[lo+1..] >= x: its minimum is the next value */
            for (long t = lo + 2; t < N; t++) if (a[t] < y) y = a[t];
        }
        v = x + f * (y - x);
    }
    free(a);
    return v;
}

// --- split ----------------------------------------------------------------------------------------

int modex_coact_split(const double *coact, int n, int E, unsigned long long seed, int *assign,
                      Error *err) {
    if (n <= 0 || E <= 0)
        return modex_error(err, "coact", "bad shape: %d neurons into %d experts (expected positive sizes)", n, E);
    if (n % E != 0)
        return modex_error(err, "coact", "%d neurons do not split into %d equal experts (expected a divisor of %d)", n, E, n);
    int target = n / E;
    if (E == 1) { for (int i = 0; i < n; i++) assign[i] = 0; return 0; }
    double thr = 0.99 * first_nonzero_decile(coact, (long)n * n);
    if (!(thr > 0))
        return modex_error(err, "coact", "co-activation matrix is all zero (expected counts from activations)");

    /* CSR graph, symmetric by construction */
    idx_t *xadj = modex_xmalloc(((size_t)n + 1) * sizeof *xadj);
    size_t cap = 1024, ne = 0;
    idx_t *adj = modex_xmalloc(cap * sizeof *adj), *wgt = modex_xmalloc(cap * sizeof *wgt);
    double wmax = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double a = fmax(coact[(size_t)i * n + j], coact[(size_t)j * n + i]) / thr;
            if (i != j && a >= 1 && a > wmax) wmax = a;
        }
    /* METIS sums weights in idx_t: shrink them uniformly if n * wmax could overflow */
    double scale = wmax * n > 1e9 ? 1e9 / (wmax * n) : 1.0;
    xadj[0] = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            if (i == j) continue;
            double a = fmax(coact[(size_t)i * n + j], coact[(size_t)j * n + i]) / thr;
            if (a < 1) continue;
            idx_t w = (idx_t)(a * scale);
            if (w < 1) w = 1;
            if (ne == cap) { cap *= 2; adj = modex_xrealloc(adj, cap * sizeof *adj); wgt = modex_xrealloc(wgt, cap * sizeof *wgt); }
            adj[ne] = j; wgt[ne++] = w;
        }
        xadj[i + 1] = (idx_t)ne;
    }
    idx_t nv = n, ncon = 1, np = E, obj = 0;
    idx_t opt[METIS_NOPTIONS];
    METIS_SetDefaultOptions(opt);
    opt[METIS_OPTION_SEED] = (idx_t)(seed & 0x7fffffff);
    opt[METIS_OPTION_NUMBERING] = 0;
    idx_t *part = modex_xmalloc((size_t)n * sizeof *part);
    int rc = ne ? METIS_PartGraphKway(&nv, &ncon, xadj, adj, NULL, NULL, wgt, &np, NULL, NULL, opt, &obj, part)
                : METIS_OK;
    if (!ne) for (int i = 0; i < n; i++) part[i] = (idx_t)((long)i * E / n);
    free(xadj); free(adj); free(wgt);
    if (rc != METIS_OK) { free(part); return modex_error(err, "coact", "METIS failed (code %d)", rc); }
    for (int i = 0; i < n; i++) assign[i] = (int)part[i];
    free(part);

    /* Rebalance. tie[j][p] = co-activation of j with the members of part p (itself excluded). */
    double *tie = modex_xcalloc((size_t)n * E, sizeof *tie);
    int *size = modex_xcalloc((size_t)E, sizeof *size);
    for (int j = 0; j < n; j++) {
        size[assign[j]]++;
        const double *row = coact + (size_t)j * n;
        for (int k = 0; k < n; k++) if (k != j) tie[(size_t)j * E + assign[k]] += row[k];
    }
    for (;;) {
        int over = -1;
        for (int p = 0; p < E; p++) if (size[p] > target && (over < 0 || size[p] > size[over])) over = p;
        if (over < 0) break;
        int jbest = -1;
        for (int j = 0; j < n; j++)
            if (assign[j] == over && (jbest < 0 || tie[(size_t)j * E + over] < tie[(size_t)jbest * E + over])) jbest = j;
        int to = -1;
        for (int p = 0; p < E; p++)
            if (size[p] < target && (to < 0 || tie[(size_t)jbest * E + p] > tie[(size_t)jbest * E + to])) to = p;
        assign[jbest] = to;
        size[over]--; size[to]++;
        for (int k = 0; k < n; k++) {
            if (k == jbest) continue;
            double a = coact[(size_t)k * n + jbest];
            tie[(size_t)k * E + over] -= a;
            tie[(size_t)k * E + to] += a;
        }
    }
    free(tie); free(size);
    return 0;
}
