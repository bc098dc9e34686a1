/* stats.h — the statistics of the analysis (method.md §3, §5, §7, §9): average precision as
 * scikit-learn computes it, ROC AUC, exact binomial / hypergeometric tails in log space,
 * average ranks and Spearman's rho, neuron predictivity and task importance.
 * Pure functions over arrays; NaN activations are not expected (they sort as the largest). */
#ifndef MODEX_STATS_H
#define MODEX_STATS_H
#include <stdint.h>
#include <stdio.h>

/* --- ap.c ------------------------------------------------------------------------------ */
/* Unsigned keys that sort like the floats (-0 and +0 get the same key; NaN above +inf). */
static inline uint32_t modex_float_key(float v) {
    union { float f; uint32_t u; } b;
    b.f = v == 0.0f ? 0.0f : v; /* -0 ties with +0, as in sklearn */
    return (b.u & 0x80000000u) ? ~b.u : (b.u | 0x80000000u);
}
/* Stable LSD radix sort of key[0..n) ascending, carrying val; tk/tv are scratch of n. */
void modex_radix_sort_u32(uint32_t *key, int32_t *val, int n, uint32_t *tk, int32_t *tv);
/* sklearn average_precision_score: one threshold per distinct score (ties grouped; -0 == 0);
 * NaN if no positives. */
double modex_ap(const float *scores, const unsigned char *labels, int n);
/* sklearn roc_auc_score (ties count one half); NaN unless both classes occur. */
double modex_roc_auc(const float *scores, const unsigned char *labels, int n);

/* --- tails.c --------------------------------------------------------------------------- */
/* log P(X >= k), X ~ Binomial(n, p); accurate in relative terms far below 1e-300
 * (Loader's saddle-point pmf + ratio summation); -INFINITY when impossible. */
double modex_log_binom_sf(long k, long n, double p);
/* log P(X >= k), X ~ Hypergeometric(population M, K successes, n draws). */
double modex_log_hypergeom_sf(long k, long M, long K, long n);
/* log of the pmfs themselves (-INFINITY outside the support). */
double modex_log_binom_pmf(long x, long n, double p);
double modex_log_hypergeom_pmf(long x, long M, long K, long n);

/* --- rank.c ---------------------------------------------------------------------------- */
void   modex_rank_average(const double *x, int n, double *ranks); /* 1-based, ties averaged */
double modex_spearman(const double *x, const double *y, int n);   /* NaN if either is constant */
/* Indices of the k largest values, largest first; ties: lower index first. */
void   modex_top_k(const float *v, int n, int k, int *out);
/* |A ∩ B| / |A ∪ B| of two index sets (duplicates ignored); 0 when both are empty. */
double modex_jaccard(const int *a, int na, const int *b, int nb);

/* --- predictivity.c ------------------------------------------------------------------- */
/* Predictivity of every neuron for one sub-function: acts is a row-major [n_units x d_ff]
 * float32 store of example activations; the sub-function uses units idx[0..n) with labels
 * y[0..n) (0/1). out[j] = max(AP(y, a_j), AP(1-y, a_j)); NaN when one class is missing.
 * Parallel over neurons (modex_parallel_for); results do not depend on the thread count. */
void modex_predictivity(const float *acts, int n_units, int d_ff, const int *idx,
                        const unsigned char *y, int n, float *out);
/* The same with a row stride ld (floats between consecutive units), e.g. a store laid out
 * [unit, layer, neuron] read one layer at a time: acts = base + layer*d_ff, ld = L*d_ff. */
void modex_predictivity_ld(const float *acts, long ld, int n_units, int d_ff, const int *idx,
                           const unsigned char *y, int n, float *out);
/* Several sub-functions at once (sorts each neuron's activations once over the union of their
 * units): out[s] is [d_ff] for sub-function s with units idx[s][0..n[s]) and labels y[s].
 * Identical results to calling modex_predictivity_ld once per sub-function. */
void modex_predictivity_multi(const float *acts, long ld, int n_units, int d_ff, int n_subs,
                              const int *const *idx, const unsigned char *const *y,
                              const int *n, float *const *out);
/* Pochinkov-style importance (§9): out[j] = mean |a_j| over task units / mean |a_j| over
 * general units (NaN when the general mean is 0). */
void modex_task_importance(const float *acts, long ld, int d_ff, const int *task_idx, int n_task,
                           const int *gen_idx, int n_gen, float *out);

/* --- bench ----------------------------------------------------------------------------- */
/* Times predictivity (12 layers x 3072 neurons, 2000 examples, 20 sub-functions) and balanced
 * k-means (3072 keys x 768 into 96 experts) on synthetic data; prints one row per measure. */
int modex_bench_stats(FILE *out);

#endif
