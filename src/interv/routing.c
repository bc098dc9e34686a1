/* routing.c — EMoE avg-k, MoEfication ground-truth and D2DMoE dynamic-k routing over a split
 * of a dense FFN, and the native router's top-k (routing.h). Each routing is a custom FFN
 * intervention of the perturber, so it reuses the clean run below the first routed layer. */
#include "modex/routing.h"
#include "modex/analysis.h"
#include "modex/forward.h"
#include "modex/util.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *method_names[] = {"avg_k", "ground_truth", "dynamic_k", "router"};
const char *modex_route_method_name(RouteMethod m) { return method_names[m]; }
int modex_route_method_parse(const char *s, RouteMethod *m) {
    for (int i = 0; i < 4; i++) if (!strcmp(s, method_names[i])) { *m = (RouteMethod)i; return 0; }
    return -1;
}

typedef struct RLayer {
    int *members;     /* [F] neurons ordered by expert */
    int *off;         /* [E + 1] expert e = members[off[e] .. off[e+1]) */
    float *gate;      /* [E x D] mean raw key */
    float *down;      /* [F x D] output row of members[i] */
} RLayer;

struct Router {
    const Model *m;
    int L, E, F, D, first;
    RLayer *layer;    /* [L]; members NULL when not routed */
};

Router *modex_router_new(const Model *m, const int *const *assign, int E, Error *err) {
    if (m->cfg.n_experts > 0) { modex_error(err, m->path, "native MoE model: use its router (method router)"); return NULL; }
    Router *r = modex_xcalloc(1, sizeof *r);
    r->m = m; r->L = m->cfg.n_layer; r->E = E; r->F = m->cfg.d_ff; r->D = m->cfg.d_model; r->first = -1;
    r->layer = modex_xcalloc((size_t)r->L, sizeof(RLayer));
    int F = r->F, D = r->D;
    for (int l = 0; l < r->L; l++) {
        if (!assign || !assign[l]) continue;
        RLayer *R = &r->layer[l];
        R->off = modex_xcalloc((size_t)E + 2, sizeof(int));
        for (int j = 0; j < F; j++) {
            if (assign[l][j] < 0 || assign[l][j] >= E) {
                modex_error(err, "assign", "layer %d neuron %d: expert %d (0..%d)", l, j, assign[l][j], E - 1);
                modex_router_free(r);
                return NULL;
            }
            R->off[assign[l][j] + 1]++;
        }
        for (int e = 0; e < E; e++) R->off[e + 1] += R->off[e];
        R->members = modex_xmalloc(sizeof(int) * (size_t)F);
        int *fill = modex_xmalloc(sizeof(int) * (size_t)(E + 1));
        memcpy(fill, R->off, sizeof(int) * (size_t)E);
        for (int j = 0; j < F; j++) R->members[fill[assign[l][j]]++] = j;
        free(fill);
        float *keys = modex_model_keys(m, l);
        R->gate = modex_xcalloc((size_t)E * D, sizeof(float));
        for (int e = 0; e < E; e++) {
            int n = R->off[e + 1] - R->off[e];
            double *acc = modex_xcalloc((size_t)D, sizeof(double));
            for (int i = R->off[e]; i < R->off[e + 1]; i++)
                for (int d = 0; d < D; d++) acc[d] += keys[(size_t)R->members[i] * D + d];
            for (int d = 0; d < D; d++) R->gate[(size_t)e * D + d] = n ? (float)(acc[d] / n) : 0.0f;
            free(acc);
        }
        free(keys);
        const Linear *W2 = &m->layers[l].down;
        R->down = modex_xmalloc(sizeof(float) * (size_t)F * D);
        for (int i = 0; i < F; i++) {
            int j = R->members[i];
            for (int d = 0; d < D; d++)
                R->down[(size_t)i * D + d] = W2->trans ? W2->w[(size_t)j * W2->ld + d] : W2->w[(size_t)d * W2->ld + j];
        }
        if (r->first < 0) r->first = l;
    }
    return r;
}

void modex_router_free(Router *r) {
    if (!r) return;
    for (int l = 0; l < r->L; l++) { free(r->layer[l].members); free(r->layer[l].off); free(r->layer[l].gate); free(r->layer[l].down); }
    free(r->layer);
    free(r);
}

// --- the intervention -------------------------------------------------------------------------

typedef struct RouteCtx {
    Router *r;
    RouteMethod meth;
    double k_or_tau;
    float *xin; size_t xcap; /* FFN input of the current layer */
    double kept; long n;     /* experts run, (token, layer) pairs */
} RouteCtx;

