/* test_stats.c — AP/AUC, binomial and hypergeometric tails, Spearman against scikit-learn and
 * SciPy (fixtures/stats), and predictivity against the probe-e2e reference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "modex/parallel.h"
#include "modex/rng.h"
#include "modex/stats.h"
#include "modex/util.h"

#define FIX "../shared/fixtures/"

// --- helpers ------------------------------------------------------------------------------------

typedef void (*LineFn)(json_t *obj, int line, void *ctx);

static int each_line(const char *path, LineFn fn, void *ctx) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0;
    int line = 0;
    while (getline(&buf, &cap, f) > 0) {
        line++;
        json_error_t je;
        json_t *o = json_loads(buf, 0, &je);
        if (!o) fail_msg("%s:%d: bad JSON: %s", path, line, je.text);
        fn(o, line, ctx);
        json_decref(o);
    }
    free(buf);
    fclose(f);
    return line;
}

static double num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (!v || !json_is_number(v)) fail_msg("missing number %s", k);
    return json_number_value(v);
}

static double *num_array(json_t *o, const char *k, int *n) {
    json_t *a = json_object_get(o, k);
    assert_true(a && json_is_array(a));
    *n = (int)json_array_size(a);
    double *x = malloc(sizeof *x * (size_t)(*n + 1));
    for (int i = 0; i < *n; i++) x[i] = json_number_value(json_array_get(a, (size_t)i));
    return x;
}

// --- average precision and ROC AUC -----------------------------------------------------------

typedef struct { double worst_ap, worst_auc; } ApCtx;

static void ap_line(json_t *o, int line, void *vctx) {
    ApCtx *c = vctx;
    int n, nl;
    double *s = num_array(o, "scores", &n), *l = num_array(o, "labels", &nl);
    assert_int_equal(n, nl);
    float *f = malloc(sizeof *f * (size_t)n);
    unsigned char *y = malloc((size_t)n);
    for (int i = 0; i < n; i++) { f[i] = (float)s[i]; y[i] = l[i] != 0; }
    double ap = modex_ap(f, y, n), auc = modex_roc_auc(f, y, n);
    double eap = num(o, "ap"), eauc = num(o, "roc_auc");
    double dap = fabs(ap - eap), dauc = fabs(auc - eauc);
    if (dap > c->worst_ap) c->worst_ap = dap;
    if (dauc > c->worst_auc) c->worst_auc = dauc;
    if (dap > 1e-12 || dauc > 1e-12)
        fail_msg("line %d: ap %.17g vs %.17g, auc %.17g vs %.17g", line, ap, eap, auc, eauc);
    free(s); free(l); free(f); free(y);
}

static void test_ap_fixture(void **state) {
    (void)state;
    ApCtx c = {0, 0};
    int n = each_line(FIX "stats/average_precision.jsonl", ap_line, &c);
    assert_true(n >= 40);
    printf("average_precision: %d lines, worst |diff| ap %.3g auc %.3g\n", n, c.worst_ap, c.worst_auc);
}

static void test_ap_small(void **state) {
    (void)state;
    /* Hand-worked: scores 0.8(1) 0.4(0) 0.4(1) 0.1(0): thresholds 0.8 → P=1,R=.5; 0.4 → P=2/3,R=1
     * AP = .5*1 + .5*2/3 = 5/6. AUC: pairs (pos,neg): (0.8,0.4)=1 (0.8,0.1)=1 (0.4,0.4)=.5 (0.4,0.1)=1 → 3.5/4 */
    float s[] = {0.8f, 0.4f, 0.4f, 0.1f};
    unsigned char y[] = {1, 0, 1, 0};
    assert_float_equal(modex_ap(s, y, 4), 5.0 / 6.0, 1e-15);
    assert_float_equal(modex_roc_auc(s, y, 4), 3.5 / 4.0, 1e-15);
    unsigned char none[] = {0, 0, 0, 0};
    assert_true(isnan(modex_ap(s, none, 4)));
    assert_true(isnan(modex_roc_auc(s, none, 4)));
    float z[] = {-0.0f, 0.0f}; /* -0 and +0 are one threshold */
    unsigned char y2[] = {1, 0};
    assert_float_equal(modex_ap(z, y2, 2), 0.5, 1e-15);
}

