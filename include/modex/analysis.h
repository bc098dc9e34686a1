/* analysis.h — from a model and a probe set to per-neuron predictivity, experts, functional
 * experts and heatmaps (method.md §1–5). Runs anywhere (a job's worker thread or the CLI);
 * reports progress and checks cancellation through callbacks. */
#ifndef MODEX_ANALYSIS_H
#define MODEX_ANALYSIS_H
#include <stddef.h>
#include <stdint.h>
#include "modex/error.h"
#include "modex/experts.h"
#include "modex/model.h"
#include "modex/probe.h"
#include "modex/tokenizer.h"

typedef enum Aggregation { AGG_MAX, AGG_MEAN, AGG_LAST, AGG_SPAN } Aggregation;
typedef enum SplitKind { SPLIT_PARAM, SPLIT_COACT, SPLIT_NATIVE } SplitKind;

typedef struct AnalysisOpts {
    int n_experts;          /* experts per layer (0: from expert_size) */
    int expert_size;        /* neurons per expert (default 32) */
    SplitKind split;        /* native is forced for MoE models */
    Aggregation agg;
    const unsigned char *layers; /* [n_layer] 1 = analyse; NULL = all */
    int random_init;        /* also analyse a random-init copy (baseline) */
    unsigned long long random_seed;
    unsigned long long seed;/* k-means and random partitions */
    int shuffles;           /* random partitions for the baseline (default 200) */
    double alpha;           /* default 0.001 */
    int batch_tokens;       /* tokens per forward batch (default 2048) */
    int kmeans_iters;       /* default 50 */
} AnalysisOpts;

void modex_analysis_defaults(AnalysisOpts *o);
const char *modex_agg_name(Aggregation a);
const char *modex_split_name(SplitKind s);
int modex_agg_parse(const char *s, Aggregation *a);
int modex_split_parse(const char *s, SplitKind *k);

typedef struct LayerResult {
    int layer, width, E, done;  /* width = d_ff (MoE: experts * d_ff) */
    float *acts;            /* [n_units x width] example activations */
    float *pred;            /* [n_subs x width] predictivity */
    int *assign;            /* [width] expert of each neuron */
    FunctionalResult *fsub; /* [n_subs] */
    FunctionalResult *ffn;  /* [n_funcs] pooled function-level tests */
    float *heat, *heat_z;   /* [E x n_subs] mean activation on positives, z-scored per expert */
    float *best_sub;        /* [n_subs] best predictivity */
    double *best_fn;        /* [n_funcs] mean over the function's sub-functions of best_sub */
    double *rand_prop, *rand_mod; /* [n_funcs] random-partition baseline (pooled test) */
    double *rinit_best_fn;  /* [n_funcs] random-init baseline, NaN when not computed */
    float *rinit_best_sub;  /* [n_subs] */
    int *best_neuron_sub;   /* [width] argmax over sub-functions */
} LayerResult;

typedef struct Analysis {
    const Model *model;     /* not owned */
    const Probe *probe;     /* not owned */
    AnalysisOpts opts;
    int n_layer;
    LayerResult *layers;    /* [n_layer]; layers[l].done once final (then immutable) */
    int n_tokens;           /* total tokens run */
    int32_t **ids; int *n_ids;           /* per text */
    int *unit_begin, *unit_end;          /* token range of each unit within its text */
    double seconds;
} Analysis;

typedef struct AnalysisProgress {
    void *ctx;
    int  (*cancelled)(void *ctx);
    void (*stage)(void *ctx, const char *name, int index, int count);
    void (*progress)(void *ctx, double fraction);
    void (*layer_done)(void *ctx, const Analysis *a, int layer); /* after layers[layer].done = 1 */
} AnalysisProgress;

/* Bytes the activation store needs (reported before the job starts). */
size_t modex_analysis_store_bytes(const Model *m, const Probe *p, const AnalysisOpts *o);
/* 0 done, -1 error, 1 cancelled. a is filled (free with modex_analysis_free in every case). */
int  modex_analysis_run(Analysis *a, const Model *m, const Tokenizer *t, const Probe *p, const AnalysisOpts *o,
                        const AnalysisProgress *pr, Error *err);
void modex_analysis_free(Analysis *a);

/* Tokenises every text and maps units to token ranges (used by analysis and perturbation). */
int modex_probe_tokenize(const Tokenizer *t, const Probe *p, int32_t ***ids, int **n_ids, int **ubegin, int **uend,
                         Error *err);

/* The seven CSVs of `modex analyze` into dir, all or none; existing files refused unless force. */
int  modex_analysis_write(const Analysis *a, const char *dir, int force, Error *err);
/* the files modex_analysis_write writes into dir, in order */
#define MODEX_ANALYSIS_N_FILES 7
extern const char *const modex_analysis_files[MODEX_ANALYSIS_N_FILES];

// --- as a job ---------------------------------------------------------------------------
/* What the analysis job publishes: layers with done[l] are final and immutable. The
 * snapshot keeps the analysis alive (model, tokenizer and probe must outlive the job and
 * its snapshots: the owner cancels and waits before freeing them). */
struct AnalysisHolder;
typedef struct AnalysisSnap {
    struct AnalysisHolder *holder;
    const Analysis *a;
    unsigned char *done;   /* [n_layer] copy at publish time */
    int n_done, n_wanted;
    int finished;          /* the whole analysis is complete */
} AnalysisSnap;

struct JobQueue;
struct Job;
/* Queues an analysis; opts are copied (layers mask too). */
struct Job *modex_analysis_submit(struct JobQueue *q, const Model *m, const Tokenizer *t, const Probe *p,
                                  const AnalysisOpts *o);

#endif
