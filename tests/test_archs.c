/* test_archs.c — model families in configurations without a Hugging Face fixture, against
 * naive double-precision references written here (each reference first reproduces its HF
 * fixture, so the reference itself is checked): GPT-NeoX sequential residual with old-style
 * config keys, T5 gated-gelu with d_kv·heads ≠ d_model, Mixtral expert masks, BERT with the
 * "bert." prefix and gamma/beta names; and the refusals of unsupported configurations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>
#include "modex/forward.h"
#include "modex/safetensors.h"
#include "modex/util.h"
#include "reference.h"

// --- scratch folders ------------------------------------------------------------------------

static char *tmp_make(void) {
    char *d = modex_xstrdup("/tmp/modex_archs_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}
static void tmp_write(const char *dir, const char *name, const char *text) {
    char *p = modex_path_join(dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}
static void tmp_link_weights(const char *dir, const char *fixture_dir) {
    char src[512], full[4096];
    snprintf(src, sizeof src, FIX "%s/model.safetensors", fixture_dir);
    assert_non_null(realpath(src, full));
    char *p = modex_path_join(dir, "model.safetensors");
    assert_int_equal(symlink(full, p), 0);
    free(p);
}
static void tmp_remove(char *dir) {
    const char *names[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) { char *p = modex_path_join(dir, names[i]); unlink(p); free(p); }
    rmdir(dir);
    free(dir);
}
/* The fixture's config.json with top-level keys replaced/added (patch is a JSON object; a
 * null value deletes the key). */
static void tmp_config(const char *dir, const char *fixture_dir, const char *patch) {
    char p[512];
    snprintf(p, sizeof p, FIX "%s/config.json", fixture_dir);
    json_t *root = json_load_file(p, 0, NULL), *pj = json_loads(patch, 0, NULL);
    assert_non_null(root);
    assert_non_null(pj);
    const char *k;
    json_t *v;
    json_object_foreach(pj, k, v) {
        if (json_is_null(v)) json_object_del(root, k);
        else json_object_set(root, k, v);
    }
    char *text = json_dumps(root, JSON_INDENT(1));
    tmp_write(dir, "config.json", text);
    free(text);
    json_decref(root); json_decref(pj);
}

// --- naive double-precision pieces -----------------------------------------------------------

typedef struct Weights {
    SafeTensors st;
    double *pool[512];
    char names[512][256];
    int n;
} Weights;

static double *wget(Weights *w, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (int i = 0; i < w->n; i++) /* converted once */
        if (!strcmp(w->names[i], name)) return w->pool[i];
    const TensorView *t = modex_st_find(&w->st, name);
    if (!t) { printf("missing %s\n", name); fail(); }
    float *f = malloc(sizeof(float) * (size_t)t->numel);
    assert_int_equal(modex_tensor_to_f32(t, f), 0);
    double *d = malloc(sizeof(double) * (size_t)t->numel);
    for (int64_t i = 0; i < t->numel; i++) d[i] = f[i];
    free(f);
    assert_true(w->n < 512);
    snprintf(w->names[w->n], sizeof w->names[0], "%s", name);
    w->pool[w->n++] = d;
    return d;
}
static void wfree(Weights *w) {
    for (int i = 0; i < w->n; i++) free(w->pool[i]);
    modex_st_close(&w->st);
}

/* y[T,out] = x[T,in] W^T + b, W [out, in] */
static void lin(double *y, const double *x, int T, int in, int out, const double *W, const double *b) {
    for (int t = 0; t < T; t++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int i = 0; i < in; i++) s += x[(size_t)t * in + i] * W[(size_t)o * in + i];
            y[(size_t)t * out + o] = s;
        }
}
static void layer_norm(double *y, const double *x, int T, int D, const double *w, const double *b, double eps) {
    for (int t = 0; t < T; t++) {
        double m = 0, v = 0;
        for (int i = 0; i < D; i++) m += x[t * D + i];
        m /= D;
        for (int i = 0; i < D; i++) v += (x[t * D + i] - m) * (x[t * D + i] - m);
        v /= D;
        for (int i = 0; i < D; i++) y[t * D + i] = (x[t * D + i] - m) / sqrt(v + eps) * w[i] + (b ? b[i] : 0);
    }
}
static void rms_norm(double *y, const double *x, int T, int D, const double *w, double eps) {
    for (int t = 0; t < T; t++) {
        double v = 0;
        for (int i = 0; i < D; i++) v += x[t * D + i] * x[t * D + i];
        v /= D;
        for (int i = 0; i < D; i++) y[t * D + i] = x[t * D + i] / sqrt(v + eps) * w[i];
    }
}
static double gelu_erf(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }
static double silu(double x) { return x / (1 + exp(-x)); }

/* Rotate-half RoPE on the first rd dims of each head; x [T, nh*Dh]. */
static void rope_half(double *x, int T, int nh, int Dh, int rd, double theta) {
    for (int t = 0; t < T; t++)
        for (int h = 0; h < nh; h++) {
            double *r = x + (size_t)t * nh * Dh + (size_t)h * Dh;
            for (int i = 0; i < rd / 2; i++) {
                double ang = t * pow(theta, -2.0 * i / rd), a0 = r[i], a1 = r[i + rd / 2];
                r[i] = a0 * cos(ang) - a1 * sin(ang);
                r[i + rd / 2] = a1 * cos(ang) + a0 * sin(ang);
            }
        }
}

/* HF's _relative_position_bucket, bidirectional, in double. */
static int t5_bucket(int rel, int nb, int maxd) {
    nb /= 2;
    int ret = rel > 0 ? nb : 0, n = abs(rel), me = nb / 2;
    if (n < me) return ret + n;
    int large = me + (int)(log((double)n / me) / log((double)maxd / me) * (nb - me));
    return ret + (large < nb - 1 ? large : nb - 1);
}

/* out[T, H*Dh]; kv head of head h is h / (H/Hkv); bias(i,j,h) added when rb != NULL (T5). */
static void attend(double *out, const double *q, const double *k, const double *v, int T, int H, int Hkv, int Dh,
                   int causal, int window, double scale, const double *rb, int nb, int maxd) {
    double *p = malloc(sizeof(double) * (size_t)T);
    for (int h = 0; h < H; h++) {
        int kh = h / (H / Hkv);
        for (int i = 0; i < T; i++) {
            int n = causal ? i + 1 : T, j0 = window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
            double mx = -1e300, s = 0;
            for (int j = j0; j < n; j++) {
                double d = 0;
                for (int x = 0; x < Dh; x++) d += q[(size_t)i * H * Dh + h * Dh + x] * k[(size_t)j * Hkv * Dh + kh * Dh + x];
                p[j] = d * scale + (rb ? rb[t5_bucket(j - i, nb, maxd) * H + h] : 0);
                if (p[j] > mx) mx = p[j];
            }
            for (int j = j0; j < n; j++) { p[j] = exp(p[j] - mx); s += p[j]; }
            for (int x = 0; x < Dh; x++) {
                double o = 0;
                for (int j = j0; j < n; j++) o += p[j] / s * v[(size_t)j * Hkv * Dh + kh * Dh + x];
                out[(size_t)i * H * Dh + h * Dh + x] = o;
            }
        }
    }
    free(p);
}

