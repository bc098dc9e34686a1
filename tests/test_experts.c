/* test_experts.c — exact balanced assignment vs a Hungarian solver written here, balanced
 * k-means (sizes, optimality of the final assignment, planted clusters, determinism across
 * thread counts), co-activation split, functional-expert thresholds and p-values against
 * direct long-double summation, heatmap and z-scores. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/experts.h"
#include "modex/parallel.h"
#include "modex/rng.h"
#include "modex/stats.h"

// --- an independent exact solver: Hungarian algorithm on the n x n slot matrix ---------------

/* Minimum-cost perfect matching of rows to columns of a[n][n] (O(n^3), potentials u, v). */
static double hungarian(const double *a, int n, int *row_to_col) {
    double *u = calloc(n + 1, sizeof *u), *v = calloc(n + 1, sizeof *v), *minv = malloc((n + 1) * sizeof *minv);
    int *p = calloc(n + 1, sizeof *p), *way = calloc(n + 1, sizeof *way);
    char *used = malloc(n + 1);
    for (int i = 1; i <= n; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= n; j++) { minv[j] = INFINITY; used[j] = 0; }
        do {
            used[j0] = 1;
            int i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (int j = 1; j <= n; j++) {
                if (used[j]) continue;
                double cur = a[(size_t)(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
                if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                if (minv[j] < delta) { delta = minv[j]; j1 = j; }
            }
            for (int j = 0; j <= n; j++) {
                if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                else minv[j] -= delta;
            }
            j0 = j1;
        } while (p[j0] != 0);
        do { int j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0);
    }
    double total = 0;
    for (int j = 1; j <= n; j++) { row_to_col[p[j] - 1] = j - 1; total += a[(size_t)(p[j] - 1) * n + (j - 1)]; }
    free(u); free(v); free(minv); free(p); free(way); free(used);
    return total;
}

/* Exact balanced optimum of cost [n x E] with every bin n/E: columns repeated per slot. */
static double exact_balanced(const double *cost, int n, int E) {
    int cap = n / E;
    double *a = malloc(sizeof *a * (size_t)n * n);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < n; s++) a[(size_t)i * n + s] = cost[(size_t)i * E + s / cap];
    int *m = malloc(sizeof *m * n);
    double t = hungarian(a, n, m);
    free(a); free(m);
    return t;
}

static void test_assign_exact(void **state) {
    (void)state;
    Rng r;
    modex_rng_seed(&r, 11);
    int cases = 0;
    double worst = 0;
    for (int n = 24; n <= 60; n += 6)
        for (int E = 3; E <= 6; E++) {
            if (n % E) continue;
            double *cost = malloc(sizeof *cost * (size_t)(n * E));
            for (int kind = 0; kind < 3; kind++) {
                for (int t = 0; t < n * E; t++) {
                    double x = modex_rng_uniform(&r);
                    cost[t] = kind == 0 ? x : kind == 1 ? floor(x * 4) : -log(x + 1e-9); /* ties in kind 1 */
                }
                int cap[6], *as = malloc(sizeof *as * n), cnt[6] = {0};
                for (int e = 0; e < E; e++) cap[e] = n / E;
                double got = modex_assign_balanced(cost, n, E, cap, as);
                double sum = 0;
                for (int i = 0; i < n; i++) { assert_true(as[i] >= 0 && as[i] < E); cnt[as[i]]++; sum += cost[i * E + as[i]]; }
                for (int e = 0; e < E; e++) assert_int_equal(cnt[e], n / E);
                assert_float_equal(got, sum, 1e-9);
                double ex = exact_balanced(cost, n, E), d = fabs(got - ex);
                if (d > worst) worst = d;
                if (d > 1e-9) fail_msg("n %d E %d kind %d: %.12f vs exact %.12f", n, E, kind, got, ex);
                cases++;
                free(as);
            }
            free(cost);
        }
    /* unequal capacities */
    double c2[8] = {0, 5, 0, 5, 0, 5, 1, 0}; /* 4 items x 2 bins, caps 3 and 1 */
    int cap2[2] = {3, 1}, a2[4];
    assert_float_equal(modex_assign_balanced(c2, 4, 2, cap2, a2), 0.0, 0);
    assert_int_equal(a2[3], 1);
    int bad[2] = {3, 2};
    assert_true(isnan(modex_assign_balanced(c2, 4, 2, bad, a2)));
    printf("balanced assignment: %d cases equal to the Hungarian optimum (worst %.3g)\n", cases, worst);
}

