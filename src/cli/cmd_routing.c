/* cmd_routing.c — `modex routing MODEL PROBE.csv -o DIR`: loss and answer accuracy against the
 * number of experts run (EMoE avg-k, MoEfication ground truth, D2DMoE dynamic-k; the native
 * router for MoE models, with each sub-function's expert choice frequencies). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_interv.h"
#include "modex/cli.h"
#include "modex/experts.h"
#include "modex/job.h"
#include "modex/parallel.h"
#include "modex/routing.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modex routing MODEL PROBE.csv -o DIR [options]\n\n"
            "Splits each FFN into E experts (balanced k-means of the keys) and runs the probe with\n"
            "only some experts per token: avg_k (EMoE: top-k by x . mean raw key), ground_truth\n"
            "(MoEfication: top-k by summed activation), dynamic_k (D2DMoE: experts whose output norm\n"
            ">= (1-tau) max). Native MoE models: the router's own top-k, and each sub-function's\n"
            "expert choice frequencies (routing_experts.csv). Writes routing.csv:\n"
            "method,layer_set,k_or_tau,mean_experts,function,subfunction,loss,accuracy (the first\n"
            "rows, method dense, are the unrouted model: all E experts, or a native MoE's top_k).\n\n"
            "options:\n"
            "  -o, --out DIR          output folder (created if missing)\n"
            "  --methods LIST         avg_k,ground_truth,dynamic_k (default all three)\n"
            "  --k LIST               experts kept (default 1,2,4,... up to E, and E)\n"
            "  --tau LIST             dynamic-k thresholds (default 0,0.1,...,1)\n"
            "  --layers LIST          layers to route (default all)\n"
            "  --experts E            experts per layer (default: d_ff / expert size)\n"
            "  --expert-size S        neurons per expert (default 32)\n"
            "  --seed N               k-means seed (layer l uses N + l, as modex analyze) (default 0)\n"
            "  --kmeans-iters N       k-means steps at most (default 50)\n"
            "  --answer first|all     accuracy on the answer's first token (default) or on every\n"
            "                         token, teacher forced\n"
            "  --tokenizer PATH       tokenizer (default: found beside the model)\n"
            "  --threads N            threads (default: all cores)\n"
            "  --force                overwrite existing outputs\n"
            "Exit status: 0 done, 2 bad input, 130 interrupted (nothing written).\n");
}

typedef struct Point { int meth; double kt, mean; PerturbResult r; } Point;

typedef struct Run {
    const Model *m; const Tokenizer *t; const Probe *p;
    int answer_all;
    unsigned char *layers;
    int methods[3], E, iters;
    double *ks, *taus; int nk, ntau;
    unsigned long long seed;
    char label[256];
    PerturbResult dense;
    Point *pts; int n_pts;
    double *freq;            /* native: [L x n_subs x E] */
} Run;


static int job_fn(Job *j, void *arg) {
    Run *r = arg;
    Error err = {0};
    int rc = 0, L = r->m->cfg.n_layer, F = r->m->cfg.d_ff, D = r->m->cfg.d_model, native = r->m->cfg.n_experts > 0;
    int **assign = modex_xcalloc((size_t)L, sizeof(int *));
    Router *router = NULL;
    Perturber *pt = NULL;
    if (!native) {
        int nl = 0, k = 0;
        for (int l = 0; l < L; l++) nl += r->layers[l];
        modex_job_stage(j, "experts", 1, 3);
        for (int l = 0; l < L && !rc; l++) {
            if (!r->layers[l]) continue;
            if (modex_job_cancelled(j)) { rc = 1; break; }
            float *keys = modex_model_keys(r->m, l);
            assign[l] = modex_xmalloc(sizeof(int) * (size_t)F);
            rc = modex_kmeans_balanced(keys, F, D, r->E, r->seed + (unsigned long long)l, r->iters, assign[l], &err);
            free(keys);
            modex_job_progress(j, (double)++k / nl);
        }
        if (rc) goto out;
        router = modex_router_new(r->m, (const int *const *)assign, r->E, &err);
        if (!router) { rc = -1; goto out; }
    }
    pt = modex_perturber_new(r->m, r->t, r->p, &err);
    if (!pt) { rc = -1; goto out; }
    modex_perturber_set_answer_all(pt, r->answer_all);
    modex_job_stage(j, "dense", 2, 3);
    if ((rc = modex_perturber_clean(pt, &r->dense, modex_job_cb_cancelled, j, &err))) goto out;
    modex_job_stage(j, "curves", 3, 3);
    int total = native ? r->nk : (r->methods[0] + r->methods[1]) * r->nk + r->methods[2] * r->ntau;
    r->pts = modex_xcalloc((size_t)total + 1, sizeof(Point));
    for (int meth = 0; meth < (native ? 1 : 3) && !rc; meth++) {
        if (!native && !r->methods[meth]) continue;
        int n = native || meth != ROUTE_DYNK ? r->nk : r->ntau;
        for (int i = 0; i < n && !rc; i++) {
            Point *P = &r->pts[r->n_pts];
            P->meth = native ? ROUTE_NATIVE : meth;
            P->kt = native || meth != ROUTE_DYNK ? r->ks[i] : r->taus[i];
            if (native) { rc = modex_route_native(pt, r->m, (int)P->kt, &P->r, modex_job_cb_cancelled, j, &err); P->mean = P->kt; }
            else rc = modex_route_eval(pt, router, (RouteMethod)meth, P->kt, &P->mean, &P->r, modex_job_cb_cancelled, j, &err);
            if (rc) break;
            r->n_pts++;
            modex_job_progress(j, (double)r->n_pts / total);
        }
    }
    if (!rc && native) {
        r->freq = modex_xmalloc(sizeof(double) * ((size_t)L * r->p->n_subs * r->m->cfg.n_experts + 1));
        rc = modex_route_frequency(r->m, r->t, r->p, r->freq, &err);
    }
out:
    for (int l = 0; l < L; l++) free(assign[l]);
    free(assign);
    modex_router_free(router);
    modex_perturber_free(pt);
    if (rc < 0) modex_job_fail(j, &err);
    return rc;
}