static long cmp_d(const char *what, const float *got, const double *want, size_t n, double tol) {
    float *wf = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) wf[i] = (float)want[i];
    long bad = ref_compare(what, got, wf, n, tol, tol);
    free(wf);
    return bad;
}

static float *run_model(const Model *m, const int32_t *ids, int T, ForwardOpts *o, const ForwardHooks *hk) {
    int start[2] = {0, T};
    Batch b = {1, ids, start};
    int W = m->cfg.causal ? m->cfg.vocab : m->cfg.d_model;
    float *out = malloc(sizeof(float) * (size_t)T * W);
    Error err = {0};
    ForwardOpts def = {.logits = LOGITS_ALL};
    if (!o) o = &def;
    o->logits = LOGITS_ALL;
    int rc = modex_forward(m, &b, o, hk, out, &err);
    if (rc) printf("forward: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return out;
}

// --- GPT-NeoX -------------------------------------------------------------------------------

/* logits [T, V] of a GPT-NeoX whose weights are in w. */
static double *neox_ref(Weights *w, const int32_t *ids, int T, int L, int D, int H, int F, int V, int rd,
                        double theta, int parallel, double eps) {
    int Dh = D / H;
    size_t TD = (size_t)T * D;
    double *x = calloc(TD, sizeof(double)), *a = calloc(TD, sizeof(double)), *qkv = calloc(TD * 3, sizeof(double)),
           *q = calloc(TD, sizeof(double)), *k = calloc(TD, sizeof(double)), *v = calloc(TD, sizeof(double)),
           *att = calloc(TD, sizeof(double)), *ao = calloc(TD, sizeof(double)), *h = calloc((size_t)T * F, sizeof(double)),
           *fo = calloc(TD, sizeof(double));
    const double *emb = wget(w, "gpt_neox.embed_in.weight");
    for (int t = 0; t < T; t++) memcpy(x + (size_t)t * D, emb + (size_t)ids[t] * D, sizeof(double) * D);
    for (int l = 0; l < L; l++) {
#define P(s) wget(w, "gpt_neox.layers.%d." s, l)
        layer_norm(a, x, T, D, P("input_layernorm.weight"), P("input_layernorm.bias"), eps);
        lin(qkv, a, T, D, 3 * D, P("attention.query_key_value.weight"), P("attention.query_key_value.bias"));
        for (int t = 0; t < T; t++)
            for (int hh = 0; hh < H; hh++)
                for (int d = 0; d < Dh; d++) {
                    const double *r = qkv + (size_t)t * 3 * D + (size_t)hh * 3 * Dh;
                    q[(size_t)t * D + hh * Dh + d] = r[d];
                    k[(size_t)t * D + hh * Dh + d] = r[Dh + d];
                    v[(size_t)t * D + hh * Dh + d] = r[2 * Dh + d];
                }
        rope_half(q, T, H, Dh, rd, theta);
        rope_half(k, T, H, Dh, rd, theta);
        attend(att, q, k, v, T, H, H, Dh, 1, 0, 1 / sqrt((double)Dh), NULL, 0, 0);
        lin(ao, att, T, D, D, P("attention.dense.weight"), P("attention.dense.bias"));
        if (parallel) {
            layer_norm(a, x, T, D, P("post_attention_layernorm.weight"), P("post_attention_layernorm.bias"), eps);
        } else {
            for (size_t i = 0; i < TD; i++) x[i] += ao[i];
            layer_norm(a, x, T, D, P("post_attention_layernorm.weight"), P("post_attention_layernorm.bias"), eps);
        }
        lin(h, a, T, D, F, P("mlp.dense_h_to_4h.weight"), P("mlp.dense_h_to_4h.bias"));
        for (size_t i = 0; i < (size_t)T * F; i++) h[i] = gelu_erf(h[i]);
        lin(fo, h, T, F, D, P("mlp.dense_4h_to_h.weight"), P("mlp.dense_4h_to_h.bias"));
        for (size_t i = 0; i < TD; i++) x[i] += fo[i] + (parallel ? ao[i] : 0);
#undef P
    }
    layer_norm(a, x, T, D, wget(w, "gpt_neox.final_layer_norm.weight"), wget(w, "gpt_neox.final_layer_norm.bias"), eps);
    double *lg = malloc(sizeof(double) * (size_t)T * V);
    lin(lg, a, T, D, V, wget(w, "embed_out.weight"), NULL);
    free(x); free(a); free(qkv); free(q); free(k); free(v); free(att); free(ao); free(h); free(fo);
    return lg;
}

static void test_neox_sequential(void **s) {
    (void)s;
    Weights w = {0};
    Error err = {0};
    assert_int_equal(modex_st_open(&w.st, FIX "hf-models/gpt_neox/model.safetensors", &err), 0);
    int32_t ids[13] = {106, 171, 3, 60, 169, 185, 73, 76, 29, 28, 150, 41, 25};
    /* the reference reproduces HF on the fixture (parallel residual, rotary 0.25) */
    double *lg = neox_ref(&w, ids, 13, 2, 64, 4, 256, 320, 4, 10000.0, 1, 1e-5);
    float *hf = ref_read_f32(FIX "hf-models/gpt_neox/logits.f32", 13 * 320);
    assert_non_null(hf);
    float *lgf = malloc(sizeof(float) * 13 * 320);
    for (int i = 0; i < 13 * 320; i++) lgf[i] = (float)lg[i];
    assert_int_equal(ref_compare("naive NeoX vs HF", lgf, hf, 13 * 320, 2e-3, 2e-3), 0);
    free(lg); free(lgf); free(hf);
    /* old-style keys, sequential residual, half the head rotating, another base */
    char *dir = tmp_make();
    tmp_config(dir, "hf-models/gpt_neox", "{\"rope_parameters\": null, \"rotary_pct\": 0.5, \"rotary_emb_base\": 500,"
                                          " \"use_parallel_residual\": false}");
    tmp_link_weights(dir, "hf-models/gpt_neox");
    Model *m = modex_model_open(dir, &err);
    if (!m) printf("%s\n", err.msg);
    assert_non_null(m);
    assert_int_equal(m->cfg.rotary_dim, 8);
    assert_int_equal(m->cfg.parallel_residual, 0);
    float *got = run_model(m, ids, 13, NULL, NULL);
    lg = neox_ref(&w, ids, 13, 2, 64, 4, 256, 320, 8, 500.0, 0, 1e-5);
    assert_int_equal(cmp_d("NeoX sequential, rotary 0.5", got, lg, 13 * 320, 1e-4), 0);
    free(lg); free(got);
    modex_model_free(m);
    tmp_remove(dir);
    wfree(&w);
}

// --- T5 -------------------------------------------------------------------------------------

typedef struct T5Shape { int L, D, H, dkv, F, V, nb, maxd, gated; const char *emb; } T5Shape;

static double *t5_ref(Weights *w, const T5Shape *c, const int32_t *ids, int T) {
    int I = c->H * c->dkv, D = c->D, F = c->F;
    size_t TD = (size_t)T * D;
    double *x = calloc(TD, sizeof(double)), *a = calloc(TD, sizeof(double)), *q = calloc((size_t)T * I, sizeof(double)),
           *k = calloc((size_t)T * I, sizeof(double)), *v = calloc((size_t)T * I, sizeof(double)),
           *att = calloc((size_t)T * I, sizeof(double)), *o = calloc(TD, sizeof(double)),
           *h = calloc((size_t)T * F, sizeof(double)), *g = calloc((size_t)T * F, sizeof(double));
    const double *emb = wget(w, "%s", c->emb);
    for (int t = 0; t < T; t++) memcpy(x + (size_t)t * D, emb + (size_t)ids[t] * D, sizeof(double) * D);
    const double *rb = wget(w, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    for (int l = 0; l < c->L; l++) {
#define P(s) wget(w, "encoder.block.%d." s, l)
        rms_norm(a, x, T, D, P("layer.0.layer_norm.weight"), 1e-6);
        lin(q, a, T, D, I, P("layer.0.SelfAttention.q.weight"), NULL);
        lin(k, a, T, D, I, P("layer.0.SelfAttention.k.weight"), NULL);
        lin(v, a, T, D, I, P("layer.0.SelfAttention.v.weight"), NULL);
        attend(att, q, k, v, T, c->H, c->H, c->dkv, 0, 0, 1.0, rb, c->nb, c->maxd);
        lin(o, att, T, I, D, P("layer.0.SelfAttention.o.weight"), NULL);
        for (size_t i = 0; i < TD; i++) x[i] += o[i];
        rms_norm(a, x, T, D, P("layer.1.layer_norm.weight"), 1e-6);
        if (c->gated) {
            lin(g, a, T, D, F, P("layer.1.DenseReluDense.wi_0.weight"), NULL);
            lin(h, a, T, D, F, P("layer.1.DenseReluDense.wi_1.weight"), NULL);
            for (size_t i = 0; i < (size_t)T * F; i++) h[i] *= gelu_tanh(g[i]);
        } else {
            lin(h, a, T, D, F, P("layer.1.DenseReluDense.wi.weight"), NULL);
            for (size_t i = 0; i < (size_t)T * F; i++) h[i] = h[i] > 0 ? h[i] : 0;
        }
        lin(o, h, T, F, D, P("layer.1.DenseReluDense.wo.weight"), NULL);
        for (size_t i = 0; i < TD; i++) x[i] += o[i];
#undef P
    }
    rms_norm(a, x, T, D, wget(w, "encoder.final_layer_norm.weight"), 1e-6);
    free(x); free(q); free(k); free(v); free(att); free(o); free(h); free(g);
    return a;
}

static uint64_t rng_state = 88172645463325252ull;
static float urand(void) { /* xorshift, uniform in [-1, 1) */
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 4503599627370496.0 - 1.0);
}

static void test_t5_gated(void **s) {
    (void)s;
    Error err = {0};
    /* the reference reproduces HF on the ReLU fixture */
    Weights w = {0};
    assert_int_equal(modex_st_open(&w.st, FIX "hf-models/t5/model.safetensors", &err), 0);
    int32_t fid[13] = {243, 195, 122, 220, 120, 85, 89, 210, 41, 269, 59, 234, 282};
    T5Shape fx = {2, 64, 4, 16, 256, 320, 32, 128, 0, "shared.weight"};
    double *r = t5_ref(&w, &fx, fid, 13);
    float *hf = ref_read_f32(FIX "hf-models/t5/last_hidden_state.f32", 13 * 64);
    assert_non_null(hf);
    float *rf = malloc(sizeof(float) * 13 * 64);
    for (int i = 0; i < 13 * 64; i++) rf[i] = (float)r[i];
    assert_int_equal(ref_compare("naive T5 vs HF", rf, hf, 13 * 64, 2e-3, 2e-3), 0);
    free(r); free(rf); free(hf);
    wfree(&w);
    /* gated-gelu, d_kv*heads = 48 != d_model 32, 8 buckets, max distance 20, 30 tokens */
    T5Shape c = {2, 32, 4, 12, 40, 50, 8, 20, 1, "encoder.embed_tokens.weight"};
    int I = c.H * c.dkv;
    char *dir = tmp_make();
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"T5ForConditionalGeneration\"], \"model_type\": \"t5\", \"d_model\": %d, \"d_ff\": %d,"
             " \"d_kv\": %d, \"num_heads\": %d, \"num_layers\": %d, \"vocab_size\": %d, \"relative_attention_num_buckets\": %d,"
             " \"relative_attention_max_distance\": %d, \"feed_forward_proj\": \"gated-gelu\", \"layer_norm_epsilon\": 1e-6,"
             " \"is_encoder_decoder\": true}", c.D, c.F, c.dkv, c.H, c.L, c.V, c.nb, c.maxd);
    tmp_write(dir, "config.json", cfg);
    StWriteTensor t[64];
    char names[64][128];
    float *bufs[64];
    int n = 0;
#define ADD(sz, nd, s0, s1, scale, ...) do { snprintf(names[n], 128, __VA_ARGS__); bufs[n] = malloc(sizeof(float) * (size_t)(sz)); \
        for (int i_ = 0; i_ < (sz); i_++) bufs[n][i_] = (scale) < 0 ? 1.0f + 0.1f * urand() : (scale) * urand(); \
        t[n] = (StWriteTensor){names[n], DT_F32, nd, {s0, s1}, bufs[n]}; n++; } while (0)
    ADD(c.V * c.D, 2, c.V, c.D, 1.0f, "encoder.embed_tokens.weight");
    ADD(c.nb * c.H, 2, c.nb, c.H, 1.0f, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    for (int l = 0; l < c.L; l++) {
        ADD(c.D, 1, c.D, 0, -1, "encoder.block.%d.layer.0.layer_norm.weight", l);
        ADD(c.D, 1, c.D, 0, -1, "encoder.block.%d.layer.1.layer_norm.weight", l);
        const char *qkv[3] = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) ADD(I * c.D, 2, I, c.D, 0.3f, "encoder.block.%d.layer.0.SelfAttention.%s.weight", l, qkv[i]);
        ADD(c.D * I, 2, c.D, I, 0.3f, "encoder.block.%d.layer.0.SelfAttention.o.weight", l);
        ADD(c.F * c.D, 2, c.F, c.D, 0.3f, "encoder.block.%d.layer.1.DenseReluDense.wi_0.weight", l);
        ADD(c.F * c.D, 2, c.F, c.D, 0.3f, "encoder.block.%d.layer.1.DenseReluDense.wi_1.weight", l);
        ADD(c.D * c.F, 2, c.D, c.F, 0.3f, "encoder.block.%d.layer.1.DenseReluDense.wo.weight", l);
    }
    ADD(c.D, 1, c.D, 0, -1, "encoder.final_layer_norm.weight");
