/* bench_archs.c — forward speed per model family at realistic shapes (random weights built in
 * memory): tokens/s and GFLOP/s for a batch of 4 sequences × 128 tokens, next to cblas_sgemm's
 * GFLOP/s on the same matrix shapes measured in the same run (the ceiling for the projections). */
#include "modex/bench.h"
#include "modex/forward.h"
#include "modex/model.h"
#include "modex/util.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B_SEQ = 4, B_LEN = 128, B_T = B_SEQ * B_LEN };

// --- random models ---------------------------------------------------------------------------

static uint64_t bench_rng = 0x2545F4914F6CDD1Dull;
static float *rnd(Model *m, size_t n, float scale) {
    float *p = modex_model_alloc(m, n);
    for (size_t i = 0; i < n; i++) {
        bench_rng ^= bench_rng << 13; bench_rng ^= bench_rng >> 7; bench_rng ^= bench_rng << 17;
        p[i] = scale * (float)((double)(bench_rng >> 11) / 4503599627370496.0 - 1.0);
    }
    return p;
}
static float *ones(Model *m, size_t n) {
    float *p = modex_model_alloc(m, n);
    for (size_t i = 0; i < n; i++) p[i] = 1.0f;
    return p;
}
static Linear rlin(Model *m, int in, int out, int bias) {
    return (Linear){.w = rnd(m, (size_t)in * out, 0.03f), .b = bias ? rnd(m, (size_t)out, 0.01f) : NULL, .in = in, .out = out, .ld = in};
}
static Norm rnorm(Model *m, int d, int bias) { return (Norm){ones(m, (size_t)d), bias ? modex_model_alloc(m, (size_t)d) : NULL}; }

/* Weights for every layer (shared = 1: all layers point at layer 0's, to bound memory). */
static Model *build(const ModelConfig *c, QkvLayout qkv, int bias, int shared) {
    Model *m = modex_xcalloc(1, sizeof *m);
    m->cfg = *c;
    m->is_gguf = 1; /* nothing mapped: free() closes an empty Gguf */
    m->random_init = 1;
    m->qkv_layout = qkv;
    int D = c->d_model, F = c->d_ff, H = c->n_head, Kv = c->n_kv_head, Dh = c->head_dim;
    m->tok_emb = rnd(m, (size_t)c->vocab * D, 1.0f);
    if (c->learned_pos) m->pos_emb = rnd(m, (size_t)c->max_pos * D, 0.1f);
    if (c->type_vocab) m->type_emb = rnd(m, (size_t)c->type_vocab * D, 0.1f);
    if (c->post_norm) m->emb_norm = rnorm(m, D, bias);
    else m->final_norm = rnorm(m, D, bias);
    m->layers = modex_xcalloc((size_t)c->n_layer, sizeof *m->layers);
    for (int l = 0; l < c->n_layer; l++) {
        LayerWeights *L = &m->layers[l];
        if (shared && l > 0) {
            *L = m->layers[0];
            L->rel_bias = NULL;
            if (c->n_experts) {
                L->e_up = modex_xmalloc(sizeof(Linear) * (size_t)c->n_experts);
                L->e_gate = modex_xmalloc(sizeof(Linear) * (size_t)c->n_experts);
                L->e_down = modex_xmalloc(sizeof(Linear) * (size_t)c->n_experts);
                memcpy(L->e_up, m->layers[0].e_up, sizeof(Linear) * (size_t)c->n_experts);
                memcpy(L->e_gate, m->layers[0].e_gate, sizeof(Linear) * (size_t)c->n_experts);
                memcpy(L->e_down, m->layers[0].e_down, sizeof(Linear) * (size_t)c->n_experts);
            }
            continue;
        }
        L->attn_norm = rnorm(m, D, bias);
        L->ffn_norm = rnorm(m, D, bias);
        if (qkv == QKV_SEPARATE) {
            L->q = rlin(m, D, H * Dh, bias); L->k = rlin(m, D, Kv * Dh, bias); L->v = rlin(m, D, Kv * Dh, bias);
        } else {
            L->qkv = rlin(m, D, (H + 2 * Kv) * Dh, bias);
        }
        L->o = rlin(m, H * Dh, D, bias);
        if (c->n_experts) {
            L->router = rlin(m, D, c->n_experts, 0);
            L->e_up = modex_xmalloc(sizeof(Linear) * (size_t)c->n_experts);
            L->e_gate = modex_xmalloc(sizeof(Linear) * (size_t)c->n_experts);
            L->e_down = modex_xmalloc(sizeof(Linear) * (size_t)c->n_experts);
            for (int e = 0; e < c->n_experts; e++) {
                L->e_up[e] = rlin(m, D, F, 0); L->e_gate[e] = rlin(m, D, F, 0); L->e_down[e] = rlin(m, F, D, 0);
            }
        } else {
            L->up = rlin(m, D, F, bias);
            if (c->gated_ffn) L->gate = rlin(m, D, F, bias);
            L->down = rlin(m, F, D, bias);
        }
    }
    if (c->t5_buckets) m->layers[0].rel_bias = rnd(m, (size_t)c->t5_buckets * c->n_head, 0.5f);
    return m;
}

