/* analysis_job.c — the analysis on the job queue's worker: progress and stages reported to
 * the job, a snapshot published after every finished layer. */
#include "modex/analysis.h"
#include "modex/job.h"
#include "modex/util.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct AnalysisHolder {
    atomic_int refs;
    Analysis a;
    const Model *m;
    const Tokenizer *t;
    const Probe *p;
    AnalysisOpts o;
    unsigned char *layers;
    Job *job;
} AnalysisHolder;

static void holder_release(AnalysisHolder *h) {
    if (atomic_fetch_sub(&h->refs, 1) == 1) {
        modex_analysis_free(&h->a);
        free(h->layers);
        free(h);
    }
}

static void snap_free(void *d) {
    AnalysisSnap *s = d;
    holder_release(s->holder);
    free(s->done);
    free(s);
}

static void publish(AnalysisHolder *h, int finished) {
    AnalysisSnap *s = modex_xcalloc(1, sizeof *s);
    atomic_fetch_add(&h->refs, 1);
    s->holder = h;
    s->a = &h->a;
    int L = h->m->cfg.n_layer;
    s->done = modex_xcalloc((size_t)L, 1);
    for (int l = 0; l < L; l++) {
        s->done[l] = h->a.layers ? (unsigned char)h->a.layers[l].done : 0;
        s->n_done += s->done[l];
        s->n_wanted += !h->o.layers || h->o.layers[l];
    }
    s->finished = finished;
    modex_job_publish(h->job, modex_snapshot_new(s, snap_free));
}

static int cb_cancelled(void *ctx) { return modex_job_cancelled(((AnalysisHolder *)ctx)->job); }
static void cb_stage(void *ctx, const char *name, int i, int n) { modex_job_stage(((AnalysisHolder *)ctx)->job, name, i, n); }
static void cb_progress(void *ctx, double f) { modex_job_progress(((AnalysisHolder *)ctx)->job, f); }
static void cb_layer(void *ctx, const Analysis *a, int l) { (void)a; (void)l; publish(ctx, 0); }

static int run(Job *j, void *arg) {
    AnalysisHolder *h = arg;
    h->job = j;
    AnalysisProgress pr = {h, cb_cancelled, cb_stage, cb_progress, cb_layer};
    Error err = {0};
    int rc = modex_analysis_run(&h->a, h->m, h->t, h->p, &h->o, &pr, &err);
    if (rc < 0) { modex_job_fail(j, &err); return -1; }
    if (rc > 0) return 1;
    publish(h, 1);
    return 0;
}

static void free_arg(void *arg) { holder_release(arg); }

Job *modex_analysis_submit(JobQueue *q, const Model *m, const Tokenizer *t, const Probe *p, const AnalysisOpts *o) {
    AnalysisHolder *h = modex_xcalloc(1, sizeof *h);
    atomic_init(&h->refs, 1);
    h->m = m; h->t = t; h->p = p; h->o = *o;
    if (o->layers) {
        h->layers = modex_xmalloc((size_t)m->cfg.n_layer);
        memcpy(h->layers, o->layers, (size_t)m->cfg.n_layer);
        h->o.layers = h->layers;
    }
    return modex_job_submit(q, "analysis", run, h, free_arg);
}
