/* session.c — what the explorer has open: model, tokenizer, probe set, the job queue with the
 * analysis and perturbation jobs, masks and options. No curses: the UI polls and draws. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "modex/forward.h"
#include "modex/session.h"
#include "modex/util.h"

static const char *view_names[VIEW_COUNT] = {"layers", "experts", "neurons", "perturb", "help"};

const char *modex_view_name(ViewId v) { return v >= 0 && v < VIEW_COUNT ? view_names[v] : "?"; }

int modex_view_parse(const char *s, ViewId *v) {
    for (int i = 0; i < VIEW_COUNT; i++)
        if (!strcmp(s, view_names[i]) || (!strcmp(s, "perturbation") && i == VIEW_PERTURB)) { *v = (ViewId)i; return 0; }
    return -1;
}

void modex_session_opts_defaults(SessionOpts *o) {
    memset(o, 0, sizeof *o);
    modex_analysis_defaults(&o->analysis);
    o->draws = 8;
    o->seed = 1;
    o->mode = PERTURB_ZERO;
}

void modex_session_msg(Session *s, int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    s->msg_err = err;
}

// --- jobs -----------------------------------------------------------------------------------------
static void drop_perturb(Session *s, int wait) {
    if (s->pjob) {
        modex_job_cancel(s->pjob);
        if (wait) modex_job_wait(s->pjob);
        modex_job_release(s->pjob);
        s->pjob = NULL;
    }
    modex_snapshot_release(s->psnap);
    s->psnap = NULL;
    s->ps = NULL;
}

static void drop_analysis(Session *s, int wait) {
    if (s->ajob) {
        modex_job_cancel(s->ajob);
        if (wait) modex_job_wait(s->ajob);
        modex_job_release(s->ajob);
        s->ajob = NULL;
    }
    modex_snapshot_release(s->asnap);
    s->asnap = NULL;
    s->as = NULL;
}

/* (Re)starts the analysis with the current options; masks refer to its experts: cleared. */
static void start_analysis(Session *s) {
    int had_perturb = s->pjob != NULL;
    drop_perturb(s, 0);
    drop_analysis(s, 0);
    if (s->mask.on) modex_mask_clear(&s->mask);
    s->mask_gen++;
    s->perturb_wanted = had_perturb; /* the perturbation view keeps its numbers (clean) */
    s->ajob = modex_analysis_submit(s->q, s->model, s->tok, &s->probe, &s->o.analysis);
    s->gen++;
}

const LayerResult *modex_session_layer(const Session *s, int layer) {
    if (!s->as || layer < 0 || layer >= s->as->a->n_layer || !s->as->done[layer]) return NULL;
    return &s->as->a->layers[layer];
}

/* Starts the perturbation job for the current mask (cancelling the previous one). */
static void start_perturb(Session *s) {
    drop_perturb(s, 0);
    if (!s->pt) {
        Error err = {0};
        s->pt = modex_perturber_new(s->model, s->tok, &s->probe, &err);
        if (!s->pt) { modex_session_msg(s, 1, "perturbation: %s", err.msg); s->perturb_wanted = 0; return; }
    }
    int L = s->model->cfg.n_layer, E = 0;
    const int **assign = modex_xcalloc((size_t)L, sizeof *assign);
    for (int l = 0; l < L; l++) {
        const LayerResult *lr = modex_session_layer(s, l);
        if (lr) { assign[l] = lr->assign; E = lr->E; }
    }
    s->pjob = modex_perturb_submit(s->q, s->pt, &s->mask, s->o.mode, (const int *const *)assign, E, s->o.draws, s->o.seed);
    free(assign);
    s->psnap_mask_gen = s->mask_gen;
}

int modex_session_poll(Session *s) {
    int changed = 0;
    if (s->ajob) {
        Snapshot *n = modex_job_latest(s->ajob);
        if (n && n != s->asnap) {
            modex_snapshot_release(s->asnap);
            s->asnap = n;
            s->as = modex_snapshot_data(n);
            s->agen++; /* a layer finished: layers are immutable once done */
            changed = 1;
        } else modex_snapshot_release(n);
    }
    if (s->perturb_wanted && (!s->pjob || s->psnap_mask_gen != s->mask_gen)) { start_perturb(s); changed = 1; }
    if (s->pjob) {
        Snapshot *n = modex_job_latest(s->pjob);
        if (n && n != s->psnap) {
            modex_snapshot_release(s->psnap);
            s->psnap = n;
            s->ps = modex_snapshot_data(n);
            if (s->t_toggle > 0 && s->t_updated == 0 && !isnan(s->ps->masked[0])) s->t_updated = modex_now();
            s->pgen++;
            changed = 1;
        } else modex_snapshot_release(n);
    }
    return changed;
}

