/* ops.c — the forward pass's kernels: linear (sgemm), norms, activations. */
#include "modex/forward.h"
#include "modex/parallel.h"
#include "modex/util.h"
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

static void linear_rows(float *y, const float *x, const Linear *l, int T) {
    float beta = 0.0f;
    if (l->b) {
        for (int t = 0; t < T; t++) memcpy(y + (size_t)t * l->out, l->b, sizeof(float) * (size_t)l->out);
        beta = 1.0f;
    }
    if (T == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, l->trans ? CblasNoTrans : CblasTrans, T, l->out, l->in, 1.0f, x,
                l->in, l->w, l->ld, beta, y, l->out);
}

/* Hashes 32 words spread over the row (rows of different tokens differ nearly everywhere);
 * equal hashes are confirmed with memcmp, so the sample costs collisions, never correctness. */
static uint64_t row_hash(const float *x, int n) {
    const uint32_t *w = (const uint32_t *)x;
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    int step = n > 32 ? n / 32 : 1;
    for (int i = 0; i < n; i += step) { h ^= w[i]; h *= 0xff51afd7ed558ccdULL; h ^= h >> 32; }
    return h;
}

/* Identical input rows get bitwise identical output rows. Optimised sgemm kernels (OpenBLAS's
 * Haswell kernel, used on every AVX2 CPU including AMD Zen) round a row differently depending on
 * where it sits in the matrix, so the same token after the same prefix in two probe texts would
 * come out a few ulps apart, and statistics that order activations (average precision's ties,
 * ranks) would see noise where the model has an exact tie. Rows are hashed (O(T·in), small next
 * to the product's O(T·in·out)); when some repeat, only the distinct ones are multiplied. */
void modex_linear_forward(float *y, const float *x, const Linear *l, int T) {
    if (T < 2) { linear_rows(y, x, l, T); return; }
    size_t cap = 16;
    while (cap < (size_t)T * 2) cap <<= 1;
    int *slot = modex_xmalloc(cap * sizeof *slot), *of = modex_xmalloc((size_t)T * sizeof *of);
    int *first = modex_xmalloc((size_t)T * sizeof *first);
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    int U = 0, in = l->in;
    for (int t = 0; t < T; t++) {
        const float *r = x + (size_t)t * in;
        size_t i = (size_t)row_hash(r, in) & (cap - 1);
        for (;; i = (i + 1) & (cap - 1)) {
            if (slot[i] < 0) { slot[i] = U; first[U] = t; of[t] = U++; break; }
            if (!memcmp(x + (size_t)first[slot[i]] * in, r, sizeof(float) * (size_t)in)) { of[t] = slot[i]; break; }
        }
    }
    free(slot);
    if (U == T) {
        linear_rows(y, x, l, T);
    } else {
        float *xu = modex_xmalloc(sizeof(float) * (size_t)U * in), *yu = modex_xmalloc(sizeof(float) * (size_t)U * l->out);
        for (int u = 0; u < U; u++) memcpy(xu + (size_t)u * in, x + (size_t)first[u] * in, sizeof(float) * (size_t)in);
        linear_rows(yu, xu, l, U);
        for (int t = 0; t < T; t++) memcpy(y + (size_t)t * l->out, yu + (size_t)of[t] * l->out, sizeof(float) * (size_t)l->out);
        free(xu); free(yu);
    }
    free(of); free(first);
}

typedef struct { float *y; const float *x; const Norm *n; NormKind kind; float eps; int D; } NormCtx;

static void norm_rows(void *c, int64_t b, int64_t e, int th) {
    (void)th;
    const NormCtx *k = c;
    int D = k->D;
    for (int64_t t = b; t < e; t++) {
        const float *x = k->x + t * D;
        float *y = k->y + t * D;
        if (k->kind == NORM_LAYER) {
            double s = 0, s2 = 0;
            for (int i = 0; i < D; i++) s += x[i];
            double mean = s / D;
            for (int i = 0; i < D; i++) { double d = x[i] - mean; s2 += d * d; }
            float inv = (float)(1.0 / sqrt(s2 / D + (double)k->eps));
            float mf = (float)mean;
            for (int i = 0; i < D; i++) y[i] = (x[i] - mf) * inv * k->n->w[i] + (k->n->b ? k->n->b[i] : 0.0f);
        } else {
            double s2 = 0;
            for (int i = 0; i < D; i++) s2 += (double)x[i] * x[i];
            float inv = (float)(1.0 / sqrt(s2 / D + (double)k->eps));
            for (int i = 0; i < D; i++) y[i] = k->n->w[i] * (x[i] * inv);
        }
    }
}

void modex_norm_forward(float *y, const float *x, const Norm *n, NormKind kind, float eps, int T, int D) {
    NormCtx c = {y, x, n, kind, eps, D};
    modex_parallel_for(T, 16, norm_rows, &c);
}

typedef struct { float *x; Activation a; } ActCtx;

static void act_range(void *c, int64_t b, int64_t e, int th) {
    (void)th;
    const ActCtx *k = c;
    float *x = k->x;
    switch (k->a) {
    case ACT_RELU: for (int64_t i = b; i < e; i++) x[i] = x[i] > 0 ? x[i] : 0.0f; break;
    case ACT_GELU_TANH:
        for (int64_t i = b; i < e; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        }
        break;
    case ACT_GELU_ERF:
        for (int64_t i = b; i < e; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
        break;
    case ACT_SILU: for (int64_t i = b; i < e; i++) x[i] = x[i] / (1.0f + expf(-x[i])); break;
    }
}

void modex_activation(float *x, int64_t n, Activation a) {
    ActCtx c = {x, a};
    modex_parallel_for(n, 8192, act_range, &c);
}

int modex_t5_bucket(int rel, int num_buckets, int max_distance) {
    int ret = 0, nb = num_buckets / 2;
    if (rel > 0) ret += nb;
    int n = rel < 0 ? -rel : rel;
    int max_exact = nb / 2;
    if (n < max_exact) return ret + n;
    float v = logf((float)n / (float)max_exact) / logf((float)max_distance / (float)max_exact) * (float)(nb - max_exact);
    int large = max_exact + (int)v;
    if (large > nb - 1) large = nb - 1;
    return ret + large;
}

typedef struct { int32_t *const *ids; const int *n; } OrderCtx;

static int cmp_prefix(const void *a, const void *b, void *ctx) {
    const OrderCtx *c = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    int nx = c->n[x], ny = c->n[y], k = nx < ny ? nx : ny;
    for (int i = 0; i < k; i++)
        if (c->ids[x][i] != c->ids[y][i]) return c->ids[x][i] < c->ids[y][i] ? -1 : 1;
    if (nx != ny) return nx < ny ? -1 : 1;
    return x < y ? -1 : x > y;
}

void modex_batch_order(int *order, int n, int32_t *const *ids, const int *n_ids) {
    OrderCtx c = {ids, n_ids};
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_prefix, &c);
}
