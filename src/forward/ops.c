/* ops.c — the forward pass's kernels: linear (sgemm), norms, activations. */
#include "modex/forward.h"
#include "modex/parallel.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

void modex_linear_forward(float *y, const float *x, const Linear *l, int T) {
    float beta = 0.0f;
    if (l->b) {
        for (int t = 0; t < T; t++) memcpy(y + (size_t)t * l->out, l->b, sizeof(float) * (size_t)l->out);
        beta = 1.0f;
    }
    if (T == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, l->trans ? CblasNoTrans : CblasTrans, T, l->out, l->in, 1.0f, x,
                l->in, l->w, l->ld, beta, y, l->out);
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
