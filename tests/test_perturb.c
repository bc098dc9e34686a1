/* test_perturb.c — the perturbation engine on the probe-e2e GPT-2 (ReLU FFN, biases) and the
 * Mixtral fixture:
 * - zeroing every neuron of a layer equals a forward of a copy of the model whose down
 *   projection weights are zero (its bias kept), run text by text; the metrics (LM loss,
 *   answer accuracy) equal the ones recomputed here from that forward's full logits;
 * - resuming from the cached hidden state gives bitwise the same final hidden states as a run
 *   from the embeddings, in every mode and with a thinned cache;
 * - mean mode uses the mean activation over all probe tokens (recomputed here);
 * - random masks have the mask's expert / neuron counts; same seed, same numbers;
 * - the job publishes the same numbers as the direct calls;
 * - all-token answer accuracy: answers made of the model's own two greedy tokens score 1,
 *   answers whose second token is not the greedy one score 1 on the first token only;
 * - encoders (a synthetic one): the metric is the mean relative change of the final hidden
 *   state, recomputed here from two plain forwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "modex/forward.h"
#include "modex/job.h"
#include "modex/perturb.h"
#include "modex/util.h"
#include "reference.h"

#define E2E FIX "probe-e2e/"

static const char PROBE[] =
    "text,function,subfunction,label,answer\n"
    "The capital of France is,knowledge,capital,1, Paris\n"
    "The capital of Italy is,knowledge,capital,1, Rome\n"
    "The capital of Spain is,knowledge,capital,0, Madrid\n"
    "I saw a dog near the kitchen.,semantic,animal,1,\n"
    "I saw a hammer near the kitchen.,semantic,animal,0,\n"
    "A cat sat on the mat.,semantic,animal,1,\n"
    "This book was excellent.,task,sentiment,1,\n"
    "This book was dreadful.,task,sentiment,0,\n"
    "The film made me happy.,task,sentiment,1,\n";

typedef struct Fx { Model *m; Tokenizer *t; Probe p; } Fx;

static void fx_open(Fx *f, const char *model) {
    Error err = {0};
    f->m = modex_model_open(model, &err);
    assert_non_null(f->m);
    f->t = modex_tok_load(model, &err);
    assert_non_null(f->t);
    assert_int_equal(modex_probe_parse(&f->p, "probe.csv", PROBE, sizeof PROBE - 1, &err), 0);
}
static void fx_close(Fx *f) { modex_probe_free(&f->p); modex_tok_free(f->t); modex_model_free(f->m); }

typedef struct Cap { float *final; int L; double *sum; int W; } Cap;
static void cap_hidden(void *ctx, int i, const float *x, int T, int D, const Batch *b) {
    (void)b;
    Cap *c = ctx;
    if (i == c->L) { c->final = malloc(sizeof(float) * (size_t)T * D); memcpy(c->final, x, sizeof(float) * (size_t)T * D); }
}
static int cap_ffn(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)b;
    Cap *c = ctx;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < w; j++) c->sum[(size_t)l * w + j] += a[(size_t)t * w + j];
    return 0;
}

static int zero_half(void *ctx, int l, float *a, int T, int w, const Batch *b) {
    (void)b;
    const PerturbMask *k = ctx;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < w; j++) if (k->on[(size_t)l * w + j]) a[(size_t)t * w + j] = 0;
    return 0;
}

/* The model with layer l's down projection weights zeroed (bias kept): a shallow copy. */
static Model *without_ffn(const Model *m, int l, float **zeros) {
    Model *c = malloc(sizeof *c);
    *c = *m;
    c->layers = malloc(sizeof(LayerWeights) * (size_t)m->cfg.n_layer);
    memcpy(c->layers, m->layers, sizeof(LayerWeights) * (size_t)m->cfg.n_layer);
    Linear *d = &c->layers[l].down;
    *zeros = calloc((size_t)d->in * d->out, sizeof(float));
    d->w = *zeros;
    return c;
}

