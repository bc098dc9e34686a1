/* cmd_perturb.c — `modex perturb MODEL PROBE.csv -o DIR`: select neurons or experts, intervene,
 * measure every sub-function before/after against a random baseline (method.md §6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_interv.h"
#include "modex/analysis.h"
#include "modex/cli.h"
#include "modex/forward.h"
#include "modex/job.h"
#include "modex/parallel.h"
#include "modex/perturb.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modex perturb MODEL PROBE.csv -o DIR [options]\n\n"
            "Masks FFN neurons and measures each sub-function before and after: the accuracy of\n"
            "`answer` (its first token predicted after the text) where rows have answers, and the\n"
            "mean LM loss on the sub-function's positive texts (encoders: the mean relative change\n"
            "of the final hidden state), against as many random neurons (or random experts when\n"
            "whole experts are masked). Writes perturbation.csv into DIR.\n\n"
            "options:\n"
            "  -o, --out DIR          output folder (created if missing)\n"
            "  --select S             ap:SUBFUNCTION | ap_avg:FUNCTION | experts:FUNCTION | random\n"
            "                         (default random)\n"
            "  --fraction F           of each selected layer's neurons (experts for experts:) (default 0.12)\n"
            "  --count N              per layer instead of --fraction\n"
            "  --layers LIST          layers to mask, e.g. 8-11 (default all)\n"
            "  --mask L:E,...         explicit experts instead of --select (e.g. 3:5,3:7)\n"
            "  --mode zero|mean|shuffle   intervention (default zero; shuffle = permute, x4, ReLU)\n"
            "  --repeats N            random-baseline draws (default 10)\n"
            "  --seed N               seed of selection, baseline and shuffle (default 0)\n"
            "  --experts E            experts per layer (default: d_ff / expert size)\n"
            "  --expert-size S        neurons per expert (default 32)\n"
            "  --batch-tokens N       tokens per forward batch (default 2048)\n"
            "  --answer first|all     accuracy on the answer's first token (default) or on every\n"
            "                         token, teacher forced (metric accuracy_all)\n"
            "  --tokenizer PATH       tokenizer (default: found beside the model)\n"
            "  --threads N            threads (default: all cores)\n"
            "  --force                overwrite perturbation.csv\n"
            "Exit status: 0 done, 2 bad input, 130 interrupted (nothing written).\n");
}

typedef struct Run {
    const Model *m; const Tokenizer *t; const Probe *p;
    int answer_all;
    AnalysisOpts ao;
    unsigned char *layers;     /* [n_layer] */
    PerturbSelect sel;
    int use_select, need_analysis;
    int *mask_l, *mask_e, n_mask;
    PerturbMode mode;
    int repeats, batch_tokens;
    unsigned long long seed;
    /* results */
    Analysis a;
    int have_a;
    PerturbMask mask;
    int experts_masked;        /* whole experts: the baseline draws experts */
    PerturbResult clean, after;
    double *bm, *bs, *bml, *bsl;
    char label[256], selection[256];
    double fraction;
} Run;

static void cb_stage(void *c, const char *n, int i, int k) { (void)i; (void)k; modex_job_stage(c, n, 1, 4); }
static void cb_draw(void *c, int d, int n) { modex_job_progress(c, (double)d / n); }

