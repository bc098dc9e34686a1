/* emergence.h — modular structure across the checkpoints of one training run (method.md §7):
 * Spearman's rho between consecutive checkpoints of each sub-function's neuron-level AP vector
 * and of its expert-level mean-AP vector (partition of each layer fixed from the LAST
 * checkpoint), with random equal partitions as the baseline; the stabilisation step is the
 * first checkpoint from which rho stays at or above a threshold. */
#ifndef MODEX_EMERGENCE_H
#define MODEX_EMERGENCE_H
#include "modex/analysis.h"

/* Checkpoint list: several paths are taken in the given order; one folder that is not itself
 * a model (no config.json, not a .gguf) stands for its sub-folders sorted by the step number in
 * their names (the last run of digits; names without digits after, by name). steps[i] = that
 * number, or i when a name has no digits. Returns the count, or -1 with err. */
int modex_emergence_list(const char *const *args, int n, char ***paths, long **steps, Error *err);
void modex_emergence_list_free(char **paths, int n);

/* rho between two AP vectors of one layer and sub-function (width W):
 * rho_n over neurons; rho_e over the E expert means of assign; rho_r the mean over `shuffles`
 * seeded random equal partitions (sizes differ by at most one) of the same. NaN where a vector
 * is constant or holds NaN. */
void modex_emergence_rho(const float *ap_a, const float *ap_b, int W, const int *assign, int E, int shuffles,
                         unsigned long long seed, double *rho_n, double *rho_e, double *rho_r);

typedef struct EmergenceOpts {
    AnalysisOpts ao;        /* analysis of each checkpoint (experts, aggregation, layers) */
    int shuffles;           /* random partitions (default 20) */
    unsigned long long seed;
    double threshold;       /* stabilisation (default 0.9) */
} EmergenceOpts;
void modex_emergence_defaults(EmergenceOpts *o);

typedef struct EmergenceResult {
    int n_ckpt, n_layer, n_subs;
    long *step;             /* [n_ckpt] */
    unsigned char *layer_on;/* [n_layer] */
    /* [(n_ckpt - 1) x n_layer x n_subs]: pair (i, i+1) */
    double *rho_n, *rho_e, *rho_r;
} EmergenceResult;

typedef struct EmergenceProgress {
    void *ctx;
    int  (*cancelled)(void *ctx);
    void (*stage)(void *ctx, const char *name, int index, int count);
    void (*progress)(void *ctx, double fraction);
} EmergenceProgress;

/* Analyses every checkpoint (tokenizer: t, or each checkpoint's own when t is NULL) and fills
 * out. 0, -1 error, 1 cancelled; free out in every case. Checkpoints must share the shapes. */
int  modex_emergence_run(char *const *paths, const long *steps, int n, const Tokenizer *t, const Probe *p,
                         const EmergenceOpts *o, const EmergenceProgress *pr, EmergenceResult *out, Error *err);
void modex_emergence_free(EmergenceResult *r);
/* Mean over sub-functions (of function f, or all when f < 0) then layers, of measure
 * 0 rho_n, 1 rho_e, 2 rho_r, for pair i; NaN values are left out. */
double modex_emergence_mean(const EmergenceResult *r, const Probe *p, int f, int measure, int pair);
/* Step of the first checkpoint from which the mean stays >= threshold (-1 never). */
long modex_emergence_stable(const EmergenceResult *r, const Probe *p, int f, int measure, double threshold);
#endif
