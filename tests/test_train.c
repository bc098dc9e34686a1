/* test_train.c — the sample-model trainer: gradients against central finite differences (in
 * double), float against double, the forward against transformers (probe-e2e activations),
 * the BPE encoder against the tokenizers library, folders that round-trip, loss that falls, and
 * bit-identical reruns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "modex/parallel.h"
#include "modex/probe.h"
#include "modex/safetensors.h"
#include "modex/forward.h"
#include "modex/train.h"
#include "modex/util.h"
#include "../src/train/train_internal.h"

#define FIX "../shared/fixtures"

static uint64_t lcg = 12345;
static double urand(void) { /* test-local numbers in [-1, 1) */
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) * 0x1.0p-52 - 1.0;
}

/* Random parameters of a size that exercises every path (norm gains around 1, biases nonzero). */
static void random_params(const Gpt2Dims *d, double *p) {
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(d, off);
    for (int i = 0; i < N_PARAM; i++)
        for (size_t k = off[i]; k < off[i + 1]; k++) {
            int ln = i == P_LN1W || i == P_LN2W || i == P_LNFW;
            p[k] = ln ? 1.0 + 0.2 * urand() : 0.4 * urand();
        }
}

static const Gpt2Dims tiny = {.V = 23, .maxT = 6, .L = 2, .C = 8, .NH = 2, .F = 16};
enum { TB = 2, TB3 = 3, TT = 5 }; /* TB sequences, or TB3 for an uneven split over threads */
static int32_t tin[TB3 * TT], ttg[TB3 * TT];
static void tiny_batch(void) {
    for (int i = 0; i < TB3 * TT; i++) {
        tin[i] = (int32_t)((i * 7 + 3) % tiny.V);
        ttg[i] = (int32_t)((i * 5 + 11) % tiny.V);
    }
}

/* The tiny batch, random parameters in double and their float copy (the double rounded to the
 * float's value), and room for both gradients: the float-vs-double tests' common setup. */
typedef struct TinyParams { size_t off[N_PARAM + 1], n; double *p, *g; float *pf, *gf; } TinyParams;
static void tiny_params(TinyParams *t) {
    tiny_batch();
    modex_gpt2_offsets(&tiny, t->off);
    t->n = t->off[N_PARAM];
    t->p = malloc(t->n * sizeof *t->p); t->g = malloc(t->n * sizeof *t->g);
    t->pf = malloc(t->n * sizeof *t->pf); t->gf = malloc(t->n * sizeof *t->gf);
    random_params(&tiny, t->p);
    for (size_t k = 0; k < t->n; k++) { t->pf[k] = (float)t->p[k]; t->p[k] = t->pf[k]; }
}
static void tiny_params_free(TinyParams *t) { free(t->p); free(t->g); free(t->pf); free(t->gf); }

/* Every tensor of the float gradient within 1e-4 of its largest double element. */
static void assert_grads_match(const size_t *off, const double *g, const float *gf) {
    for (int i = 0; i < N_PARAM; i++) {
        double gmax = 0, worst = 0;
        for (size_t k = off[i]; k < off[i + 1]; k++) gmax = fmax(gmax, fabs(g[k]));
        for (size_t k = off[i]; k < off[i + 1]; k++) worst = fmax(worst, fabs(g[k] - gf[k]));
        assert_true(worst <= 1e-4 * gmax + 1e-7);
    }
}