static void rows(CsvOut *c, const Run *r, const char *meth, double kt, double mean, const PerturbResult *x) {
    for (int s = 0; s < r->p->n_subs; s++) {
        const SubFunction *S = &r->p->subs[s];
        modex_csv_str(c, meth);
        modex_csv_str(c, r->label);
        modex_csv_num(c, kt);
        modex_csv_num(c, mean);
        modex_csv_str(c, r->p->funcs[S->function]);
        modex_csv_str(c, S->name);
        modex_csv_num(c, x->loss[s]);
        modex_csv_num(c, x->kind[s] == 0 ? x->value[s] : NAN);
        modex_csv_end_row(c);
    }
}

static void write_routing(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    modex_csv_header(c, "method,layer_set,k_or_tau,mean_experts,function,subfunction,loss,accuracy");
    /* the unrouted model: every expert of a split, or a native MoE's own top_k */
    int E = r->m->cfg.n_experts > 0 ? r->m->cfg.top_k : r->E;
    rows(c, r, "dense", E, E, &r->dense);
    for (int i = 0; i < r->n_pts; i++)
        rows(c, r, modex_route_method_name((RouteMethod)r->pts[i].meth), r->pts[i].kt, r->pts[i].mean, &r->pts[i].r);
}

static void write_freq(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    const Probe *p = r->p;
    int E = r->m->cfg.n_experts;
    modex_csv_header(c, "layer,function,subfunction,expert,frequency");
    for (int l = 0; l < r->m->cfg.n_layer; l++)
        for (int s = 0; s < p->n_subs; s++)
            for (int e = 0; e < E; e++) {
                modex_csv_int(c, l);
                modex_csv_str(c, p->funcs[p->subs[s].function]);
                modex_csv_str(c, p->subs[s].name);
                modex_csv_int(c, e);
                modex_csv_num(c, r->freq[((size_t)l * p->n_subs + s) * E + e]);
                modex_csv_end_row(c);
            }
}

/* "0,0.5,1" → values; -1 on bad text. */
static int parse_nums(const char *s, double **out) {
    int cap = 1, n = 0;
    for (const char *q = s; *q; q++) cap += *q == ',';
    double *v = modex_xmalloc(sizeof(double) * (size_t)cap);
    const char *q = s;
    while (*q) {
        char *e;
        v[n] = strtod(q, &e);
        if (e == q || (*e && *e != ',') || !isfinite(v[n])) { free(v); return -1; }
        n++;
        q = *e ? e + 1 : e;
    }
    if (!n) { free(v); return -1; }
    *out = v;
    return n;
}