// --- counting and timing ---------------------------------------------------------------------

/* CPU seconds of the whole process (all threads): with wall time it shows how many cores the
 * pass really had on a shared machine. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct Shape { int M, N, K, reps; } Shape;

/* The projections of one forward as (M, N, K, repetitions); returns how many. MoE experts
 * see top_k/E of the tokens each on average (counted as top_k full-batch products). */
static int shapes(const ModelConfig *c, Shape *s) {
    int D = c->d_model, F = c->d_ff, Hd = c->n_head * c->head_dim, Kd = c->n_kv_head * c->head_dim, n = 0, L = c->n_layer;
    s[n++] = (Shape){B_T, Hd + 2 * Kd, D, L};
    s[n++] = (Shape){B_T, D, Hd, L};
    int ffn_mult = c->n_experts ? c->top_k : 1;
    s[n++] = (Shape){B_T, F, D, L * ffn_mult * (c->gated_ffn ? 2 : 1)};
    s[n++] = (Shape){B_T, D, F, L * ffn_mult};
    if (c->n_experts) s[n++] = (Shape){B_T, c->n_experts, D, L};
    return n;
}

static double forward_flops(const ModelConfig *c) {
    Shape s[8];
    int n = shapes(c, s);
    double f = 0;
    for (int i = 0; i < n; i++) f += 2.0 * s[i].M * s[i].N * s[i].K * s[i].reps;
    double pairs = c->causal ? B_SEQ * (double)B_LEN * (B_LEN + 1) / 2 : B_SEQ * (double)B_LEN * B_LEN;
    f += 2.0 * 2.0 * pairs * c->n_head * c->head_dim * c->n_layer; /* QK^T and PV */
    return f;
}

