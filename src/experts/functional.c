/* functional.c — functional experts (method.md §5): an expert is functional for a sub-function
 * when it holds more of the sub-function's specialised neurons (top 1% by predictivity) than a
 * random partition would give at level alpha; at function level the specialised lists of the
 * sub-functions are pooled and tested with a binomial. Random equal partitions give the
 * baseline. */
#include "modex/experts.h"
#include "modex/rng.h"
#include "modex/stats.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// --- the test for one partition ---------------------------------------------------------------

typedef struct Thresholds { /* t per expert size, computed once per size */
    int n;
    int size[8], t[8];
} Thresholds;

/* log P(X >= k) for the chosen null: hypergeometric (M, size, N) or binomial (N, size/M). */
static double log_tail(int pooled, long k, long M, long size, long N) {
    return pooled ? modex_log_binom_sf(k, N, (double)size / (double)M)
                  : modex_log_hypergeom_sf(k, M, size, N);
}

/* Smallest t with P(X > t) <= alpha. */
static int threshold_for(int pooled, long M, long size, long N, double alpha) {
    double la = log(alpha);
    long hi = pooled ? N : MODEX_MIN(size, N);
    for (long t = 0; t < hi; t++)
        if (log_tail(pooled, t + 1, M, size, N) <= la) return (int)t;
    return (int)hi;
}

static int cached_threshold(Thresholds *c, int pooled, long M, long size, long N, double alpha) {
    for (int i = 0; i < c->n; i++) if (c->size[i] == size) return c->t[i];
    int t = threshold_for(pooled, M, size, N, alpha);
    if (c->n < 8) { c->size[c->n] = (int)size; c->t[c->n++] = t; }
    return t;
}

static int result_alloc(FunctionalResult *r, int E) {
    memset(r, 0, sizeof *r);
    r->E = E;
    r->count = modex_xcalloc((size_t)E, sizeof *r->count);
    r->threshold = modex_xcalloc((size_t)E, sizeof *r->threshold);
    r->p_value = modex_xcalloc((size_t)E, sizeof *r->p_value);
    r->functional = modex_xcalloc((size_t)E, 1);
    return 0;
}

void modex_functional_free(FunctionalResult *r) {
    if (!r) return;
    free(r->count); free(r->threshold); free(r->p_value); free(r->functional);
    memset(r, 0, sizeof *r);
}

/* Fills thresholds, p-values and the summary from r->count and the expert sizes. */
static void evaluate(FunctionalResult *r, const int *size, int M, int N, int pooled, double alpha,
                     int with_p, Thresholds *cache) {
    r->n_special = N;
    r->n_functional = 0;
    double sum = 0, share = (double)N / r->E;
    for (int e = 0; e < r->E; e++) {
        r->threshold[e] = cached_threshold(cache, pooled, M, size[e], N, alpha);
        r->p_value[e] = with_p ? exp(log_tail(pooled, r->count[e], M, size[e], N)) : NAN;
        r->functional[e] = r->count[e] > r->threshold[e];
        if (r->functional[e]) { r->n_functional++; sum += r->count[e] / share; }
    }
    r->modularisation = r->n_functional ? sum / r->n_functional : 0.0;
}

static int check_assign(const int *assign, int d_ff, int E, int *size) {
    if (d_ff <= 0 || E <= 0) return -1;
    memset(size, 0, (size_t)E * sizeof *size);
    for (int j = 0; j < d_ff; j++) {
        if (assign[j] < 0 || assign[j] >= E) return -1;
        size[assign[j]]++;
    }
    return 0;
}

// --- public --------------------------------------------------------------------------------------

int modex_functional_experts(const float *pred, const int *assign, int d_ff, int E, double alpha,
                             FunctionalResult *out) {
    int *size = modex_xmalloc((size_t)(E > 0 ? E : 1) * sizeof *size);
    if (check_assign(assign, d_ff, E, size) < 0 || !(alpha > 0 && alpha < 1)) { free(size); return -1; }
    result_alloc(out, E);
    int N = (int)(0.01 * d_ff);
    int *top = modex_xmalloc((size_t)(N > 0 ? N : 1) * sizeof *top);
    modex_top_k(pred, d_ff, N, top);
    for (int i = 0; i < N; i++) out->count[assign[top[i]]]++;
    Thresholds cache = {0};
    evaluate(out, size, d_ff, N, 0, alpha, 1, &cache);
    free(top); free(size);
    return 0;
}

