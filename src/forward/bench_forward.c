/* bench_forward.c — GPT-2-small shape (12 × 768, d_ff 3072, vocab 50257), batch 4 × 128:
 * tokens/s and GFLOP/s of the forward without the LM head, next to sgemm at the same shapes. */
#include "modex/bench.h"
#include "modex/forward.h"
#include "modex/util.h"
#include <stdlib.h>

typedef struct { Model *m; Batch b; } FwdCtx;
static void run_fwd(void *c) {
    FwdCtx *f = c;
    ForwardOpts o = {.logits = LOGITS_NONE};
    Error err;
    modex_forward(f->m, &f->b, &o, NULL, NULL, &err);
}

/* One row for a model config; layout-dependent shapes of the linear layers. */
int modex_bench_forward_row(FILE *out, const char *label, Model *m, int n_seq, int len) {
    const ModelConfig *c = &m->cfg;
    int T = n_seq * len, D = c->d_model, F = c->d_ff, H = c->n_head, Hk = c->n_kv_head, Dh = c->head_dim;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)T);
    int *start = malloc(sizeof(int) * (size_t)(n_seq + 1));
    for (int i = 0; i < T; i++) ids[i] = (int32_t)((i * 2654435761u) % (unsigned)c->vocab);
    for (int s = 0; s <= n_seq; s++) start[s] = s * len;
    FwdCtx f = {m, {n_seq, ids, start}};
    run_fwd(&f); /* warm up */
    double t = modex_bench_time(run_fwd, &f, 3);
    int shapes[5][3] = {{T, (H + 2 * Hk) * Dh, D}, {T, D, H * Dh}, {T, F, D}, {T, D, F}, {T, F, D}};
    int ns = c->gated_ffn ? 5 : 4;
    double lin = 0;
    for (int i = 0; i < ns; i++) lin += 2.0 * shapes[i][0] * shapes[i][1] * shapes[i][2];
    double attn = 2.0 * 2.0 * n_seq * ((double)len * (c->causal ? (len + 1) / 2.0 : len)) * H * Dh;
    double flops = (lin + attn) * c->n_layer;
    int (*all)[3] = malloc(sizeof(int[3]) * (size_t)ns * c->n_layer);
    for (int l = 0; l < c->n_layer; l++)
        for (int i = 0; i < ns; i++) for (int k = 0; k < 3; k++) all[l * ns + i][k] = shapes[i][k];
    double sg = modex_bench_sgemm((const int (*)[3])all, ns * c->n_layer, 3);
    double g = flops / t / 1e9;
    fprintf(out, "| forward %s, %d×%d tokens | %.0f tok/s, %.1f GFLOP/s | sgemm %.1f GFLOP/s | %.0f%% |\n", label, n_seq, len,
            T / t, g, sg, 100.0 * g / sg);
    free(all); free(ids); free(start);
    return 0;
}

static int bench_forward(FILE *out) {
    ModelConfig c = {0};
    c.n_layer = 12; c.d_model = 768; c.n_head = 12; c.d_ff = 3072; c.vocab = 50257; c.max_pos = 1024;
    c.causal = 1; c.norm = NORM_LAYER; c.norm_eps = 1e-5f; c.act = ACT_GELU_TANH; c.learned_pos = 1; c.tie_embeddings = 1;
    Model *m = modex_model_synthetic(&c, QKV_CONCAT, 1, 1);
    modex_bench_forward_row(out, "GPT-2-small shape", m, 4, 128);
    modex_model_free(m);
    ModelConfig l = {0};
    l.n_layer = 4; l.d_model = 2048; l.n_head = 16; l.n_kv_head = 4; l.d_ff = 5632; l.vocab = 32000; l.max_pos = 2048;
    l.causal = 1; l.norm = NORM_RMS; l.norm_eps = 1e-5f; l.act = ACT_SILU; l.gated_ffn = 1; l.rope = ROPE_HALF; l.rope_theta = 10000;
    m = modex_model_synthetic(&l, QKV_SEPARATE, 0, 2);
    modex_bench_forward_row(out, "Llama shape (TinyLlama layers, 4 of 22)", m, 4, 128);
    modex_model_free(m);
    return 0;
}
MODEX_BENCH(forward, bench_forward)