#undef ADD
    char *wp = modex_path_join(dir, "model.safetensors");
    assert_int_equal(modex_st_write(wp, t, n, NULL, 1, &err), 0);
    for (int i = 0; i < n; i++) free(bufs[i]);
    Model *m = modex_model_open(dir, &err);
    if (!m) printf("%s\n", err.msg);
    assert_non_null(m);
    assert_int_equal(m->cfg.gated_ffn, 1);
    assert_int_equal(m->cfg.act, ACT_GELU_TANH);
    assert_int_equal(m->cfg.head_dim, 12);
    int32_t ids[30];
    for (int i = 0; i < 30; i++) ids[i] = (i * 17 + 3) % c.V;
    float *got = run_model(m, ids, 30, NULL, NULL);
    Weights w2 = {0};
    assert_int_equal(modex_st_open(&w2.st, wp, &err), 0);
    r = t5_ref(&w2, &c, ids, 30);
    assert_int_equal(cmp_d("T5 gated-gelu, d_kv 12", got, r, 30 * (size_t)c.D, 1e-4), 0);
    free(r); free(got); free(wp);
    wfree(&w2);
    modex_model_free(m);
    tmp_remove(dir);
}

// --- Mixtral expert masks -------------------------------------------------------------------

enum { MX_L = 2, MX_D = 64, MX_H = 4, MX_KV = 2, MX_F = 96, MX_V = 320, MX_E = 4, MX_K = 2 };