static void route_in(void *c, int layer, const float *x, int T, int D) {
    RouteCtx *k = c;
    if (!k->r->layer[layer].members) return;
    size_t n = (size_t)T * D;
    if (n > k->xcap) { free(k->xin); k->xin = modex_xmalloc(sizeof(float) * n); k->xcap = n; }
    memcpy(k->xin, x, sizeof(float) * n);
}

/* keep[e] for the top k of score (ties: lower index first). */
static void top_k_keep(const float *score, int E, int k, unsigned char *keep) {
    memset(keep, 0, (size_t)E);
    for (int i = 0; i < k; i++) {
        int best = -1;
        for (int e = 0; e < E; e++)
            if (!keep[e] && (best < 0 || score[e] > score[best] || (isnan(score[best]) && !isnan(score[e])))) best = e;
        keep[best] = 1;
    }
}

static int route_ffn(void *c, int layer, float *act, int T, int W) {
    RouteCtx *k = c;
    Router *r = k->r;
    const RLayer *R = &r->layer[layer];
    if (!R->members) return 0;
    int E = r->E, D = r->D;
    float *score = modex_xmalloc(sizeof(float) * (size_t)T * E);
    unsigned char *keep = modex_xmalloc((size_t)E);
    if (k->meth == ROUTE_AVGK) { /* scores = X G^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, E, D, 1.0f, k->xin, D, R->gate, D, 0.0f, score, E);
    } else if (k->meth == ROUTE_GT) {
        for (int t = 0; t < T; t++)
            for (int e = 0; e < E; e++) {
                float s = 0;
                for (int i = R->off[e]; i < R->off[e + 1]; i++) s += act[(size_t)t * W + R->members[i]];
                score[(size_t)t * E + e] = s;
            }
    } else { /* output norms: per expert, A_e [T x n_e] times its rows of W2 */
        int maxn = 0;
        for (int e = 0; e < E; e++) maxn = MODEX_MAX(maxn, R->off[e + 1] - R->off[e]);
        float *a = modex_xmalloc(sizeof(float) * (size_t)T * (maxn + 1)), *y = modex_xmalloc(sizeof(float) * (size_t)T * D);
        for (int e = 0; e < E; e++) {
            int n = R->off[e + 1] - R->off[e];
            for (int t = 0; t < T; t++)
                for (int i = 0; i < n; i++) a[(size_t)t * n + i] = act[(size_t)t * W + R->members[R->off[e] + i]];
            if (n) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, n, 1.0f, a, n, R->down + (size_t)R->off[e] * D, D, 0.0f, y, D);
            for (int t = 0; t < T; t++) {
                double s = 0;
                for (int d = 0; d < D && n; d++) s += (double)y[(size_t)t * D + d] * y[(size_t)t * D + d];
                score[(size_t)t * E + e] = (float)sqrt(s);
            }
        }
        free(a); free(y);
    }
    int kk = (int)floor(k->k_or_tau + 0.5);
    for (int t = 0; t < T; t++) {
        const float *s = score + (size_t)t * E;
        int kept = 0;
        if (k->meth == ROUTE_DYNK) {
            float mx = 0;
            for (int e = 0; e < E; e++) if (s[e] > mx) mx = s[e];
            float thr = (float)((1.0 - k->k_or_tau) * mx);
            for (int e = 0; e < E; e++) keep[e] = k->k_or_tau >= 1.0 || s[e] >= thr;
        } else if (kk >= E) memset(keep, 1, (size_t)E);
        else top_k_keep(s, E, kk < 0 ? 0 : kk, keep);
        for (int e = 0; e < E; e++) {
            kept += keep[e];
            if (keep[e]) continue;
            for (int i = R->off[e]; i < R->off[e + 1]; i++) act[(size_t)t * W + R->members[i]] = 0.0f;
        }
        k->kept += kept;
        k->n++;
    }
    free(score); free(keep);
    return 0;
}

int modex_route_eval(Perturber *pt, Router *r, RouteMethod meth, double k_or_tau, double *mean_experts, PerturbResult *out,
                     int (*cancelled)(void *), void *ctx, Error *err) {
    if (meth == ROUTE_NATIVE) return modex_route_native(pt, r ? r->m : NULL, (int)k_or_tau, out, cancelled, ctx, err);
    if (r->first < 0) return modex_error(err, "routing", "no layer to route (a layer set with experts)");
    RouteCtx k = {.r = r, .meth = meth, .k_or_tau = k_or_tau};
    PerturbHook h = {.ctx = &k, .first_layer = r->first, .ffn = route_ffn, .ffn_in = meth == ROUTE_AVGK ? route_in : NULL};
    int rc = modex_perturber_eval_hook(pt, &h, out, cancelled, ctx, err);
    free(k.xin);
    if (mean_experts) *mean_experts = k.n ? k.kept / (double)k.n : NAN;
    return rc;
}