static double sgemm_gflops(const ModelConfig *c) {
    Shape s[8];
    int n = shapes(c, s);
    size_t big = 0;
    for (int i = 0; i < n; i++) {
        size_t a = (size_t)s[i].M * s[i].K, b = (size_t)s[i].N * s[i].K, o = (size_t)s[i].M * s[i].N;
        if (a > big) big = a;
        if (b > big) big = b;
        if (o > big) big = o;
    }
    float *A = modex_xcalloc(big, sizeof(float)), *B = modex_xcalloc(big, sizeof(float)), *C = modex_xcalloc(big, sizeof(float));
    for (size_t i = 0; i < big; i++) { A[i] = (float)(i % 7) * 0.01f; B[i] = (float)(i % 5) * 0.01f; }
    double f = 0, t0 = modex_now();
    for (int i = 0; i < n; i++)
        for (int r = 0; r < s[i].reps; r++) {
            /* as modex_linear_forward: y[M,N] = x[M,K] W^T, W stored [N, K] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s[i].M, s[i].N, s[i].K, 1.0f, A, s[i].K, B, s[i].K, 0.0f, C, s[i].N);
            f += 2.0 * s[i].M * s[i].N * s[i].K;
        }
    double g = f / (modex_now() - t0) / 1e9;
    free(A); free(B); free(C);
    return g;
}

static int bench_one(FILE *out, const char *name, const ModelConfig *c, QkvLayout qkv, int bias, int shared) {
    Model *m = build(c, qkv, bias, shared);
    int32_t *ids = modex_xmalloc(sizeof(int32_t) * B_T);
    int start[B_SEQ + 1];
    for (int s = 0; s <= B_SEQ; s++) start[s] = s * B_LEN;
    for (int t = 0; t < B_T; t++) ids[t] = (int32_t)((t * 7919u + 13u) % (unsigned)c->vocab);
    Batch b = {B_SEQ, ids, start};
    ForwardOpts o = {.logits = LOGITS_NONE};
    Error err = {0};
    /* one timed pass: the weights were just written, so they are resident (keeps the bench short) */
    double t0 = modex_now(), c0 = cpu_now();
    int rc = modex_forward(m, &b, &o, NULL, NULL, &err);
    double dt = modex_now() - t0, cores = (cpu_now() - c0) / dt;
    if (rc) {
        fprintf(out, "| forward %s | failed: %s | | |\n", name, err.msg);
    } else {
        double gf = forward_flops(c) / dt / 1e9, sg = sgemm_gflops(c);
        fprintf(out, "| forward %s shape (L%d d%d ff%d h%d%s), %dx%d tokens | %.0f tok/s, %.1f GFLOP/s (%.1f cores busy) | sgemm %.1f GFLOP/s | %.0f%% |\n", name,
                c->n_layer, c->d_model, c->d_ff, c->n_head, c->n_experts ? " E8 top-2" : "", B_SEQ, B_LEN, B_T / dt, gf, cores, sg, 100.0 * gf / sg);
    }
    free(ids);
    modex_model_free(m);
    return rc ? -1 : 0;
}

// --- the rows ------------------------------------------------------------------------------

int modex_bench_archs(FILE *out) {
    /* vocabulary kept small: the embedding lookup costs nothing and no LM head is run */
    ModelConfig pythia = {.arch = "gpt_neox", .n_layer = 12, .d_model = 768, .n_head = 12, .n_kv_head = 12, .head_dim = 64,
                          .d_ff = 3072, .vocab = 4096, .max_pos = 2048, .causal = 1, .norm = NORM_LAYER, .norm_eps = 1e-5f,
                          .parallel_residual = 1, .act = ACT_GELU_ERF, .rope = ROPE_HALF, .rope_theta = 10000, .rotary_dim = 16};
    ModelConfig bert = {.arch = "bert", .n_layer = 12, .d_model = 768, .n_head = 12, .n_kv_head = 12, .head_dim = 64, .d_ff = 3072,
                        .vocab = 4096, .max_pos = 512, .type_vocab = 2, .causal = 0, .norm = NORM_LAYER, .norm_eps = 1e-12f,
                        .post_norm = 1, .act = ACT_GELU_ERF, .learned_pos = 1};
    ModelConfig t5 = {.arch = "t5", .n_layer = 12, .d_model = 768, .n_head = 12, .n_kv_head = 12, .head_dim = 64, .d_ff = 3072,
                      .vocab = 4096, .max_pos = 512, .causal = 0, .norm = NORM_RMS, .norm_eps = 1e-6f, .act = ACT_RELU,
                      .t5_buckets = 32, .t5_max_distance = 128, .no_attn_scale = 1};
    ModelConfig moe = {.arch = "mixtral", .n_layer = 12, .d_model = 768, .n_head = 12, .n_kv_head = 4, .head_dim = 64, .d_ff = 1536,
                       .vocab = 4096, .max_pos = 2048, .causal = 1, .norm = NORM_RMS, .norm_eps = 1e-5f, .act = ACT_SILU,
                       .gated_ffn = 1, .rope = ROPE_HALF, .rope_theta = 1e6f, .rotary_dim = 64, .n_experts = 8, .top_k = 2};
    int rc = 0;
    rc |= bench_one(out, "pythia-160m", &pythia, QKV_PER_HEAD, 1, 0);
    rc |= bench_one(out, "bert-base", &bert, QKV_SEPARATE, 1, 0);
    rc |= bench_one(out, "t5-base-enc", &t5, QKV_SEPARATE, 0, 0);
    rc |= bench_one(out, "mixtral-small", &moe, QKV_SEPARATE, 0, 1);
    return rc;
}
MODEX_BENCH(archs, modex_bench_archs)