static void test_zero_layer(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    Error err = {0};
    Perturber *pt = modex_perturber_new(f.m, f.t, &f.p, &err);
    assert_non_null(pt);
    int L = f.m->cfg.n_layer, D = f.m->cfg.d_model, V = f.m->cfg.vocab, N = modex_perturber_n_tokens(pt);
    float *got = malloc(sizeof(float) * (size_t)N * D);
    PerturbMask k;
    modex_mask_init(&k, f.m);
    for (int l = 0; l < L; l++) {
        modex_mask_clear(&k);
        memset(k.on + (size_t)l * k.width, 1, (size_t)k.width);
        assert_int_equal(modex_mask_first_layer(&k), l);
        assert_int_equal(modex_mask_count(&k), k.width);
        assert_int_equal(modex_perturber_hidden(pt, &k, PERTURB_ZERO, 1, got, &err), 0);
        PerturbResult r = {0};
        assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_ZERO, 1, &r, NULL, NULL, &err), 0);
        /* independent: the model without layer l's FFN weights, text by text, full logits */
        float *zeros;
        Model *c = without_ffn(f.m, l, &zeros);
        double *loss_sum = calloc((size_t)f.p.n_texts, sizeof(double));
        int *loss_n = calloc((size_t)f.p.n_texts, sizeof(int)), *pred = calloc((size_t)f.p.n_texts, sizeof(int));
        int off = 0;
        double maxd = 0;
        for (int ti = 0; ti < f.p.n_texts; ti++) {
            TokEncoding e = {0};
            assert_int_equal(modex_tok_encode(f.t, f.p.texts[ti], f.p.text_len[ti], 1, &e, &err), 0);
            int start[2] = {0, e.n};
            Batch b = {1, e.ids, start};
            Cap cap = {.L = L};
            ForwardHooks hk = {.ctx = &cap, .hidden = cap_hidden};
            ForwardOpts o = {.logits = LOGITS_ALL};
            float *lg = malloc(sizeof(float) * (size_t)e.n * V);
            assert_int_equal(modex_forward(c, &b, &o, &hk, lg, &err), 0);
            for (size_t i = 0; i < (size_t)e.n * D; i++) {
                double d = fabs((double)cap.final[i] - got[(size_t)off * D + i]);
                if (d > maxd) maxd = d;
                assert_true(d <= 1e-4 + 1e-4 * fabs(cap.final[i]));
            }
            for (int t = 0; t < e.n; t++) {
                const float *row = lg + (size_t)t * V;
                double mx = row[0]; int am = 0;
                for (int v = 1; v < V; v++) if (row[v] > mx) { mx = row[v]; am = v; }
                if (t == e.n - 1) { pred[ti] = am; break; }
                double s = 0;
                for (int v = 0; v < V; v++) s += exp(row[v] - mx);
                loss_sum[ti] += mx + log(s) - row[e.ids[t + 1]];
                loss_n[ti]++;
            }
            off += e.n;
            free(lg); free(cap.final);
            modex_tok_encoding_free(&e);
        }
        printf("  layer %d zeroed: final hidden max|diff| %.3g\n", l, maxd);
        /* per sub-function: loss over positive texts; accuracy over answered rows */
        for (int s = 0; s < f.p.n_subs; s++) {
            const SubFunction *S = &f.p.subs[s];
            double ls = 0; int ln = 0, ok = 0, n = 0;
            for (int q = 0; q < S->n_rows; q++) {
                const ProbeRow *row = &f.p.rows[S->rows[q]];
                int ti = f.p.units[row->unit].text;
                if (row->label == 1) { ls += loss_sum[ti]; ln += loss_n[ti]; }
                if (row->answer) {
                    TokEncoding a = {0};
                    assert_int_equal(modex_tok_encode(f.t, row->answer, strlen(row->answer), 0, &a, &err), 0);
                    n++;
                    ok += pred[ti] == a.ids[0];
                    modex_tok_encoding_free(&a);
                }
            }
            assert_true(fabs(r.loss[s] - ls / ln) < 1e-4);
            if (n) {
                assert_int_equal(r.kind[s], 0);
                assert_true(fabs(r.value[s] - (double)ok / n) < 1e-12);
                assert_int_equal(r.n[s], n);
            } else {
                assert_int_equal(r.kind[s], 1);
                assert_true(r.value[s] == r.loss[s]);
            }
        }
        modex_perturb_result_free(&r);
        free(loss_sum); free(loss_n); free(pred);
        free(zeros); free(c->layers); free(c);
    }
    modex_mask_free(&k);
    free(got);
    modex_perturber_free(pt);
    fx_close(&f);
}