// --- k-means ---------------------------------------------------------------------------------------

static float *random_keys(int n, int dim, unsigned long long seed) {
    Rng r;
    modex_rng_seed(&r, seed);
    float *k = malloc(sizeof *k * (size_t)n * dim);
    for (int i = 0; i < n * dim; i++) k[i] = (float)modex_rng_normal(&r);
    return k;
}

static void test_kmeans_small_exact(void **state) {
    (void)state;
    int cases = 0;
    double worst = 0;
    for (int n = 24; n <= 60; n += 12)
        for (int E = 3; E <= 6; E++) {
            if (n % E) continue;
            int dim = 8;
            float *keys = random_keys(n, dim, 100 + n * 7 + E);
            int *as = malloc(sizeof *as * n), steps = 0;
            float *C = malloc(sizeof *C * E * dim);
            double obj;
            Error err;
            assert_int_equal(modex_kmeans_balanced_ex(keys, n, dim, E, 5, 100, as, C, &obj, &steps, &err), 0);
            int cnt[6] = {0};
            for (int i = 0; i < n; i++) cnt[as[i]]++;
            for (int e = 0; e < E; e++) assert_int_equal(cnt[e], n / E);
            assert_float_equal(obj, modex_kmeans_objective(keys, n, dim, C, as), 1e-9);
            /* exact balanced assignment from the same centres (squared distances, computed here) */
            double *cost = malloc(sizeof *cost * (size_t)(n * E));
            for (int i = 0; i < n; i++) {
                double nn = 0;
                for (int d = 0; d < dim; d++) nn += (double)keys[i * dim + d] * keys[i * dim + d];
                for (int e = 0; e < E; e++) {
                    double s = 0;
                    for (int d = 0; d < dim; d++) { double t = keys[i * dim + d] / sqrt(nn) - C[e * dim + d]; s += t * t; }
                    cost[i * E + e] = s;
                }
            }
            double ex = exact_balanced(cost, n, E), rel = (obj - ex) / ex;
            if (rel > worst) worst = rel;
            if (rel > 0.01) fail_msg("n %d E %d: objective %.9f vs exact %.9f", n, E, obj, ex);
            assert_true(steps >= 1 && steps <= 100);
            cases++;
            free(cost); free(C); free(as); free(keys);
        }
    printf("kmeans: %d cases, worst (objective - exact)/exact = %.3g\n", cases, worst);
}

/* Planted: E directions, n/E keys each near one of them (random order) -> recovered exactly. */
static void test_kmeans_planted(void **state) {
    (void)state;
    enum { n = 96, E = 6, dim = 16 };
    Rng r;
    modex_rng_seed(&r, 3);
    float dirs[E][dim], keys[n * dim];
    for (int e = 0; e < E; e++) for (int d = 0; d < dim; d++) dirs[e][d] = (float)modex_rng_normal(&r);
    int truth[n], perm[n];
    for (int i = 0; i < n; i++) perm[i] = i;
    modex_rng_shuffle_int(&r, perm, n);
    for (int i = 0; i < n; i++) {
        truth[perm[i]] = i % E;
        for (int d = 0; d < dim; d++)
            keys[perm[i] * dim + d] = (float)(dirs[i % E][d] * (1 + modex_rng_uniform(&r)) + 0.05 * modex_rng_normal(&r));
    }
    int as[n];
    Error err;
    assert_int_equal(modex_kmeans_balanced(keys, n, dim, E, 42, 0, as, &err), 0);
    int map[E];
    for (int e = 0; e < E; e++) map[e] = -1;
    for (int i = 0; i < n; i++) {
        if (map[truth[i]] < 0) map[truth[i]] = as[i];
        assert_int_equal(map[truth[i]], as[i]);
    }
}