static int cmd_routing(int argc, char **argv) {
    const char *model_path = NULL, *probe_path = NULL, *out = NULL, *tok_path = NULL, *layers_s = NULL;
    const char *methods_s = NULL, *k_s = NULL, *tau_s = NULL;
    int force = 0, threads = 0, n_experts = 0, expert_size = 32;
    Run r;
    memset(&r, 0, sizeof r);
    r.iters = 50;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && more) out = argv[++i];
        else if (!strcmp(a, "--methods") && more) methods_s = argv[++i];
        else if (!strcmp(a, "--k") && more) k_s = argv[++i];
        else if (!strcmp(a, "--tau") && more) tau_s = argv[++i];
        else if (!strcmp(a, "--layers") && more) layers_s = argv[++i];
        else if (!strcmp(a, "--experts") && more) n_experts = atoi(argv[++i]);
        else if (!strcmp(a, "--expert-size") && more) expert_size = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && more) r.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--kmeans-iters") && more) r.iters = atoi(argv[++i]);
        else if (!strcmp(a, "--answer") && more) {
            const char *v = argv[++i];
            if (strcmp(v, "first") && strcmp(v, "all")) { fprintf(stderr, "modex: --answer: '%s' (first or all)\n", v); return 2; }
            r.answer_all = !strcmp(v, "all");
        } else if (!strcmp(a, "--tokenizer") && more) tok_path = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--force")) force = 1;
        else if (a[0] != '-' && !model_path) model_path = a;
        else if (a[0] != '-' && !probe_path) probe_path = a;
        else { fprintf(stderr, "modex: routing: unknown argument '%s' (see modex routing --help)\n", a); return 2; }
    }
    if (!model_path || !probe_path || !out) { usage(stderr); return 2; }
    modex_set_threads(threads);
    Probe probe;
    Model *m;
    Tokenizer *t;
    if (modex_cli_open_inputs(model_path, probe_path, tok_path, &probe, &m, &t)) return 2;
    int rc = 2, L = m->cfg.n_layer, native = m->cfg.n_experts > 0;
    JobQueue *q = NULL;
    Job *j = NULL;
    r.m = m; r.t = t; r.p = &probe;
    r.layers = modex_xmalloc((size_t)L + 1);
    memset(r.layers, 1, (size_t)L);
    if (layers_s && (modex_parse_ranges(layers_s, L, r.layers) || native)) {
        if (native) fprintf(stderr, "modex: --layers: a native MoE model is routed on every layer (drop --layers)\n");
        else fprintf(stderr, "modex: --layers: '%s' (e.g. 0-5,8 with layers 0..%d)\n", layers_s, L - 1);
        goto out;
    }
    interv_layer_label(r.layers, L, r.label, sizeof r.label);
    r.E = native ? m->cfg.n_experts : n_experts > 0 ? n_experts : expert_size > 0 ? m->cfg.d_ff / expert_size : 0;
    if (!native && (r.E <= 0 || m->cfg.d_ff % r.E)) {
        fprintf(stderr, "modex: %s: d_ff %d cannot be split into %d equal experts (a divisor of d_ff: --experts or --expert-size)\n",
                model_path, m->cfg.d_ff, r.E);
        goto out;
    }
    if (methods_s) {
        if (native) { fprintf(stderr, "modex: --methods: a native MoE model is routed by its router (drop --methods)\n"); goto out; }
        char *dup = modex_xstrdup(methods_s), *save = NULL;
        for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            RouteMethod mm;
            if (modex_route_method_parse(tok, &mm) || mm == ROUTE_NATIVE) {
                fprintf(stderr, "modex: --methods: '%s' (avg_k, ground_truth or dynamic_k)\n", tok);
                free(dup);
                goto out;
            }
            r.methods[mm] = 1;
        }
        free(dup);
    } else r.methods[0] = r.methods[1] = r.methods[2] = 1;
    if (k_s) {
        if ((r.nk = parse_nums(k_s, &r.ks)) < 0) { fprintf(stderr, "modex: --k: '%s' (numbers of experts, e.g. 1,4,16)\n", k_s); goto out; }
        for (int i = 0; i < r.nk; i++)
            if (r.ks[i] != floor(r.ks[i]) || r.ks[i] < 1 || r.ks[i] > r.E) {
                fprintf(stderr, "modex: --k: %g (whole numbers 1..%d)\n", r.ks[i], r.E);
                goto out;
            }
    } else {
        r.ks = modex_xmalloc(sizeof(double) * 40);
        for (int k = 1; k < r.E; k *= 2) r.ks[r.nk++] = k;
        r.ks[r.nk++] = r.E;
    }
    if (tau_s) {
        if ((r.ntau = parse_nums(tau_s, &r.taus)) < 0) { fprintf(stderr, "modex: --tau: '%s' (numbers in 0..1, e.g. 0,0.5,1)\n", tau_s); goto out; }
        for (int i = 0; i < r.ntau; i++)
            if (!(r.taus[i] >= 0 && r.taus[i] <= 1)) { fprintf(stderr, "modex: --tau: %g (numbers in 0..1)\n", r.taus[i]); goto out; }
    } else {
        r.taus = modex_xmalloc(sizeof(double) * 11);
        for (int i = 0; i <= 10; i++) r.taus[r.ntau++] = i / 10.0;
    }
    const char *names[] = {"routing.csv", "routing_experts.csv"};
    if ((rc = interv_out_check(out, names, native ? 2 : 1, force))) goto out;
    rc = 2;
    q = modex_jobs_new();
    j = modex_job_submit(q, "routing", job_fn, &r, NULL);
    if ((rc = modex_cli_run_job(q, j)) != 0) goto out;
    rc = 2;
    void (*const fns[])(void *, CsvOut *) = {write_routing, write_freq};
    if (interv_write_all(out, names, fns, native ? 2 : 1, force, &r)) goto out;
    fprintf(stderr, "modex: %d points; wrote %s/routing.csv%s\n", r.n_pts, out, native ? " and routing_experts.csv" : "");
    rc = 0;
out:
    if (j) modex_job_release(j);
    if (q) modex_jobs_free(q);
    modex_perturb_result_free(&r.dense);
    for (int i = 0; i < r.n_pts; i++) modex_perturb_result_free(&r.pts[i].r);
    free(r.pts); free(r.freq); free(r.ks); free(r.taus); free(r.layers);
    modex_tok_free(t);
    modex_model_free(m);
    modex_probe_free(&probe);
    return rc;
}
MODEX_COMMAND(routing, "loss and accuracy against experts run per token (avg-k, ground truth, dynamic-k, router)", cmd_routing)