/* logits [T, V]; mask [L*E] (1 = route around); chosen [L][T*K] (set, in order of weight) */
/* zero0: an expert whose activations are zeroed in layer 0 (its output dropped, weights kept), or -1 */
static double *mixtral_ref(Weights *w, const int32_t *ids, int T, const unsigned char *mask, int window, int zero0, int *chosen) {
    int D = MX_D, Dh = D / MX_H, F = MX_F;
    size_t TD = (size_t)T * D;
    double *x = calloc(TD, sizeof(double)), *a = calloc(TD, sizeof(double)), *q = calloc(TD, sizeof(double)),
           *k = calloc((size_t)T * MX_KV * Dh, sizeof(double)), *v = calloc((size_t)T * MX_KV * Dh, sizeof(double)),
           *att = calloc(TD, sizeof(double)), *o = calloc(TD, sizeof(double)), *lg = calloc((size_t)T * MX_E, sizeof(double)),
           *g = calloc(F, sizeof(double)), *u = calloc(F, sizeof(double)), *y = calloc(D, sizeof(double));
    const double *emb = wget(w, "model.embed_tokens.weight");
    for (int t = 0; t < T; t++) memcpy(x + (size_t)t * D, emb + (size_t)ids[t] * D, sizeof(double) * D);
    for (int l = 0; l < MX_L; l++) {
#define P(...) wget(w, "model.layers.%d." __VA_ARGS__)
        rms_norm(a, x, T, D, P("input_layernorm.weight", l), 1e-5);
        lin(q, a, T, D, D, P("self_attn.q_proj.weight", l), NULL);
        lin(k, a, T, D, MX_KV * Dh, P("self_attn.k_proj.weight", l), NULL);
        lin(v, a, T, D, MX_KV * Dh, P("self_attn.v_proj.weight", l), NULL);
        rope_half(q, T, MX_H, Dh, Dh, 1e6);
        rope_half(k, T, MX_KV, Dh, Dh, 1e6);
        attend(att, q, k, v, T, MX_H, MX_KV, Dh, 1, window, 1 / sqrt((double)Dh), NULL, 0, 0);
        lin(o, att, T, D, D, P("self_attn.o_proj.weight", l), NULL);
        for (size_t i = 0; i < TD; i++) x[i] += o[i];
        rms_norm(a, x, T, D, P("post_attention_layernorm.weight", l), 1e-5);
        lin(lg, a, T, D, MX_E, P("block_sparse_moe.gate.weight", l), NULL);
        for (int t = 0; t < T; t++) {
            double p[MX_E], mx = -1e300, s = 0, tot = 0;
            for (int e = 0; e < MX_E; e++) if (lg[t * MX_E + e] > mx) mx = lg[t * MX_E + e];
            for (int e = 0; e < MX_E; e++) { p[e] = exp(lg[t * MX_E + e] - mx); s += p[e]; }
            for (int e = 0; e < MX_E; e++) p[e] = mask && mask[l * MX_E + e] ? -1 : p[e] / s;
            int ch[MX_K];
            for (int kk = 0; kk < MX_K; kk++) {
                int best = 0;
                for (int e = 1; e < MX_E; e++) if (p[e] > p[best]) best = e;
                ch[kk] = best;
                chosen[(l * T + t) * MX_K + kk] = best;
                tot += p[best];
                p[best] = -p[best] - 2; /* taken; weight kept as -(p+2) */
            }
            for (int d = 0; d < D; d++) o[(size_t)t * D + d] = 0;
            for (int kk = 0; kk < MX_K; kk++) {
                int e = ch[kk];
                if (l == 0 && e == zero0) continue;
                double wt = (-p[e] - 2) / tot;
                const double *W1 = P("block_sparse_moe.experts.%d.w1.weight", l, e), *W3 = P("block_sparse_moe.experts.%d.w3.weight", l, e),
                             *W2 = P("block_sparse_moe.experts.%d.w2.weight", l, e);
                lin(g, a + (size_t)t * D, 1, D, F, W1, NULL);
                lin(u, a + (size_t)t * D, 1, D, F, W3, NULL);
                for (int j = 0; j < F; j++) u[j] *= silu(g[j]);
                lin(y, u, 1, F, D, W2, NULL);
                for (int d = 0; d < D; d++) o[(size_t)t * D + d] += wt * y[d];
            }
        }
        for (size_t i = 0; i < TD; i++) x[i] += o[i];
#undef P
    }
    rms_norm(a, x, T, D, wget(w, "model.norm.weight"), 1e-5);
    double *out = malloc(sizeof(double) * (size_t)T * MX_V);
    lin(out, a, T, D, MX_V, wget(w, "lm_head.weight"), NULL);
    free(x); free(a); free(q); free(k); free(v); free(att); free(o); free(lg); free(g); free(u); free(y);
    return out;
}

typedef struct MoeCap { int chosen[MX_L][13 * MX_K]; float *act[MX_L]; int width; } MoeCap;
static void moe_router(void *ctx, int l, const float *lg, const int *ch, int T, int E, int k) {
    (void)lg; (void)E;
    MoeCap *c = ctx;
    memcpy(c->chosen[l], ch, sizeof(int) * (size_t)T * k);
}
static int moe_ffn(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)b;
    MoeCap *c = ctx;
    c->width = w;
    c->act[l] = malloc(sizeof(float) * (size_t)T * w);
    memcpy(c->act[l], a, sizeof(float) * (size_t)T * w);
    return 0;
}

