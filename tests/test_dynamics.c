/* test_dynamics.c — routing (method.md §8) and emergence (§7) on the probe-e2e fixtures:
 * - avg-k with k = E, ground truth with k = E and dynamic-k with tau = 1 give bitwise the
 *   dense forward's metrics (LM loss of every sub-function);
 * - for k < E and tau < 1 the metrics equal a naive re-implementation run text by text here
 *   (gates from the raw keys, expert sums, output norms from the stored W2);
 * - native MoE: router top-k with k = the model's top_k equals the plain forward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "modex/forward.h"
#include "modex/routing.h"
#include "modex/util.h"
#include "reference.h"

#define E2E FIX "probe-e2e/"
#define NE 16

typedef struct Fx { Model *m; Tokenizer *t; Probe p; } Fx;
static void fx_open(Fx *f) {
    Error err = {0};
    f->m = modex_model_open(E2E "model", &err);
    assert_non_null(f->m);
    f->t = modex_tok_load(E2E "model", &err);
    assert_non_null(f->t);
    assert_int_equal(modex_probe_load(&f->p, E2E "probe.csv", &err), 0);
}
static void fx_close(Fx *f) { modex_probe_free(&f->p); modex_tok_free(f->t); modex_model_free(f->m); }

// --- a naive reference router --------------------------------------------------------------------
typedef struct Ref {
    const Model *m; int layer, meth; double kt;
    float *xin; int D;
    const int *assign;
    double kept; long n;
} Ref;
static void ref_in(void *c, int l, const float *x, int T, int D, const Batch *b) {
    (void)b;
    Ref *r = c;
    if (l != r->layer) return;
    free(r->xin);
    r->xin = malloc(sizeof(float) * (size_t)T * D);
    memcpy(r->xin, x, sizeof(float) * (size_t)T * D);
    r->D = D;
}
static int ref_ffn(void *c, int l, float *act, int T, int W, const Batch *b) {
    (void)b;
    Ref *r = c;
    if (l != r->layer) return 0;
    const Linear *up = &r->m->layers[l].up, *dn = &r->m->layers[l].down;
    int D = r->m->cfg.d_model;
    for (int t = 0; t < T; t++) {
        double s[NE] = {0};
        for (int e = 0; e < NE; e++) {
            if (r->meth == ROUTE_AVGK) { /* x . mean of raw keys */
                double g = 0;
                for (int d = 0; d < D; d++) {
                    double k = 0; int n = 0;
                    for (int j = 0; j < W; j++)
                        if (r->assign[j] == e) { k += up->trans ? up->w[(size_t)d * up->ld + j] : up->w[(size_t)j * up->ld + d]; n++; }
                    g += r->xin[(size_t)t * D + d] * (k / n);
                }
                s[e] = g;
            } else if (r->meth == ROUTE_GT) {
                for (int j = 0; j < W; j++) if (r->assign[j] == e) s[e] += act[(size_t)t * W + j];
            } else {
                double q = 0;
                for (int d = 0; d < D; d++) {
                    double y = 0;
                    for (int j = 0; j < W; j++)
                        if (r->assign[j] == e) y += (double)act[(size_t)t * W + j] * (dn->trans ? dn->w[(size_t)j * dn->ld + d] : dn->w[(size_t)d * dn->ld + j]);
                    q += y * y;
                }
                s[e] = sqrt(q);
            }
        }
        int keep[NE] = {0}, kept = 0;
        if (r->meth == ROUTE_DYNK) {
            double mx = 0;
            for (int e = 0; e < NE; e++) if (s[e] > mx) mx = s[e];
            for (int e = 0; e < NE; e++) keep[e] = s[e] >= (1 - r->kt) * mx;
        } else
            for (int i = 0; i < (int)r->kt; i++) {
                int best = -1;
                for (int e = 0; e < NE; e++) if (!keep[e] && (best < 0 || s[e] > s[best])) best = e;
                keep[best] = 1;
            }
        for (int e = 0; e < NE; e++) kept += keep[e];
        for (int j = 0; j < W; j++) if (!keep[r->assign[j]]) act[(size_t)t * W + j] = 0;
        r->kept += kept; r->n++;
    }
    return 0;
}