static void test_kmeans_determinism(void **state) {
    (void)state;
    int n = 384, dim = 48, E = 12;
    float *keys = random_keys(n, dim, 9);
    int *a1 = malloc(sizeof *a1 * n), *a2 = malloc(sizeof *a2 * n), *a3 = malloc(sizeof *a3 * n);
    float *c1 = malloc(sizeof *c1 * E * dim), *c2 = malloc(sizeof *c2 * E * dim);
    double o1, o2;
    Error err;
    modex_set_threads(1);
    assert_int_equal(modex_kmeans_balanced_ex(keys, n, dim, E, 77, 50, a1, c1, &o1, NULL, &err), 0);
    modex_set_threads(2);
    assert_int_equal(modex_kmeans_balanced_ex(keys, n, dim, E, 77, 50, a2, c2, &o2, NULL, &err), 0);
    assert_memory_equal(a1, a2, sizeof *a1 * n);
    assert_memory_equal(c1, c2, sizeof *c1 * E * dim);
    assert_memory_equal(&o1, &o2, sizeof o1);
    assert_int_equal(modex_kmeans_balanced(keys, n, dim, E, 77, 50, a3, &err), 0);
    assert_memory_equal(a1, a3, sizeof *a1 * n);
    assert_int_equal(modex_kmeans_balanced(keys, n, dim, E, 78, 50, a3, &err), 0);
    int cnt[12] = {0};
    for (int i = 0; i < n; i++) cnt[a3[i]]++;
    for (int e = 0; e < E; e++) assert_int_equal(cnt[e], n / E);
    /* bad input: one line of error */
    assert_int_equal(modex_kmeans_balanced(keys, 100, dim, 7, 1, 10, a3, &err), -1);
    assert_non_null(strstr(err.msg, "7"));
    free(keys); free(a1); free(a2); free(a3); free(c1); free(c2);
}

// --- co-activation -----------------------------------------------------------------------------------

static void test_coact(void **state) {
    (void)state;
    float h[3 * 3] = {1, 0, 2, 0.5f, 0.5f, 0, 0, -1, 3};
    double c[9] = {0};
    modex_coact_accumulate(h, 3, 3, c);
    double e[9] = {2, 1, 1, 1, 1, 0, 1, 0, 2};
    assert_memory_equal(c, e, sizeof c);

    /* planted groups of unequal sizes: 70, 58, 64, 64 co-firing neurons, split into 4 x 64:
     * METIS may leave parts of 65 (ufactor 1.03), which the rebalance must fix */
    enum { n = 256, E = 4, T = 1200 };
    int group[n];
    for (int i = 0; i < n; i++) group[i] = i < 70 ? 0 : i < 128 ? 1 : i < 192 ? 2 : 3;
    Rng r;
    modex_rng_seed(&r, 5);
    int perm[n];
    for (int i = 0; i < n; i++) perm[i] = i;
    modex_rng_shuffle_int(&r, perm, n); /* neuron perm[i] belongs to group[i] */
    float *hs = calloc((size_t)T * n, sizeof *hs);
    for (int t = 0; t < T; t++) {
        int g = (int)modex_rng_below(&r, E);
        for (int i = 0; i < n; i++)
            if ((group[i] == g && modex_rng_uniform(&r) < 0.9) || modex_rng_uniform(&r) < 0.05)
                hs[(size_t)t * n + perm[i]] = 1;
    }
    double *A = calloc((size_t)n * n, sizeof *A);
    modex_coact_accumulate(hs, T, n, A);
    int as[n], as2[n];
    Error err;
    assert_int_equal(modex_coact_split(A, n, E, 1, as, &err), 0);
    assert_int_equal(modex_coact_split(A, n, E, 1, as2, &err), 0);
    assert_memory_equal(as, as2, sizeof as);
    int cnt[E] = {0};
    for (int i = 0; i < n; i++) { assert_true(as[i] >= 0 && as[i] < E); cnt[as[i]]++; }
    for (int e = 0; e < E; e++) assert_int_equal(cnt[e], n / E);
    /* quality: neurons sitting in their group's majority part (the ideal split has 256 - 6) */
    int in_major = 0;
    for (int g = 0; g < E; g++) {
        int h[E] = {0}, best = 0;
        for (int i = 0; i < n; i++) if (group[i] == g) h[as[perm[i]]]++;
        for (int e = 0; e < E; e++) if (h[e] > best) best = h[e];
        in_major += best;
    }
    printf("coact split: %d of %d neurons in their group's majority part\n", in_major, n);
    assert_true(in_major >= n - 6 - 8);
    double zero[16] = {0};
    int z[4];
    assert_int_equal(modex_coact_split(zero, 4, 2, 1, z, &err), -1);
    assert_int_equal(modex_coact_split(A, n, 5, 1, as, &err), -1);
    free(hs); free(A);
}

