/* analysis.c — extraction of example activations (batched, texts with a common prefix together), then per layer:
 * predictivity, experts, functional-expert tests, heatmaps and baselines. */
#include "modex/analysis.h"
#include "modex/forward.h"
#include "modex/stats.h"
#include "modex/util.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void modex_analysis_defaults(AnalysisOpts *o) {
    memset(o, 0, sizeof *o);
    o->expert_size = 32;
    o->split = SPLIT_PARAM;
    o->agg = AGG_MAX;
    o->random_seed = 1;
    o->seed = 0;
    o->shuffles = 200;
    o->alpha = 0.001;
    o->batch_tokens = 2048;
    o->kmeans_iters = 50;
}

static const char *agg_names[] = {"max", "mean", "last", "span"};
static const char *split_names[] = {"param", "coact", "native"};
const char *modex_agg_name(Aggregation a) { return agg_names[a]; }
const char *modex_split_name(SplitKind s) { return split_names[s]; }
int modex_agg_parse(const char *s, Aggregation *a) {
    for (int i = 0; i < 4; i++) if (!strcmp(s, agg_names[i])) { *a = (Aggregation)i; return 0; }
    return -1;
}
int modex_split_parse(const char *s, SplitKind *k) {
    for (int i = 0; i < 3; i++) if (!strcmp(s, split_names[i])) { *k = (SplitKind)i; return 0; }
    return -1;
}

static int n_experts_for(const Model *m, const AnalysisOpts *o, int *E, Error *err) {
    const ModelConfig *c = &m->cfg;
    if (c->n_experts > 0) { *E = c->n_experts; return 0; }
    int e = o->n_experts > 0 ? o->n_experts : (o->expert_size > 0 ? c->d_ff / o->expert_size : 0);
    if (e <= 0 || c->d_ff % e)
        return modex_error(err, m->path, "d_ff %d cannot be split into %d equal experts (a divisor of d_ff: --experts or --expert-size)", c->d_ff, e);
    *E = e;
    return 0;
}

size_t modex_analysis_store_bytes(const Model *m, const Probe *p, const AnalysisOpts *o) {
    size_t nl = 0;
    for (int l = 0; l < m->cfg.n_layer; l++) nl += !o->layers || o->layers[l];
    size_t per = (size_t)p->n_units * (size_t)modex_ffn_width(m) * sizeof(float);
    size_t total = nl * per;
    if (o->split == SPLIT_COACT) total += nl * (size_t)m->cfg.d_ff * m->cfg.d_ff * sizeof(double);
    return total;
}

// --- tokenisation ------------------------------------------------------------------------