static int job_running(Job *j) {
    if (!j) return 0;
    JobStatus st;
    modex_job_status(j, &st);
    return st.state == JOB_QUEUED || st.state == JOB_RUNNING;
}

int modex_session_busy(const Session *s) {
    return job_running(s->ajob) || job_running(s->pjob) || (s->perturb_wanted && s->psnap_mask_gen != s->mask_gen);
}

void modex_session_job_line(const Session *s, char *buf, int n, int width) {
    buf[0] = 0;
    Job *j = job_running(s->pjob) ? s->pjob : s->ajob;
    JobStatus st;
    if (!job_running(j) && s->pjob) { /* a failed perturbation says so */
        modex_job_status(s->pjob, &st);
        if (st.state == JOB_FAILED) j = s->pjob;
    }
    if (!j) return;
    modex_job_status(j, &st);
    if (st.state == JOB_DONE) { snprintf(buf, (size_t)n, "%s: done in %.1f s", modex_job_name(j), st.elapsed); return; }
    if (st.state == JOB_FAILED) { snprintf(buf, (size_t)n, "%s failed: %s", modex_job_name(j), st.error); return; }
    if (st.state == JOB_CANCELLED) { snprintf(buf, (size_t)n, "%s: cancelled", modex_job_name(j)); return; }
    modex_job_format_line(modex_job_name(j), &st, width, buf, n);
}