/* The capital texts' answers are " Paris" etc.: the next token after the text's own tokens. */
static void test_answer_tokens(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    Error err = {0};
    Perturber *pt = modex_perturber_new(f.m, f.t, &f.p, &err);
    assert_non_null(pt);
    PerturbResult r = {0};
    assert_int_equal(modex_perturber_clean(pt, &r, NULL, NULL, &err), 0);
    int cap = modex_probe_find_sub(&f.p, "capital");
    assert_true(cap >= 0);
    assert_int_equal(r.kind[cap], 0);
    assert_int_equal(r.n[cap], 3);
    assert_int_equal(r.kind[modex_probe_find_sub(&f.p, "animal")], 1);
    assert_string_equal(modex_perturb_metric_name(r.kind[cap]), "accuracy");
    modex_perturb_result_free(&r);
    modex_perturber_free(pt);
    fx_close(&f);
}

static void test_resume_bitwise(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    Error err = {0};
    int D = f.m->cfg.d_model;
    for (int thin = 0; thin < 2; thin++) {
        Perturber *a = modex_perturber_new(f.m, f.t, &f.p, &err), *b = modex_perturber_new(f.m, f.t, &f.p, &err);
        assert_non_null(a); assert_non_null(b);
        modex_perturber_set_batch_tokens(a, 24);
        modex_perturber_set_batch_tokens(b, 24);
        int N = modex_perturber_n_tokens(a);
        /* thin: room for one cached layer of the two (1 and 2) */
        if (thin) modex_perturber_set_cache_bytes(a, (size_t)N * D * sizeof(float) * 3 / 2);
        modex_perturber_set_reuse(b, 0);
        float *ha = malloc(sizeof(float) * (size_t)N * D), *hb = malloc(sizeof(float) * (size_t)N * D);
        PerturbMask k;
        modex_mask_init(&k, f.m);
        for (int l = 0; l < f.m->cfg.n_layer; l++)
            for (int mode = 0; mode < 3; mode++) {
                modex_mask_clear(&k);
                for (int j = 0; j < k.width; j += 3 + l) k.on[(size_t)l * k.width + j] = 1;
                if (l + 1 < f.m->cfg.n_layer) k.on[(size_t)(l + 1) * k.width + 5] = 1;
                assert_int_equal(modex_perturber_hidden(a, &k, (PerturbMode)mode, 7, ha, &err), 0);
                assert_int_equal(modex_perturber_hidden(b, &k, (PerturbMode)mode, 7, hb, &err), 0);
                assert_memory_equal(ha, hb, sizeof(float) * (size_t)N * D);
                PerturbResult ra = {0}, rb = {0};
                assert_int_equal(modex_perturber_eval(a, &k, (PerturbMode)mode, 7, &ra, NULL, NULL, &err), 0);
                assert_int_equal(modex_perturber_eval(b, &k, (PerturbMode)mode, 7, &rb, NULL, NULL, &err), 0);
                assert_memory_equal(ra.value, rb.value, sizeof(double) * (size_t)ra.n_subs);
                assert_memory_equal(ra.loss, rb.loss, sizeof(double) * (size_t)ra.n_subs);
                modex_perturb_result_free(&ra); modex_perturb_result_free(&rb);
            }
        /* a masked run is not the clean run; the empty mask is */
        PerturbResult c = {0}, e = {0};
        assert_int_equal(modex_perturber_clean(a, &c, NULL, NULL, &err), 0);
        modex_mask_clear(&k);
        assert_int_equal(modex_perturber_eval(a, &k, PERTURB_ZERO, 0, &e, NULL, NULL, &err), 0);
        assert_memory_equal(c.loss, e.loss, sizeof(double) * (size_t)c.n_subs);
        modex_perturb_result_free(&e);
        memset(k.on + k.width, 1, (size_t)k.width);
        assert_int_equal(modex_perturber_eval(a, &k, PERTURB_ZERO, 0, &e, NULL, NULL, &err), 0);
        for (int s = 0; s < c.n_subs; s++) assert_true(c.loss[s] != e.loss[s]);
        modex_perturb_result_free(&e); modex_perturb_result_free(&c);
        modex_mask_free(&k);
        free(ha); free(hb);
        modex_perturber_free(a); modex_perturber_free(b);
    }
    fx_close(&f);
}