// --- gradients ------------------------------------------------------------------------------
static void test_gradients_match_finite_differences(void **state) {
    (void)state;
    modex_set_threads(1);
    tiny_batch();
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(&tiny, off);
    size_t n = off[N_PARAM];
    double *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    random_params(&tiny, p);
    double loss = modex_gpt2_loss_grad_f64(&tiny, p, tin, ttg, TB, TT, g);
    assert_true(loss > 0 && isfinite(loss));
    const double h = 1e-5;
    int failures = 0;
    for (int i = 0; i < N_PARAM; i++) {
        double worst = 0, gmax = 0;
        for (size_t k = off[i]; k < off[i + 1]; k++) { /* every element of every tensor */
            double keep = p[k];
            p[k] = keep + h;
            double lp = modex_gpt2_loss_grad_f64(&tiny, p, tin, ttg, TB, TT, NULL);
            p[k] = keep - h;
            double lm = modex_gpt2_loss_grad_f64(&tiny, p, tin, ttg, TB, TT, NULL);
            p[k] = keep;
            double num = (lp - lm) / (2 * h), diff = fabs(num - g[k]);
            if (diff > worst) worst = diff;
            if (diff > 1e-8 + 1e-6 * fabs(g[k])) failures++; /* truncation error is ~1e-10 */
            if (fabs(g[k]) > gmax) gmax = fabs(g[k]);
        }
        printf("  %-20s max |grad| %.3e  max |finite difference - grad| %.2e\n", modex_gpt2_param_name(i), gmax, worst);
        assert_true(gmax > 1e-6); /* the check sees every tensor actually used */
    }
    assert_int_equal(failures, 0);
    free(p);
    free(g);
}

static void test_float_gradients_match_double(void **state) {
    (void)state;
    TinyParams t;
    tiny_params(&t);
    double ld = modex_gpt2_loss_grad_f64(&tiny, t.p, tin, ttg, TB, TT, t.g);
    double lf = modex_gpt2_loss_grad_f32(&tiny, t.pf, tin, ttg, TB, TT, t.gf);
    assert_true(fabs(ld - lf) < 1e-5 * fabs(ld));
    assert_grads_match(t.off, t.g, t.gf);
    tiny_params_free(&t);
}

/* The trainer's batch split over threads (each part its own forward/backward, gradients
 * weighed by the part's share) gives the whole batch's loss and gradient: against the double
 * reference, with an uneven split (3 sequences over 2 threads) and one part per sequence. */
static void test_batch_split_over_threads_matches_double(void **state) {
    (void)state;
    TinyParams t;
    tiny_params(&t);
    double ld = modex_gpt2_loss_grad_f64(&tiny, t.p, tin, ttg, TB3, TT, t.g);
    for (int threads = 1; threads <= 3; threads++) {
        modex_set_threads(threads);
        Gpt2Work *w = modex_gpt2_work_new(&tiny, TB3, TT);
        for (size_t k = 0; k < t.n; k++) t.gf[k] = 1e9f; /* overwritten, not added to */
        double lf = modex_gpt2_work_step(w, t.pf, tin, ttg, t.gf);
        assert_true(fabs(ld - lf) < 1e-5 * fabs(ld));
        assert_grads_match(t.off, t.g, t.gf);
        /* without targets: the loss is 0 and nothing is written to the gradient */
        t.gf[0] = 7;
        assert_true(modex_gpt2_work_step(w, t.pf, tin, NULL, t.gf) == 0);
        assert_true(t.gf[0] == 7);
        modex_gpt2_work_free(w);
    }
    modex_set_threads(0);
    tiny_params_free(&t);
}

// --- BPE ----------------------------------------------------------------------------------------
static void test_bpe_encoder_matches_tokenizers_library(void **state) {
    (void)state;
    Error err;
    BpeTokenizer tok;
    if (modex_bpe_load_json(&tok, FIX "/tokenizers/bytebpe/tokenizer.json", &err)) fail_msg("%s", err.msg);
    FILE *f = fopen(FIX "/tokenizers/bytebpe/encodings.jsonl", "r");
    assert_non_null(f);
    char line[8192];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        const char *text = json_string_value(json_object_get(j, "text"));
        json_t *ids = json_object_get(j, "ids");
        int32_t *got;
        long n = modex_bpe_encode(&tok, text, strlen(text), &got, &err);
        if (n != (long)json_array_size(ids)) fail_msg("'%s': %ld ids, expected %zu", text, n, json_array_size(ids));
        for (long i = 0; i < n; i++)
            if (got[i] != json_integer_value(json_array_get(ids, (size_t)i)))
                fail_msg("'%s': id %ld is %d, expected %lld", text, i, got[i],
                         (long long)json_integer_value(json_array_get(ids, (size_t)i)));
        free(got);
        json_decref(j);
        rows++;
    }
    fclose(f);
    assert_true(rows >= 10);
    modex_bpe_free(&tok);
}