/* Mean next-token loss over the positive texts of sub-function s, text by text. */
static double ref_loss(Fx *f, Ref *r, int s) {
    Error err = {0};
    int V = f->m->cfg.vocab;
    double sum = 0; long n = 0;
    const SubFunction *S = &f->p.subs[s];
    unsigned char *seen = calloc((size_t)f->p.n_texts, 1);
    for (int q = 0; q < S->n_rows; q++) {
        const ProbeRow *row = &f->p.rows[S->rows[q]];
        int ti = f->p.units[row->unit].text;
        if (row->label != 1 || seen[ti]) continue;
        seen[ti] = 1;
        TokEncoding e = {0};
        assert_int_equal(modex_tok_encode(f->t, f->p.texts[ti], f->p.text_len[ti], 1, &e, &err), 0);
        int start[2] = {0, e.n};
        Batch b = {1, e.ids, start};
        ForwardHooks hk = {.ctx = r, .ffn = ref_ffn};
        ForwardOpts o = {.logits = LOGITS_ALL, .ffn_in = ref_in};
        float *lg = malloc(sizeof(float) * (size_t)e.n * V);
        assert_int_equal(modex_forward(f->m, &b, &o, &hk, lg, &err), 0);
        for (int t = 0; t + 1 < e.n; t++) {
            const float *row2 = lg + (size_t)t * V;
            double mx = row2[0], z = 0;
            for (int v = 1; v < V; v++) if (row2[v] > mx) mx = row2[v];
            for (int v = 0; v < V; v++) z += exp(row2[v] - mx);
            sum += mx + log(z) - row2[e.ids[t + 1]];
            n++;
        }
        free(lg);
        modex_tok_encoding_free(&e);
    }
    free(seen);
    return sum / n;
}

typedef struct Cap2 { int E, K; double *count; } Cap2;
static void cap_router(void *ctx, int l, const float *lg, const int *ch, int T, int E, int k) {
    (void)lg;
    Cap2 *c = ctx;
    for (int i = 0; i < T * k; i++) c->count[l * E + ch[i]] += 1;
}

static void test_routing(void **state) {
    (void)state;
    Fx f;
    fx_open(&f);
    Error err = {0};
    int L = f.m->cfg.n_layer, F = f.m->cfg.d_ff, D = f.m->cfg.d_model;
    int *assign = malloc(sizeof(int) * (size_t)F);
    for (int j = 0; j < F; j++) assign[j] = (j * 5 + j / 7) % NE;
    const int *al[3] = {NULL, assign, NULL};
    Router *r = modex_router_new(f.m, al, NE, &err);
    assert_non_null(r);
    Perturber *pt = modex_perturber_new(f.m, f.t, &f.p, &err);
    assert_non_null(pt);
    int N = modex_perturber_n_tokens(pt);
    float *dense = malloc(sizeof(float) * (size_t)N * D);
    assert_int_equal(modex_perturber_hidden(pt, NULL, PERTURB_ZERO, 0, dense, &err), 0);
    PerturbResult clean = {0};
    assert_int_equal(modex_perturber_clean(pt, &clean, NULL, NULL, &err), 0);
    /* full width = dense, bitwise */
    for (int meth = 0; meth < 3; meth++) {
        double me = 0;
        PerturbResult x = {0};
        assert_int_equal(modex_route_eval(pt, r, (RouteMethod)meth, meth == ROUTE_DYNK ? 1.0 : NE, &me, &x, NULL, NULL, &err), 0);
        assert_true(me == NE);
        assert_memory_equal(x.loss, clean.loss, sizeof(double) * (size_t)clean.n_subs);
        modex_perturb_result_free(&x);
    }
    (void)L;
    /* fewer experts: the naive reference, text by text */
    struct { int meth; double kt; } pts[] = {{ROUTE_AVGK, 4}, {ROUTE_GT, 3}, {ROUTE_DYNK, 0.5}, {ROUTE_DYNK, 0.0}};
    for (int i = 0; i < 4; i++) {
        double me = 0;
        PerturbResult x = {0};
        assert_int_equal(modex_route_eval(pt, r, (RouteMethod)pts[i].meth, pts[i].kt, &me, &x, NULL, NULL, &err), 0);
        for (int s = 0; s < f.p.n_subs; s++) {
            Ref ref = {.m = f.m, .layer = 1, .meth = pts[i].meth, .kt = pts[i].kt, .assign = assign};
            double want = ref_loss(&f, &ref, s);
            printf("  %s %g sub %d: loss %.6f (reference %.6f), clean %.6f\n", modex_route_method_name((RouteMethod)pts[i].meth), pts[i].kt, s,
                   x.loss[s], want, clean.loss[s]);
            assert_true(fabs(x.loss[s] - want) <= 1e-4 * fabs(want));
            assert_true(x.loss[s] != clean.loss[s]);
            free(ref.xin);
        }
        if (pts[i].meth != ROUTE_DYNK) assert_true(me == pts[i].kt);
        else if (pts[i].kt == 0.0) assert_true(me >= 1.0 && me < 1.01); /* ties only */
        else assert_true(me > 1.0 && me < NE);
        modex_perturb_result_free(&x);
    }
    modex_perturb_result_free(&clean);
    free(dense);
    modex_perturber_free(pt);
    modex_router_free(r);
    free(assign);
    fx_close(&f);
}