static void test_means_and_shuffle(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    Error err = {0};
    Perturber *pt = modex_perturber_new(f.m, f.t, &f.p, &err);
    PerturbResult r = {0};
    assert_int_equal(modex_perturber_clean(pt, &r, NULL, NULL, &err), 0);
    modex_perturb_result_free(&r);
    int L = f.m->cfg.n_layer, W = modex_ffn_width(f.m);
    Cap cap = {.L = -1, .W = W};
    cap.sum = calloc((size_t)L * W, sizeof(double));
    long n = 0;
    for (int ti = 0; ti < f.p.n_texts; ti++) {
        TokEncoding e = {0};
        assert_int_equal(modex_tok_encode(f.t, f.p.texts[ti], f.p.text_len[ti], 1, &e, &err), 0);
        int start[2] = {0, e.n};
        Batch b = {1, e.ids, start};
        ForwardHooks hk = {.ctx = &cap, .ffn = cap_ffn};
        assert_int_equal(modex_forward(f.m, &b, NULL, &hk, NULL, &err), 0);
        n += e.n;
        modex_tok_encoding_free(&e);
    }
    const float *mu = modex_perturber_means(pt);
    assert_non_null(mu);
    for (size_t i = 0; i < (size_t)L * W; i++) assert_true(fabs(mu[i] - cap.sum[i] / n) <= 1e-5 + 1e-5 * fabs(mu[i]));
    free(cap.sum);
    /* shuffle: seeded */
    PerturbMask k;
    modex_mask_init(&k, f.m);
    for (int j = 0; j < W; j += 2) k.on[W + j] = 1;
    PerturbResult a = {0}, b = {0}, c = {0};
    assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_SHUFFLE, 11, &a, NULL, NULL, &err), 0);
    assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_SHUFFLE, 11, &b, NULL, NULL, &err), 0);
    assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_SHUFFLE, 12, &c, NULL, NULL, &err), 0);
    assert_memory_equal(a.loss, b.loss, sizeof(double) * (size_t)a.n_subs);
    int differ = 0;
    for (int s = 0; s < a.n_subs; s++) differ += a.loss[s] != c.loss[s];
    assert_true(differ > 0);
    modex_perturb_result_free(&a); modex_perturb_result_free(&b); modex_perturb_result_free(&c);
    modex_mask_free(&k);
    modex_perturber_free(pt);
    fx_close(&f);
}