static void test_bpe_training_saves_hf_layout(void **state) {
    (void)state;
    Error err;
    char dir[] = "/tmp/modex-test-bpe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *corpus = modex_path_join(dir, "corpus.txt"), *tj = modex_path_join(dir, "tokenizer.json");
    if (modex_corpus_write(corpus, NULL, 7, 3000, 10, 0, &err)) fail_msg("%s", err.msg);
    size_t len;
    char *text = modex_read_text(corpus, &len, &err);
    BpeTokenizer tok, back, ref;
    if (modex_bpe_train(&tok, text, len, 400, corpus, &err)) fail_msg("%s", err.msg);
    assert_int_equal(tok.vocab_size, 400);
    assert_int_equal(tok.n_merges, 400 - 257);
    if (modex_bpe_save_json(&tok, tj, 0, &err)) fail_msg("%s", err.msg);
    if (modex_bpe_load_json(&back, tj, &err)) fail_msg("%s", err.msg);
    /* the special token and the byte alphabet sit where the tokenizers library puts them */
    if (modex_bpe_load_json(&ref, FIX "/tokenizers/bytebpe/tokenizer.json", &err)) fail_msg("%s", err.msg);
    for (int i = 0; i <= 256; i++) assert_string_equal(back.tokens[i], ref.tokens[i]);
    assert_int_equal(back.vocab_size, tok.vocab_size);
    for (int i = 0; i < tok.n_merges; i++)
        for (int k = 0; k < 3; k++) assert_int_equal(back.merges[i][k], tok.merges[i][k]);
    /* training text compresses, and encoding is the same through the saved file */
    int32_t *a, *b;
    long na = modex_bpe_encode(&tok, text, len, &a, &err), nb = modex_bpe_encode(&back, text, len, &b, &err);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na * sizeof *a);
    printf("  %.2f bytes per token with 400 tokens\n", (double)len / (double)na);
    assert_true((double)len / (double)na > 1.8);
    /* decoding the ids gives the text back (GPT-2's bytes_to_unicode, written out here) */
    int cp_byte[512];
    for (int x = 0, extra = 0; x < 256; x++) {
        int printable = (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255);
        cp_byte[printable ? x : 256 + extra++] = x;
    }
    size_t at = 0;
    for (long i = 0; i < na; i++) {
        const unsigned char *s = (const unsigned char *)tok.tokens[a[i]];
        for (size_t k = 0; s[k] && at < len; at++) {
            unsigned cp = s[k];
            if (cp >= 0xC0) { cp = ((cp & 0x1F) << 6) | (s[k + 1] & 0x3F); k += 2; } else k++;
            assert_int_equal(cp_byte[cp], (unsigned char)text[at]);
        }
    }
    assert_int_equal(at, len);
    free(a); free(b); free(text);
    modex_bpe_free(&tok); modex_bpe_free(&back); modex_bpe_free(&ref);
    unlink(corpus); unlink(tj); rmdir(dir);
    free(corpus); free(tj);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The probe's judged statements contain the same words as true and as false statements (so
 * word identity alone cannot separate them): per relation, the sorted words of the label-1
 * texts equal those of the label-0 texts, and the rows alternate true, false. (40 rows: ten
 * fours; a count that is not a multiple of 4 ends in a pair balanced in its objects only.) */
