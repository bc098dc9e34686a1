/* perturb_job.c — a perturbation experiment on the job queue (the explorer's live masking):
 * clean → masked → random draws, a PerturbSnap published after each step. */
#include "modex/job.h"
#include "modex/perturb.h"
#include "modex/util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct PJob {
    Perturber *pt;
    PerturbMask mask;
    PerturbMode mode;
    int **assign; int n_layer;
    int E, draws;
    unsigned long long seed;
    Job *job;
    /* accumulated */
    PerturbResult clean, masked;
    double *vals;   /* [draws x n_subs] */
    int done;
} PJob;

static void pjob_free(void *a) {
    PJob *j = a;
    modex_mask_free(&j->mask);
    if (j->assign) for (int l = 0; l < j->n_layer; l++) free(j->assign[l]);
    free(j->assign);
    modex_perturb_result_free(&j->clean);
    modex_perturb_result_free(&j->masked);
    free(j->vals);
    free(j);
}

static void snap_free(void *d) {
    PerturbSnap *s = d;
    free(s->kind); free(s->clean); free(s->masked); free(s->rand_mean); free(s->rand_sd);
    free(s->clean_loss); free(s->masked_loss);
    free(s);
}

static double *nan_array(int n) {
    double *a = modex_xmalloc(sizeof(double) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) a[i] = NAN;
    return a;
}

static void publish(PJob *j, int finished) {
    int ns = j->clean.n_subs;
    PerturbSnap *s = modex_xcalloc(1, sizeof *s);
    s->n_subs = ns;
    s->kind = modex_xmalloc(sizeof(int) * (size_t)(ns + 1));
    memcpy(s->kind, j->clean.kind, sizeof(int) * (size_t)ns);
    s->clean = nan_array(ns); s->masked = nan_array(ns); s->rand_mean = nan_array(ns); s->rand_sd = nan_array(ns);
    s->clean_loss = nan_array(ns); s->masked_loss = nan_array(ns);
    memcpy(s->clean, j->clean.value, sizeof(double) * (size_t)ns);
    memcpy(s->clean_loss, j->clean.loss, sizeof(double) * (size_t)ns);
    if (j->masked.value) {
        memcpy(s->masked, j->masked.value, sizeof(double) * (size_t)ns);
        memcpy(s->masked_loss, j->masked.loss, sizeof(double) * (size_t)ns);
    }
    for (int k = 0; k < ns && j->done > 0; k++) {
        double m = 0, q = 0;
        for (int d = 0; d < j->done; d++) m += j->vals[(size_t)d * ns + k];
        m /= j->done;
        for (int d = 0; d < j->done; d++) { double z = j->vals[(size_t)d * ns + k] - m; q += z * z; }
        s->rand_mean[k] = m;
        s->rand_sd[k] = j->done >= 2 ? sqrt(q / (j->done - 1)) : NAN;
    }
    s->draws_done = j->done;
    s->draws = j->draws;
    s->finished = finished;
    s->mode = j->mode;
    s->n_masked = modex_mask_count(&j->mask);
    modex_job_publish(j->job, modex_snapshot_new(s, snap_free));
}

static int cb_cancelled(void *ctx) { return modex_job_cancelled(((PJob *)ctx)->job); }

static int run(Job *job, void *arg) {
    PJob *j = arg;
    j->job = job;
    Error err = {0};
    int rc;
    modex_job_stage(job, "clean", 1, 3);
    if ((rc = modex_perturber_clean(j->pt, &j->clean, cb_cancelled, j, &err))) goto out;
    publish(j, 0);
    modex_job_stage(job, "masked", 2, 3);
    if ((rc = modex_perturber_eval(j->pt, &j->mask, j->mode, j->seed, &j->masked, cb_cancelled, j, &err))) goto out;
    publish(j, j->draws <= 0);
    if (j->draws <= 0) goto out;
    modex_job_stage(job, "random", 3, 3);
    int ns = j->clean.n_subs;
    j->vals = modex_xmalloc(sizeof(double) * ((size_t)j->draws * ns + 1));
    for (int d = 0; d < j->draws; d++) {
        PerturbResult r = {0};
        rc = modex_perturber_random_draw(j->pt, &j->mask, (const int *const *)j->assign, j->E, j->mode, j->seed, d, &r,
                                         cb_cancelled, j, &err);
        if (rc) goto out;
        memcpy(j->vals + (size_t)d * ns, r.value, sizeof(double) * (size_t)ns);
        modex_perturb_result_free(&r);
        j->done = d + 1;
        modex_job_progress(job, (double)j->done / j->draws);
        publish(j, j->done == j->draws);
    }
out:
    if (rc < 0) modex_job_fail(job, &err);
    return rc;
}

Job *modex_perturb_submit(JobQueue *q, Perturber *pt, const PerturbMask *mask, PerturbMode mode, const int *const *assign,
                          int E, int draws, unsigned long long seed) {
    PJob *j = modex_xcalloc(1, sizeof *j);
    j->pt = pt;
    modex_mask_copy(&j->mask, mask);
    j->mode = mode;
    j->n_layer = mask->n_layer;
    if (assign) {
        j->assign = modex_xcalloc((size_t)mask->n_layer, sizeof(int *));
        for (int l = 0; l < mask->n_layer; l++)
            if (assign[l]) {
                j->assign[l] = modex_xmalloc(sizeof(int) * (size_t)mask->width);
                memcpy(j->assign[l], assign[l], sizeof(int) * (size_t)mask->width);
            }
    }
    j->E = E;
    j->draws = draws > 0 ? draws : 0;
    j->seed = seed;
    return modex_job_submit(q, "perturb", run, j, pjob_free);
}