static void test_random_masks(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    int L = f.m->cfg.n_layer, W = modex_ffn_width(f.m), E = 16;
    int **assign = malloc(sizeof(int *) * (size_t)L);
    for (int l = 0; l < L; l++) {
        assign[l] = malloc(sizeof(int) * (size_t)W);
        for (int j = 0; j < W; j++) assign[l][j] = (j * 7 + l) % E;
    }
    PerturbMask k, r;
    modex_mask_init(&k, f.m);
    modex_mask_init(&r, f.m);
    modex_mask_set_expert(&k, 1, assign[1], 3, 1);
    modex_mask_set_expert(&k, 1, assign[1], 9, 1);
    for (int j = 0; j < 10; j++) k.on[2 * W + j * 5] = 1; /* layer 2: loose neurons */
    assert_int_equal(modex_mask_layer_experts(&k, 1, assign[1], E), 2);
    assert_int_equal(modex_mask_layer_experts(&k, 2, assign[2], E), -1);
    for (int d = 0; d < 5; d++) {
        modex_perturb_random_mask(&k, (const int *const *)assign, E, 3, d, &r);
        assert_int_equal(modex_mask_layer_count(&r, 0), 0);
        assert_int_equal(modex_mask_layer_experts(&r, 1, assign[1], E), 2);
        assert_int_equal(modex_mask_layer_count(&r, 1), 2 * W / E);
        assert_int_equal(modex_mask_layer_count(&r, 2), 10);
    }
    Error err = {0};
    Perturber *pt = modex_perturber_new(f.m, f.t, &f.p, &err);
    int ns = f.p.n_subs;
    double m1[8], s1[8], m2[8], s2[8];
    assert_int_equal(modex_perturber_random(pt, &k, (const int *const *)assign, E, PERTURB_ZERO, 3, 5, m1, s1, NULL, NULL, &err), 0);
    assert_int_equal(modex_perturber_random(pt, &k, (const int *const *)assign, E, PERTURB_ZERO, 3, 5, m2, s2, NULL, NULL, &err), 0);
    assert_memory_equal(m1, m2, sizeof(double) * (size_t)ns);
    assert_memory_equal(s1, s2, sizeof(double) * (size_t)ns);
    /* mean of the draws, recomputed */
    double acc[8] = {0};
    for (int d = 0; d < 3; d++) {
        PerturbResult x = {0};
        assert_int_equal(modex_perturber_random_draw(pt, &k, (const int *const *)assign, E, PERTURB_ZERO, 5, d, &x, NULL, NULL, &err), 0);
        for (int s = 0; s < ns; s++) acc[s] += x.value[s] / 3;
        modex_perturb_result_free(&x);
    }
    for (int s = 0; s < ns; s++) assert_true(fabs(acc[s] - m1[s]) < 1e-12);
    /* the job publishes the same numbers */
    JobQueue *q = modex_jobs_new();
    Job *j = modex_perturb_submit(q, pt, &k, PERTURB_ZERO, (const int *const *)assign, E, 3, 5);
    assert_int_equal(modex_job_wait(j), JOB_DONE);
    Snapshot *sn = modex_job_latest(j);
    const PerturbSnap *ps = modex_snapshot_data(sn);
    assert_int_equal(ps->finished, 1);
    assert_int_equal(ps->draws_done, 3);
    PerturbResult cl = {0}, mk = {0};
    assert_int_equal(modex_perturber_clean(pt, &cl, NULL, NULL, &err), 0);
    assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_ZERO, 5, &mk, NULL, NULL, &err), 0);
    for (int s = 0; s < ns; s++) {
        assert_true(ps->clean[s] == cl.value[s]);
        assert_true(ps->masked[s] == mk.value[s]);
        assert_true(fabs(ps->rand_mean[s] - m1[s]) < 1e-12);
        assert_true(isnan(s1[s]) ? isnan(ps->rand_sd[s]) : fabs(ps->rand_sd[s] - s1[s]) < 1e-12);
    }
    modex_perturb_result_free(&cl); modex_perturb_result_free(&mk);
    modex_snapshot_release(sn);
    modex_job_release(j);
    modex_jobs_free(q);
    modex_perturber_free(pt);
    modex_mask_free(&k); modex_mask_free(&r);
    for (int l = 0; l < L; l++) free(assign[l]);
    free(assign);
    fx_close(&f);
}

static int argmax_last(const Model *m, const int32_t *ids, int n) {
    Error err = {0};
    int V = m->cfg.vocab, start[2] = {0, n};
    Batch b = {1, ids, start};
    float *lg = malloc(sizeof(float) * (size_t)n * V);
    ForwardOpts o = {.logits = LOGITS_ALL};
    assert_int_equal(modex_forward(m, &b, &o, NULL, lg, &err), 0);
    const float *r = lg + (size_t)(n - 1) * V;
    int a = 0;
    for (int v = 1; v < V; v++) if (r[v] > r[a]) a = v;
    free(lg);
    return a;
}

static void csv_quoted(char *buf, size_t cap, const char *s) {
    size_t o = strlen(buf);
    buf[o++] = '"';
    for (; *s && o + 3 < cap; s++) { if (*s == '"') buf[o++] = '"'; buf[o++] = *s; }
    buf[o++] = '"';
    buf[o] = 0;
}