static void test_probe_judged_rows_are_balanced(void **state) {
    (void)state;
    Error err;
    char dir[] = "/tmp/modex-test-probe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *corpus = modex_path_join(dir, "corpus.txt"), *pp = modex_path_join(dir, "probe.csv");
    if (modex_corpus_write(corpus, pp, 3, 2000, 40, 0, &err)) fail_msg("%s", err.msg);
    Probe p;
    if (modex_probe_load(&p, pp, &err)) fail_msg("%s", err.msg);
    const char *judged[] = {"capital_of", "animal_sound", "element_symbol", "colour_of"};
    for (int j = 0; j < 4; j++) {
        int si = modex_probe_find_sub(&p, judged[j]);
        assert_true(si >= 0);
        const SubFunction *sf = &p.subs[si];
        assert_int_equal(sf->n_rows, 40);
        char **w[2] = {modex_xmalloc(64 * 40 * sizeof(char *)), modex_xmalloc(64 * 40 * sizeof(char *))};
        int nw[2] = {0, 0};
        for (int k = 0; k < sf->n_rows; k++) {
            const ProbeRow *r = &p.rows[sf->rows[k]];
            assert_int_equal(r->label, k % 2 == 0);
            char *t = modex_xstrdup(p.texts[p.units[r->unit].text]), *save = NULL;
            for (char *x = strtok_r(t, " ", &save); x; x = strtok_r(NULL, " ", &save)) {
                assert_true(nw[r->label] < 64 * 40);
                w[r->label][nw[r->label]++] = modex_xstrdup(x);
            }
            free(t);
        }
        assert_int_equal(nw[0], nw[1]);
        qsort(w[0], (size_t)nw[0], sizeof(char *), cmp_str);
        qsort(w[1], (size_t)nw[1], sizeof(char *), cmp_str);
        for (int k = 0; k < nw[0]; k++) assert_string_equal(w[0][k], w[1][k]);
        for (int l = 0; l < 2; l++) { for (int k = 0; k < nw[l]; k++) free(w[l][k]); free(w[l]); }
    }
    int si = modex_probe_find_sub(&p, "in_europe");
    assert_true(si >= 0);
    assert_int_equal(p.subs[si].n_rows, 40);
    modex_probe_free(&p);
    unlink(corpus); unlink(pp); rmdir(dir);
    free(corpus); free(pp);
}

static void test_bpe_rejects_invalid_utf8(void **state) {
    (void)state;
    Error err;
    BpeTokenizer tok;
    const char bad[] = "good text \xff\xfe more";
    assert_int_equal(modex_bpe_train(&tok, bad, sizeof bad - 1, 300, "bad.txt", &err), -1);
    assert_non_null(strstr(err.msg, "bad.txt:10: invalid UTF-8"));
}

// --- the forward against transformers ------------------------------------------------------------
/* probe-e2e: a GPT-2 ReLU model saved by transformers; example_acts = per probe row, per layer,
 * per neuron, the max over tokens of the input of mlp.c_proj, computed by transformers. */
static void test_forward_matches_transformers(void **state) {
    (void)state;
    Error err;
    Gpt2Dims d;
    float *p;
    if (modex_gpt2_load(FIX "/probe-e2e/model", &d, &p, &err)) fail_msg("%s", err.msg);
    assert_int_equal(d.L, 3);
    assert_int_equal(d.F, 256);
    BpeTokenizer tok;
    if (modex_bpe_load_json(&tok, FIX "/probe-e2e/model/tokenizer.json", &err)) fail_msg("%s", err.msg);
    MappedFile acts;
    if (modex_map_file(&acts, FIX "/probe-e2e/example_acts.f32", &err)) fail_msg("%s", err.msg);
    const float *ref = (const float *)acts.data;
    FILE *f = fopen(FIX "/probe-e2e/probe.csv", "r");
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    int row = 0;
    double worst = 0;
    while (fgets(line, sizeof line, f)) {
        char *comma = strchr(line, ','); /* the fixture's texts have no commas or quotes */
        *comma = 0;
        int32_t *ids;
        long n = modex_bpe_encode(&tok, line, strlen(line), &ids, &err);
        float *ffn = malloc((size_t)d.L * n * d.F * sizeof *ffn);
        modex_gpt2_logits_f32(&d, p, ids, (int)n, NULL, ffn);
        for (int l = 0; l < d.L; l++)
            for (int j = 0; j < d.F; j++) {
                float mx = 0;
                for (long t = 0; t < n; t++) mx = fmaxf(mx, ffn[((size_t)l * n + t) * d.F + j]);
                float r = ref[((size_t)row * d.L + l) * d.F + j];
                double e = fabs(mx - r);
                if (e > worst) worst = e;
                if (e > 2e-3 + 2e-3 * fabs(r)) fail_msg("row %d layer %d neuron %d: %g, expected %g", row, l, j, mx, r);
            }
        free(ffn);
        free(ids);
        row++;
    }
    fclose(f);
    printf("  120 probe rows: max |diff| of FFN activations vs transformers %.2e\n", worst);
    assert_int_equal(row, 120);
    modex_unmap_file(&acts);
    modex_bpe_free(&tok);
    free(p);
}

