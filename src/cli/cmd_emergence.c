/* cmd_emergence.c — `modex emergence CKPT_1 ... CKPT_n --probe PROBE.csv -o DIR`: how neuron and
 * expert specialisation settle during training (method.md §7). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_interv.h"
#include "modex/cli.h"
#include "modex/emergence.h"
#include "modex/job.h"
#include "modex/parallel.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modex emergence CKPT_1 ... CKPT_n --probe PROBE.csv -o DIR [options]\n"
            "       modex emergence RUN_FOLDER --probe PROBE.csv -o DIR [options]\n\n"
            "Analyses every checkpoint of one training run (a folder of checkpoints is sorted by the\n"
            "step number in the sub-folder names) and, between consecutive checkpoints, computes\n"
            "Spearman's rho of each sub-function's neuron AP vector and of its expert mean-AP\n"
            "vector (experts of each layer fixed from the last checkpoint), with random equal\n"
            "partitions as the baseline. Writes into DIR:\n"
            "  emergence.csv          step,layer,function,subfunction,rho_neurons,rho_experts,rho_experts_random\n"
            "                         (step = the later checkpoint of the pair)\n"
            "  emergence_summary.csv  step,function,rho_neurons,rho_experts,rho_experts_random\n"
            "                         (mean over the function's sub-functions, then layers; function all)\n"
            "  stabilisation.csv      function,measure,threshold,step (first checkpoint from which\n"
            "                         every later pair's mean rho is >= threshold; empty = never)\n\n"
            "options:\n"
            "  --probe PROBE.csv      the probe (required)\n"
            "  -o, --out DIR          output folder (created if missing)\n"
            "  --threshold T          stabilisation threshold (default 0.9)\n"
            "  --shuffles N           random partitions (default 20)\n"
            "  --experts E            experts per layer (default: d_ff / expert size)\n"
            "  --expert-size S        neurons per expert (default 32)\n"
            "  --agg max|mean|last|span   example activation over its tokens (default max)\n"
            "  --layers LIST          layers (default all)\n"
            "  --seed N               k-means and random partitions (default 0)\n"
            "  --tokenizer PATH       one tokenizer for all (default: each checkpoint's own)\n"
            "  --threads N            threads (default: all cores)\n"
            "  --force                overwrite existing outputs\n"
            "Exit status: 0 done, 2 bad input, 130 interrupted (nothing written).\n");
}

typedef struct Run {
    char **paths; long *steps; int n;
    const Tokenizer *t;
    const Probe *p;
    EmergenceOpts o;
    EmergenceResult r;
} Run;


static int job_fn(Job *j, void *arg) {
    Run *r = arg;
    Error err = {0};
    EmergenceProgress pr = {j, modex_job_cb_cancelled, modex_job_cb_stage, modex_job_cb_progress};
    int rc = modex_emergence_run(r->paths, r->steps, r->n, r->t, r->p, &r->o, &pr, &r->r, &err);
    if (rc < 0) modex_job_fail(j, &err);
    return rc;
}

static void w_main(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    const EmergenceResult *e = &r->r;
    const Probe *p = r->p;
    modex_csv_header(c, "step,layer,function,subfunction,rho_neurons,rho_experts,rho_experts_random");
    for (int i = 0; i + 1 < e->n_ckpt; i++)
        for (int l = 0; l < e->n_layer; l++) {
            if (!e->layer_on[l]) continue;
            for (int s = 0; s < p->n_subs; s++) {
                size_t q = ((size_t)i * e->n_layer + l) * e->n_subs + s;
                modex_csv_int(c, e->step[i + 1]);
                modex_csv_int(c, l);
                modex_csv_str(c, p->funcs[p->subs[s].function]);
                modex_csv_str(c, p->subs[s].name);
                modex_csv_num(c, e->rho_n[q]);
                modex_csv_num(c, e->rho_e[q]);
                modex_csv_num(c, e->rho_r[q]);
                modex_csv_end_row(c);
            }
        }
}

static void w_summary(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    const EmergenceResult *e = &r->r;
    modex_csv_header(c, "step,function,rho_neurons,rho_experts,rho_experts_random");
    for (int i = 0; i + 1 < e->n_ckpt; i++)
        for (int f = -1; f < r->p->n_funcs; f++) {
            modex_csv_int(c, e->step[i + 1]);
            modex_csv_str(c, f < 0 ? "all" : r->p->funcs[f]);
            for (int k = 0; k < 3; k++) modex_csv_num(c, modex_emergence_mean(e, r->p, f, k, i));
            modex_csv_end_row(c);
        }
}

static const char *measures[] = {"rho_neurons", "rho_experts", "rho_experts_random"};

static void w_stable(void *ctx, CsvOut *c) {
    const Run *r = ctx;
    modex_csv_header(c, "function,measure,threshold,step");
    for (int f = -1; f < r->p->n_funcs; f++)
        for (int k = 0; k < 3; k++) {
            long s = modex_emergence_stable(&r->r, r->p, f, k, r->o.threshold);
            modex_csv_str(c, f < 0 ? "all" : r->p->funcs[f]);
            modex_csv_str(c, measures[k]);
            modex_csv_num(c, r->o.threshold);
            if (s >= 0) modex_csv_int(c, s); else modex_csv_str(c, "");
            modex_csv_end_row(c);
        }
}

static int cmd_emergence(int argc, char **argv) {
    const char *probe_path = NULL, *out = NULL, *tok_path = NULL, *layers_s = NULL;
    int force = 0, threads = 0, n_args = 0;
    const char **args = modex_xcalloc((size_t)argc + 1, sizeof(char *));
    Run r;
    memset(&r, 0, sizeof r);
    modex_emergence_defaults(&r.o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (modex_is_help(a)) { usage(stdout); free(args); return 0; }
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && more) out = argv[++i];
        else if (!strcmp(a, "--probe") && more) probe_path = argv[++i];
        else if (!strcmp(a, "--threshold") && more) {
            char *e; r.o.threshold = strtod(argv[++i], &e);
            if (*e || !(r.o.threshold >= -1 && r.o.threshold <= 1)) { fprintf(stderr, "modex: --threshold: '%s' (a number in -1..1)\n", argv[i]); free(args); return 2; }
        } else if (!strcmp(a, "--shuffles") && more) {
            r.o.shuffles = atoi(argv[++i]);
            if (r.o.shuffles < 0) { fprintf(stderr, "modex: --shuffles: '%s' (0 or more)\n", argv[i]); free(args); return 2; }
        } else if (!strcmp(a, "--experts") && more) r.o.ao.n_experts = atoi(argv[++i]);
        else if (!strcmp(a, "--expert-size") && more) r.o.ao.expert_size = atoi(argv[++i]);
        else if (!strcmp(a, "--agg") && more) {
            if (modex_agg_parse(argv[++i], &r.o.ao.agg)) { fprintf(stderr, "modex: --agg: '%s' (max, mean, last or span)\n", argv[i]); free(args); return 2; }
        } else if (!strcmp(a, "--layers") && more) layers_s = argv[++i];
        else if (!strcmp(a, "--seed") && more) { r.o.seed = strtoull(argv[++i], NULL, 10); r.o.ao.seed = r.o.seed; }
        else if (!strcmp(a, "--tokenizer") && more) tok_path = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--force")) force = 1;
        else if (a[0] != '-') args[n_args++] = a;
        else { fprintf(stderr, "modex: emergence: unknown argument '%s' (see modex emergence --help)\n", a); free(args); return 2; }
    }
    if (!probe_path || !out || !n_args) { usage(stderr); free(args); return 2; }
    modex_set_threads(threads);
    Error err = {0};
    Probe probe;
    int rc = 2;
    Tokenizer *t = NULL;
    unsigned char *layers = NULL;
    JobQueue *q = NULL;
    Job *j = NULL;
    if (modex_probe_load(&probe, probe_path, &err)) { modex_error_print(&err); free(args); return 2; }
    r.p = &probe;
    if ((r.n = modex_emergence_list(args, n_args, &r.paths, &r.steps, &err)) < 0) { modex_error_print(&err); r.n = 0; goto out; }
    if (tok_path && !(t = modex_tok_load(tok_path, &err))) { modex_error_print(&err); goto out; }
    r.t = t;
    if (layers_s) {
        /* the layer count comes from the first checkpoint */
        Model *m = modex_model_open(r.paths[0], &err);
        if (!m) { modex_error_print(&err); goto out; }
        int L = m->cfg.n_layer;
        modex_model_free(m);
        layers = modex_xmalloc((size_t)L);
        if (modex_parse_ranges(layers_s, L, layers)) { fprintf(stderr, "modex: --layers: '%s' (e.g. 0-5,8 with layers 0..%d)\n", layers_s, L - 1); goto out; }
        r.o.ao.layers = layers;
    }
    const char *names[] = {"emergence.csv", "emergence_summary.csv", "stabilisation.csv"};
    if ((rc = interv_out_check(out, names, 3, force))) goto out;
    rc = 2;
    q = modex_jobs_new();
    j = modex_job_submit(q, "emergence", job_fn, &r, NULL);
    if ((rc = modex_cli_run_job(q, j)) != 0) goto out;
    rc = 2;
    void (*fns[3])(void *, CsvOut *) = {w_main, w_summary, w_stable};
    if (interv_write_all(out, names, fns, 3, force, &r)) goto out;
    for (int k = 0; k < 3; k++) {
        long s = modex_emergence_stable(&r.r, &probe, -1, k, r.o.threshold);
        if (s >= 0) fprintf(stderr, "modex: %s stays >= %g from step %ld\n", measures[k], r.o.threshold, s);
        else fprintf(stderr, "modex: %s does not stay >= %g\n", measures[k], r.o.threshold);
    }
    fprintf(stderr, "modex: %d checkpoints; wrote emergence.csv, emergence_summary.csv, stabilisation.csv to %s\n", r.n, out);
    rc = 0;
out:
    if (j) modex_job_release(j);
    if (q) modex_jobs_free(q);
    modex_emergence_free(&r.r);
    modex_emergence_list_free(r.paths, r.n);
    free(r.steps);
    free(layers);
    free(args);
    modex_tok_free(t);
    modex_probe_free(&probe);
    return rc;
}
MODEX_COMMAND(emergence, "Spearman of neuron and expert AP between training checkpoints (stabilisation)", cmd_emergence)
