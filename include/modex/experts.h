/* experts.h — neurons into experts (method.md §4) and the functional-expert tests (§5):
 * balanced k-means on the keys, co-activation graph partition (METIS), hypergeometric and
 * binomial tests of specialised-neuron counts, random-partition baselines, heatmaps. */
#ifndef MODEX_EXPERTS_H
#define MODEX_EXPERTS_H
#include "modex/error.h"

// --- kmeans.c ---------------------------------------------------------------------------------
/* Balanced k-means (KMeansConstrained semantics: every cluster exactly n/E; n % E == 0
 * required) on the L2-normalised rows of keys [n x dim] (all-zero rows stay zero). One seeded
 * k-means++ start (greedy, 2+ln E local trials, as scikit-learn), then Lloyd iterations whose
 * assignment step is an EXACT minimum-cost balanced assignment (modex_assign_balanced), until
 * the assignment repeats or `iters` (<= 0: 300) steps. Deterministic: bitwise identical for
 * any thread count. Writes assign[n] in [0, E). Returns 0, or -1 with err. */
int modex_kmeans_balanced(const float *keys, int n, int dim, int E, unsigned long long seed,
                          int iters, int *assign, Error *err);
/* The same, also giving the final centres [E x dim] (means of the assigned normalised keys;
 * may be NULL), the objective (sum of squared distances; may be NULL) and the number of
 * assignment steps run (may be NULL). */
int modex_kmeans_balanced_ex(const float *keys, int n, int dim, int E, unsigned long long seed,
                             int iters, int *assign, float *centres, double *objective,
                             int *steps, Error *err);
/* Sum over i of |x̂_i - centres[assign[i]]|² with x̂ the L2-normalised rows of keys. */
double modex_kmeans_objective(const float *keys, int n, int dim, const float *centres,
                              const int *assign);
/* Exact minimum-cost assignment of n items to E bins holding exactly cap[e] items each
 * (sum of cap == n): cost is [n x E] row-major. Successive shortest paths with Dijkstra on the
 * E-bin graph (an item's move a->b is an edge of cost cost[j][b]-cost[j][a]). Returns the total
 * cost; assign[n] gets the bins. O(n E^2) time. Returns NAN if the caps do not add up to n. */
double modex_assign_balanced(const double *cost, int n, int E, const int *cap, int *assign);

// --- coact.c -------------------------------------------------------------------------------------
/* Co-activation split (MoEfication): coact is an [n x n] double matrix of counts (tokens where
 * neurons i and j are both > 0). thr = 0.99 x the first non-zero of the 10th, 20th, ... 100th
 * percentile (numpy's linear interpolation) of all n*n entries, diagonal included; edge
 * i-j (i != j) weight int(A_ij / thr) when >= 1 (A symmetrised as max(A_ij, A_ji)). METIS
 * k-way into E parts (seeded), then overflow neurons move to underfull parts (the ones with the
 * weakest ties to their own part go first, each to the underfull part it is most tied to) so
 * that every part has exactly n/E. Returns 0, or -1 with err (n % E != 0, all zero, METIS). */
int modex_coact_split(const double *coact, int n, int E, unsigned long long seed, int *assign,
                      Error *err);
/* Accumulates co-activation counts of T tokens of activations h [T x n] (row-major) into
 * coact [n x n]: coact[i][j] += #tokens with h_i > 0 and h_j > 0. Exact, parallel over rows;
 * call it on batches of tokens (T * n active entries must stay below 2^31). */
void modex_coact_accumulate(const float *h, int T, int n, double *coact);

// --- functional.c --------------------------------------------------------------------------------
typedef struct FunctionalResult {
    int E, n_special;        /* n_special: N, the specialised neurons (pooled: N_total) */
    int *count;              /* [E] c_e */
    int *threshold;          /* [E] t_e: smallest t with P(X > t) <= alpha */
    double *p_value;         /* [E] P(X >= c_e) */
    unsigned char *functional; /* [E] c_e > t_e */
    int n_functional;
    double modularisation;   /* mean over functional experts of c_e / (N/E); 0 if none */
} FunctionalResult;

/* Specialised = top int(0.01*d_ff) neurons by pred (ties: lower index first; NaN last).
 * X ~ Hypergeometric(M = d_ff, n = n_e, N = #specialised). Returns 0, -1 on bad input. */
int  modex_functional_experts(const float *pred, const int *assign, int d_ff, int E, double alpha,
                              FunctionalResult *out);
/* Function level: pooled specialised lists of n_subs sub-functions (duplicates kept), tested
 * with X ~ Binomial(N_total, n_e/d_ff) (= 1/E for equal experts). */
int  modex_functional_pooled(const float *const *preds, int n_subs, const int *assign, int d_ff,
                             int E, double alpha, FunctionalResult *out);
void modex_functional_free(FunctionalResult *r);
/* Random-partition baseline: `shuffles` seeded random equal partitions (sizes differ by at most
 * one when E does not divide d_ff). mean_proportion = mean of #functional/E; mean_modularisation
 * = mean of c_e/(N/E) over all functional experts found in all shuffles (0 if none). */
void modex_functional_random(const float *pred, int d_ff, int E, double alpha, int shuffles,
                             unsigned long long seed, double *mean_proportion,
                             double *mean_modularisation);
/* Pooled (function-level) version of the random baseline. */
void modex_functional_pooled_random(const float *const *preds, int n_subs, int d_ff, int E,
                                    double alpha, int shuffles, unsigned long long seed,
                                    double *mean_proportion, double *mean_modularisation);
/* Expert-level vector (§7): out[e] = mean of v over expert e's neurons (NaN if empty). */
void modex_expert_mean(const float *v, const int *assign, int d_ff, int E, double *out);

// --- heatmap.c -----------------------------------------------------------------------------------
/* mean_out[e] = mean activation of expert e's neurons over the units pos_idx[0..n_pos)
 * (acts is [n_units x d_ff] row-major). NaN for an empty expert or no units. */
void modex_heatmap(const float *acts, int n_units, int d_ff, const int *assign, int E,
                   const int *pos_idx, int n_pos, float *mean_out);
/* The same with a row stride ld (see modex_predictivity_ld). */
void modex_heatmap_ld(const float *acts, long ld, int n_units, int d_ff, const int *assign, int E,
                      const int *pos_idx, int n_pos, float *mean_out);
/* z[r][c] = (m[r][c] - mean_r) / sd_r, population sd over the row; 0 where sd_r == 0. */
void modex_zscore_rows(const float *m, int rows, int cols, float *z);

#endif