// --- tails ---------------------------------------------------------------------------------------

typedef struct { int binom; double worst; int tiny; } TailCtx;

/* Expected p >= 1e-300: |log ours - log p| = relative error of p. Below (SciPy underflows to 0
 * or a subnormal): ours must be below 1e-300 too, and near the subnormal when one is given. */
static void tail_check(TailCtx *c, int line, double got_log, double e) {
    if (e >= 1e-300) {
        double d = fabs(got_log - log(e));
        if (d > c->worst) c->worst = d;
        if (d > 1e-11) fail_msg("line %d: log p %.17g vs %.17g (p %.17g)", line, got_log, log(e), e);
    } else {
        c->tiny++;
        if (!(got_log < log(1e-300))) fail_msg("line %d: log p %.17g, expected below 1e-300", line, got_log);
        if (e > 0 && fabs(got_log - log(e)) > 0.05)
            fail_msg("line %d: log p %.17g vs subnormal %.17g", line, got_log, log(e));
    }
}

static void binom_line(json_t *o, int line, void *vctx) {
    long n = (long)num(o, "n"), k = (long)num(o, "k");
    tail_check(vctx, line, modex_log_binom_sf(k, n, num(o, "p")), num(o, "p_ge"));
}

static void hyper_line(json_t *o, int line, void *vctx) {
    long M = (long)num(o, "N"), K = (long)num(o, "K"), n = (long)num(o, "n"), k = (long)num(o, "k");
    tail_check(vctx, line, modex_log_hypergeom_sf(k, M, K, n), num(o, "p_ge"));
}

static void test_binom_fixture(void **state) {
    (void)state;
    TailCtx c = {1, 0, 0};
    int n = each_line(FIX "stats/binom_sf.jsonl", binom_line, &c);
    assert_true(n >= 60);
    printf("binom_sf: %d lines (%d below 1e-300), worst |dlog p| %.3g\n", n, c.tiny, c.worst);
}

static void test_hypergeom_fixture(void **state) {
    (void)state;
    TailCtx c = {0, 0, 0};
    int n = each_line(FIX "stats/hypergeom_sf.jsonl", hyper_line, &c);
    assert_true(n >= 60);
    printf("hypergeom_sf: %d lines (%d below 1e-300), worst |dlog p| %.3g\n", n, c.tiny, c.worst);
}

/* Direct long-double summation of pmfs for small cases, an independent route. */
static void test_tails_small(void **state) {
    (void)state;
    double worst = 0;
    for (long n = 1; n <= 40; n += 3)
        for (int pi = 1; pi < 10; pi += 2) {
            double p = pi / 10.0;
            for (long k = 0; k <= n + 1; k++) {
                long double s = 0;
                for (long x = k; x <= n; x++) {
                    long double c = expl(lgammal(n + 1.0L) - lgammal(x + 1.0L) - lgammal(n - x + 1.0L));
                    s += c * powl(p, x) * powl(1 - p, n - x);
                }
                double got = modex_log_binom_sf(k, n, p);
                if (s == 0) { assert_true(isinf(got) && got < 0); continue; }
                double d = fabs(got - (double)logl(s));
                if (d > worst) worst = d;
                assert_true(d < 1e-12);
            }
        }
    for (long M = 2; M <= 60; M += 7)
        for (long K = 0; K <= M; K += 3)
            for (long n = 0; n <= M; n += 5)
                for (long k = 0; k <= n + 1; k++) {
                    long double s = 0, lc = lgammal(M + 1.0L) - lgammal(n + 1.0L) - lgammal(M - n + 1.0L);
                    for (long x = k; x <= n && x <= K; x++) {
                        if (n - x > M - K) continue;
                        s += expl(lgammal(K + 1.0L) - lgammal(x + 1.0L) - lgammal(K - x + 1.0L)
                                  + lgammal(M - K + 1.0L) - lgammal(n - x + 1.0L) - lgammal(M - K - n + x + 1.0L) - lc);
                    }
                    double got = modex_log_hypergeom_sf(k, M, K, n);
                    if (s == 0) { assert_true(isinf(got) && got < 0); continue; }
                    double d = fabs(got - (double)logl(s));
                    if (d > worst) worst = d;
                    if (d > 1e-12) fail_msg("M%ld K%ld n%ld k%ld: %.17g vs %.17g", M, K, n, k, got, (double)logl(s));
                }
    printf("small tails vs long-double summation: worst |dlog p| %.3g\n", worst);
    assert_true(modex_log_binom_sf(0, 10, 0.5) == 0);
    assert_true(isinf(modex_log_binom_sf(11, 10, 0.5)));
    assert_true(isinf(modex_log_binom_sf(1, 10, 0.0)));
    assert_true(modex_log_binom_sf(10, 10, 1.0) == 0);
}