int modex_probe_tokenize(const Tokenizer *t, const Probe *p, int32_t ***ids_out, int **n_out, int **ub_out, int **ue_out, Error *err) {
    int32_t **ids = modex_xcalloc((size_t)p->n_texts, sizeof *ids);
    int *n_ids = modex_xcalloc((size_t)p->n_texts, sizeof(int));
    int32_t **b = modex_xcalloc((size_t)p->n_texts, sizeof *b), **e = modex_xcalloc((size_t)p->n_texts, sizeof *e);
    int rc = 0;
    for (int i = 0; i < p->n_texts && !rc; i++) {
        TokEncoding enc = {0};
        if (modex_tok_encode(t, p->texts[i], p->text_len[i], 1, &enc, err)) { rc = -1; break; }
        if (enc.n == 0) { rc = modex_error(err, p->path, "text %d (\"%.40s\") gives no tokens (a non-empty text)", i + 1, p->texts[i]); modex_tok_encoding_free(&enc); break; }
        ids[i] = modex_xmalloc(sizeof(int32_t) * (size_t)enc.n);
        memcpy(ids[i], enc.ids, sizeof(int32_t) * (size_t)enc.n);
        b[i] = modex_xmalloc(sizeof(int32_t) * (size_t)enc.n);
        e[i] = modex_xmalloc(sizeof(int32_t) * (size_t)enc.n);
        memcpy(b[i], enc.begin, sizeof(int32_t) * (size_t)enc.n);
        memcpy(e[i], enc.end, sizeof(int32_t) * (size_t)enc.n);
        n_ids[i] = enc.n;
        modex_tok_encoding_free(&enc);
    }
    int *ub = modex_xmalloc(sizeof(int) * (size_t)(p->n_units ? p->n_units : 1)), *ue = modex_xmalloc(sizeof(int) * (size_t)(p->n_units ? p->n_units : 1));
    for (int u = 0; u < p->n_units && !rc; u++) {
        const ProbeUnit *un = &p->units[u];
        int ti = un->text;
        if (un->span_begin < 0) { ub[u] = 0; ue[u] = n_ids[ti]; continue; }
        int lo = -1, hi = -1;
        for (int k = 0; k < n_ids[ti]; k++) {
            if (b[ti][k] < 0) continue; /* special tokens cover no text */
            if (b[ti][k] < un->span_end && e[ti][k] > un->span_begin) { if (lo < 0) lo = k; hi = k + 1; }
        }
        if (lo < 0) {
            int line = 0;
            for (int r = 0; r < p->n_rows; r++) if (p->rows[r].unit == u) { line = p->rows[r].line; break; }
            rc = modex_error_line(err, p->path, line, 0, "span covers no token of its text (a span inside the text)");
            break;
        }
        ub[u] = lo; ue[u] = hi;
    }
    for (int i = 0; i < p->n_texts; i++) { free(b[i]); free(e[i]); }
    free(b); free(e);
    if (rc) {
        for (int i = 0; i < p->n_texts; i++) free(ids[i]);
        free(ids); free(n_ids); free(ub); free(ue);
        return -1;
    }
    *ids_out = ids; *n_out = n_ids; *ub_out = ub; *ue_out = ue;
    return 0;
}

// --- extraction --------------------------------------------------------------------------

typedef struct Extract {
    const Probe *p;
    const Analysis *a;
    Aggregation agg;
    int width;
    float **store;              /* [n_layer] -> [n_units x width] or NULL */
    double **coact;             /* [n_layer] -> [d_ff x d_ff] or NULL */
    int *batch_texts;           /* text of each sequence in the current batch */
    int **text_units; int *n_text_units; /* units of each text */
    const AnalysisProgress *pr;
} Extract;

static int extract_hook(void *ctx, int layer, float *act, int T, int width, const Batch *b) {
    Extract *x = ctx;
    if (x->pr && x->pr->cancelled && x->pr->cancelled(x->pr->ctx)) return 1;
    float *st = x->store[layer];
    if (st) {
        for (int s = 0; s < b->n_seq; s++) {
            int ti = x->batch_texts[s], t0 = b->start[s];
            for (int k = 0; k < x->n_text_units[ti]; k++) {
                int u = x->text_units[ti][k];
                int lo = x->a->unit_begin[u], hi = x->a->unit_end[u];
                float *out = st + (size_t)u * width;
                if (x->agg == AGG_LAST) { memcpy(out, act + (size_t)(t0 + hi - 1) * width, sizeof(float) * (size_t)width); continue; }
                memcpy(out, act + (size_t)(t0 + lo) * width, sizeof(float) * (size_t)width);
                for (int t = lo + 1; t < hi; t++) {
                    const float *r = act + (size_t)(t0 + t) * width;
                    if (x->agg == AGG_MEAN) for (int j = 0; j < width; j++) out[j] += r[j];
                    else for (int j = 0; j < width; j++) out[j] = r[j] > out[j] ? r[j] : out[j];
                }
                if (x->agg == AGG_MEAN) { float inv = 1.0f / (float)(hi - lo); for (int j = 0; j < width; j++) out[j] *= inv; }
            }
        }
    }
    if (x->coact && x->coact[layer]) { /* A += Bᵀ B with B = (act > 0) */
        float *B = modex_xmalloc(sizeof(float) * (size_t)T * width);
        for (size_t i = 0; i < (size_t)T * width; i++) B[i] = act[i] > 0 ? 1.0f : 0.0f;
        float *C = modex_xcalloc((size_t)width * width, sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width, width, T, 1.0f, B, width, B, width, 0.0f, C, width);
        double *A = x->coact[layer];
        for (size_t i = 0; i < (size_t)width * width; i++) A[i] += C[i];
        free(B); free(C);
    }
    return 0;
}