// --- functional experts ------------------------------------------------------------------------------

static long double lchoose(long n, long k) { return lgammal(n + 1.0L) - lgammal(k + 1.0L) - lgammal(n - k + 1.0L); }

/* P(X >= k) for Hypergeometric(M, K successes, N draws), by direct summation. */
static long double hyper_ge(long k, long M, long K, long N) {
    long double s = 0;
    for (long x = k; x <= N && x <= K; x++) {
        if (x < 0 || N - x > M - K) continue;
        s += expl(lchoose(K, x) + lchoose(M - K, N - x) - lchoose(M, N));
    }
    return s;
}

static long double binom_ge(long k, long N, long double p) {
    long double s = 0;
    for (long x = k < 0 ? 0 : k; x <= N; x++) s += expl(lchoose(N, x) + x * logl(p) + (N - x) * logl(1 - p));
    return s;
}

static void test_functional(void **state) {
    (void)state;
    enum { D = 700, E = 14 }; /* experts of 50, N = int(0.01*700) = 7 specialised */
    int assign[D];
    for (int j = 0; j < D; j++) assign[j] = (j * 3 + j / 50) % E;
    int sz[E] = {0};
    for (int j = 0; j < D; j++) sz[assign[j]]++;
    float pred[D];
    Rng r;
    modex_rng_seed(&r, 8);
    for (int j = 0; j < D; j++) pred[j] = (float)(0.5 + 0.2 * modex_rng_uniform(&r));
    /* the 7 best: 4 in expert 2, 2 in expert 5, 1 in expert 9; plus a tie at the cut */
    int placed = 0, want[3] = {2, 5, 9}, howmany[3] = {4, 2, 1};
    for (int w = 0; w < 3; w++)
        for (int j = 0, k = 0; j < D && k < howmany[w]; j++)
            if (assign[j] == want[w] && pred[j] < 0.9f) { pred[j] = 0.95f - 0.001f * placed++; k++; }
    float cut = 0.95f - 0.001f * 6; /* give a later neuron of expert 0 the same value: lower index wins */
    for (int j = D - 1; j >= 0; j--) if (assign[j] == 0) { pred[j] = cut; break; }
    FunctionalResult fr;
    double alpha = 0.001;
    assert_int_equal(modex_functional_experts(pred, assign, D, E, alpha, &fr), 0);
    assert_int_equal(fr.n_special, 7);
    assert_int_equal(fr.count[2], 4); assert_int_equal(fr.count[5], 2); assert_int_equal(fr.count[9], 1);
    assert_int_equal(fr.count[0], 0);
    double worst = 0;
    for (int e = 0; e < E; e++) {
        int t = 0; /* independent threshold: smallest t with P(X > t) <= alpha */
        while (hyper_ge(t + 1, D, sz[e], 7) > alpha) t++;
        assert_int_equal(fr.threshold[e], t);
        long double p = hyper_ge(fr.count[e], D, sz[e], 7);
        double rel = fabs((double)((fr.p_value[e] - p) / p));
        if (rel > worst) worst = rel;
        assert_true(rel < 1e-11);
        assert_int_equal(fr.functional[e], fr.count[e] > t);
    }
    assert_int_equal(fr.threshold[2], 3); /* P(X>=4) = 6.906e-4 <= 0.001 < P(X>=3) = 9.80e-3 (Python, exact) */
    assert_int_equal(fr.n_functional, 1);
    assert_true(fr.functional[2]);
    assert_float_equal(fr.modularisation, 4 / (7.0 / E), 1e-12);
    modex_functional_free(&fr);
    printf("functional: hypergeometric p-values worst relative diff %.3g\n", worst);

    /* pooled: three sub-functions, binomial(N_total = 21, 50/700) */
    float p2[D], p3[D];
    memcpy(p2, pred, sizeof p2);
    memcpy(p3, pred, sizeof p3);
    const float *ps[3] = {pred, p2, p3};
    assert_int_equal(modex_functional_pooled(ps, 3, assign, D, E, alpha, &fr), 0);
    assert_int_equal(fr.n_special, 21);
    assert_int_equal(fr.count[2], 12);
    worst = 0;
    for (int e = 0; e < E; e++) {
        int t = 0;
        while (binom_ge(t + 1, 21, 50.0L / 700) > alpha) t++;
        assert_int_equal(fr.threshold[e], t);
        long double p = binom_ge(fr.count[e], 21, 50.0L / 700);
        double rel = fabs((double)((fr.p_value[e] - p) / p));
        if (rel > worst) worst = rel;
        assert_true(rel < 1e-11);
    }
    /* Python, exact: P(X>=7) = 4.50e-4 <= 0.001 < P(X>=6) = 2.82e-3, so t = 6: 12 is, 6 is not */
    assert_int_equal(fr.threshold[5], 6);
    assert_true(fr.functional[2] && !fr.functional[5]);
    printf("pooled: binomial p-values worst relative diff %.3g, %d functional\n", worst, fr.n_functional);
    modex_functional_free(&fr);

    /* random baseline: deterministic, and rarely functional */
    double mp, mm, mp2, mm2;
    modex_functional_random(pred, D, E, alpha, 200, 1, &mp, &mm);
    modex_functional_random(pred, D, E, alpha, 200, 1, &mp2, &mm2);
    assert_memory_equal(&mp, &mp2, sizeof mp);
    assert_memory_equal(&mm, &mm2, sizeof mm);
    assert_true(mp >= 0 && mp < 0.01);
    modex_functional_pooled_random(ps, 3, D, E, alpha, 50, 2, &mp, &mm);
    assert_true(mp >= 0 && mp < 0.05);
    int bad[D];
    memcpy(bad, assign, sizeof bad);
    bad[3] = E;
    assert_int_equal(modex_functional_experts(pred, bad, D, E, alpha, &fr), -1);
}