// --- ranks -----------------------------------------------------------------------------------------

typedef struct { double worst; } SpCtx;

static void sp_line(json_t *o, int line, void *vctx) {
    SpCtx *c = vctx;
    int n, ny;
    double *x = num_array(o, "x", &n), *y = num_array(o, "y", &ny);
    assert_int_equal(n, ny);
    double r = modex_spearman(x, y, n), e = num(o, "rho"), d = fabs(r - e);
    if (d > c->worst) c->worst = d;
    if (d > 1e-12) fail_msg("line %d: rho %.17g vs %.17g", line, r, e);
    free(x); free(y);
}

static void test_spearman_fixture(void **state) {
    (void)state;
    SpCtx c = {0};
    int n = each_line(FIX "stats/spearman.jsonl", sp_line, &c);
    assert_true(n >= 30);
    printf("spearman: %d lines, worst |diff| %.3g\n", n, c.worst);
}

static void test_ranks_small(void **state) {
    (void)state;
    double x[] = {3, 1, 3, 2, 3}, r[5];
    modex_rank_average(x, 5, r);
    double e[] = {4, 1, 4, 2, 4};
    for (int i = 0; i < 5; i++) assert_float_equal(r[i], e[i], 0);
    double c[] = {1, 1, 1};
    assert_true(isnan(modex_spearman(c, x, 3)));
    float v[] = {0.5f, 0.9f, 0.5f, 0.1f, 0.9f};
    int top[3];
    modex_top_k(v, 5, 3, top);
    assert_int_equal(top[0], 1); assert_int_equal(top[1], 4); assert_int_equal(top[2], 0);
    int a[] = {1, 2, 3, 3}, b[] = {3, 4};
    assert_float_equal(modex_jaccard(a, 4, b, 2), 0.25, 1e-15);
    assert_float_equal(modex_jaccard(NULL, 0, NULL, 0), 0.0, 0);
}

// --- predictivity ---------------------------------------------------------------------------------

#define NEX 120
#define NL 3
#define NF 256

typedef struct Probe {
    int n;
    char sub[NEX][64];
    unsigned char label[NEX];
} Probe;

/* probe.csv has no quoted commas in its texts: the last three fields are taken from the right. */
static void read_probe(Probe *p) {
    FILE *f = fopen(FIX "probe-e2e/probe.csv", "r");
    assert_non_null(f);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    line[strcspn(line, "\r\n")] = 0;
    assert_string_equal(line, "text,function,subfunction,label");
    p->n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *c3 = strrchr(line, ',');
        assert_non_null(c3);
        *c3 = 0;
        char *c2 = strrchr(line, ',');
        assert_non_null(c2);
        *c2 = 0;
        char *c1 = strrchr(line, ',');
        assert_non_null(c1);
        assert_true(p->n < NEX);
        snprintf(p->sub[p->n], sizeof p->sub[0], "%s/%s", c1 + 1, c2 + 1);
        p->label[p->n] = (unsigned char)(atoi(c3 + 1) != 0);
        p->n++;
    }
    fclose(f);
    assert_int_equal(p->n, NEX);
}

static float *read_acts(void) {
    Error err;
    MappedFile m;
    assert_int_equal(modex_map_file(&m, FIX "probe-e2e/example_acts.f32", &err), 0);
    assert_int_equal(m.size, (size_t)NEX * NL * NF * 4);
    float *a = malloc(m.size);
    memcpy(a, m.data, m.size);
    modex_unmap_file(&m);
    return a;
}