static int job_fn(Job *j, void *arg) {
    Run *r = arg;
    Error err = {0};
    int rc = 0, L = r->m->cfg.n_layer;
    Perturber *pt = NULL;
    modex_mask_init(&r->mask, r->m);
    if (r->need_analysis) {
        AnalysisProgress pr = {j, modex_job_cb_cancelled, cb_stage, modex_job_cb_progress, NULL};
        modex_job_stage(j, "analysis", 1, 4);
        rc = modex_analysis_run(&r->a, r->m, r->t, r->p, &r->ao, &pr, &err);
        r->have_a = 1;
        if (rc) goto out;
    }
    if (r->use_select) {
        if (modex_perturb_select(&r->sel, r->have_a ? &r->a : NULL, r->m, &r->mask, &err) < 0) { rc = -1; goto out; }
        r->experts_masked = r->sel.kind == SELECT_EXPERTS;
    } else {
        for (int i = 0; i < r->n_mask; i++) {
            const LayerResult *R = &r->a.layers[r->mask_l[i]];
            if (r->mask_e[i] >= R->E) {
                rc = modex_error(&err, "--mask", "%d:%d: layer %d has %d experts (0..%d)", r->mask_l[i], r->mask_e[i], r->mask_l[i], R->E, R->E - 1);
                goto out;
            }
            modex_mask_set_expert(&r->mask, r->mask_l[i], R->assign, r->mask_e[i], 1);
        }
        r->experts_masked = 1;
    }
    /* label and fraction over the masked layers */
    unsigned char *lay = modex_xcalloc((size_t)L + 1, 1);
    int nl = 0;
    for (int l = 0; l < L; l++) if (modex_mask_layer_count(&r->mask, l) || (r->use_select && r->layers[l])) { lay[l] = 1; nl++; }
    interv_layer_label(lay, L, r->label, sizeof r->label);
    free(lay);
    r->fraction = nl ? (double)modex_mask_count(&r->mask) / ((double)nl * r->mask.width) : 0.0;
    pt = modex_perturber_new(r->m, r->t, r->p, &err);
    if (!pt) { rc = -1; goto out; }
    modex_perturber_set_answer_all(pt, r->answer_all);
    modex_perturber_set_batch_tokens(pt, r->batch_tokens);
    modex_job_stage(j, "clean", 2, 4);
    if ((rc = modex_perturber_clean(pt, &r->clean, modex_job_cb_cancelled, j, &err))) goto out;
    modex_job_stage(j, "masked", 3, 4);
    if ((rc = modex_perturber_eval(pt, &r->mask, r->mode, r->seed, &r->after, modex_job_cb_cancelled, j, &err))) goto out;
    modex_job_stage(j, "random baseline", 4, 4);
    int ns = r->p->n_subs;
    r->bm = modex_xmalloc(sizeof(double) * (size_t)(ns + 1)); r->bs = modex_xmalloc(sizeof(double) * (size_t)(ns + 1));
    r->bml = modex_xmalloc(sizeof(double) * (size_t)(ns + 1)); r->bsl = modex_xmalloc(sizeof(double) * (size_t)(ns + 1));
    int **assign = NULL;
    int E = 0;
    if (r->experts_masked && r->have_a) {
        assign = modex_xcalloc((size_t)L, sizeof(int *));
        for (int l = 0; l < L; l++) { assign[l] = r->a.layers[l].assign; if (r->a.layers[l].E > E) E = r->a.layers[l].E; }
    }
    if (r->repeats > 0)
        rc = modex_perturber_random_ex(pt, &r->mask, (const int *const *)assign, E, r->mode, r->repeats, r->seed, r->bm, r->bs,
                                       r->bml, r->bsl, modex_job_cb_cancelled, cb_draw, j, &err);
    else for (int s = 0; s < ns; s++) r->bm[s] = r->bs[s] = r->bml[s] = r->bsl[s] = NAN;
    free(assign);
out:
    modex_perturber_free(pt);
    if (rc < 0) modex_job_fail(j, &err);
    return rc;
}

static void row(CsvOut *c, const Run *r, int s, const char *metric, double before, double after, double bm, double bs) {
    const SubFunction *S = &r->p->subs[s];
    modex_csv_str(c, r->label);
    modex_csv_str(c, r->selection);
    modex_csv_str(c, modex_perturb_mode_name(r->mode));
    modex_csv_num(c, r->fraction);
    modex_csv_str(c, r->p->funcs[S->function]);
    modex_csv_str(c, S->name);
    modex_csv_str(c, metric);
    modex_csv_num(c, before);
    modex_csv_num(c, after);
    modex_csv_num(c, after - before);
    modex_csv_num(c, bm);
    modex_csv_num(c, bs);
    modex_csv_end_row(c);
}

static void write_rows(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    modex_csv_header(c, "layer_set,selection,mode,fraction,function,subfunction,metric,before,after,delta,baseline_mean,baseline_sd");
    for (int s = 0; s < r->p->n_subs; s++) {
        int k = r->clean.kind[s];
        row(c, r, s, k == 0 && r->answer_all ? "accuracy_all" : modex_perturb_metric_name(k), r->clean.value[s], r->after.value[s], r->bm[s], r->bs[s]);
        if (k == 0) row(c, r, s, "loss", r->clean.loss[s], r->after.loss[s], r->bml[s], r->bsl[s]);
    }
}

static int parse_mask(Run *r, const char *s, int L) {
    int cap = 1;
    for (const char *q = s; *q; q++) cap += *q == ',';
    r->mask_l = modex_xmalloc(sizeof(int) * (size_t)cap);
    r->mask_e = modex_xmalloc(sizeof(int) * (size_t)cap);
    const char *q = s;
    while (*q) {
        char *e1, *e2;
        long l = strtol(q, &e1, 10);
        if (e1 == q || *e1 != ':') return -1;
        long e = strtol(e1 + 1, &e2, 10);
        if (e2 == e1 + 1 || (*e2 && *e2 != ',') || l < 0 || l >= L || e < 0) return -1;
        r->mask_l[r->n_mask] = (int)l;
        r->mask_e[r->n_mask++] = (int)e;
        q = *e2 ? e2 + 1 : e2;
    }
    return r->n_mask ? 0 : -1;
}

