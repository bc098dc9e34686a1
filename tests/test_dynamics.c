/* test_dynamics.c — routing (method.md §8) and emergence (§7) on the probe-e2e fixtures:
 * - emergence: Spearman of a checkpoint with itself is 1 (neurons, experts, random experts);
 *   model/ against ckpt-b/ reproduces spearman_neurons.csv (SciPy on scikit-learn AP) within
 *   1e-3 where that is meaningful — see test_emergence_fixture for the float32 near-ties;
 *   the checkpoint list sorts a run folder by step; means and the stabilisation step;
 * - task neurons: importance ratios, top sets, Jaccard overlaps recomputed naively here;
 * - avg-k with k = E, ground truth with k = E and dynamic-k with tau = 1 give bitwise the
 *   dense forward's metrics (LM loss of every sub-function);
 * - for k < E and tau < 1 the metrics equal a naive re-implementation run text by text here
 *   (gates from the raw keys, expert sums, output norms from the stored W2);
 * - native MoE: router top-k with k = the model's top_k equals the plain forward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "modex/emergence.h"
#include "modex/forward.h"
#include "modex/stats.h"
#include "modex/taskneurons.h"
#include <sys/stat.h>
#include <unistd.h>
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

// --- emergence -----------------------------------------------------------------------------------

static void test_emergence_self(void **state) {
    (void)state;
    Error err = {0};
    Probe p;
    assert_int_equal(modex_probe_load(&p, E2E "probe.csv", &err), 0);
    EmergenceOpts o;
    modex_emergence_defaults(&o);
    o.ao.expert_size = 16;
    char *paths[2] = {E2E "model", E2E "model"};
    long steps[2] = {5, 9};
    EmergenceResult r;
    assert_int_equal(modex_emergence_run(paths, steps, 2, NULL, &p, &o, NULL, &r, &err), 0);
    assert_int_equal(r.n_ckpt, 2);
    assert_int_equal(r.n_layer, 3);
    for (int i = 0; i < 3 * p.n_subs; i++) {
        assert_true(r.rho_n[i] == 1.0);
        assert_true(r.rho_e[i] == 1.0);
        assert_true(fabs(r.rho_r[i] - 1.0) < 1e-12);
    }
    assert_true(modex_emergence_stable(&r, &p, -1, 0, 0.9) == 5);
    modex_emergence_free(&r);
    /* rho of a vector with a reversed copy: -1; expert means by hand */
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {8, 7, 6, 5, 4, 3, 2, 1}, c[8] = {1, 2, 3, 4, 9, 9, 0, 0};
    int as[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    double rn, re, rr;
    modex_emergence_rho(a, b, 8, as, 4, 10, 1, &rn, &re, &rr);
    assert_true(rn == -1.0 && re == -1.0 && fabs(rr + 1.0) < 1e-12); /* any partition of a reversed line reverses */
    modex_emergence_rho(a, c, 8, as, 4, 0, 1, &rn, &re, &rr);
    /* expert means of c: 1.5, 3.5, 9, 0 -> ranks 2,3,4,1 against 1,2,3,4: rho = 1 - 6*12/60 = -0.2 */
    assert_true(fabs(re + 0.2) < 1e-12);
    assert_true(isnan(rr));
    modex_probe_free(&p);
}

/* Stabilisation: the first checkpoint from which every later pair's mean stays >= threshold. */
static void test_emergence_stable(void **state) {
    (void)state;
    Probe p;
    Error err = {0};
    static const char csv[] = "text,function,subfunction,label\na,f,s1,1\nb,f,s1,0\nc,g,s2,1\nd,g,s2,0\n";
    assert_int_equal(modex_probe_parse(&p, "p.csv", csv, sizeof csv - 1, &err), 0);
    EmergenceResult r = {0};
    r.n_ckpt = 5; r.n_layer = 1; r.n_subs = 2;
    long steps[5] = {0, 100, 200, 300, 400};
    unsigned char on[1] = {1};
    double n[8] = {0.2, 0.4, 0.95, 0.97, 0.85, 0.99, 0.92, NAN}; /* pair-major: (s1, s2) */
    r.step = steps; r.layer_on = on; r.rho_n = n; r.rho_e = n; r.rho_r = n;
    assert_true(fabs(modex_emergence_mean(&r, &p, -1, 0, 0) - 0.3) < 1e-12);
    assert_true(fabs(modex_emergence_mean(&r, &p, -1, 0, 3) - 0.92) < 1e-12); /* s2's NaN left out */
    assert_true(isnan(modex_emergence_mean(&r, &p, 1, 0, 3)));                /* function g: only NaN */
    /* means: 0.3, 0.96, 0.92, 0.92 -> stable from pair 1 (checkpoint step 100) */
    assert_true(modex_emergence_stable(&r, &p, -1, 0, 0.9) == 100);
    assert_true(modex_emergence_stable(&r, &p, -1, 0, 0.95) == -1);
    /* function f (s1 only): 0.2, 0.95, 0.85, 0.92 -> from pair 3 (step 300) */
    assert_true(modex_emergence_stable(&r, &p, 0, 0, 0.9) == 300);
    modex_probe_free(&p);
}

