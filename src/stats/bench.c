/* bench.c — timing rows for `modex bench`: predictivity at T5-base scale and balanced k-means
 * at MoEfication's default split, on synthetic data (seeded). */
#include "modex/bench.h"
#include "modex/experts.h"
#include "modex/parallel.h"
#include "modex/rng.h"
#include "modex/stats.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <time.h>

#define LAYERS 12
#define DFF 3072
#define EXAMPLES 2000
#define SUBS 20

/* Process CPU seconds: on a shared machine wall time alone says little. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One layer's store [EXAMPLES x DFF]: ReLU of normals, rounded to 1/64 so that ties occur. */
static float *synthetic_layer(Rng *r) {
    float *a = modex_xmalloc((size_t)EXAMPLES * DFF * sizeof *a);
    for (size_t i = 0; i < (size_t)EXAMPLES * DFF; i++) {
        double v = modex_rng_normal(r);
        a[i] = v > 0 ? (float)(round(v * 64) / 64) : 0.0f;
    }
    return a;
}

/* shared = 0: each sub-function has its own 100 examples; 1: all use all 2000 examples. */
static void bench_predictivity(FILE *out, const float *acts, Rng *r, int shared, int multi) {
    int *idx[SUBS], n[SUBS];
    unsigned char *y[SUBS];
    float *o[SUBS];
    for (int s = 0; s < SUBS; s++) {
        n[s] = shared ? EXAMPLES : EXAMPLES / SUBS;
        idx[s] = modex_xmalloc((size_t)n[s] * sizeof *idx[s]);
        y[s] = modex_xmalloc((size_t)n[s]);
        o[s] = modex_xmalloc(DFF * sizeof *o[s]);
        for (int i = 0; i < n[s]; i++) {
            idx[s][i] = shared ? i : s * n[s] + i;
            y[s][i] = modex_rng_uniform(r) < 0.5;
        }
    }
    double t0 = modex_now(), c0 = cpu_now();
    for (int l = 0; l < LAYERS; l++) { /* the same store stands for every layer */
        if (multi)
            modex_predictivity_multi(acts, DFF, EXAMPLES, DFF, SUBS, (const int *const *)idx,
                                     (const unsigned char *const *)y, n, o);
        else
            for (int s = 0; s < SUBS; s++) modex_predictivity(acts, EXAMPLES, DFF, idx[s], y[s], n[s], o[s]);
    }
    double dt = modex_now() - t0, dc = cpu_now() - c0, evals = (double)LAYERS * DFF * SUBS;
    fprintf(out, "%-58s %7.2f s wall %7.2f s cpu %9.0f neuron-AP/s\n",
            shared ? (multi ? "predictivity 12x3072, 20 subs x 2000 shared ex (multi)"
                            : "predictivity 12x3072, 20 subs x 2000 shared ex (per sub)")
                   : (multi ? "predictivity 12x3072, 20 subs x 100 own ex (multi)"
                            : "predictivity 12x3072, 20 subs x 100 own ex (per sub)"),
            dt, dc, evals / dt);
    for (int s = 0; s < SUBS; s++) { free(idx[s]); free(y[s]); free(o[s]); }
}

int modex_bench_stats(FILE *out) {
    Rng r;
    modex_rng_seed(&r, 2024);
    fprintf(out, "stats/experts (%d threads)\n", modex_threads());
    float *acts = synthetic_layer(&r);
    bench_predictivity(out, acts, &r, 0, 0);
    bench_predictivity(out, acts, &r, 0, 1);
    bench_predictivity(out, acts, &r, 1, 1); /* the per-sub API on shared units is ~4x slower */
    free(acts);

    enum { N = 3072, DIM = 768, E = 96 };
    /* keys with structure (rank 16 plus noise): i.i.d. normal keys converge in two steps */
    enum { RANK = 16 };
    float *basis = modex_xmalloc((size_t)RANK * DIM * sizeof *basis);
    for (size_t i = 0; i < (size_t)RANK * DIM; i++) basis[i] = (float)modex_rng_normal(&r);
    float *keys = modex_xmalloc((size_t)N * DIM * sizeof *keys);
    for (int i = 0; i < N; i++) {
        double z[RANK];
        for (int q = 0; q < RANK; q++) z[q] = modex_rng_normal(&r);
        for (int d = 0; d < DIM; d++) {
            double v = 0.3 * modex_rng_normal(&r);
            for (int q = 0; q < RANK; q++) v += z[q] * basis[(size_t)q * DIM + d];
            keys[(size_t)i * DIM + d] = (float)v;
        }
    }
    free(basis);
    int *assign = modex_xmalloc(N * sizeof *assign), steps = 0;
    double obj = 0, t0 = modex_now(), c0 = cpu_now();
    Error err;
    int rc = modex_kmeans_balanced_ex(keys, N, DIM, E, 1, 0, assign, NULL, &obj, &steps, &err);
    double dt = modex_now() - t0, dc = cpu_now() - c0;
    if (rc == 0)
        fprintf(out, "%-58s %7.2f s wall %7.2f s cpu %3d steps, objective %.1f\n",
                "balanced k-means 3072 keys x 768 (rank 16 + noise) into 96", dt, dc, steps, obj);
    double *cost = modex_xmalloc((size_t)N * E * sizeof *cost);
    for (size_t i = 0; i < (size_t)N * E; i++) cost[i] = modex_rng_uniform(&r);
    int cap[E];
    for (int e = 0; e < E; e++) cap[e] = N / E;
    t0 = modex_now();
    c0 = cpu_now();
    modex_assign_balanced(cost, N, E, cap, assign);
    fprintf(out, "%-58s %7.2f s wall %7.2f s cpu\n", "exact balanced assignment 3072 x 96 (random costs)",
            modex_now() - t0, cpu_now() - c0);
    free(cost); free(keys);

    /* co-activation: 2000 tokens, 96 planted groups firing together, 3% background */
    enum { TOK = 2000 };
    float *h = modex_xcalloc((size_t)TOK * N, sizeof *h);
    for (int t = 0; t < TOK; t++) {
        int g = (int)modex_rng_below(&r, E);
        for (int i = 0; i < N; i++)
            if ((i % E == g && modex_rng_uniform(&r) < 0.8) || modex_rng_uniform(&r) < 0.03) h[(size_t)t * N + i] = 1;
    }
    double *A = modex_xcalloc((size_t)N * N, sizeof *A);
    t0 = modex_now();
    c0 = cpu_now();
    modex_coact_accumulate(h, TOK, N, A);
    fprintf(out, "%-58s %7.2f s wall %7.2f s cpu\n", "co-activation counts 2000 tokens x 3072 neurons",
            modex_now() - t0, cpu_now() - c0);
    t0 = modex_now();
    c0 = cpu_now();
    int rc2 = modex_coact_split(A, N, E, 1, assign, &err);
    if (rc2 == 0)
        fprintf(out, "%-58s %7.2f s wall %7.2f s cpu\n", "co-activation split 3072 into 96 (METIS + rebalance)",
                modex_now() - t0, cpu_now() - c0);
    free(h); free(A); free(assign);
    return rc ? rc : rc2;
}
MODEX_BENCH(stats, modex_bench_stats)