// --- folders ------------------------------------------------------------------------------------
static void test_saved_folder_round_trips(void **state) {
    (void)state;
    Error err;
    Gpt2Dims d = {.V = 50, .maxT = 16, .L = 3, .C = 16, .NH = 4, .F = 64};
    size_t off[N_PARAM + 1];
    modex_gpt2_offsets(&d, off);
    float *p = malloc(off[N_PARAM] * sizeof *p), *q;
    modex_gpt2_init(&d, p, 99);
    for (size_t k = off[P_LN1W]; k < off[N_PARAM]; k++) p[k] += 0.05f * (float)urand(); /* non-trivial norms, biases */
    char dir[] = "/tmp/modex-test-save-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *f32dir = modex_path_join(dir, "f32"), *bfdir = modex_path_join(dir, "checkpoints/step-000010");
    if (modex_gpt2_save(f32dir, &d, p, 0, NULL, 0, &err)) fail_msg("%s", err.msg);
    if (modex_gpt2_save(bfdir, &d, p, 1, NULL, 0, &err)) fail_msg("%s", err.msg);
    Gpt2Dims e;
    if (modex_gpt2_load(f32dir, &e, &q, &err)) fail_msg("%s", err.msg);
    assert_memory_equal(&d, &e, sizeof d);
    assert_memory_equal(p, q, off[N_PARAM] * sizeof *p);
    int32_t ids[12];
    for (int i = 0; i < 12; i++) ids[i] = (i * 13 + 5) % d.V;
    float *l1 = malloc(12 * d.V * sizeof *l1), *l2 = malloc(12 * d.V * sizeof *l2);
    modex_gpt2_logits_f32(&d, p, ids, 12, l1, NULL);
    char *f32path = modex_path_join(f32dir, "");
    if (modex_train_logits(f32dir, ids, 12, l2, &err)) fail_msg("%s", err.msg);
    assert_memory_equal(l1, l2, 12 * d.V * sizeof *l1);
    /* modex's inference engine loads the saved folder and gives the trainer's logits */
    Model *mm = modex_model_open(f32dir, &err);
    if (!mm) fail_msg("%s", err.msg);
    int st2[2] = {0, 12};
    Batch bt = {1, ids, st2};
    ForwardOpts fo = {.logits = LOGITS_ALL};
    float *l3 = malloc(12 * d.V * sizeof *l3);
    assert_int_equal(modex_forward(mm, &bt, &fo, NULL, l3, &err), 0);
    double worst = 0;
    for (int i = 0; i < 12 * d.V; i++) {
        double df = fabs((double)l3[i] - l1[i]);
        if (df > worst) worst = df;
    }
    printf("  inference engine vs trainer logits: max|diff| %.3g\n", worst);
    assert_true(worst <= 1e-4);
    free(l3);
    modex_model_free(mm);
    free(q);
    if (modex_gpt2_load(bfdir, &e, &q, &err)) fail_msg("%s", err.msg);
    for (size_t k = 0; k < off[N_PARAM]; k++) assert_true(q[k] == modex_bf16_to_f32(modex_f32_to_bf16(p[k])));
    /* the names, shapes and dtypes of transformers' GPT-2 (probe-e2e was saved by it) */
    SafeTensors ours, theirs;
    char *op = modex_path_join(f32dir, "model.safetensors");
    if (modex_st_open(&ours, op, &err)) fail_msg("%s", err.msg);
    if (modex_st_open(&theirs, FIX "/probe-e2e/model/model.safetensors", &err)) fail_msg("%s", err.msg);
    assert_int_equal(ours.n, theirs.n); /* both have 3 layers */
    for (int i = 0; i < ours.n; i++) {
        assert_string_equal(ours.t[i].name, theirs.t[i].name);
        assert_int_equal(ours.t[i].ndim, theirs.t[i].ndim);
        assert_int_equal(ours.t[i].dtype, DT_F32);
    }
    assert_non_null(ours.metadata_json);
    assert_non_null(strstr(ours.metadata_json, "\"pt\""));
    modex_st_close(&ours);
    modex_st_close(&theirs);
    /* config.json has every key transformers' own GPT-2 config has, and the same values where
     * they describe the architecture */
    char *cp = modex_path_join(f32dir, "config.json");
    json_t *c = json_load_file(cp, 0, NULL), *r = json_load_file(FIX "/probe-e2e/model/config.json", 0, NULL);
    assert_non_null(c);
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v) {
        if (!strcmp(k, "transformers_version")) continue;
        if (!json_object_get(c, k)) fail_msg("config.json lacks \"%s\"", k);
    }
    const char *same[] = {"activation_function", "model_type", "layer_norm_epsilon", "tie_word_embeddings",
                          "scale_attn_weights", "architectures", "bos_token_id", "eos_token_id"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_true(json_equal(json_object_get(c, same[i]), json_object_get(r, same[i])));
    assert_int_equal(json_integer_value(json_object_get(c, "n_inner")), 64);
    json_decref(c); json_decref(r);
    free(cp); free(op); free(f32path);
    free(q); free(p); free(l1); free(l2);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(f32dir); free(bfdir);
}