static void test_predictivity_fixture(void **state) {
    (void)state;
    Probe p;
    read_probe(&p);
    float *acts = read_acts();
    const char *subs[3] = {"knowledge/capital_of", "semantic/animal_vs_tool", "task/sentiment"};
    int idx[3][NEX], cnt[3] = {0, 0, 0};
    unsigned char y[3][NEX];
    for (int i = 0; i < NEX; i++)
        for (int s = 0; s < 3; s++)
            if (!strcmp(p.sub[i], subs[s])) { idx[s][cnt[s]] = i; y[s][cnt[s]++] = p.label[i]; }
    assert_int_equal(cnt[0] + cnt[1] + cnt[2], NEX);
    static float pred[NL][3][NF], multi[NL][3][NF];
    for (int l = 0; l < NL; l++) {
        for (int s = 0; s < 3; s++)
            modex_predictivity_ld(acts + l * NF, NL * NF, NEX, NF, idx[s], y[s], cnt[s], pred[l][s]);
        const int *ip[3] = {idx[0], idx[1], idx[2]};
        const unsigned char *yp[3] = {y[0], y[1], y[2]};
        float *op[3] = {multi[l][0], multi[l][1], multi[l][2]};
        modex_predictivity_multi(acts + l * NF, NL * NF, NEX, NF, 3, ip, yp, cnt, op);
    }
    assert_memory_equal(pred, multi, sizeof pred);
    /* plain [n_units x d_ff] layout of layer 1 gives the same */
    float *l1 = malloc(sizeof *l1 * NEX * NF), o1[NF];
    for (int i = 0; i < NEX; i++) memcpy(l1 + i * NF, acts + (i * NL + 1) * NF, NF * sizeof *l1);
    modex_predictivity(l1, NEX, NF, idx[2], y[2], cnt[2], o1);
    assert_memory_equal(o1, pred[1][2], sizeof o1);
    /* and agrees with modex_ap on the neuron's own column */
    float col[NEX];
    for (int i = 0; i < cnt[0]; i++) col[i] = l1[idx[0][i] * NF + 7];
    unsigned char inv[NEX];
    for (int i = 0; i < cnt[0]; i++) inv[i] = !y[0][i];
    double a = fmax(modex_ap(col, y[0], cnt[0]), modex_ap(col, inv, cnt[0]));
    modex_predictivity(l1, NEX, NF, idx[0], y[0], cnt[0], o1);
    assert_float_equal(o1[7], (float)a, 0);
    free(l1);

    FILE *f = fopen(FIX "probe-e2e/predictivity.csv", "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    int rows = 0, within = 0;
    double worst = 0;
    static unsigned char seen[NL][3][NF];
    while (fgets(line, sizeof line, f)) {
        int layer, neuron;
        char fn[64], sf[64];
        double ap;
        assert_int_equal(sscanf(line, "%d,%d,%63[^,],%63[^,],%lf", &layer, &neuron, fn, sf, &ap), 5);
        char key[130];
        snprintf(key, sizeof key, "%s/%s", fn, sf);
        int s = -1;
        for (int t = 0; t < 3; t++) if (!strcmp(key, subs[t])) s = t;
        assert_true(s >= 0 && layer >= 0 && layer < NL && neuron >= 0 && neuron < NF);
        seen[layer][s][neuron] = 1;
        double d = fabs(pred[layer][s][neuron] - ap);
        if (d > worst) worst = d;
        if (d <= 1e-3) within++;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, NL * 3 * NF);
    for (int l = 0; l < NL; l++) for (int s = 0; s < 3; s++) for (int j = 0; j < NF; j++) assert_true(seen[l][s][j]);
    printf("predictivity: %d rows, %d within 1e-3, worst |diff| %.3g\n", rows, within, worst);
    assert_true(within >= rows * 99 / 100);
    assert_true(worst <= 0.05);
    assert_true(worst <= 1e-6); /* the activations are the reference's own: should be exact */
    free(acts);
}

/* Synthetic ReLU data: shared units across sub-functions, many ties at 0, duplicates in a
 * sub-function; multi == single; 1 thread == 2 threads; == modex_ap per column. */
static void test_predictivity_synthetic(void **state) {
    (void)state;
    enum { U = 300, D = 70, S = 4 };
    Rng r;
    modex_rng_seed(&r, 7);
    float *acts = malloc(sizeof *acts * U * D);
    for (int i = 0; i < U * D; i++) {
        double v = modex_rng_normal(&r);
        acts[i] = v > 0 ? (float)(round(v * 4) / 4) : (modex_rng_uniform(&r) < 0.5 ? -0.0f : 0.0f);
    }
    int *idx[S], n[S];
    unsigned char *y[S];
    float *single[S], *multi[S], *two[S];
    for (int s = 0; s < S; s++) {
        n[s] = 40 + 60 * s; /* up to 220 units, drawn with repeats: the sparse walk */
        idx[s] = malloc(sizeof(int) * 300);
        y[s] = malloc(300);
        for (int i = 0; i < n[s]; i++) {
            idx[s][i] = (int)modex_rng_below(&r, U);
            y[s][i] = modex_rng_uniform(&r) < 0.3 + 0.1 * s;
        }
        single[s] = malloc(sizeof(float) * D); multi[s] = malloc(sizeof(float) * D); two[s] = malloc(sizeof(float) * D);
    }
    modex_set_threads(1);
    for (int s = 0; s < S; s++) modex_predictivity(acts, U, D, idx[s], y[s], n[s], single[s]);
    modex_predictivity_multi(acts, D, U, D, S, (const int *const *)idx, (const unsigned char *const *)y, n, multi);
    modex_set_threads(2);
    modex_predictivity_multi(acts, D, U, D, S, (const int *const *)idx, (const unsigned char *const *)y, n, two);
    float col[400];
    unsigned char inv[400];
    for (int s = 0; s < S; s++) {
        assert_memory_equal(single[s], multi[s], sizeof(float) * D);
        assert_memory_equal(single[s], two[s], sizeof(float) * D);
        for (int j = 0; j < D; j++) {
            for (int i = 0; i < n[s]; i++) { col[i] = acts[idx[s][i] * D + j]; inv[i] = !y[s][i]; }
            double a = fmax(modex_ap(col, y[s], n[s]), modex_ap(col, inv, n[s]));
            assert_float_equal(single[s][j], (float)a, 0);
        }
    }
    /* sub-functions without repeated units that cover most units: the dense walk */
    int perm[U];
    for (int s = 0; s < S; s++) {
        for (int i = 0; i < U; i++) perm[i] = i;
        modex_rng_shuffle_int(&r, perm, U);
        n[s] = 200 + 25 * s;
        for (int i = 0; i < n[s]; i++) { idx[s][i] = perm[i]; y[s][i] = modex_rng_uniform(&r) < 0.4; }
    }
    modex_predictivity_multi(acts, D, U, D, S, (const int *const *)idx, (const unsigned char *const *)y, n, multi);
    for (int s = 0; s < S; s++) {
        for (int j = 0; j < D; j++) {
            for (int i = 0; i < n[s]; i++) { col[i] = acts[idx[s][i] * D + j]; inv[i] = !y[s][i]; }
            double a = fmax(modex_ap(col, y[s], n[s]), modex_ap(col, inv, n[s]));
            assert_float_equal(multi[s][j], (float)a, 0);
        }
        free(idx[s]); free(y[s]); free(single[s]); free(multi[s]); free(two[s]);
    }
    free(acts);
}

static void test_task_importance(void **state) {
    (void)state;
    float acts[3 * 2] = {1, -2, 3, 0, -1, 4}; /* units x 2 neurons */
    int t[] = {0}, g[] = {1, 2};
    float out[2];
    modex_task_importance(acts, 2, 2, t, 1, g, 2, out);
    assert_float_equal(out[0], 1.0 / 2.0, 1e-7); /* 1 / mean(3, 1) */
    assert_float_equal(out[1], 2.0 / 2.0, 1e-7); /* 2 / mean(0, 4) */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ap_small),
        cmocka_unit_test(test_ap_fixture),
        cmocka_unit_test(test_binom_fixture),
        cmocka_unit_test(test_hypergeom_fixture),
        cmocka_unit_test(test_tails_small),
        cmocka_unit_test(test_spearman_fixture),
        cmocka_unit_test(test_ranks_small),
        cmocka_unit_test(test_predictivity_fixture),
        cmocka_unit_test(test_predictivity_synthetic),
        cmocka_unit_test(test_task_importance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