static int cmd_perturb(int argc, char **argv) {
    const char *model_path = NULL, *probe_path = NULL, *out = NULL, *tok_path = NULL, *layers_s = NULL;
    const char *select_s = "random", *mask_s = NULL, *mode_s = "zero";
    int force = 0, threads = 0;
    double fraction = 0.12;
    int count = 0;
    Run r;
    memset(&r, 0, sizeof r);
    modex_analysis_defaults(&r.ao);
    r.ao.shuffles = 0;
    r.repeats = 10;
    r.batch_tokens = 2048;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && more) out = argv[++i];
        else if (!strcmp(a, "--select") && more) select_s = argv[++i];
        else if (!strcmp(a, "--fraction") && more) {
            char *e; fraction = strtod(argv[++i], &e);
            if (*e || !(fraction >= 0 && fraction <= 1)) { fprintf(stderr, "modex: --fraction: '%s' (a number in 0..1)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--count") && more) {
            count = atoi(argv[++i]);
            if (count <= 0) { fprintf(stderr, "modex: --count: '%s' (a positive integer)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--layers") && more) layers_s = argv[++i];
        else if (!strcmp(a, "--mask") && more) mask_s = argv[++i];
        else if (!strcmp(a, "--mode") && more) mode_s = argv[++i];
        else if (!strcmp(a, "--repeats") && more) {
            r.repeats = atoi(argv[++i]);
            if (r.repeats < 0) { fprintf(stderr, "modex: --repeats: '%s' (0 or more)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--seed") && more) r.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--experts") && more) r.ao.n_experts = atoi(argv[++i]);
        else if (!strcmp(a, "--expert-size") && more) r.ao.expert_size = atoi(argv[++i]);
        else if (!strcmp(a, "--batch-tokens") && more) r.batch_tokens = atoi(argv[++i]);
        else if (!strcmp(a, "--answer") && more) {
            const char *v = argv[++i];
            if (strcmp(v, "first") && strcmp(v, "all")) { fprintf(stderr, "modex: --answer: '%s' (first or all)\n", v); return 2; }
            r.answer_all = !strcmp(v, "all");
        } else if (!strcmp(a, "--tokenizer") && more) tok_path = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--force")) force = 1;
        else if (a[0] != '-' && !model_path) model_path = a;
        else if (a[0] != '-' && !probe_path) probe_path = a;
        else { fprintf(stderr, "modex: perturb: unknown argument '%s' (see modex perturb --help)\n", a); return 2; }
    }
    if (!model_path || !probe_path || !out) { usage(stderr); return 2; }
    if (modex_perturb_mode_parse(mode_s, &r.mode)) { fprintf(stderr, "modex: --mode: '%s' (zero, mean or shuffle)\n", mode_s); return 2; }
    modex_set_threads(threads);
    Error err = {0};
    Probe probe;
    Model *m;
    Tokenizer *t;
    if (modex_cli_open_inputs(model_path, probe_path, tok_path, &probe, &m, &t)) return 2;
    int rc = 2, L = m->cfg.n_layer;
    JobQueue *q = NULL;
    Job *j = NULL;
    r.m = m; r.t = t; r.p = &probe;
    r.layers = modex_xmalloc((size_t)L + 1);
    memset(r.layers, 1, (size_t)L);
    if (layers_s && modex_parse_ranges(layers_s, L, r.layers)) {
        fprintf(stderr, "modex: --layers: '%s' (e.g. 0-5,8 with layers 0..%d)\n", layers_s, L - 1);
        goto out;
    }
    if (mask_s) {
        if (parse_mask(&r, mask_s, L)) { fprintf(stderr, "modex: --mask: '%s' (LAYER:EXPERT,... with layers 0..%d)\n", mask_s, L - 1); goto out; }
        memset(r.layers, 0, (size_t)L);
        for (int i = 0; i < r.n_mask; i++) r.layers[r.mask_l[i]] = 1;
        r.need_analysis = 1;
        snprintf(r.selection, sizeof r.selection, "mask:%s", mask_s);
    } else {
        if (modex_perturb_select_parse(&r.sel, select_s, &probe, &err)) { modex_error_print(&err); goto out; }
        r.sel.fraction = fraction;
        r.sel.count = count;
        r.sel.layers = r.layers;
        r.sel.seed = r.seed;
        r.use_select = 1;
        r.need_analysis = r.sel.kind != SELECT_RANDOM;
        snprintf(r.selection, sizeof r.selection, "%s", select_s);
    }
    r.ao.layers = r.layers;
    r.ao.seed = r.seed;
    const char *names[] = {"perturbation.csv"};
    if ((rc = interv_out_check(out, names, 1, force))) goto out;
    rc = 2;
    q = modex_jobs_new();
    j = modex_job_submit(q, "perturb", job_fn, &r, NULL);
    if ((rc = modex_cli_run_job(q, j)) != 0) goto out;
    rc = 2;
    if (interv_write_csv(out, "perturbation.csv", force, write_rows, &r, &err)) { modex_error_print(&err); goto out; }
    fprintf(stderr, "modex: masked %d neurons in layers %s; wrote %s/perturbation.csv\n", modex_mask_count(&r.mask), r.label, out);
    rc = 0;
out:
    if (j) modex_job_release(j);
    if (q) modex_jobs_free(q);
    if (r.have_a) modex_analysis_free(&r.a);
    modex_mask_free(&r.mask);
    modex_perturb_result_free(&r.clean);
    modex_perturb_result_free(&r.after);
    free(r.bm); free(r.bs); free(r.bml); free(r.bsl);
    free(r.mask_l); free(r.mask_e); free(r.layers);
    modex_tok_free(t);
    modex_model_free(m);
    modex_probe_free(&probe);
    return rc;
}
MODEX_COMMAND(perturb, "mask neurons or experts and measure each sub-function (with a random baseline)", cmd_perturb)