int modex_session_wait(Session *s, double timeout_s) {
    double t0 = modex_now();
    for (;;) {
        modex_session_poll(s);
        if (!modex_session_busy(s)) break;
        if (modex_now() - t0 > timeout_s) return -1;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    modex_session_poll(s);
    JobStatus st;
    if (s->ajob) { modex_job_status(s->ajob, &st); if (st.state == JOB_FAILED) { modex_session_msg(s, 1, "analysis: %s", st.error); return -1; } }
    if (s->pjob) { modex_job_status(s->pjob, &st); if (st.state == JOB_FAILED) { modex_session_msg(s, 1, "perturbation: %s", st.error); return -1; } }
    return 0;
}

// --- default model -----------------------------------------------------------------------------------
/* The bundled sample model: the first sample_models/<name>/ (beside the cwd or the binary)
 * holding a config.json; its probe.csv, else sample_models/probe.csv (what `make sample`
 * writes), else assets/probes/english.csv. */
static int find_sample(char *model, char *probe, size_t n) {
    char exe[PATH_MAX] = "", bases[2][PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(bases[0], PATH_MAX, "sample_models");
    if (k > 0) {
        exe[k] = 0;
        char *sl = strrchr(exe, '/');
        if (sl) *sl = 0;
        snprintf(bases[1], PATH_MAX, "%.3000s/../sample_models", exe);
    } else bases[1][0] = 0;
    for (int b = 0; b < 2; b++) {
        if (!bases[b][0]) continue;
        struct dirent **list = NULL;
        int m = scandir(bases[b], &list, NULL, alphasort);
        int found = 0;
        for (int i = 0; i < m; i++) {
            if (!found && list[i]->d_name[0] != '.') {
                char cfg[PATH_MAX];
                snprintf(cfg, sizeof cfg, "%.2000s/%.200s/config.json", bases[b], list[i]->d_name);
                if (modex_file_exists(cfg)) {
                    snprintf(model, n, "%.2000s/%.200s", bases[b], list[i]->d_name);
                    snprintf(probe, n, "%.2000s/%.200s/probe.csv", bases[b], list[i]->d_name);
                    if (!modex_file_exists(probe)) snprintf(probe, n, "%.2000s/probe.csv", bases[b]); /* make sample */
                    if (!modex_file_exists(probe)) snprintf(probe, n, "assets/probes/english.csv");
                    found = 1;
                }
            }
            free(list[i]);
        }
        free(list);
        if (found) return 0;
    }
    return -1;
}

int modex_session_default_paths(char *model, char *probe, size_t n) {
    if (find_sample(model, probe, n) == 0) return 0;
    if (modex_path_is_dir("../shared/fixtures/probe-e2e/model") && modex_file_exists("assets/probes/english.csv")) {
        snprintf(model, n, "../shared/fixtures/probe-e2e/model");
        snprintf(probe, n, "assets/probes/english.csv");
        return 1;
    }
    return -1;
}

// --- open / close -------------------------------------------------------------------------------
static void free_inputs(Session *s) {
    drop_perturb(s, 1);
    drop_analysis(s, 1);
    modex_perturber_free(s->pt); s->pt = NULL;
    modex_mask_free(&s->mask);
    modex_tok_free(s->tok); s->tok = NULL;
    modex_model_free(s->model); s->model = NULL;
    modex_probe_free(&s->probe);
    memset(&s->probe, 0, sizeof s->probe);
    free(s->model_path); free(s->probe_path); free(s->tok_path);
    s->model_path = s->probe_path = s->tok_path = NULL;
    for (int v = 0; v < VIEW_COUNT; v++) {
        modex_table_free(&s->tab[v]); /* before the base it borrows from */
        modex_table_free(&s->base[v]);
        s->base_key[v] = -1;
    }
}

/* Loads into a fresh set, then swaps: a failed `open` keeps what was open. */
static int load(Session *s, const char *model_path, const char *probe_path, const char *tok_path, Error *err) {
    Probe p;
    memset(&p, 0, sizeof p);
    if (modex_probe_load(&p, probe_path, err)) return -1;
    Model *m = modex_model_open(model_path, err);
    if (!m) { modex_probe_free(&p); return -1; }
    Tokenizer *t = modex_tok_load(tok_path ? tok_path : model_path, err);
    if (!t) { modex_model_free(m); modex_probe_free(&p); return -1; }
    if (!s->q) s->q = modex_jobs_new();
    free_inputs(s);
    s->model = m; s->tok = t; s->probe = p;
    s->model_path = modex_xstrdup(model_path);
    s->probe_path = modex_xstrdup(probe_path);
    s->tok_path = tok_path ? modex_xstrdup(tok_path) : NULL;
    modex_mask_init(&s->mask, m);
    s->layer = 0;
    s->only_expert = -1;
    for (int v = 0; v < VIEW_COUNT; v++) {
        memset(&s->vs[v], 0, sizeof s->vs[v]);
        s->vs[v].sort_col = -1;
    }
    start_analysis(s);
    return 0;
}

int modex_session_open(Session *s, const SessionOpts *o, Error *err) {
    memset(s, 0, sizeof *s);
    s->o = *o;
    s->o.analysis.layers = NULL; /* the explorer analyses every layer */
    s->page_rows = 20;
    s->view = s->prev_view = VIEW_LAYERS;
    for (int v = 0; v < VIEW_COUNT; v++) s->base_key[v] = -1;
    if (load(s, o->model_path, o->probe_path, o->tok_path, err)) {
        modex_jobs_free(s->q);
        s->q = NULL;
        return -1;
    }
    return 0;
}

int modex_session_reopen(Session *s, const char *model_path, const char *probe_path, Error *err) {
    char *mp = modex_xstrdup(model_path), *pp = modex_xstrdup(probe_path);
    /* a new model: its own tokenizer; a new probe set only: keep the tokenizer path */
    const char *tp = !strcmp(mp, s->model_path) ? s->tok_path : NULL;
    char *tpc = tp ? modex_xstrdup(tp) : NULL;
    int rc = load(s, mp, pp, tpc, err);
    free(mp); free(pp); free(tpc);
    s->gen++;
    return rc;
}

void modex_session_restart_analysis(Session *s) { start_analysis(s); }

void modex_session_close(Session *s) {
    free_inputs(s);
    if (s->q) modex_jobs_free(s->q);
    s->q = NULL;
}

// --- masks ----------------------------------------------------------------------------------------
void modex_session_mask_changed(Session *s) {
    s->mask_gen++; /* the tables patch their mask columns */
    s->perturb_wanted = 1;
    s->t_toggle = modex_now();
    s->t_updated = 0;
}