static int zero_expert(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)b;
    int e = *(int *)ctx;
    if (l == 0)
        for (int t = 0; t < T; t++) memset(a + (size_t)t * w + (size_t)e * MX_F, 0, sizeof(float) * MX_F);
    return 0;
}

static void cap_router_into(void *ctx, int l, const float *lg, const int *ch, int T, int E, int k) {
    (void)ch; (void)k;
    float **r = ctx;
    r[l] = malloc(sizeof(float) * (size_t)T * E);
    memcpy(r[l], lg, sizeof(float) * (size_t)T * E);
}

static void test_mixtral_masks(void **s) {
    (void)s;
    Error err = {0};
    Weights w = {0};
    assert_int_equal(modex_st_open(&w.st, FIX "hf-models/mixtral/model.safetensors", &err), 0);
    int32_t ids[13] = {270, 117, 127, 49, 49, 227, 156, 42, 235, 92, 117, 62, 187};
    int ch_ref[MX_L * 13 * MX_K], ch_mask[MX_L * 13 * MX_K];
    double *lg = mixtral_ref(&w, ids, 13, NULL, 0, -1, ch_ref);
    float *hf = ref_read_f32(FIX "hf-models/mixtral/logits.f32", 13 * MX_V);
    assert_non_null(hf);
    assert_int_equal(cmp_d("naive Mixtral vs HF", hf, lg, 13 * MX_V, 2e-3), 0);
    free(lg); free(hf);
    /* mask in each layer the expert that token 0 chose first (so routing must change) */
    unsigned char mask[MX_L * MX_E] = {0};
    for (int l = 0; l < MX_L; l++) mask[l * MX_E + ch_ref[l * 13 * MX_K]] = 1;
    lg = mixtral_ref(&w, ids, 13, mask, 0, -1, ch_mask);
    Model *m = modex_model_open(FIX "hf-models/mixtral", &err);
    assert_non_null(m);
    assert_int_equal(modex_ffn_width(m), MX_E * MX_F);
    MoeCap cap = {0};
    ForwardHooks hk = {&cap, moe_ffn, NULL, moe_router};
    ForwardOpts o = {.expert_mask = mask};
    float *got = run_model(m, ids, 13, &o, &hk);
    assert_int_equal(cmp_d("Mixtral, one expert masked per layer", got, lg, 13 * MX_V, 1e-4), 0);
    assert_int_equal(cap.width, MX_E * MX_F);
    for (int l = 0; l < MX_L; l++)
        for (int t = 0; t < 13; t++) {
            for (int kk = 0; kk < MX_K; kk++) {
                int e = cap.chosen[l][t * MX_K + kk];
                assert_false(mask[l * MX_E + e]);
                assert_int_equal(e, ch_mask[(l * 13 + t) * MX_K + kk]);
            }
            /* expert-major activations: exactly the chosen experts' blocks are non-zero */
            for (int e = 0; e < MX_E; e++) {
                int used = 0, nz = 0;
                for (int kk = 0; kk < MX_K; kk++) used |= cap.chosen[l][t * MX_K + kk] == e;
                for (int j = 0; j < MX_F; j++) nz |= cap.act[l][(size_t)t * MX_E * MX_F + e * MX_F + j] != 0.0f;
                assert_int_equal(used, nz);
            }
        }
    free(cap.act[0]); free(cap.act[1]);
    free(lg); free(got);
    /* neurons: zeroing expert 1's block of the layer-0 activation (the hook's expert-major
     * numbering e*d_ff + j) drops that expert's output without rerouting */
    int zero = 1, used1 = 0;
    for (int i = 0; i < 13 * MX_K; i++) used1 |= ch_ref[i] == zero; /* layer 0 uses it (else nothing to see) */
    assert_true(used1);
    ForwardHooks hz = {&zero, zero_expert, NULL, NULL};
    got = run_model(m, ids, 13, NULL, &hz);
    lg = mixtral_ref(&w, ids, 13, NULL, 0, 1, ch_mask);
    assert_int_equal(cmp_d("Mixtral, expert 1 neurons zeroed", got, lg, 13 * MX_V, 1e-4), 0);
    free(lg); free(got);
    /* keys are expert-major too: key e*d_ff + j = row j of expert e's w1 */
    float *keys = modex_model_keys(m, 1);
    assert_non_null(keys);
    const double *w1 = wget(&w, "model.layers.1.block_sparse_moe.experts.2.w1.weight");
    for (int d = 0; d < MX_D; d++) assert_true(keys[(size_t)(2 * MX_F + 5) * MX_D + d] == (float)w1[5 * MX_D + d]);
    free(keys);
    modex_model_free(m);
    /* sliding_window 4 over 13 tokens: each query sees itself and the 3 keys before it */
    char *dir = tmp_make();
    tmp_config(dir, "hf-models/mixtral", "{\"sliding_window\": 4}");
    tmp_link_weights(dir, "hf-models/mixtral");
    m = modex_model_open(dir, &err);
    assert_non_null(m);
    assert_int_equal(m->cfg.sliding_window, 4);
    got = run_model(m, ids, 13, NULL, NULL);
    lg = mixtral_ref(&w, ids, 13, NULL, 4, -1, ch_mask);
    assert_int_equal(cmp_d("Mixtral, sliding window 4", got, lg, 13 * MX_V, 1e-4), 0);
    free(lg); free(got);
    modex_model_free(m);
    tmp_remove(dir);
    wfree(&w);
}

// --- Mixtral as GGUF (llama.cpp conventions: stacked experts, Q/K permuted) -----------------

typedef struct GTensor { char name[96]; int ndim; int64_t shape[3]; const float *data; } GTensor;

static void gw_str(FILE *f, const char *s) { uint64_t n = strlen(s); fwrite(&n, 8, 1, f); fwrite(s, 1, n, f); }
static void gw_u32(FILE *f, const char *k, uint32_t v) { uint32_t t = 4; gw_str(f, k); fwrite(&t, 4, 1, f); fwrite(&v, 4, 1, f); }
static void gw_f32(FILE *f, const char *k, float v) { uint32_t t = 6; gw_str(f, k); fwrite(&t, 4, 1, f); fwrite(&v, 4, 1, f); }
static void gw_pad(FILE *f) { while (ftell(f) % 32) fputc(0, f); }

static void kv_mixtral(FILE *f) {
    gw_u32(f, "llama.embedding_length", MX_D); gw_u32(f, "llama.feed_forward_length", MX_F);
    gw_u32(f, "llama.block_count", MX_L); gw_u32(f, "llama.attention.head_count", MX_H);
    gw_u32(f, "llama.attention.head_count_kv", MX_KV); gw_u32(f, "llama.context_length", 128);
    gw_f32(f, "llama.attention.layer_norm_rms_epsilon", 1e-5f); gw_f32(f, "llama.rope.freq_base", 1e6f);
    gw_u32(f, "llama.expert_count", MX_E); gw_u32(f, "llama.expert_used_count", MX_K);
}

