/* test_forward.c — the forward pass against PyTorch / Hugging Face references: logits (or
 * last_hidden_state), every hidden state, every ffn_act, router logits; batching, threads, hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "modex/forward.h"
#include "modex/parallel.h"
#include "modex/util.h"
#include "reference.h"

typedef struct Cap {
    float *ffn[16];
    float *hidden[17];
    float *router[16];
    int width, E;
} Cap;

static int cap_ffn(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)b;
    Cap *c = ctx;
    c->ffn[l] = malloc(sizeof(float) * (size_t)T * w);
    memcpy(c->ffn[l], a, sizeof(float) * (size_t)T * w);
    c->width = w;
    return 0;
}
static void cap_hidden(void *ctx, int i, const float *x, int T, int D, const Batch *b) {
    (void)b;
    Cap *c = ctx;
    c->hidden[i] = malloc(sizeof(float) * (size_t)T * D);
    memcpy(c->hidden[i], x, sizeof(float) * (size_t)T * D);
}
static void cap_router(void *ctx, int l, const float *lg, const int *ch, int T, int E, int k) {
    (void)ch; (void)k;
    Cap *c = ctx;
    c->E = E;
    c->router[l] = malloc(sizeof(float) * (size_t)T * E);
    memcpy(c->router[l], lg, sizeof(float) * (size_t)T * E);
}
static void cap_free(Cap *c) {
    for (int i = 0; i < 16; i++) { free(c->ffn[i]); free(c->router[i]); }
    for (int i = 0; i < 17; i++) free(c->hidden[i]);
}

static size_t shape_numel(json_t *entry) {
    json_t *s = json_object_get(entry, "shape");
    size_t n = 1;
    for (size_t i = 0; i < json_array_size(s); i++) n *= (size_t)json_integer_value(json_array_get(s, i));
    return n;
}

/* Runs the model in dir/model_file against dir/reference.json; returns total bad elements. */
static long check_model(const char *dir, const char *model_file) {
    char path[512], rp[512];
    snprintf(path, sizeof path, FIX "%s%s%s", dir, model_file ? "/" : "", model_file ? model_file : "");
    snprintf(rp, sizeof rp, FIX "%s/reference.json", dir);
    printf("%s\n", path);
    json_error_t je;
    json_t *ref = json_load_file(rp, 0, &je);
    assert_non_null(ref);
    Error err = {0};
    Model *m = modex_model_open(path, &err);
    if (!m) { printf("  open failed: %s\n", err.msg); json_decref(ref); return 1; }
    json_t *toks = json_object_get(ref, "tokens");
    int T = (int)json_array_size(toks);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)T);
    for (int i = 0; i < T; i++) ids[i] = (int32_t)json_integer_value(json_array_get(toks, (size_t)i));
    int start[2] = {0, T};
    Batch b = {1, ids, start};
    Cap cap = {0};
    ForwardHooks hk = {&cap, cap_ffn, cap_hidden, cap_router};
    ForwardOpts o = {.logits = LOGITS_ALL};
    int enc = !m->cfg.causal;
    float *out = malloc(sizeof(float) * (size_t)T * (size_t)(enc ? m->cfg.d_model : m->cfg.vocab));
    assert_int_equal(modex_forward(m, &b, &o, &hk, out, &err), 0);
    json_t *tol = json_object_get(ref, "tolerance");
    double ta = tol ? json_number_value(json_object_get(tol, "abs")) : 2e-3, tr = tol ? json_number_value(json_object_get(tol, "rel")) : 2e-3;
    long bad = 0;
    char fp[600];
    const char *okey = enc ? "last_hidden_state" : "logits";
    json_t *oe = json_object_get(ref, okey);
    if (oe) {
        size_t n = shape_numel(oe);
        snprintf(fp, sizeof fp, FIX "%s/%s", dir, json_string_value(json_object_get(oe, "file")));
        float *want = ref_read_f32(fp, n);
        assert_non_null(want);
        bad += ref_compare(okey, out, want, n, ta, tr);
        free(want);
    }
    const char *lists[] = {"hidden_states", "ffn_act", "router_logits"};
    for (int k = 0; k < 3; k++) {
        json_t *arr = json_object_get(ref, lists[k]);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *e = json_array_get(arr, i);
            size_t n = shape_numel(e);
            const char *f = json_string_value(json_object_get(e, "file"));
            snprintf(fp, sizeof fp, FIX "%s/%s", dir, f);
            float *want = ref_read_f32(fp, n), *got = k == 0 ? cap.hidden[i] : k == 1 ? cap.ffn[i] : cap.router[i];
            assert_non_null(want);
            if (!got) { printf("  %s: not produced\n", f); bad++; free(want); continue; }
            bad += ref_compare(f, got, want, n, ta, tr);
            free(want);
        }
    }
    cap_free(&cap);
    free(out); free(ids);
    modex_model_free(m);
    json_decref(ref);
    return bad;
}