/* Mixtral fixture (4 experts, top-2) with the byte-level BPE of the fixtures: texts of single
 * letters keep the ids below its 320-token vocabulary. */
static const char MOE_PROBE[] =
    "text,subfunction,label\n"
    "q z x j k,a,1\nk v w y,a,1\nz z q,a,0\nj x v,b,1\nw q y k,b,0\nv v v j,b,1\n";

static void test_native(void **state) {
    (void)state;
    Error err = {0};
    Model *m = modex_model_open(FIX "hf-models/mixtral", &err);
    if (!m && strstr(err.msg, "not supported")) { /* the Mixtral binding lives on another branch until merged */
        printf("  skipped: %s\n", err.msg);
        skip();
    }
    assert_non_null(m);
    Tokenizer *t = modex_tok_load(FIX "tokenizers/bytebpe/tokenizer.json", &err);
    assert_non_null(t);
    Probe p;
    assert_int_equal(modex_probe_parse(&p, "moe.csv", MOE_PROBE, sizeof MOE_PROBE - 1, &err), 0);
    Perturber *pt = modex_perturber_new(m, t, &p, &err);
    assert_non_null(pt);
    PerturbResult c = {0}, x = {0};
    assert_int_equal(modex_perturber_clean(pt, &c, NULL, NULL, &err), 0);
    assert_int_equal(modex_route_native(pt, m, m->cfg.top_k, &x, NULL, NULL, &err), 0);
    assert_memory_equal(c.loss, x.loss, sizeof(double) * (size_t)p.n_subs);
    modex_perturb_result_free(&x);
    assert_int_equal(modex_route_native(pt, m, 1, &x, NULL, NULL, &err), 0);
    for (int s = 0; s < p.n_subs; s++) assert_true(c.loss[s] != x.loss[s]);
    modex_perturb_result_free(&x);
    assert_int_equal(modex_route_native(pt, m, m->cfg.n_experts, &x, NULL, NULL, &err), 0);
    modex_perturb_result_free(&x);
    assert_int_equal(modex_route_native(pt, m, m->cfg.n_experts + 1, &x, NULL, NULL, &err), -1);
    /* frequencies: shares that sum to 1; sub-function b's chosen experts counted here */
    int L = m->cfg.n_layer, E = m->cfg.n_experts, K = m->cfg.top_k;
    double *fq = malloc(sizeof(double) * (size_t)L * p.n_subs * E);
    assert_int_equal(modex_route_frequency(m, t, &p, fq, &err), 0);
    for (int l = 0; l < L; l++)
        for (int s = 0; s < p.n_subs; s++) {
            double tot = 0;
            for (int e = 0; e < E; e++) tot += fq[((size_t)l * p.n_subs + s) * E + e];
            assert_true(fabs(tot - 1) < 1e-12);
        }
    Cap2 cap = {.E = E, .K = K, .count = calloc((size_t)L * E, sizeof(double))};
    const char *btexts[] = {"j x v", "v v v j"};
    for (int i = 0; i < 2; i++) {
        TokEncoding e = {0};
        assert_int_equal(modex_tok_encode(t, btexts[i], strlen(btexts[i]), 1, &e, &err), 0);
        int start[2] = {0, e.n};
        Batch b = {1, e.ids, start};
        ForwardHooks hk = {.ctx = &cap, .router = cap_router};
        assert_int_equal(modex_forward(m, &b, NULL, &hk, NULL, &err), 0);
        modex_tok_encoding_free(&e);
    }
    int sb = modex_probe_find_sub(&p, "b");
    for (int l = 0; l < L; l++) {
        double tot = 0;
        for (int e = 0; e < E; e++) tot += cap.count[l * E + e];
        for (int e = 0; e < E; e++) assert_true(fabs(fq[((size_t)l * p.n_subs + sb) * E + e] - cap.count[l * E + e] / tot) < 1e-12);
    }
    free(cap.count);
    free(fq);
    modex_perturb_result_free(&c);
    modex_perturber_free(pt);
    modex_probe_free(&p);
    modex_tok_free(t);
    modex_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_native),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