/* A GGUF v3 file of F32 tensors (alignment 32); shapes in PyTorch order. kv writes n_kv - 1
 * metadata pairs after general.architecture. */
static void gguf_write(const char *path, const char *arch, void (*kv)(FILE *), int n_kv, const GTensor *t, int n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t magic = 0x46554747, ver = 3;
    uint64_t nt = (uint64_t)n, nkv = (uint64_t)n_kv;
    fwrite(&magic, 4, 1, f); fwrite(&ver, 4, 1, f); fwrite(&nt, 8, 1, f); fwrite(&nkv, 8, 1, f);
    uint32_t ts = 8; gw_str(f, "general.architecture"); fwrite(&ts, 4, 1, f); gw_str(f, arch);
    kv(f);
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        gw_str(f, t[i].name);
        uint32_t nd = (uint32_t)t[i].ndim, type = 0;
        fwrite(&nd, 4, 1, f);
        int64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) { uint64_t ne = (uint64_t)t[i].shape[t[i].ndim - 1 - d]; fwrite(&ne, 8, 1, f); numel *= t[i].shape[d]; }
        fwrite(&type, 4, 1, f);
        fwrite(&off, 8, 1, f);
        off += ((uint64_t)numel * 4 + 31) / 32 * 32;
    }
    gw_pad(f);
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= t[i].shape[d];
        fwrite(t[i].data, 4, (size_t)numel, f);
        gw_pad(f);
    }
    fclose(f);
}

/* llama.cpp's permute for interleaved RoPE: within each head, row half*(Dh/2)+i → 2i+half. */
static float *permute_rows(const double *w, int heads, int Dh, int in) {
    float *p = malloc(sizeof(float) * (size_t)heads * Dh * in);
    for (int h = 0; h < heads; h++)
        for (int half = 0; half < 2; half++)
            for (int i = 0; i < Dh / 2; i++)
                for (int c = 0; c < in; c++)
                    p[((size_t)h * Dh + 2 * i + half) * in + c] = (float)w[((size_t)h * Dh + half * (Dh / 2) + i) * in + c];
    return p;
}
static float *to_f(const double *w, size_t n) {
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = (float)w[i];
    return p;
}

static void test_mixtral_gguf(void **s) {
    (void)s;
    Error err = {0};
    Weights w = {0};
    assert_int_equal(modex_st_open(&w.st, FIX "hf-models/mixtral/model.safetensors", &err), 0);
    GTensor t[64];
    float *own[64];
    int n = 0, no = 0, Dh = MX_D / MX_H;
#define T(nm, nd, s0, s1, s2, ptr) do { snprintf(t[n].name, sizeof t[n].name, "%s", nm); t[n].ndim = nd; \
        t[n].shape[0] = s0; t[n].shape[1] = s1; t[n].shape[2] = s2; t[n].data = own[no++] = (ptr); n++; } while (0)
    T("token_embd.weight", 2, MX_V, MX_D, 0, to_f(wget(&w, "model.embed_tokens.weight"), (size_t)MX_V * MX_D));
    T("output.weight", 2, MX_V, MX_D, 0, to_f(wget(&w, "lm_head.weight"), (size_t)MX_V * MX_D));
    T("output_norm.weight", 1, MX_D, 0, 0, to_f(wget(&w, "model.norm.weight"), MX_D));
    char nm[96];
    for (int l = 0; l < MX_L; l++) {
#define HF(x) wget(&w, "model.layers.%d." x, l)
        snprintf(nm, sizeof nm, "blk.%d.attn_norm.weight", l); T(nm, 1, MX_D, 0, 0, to_f(HF("input_layernorm.weight"), MX_D));
        snprintf(nm, sizeof nm, "blk.%d.ffn_norm.weight", l); T(nm, 1, MX_D, 0, 0, to_f(HF("post_attention_layernorm.weight"), MX_D));
        snprintf(nm, sizeof nm, "blk.%d.attn_q.weight", l); T(nm, 2, MX_D, MX_D, 0, permute_rows(HF("self_attn.q_proj.weight"), MX_H, Dh, MX_D));
        snprintf(nm, sizeof nm, "blk.%d.attn_k.weight", l); T(nm, 2, MX_KV * Dh, MX_D, 0, permute_rows(HF("self_attn.k_proj.weight"), MX_KV, Dh, MX_D));
        snprintf(nm, sizeof nm, "blk.%d.attn_v.weight", l); T(nm, 2, MX_KV * Dh, MX_D, 0, to_f(HF("self_attn.v_proj.weight"), (size_t)MX_KV * Dh * MX_D));
        snprintf(nm, sizeof nm, "blk.%d.attn_output.weight", l); T(nm, 2, MX_D, MX_D, 0, to_f(HF("self_attn.o_proj.weight"), (size_t)MX_D * MX_D));
        snprintf(nm, sizeof nm, "blk.%d.ffn_gate_inp.weight", l); T(nm, 2, MX_E, MX_D, 0, to_f(HF("block_sparse_moe.gate.weight"), (size_t)MX_E * MX_D));
        const char *gg[3] = {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"}, *hf[3] = {"w1", "w3", "w2"};
        for (int k = 0; k < 3; k++) {
            float *st = malloc(sizeof(float) * (size_t)MX_E * MX_F * MX_D);
            for (int e = 0; e < MX_E; e++) {
                const double *src = wget(&w, "model.layers.%d.block_sparse_moe.experts.%d.%s.weight", l, e, hf[k]);
                for (size_t i = 0; i < (size_t)MX_F * MX_D; i++) st[(size_t)e * MX_F * MX_D + i] = (float)src[i];
            }
            snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, gg[k]);
            if (k < 2) T(nm, 3, MX_E, MX_F, MX_D, st); else T(nm, 3, MX_E, MX_D, MX_F, st);
        }
#undef HF
    }
#undef T
    char *dir = tmp_make();
    char *gp = modex_path_join(dir, "model.gguf");
    gguf_write(gp, "llama", kv_mixtral, 11, t, n);
    for (int i = 0; i < no; i++) free(own[i]);
    Model *m = modex_model_open(gp, &err);
    if (!m) printf("%s\n", err.msg);
    assert_non_null(m);
    assert_int_equal(m->cfg.n_experts, MX_E);
    assert_int_equal(m->cfg.top_k, MX_K);
    int32_t ids[13] = {270, 117, 127, 49, 49, 227, 156, 42, 235, 92, 117, 62, 187};
    float *router[MX_L] = {0};
    ForwardHooks hk = {router, NULL, NULL, cap_router_into};
    float *got = run_model(m, ids, 13, NULL, &hk);
    float *want = ref_read_f32(FIX "hf-models/mixtral/logits.f32", 13 * MX_V);
    assert_non_null(want);
    assert_int_equal(ref_compare("Mixtral GGUF logits", got, want, 13 * MX_V, 2e-3, 2e-3), 0);
    free(want);
    for (int l = 0; l < MX_L; l++) {
        char fp[256], what[64];
        snprintf(fp, sizeof fp, FIX "hf-models/mixtral/router_logits.%d.f32", l);
        snprintf(what, sizeof what, "Mixtral GGUF router %d", l);
        want = ref_read_f32(fp, 13 * MX_E);
        assert_non_null(want);
        assert_non_null(router[l]);
        assert_int_equal(ref_compare(what, router[l], want, 13 * MX_E, 2e-3, 2e-3), 0);
        free(want); free(router[l]);
    }
    free(got);
    modex_model_free(m);
    unlink(gp);
    free(gp);
    tmp_remove(dir);
    wfree(&w);
}