static void test_emergence_list(void **state) {
    (void)state;
    char dir[] = "/tmp/modex-emergence-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *subs[] = {"step-100", "step-2", "step-10", "notes.txt"};
    char path[256];
    for (int i = 0; i < 3; i++) { snprintf(path, sizeof path, "%s/%s", dir, subs[i]); assert_int_equal(mkdir(path, 0755), 0); }
    snprintf(path, sizeof path, "%s/%s", dir, subs[3]);
    FILE *f = fopen(path, "w"); fputs("x", f); fclose(f);
    const char *args[1] = {dir};
    char **paths; long *steps;
    Error err = {0};
    assert_int_equal(modex_emergence_list(args, 1, &paths, &steps, &err), 3);
    assert_true(steps[0] == 2 && steps[1] == 10 && steps[2] == 100);
    assert_non_null(strstr(paths[0], "step-2"));
    assert_non_null(strstr(paths[2], "step-100"));
    modex_emergence_list_free(paths, 3);
    free(steps);
    /* explicit paths without numbers keep their order, steps = index */
    const char *two[2] = {E2E "model", E2E "ckpt-b"};
    assert_int_equal(modex_emergence_list(two, 2, &paths, &steps, &err), 2);
    assert_true(steps[0] == 0 && steps[1] == 1);
    assert_string_equal(paths[1], E2E "ckpt-b");
    modex_emergence_list_free(paths, 2);
    free(steps);
    assert_int_equal(modex_emergence_list(two, 1, &paths, &steps, &err), -1); /* one model */
    for (int i = 0; i < 4; i++) { snprintf(path, sizeof path, "%s/%s", dir, subs[i]); remove(path); }
    rmdir(dir);
}

/* model/ against ckpt-b/ and spearman_neurons.csv.
 *
 * Convention difference (the same as in test_analysis.c): many probe texts share a prefix, so
 * many example activations are mathematically exact ties, which the reference (PyTorch) broke
 * with float32 rounding noise. A neuron's AP moves when its activations hold such near-ties
 * (0 < |a-b| <= 1e-5 |a|), and Spearman over the layer's 256 neurons moves with it. Counted in
 * model/'s reference activations (example_acts.f32), per layer: sentiment 145/166/162 and
 * animal_vs_tool 174/193/209 of the 256 neurons hold near-ties, capital_of 0/2/1. On those two
 * sub-functions our AP vector of model/ already differs from predictivity.csv on 100-146
 * neurons (rank correlation with it 0.987-0.995, all from tie breaking); ckpt-b/ has no
 * reference activations but the same texts, so the same tie structure. The fixture tolerance
 * 1e-3 is asserted on the (layer, sub-function) rows whose reference activations hold
 * near-ties in under 1% of the neurons (the fixture's own 99% rule); on the others the
 * difference is printed, and asserted to come with such near-ties. */