static void test_models_safetensors(void **s) {
    (void)s;
    assert_int_equal(check_model("models/gpt2", NULL), 0);
    assert_int_equal(check_model("models/llama", NULL), 0);
}
static void test_models_gguf(void **s) {
    (void)s;
    assert_int_equal(check_model("models/gpt2", "model.gguf"), 0);
    assert_int_equal(check_model("models/llama", "model.gguf"), 0);
}
static void test_hf_models(void **s) {
    (void)s;
    const char *fams[] = {"gpt2", "llama", "qwen2", "gpt_neox", "bert", "t5", "mixtral"};
    char d[64];
    for (size_t i = 0; i < sizeof fams / sizeof *fams; i++) {
        snprintf(d, sizeof d, "hf-models/%s", fams[i]);
        assert_int_equal(check_model(d, NULL), 0);
    }
}

/* Three sequences of different lengths in one batch give exactly what each gives alone
 * (up to BLAS rounding), on 1 and 2 threads; padding never exists to leak. */
static void run_seq(const Model *m, const int32_t *ids, const int *start, int n_seq, float *out) {
    Batch b = {n_seq, ids, start};
    ForwardOpts o = {.logits = LOGITS_ALL};
    Error err;
    assert_int_equal(modex_forward(m, &b, &o, NULL, out, &err), 0);
}
static void test_batching(void **s) {
    (void)s;
    const char *paths[] = {FIX "hf-models/gpt2", FIX "hf-models/llama"};
    for (int p = 0; p < 2; p++) {
        Error err;
        Model *m = modex_model_open(paths[p], &err);
        assert_non_null(m);
        int V = m->cfg.vocab;
        int32_t ids[30];
        for (int i = 0; i < 30; i++) ids[i] = (int32_t)((i * 37 + 11) % V);
        int start[4] = {0, 7, 19, 30};
        float *all = malloc(sizeof(float) * 30 * (size_t)V), *one = malloc(sizeof(float) * 30 * (size_t)V);
        for (int th = 1; th <= 2; th++) {
            modex_set_threads(th);
            run_seq(m, ids, start, 3, all);
            for (int q = 0; q < 3; q++) {
                int st[2] = {0, start[q + 1] - start[q]};
                run_seq(m, ids + start[q], st, 1, one);
                char what[64];
                snprintf(what, sizeof what, "%s seq %d, %d threads", p ? "llama" : "gpt2", q, th);
                assert_int_equal(ref_compare(what, all + (size_t)start[q] * V, one, (size_t)st[1] * V, 1e-5, 1e-5), 0);
            }
        }
        modex_set_threads(0);
        free(all); free(one);
        modex_model_free(m);
    }
}

/* A hook that zeroes the FFN activation makes the FFN output equal its bias alone:
 * hidden after layer 0 = x + attn + down.b. Checked against a run that captures the pieces. */