int modex_functional_pooled(const float *const *preds, int n_subs, const int *assign, int d_ff,
                            int E, double alpha, FunctionalResult *out) {
    int *size = modex_xmalloc((size_t)(E > 0 ? E : 1) * sizeof *size);
    if (n_subs <= 0 || check_assign(assign, d_ff, E, size) < 0 || !(alpha > 0 && alpha < 1)) { free(size); return -1; }
    result_alloc(out, E);
    int N = (int)(0.01 * d_ff), total = 0;
    int *top = modex_xmalloc((size_t)(N > 0 ? N : 1) * sizeof *top);
    for (int s = 0; s < n_subs; s++) {
        modex_top_k(preds[s], d_ff, N, top);
        for (int i = 0; i < N; i++) out->count[assign[top[i]]]++;
        total += N;
    }
    Thresholds cache = {0};
    evaluate(out, size, d_ff, total, 1, alpha, 1, &cache);
    free(top); free(size);
    return 0;
}

/* Shared by both baselines: the specialised lists are fixed; only the partition is drawn. */
static void random_baseline(const float *const *preds, int n_subs, int pooled, int d_ff, int E,
                            double alpha, int shuffles, unsigned long long seed,
                            double *mean_proportion, double *mean_modularisation) {
    *mean_proportion = 0;
    *mean_modularisation = 0;
    if (d_ff <= 0 || E <= 0 || shuffles <= 0) return;
    int N = (int)(0.01 * d_ff), total = 0;
    int *spec = modex_xmalloc((size_t)(N * n_subs + 1) * sizeof *spec);
    for (int s = 0; s < n_subs; s++) { modex_top_k(preds[s], d_ff, N, spec + total); total += N; }
    int *perm = modex_xmalloc((size_t)d_ff * sizeof *perm), *where = modex_xmalloc((size_t)d_ff * sizeof *where);
    int *size = modex_xcalloc((size_t)E, sizeof *size);
    for (int i = 0; i < d_ff; i++) size[(int)((long)i * E / d_ff)]++;
    FunctionalResult r;
    result_alloc(&r, E);
    Thresholds cache = {0};
    Rng rng;
    modex_rng_seed(&rng, seed);
    double prop = 0, mod_sum = 0;
    long n_func = 0;
    for (int k = 0; k < shuffles; k++) {
        for (int i = 0; i < d_ff; i++) perm[i] = i;
        modex_rng_shuffle_int(&rng, perm, d_ff);
        for (int i = 0; i < d_ff; i++) where[perm[i]] = (int)((long)i * E / d_ff);
        memset(r.count, 0, (size_t)E * sizeof *r.count);
        for (int i = 0; i < total; i++) r.count[where[spec[i]]]++;
        evaluate(&r, size, d_ff, total, pooled, alpha, 0, &cache);
        prop += (double)r.n_functional / E;
        mod_sum += r.modularisation * r.n_functional;
        n_func += r.n_functional;
    }
    *mean_proportion = prop / shuffles;
    *mean_modularisation = n_func ? mod_sum / (double)n_func : 0.0;
    modex_functional_free(&r);
    free(spec); free(perm); free(where); free(size);
}

void modex_functional_random(const float *pred, int d_ff, int E, double alpha, int shuffles,
                             unsigned long long seed, double *mean_proportion,
                             double *mean_modularisation) {
    random_baseline(&pred, 1, 0, d_ff, E, alpha, shuffles, seed, mean_proportion, mean_modularisation);
}

void modex_functional_pooled_random(const float *const *preds, int n_subs, int d_ff, int E,
                                    double alpha, int shuffles, unsigned long long seed,
                                    double *mean_proportion, double *mean_modularisation) {
    random_baseline(preds, n_subs, 1, d_ff, E, alpha, shuffles, seed, mean_proportion, mean_modularisation);
}

void modex_expert_mean(const float *v, const int *assign, int d_ff, int E, double *out) {
    int *n = modex_xcalloc((size_t)(E > 0 ? E : 1), sizeof *n);
    for (int e = 0; e < E; e++) out[e] = 0;
    for (int j = 0; j < d_ff; j++) { out[assign[j]] += v[j]; n[assign[j]]++; }
    for (int e = 0; e < E; e++) out[e] = n[e] ? out[e] / n[e] : NAN;
    free(n);
}
