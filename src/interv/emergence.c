/* emergence.c — Spearman between consecutive checkpoints of neuron and expert AP vectors,
 * random-partition baseline, stabilisation step (emergence.h). */
#include "modex/emergence.h"
#include "modex/experts.h"
#include "modex/forward.h"
#include "modex/rng.h"
#include "modex/stats.h"
#include "modex/util.h"
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void modex_emergence_defaults(EmergenceOpts *o) {
    memset(o, 0, sizeof *o);
    modex_analysis_defaults(&o->ao);
    o->ao.shuffles = 0; /* the functional-expert baseline is not used here */
    o->shuffles = 20;
    o->threshold = 0.9;
}

// --- checkpoint list -------------------------------------------------------------------------

/* The last run of digits in a name, or -1. */
static long name_step(const char *s) {
    long v = -1;
    for (const char *q = s; *q;) {
        if (isdigit((unsigned char)*q)) {
            v = strtol(q, (char **)&q, 10);
        } else q++;
    }
    return v;
}

static int is_model(const char *path) {
    size_t n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".gguf")) return 1;
    char *c = modex_path_join(path, "config.json");
    int ok = modex_file_exists(c);
    free(c);
    return ok;
}

typedef struct Entry { char *name; long step; } Entry;
static int cmp_entry(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    return strcmp(x->name, y->name);
}

int modex_emergence_list(const char *const *args, int n, char ***paths_out, long **steps_out, Error *err) {
    char **paths;
    long *steps;
    int k = 0;
    if (n == 1 && modex_path_is_dir(args[0]) && !is_model(args[0])) {
        DIR *d = opendir(args[0]);
        if (!d) return modex_error(err, args[0], "cannot read the folder (a folder of checkpoints)");
        Entry *e = NULL;
        int cap = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            char *p = modex_path_join(args[0], de->d_name);
            if (!modex_path_is_dir(p) && !is_model(p)) { free(p); continue; }
            if (k == cap) { cap = cap ? 2 * cap : 16; e = modex_xrealloc(e, sizeof(Entry) * (size_t)cap); }
            e[k].name = p;
            e[k].step = name_step(de->d_name);
            k++;
        }
        closedir(d);
        if (k < 2) {
            for (int i = 0; i < k; i++) free(e[i].name);
            free(e);
            return modex_error(err, args[0], "%d checkpoint folder(s) inside (at least two)", k);
        }
        qsort(e, (size_t)k, sizeof(Entry), cmp_entry);
        paths = modex_xmalloc(sizeof(char *) * (size_t)k);
        steps = modex_xmalloc(sizeof(long) * (size_t)k);
        int all_steps = 1;
        for (int i = 0; i < k; i++) all_steps &= e[i].step >= 0;
        for (int i = 0; i < k; i++) { paths[i] = e[i].name; steps[i] = all_steps ? e[i].step : i; }
        free(e);
    } else {
        if (n < 2) return modex_error(err, n ? args[0] : "emergence", "one checkpoint (two or more, or a folder of them)");
        paths = modex_xmalloc(sizeof(char *) * (size_t)n);
        steps = modex_xmalloc(sizeof(long) * (size_t)n);
        int all_steps = 1;
        for (int i = 0; i < n; i++) {
            const char *b = strrchr(args[i], '/');
            all_steps &= name_step(b && b[1] ? b + 1 : args[i]) >= 0;
        }
        for (int i = 0; i < n; i++) {
            paths[i] = modex_xstrdup(args[i]);
            const char *b = strrchr(args[i], '/');
            steps[i] = all_steps ? name_step(b && b[1] ? b + 1 : args[i]) : i;
        }
        k = n;
    }
    *paths_out = paths;
    *steps_out = steps;
    return k;
}