// --- heatmap ------------------------------------------------------------------------------------------

static void test_heatmap(void **state) {
    (void)state;
    float acts[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; /* 3 units x 4 neurons */
    int assign[4] = {0, 1, 0, 1}, pos[2] = {0, 2};
    float m[2];
    modex_heatmap(acts, 3, 4, assign, 2, pos, 2, m);
    assert_float_equal(m[0], (1 + 3 + 9 + 11) / 4.0, 1e-6);
    assert_float_equal(m[1], (2 + 4 + 10 + 12) / 4.0, 1e-6);
    float x[6] = {1, 2, 3, 5, 5, 5}, z[6];
    modex_zscore_rows(x, 2, 3, z);
    double sd = sqrt(2.0 / 3.0);
    assert_float_equal(z[0], -1 / sd, 1e-6); assert_float_equal(z[1], 0, 1e-6); assert_float_equal(z[2], 1 / sd, 1e-6);
    assert_float_equal(z[3], 0, 0); assert_float_equal(z[5], 0, 0);
    double em[2];
    float v[4] = {1, 2, 3, 6};
    modex_expert_mean(v, assign, 4, 2, em);
    assert_float_equal(em[0], 2, 1e-12); assert_float_equal(em[1], 4, 1e-12);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_exact),
        cmocka_unit_test(test_kmeans_small_exact),
        cmocka_unit_test(test_kmeans_planted),
        cmocka_unit_test(test_kmeans_determinism),
        cmocka_unit_test(test_coact),
        cmocka_unit_test(test_functional),
        cmocka_unit_test(test_heatmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