/* Runs every text through m once, filling store[l] for layers with store[l] != NULL. */
static int extract(const Model *m, Analysis *a, const Probe *p, float **store, double **coact, Aggregation agg,
                   int batch_tokens, const AnalysisProgress *pr, double prog0, double prog1, Error *err) {
    int nt = p->n_texts, L = m->cfg.n_layer, stop = 0;
    for (int l = 0; l < L; l++) if (store[l] || (coact && coact[l])) stop = l + 1;
    Extract x = {p, a, agg, modex_ffn_width(m), store, coact, NULL, NULL, NULL, pr};
    x.text_units = modex_xcalloc((size_t)nt, sizeof(int *));
    x.n_text_units = modex_xcalloc((size_t)nt, sizeof(int));
    for (int u = 0; u < p->n_units; u++) x.n_text_units[p->units[u].text]++;
    for (int i = 0; i < nt; i++) { x.text_units[i] = modex_xmalloc(sizeof(int) * (size_t)(x.n_text_units[i] + 1)); x.n_text_units[i] = 0; }
    for (int u = 0; u < p->n_units; u++) { int t = p->units[u].text; x.text_units[t][x.n_text_units[t]++] = u; }
    int *order = modex_xmalloc(sizeof(int) * (size_t)nt);
    modex_batch_order(order, nt, a->ids, a->n_ids);
    int total = 0;
    for (int i = 0; i < nt; i++) total += a->n_ids[i];
    int32_t *ids = modex_xmalloc(sizeof(int32_t) * (size_t)(total + 1));
    int *start = modex_xmalloc(sizeof(int) * (size_t)(nt + 1));
    x.batch_texts = modex_xmalloc(sizeof(int) * (size_t)nt);
    ForwardHooks hk = {&x, extract_hook, NULL, NULL};
    ForwardOpts o = {.logits = LOGITS_NONE, .stop_layer = stop};
    int rc = 0, done_tokens = 0;
    for (int i = 0; i < nt && !rc;) {
        int ns = 0, T = 0;
        start[0] = 0;
        while (i < nt && (ns == 0 || T + a->n_ids[order[i]] <= batch_tokens)) {
            int ti = order[i++];
            memcpy(ids + T, a->ids[ti], sizeof(int32_t) * (size_t)a->n_ids[ti]);
            T += a->n_ids[ti];
            x.batch_texts[ns] = ti;
            start[++ns] = T;
        }
        Batch b = {ns, ids, start};
        rc = modex_forward(m, &b, &o, &hk, NULL, err);
        done_tokens += T;
        if (pr && pr->progress) pr->progress(pr->ctx, prog0 + (prog1 - prog0) * (double)done_tokens / (double)total);
    }
    for (int i = 0; i < nt; i++) free(x.text_units[i]);
    free(x.text_units); free(x.n_text_units); free(order); free(ids); free(start); free(x.batch_texts);
    return rc;
}

// --- per-layer statistics -------------------------------------------------------------------

typedef struct SubData { int *idx; unsigned char *y; int n; int *pos; int n_pos; } SubData;

static void sub_data(const Probe *p, SubData *sd) {
    for (int s = 0; s < p->n_subs; s++) {
        const SubFunction *S = &p->subs[s];
        sd[s].idx = modex_xmalloc(sizeof(int) * (size_t)S->n_rows);
        sd[s].y = modex_xmalloc((size_t)S->n_rows);
        sd[s].pos = modex_xmalloc(sizeof(int) * (size_t)S->n_rows);
        sd[s].n = S->n_rows; sd[s].n_pos = 0;
        for (int k = 0; k < S->n_rows; k++) {
            const ProbeRow *r = &p->rows[S->rows[k]];
            sd[s].idx[k] = r->unit;
            sd[s].y[k] = r->label;
            if (r->label) sd[s].pos[sd[s].n_pos++] = r->unit;
        }
    }
}
static void sub_data_free(SubData *sd, int n) {
    for (int s = 0; s < n; s++) { free(sd[s].idx); free(sd[s].y); free(sd[s].pos); }
    free(sd);
}