void modex_emergence_list_free(char **paths, int n) {
    if (!paths) return;
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

// --- rho -------------------------------------------------------------------------------------

void modex_emergence_rho(const float *a, const float *b, int W, const int *assign, int E, int shuffles,
                         unsigned long long seed, double *rho_n, double *rho_e, double *rho_r) {
    double *x = modex_xmalloc(sizeof(double) * (size_t)(2 * W + 2 * E + 2)), *y = x + W, *ea = y + W, *eb = ea + E;
    for (int j = 0; j < W; j++) { x[j] = a[j]; y[j] = b[j]; }
    *rho_n = modex_spearman(x, y, W);
    modex_expert_mean(a, assign, W, E, ea);
    modex_expert_mean(b, assign, W, E, eb);
    *rho_e = modex_spearman(ea, eb, E);
    /* random equal partitions: a seeded permutation cut into E consecutive groups */
    int *perm = modex_xmalloc(sizeof(int) * (size_t)W), *ra = modex_xmalloc(sizeof(int) * (size_t)W);
    Rng r;
    modex_rng_seed(&r, seed);
    double s = 0;
    int k = 0;
    for (int q = 0; q < shuffles; q++) {
        for (int j = 0; j < W; j++) perm[j] = j;
        modex_rng_shuffle_int(&r, perm, W);
        for (int i = 0; i < W; i++) ra[perm[i]] = (int)((long)i * E / W);
        modex_expert_mean(a, ra, W, E, ea);
        modex_expert_mean(b, ra, W, E, eb);
        double v = modex_spearman(ea, eb, E);
        if (!isnan(v)) { s += v; k++; }
    }
    *rho_r = k ? s / k : NAN;
    free(perm); free(ra); free(x);
}

// --- the run -----------------------------------------------------------------------------------

void modex_emergence_free(EmergenceResult *r) {
    if (!r) return;
    free(r->step); free(r->layer_on); free(r->rho_n); free(r->rho_e); free(r->rho_r);
    memset(r, 0, sizeof *r);
}

/* AP of every analysed layer: [L] -> [n_subs x W] copies (NULL where not analysed); the
 * partition too when assign is given. */
static int analyse(const char *path, const Tokenizer *t, const Probe *p, const EmergenceOpts *o, const EmergenceProgress *pr,
                   float **pred, int **assign, int *E, int *L_out, int *W_out, Error *err) {
    Model *m = modex_model_open(path, err);
    if (!m) return -1;
    Tokenizer *own = NULL;
    if (!t) { own = modex_tok_load(path, err); if (!own) { modex_model_free(m); return -1; } t = own; }
    int L = m->cfg.n_layer, W = modex_ffn_width(m);
    if (*L_out >= 0 && (L != *L_out || W != *W_out)) {
        modex_tok_free(own);
        modex_model_free(m);
        return modex_error(err, path, "%d layers of %d neurons (the other checkpoints have %d of %d)", L, W, *L_out, *W_out);
    }
    *L_out = L; *W_out = W;
    Analysis a;
    AnalysisProgress ap = {pr ? pr->ctx : NULL, pr ? pr->cancelled : NULL, NULL, pr ? pr->progress : NULL, NULL};
    int rc = modex_analysis_run(&a, m, t, p, &o->ao, &ap, err);
    for (int l = 0; l < L && !rc; l++) {
        const LayerResult *R = &a.layers[l];
        if (!R->pred) continue;
        pred[l] = modex_xmalloc(sizeof(float) * (size_t)p->n_subs * W);
        memcpy(pred[l], R->pred, sizeof(float) * (size_t)p->n_subs * W);
        if (assign && R->assign) {
            assign[l] = modex_xmalloc(sizeof(int) * (size_t)W);
            memcpy(assign[l], R->assign, sizeof(int) * (size_t)W);
            *E = R->E;
        }
    }
    modex_analysis_free(&a);
    modex_tok_free(own);
    modex_model_free(m);
    return rc;
}

int modex_emergence_run(char *const *paths, const long *steps, int n, const Tokenizer *t, const Probe *p,
                        const EmergenceOpts *o, const EmergenceProgress *pr, EmergenceResult *out, Error *err) {
    memset(out, 0, sizeof *out);
    if (n < 2) return modex_error(err, "emergence", "%d checkpoint(s) (at least two)", n);
    int L = -1, W = -1, E = 0, ns = p->n_subs, rc = 0;
    float ***pred = modex_xcalloc((size_t)n, sizeof(float **));
    int **assign = NULL;
    /* the last checkpoint first: its partition is the fixed one */
    for (int k = 0; k < n && !rc; k++) {
        int i = k == 0 ? n - 1 : k - 1;
        if (pr && pr->stage) pr->stage(pr->ctx, "checkpoint", k + 1, n);
        if (pr && pr->cancelled && pr->cancelled(pr->ctx)) { rc = 1; break; }
        int Lmax = L > 0 ? L : 4096;
        pred[i] = modex_xcalloc((size_t)Lmax, sizeof(float *));
        if (k == 0) assign = modex_xcalloc((size_t)Lmax, sizeof(int *));
        rc = analyse(paths[i], t, p, o, pr, pred[i], k == 0 ? assign : NULL, &E, &L, &W, err);
    }
    if (!rc) {
        out->n_ckpt = n; out->n_layer = L; out->n_subs = ns;
        out->step = modex_xmalloc(sizeof(long) * (size_t)n);
        memcpy(out->step, steps, sizeof(long) * (size_t)n);
        out->layer_on = modex_xcalloc((size_t)L, 1);
        size_t N = (size_t)(n - 1) * L * ns;
        out->rho_n = modex_xmalloc(sizeof(double) * (N + 1));
        out->rho_e = modex_xmalloc(sizeof(double) * (N + 1));
        out->rho_r = modex_xmalloc(sizeof(double) * (N + 1));
        for (size_t q = 0; q < N; q++) out->rho_n[q] = out->rho_e[q] = out->rho_r[q] = NAN;
        for (int l = 0; l < L; l++) {
            out->layer_on[l] = pred[n - 1][l] != NULL;
            if (!out->layer_on[l]) continue;
            for (int i = 0; i + 1 < n; i++)
                for (int s = 0; s < ns; s++) {
                    size_t q = ((size_t)i * L + l) * ns + s;
                    modex_emergence_rho(pred[i][l] + (size_t)s * W, pred[i + 1][l] + (size_t)s * W, W, assign[l], E, o->shuffles,
                                        o->seed + (unsigned long long)(l * 1000 + s), &out->rho_n[q], &out->rho_e[q], &out->rho_r[q]);
                }
        }
    }
    int Lf = L > 0 ? L : 0;
    for (int i = 0; i < n; i++) {
        if (!pred[i]) continue;
        for (int l = 0; l < Lf; l++) free(pred[i][l]);
        free(pred[i]);
    }
    free(pred);
    if (assign) { for (int l = 0; l < Lf; l++) free(assign[l]); free(assign); }
    return rc;
}

double modex_emergence_mean(const EmergenceResult *r, const Probe *p, int f, int measure, int pair) {
    const double *v = measure == 0 ? r->rho_n : measure == 1 ? r->rho_e : r->rho_r;
    double tot = 0;
    int nl = 0;
    for (int l = 0; l < r->n_layer; l++) {
        if (!r->layer_on[l]) continue;
        double s = 0;
        int k = 0;
        for (int q = 0; q < r->n_subs; q++) {
            if (f >= 0 && p->subs[q].function != f) continue;
            double x = v[((size_t)pair * r->n_layer + l) * r->n_subs + q];
            if (!isnan(x)) { s += x; k++; }
        }
        if (k) { tot += s / k; nl++; }
    }
    return nl ? tot / nl : NAN;
}

long modex_emergence_stable(const EmergenceResult *r, const Probe *p, int f, int measure, double threshold) {
    int first = -1;
    for (int i = r->n_ckpt - 2; i >= 0; i--) {
        double m = modex_emergence_mean(r, p, f, measure, i);
        if (!(m >= threshold)) break;
        first = i;
    }
    return first < 0 ? -1 : r->step[first];
}
