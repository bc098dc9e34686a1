/* cmd_analyze.c — `modex analyze MODEL PROBE.csv -o DIR`: the analysis job headless. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "modex/analysis.h"
#include "modex/cli.h"
#include "modex/job.h"
#include "modex/parallel.h"
#include "modex/util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: modex analyze MODEL PROBE.csv -o DIR [options]\n\n"
            "Runs every probe text through the model, then per layer: neuron predictivity (average\n"
            "precision, as scikit-learn), MoEfication experts, functional-expert tests and heatmaps.\n"
            "Writes predictivity.csv neurons.csv experts.csv functional_experts.csv heatmap.csv\n"
            "summary.csv subfunctions.csv into DIR, all or none; existing files are refused\n"
            "unless --force.\n\n"
            "options:\n"
            "  -o, --out DIR          output folder (created if missing)\n"
            "  --experts E            experts per layer (default: d_ff / expert size)\n"
            "  --expert-size S        neurons per expert (default 32)\n"
            "  --split param|coact    balanced k-means of the keys (default), or co-activation + METIS\n"
            "  --agg max|mean|last|span   example activation over its tokens (default max)\n"
            "  --layers LIST          e.g. 0-5,8 (default all)\n"
            "  --random-init SEED     also analyse a random-init copy (baseline columns)\n"
            "  --seed N               seed of k-means and random partitions (default 0)\n"
            "  --shuffles N           random partitions for the baseline (default 200)\n"
            "  --tokenizer PATH       tokenizer (default: found beside the model)\n"
            "  --threads N            threads for BLAS and modex (default: all cores)\n"
            "  --force                overwrite existing output files\n"
            "Exit status: 0 done, 2 bad input, 130 interrupted (nothing written).\n");
}

static int cmd_analyze(int argc, char **argv) {
    const char *model_path = NULL, *probe_path = NULL, *out = NULL, *tok_path = NULL, *layers_s = NULL;
    int force = 0, threads = 0;
    AnalysisOpts o;
    modex_analysis_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (modex_is_help(a)) { usage(stdout); return 0; }
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && more) out = argv[++i];
        else if (!strcmp(a, "--experts") && more) o.n_experts = atoi(argv[++i]);
        else if (!strcmp(a, "--expert-size") && more) o.expert_size = atoi(argv[++i]);
        else if (!strcmp(a, "--split") && more) {
            if (modex_split_parse(argv[++i], &o.split) || o.split == SPLIT_NATIVE) { fprintf(stderr, "modex: --split: '%s' (param or coact)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--agg") && more) {
            if (modex_agg_parse(argv[++i], &o.agg)) { fprintf(stderr, "modex: --agg: '%s' (max, mean, last or span)\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--layers") && more) layers_s = argv[++i];
        else if (!strcmp(a, "--random-init") && more) { o.random_init = 1; o.random_seed = strtoull(argv[++i], NULL, 10); }
        else if (!strcmp(a, "--seed") && more) o.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--shuffles") && more) o.shuffles = atoi(argv[++i]);
        else if (!strcmp(a, "--tokenizer") && more) tok_path = argv[++i];
        else if (!strcmp(a, "--threads") && more) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--force")) force = 1;
        else if (a[0] != '-' && !model_path) model_path = a;
        else if (a[0] != '-' && !probe_path) probe_path = a;
        else { fprintf(stderr, "modex: analyze: unknown argument '%s' (see modex analyze --help)\n", a); return 2; }
    }
    if (!model_path || !probe_path || !out) { usage(stderr); return 2; }
    modex_set_threads(threads);
    Error err = {0};
    Probe probe;
    Model *m;
    Tokenizer *t;
    if (modex_cli_open_inputs(model_path, probe_path, tok_path, &probe, &m, &t)) return 2;
    int rc = 2;
    unsigned char *mask = NULL;
    JobQueue *q = NULL;
    Job *j = NULL;
    if (layers_s) {
        mask = modex_xmalloc((size_t)m->cfg.n_layer);
        if (modex_parse_ranges(layers_s, m->cfg.n_layer, mask)) {
            fprintf(stderr, "modex: --layers: '%s' (e.g. 0-5,8 with layers 0..%d)\n", layers_s, m->cfg.n_layer - 1);
            goto out;
        }
        o.layers = mask;
    }
    /* refuse a bad or occupied output folder before any work; a missing one is created only
     * when there is something to write (an interrupted run leaves nothing behind) */
    int out_exists = modex_file_exists(out);
    if (out_exists && !modex_path_is_dir(out)) {
        fprintf(stderr, "modex: %s: not a folder (the output folder of analyze: a new or existing folder)\n", out);
        goto out;
    }
    if (!out_exists) {
        char *parent = modex_xstrdup(out), *slash = strrchr(parent, '/');
        while (slash && slash > parent && slash[1] == 0) { *slash = 0; slash = strrchr(parent, '/'); } /* "dir/" */
        if (slash) slash[slash == parent ? 1 : 0] = 0; else strcpy(parent, ".");
        int ok = modex_path_is_dir(parent) && access(parent, W_OK) == 0;
        if (!ok) fprintf(stderr, "modex: %s: cannot create the output folder: %s is not a writable folder\n", out, parent);
        free(parent);
        if (!ok) goto out;
    }
    if (!force) {
        for (int i = 0; i < MODEX_ANALYSIS_N_FILES; i++) {
            char *p = modex_path_join(out, modex_analysis_files[i]);
            int ex = modex_file_exists(p);
            if (ex) fprintf(stderr, "modex: %s: already exists (another folder, or --force to overwrite)\n", p);
            free(p);
            if (ex) goto out;
        }
    }
    size_t bytes = modex_analysis_store_bytes(m, &probe, &o);
    fprintf(stderr, "modex: %d texts, %d units, %d sub-functions; activation store %.1f MiB\n", probe.n_texts, probe.n_units, probe.n_subs,
            (double)bytes / 1048576.0);
    q = modex_jobs_new();
    j = modex_analysis_submit(q, m, t, &probe, &o);
    if ((rc = modex_cli_run_job(q, j)) != 0) goto out;
    rc = 2;
    Snapshot *s = modex_job_latest(j);
    const AnalysisSnap *as = s ? modex_snapshot_data(s) : NULL;
    if (!as || !as->finished) { fprintf(stderr, "modex: analysis produced no result\n"); modex_snapshot_release(s); goto out; }
    if (!out_exists && mkdir(out, 0755) != 0 && !modex_path_is_dir(out)) {
        fprintf(stderr, "modex: %s: cannot create the output folder: %s\n", out, strerror(errno));
        modex_snapshot_release(s);
        goto out;
    }
    char *made = out_exists ? NULL : modex_xstrdup(out); /* a signal now removes it if still empty */
    if (made) modex_tmp_register(made);
    int wrc = modex_analysis_write(as->a, out, force, &err);
    if (wrc) {
        modex_error_print(&err);
        if (made) rmdir(out); /* made for this run: leave nothing */
    }
    if (made) { modex_tmp_unregister(made); free(made); }
    if (!wrc) {
        rc = 0;
        fprintf(stderr, "modex: wrote 6 files to %s (%d tokens, %.1f s)\n", out, as->a->n_tokens, as->a->seconds);
    }
    modex_snapshot_release(s);
out:
    if (j) modex_job_release(j);
    if (q) modex_jobs_free(q);
    free(mask);
    modex_tok_free(t);
    modex_model_free(m);
    modex_probe_free(&probe);
    return rc;
}
MODEX_COMMAND(analyze, "neuron predictivity, experts and functional experts of a probe set", cmd_analyze)