static void best_per_function(const Probe *p, const float *best_sub, double *best_fn) {
    for (int f = 0; f < p->n_funcs; f++) {
        double s = 0; int n = 0;
        for (int k = 0; k < p->n_subs; k++) if (p->subs[k].function == f) { s += best_sub[k]; n++; }
        best_fn[f] = n ? s / n : NAN;
    }
}

static void predictivity_layer(const Probe *p, const SubData *sd, const float *acts, int width, float *pred, float *best) {
    for (int s = 0; s < p->n_subs; s++) {
        float *o = pred + (size_t)s * width;
        modex_predictivity(acts, p->n_units, width, sd[s].idx, sd[s].y, sd[s].n, o);
        float b = 0;
        for (int j = 0; j < width; j++) if (o[j] > b) b = o[j];
        best[s] = b;
    }
}

static int layer_stats(Analysis *a, int l, const SubData *sd, Error *err) {
    const Model *m = a->model;
    const Probe *p = a->probe;
    LayerResult *R = &a->layers[l];
    int W = R->width, E = R->E, ns = p->n_subs, nf = p->n_funcs;
    R->pred = modex_xmalloc(sizeof(float) * (size_t)ns * W);
    R->best_sub = modex_xmalloc(sizeof(float) * (size_t)ns);
    R->best_fn = modex_xmalloc(sizeof(double) * (size_t)nf);
    predictivity_layer(p, sd, R->acts, W, R->pred, R->best_sub);
    best_per_function(p, R->best_sub, R->best_fn);
    R->best_neuron_sub = modex_xmalloc(sizeof(int) * (size_t)W);
    for (int j = 0; j < W; j++) {
        int b = 0;
        for (int s = 1; s < ns; s++) if (R->pred[(size_t)s * W + j] > R->pred[(size_t)b * W + j]) b = s;
        R->best_neuron_sub[j] = b;
    }
    /* experts */
    if (!R->assign) {
        R->assign = modex_xmalloc(sizeof(int) * (size_t)W);
        if (a->opts.split == SPLIT_NATIVE) {
            for (int j = 0; j < W; j++) R->assign[j] = j / m->cfg.d_ff;
        } else {
            float *keys = modex_model_keys(m, l);
            int rc = modex_kmeans_balanced(keys, W, m->cfg.d_model, E, a->opts.seed + (unsigned long long)l, a->opts.kmeans_iters, R->assign, err);
            free(keys);
            if (rc) return -1;
        }
    }
    /* functional experts per sub-function and per function (pooled) */
    R->fsub = modex_xcalloc((size_t)ns, sizeof(FunctionalResult));
    for (int s = 0; s < ns; s++)
        if (modex_functional_experts(R->pred + (size_t)s * W, R->assign, W, E, a->opts.alpha, &R->fsub[s])) return modex_error(err, m->path, "functional-expert test failed");
    R->ffn = modex_xcalloc((size_t)nf, sizeof(FunctionalResult));
    R->rand_prop = modex_xcalloc((size_t)nf, sizeof(double));
    R->rand_mod = modex_xcalloc((size_t)nf, sizeof(double));
    const float **preds = modex_xmalloc(sizeof(float *) * (size_t)ns);
    for (int f = 0; f < nf; f++) {
        int k = 0;
        for (int s = 0; s < ns; s++) if (p->subs[s].function == f) preds[k++] = R->pred + (size_t)s * W;
        modex_functional_pooled(preds, k, R->assign, W, E, a->opts.alpha, &R->ffn[f]);
        /* random equal partitions (the library's pooled baseline), seeded per layer and function */
        if (a->opts.shuffles > 0)
            modex_functional_pooled_random(preds, k, W, E, a->opts.alpha, a->opts.shuffles,
                                           a->opts.seed * 1000003ull + (unsigned long long)l * 7919ull + (unsigned long long)f + 1,
                                           &R->rand_prop[f], &R->rand_mod[f]);
        else R->rand_prop[f] = R->rand_mod[f] = NAN;
    }
    free(preds);
    /* heatmap */
    R->heat = modex_xmalloc(sizeof(float) * (size_t)E * ns);
    R->heat_z = modex_xmalloc(sizeof(float) * (size_t)E * ns);
    float *col = modex_xmalloc(sizeof(float) * (size_t)E);
    for (int s = 0; s < ns; s++) {
        modex_heatmap(R->acts, p->n_units, W, R->assign, E, sd[s].pos, sd[s].n_pos, col);
        for (int e = 0; e < E; e++) R->heat[(size_t)e * ns + s] = col[e];
    }
    free(col);
    modex_zscore_rows(R->heat, E, ns, R->heat_z);
    return 0;
}