static int zero_layer0(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)ctx; (void)b;
    if (l == 0) memset(a, 0, sizeof(float) * (size_t)T * w);
    return 0;
}
static int abort_hook(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)ctx; (void)a; (void)T; (void)w; (void)b;
    return l == 1;
}
static void test_hooks(void **s) {
    (void)s;
    Error err;
    Model *m = modex_model_open(FIX "models/llama", &err); /* no biases: zero act = no FFN output */
    assert_non_null(m);
    int32_t ids[5] = {3, 9, 27, 81, 243};
    int start[2] = {0, 5};
    Batch b = {1, ids, start};
    Cap full = {0}, zeroed = {0};
    ForwardHooks h1 = {&full, cap_ffn, cap_hidden, NULL};
    ForwardOpts o = {0};
    assert_int_equal(modex_forward(m, &b, &o, &h1, NULL, &err), 0);
    /* re-run with layer 0's activations zeroed and capture hidden states */
    typedef struct { Cap *c; } Z;
    (void)sizeof(Z);
    ForwardHooks h2 = {&zeroed, zero_layer0, cap_hidden, NULL};
    assert_int_equal(modex_forward(m, &b, &o, &h2, NULL, &err), 0);
    /* hidden1(zeroed) = hidden1(full) - down(act0) */
    int D = m->cfg.d_model;
    float *down = malloc(sizeof(float) * 5 * (size_t)D);
    modex_linear_forward(down, full.ffn[0], &m->layers[0].down, 5);
    float *expect = malloc(sizeof(float) * 5 * (size_t)D);
    for (int i = 0; i < 5 * D; i++) expect[i] = full.hidden[1][i] - down[i];
    assert_int_equal(ref_compare("zeroed layer 0 FFN", zeroed.hidden[1], expect, 5 * (size_t)D, 1e-5, 1e-5), 0);
    /* hidden 0 unchanged, hidden 2 changed */
    assert_memory_equal(zeroed.hidden[0], full.hidden[0], sizeof(float) * 5 * (size_t)D);
    assert_true(fabsf(zeroed.hidden[2][0] - full.hidden[2][0]) > 0 || fabsf(zeroed.hidden[2][1] - full.hidden[2][1]) > 0);
    /* aborting hook */
    ForwardHooks h3 = {NULL, abort_hook, NULL, NULL};
    assert_int_equal(modex_forward(m, &b, &o, &h3, NULL, &err), 1);
    /* resume from layer 1's saved input = the full run */
    float *x1 = malloc(sizeof(float) * 5 * (size_t)D);
    int V = m->cfg.vocab;
    float *lg_full = malloc(sizeof(float) * 5 * (size_t)V), *lg_res = malloc(sizeof(float) * 5 * (size_t)V);
    ForwardOpts os = {.logits = LOGITS_ALL, .save_x = x1, .save_layer = 1};
    assert_int_equal(modex_forward(m, &b, &os, NULL, lg_full, &err), 0);
    ForwardOpts orr = {.logits = LOGITS_ALL, .start_layer = 1, .start_x = x1};
    assert_int_equal(modex_forward(m, &b, &orr, NULL, lg_res, &err), 0);
    assert_memory_equal(lg_full, lg_res, sizeof(float) * 5 * (size_t)V);
    /* selected rows = those rows of the full logits */
    int rows[2] = {4, 1};
    float sel[2 * 300];
    ForwardOpts osel = {.logits = LOGITS_ROWS, .rows = rows, .n_rows = 2};
    assert_int_equal(modex_forward(m, &b, &osel, NULL, sel, &err), 0);
    assert_int_equal(ref_compare("selected row 4", sel, lg_full + 4 * V, (size_t)V, 1e-5, 1e-5), 0);
    assert_int_equal(ref_compare("selected row 1", sel + V, lg_full + 1 * V, (size_t)V, 1e-5, 1e-5), 0);
    /* bad ids */
    int32_t bad[2] = {1, 300};
    int st2[2] = {0, 2};
    Batch bb = {1, bad, st2};
    assert_int_equal(modex_forward(m, &bb, &o, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "outside the vocabulary"));
    free(x1); free(lg_full); free(lg_res); free(down); free(expect);
    cap_free(&full); cap_free(&zeroed);
    modex_model_free(m);
}