int modex_route_native(Perturber *pt, const Model *m, int k, PerturbResult *out, int (*cancelled)(void *), void *ctx,
                       Error *err) {
    if (!m || m->cfg.n_experts <= 0) return modex_error(err, m ? m->path : "model", "not a native MoE model (router routing needs one)");
    if (k < 1 || k > m->cfg.n_experts) return modex_error(err, "--k", "%d experts (1..%d)", k, m->cfg.n_experts);
    Model copy = *m; /* shares the weights; only top_k differs */
    copy.cfg.top_k = k;
    PerturbHook h = {.first_layer = 0, .model = &copy};
    return modex_perturber_eval_hook(pt, &h, out, cancelled, ctx, err);
}

// --- native router frequencies ------------------------------------------------------------------

typedef struct FreqCtx { double *count; int E; int n_seq; const int *start; int *text_of; double *per_text; int L; } FreqCtx;

static void freq_router(void *c, int layer, const float *logits, const int *chosen, int T, int E, int k) {
    (void)logits; (void)T;
    FreqCtx *f = c;
    for (int s = 0; s < f->n_seq; s++)
        for (int t = f->start[s]; t < f->start[s + 1]; t++)
            for (int q = 0; q < k; q++)
                if (chosen[(size_t)t * k + q] >= 0) f->per_text[((size_t)f->text_of[s] * f->L + layer) * E + chosen[(size_t)t * k + q]] += 1;
}

int modex_route_frequency(const Model *m, const Tokenizer *t, const Probe *p, double *out, Error *err) {
    int L = m->cfg.n_layer, E = m->cfg.n_experts;
    if (E <= 0) return modex_error(err, m->path, "not a native MoE model (expert frequencies need a router)");
    int32_t **ids; int *n_ids, *ub, *ue;
    if (modex_probe_tokenize(t, p, &ids, &n_ids, &ub, &ue, err)) return -1;
    double *per_text = modex_xcalloc((size_t)p->n_texts * L * E + 1, sizeof(double));
    int rc = 0;
    /* batches of consecutive texts up to 2048 tokens */
    for (int i = 0; i < p->n_texts && !rc;) {
        int j = i, T = 0;
        while (j < p->n_texts && (j == i || T + n_ids[j] <= 2048)) T += n_ids[j++];
        int32_t *cat = modex_xmalloc(sizeof(int32_t) * (size_t)T);
        int *start = modex_xmalloc(sizeof(int) * (size_t)(j - i + 1)), *text_of = modex_xmalloc(sizeof(int) * (size_t)(j - i));
        int o = 0;
        for (int s = i; s < j; s++) { start[s - i] = o; text_of[s - i] = s; memcpy(cat + o, ids[s], sizeof(int32_t) * (size_t)n_ids[s]); o += n_ids[s]; }
        start[j - i] = o;
        Batch b = {j - i, cat, start};
        FreqCtx f = {NULL, E, j - i, start, text_of, per_text, L};
        ForwardHooks hk = {0};
        hk.ctx = &f;
        hk.router = freq_router;
        ForwardOpts op = {0};
        rc = modex_forward(m, &b, &op, &hk, NULL, err);
        free(cat); free(start); free(text_of);
        i = j;
    }
    for (int s = 0; s < p->n_subs && !rc; s++) {
        const SubFunction *S = &p->subs[s];
        unsigned char *seen = modex_xcalloc((size_t)p->n_texts + 1, 1);
        for (int q = 0; q < S->n_rows; q++) {
            const ProbeRow *r = &p->rows[S->rows[q]];
            if (S->n_pos > 0 && r->label != 1) continue;
            seen[p->units[r->unit].text] = 1;
        }
        for (int l = 0; l < L; l++) {
            double tot = 0, *o = out + ((size_t)l * p->n_subs + s) * E;
            for (int e = 0; e < E; e++) o[e] = 0;
            for (int ti = 0; ti < p->n_texts; ti++)
                if (seen[ti]) for (int e = 0; e < E; e++) { o[e] += per_text[((size_t)ti * L + l) * E + e]; tot += per_text[((size_t)ti * L + l) * E + e]; }
            for (int e = 0; e < E; e++) o[e] = tot > 0 ? o[e] / tot : NAN;
        }
        free(seen);
    }
    for (int i = 0; i < p->n_texts; i++) free(ids[i]);
    free(ids); free(n_ids); free(ub); free(ue); free(per_text);
    return rc;
}