// --- GPT-NeoX as GGUF (llama.cpp's "gptneox": query_key_value reordered to q|k|v) -------------

static void kv_neox(FILE *f) {
    gw_u32(f, "gptneox.embedding_length", 64); gw_u32(f, "gptneox.feed_forward_length", 256);
    gw_u32(f, "gptneox.block_count", 2); gw_u32(f, "gptneox.attention.head_count", 4);
    gw_u32(f, "gptneox.context_length", 128); gw_u32(f, "gptneox.rope.dimension_count", 4);
    gw_f32(f, "gptneox.attention.layer_norm_epsilon", 1e-5f);
    uint32_t tb = 7; uint8_t yes = 1;
    gw_str(f, "gptneox.use_parallel_residual"); fwrite(&tb, 4, 1, f); fwrite(&yes, 1, 1, f);
}

static void test_neox_gguf(void **s) {
    (void)s;
    Error err = {0};
    Weights w = {0};
    assert_int_equal(modex_st_open(&w.st, FIX "hf-models/gpt_neox/model.safetensors", &err), 0);
    enum { D = 64, F = 256, V = 320, H = 4, Dh = 16 };
    GTensor t[40];
    float *own[40];
    int n = 0;
#define T(nd, s0, s1, ptr, ...) do { snprintf(t[n].name, sizeof t[n].name, __VA_ARGS__); t[n].ndim = nd; \
        t[n].shape[0] = s0; t[n].shape[1] = s1; t[n].data = own[n] = (ptr); n++; } while (0)
    T(2, V, D, to_f(wget(&w, "gpt_neox.embed_in.weight"), (size_t)V * D), "token_embd.weight");
    T(2, V, D, to_f(wget(&w, "embed_out.weight"), (size_t)V * D), "output.weight");
    T(1, D, 0, to_f(wget(&w, "gpt_neox.final_layer_norm.weight"), D), "output_norm.weight");
    T(1, D, 0, to_f(wget(&w, "gpt_neox.final_layer_norm.bias"), D), "output_norm.bias");
    for (int l = 0; l < 2; l++) {
#define HF(x) wget(&w, "gpt_neox.layers.%d." x, l)
        T(1, D, 0, to_f(HF("input_layernorm.weight"), D), "blk.%d.attn_norm.weight", l);
        T(1, D, 0, to_f(HF("input_layernorm.bias"), D), "blk.%d.attn_norm.bias", l);
        T(1, D, 0, to_f(HF("post_attention_layernorm.weight"), D), "blk.%d.ffn_norm.weight", l);
        T(1, D, 0, to_f(HF("post_attention_layernorm.bias"), D), "blk.%d.ffn_norm.bias", l);
        /* (H, 3, Dh) rows → (3, H, Dh) rows, as convert_hf_to_gguf.py does */
        const double *qw = HF("attention.query_key_value.weight"), *qb = HF("attention.query_key_value.bias");
        float *cw = malloc(sizeof(float) * 3 * D * D), *cb = malloc(sizeof(float) * 3 * D);
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 3; k++)
                for (int i = 0; i < Dh; i++) {
                    int src = (h * 3 + k) * Dh + i, dst = (k * H + h) * Dh + i;
                    cb[dst] = (float)qb[src];
                    for (int c = 0; c < D; c++) cw[(size_t)dst * D + c] = (float)qw[(size_t)src * D + c];
                }
        T(2, 3 * D, D, cw, "blk.%d.attn_qkv.weight", l);
        T(1, 3 * D, 0, cb, "blk.%d.attn_qkv.bias", l);
        T(2, D, D, to_f(HF("attention.dense.weight"), (size_t)D * D), "blk.%d.attn_output.weight", l);
        T(1, D, 0, to_f(HF("attention.dense.bias"), D), "blk.%d.attn_output.bias", l);
        T(2, F, D, to_f(HF("mlp.dense_h_to_4h.weight"), (size_t)F * D), "blk.%d.ffn_up.weight", l);
        T(1, F, 0, to_f(HF("mlp.dense_h_to_4h.bias"), F), "blk.%d.ffn_up.bias", l);
        T(2, D, F, to_f(HF("mlp.dense_4h_to_h.weight"), (size_t)D * F), "blk.%d.ffn_down.weight", l);
        T(1, D, 0, to_f(HF("mlp.dense_4h_to_h.bias"), D), "blk.%d.ffn_down.bias", l);
#undef HF
    }
#undef T
    char *dir = tmp_make();
    char *gp = modex_path_join(dir, "model.gguf");
    gguf_write(gp, "gptneox", kv_neox, 9, t, n);
    for (int i = 0; i < n; i++) free(own[i]);
    Model *m = modex_model_open(gp, &err);
    if (!m) printf("%s\n", err.msg);
    assert_non_null(m);
    assert_int_equal(m->cfg.rotary_dim, 4);
    assert_int_equal(m->cfg.parallel_residual, 1);
    int32_t ids[13] = {106, 171, 3, 60, 169, 185, 73, 76, 29, 28, 150, 41, 25};
    float *got = run_model(m, ids, 13, NULL, NULL);
    float *want = ref_read_f32(FIX "hf-models/gpt_neox/logits.f32", 13 * V);
    assert_non_null(want);
    assert_int_equal(ref_compare("NeoX GGUF logits", got, want, 13 * V, 2e-3, 2e-3), 0);
    free(want); free(got);
    modex_model_free(m);
    unlink(gp);
    free(gp);
    tmp_remove(dir);
    wfree(&w);
}

// --- BERT under "bert." with gamma/beta names -------------------------------------------------