// --- the run ------------------------------------------------------------------------------

int modex_analysis_run(Analysis *a, const Model *m, const Tokenizer *t, const Probe *p, const AnalysisOpts *o,
                       const AnalysisProgress *pr, Error *err) {
    memset(a, 0, sizeof *a);
    double t0 = modex_now();
    a->model = m; a->probe = p; a->opts = *o;
    if (m->cfg.n_experts > 0) a->opts.split = SPLIT_NATIVE;
    else if (a->opts.split == SPLIT_NATIVE) return modex_error(err, m->path, "split native needs a mixture-of-experts model (param or coact)");
    if (a->opts.shuffles < 0) a->opts.shuffles = 0;
    if (a->opts.batch_tokens <= 0) a->opts.batch_tokens = 2048;
    int L = m->cfg.n_layer, W = modex_ffn_width(m), E = 0;
    if (n_experts_for(m, &a->opts, &E, err)) return -1;
    a->n_layer = L;
    a->layers = modex_xcalloc((size_t)L, sizeof(LayerResult));
    int n_an = 0;
    for (int l = 0; l < L; l++) {
        a->layers[l].layer = l; a->layers[l].width = W; a->layers[l].E = E;
        n_an += !o->layers || o->layers[l];
    }
    if (n_an == 0) return modex_error(err, "--layers", "no layer selected (0..%d)", L - 1);
    int stages = 3 + (o->random_init ? 1 : 0), stage = 0;
#define STAGE(name) do { if (pr && pr->stage) pr->stage(pr->ctx, name, stage, stages); stage++; } while (0)
#define CANCELLED() (pr && pr->cancelled && pr->cancelled(pr->ctx))
    STAGE("tokenize");
    if (modex_probe_tokenize(t, p, &a->ids, &a->n_ids, &a->unit_begin, &a->unit_end, err)) return -1;
    for (int i = 0; i < p->n_texts; i++) {
        a->n_tokens += a->n_ids[i];
        if (m->cfg.learned_pos && a->n_ids[i] > m->cfg.max_pos)
            return modex_error(err, p->path, "text %d has %d tokens (the model takes at most %d)", i + 1, a->n_ids[i], m->cfg.max_pos);
    }
    if (CANCELLED()) return 1;
    /* refuse, before allocating, a store that cannot fit (the explorer and the CLI alike) */
    if (modex_mem_check(modex_analysis_store_bytes(m, p, o), p->path, "the activation store",
                        "fewer layers with --layers, or fewer probe rows", err)) return -1;
    STAGE("extract");
    float **store = modex_xcalloc((size_t)L, sizeof(float *));
    double **coact = a->opts.split == SPLIT_COACT ? modex_xcalloc((size_t)L, sizeof(double *)) : NULL;
    for (int l = 0; l < L; l++)
        if (!o->layers || o->layers[l]) {
            store[l] = a->layers[l].acts = modex_xcalloc((size_t)p->n_units * W, sizeof(float));
            if (coact) coact[l] = modex_xcalloc((size_t)W * W, sizeof(double));
        }
    int rc = extract(m, a, p, store, coact, a->opts.agg, a->opts.batch_tokens, pr, 0.0, 1.0, err);
    if (rc == 0 && coact)
        for (int l = 0; l < L && !rc; l++)
            if (coact[l]) {
                a->layers[l].assign = modex_xmalloc(sizeof(int) * (size_t)W);
                rc = modex_coact_split(coact[l], W, E, a->opts.seed + (unsigned long long)l, a->layers[l].assign, err);
            }
    if (coact) { for (int l = 0; l < L; l++) free(coact[l]); free(coact); }
    free(store);
    if (rc) return rc;
    SubData *sd = modex_xcalloc((size_t)p->n_subs, sizeof(SubData));
    sub_data(p, sd);
    if (o->random_init) {
        STAGE("random-init");
        Model *r = modex_model_random_like(m, o->random_seed, err);
        float **rs = modex_xcalloc((size_t)L, sizeof(float *));
        for (int l = 0; l < L; l++) if (!o->layers || o->layers[l]) rs[l] = modex_xcalloc((size_t)p->n_units * W, sizeof(float));
        rc = r ? extract(r, a, p, rs, NULL, a->opts.agg, a->opts.batch_tokens, pr, 0.0, 1.0, err) : -1;
        float *pred = modex_xmalloc(sizeof(float) * (size_t)p->n_subs * W);
        for (int l = 0; l < L && !rc; l++) {
            if (!rs[l]) continue;
            LayerResult *R = &a->layers[l];
            R->rinit_best_sub = modex_xmalloc(sizeof(float) * (size_t)p->n_subs);
            R->rinit_best_fn = modex_xmalloc(sizeof(double) * (size_t)p->n_funcs);
            predictivity_layer(p, sd, rs[l], W, pred, R->rinit_best_sub);
            best_per_function(p, R->rinit_best_sub, R->rinit_best_fn);
        }
        free(pred);
        for (int l = 0; l < L; l++) free(rs[l]);
        free(rs);
        modex_model_free(r);
        if (rc) { sub_data_free(sd, p->n_subs); return rc; }
    }
    STAGE("statistics");
    int k = 0;
    for (int l = 0; l < L && !rc; l++) {
        if (o->layers && !o->layers[l]) continue;
        if (CANCELLED()) { rc = 1; break; }
        rc = layer_stats(a, l, sd, err);
        if (rc) break;
        a->layers[l].done = 1;
        if (pr && pr->layer_done) pr->layer_done(pr->ctx, a, l);
        if (pr && pr->progress) pr->progress(pr->ctx, (double)++k / n_an);
    }
    sub_data_free(sd, p->n_subs);
    a->seconds = modex_now() - t0;
#undef STAGE
#undef CANCELLED
    return rc;
}

void modex_analysis_free(Analysis *a) {
    if (!a->layers && !a->ids) return;
    const Probe *p = a->probe;
    for (int l = 0; l < a->n_layer; l++) {
        LayerResult *R = &a->layers[l];
        free(R->acts); free(R->pred); free(R->assign); free(R->heat); free(R->heat_z);
        free(R->best_sub); free(R->best_fn); free(R->rand_prop); free(R->rand_mod);
        free(R->rinit_best_fn); free(R->rinit_best_sub); free(R->best_neuron_sub);
        if (R->fsub) for (int s = 0; s < p->n_subs; s++) modex_functional_free(&R->fsub[s]);
        if (R->ffn) for (int f = 0; f < p->n_funcs; f++) modex_functional_free(&R->ffn[f]);
        free(R->fsub); free(R->ffn);
    }
    free(a->layers);
    if (a->ids) for (int i = 0; i < p->n_texts; i++) free(a->ids[i]);
    free(a->ids); free(a->n_ids); free(a->unit_begin); free(a->unit_end);
    memset(a, 0, sizeof *a);
}