// --- training -------------------------------------------------------------------------------------
/* Mean training loss over logged steps [from, to] of DIR/train_log.csv. */
static double mean_loss(const char *dir, int from, int to) {
    char *p = modex_path_join(dir, "train_log.csv");
    FILE *f = fopen(p, "r");
    free(p);
    assert_non_null(f);
    char line[256];
    double sum = 0;
    int n = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        int step;
        double l;
        if (sscanf(line, "%d,%lf", &step, &l) == 2 && step >= from && step <= to) { sum += l; n++; }
    }
    fclose(f);
    assert_int_equal(n, to - from + 1);
    return sum / n;
}

static int run_small(const char *corpus, const char *out) {
    TrainOptions o;
    modex_train_defaults(&o);
    o.corpus = corpus; o.out_dir = out;
    o.layers = 2; o.d_model = 32; o.n_head = 2; o.d_ff = 64; o.vocab = 320; o.ctx = 32;
    o.steps = 60; o.batch = 4; o.warmup = 6; o.ckpt_every = 30; o.threads = 1; o.lr = 3e-3;
    o.seed = 5; o.quiet = 1;
    Error err;
    int rc = modex_train_run(&o, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

static void test_training_lowers_loss_and_is_deterministic(void **state) {
    (void)state;
    Error err;
    char dir[] = "/tmp/modex-test-train-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *corpus = modex_path_join(dir, "corpus.txt"), *a = modex_path_join(dir, "a"), *b = modex_path_join(dir, "b");
    if (modex_corpus_write(corpus, NULL, 3, 2000, 10, 0, &err)) fail_msg("%s", err.msg);
    assert_int_equal(run_small(corpus, a), 0);
    double first = mean_loss(a, 1, 5), last = mean_loss(a, 51, 60);
    printf("  mean loss of steps 1-5 %.3f, of steps 51-60 %.3f\n", first, last);
    assert_true(first > 5.0); /* about ln(320) at the start */
    assert_true(last < first - 1.0);
    assert_int_equal(run_small(corpus, b), 0);
    const char *files[] = {"model.safetensors", "tokenizer.json", "config.json",
                           "checkpoints/step-000030/model.safetensors", "checkpoints/step-000060/model.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *pa = modex_path_join(a, files[i]), *pb = modex_path_join(b, files[i]);
        size_t na, nb;
        char *ta = modex_read_text(pa, &na, &err), *tb = modex_read_text(pb, &nb, &err);
        assert_non_null(ta);
        assert_non_null(tb);
        assert_int_equal(na, nb);
        assert_memory_equal(ta, tb, na);
        free(ta); free(tb); free(pa); free(pb);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(corpus); free(a); free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_match_finite_differences),
        cmocka_unit_test(test_float_gradients_match_double),
        cmocka_unit_test(test_batch_split_over_threads_matches_double),
        cmocka_unit_test(test_bpe_encoder_matches_tokenizers_library),
        cmocka_unit_test(test_bpe_training_saves_hf_layout),
        cmocka_unit_test(test_bpe_rejects_invalid_utf8),
        cmocka_unit_test(test_probe_judged_rows_are_balanced),
        cmocka_unit_test(test_forward_matches_transformers),
        cmocka_unit_test(test_saved_folder_round_trips),
        cmocka_unit_test(test_training_lowers_loss_and_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