static void test_answer_all(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    Error err = {0};
    const char *texts[] = {"The capital of France is", "A cat sat on the", "This book was", "I saw a dog near the"};
    char csv[8192] = "text,subfunction,label,answer\n";
    int n_right = 0, n_wrong = 0;
    for (int i = 0; i < 4; i++) {
        TokEncoding e = {0};
        assert_int_equal(modex_tok_encode(f.t, texts[i], strlen(texts[i]), 1, &e, &err), 0);
        int32_t ids[64];
        memcpy(ids, e.ids, sizeof(int32_t) * (size_t)e.n);
        int n = e.n;
        modex_tok_encoding_free(&e);
        int g1 = argmax_last(f.m, ids, n);
        ids[n] = g1;
        int g2 = argmax_last(f.m, ids, n + 1);
        int bad2 = g2 == 13 ? 14 : 13; /* any other token */
        for (int w = 0; w < 2; w++) {
            int32_t ans[2] = {g1, w ? bad2 : g2};
            char *a = modex_tok_decode(f.t, ans, 2, 0);
            /* keep the row only when text + answer tokenises back to text + the two tokens */
            char cat[256];
            snprintf(cat, sizeof cat, "%s%s", texts[i], a);
            TokEncoding c = {0};
            assert_int_equal(modex_tok_encode(f.t, cat, strlen(cat), 1, &c, &err), 0);
            int same = c.n == n + 2 && !memcmp(c.ids, ids, sizeof(int32_t) * (size_t)n) && c.ids[n] == ans[0] && c.ids[n + 1] == ans[1];
            modex_tok_encoding_free(&c);
            if (same) {
                csv_quoted(csv, sizeof csv, texts[i]);
                strcat(csv, w ? ",wrong,1," : ",right,1,");
                csv_quoted(csv, sizeof csv, a);
                strcat(csv, "\n");
                if (w) n_wrong++; else n_right++;
            }
            free(a);
        }
    }
    strcat(csv, "This book was dreadful.,right,0,\nThis book was dreadful.,wrong,0,\n"); /* negatives, no answer */
    printf("  %d right and %d wrong two-token answers\n%s", n_right, n_wrong, csv);
    assert_true(n_right >= 2 && n_wrong >= 2);
    Probe p;
    int prc = modex_probe_parse(&p, "answers.csv", csv, strlen(csv), &err);
    if (prc) printf("%s\n", err.msg);
    assert_int_equal(prc, 0);
    Perturber *pt = modex_perturber_new(f.m, f.t, &p, &err);
    assert_non_null(pt);
    int right = modex_probe_find_sub(&p, "right"), wrong = modex_probe_find_sub(&p, "wrong");
    PerturbResult r = {0};
    assert_int_equal(modex_perturber_clean(pt, &r, NULL, NULL, &err), 0);
    assert_true(r.value[right] == 1.0 && r.value[wrong] == 1.0); /* first token */
    double loss_first = r.loss[right];
    modex_perturb_result_free(&r);
    modex_perturber_set_answer_all(pt, 1);
    assert_int_equal(modex_perturber_clean(pt, &r, NULL, NULL, &err), 0);
    assert_true(r.value[right] == 1.0 && r.value[wrong] == 0.0);  /* every token */
    /* loss on the texts only: the same tokens, now inside longer sequences, so other rows of
     * the sgemm (OpenBLAS's Haswell kernel rounds by row position) — equal to float rounding;
     * one answer token counted in would move it by more than 1e-2 */
    assert_true(fabs(r.loss[right] - loss_first) <= 1e-6 * fabs(loss_first));
    modex_perturb_result_free(&r);
    /* a masked run resumes from the cache with the answer sequences too: bitwise as from layer 0 */
    Perturber *full = modex_perturber_new(f.m, f.t, &p, &err);
    modex_perturber_set_answer_all(full, 1);
    modex_perturber_set_reuse(full, 0);
    PerturbMask k;
    modex_mask_init(&k, f.m);
    for (int j = 0; j < k.width; j += 2) k.on[2 * k.width + j] = 1;
    PerturbResult a = {0}, b = {0};
    assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_MEAN, 0, &a, NULL, NULL, &err), 0);
    assert_int_equal(modex_perturber_eval(full, &k, PERTURB_MEAN, 0, &b, NULL, NULL, &err), 0);
    assert_memory_equal(a.value, b.value, sizeof(double) * (size_t)p.n_subs);
    assert_memory_equal(a.loss, b.loss, sizeof(double) * (size_t)p.n_subs);
    /* the means are over the texts' tokens only, as without answer sequences */
    Perturber *plain = modex_perturber_new(f.m, f.t, &p, &err);
    PerturbResult c = {0};
    assert_int_equal(modex_perturber_clean(plain, &c, NULL, NULL, &err), 0);
    { /* equal to float rounding: the same tokens in other batches (see the loss above) */
        const float *u = modex_perturber_means(plain), *v = modex_perturber_means(pt);
        for (size_t i = 0; i < (size_t)k.n_layer * k.width; i++) assert_true(fabsf(u[i] - v[i]) <= 1e-5f * fabsf(u[i]) + 1e-6f);
    }
    modex_perturb_result_free(&a); modex_perturb_result_free(&b); modex_perturb_result_free(&c);
    modex_mask_free(&k);
    modex_perturber_free(plain);
    modex_perturber_free(full);
    modex_perturber_free(pt);
    modex_probe_free(&p);
    fx_close(&f);
}

