/* cmd_taskneurons.c — `modex taskneurons MODEL PROBE.csv -o DIR`: Pochinkov-style task-specific
 * neurons, their overlap between sub-functions and with the experts (method.md §9). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_interv.h"
#include "modex/cli.h"
#include "modex/job.h"
#include "modex/parallel.h"
#include "modex/stats.h"
#include "modex/taskneurons.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modex taskneurons MODEL PROBE.csv -o DIR [options]\n\n"
            "Importance of each FFN neuron for each sub-function (Pochinkov et al.): mean |example\n"
            "activation| over the sub-function's positive examples / over every other example of\n"
            "the probe. Keeps the top fraction per sub-function and layer and writes into DIR:\n"
            "  task_neurons.csv   layer,function,subfunction,rank,neuron,importance,expert\n"
            "  overlap.csv        layer,function_a,subfunction_a,function_b,subfunction_b,jaccard\n"
            "  task_experts.csv   layer,function,subfunction,expert,count,jaccard (experts holding\n"
            "                     top neurons: how many, and the Jaccard of the two sets)\n\n"
            "options:\n"
            "  -o, --out DIR          output folder (created if missing)\n"
            "  --fraction F           top fraction of each layer's neurons (default 0.05)\n"
            "  --agg max|mean|last|span   example activation over its tokens (default mean)\n"
            "  --layers LIST          layers (default all)\n"
            "  --experts E            experts per layer (default: d_ff / expert size)\n"
            "  --expert-size S        neurons per expert (default 32)\n"
            "  --seed N               k-means seed (default 0)\n"
            "  --tokenizer PATH       tokenizer (default: found beside the model)\n"
            "  --threads N            threads (default: all cores)\n"
            "  --force                overwrite existing outputs\n"
            "Exit status: 0 done, 2 bad input, 130 interrupted (nothing written).\n");
}

typedef struct Run {
    const Model *m; const Tokenizer *t; const Probe *p;
    AnalysisOpts ao;
    double fraction;
    Analysis a; int have_a;
    TaskNeurons tn;
} Run;


static int job_fn(Job *j, void *arg) {
    Run *r = arg;
    Error err = {0};
    AnalysisProgress pr = {j, modex_job_cb_cancelled, modex_job_cb_stage, modex_job_cb_progress, NULL};
    int rc = modex_analysis_run(&r->a, r->m, r->t, r->p, &r->ao, &pr, &err);
    r->have_a = 1;
    if (!rc) rc = modex_taskneurons_compute(&r->a, r->fraction, &r->tn, &err);
    if (rc < 0) modex_job_fail(j, &err);
    return rc;
}

static void w_neurons(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    const TaskNeurons *t = &r->tn;
    const Probe *p = r->p;
    modex_csv_header(c, "layer,function,subfunction,rank,neuron,importance,expert");
    for (int l = 0; l < t->n_layer; l++) {
        if (!t->layer_on[l]) continue;
        for (int s = 0; s < t->n_subs; s++)
            for (int i = 0; i < t->k; i++) {
                int j = t->top[((size_t)l * t->n_subs + s) * t->k + i];
                modex_csv_int(c, l);
                modex_csv_str(c, p->funcs[p->subs[s].function]);
                modex_csv_str(c, p->subs[s].name);
                modex_csv_int(c, i + 1);
                modex_csv_int(c, j);
                modex_csv_num(c, t->importance[((size_t)l * t->n_subs + s) * t->width + j]);
                modex_csv_int(c, r->a.layers[l].assign ? r->a.layers[l].assign[j] : -1);
                modex_csv_end_row(c);
            }
    }
}

static void w_overlap(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    const TaskNeurons *t = &r->tn;
    const Probe *p = r->p;
    modex_csv_header(c, "layer,function_a,subfunction_a,function_b,subfunction_b,jaccard");
    for (int l = 0; l < t->n_layer; l++) {
        if (!t->layer_on[l]) continue;
        for (int s = 0; s < t->n_subs; s++)
            for (int u = 0; u < t->n_subs; u++) {
                modex_csv_int(c, l);
                modex_csv_str(c, p->funcs[p->subs[s].function]);
                modex_csv_str(c, p->subs[s].name);
                modex_csv_str(c, p->funcs[p->subs[u].function]);
                modex_csv_str(c, p->subs[u].name);
                modex_csv_num(c, t->jaccard[((size_t)l * t->n_subs + s) * t->n_subs + u]);
                modex_csv_end_row(c);
            }
    }
}

static void w_experts(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    const TaskNeurons *t = &r->tn;
    const Probe *p = r->p;
    modex_csv_header(c, "layer,function,subfunction,expert,count,jaccard");
    int *members = modex_xmalloc(sizeof(int) * (size_t)(t->width + 1));
    for (int l = 0; l < t->n_layer; l++) {
        const LayerResult *R = &r->a.layers[l];
        if (!t->layer_on[l] || !R->assign) continue;
        for (int s = 0; s < t->n_subs; s++) {
            const int *top = t->top + ((size_t)l * t->n_subs + s) * t->k;
            for (int e = 0; e < R->E; e++) {
                int cnt = 0, n = 0;
                for (int i = 0; i < t->k; i++) cnt += top[i] >= 0 && R->assign[top[i]] == e;
                if (!cnt) continue;
                for (int j = 0; j < t->width; j++) if (R->assign[j] == e) members[n++] = j;
                modex_csv_int(c, l);
                modex_csv_str(c, p->funcs[p->subs[s].function]);
                modex_csv_str(c, p->subs[s].name);
                modex_csv_int(c, e);
                modex_csv_int(c, cnt);
                modex_csv_num(c, modex_jaccard(top, t->k, members, n));
                modex_csv_end_row(c);
            }
        }
    }
    free(members);
}

static int cmd_taskneurons(int argc, char **argv) {
    const char *model_path = NULL, *probe_path = NULL, *out = NULL, *tok_path = NULL, *layers_s = NULL;
    int force = 0, threads = 0;
    Run r;
    memset(&r, 0, sizeof r);
    modex_analysis_defaults(&r.ao);
    r.ao.shuffles = 0;
    r.ao.agg = AGG_MEAN;
    r.fraction = 0.05;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && more) out = argv[++i];
        else if (!strcmp(a, "--fraction") && more) {
            char *e; r.fraction = strtod(argv[++i], &e);
            if (*e || !(r.fraction > 0 && r.fraction <= 1)) { fprintf(stderr, "modex: --fraction: '%s' (a number in (0, 1])\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--agg") && more) {
            if (modex_agg_parse(argv[++i], &r.ao.agg)) { fprintf(stderr, "modex: --agg: '%s' (max, mean, last or span)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--layers") && more) layers_s = argv[++i];
        else if (!strcmp(a, "--experts") && more) r.ao.n_experts = atoi(argv[++i]);
        else if (!strcmp(a, "--expert-size") && more) r.ao.expert_size = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && more) r.ao.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--tokenizer") && more) tok_path = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--force")) force = 1;
        else if (a[0] != '-' && !model_path) model_path = a;
        else if (a[0] != '-' && !probe_path) probe_path = a;
        else { fprintf(stderr, "modex: taskneurons: unknown argument '%s' (see modex taskneurons --help)\n", a); return 2; }
    }
    if (!model_path || !probe_path || !out) { usage(stderr); return 2; }
    modex_set_threads(threads);
    Probe probe;
    Model *m;
    Tokenizer *t;
    if (modex_cli_open_inputs(model_path, probe_path, tok_path, &probe, &m, &t)) return 2;
    int rc = 2, L = m->cfg.n_layer;
    unsigned char *layers = NULL;
    JobQueue *q = NULL;
    Job *j = NULL;
    r.m = m; r.t = t; r.p = &probe;
    if (layers_s) {
        layers = modex_xmalloc((size_t)L);
        if (modex_parse_ranges(layers_s, L, layers)) { fprintf(stderr, "modex: --layers: '%s' (e.g. 0-5,8 with layers 0..%d)\n", layers_s, L - 1); goto out; }
        r.ao.layers = layers;
    }
    const char *names[] = {"task_neurons.csv", "overlap.csv", "task_experts.csv"};
    if ((rc = interv_out_check(out, names, 3, force))) goto out;
    rc = 2;
    q = modex_jobs_new();
    j = modex_job_submit(q, "taskneurons", job_fn, &r, NULL);
    if ((rc = modex_cli_run_job(q, j)) != 0) goto out;
    rc = 2;
    void (*fns[3])(void *, CsvOut *) = {w_neurons, w_overlap, w_experts};
    if (interv_write_all(out, names, fns, 3, force, &r)) goto out;
    fprintf(stderr, "modex: top %d neurons per sub-function and layer; wrote task_neurons.csv, overlap.csv, task_experts.csv to %s\n", r.tn.k, out);
    rc = 0;
out:
    if (j) modex_job_release(j);
    if (q) modex_jobs_free(q);
    modex_taskneurons_free(&r.tn);
    if (r.have_a) modex_analysis_free(&r.a);
    free(layers);
    modex_tok_free(t);
    modex_model_free(m);
    modex_probe_free(&probe);
    return rc;
}
MODEX_COMMAND(taskneurons, "task-specific neurons (importance ratio), their overlaps and experts", cmd_taskneurons)