static void test_emergence_fixture(void **state) {
    (void)state;
    Error err = {0};
    Probe p;
    assert_int_equal(modex_probe_load(&p, E2E "probe.csv", &err), 0);
    EmergenceOpts o;
    modex_emergence_defaults(&o);
    o.ao.expert_size = 16;
    char *paths[2] = {E2E "model", E2E "ckpt-b"};
    long steps[2] = {0, 1};
    EmergenceResult r;
    assert_int_equal(modex_emergence_run(paths, steps, 2, NULL, &p, &o, NULL, &r, &err), 0);
    int L = 3, F = 256, N = p.n_rows, ns = p.n_subs;
    float *acts = ref_read_f32(E2E "example_acts.f32", (size_t)N * L * F);
    assert_non_null(acts);
    int near[3][8] = {{0}};
    float *v = malloc(sizeof(float) * (size_t)N);
    for (int l = 0; l < L; l++)
        for (int s = 0; s < ns; s++)
            for (int j = 0; j < F; j++) {
                int k = 0;
                for (int q = 0; q < p.subs[s].n_rows; q++) v[k++] = acts[((size_t)p.subs[s].rows[q] * L + l) * F + j];
                for (int x = 1; x < k; x++) {
                    float y = v[x]; int z = x - 1;
                    while (z >= 0 && v[z] > y) { v[z + 1] = v[z]; z--; }
                    v[z + 1] = y;
                }
                for (int x = 0; x + 1 < k; x++) {
                    float d = v[x + 1] - v[x];
                    if (d > 0 && d <= 1e-5f * fabsf(v[x + 1])) { near[l][s]++; break; }
                }
            }
    free(v); free(acts);
    FILE *f = fopen(E2E "spearman_neurons.csv", "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    int rows = 0, asserted = 0;
    while (fgets(line, sizeof line, f)) {
        int l; char fn[64], sub[64]; double rho;
        assert_int_equal(sscanf(line, "%d,%63[^,],%63[^,],%lf", &l, fn, sub, &rho), 4);
        int s = modex_probe_find_sub(&p, sub);
        assert_true(s >= 0);
        double got = r.rho_n[(size_t)l * ns + s], d = fabs(got - rho);
        int exact = near[l][s] * 100 < F;
        printf("  layer %d %-15s rho %.6f reference %.6f |diff| %.2g; near-ties in %3d of %d neurons%s\n", l, sub, got, rho, d,
               near[l][s], F, exact ? " (asserted within 1e-3)" : "");
        if (exact) { assert_true(d <= 1e-3); asserted++; }
        else assert_true(near[l][s] * 100 >= F);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, L * ns);
    assert_int_equal(asserted, 3); /* capital_of in every layer */
    modex_emergence_free(&r);
    modex_probe_free(&p);
}

// --- task neurons ---------------------------------------------------------------------------------

static void test_taskneurons(void **state) {
    (void)state;
    Fx f;
    fx_open(&f);
    Error err = {0};
    AnalysisOpts o;
    modex_analysis_defaults(&o);
    o.expert_size = 16; o.shuffles = 0; o.agg = AGG_MEAN;
    Analysis a;
    assert_int_equal(modex_analysis_run(&a, f.m, f.t, &f.p, &o, NULL, &err), 0);
    TaskNeurons tn;
    assert_int_equal(modex_taskneurons_compute(&a, 0.05, &tn, &err), 0);
    int L = 3, W = 256, ns = f.p.n_subs, k = 13, nu = f.p.n_units;
    assert_int_equal(tn.k, k); /* round(0.05 * 256) */
    for (int l = 0; l < L; l++)
        for (int s = 0; s < ns; s++) {
            unsigned char *pos = calloc((size_t)nu, 1);
            for (int q = 0; q < f.p.subs[s].n_rows; q++)
                if (f.p.rows[f.p.subs[s].rows[q]].label) pos[f.p.rows[f.p.subs[s].rows[q]].unit] = 1;
            const float *imp = tn.importance + ((size_t)l * ns + s) * W;
            for (int j = 0; j < W; j++) {
                double st = 0, sg = 0; int nt = 0, ng = 0;
                for (int u = 0; u < nu; u++) {
                    double v = fabs(a.layers[l].acts[(size_t)u * W + j]);
                    if (pos[u]) { st += v; nt++; } else { sg += v; ng++; }
                }
                double want = sg > 0 ? (st / nt) / (sg / ng) : NAN;
                if (isnan(want)) assert_true(isnan(imp[j]));
                else assert_true(fabs(imp[j] - want) <= 1e-6 * want);
            }
            /* the top set: no neuron outside it is more important than one inside */
            const int *top = tn.top + ((size_t)l * ns + s) * k;
            unsigned char in[256] = {0};
            float lo = INFINITY;
            for (int i = 0; i < k; i++) { in[top[i]] = 1; assert_false(isnan(imp[top[i]])); if (imp[top[i]] < lo) lo = imp[top[i]]; }
            for (int i = 1; i < k; i++) assert_true(imp[top[i - 1]] >= imp[top[i]]);
            for (int j = 0; j < W; j++) if (!in[j] && !isnan(imp[j])) assert_true(imp[j] <= lo);
            free(pos);
        }
    /* Jaccard: symmetric, 1 on the diagonal, |A n B| / (2k - |A n B|) */
    for (int l = 0; l < L; l++)
        for (int s = 0; s < ns; s++)
            for (int u = 0; u < ns; u++) {
                const int *A = tn.top + ((size_t)l * ns + s) * k, *B = tn.top + ((size_t)l * ns + u) * k;
                int inter = 0;
                for (int i = 0; i < k; i++) for (int q = 0; q < k; q++) inter += A[i] == B[q];
                double want = (double)inter / (2 * k - inter);
                assert_true(fabs(tn.jaccard[((size_t)l * ns + s) * ns + u] - want) < 1e-15);
                if (s == u) assert_true(want == 1.0);
            }
    modex_taskneurons_free(&tn);
    assert_int_equal(modex_taskneurons_compute(&a, 0.0, &tn, &err), -1);
    modex_taskneurons_free(&tn);
    modex_analysis_free(&a);
    fx_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_native),
        cmocka_unit_test(test_emergence_self),
        cmocka_unit_test(test_emergence_stable),
        cmocka_unit_test(test_emergence_list),
        cmocka_unit_test(test_emergence_fixture),
        cmocka_unit_test(test_taskneurons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