static void test_encoder(void **state) {
    (void)state;
    ModelConfig c = {0};
    c.n_layer = 2; c.d_model = 32; c.n_head = 4; c.d_ff = 64; c.vocab = 600; c.max_pos = 64;
    c.causal = 0; c.norm = NORM_LAYER; c.norm_eps = 1e-5f; c.act = ACT_GELU_ERF; c.learned_pos = 1; c.init_range = 0.2f;
    Model *m = modex_model_synthetic(&c, QKV_SEPARATE, 1, 3);
    Error err = {0};
    Tokenizer *t = modex_tok_load(FIX "tokenizers/bytebpe/tokenizer.json", &err);
    assert_non_null(t);
    Probe p;
    assert_int_equal(modex_probe_parse(&p, "probe.csv", PROBE, sizeof PROBE - 1, &err), 0);
    Perturber *pt = modex_perturber_new(m, t, &p, &err);
    assert_non_null(pt);
    PerturbResult cl = {0}, r = {0};
    assert_int_equal(modex_perturber_clean(pt, &cl, NULL, NULL, &err), 0);
    PerturbMask k;
    modex_mask_init(&k, m);
    for (int j = 0; j < 64; j += 2) k.on[64 + j] = 1; /* half of layer 1 */
    assert_int_equal(modex_perturber_eval(pt, &k, PERTURB_ZERO, 0, &r, NULL, NULL, &err), 0);
    /* independent: plain forwards, the masked one zeroing the same neurons in a hook */
    int ns = p.n_subs, D = 32;
    for (int s = 0; s < ns; s++) {
        assert_int_equal(cl.kind[s], 2);
        assert_true(cl.value[s] == 0.0);
        assert_true(isnan(cl.loss[s]));
        assert_string_equal(modex_perturb_metric_name(r.kind[s]), "rel_change");
        double sum = 0; long n = 0;
        const SubFunction *S = &p.subs[s];
        for (int q = 0; q < S->n_rows; q++) {
            const ProbeRow *row = &p.rows[S->rows[q]];
            if (row->label != 1) continue;
            int ti = p.units[row->unit].text;
            TokEncoding e = {0};
            assert_int_equal(modex_tok_encode(t, p.texts[ti], p.text_len[ti], 1, &e, &err), 0);
            int start[2] = {0, e.n};
            Batch b = {1, e.ids, start};
            float *h0 = malloc(sizeof(float) * (size_t)e.n * D), *h1 = malloc(sizeof(float) * (size_t)e.n * D);
            assert_int_equal(modex_forward(m, &b, NULL, NULL, h0, &err), 0);
            ForwardHooks hk = {.ctx = &k, .ffn = zero_half};
            assert_int_equal(modex_forward(m, &b, NULL, &hk, h1, &err), 0);
            for (int i = 0; i < e.n; i++) {
                double dn = 0, nn = 0;
                for (int d = 0; d < D; d++) {
                    double z = (double)h1[i * D + d] - h0[i * D + d];
                    dn += z * z; nn += (double)h0[i * D + d] * h0[i * D + d];
                }
                sum += sqrt(dn / nn); n++;
            }
            free(h0); free(h1);
            modex_tok_encoding_free(&e);
        }
        printf("  encoder sub %d: relative change %.6g (recomputed %.6g over %ld tokens)\n", s, r.value[s], sum / n, n);
        assert_int_equal(r.n[s], n);
        assert_true(r.value[s] > 0);
        assert_true(fabs(r.value[s] - sum / n) <= 1e-5 * (sum / n));
    }
    modex_perturb_result_free(&cl); modex_perturb_result_free(&r);
    modex_mask_free(&k);
    modex_perturber_free(pt);
    modex_probe_free(&p);
    modex_tok_free(t);
    modex_model_free(m);
}