/* A token after the same prefix has the same activations in every sequence of a batch, to the
 * bit, wherever the sequences sit (modex multiplies distinct rows only: OpenBLAS's Haswell
 * kernel would otherwise round them by row position). Statistics that order activations rely
 * on it: average precision's ties, ranks. modex_batch_order puts such sequences together. */
static void test_shared_prefix(void **s) {
    (void)s;
    const char *paths[] = {FIX "hf-models/gpt2", FIX "hf-models/llama"};
    for (int p = 0; p < 2; p++) {
        Error err;
        Model *m = modex_model_open(paths[p], &err);
        assert_non_null(m);
        /* S0 = a b c d e f; S1 = a b c x; S2 = S0; S3 = y; S4 = a b; with filler sequences
         * between them so that the rows land at many different offsets */
        int32_t seq0[6] = {11, 12, 13, 14, 15, 16}, seq1[4] = {11, 12, 13, 40}, seq3[1] = {41}, seq4[2] = {11, 12};
        int32_t ids[256];
        int start[32], ns = 0, T = 0, at[5];
        const int32_t *seqs[5] = {seq0, seq1, seq0, seq3, seq4};
        const int lens[5] = {6, 4, 6, 1, 2};
        for (int q = 0; q < 5; q++) {
            for (int f = 0; f < q + 1; f++) { /* filler: q + 1 sequences of 3 + f tokens */
                start[ns++] = T;
                for (int i = 0; i < 3 + f; i++) ids[T++] = (int32_t)(50 + 7 * q + f + i);
            }
            start[ns++] = T; at[q] = T;
            memcpy(ids + T, seqs[q], sizeof(int32_t) * (size_t)lens[q]);
            T += lens[q];
        }
        start[ns] = T;
        Batch b = {ns, ids, start};
        for (int th = 1; th <= 2; th++) {
            modex_set_threads(th);
            Cap c = {0};
            ForwardHooks h = {&c, cap_ffn, cap_hidden, NULL};
            ForwardOpts o = {0};
            assert_int_equal(modex_forward(m, &b, &o, &h, NULL, &err), 0);
            int w = c.width, D = m->cfg.d_model;
            for (int l = 0; l < m->cfg.n_layer; l++) {
                const float *a = c.ffn[l];
                assert_memory_equal(a + (size_t)at[1] * w, a + (size_t)at[0] * w, sizeof(float) * 3 * (size_t)w);
                assert_memory_equal(a + (size_t)at[2] * w, a + (size_t)at[0] * w, sizeof(float) * 6 * (size_t)w);
                assert_memory_equal(a + (size_t)at[4] * w, a + (size_t)at[0] * w, sizeof(float) * 2 * (size_t)w);
                /* the diverging token differs (the check can fail) */
                assert_memory_not_equal(a + (size_t)(at[1] + 3) * w, a + (size_t)(at[0] + 3) * w, sizeof(float) * (size_t)w);
                const float *x = c.hidden[l + 1];
                assert_memory_equal(x + (size_t)at[2] * D, x + (size_t)at[0] * D, sizeof(float) * 6 * (size_t)D);
            }
            for (int l = 0; l < 16; l++) free(c.ffn[l]);
            for (int l = 0; l < 17; l++) free(c.hidden[l]);
        }
        modex_set_threads(0);
        modex_model_free(m);
    }
    /* the order puts sequences with a common prefix next to each other */
    int32_t a[3] = {5, 6, 7}, b2[1] = {9}, c3[2] = {5, 6}, d[2] = {5, 8}, e[3] = {5, 6, 7};
    int32_t *const all[5] = {a, b2, c3, d, e};
    const int n[5] = {3, 1, 2, 2, 3};
    int order[5];
    modex_batch_order(order, 5, all, n);
    const int want[5] = {2, 0, 4, 3, 1}; /* 5 6 | 5 6 7 | 5 6 7 | 5 8 | 9 */
    assert_memory_equal(order, want, sizeof want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_safetensors), cmocka_unit_test(test_models_gguf),
        cmocka_unit_test(test_hf_models), cmocka_unit_test(test_batching), cmocka_unit_test(test_shared_prefix), cmocka_unit_test(test_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