static void test_bert_prefixed(void **s) {
    (void)s;
    Error err = {0};
    SafeTensors st;
    assert_int_equal(modex_st_open(&st, FIX "hf-models/bert/model.safetensors", &err), 0);
    StWriteTensor *t = calloc((size_t)st.n + 2, sizeof *t);
    char (*names)[160] = calloc((size_t)st.n + 2, sizeof *names);
    int n = 0;
    for (int i = 0; i < st.n; i++) {
        char nm[160];
        snprintf(nm, sizeof nm, "bert.%s", st.t[i].name);
        char *p = strstr(nm, "LayerNorm.weight");
        if (p) strcpy(p, "LayerNorm.gamma");
        else if ((p = strstr(nm, "LayerNorm.bias"))) strcpy(p, "LayerNorm.beta");
        strcpy(names[n], nm);
        t[n] = (StWriteTensor){names[n], st.t[i].dtype, st.t[i].ndim, {0}, st.t[i].data};
        memcpy(t[n].shape, st.t[i].shape, sizeof t[n].shape);
        n++;
    }
    /* a head the encoder must ignore */
    static float dec[320];
    strcpy(names[n], "cls.predictions.bias");
    t[n] = (StWriteTensor){names[n], DT_F32, 1, {320}, dec};
    n++;
    char *dir = tmp_make();
    tmp_config(dir, "hf-models/bert", "{\"architectures\": [\"BertForMaskedLM\"]}");
    char *wp = modex_path_join(dir, "model.safetensors");
    assert_int_equal(modex_st_write(wp, t, n, NULL, 1, &err), 0);
    free(t); free(names); free(wp);
    modex_st_close(&st);
    Model *m = modex_model_open(dir, &err);
    if (!m) printf("%s\n", err.msg);
    assert_non_null(m);
    int32_t ids[13] = {8, 49, 54, 137, 290, 125, 88, 268, 9, 132, 75, 128, 63};
    float *got = run_model(m, ids, 13, NULL, NULL);
    float *want = ref_read_f32(FIX "hf-models/bert/last_hidden_state.f32", 13 * 64);
    assert_non_null(want);
    assert_int_equal(ref_compare("BERT bert./gamma/beta", got, want, 13 * 64, 2e-3, 2e-3), 0);
    free(got); free(want);
    modex_model_free(m);
    tmp_remove(dir);
}

// --- encoders: sequences in one batch see only themselves (the padding mask of HF) -------------

static void test_encoder_batching(void **s) {
    (void)s;
    const char *dirs[] = {FIX "hf-models/bert", FIX "hf-models/t5"};
    for (int p = 0; p < 2; p++) {
        Error err = {0};
        Model *m = modex_model_open(dirs[p], &err);
        assert_non_null(m);
        int D = m->cfg.d_model;
        int32_t ids[30];
        for (int i = 0; i < 30; i++) ids[i] = (int32_t)((i * 37 + 11) % m->cfg.vocab);
        int start[4] = {0, 7, 19, 30};
        Batch b = {3, ids, start};
        ForwardOpts o = {0};
        float *all = malloc(sizeof(float) * 30 * (size_t)D);
        assert_int_equal(modex_forward(m, &b, &o, NULL, all, &err), 0);
        for (int q = 0; q < 3; q++) {
            int n = start[q + 1] - start[q];
            float *one = run_model(m, ids + start[q], n, NULL, NULL);
            char what[64];
            snprintf(what, sizeof what, "%s batched seq %d", p ? "t5" : "bert", q);
            assert_int_equal(ref_compare(what, all + (size_t)start[q] * D, one, (size_t)n * D, 1e-5, 1e-5), 0);
            free(one);
        }
        free(all);
        modex_model_free(m);
    }
}

// --- the random-initialisation baseline of every family ---------------------------------------

static void test_random_like(void **s) {
    (void)s;
    const char *fams[] = {"gpt_neox", "bert", "t5", "mixtral"};
    for (int f = 0; f < 4; f++) {
        char d[128];
        snprintf(d, sizeof d, FIX "hf-models/%s", fams[f]);
        Error err = {0};
        Model *m = modex_model_open(d, &err);
        assert_non_null(m);
        Model *r = modex_model_random_like(m, 7, &err);
        assert_non_null(r);
        int32_t ids[9] = {1, 5, 9, 33, 70, 2, 2, 101, 300};
        float *a = run_model(m, ids, 9, NULL, NULL), *b = run_model(r, ids, 9, NULL, NULL);
        size_t n = (size_t)9 * (m->cfg.causal ? m->cfg.vocab : m->cfg.d_model);
        int finite = 1, differ = 0;
        for (size_t i = 0; i < n; i++) { finite &= isfinite(b[i]) != 0; differ |= a[i] != b[i]; }
        printf("  random-init %-10s finite %d, differs %d\n", fams[f], finite, differ);
        assert_true(finite);
        assert_true(differ);
        free(a); free(b);
        modex_model_free(r);
        modex_model_free(m);
    }
}

// --- refusals -------------------------------------------------------------------------------

static void refuse(const char *fixture_dir, const char *patch, const char *expect) {
    char *dir = tmp_make();
    tmp_config(dir, fixture_dir, patch);
    tmp_link_weights(dir, fixture_dir);
    Error err = {0};
    Model *m = modex_model_open(dir, &err);
    printf("  %-60.60s -> %s\n", patch, m ? "(opened)" : err.msg);
    assert_null(m);
    assert_null(strchr(err.msg, '\n'));
    assert_non_null(strstr(err.msg, "config.json"));
    assert_non_null(strstr(err.msg, expect));
    tmp_remove(dir);
}

static void test_refusals(void **s) {
    (void)s;
    refuse("hf-models/llama", "{\"model_type\": \"falcon\"}", "model_type \"falcon\" is not supported");
    refuse("hf-models/llama", "{\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}}", "rope_scaling type \"yarn\"");
    refuse("hf-models/gpt_neox", "{\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}", "rope_scaling type \"linear\"");
    refuse("hf-models/gpt_neox", "{\"rope_parameters\": {\"rope_type\": \"dynamic\", \"rope_theta\": 10000}}",
           "rope_parameters.rope_type \"dynamic\"");
    refuse("hf-models/gpt_neox", "{\"hidden_act\": \"quick_gelu\"}", "hidden_act \"quick_gelu\"");
    refuse("hf-models/gpt_neox", "{\"rotary_pct\": 0.0, \"rope_parameters\": null}", "rotary_pct 0");
    refuse("hf-models/t5", "{\"is_decoder\": true}", "is_decoder true");
    refuse("hf-models/t5", "{\"feed_forward_proj\": \"gated-quick_gelu\"}", "feed_forward_proj \"gated-quick_gelu\"");
    refuse("hf-models/bert", "{\"position_embedding_type\": \"relative_key\"}", "position_embedding_type \"relative_key\"");
    refuse("hf-models/bert", "{\"is_decoder\": true}", "is_decoder true");
    refuse("hf-models/mixtral", "{\"num_experts_per_tok\": 5}", "num_experts_per_tok 5");
    refuse("hf-models/qwen2", "{\"use_sliding_window\": true, \"sliding_window\": 8}", "use_sliding_window true");
    refuse("hf-models/mixtral", "{\"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 10000}}",
           "rope_parameters.rope_type \"longrope\"");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neox_sequential), cmocka_unit_test(test_t5_gated), cmocka_unit_test(test_mixtral_masks), cmocka_unit_test(test_mixtral_gguf), cmocka_unit_test(test_neox_gguf),
        cmocka_unit_test(test_bert_prefixed), cmocka_unit_test(test_encoder_batching), cmocka_unit_test(test_random_like), cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