/* Rows with a span predict the answer from the text before the span: for "CONTEXT g1!" with
 * span g1, the answer g1 (the model's own argmax after CONTEXT, computed here by a plain
 * forward) is right and another token is wrong, although neither follows the whole text. */
static void test_span_context(void **state) {
    (void)state;
    Fx f;
    fx_open(&f, E2E "model");
    Error err = {0};
    const char *ctxs[] = {"The capital of France is", "A cat sat on the", "This book was", "I saw a dog near the",
                          "The weather today is", "My favourite colour is", "She opened the", "We walked to the"};
    char csv[8192] = "text,subfunction,label,span,answer\n";
    int kept = 0;
    for (int i = 0; i < 8; i++) {
        TokEncoding e = {0};
        assert_int_equal(modex_tok_encode(f.t, ctxs[i], strlen(ctxs[i]), 1, &e, &err), 0);
        int g1 = argmax_last(f.m, e.ids, e.n), n = e.n;
        int32_t ids[64];
        memcpy(ids, e.ids, sizeof(int32_t) * (size_t)n);
        modex_tok_encoding_free(&e);
        int other = g1 == 13 ? 14 : 13;
        char *a = modex_tok_decode(f.t, &g1, 1, 0), *b = modex_tok_decode(f.t, &other, 1, 0);
        /* only answers that tokenise back after the context as exactly that token */
        char cat[256];
        snprintf(cat, sizeof cat, "%s%s", ctxs[i], a);
        assert_int_equal(modex_tok_encode(f.t, cat, strlen(cat), 1, &e, &err), 0);
        int same = e.n == n + 1 && !memcmp(e.ids, ids, sizeof(int32_t) * (size_t)n) && e.ids[n] == g1;
        modex_tok_encoding_free(&e);
        const char *span = a[0] == ' ' ? a + 1 : a;
        char text[256];
        snprintf(text, sizeof text, "%s%s!", ctxs[i], a);
        char *at = strstr(text, span);
        size_t want = strlen(ctxs[i]) + (a[0] == ' ');
        if (same && span[0] && at && (size_t)(at - text) == want && strchr(a, '"') == NULL && strchr(b, '"') == NULL) {
            for (int w = 0; w < 2; w++) {
                csv_quoted(csv, sizeof csv, text);
                strcat(csv, w ? ",wrong,1," : ",right,1,");
                csv_quoted(csv, sizeof csv, span);
                strcat(csv, ",");
                csv_quoted(csv, sizeof csv, w ? b : a);
                strcat(csv, "\n");
            }
            kept++;
        }
        free(a); free(b);
    }
    strcat(csv, "This book was dreadful.,right,0,,\nThis book was dreadful.,wrong,0,,\n");
    printf("  %d contexts\n%s", kept, csv);
    assert_true(kept >= 2);
    Probe p;
    int prc = modex_probe_parse(&p, "span.csv", csv, strlen(csv), &err);
    if (prc) printf("%s\n", err.msg);
    assert_int_equal(prc, 0);
    Perturber *pt = modex_perturber_new(f.m, f.t, &p, &err);
    assert_non_null(pt);
    PerturbResult r = {0};
    assert_int_equal(modex_perturber_clean(pt, &r, NULL, NULL, &err), 0);
    int right = modex_probe_find_sub(&p, "right"), wrong = modex_probe_find_sub(&p, "wrong");
    assert_int_equal(r.kind[right], 0);
    assert_true(r.value[right] == 1.0);
    assert_true(r.value[wrong] == 0.0);
    modex_perturb_result_free(&r);
    modex_perturber_free(pt);
    modex_probe_free(&p);
    fx_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_layer),
        cmocka_unit_test(test_answer_tokens),
        cmocka_unit_test(test_resume_bitwise),
        cmocka_unit_test(test_means_and_shuffle),
        cmocka_unit_test(test_random_masks),
        cmocka_unit_test(test_answer_all),
        cmocka_unit_test(test_encoder),
        cmocka_unit_test(test_span_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
