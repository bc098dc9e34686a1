/* perturb.h — interventions on FFN neurons (method.md §6): zero, mean-replace or shuffle a
 * set of neurons and measure each sub-function before and after, against a random baseline.
 *
 * Metrics (one primary value per sub-function, `kind`):
 *   0 accuracy  causal LM, the sub-function has rows with an `answer`: over those rows (any
 *               label), the share where the model's argmax at the context's last token equals
 *               the answer's first token. Context: when the text ends with the row's span
 *               (only punctuation and blanks after it: a statement such as "The capital of
 *               France is Paris." with span "Paris"), the text before the span, trailing
 *               blanks dropped when the answer starts with a blank ("The capital of France
 *               is" + " Paris"); otherwise (a prompt such as "Q: ... A:") the whole text. Answer token rule: encode(context + answer) (answer appended
 *               byte-exact, so write " Paris" when a space belongs before it); when the
 *               context's own tokens are a prefix of it, the answer's first token is the next
 *               one; when the context's last token merges with the answer, encode(answer)
 *               alone gives it.
 *   1 loss      causal LM otherwise: mean next-token cross-entropy (nats) over every
 *               predicted token of the sub-function's positive texts (label 1; all its texts
 *               if it has none), token-weighted.
 *   2 rel. change  encoders: mean over those texts' tokens of |h' - h| / |h| of the final
 *               hidden state (0 on the clean run).
 * `loss` holds the LM loss for every sub-function of a causal LM (NaN for encoders), so a
 * caller can report both accuracy and loss.
 *
 * Reuse: the clean run caches the hidden state entering each layer (per batch; batches are
 * fixed, texts with a common prefix together), so an evaluation whose first masked layer is L starts at L. Results
 * are bitwise equal to running from the embeddings (tests/test_perturb.c). */
#ifndef MODEX_PERTURB_H
#define MODEX_PERTURB_H
#include <stddef.h>
#include "modex/error.h"
#include "modex/model.h"
#include "modex/probe.h"
#include "modex/tokenizer.h"

typedef enum PerturbMode { PERTURB_ZERO, PERTURB_MEAN, PERTURB_SHUFFLE } PerturbMode;
const char *modex_perturb_mode_name(PerturbMode m);
int modex_perturb_mode_parse(const char *s, PerturbMode *m); /* 0 ok, -1 unknown */

// --- masks ------------------------------------------------------------------------------------
typedef struct PerturbMask {
    int n_layer, width;     /* width = modex_ffn_width(model) */
    unsigned char *on;      /* [n_layer * width], 1 = intervene on that neuron */
} PerturbMask;

void modex_mask_init(PerturbMask *k, const Model *m);     /* all off */
void modex_mask_free(PerturbMask *k);
void modex_mask_copy(PerturbMask *dst, const PerturbMask *src);
void modex_mask_clear(PerturbMask *k);
/* Sets (on = 1) or clears every neuron j of `layer` with assign[j] == expert. */
void modex_mask_set_expert(PerturbMask *k, int layer, const int *assign, int expert, int on);
int  modex_mask_count(const PerturbMask *k);
int  modex_mask_layer_count(const PerturbMask *k, int layer);
int  modex_mask_first_layer(const PerturbMask *k); /* -1 if empty */
/* Experts of `layer` the mask covers completely, when its neurons there are exactly a union
 * of whole experts of assign (E experts); else -1. 0 for an empty layer. */
int  modex_mask_layer_experts(const PerturbMask *k, int layer, const int *assign, int E);

// --- the perturber ----------------------------------------------------------------------------
typedef struct Perturber Perturber; /* one per (model, tokenizer, probe): caches the clean run */

/* Tokenises the probe and plans the batches (cheap); the clean run happens on first use.
 * Errors: a text too long for the model, a text without tokens, an answer without tokens. */
Perturber *modex_perturber_new(const Model *m, const Tokenizer *t, const Probe *p, Error *err);
void modex_perturber_free(Perturber *pt);
/* Memory allowed for the cached hidden states (default 1 GiB): when all layers do not fit,
 * every s-th layer is cached and an evaluation resumes from the nearest one below. Call
 * before the clean run. */
void modex_perturber_set_cache_bytes(Perturber *pt, size_t bytes);
/* reuse = 0: every evaluation runs from the embeddings (benchmarks, tests). */
void modex_perturber_set_reuse(Perturber *pt, int reuse);
/* all = 1: accuracy asks for every token of the answer, teacher forced: text + answer is run
 * as one more sequence and the argmax at each answer position must be that answer token
 * (answers of one token: the same as the first-token rule). Default 0: the first token.
 * Changing it redoes the clean run. */
void modex_perturber_set_answer_all(Perturber *pt, int all);
/* Tokens per forward batch (default 2048); call before the clean run. */
void modex_perturber_set_batch_tokens(Perturber *pt, int tokens);
int  modex_perturber_n_tokens(const Perturber *pt);
/* Mean activation of every neuron over all probe tokens in the clean run ([n_layer * width]),
 * NULL before the clean run. */
const float *modex_perturber_means(const Perturber *pt);

typedef struct PerturbResult {
    int n_subs;
    double *value;  /* [n_subs] metric per sub-function */
    int *kind;      /* [n_subs] 0 accuracy, 1 mean LM loss, 2 mean relative change (encoders) */
    double *loss;   /* [n_subs] LM loss (causal LMs; NaN for encoders) */
    int *n;         /* [n_subs] rows (accuracy) or tokens (loss, change) behind value */
} PerturbResult;
void modex_perturb_result_free(PerturbResult *r);
const char *modex_perturb_metric_name(int kind); /* "accuracy", "loss", "rel_change" */

/* cancelled(ctx) (may be NULL) is polled between batches; return 0, -1 error, 1 cancelled.
 * Thread-safe to call from a job worker (the clean run is made once, under a lock). */
int modex_perturber_clean(Perturber *pt, PerturbResult *out, int (*cancelled)(void *), void *ctx, Error *err);
/* seed: the shuffle permutation (per batch and layer: derived from seed, batch, layer). */
int modex_perturber_eval(Perturber *pt, const PerturbMask *mask, PerturbMode mode, unsigned long long seed,
                         PerturbResult *out, int (*cancelled)(void *), void *ctx, Error *err);
/* The final hidden state of every token, texts in probe order concatenated ([n_tokens x D],
 * after the final norm), under a mask (NULL: clean). For tests. */
int modex_perturber_hidden(Perturber *pt, const PerturbMask *mask, PerturbMode mode, unsigned long long seed,
                           float *out, Error *err);

/* A custom intervention (routing, §8): ffn(ctx, layer, act, T, width) may change the FFN
 * activation in place (non-zero aborts); ffn_in sees each layer's FFN input first. Batches run
 * in a fixed order, one at a time. model: run this model instead (same shapes and weights
 * below first_layer, e.g. a copy with another MoE top_k); NULL = the perturber's. The run
 * resumes from the cached state at the nearest cached layer <= first_layer. */
typedef struct PerturbHook {
    void *ctx;
    int first_layer;
    const Model *model;
    int (*ffn)(void *ctx, int layer, float *act, int T, int width);
    void (*ffn_in)(void *ctx, int layer, const float *x, int T, int D);
} PerturbHook;
int modex_perturber_eval_hook(Perturber *pt, const PerturbHook *h, PerturbResult *out, int (*cancelled)(void *),
                              void *ctx, Error *err);
int modex_perturber_hidden_hook(Perturber *pt, const PerturbHook *h, float *out, Error *err);

/* Random baseline: `draws` random masks with, in each layer, as many random experts of
 * assign[layer] as `mask` covers there (when the mask's neurons there are whole experts of
 * assign[layer]; otherwise, or when assign or assign[layer] is NULL, as many random neurons)
 * → mean and sd (n-1; NaN when draws < 2) of `value` per sub-function. */
int modex_perturber_random(Perturber *pt, const PerturbMask *mask, const int *const *assign, int E, PerturbMode mode,
                           int draws, unsigned long long seed, double *mean, double *sd, int (*cancelled)(void *),
                           void *ctx, Error *err);
/* The same, also giving mean/sd of `loss` (mean_loss, sd_loss may be NULL); progress(ctx,
 * done, draws) after each draw (may be NULL). */
int modex_perturber_random_ex(Perturber *pt, const PerturbMask *mask, const int *const *assign, int E,
                              PerturbMode mode, int draws, unsigned long long seed, double *mean, double *sd,
                              double *mean_loss, double *sd_loss, int (*cancelled)(void *),
                              void (*progress)(void *, int, int), void *ctx, Error *err);
/* Draw d of the baseline alone (its random mask, and its own shuffle seed). */
int modex_perturber_random_draw(Perturber *pt, const PerturbMask *mask, const int *const *assign, int E, PerturbMode mode,
                                unsigned long long seed, int d, PerturbResult *out, int (*cancelled)(void *), void *ctx,
                                Error *err);
/* The random mask of draw d (as modex_perturber_random draws it), into out (initialised). */
void modex_perturb_random_mask(const PerturbMask *mask, const int *const *assign, int E, unsigned long long seed,
                               int d, PerturbMask *out);

// --- selection (method.md §6) --------------------------------------------------------------------
struct Analysis;
typedef enum SelectKind { SELECT_AP, SELECT_AP_AVG, SELECT_EXPERTS, SELECT_RANDOM } SelectKind;
typedef struct PerturbSelect {
    SelectKind kind;
    int target;             /* sub-function (SELECT_AP) or function index, -1 for random */
    double fraction;        /* of each layer's neurons (experts for SELECT_EXPERTS), when count <= 0 */
    int count;              /* per layer: neurons, or experts for SELECT_EXPERTS */
    const unsigned char *layers; /* [n_layer] 1 = select there; NULL = all */
    unsigned long long seed;/* SELECT_RANDOM */
} PerturbSelect;
/* Parses "ap:SUB", "ap_avg:FUNCTION", "experts:FUNCTION" or "random" against the probe;
 * 0 ok, -1 with err ("--select" as the file). */
int modex_perturb_select_parse(PerturbSelect *s, const char *spec, const struct Probe *p, Error *err);
/* Fills out (initialised) from the analysis: per selected layer the top neurons by the
 * sub-function's predictivity (ap), by its mean over the function's sub-functions (ap_avg),
 * whole experts ranked by the sum over their neurons of the predictivity summed over the
 * function's sub-functions (experts), or random neurons. Ties: lower index first; NaN last.
 * The analysis must cover the selected layers (random needs none: a may be NULL). Returns the
 * number of units (neurons, or experts) selected per layer, or -1 with err. */
int modex_perturb_select(const PerturbSelect *s, const struct Analysis *a, const Model *m, PerturbMask *out, Error *err);

// --- as a job (explorer) ----------------------------------------------------------------------
/* Published after the clean run, after the masked run and after each random draw; fields
 * are NaN until known. The snapshot owns its arrays. */
typedef struct PerturbSnap {
    int n_subs;
    int *kind;                 /* [n_subs] */
    double *clean, *masked;    /* [n_subs] value before / after */
    double *rand_mean, *rand_sd; /* [n_subs] over the draws done so far */
    double *clean_loss, *masked_loss; /* [n_subs] (NaN for encoders) */
    int draws_done, draws;
    int finished;
    PerturbMode mode;
    int n_masked;              /* neurons masked */
} PerturbSnap;

struct JobQueue;
struct Job;
/* Queues clean → masked → `draws` random draws. mask and assign ([n_layer] arrays of
 * [width], entries may be NULL) are copied; pt must outlive the job and its snapshots. */
struct Job *modex_perturb_submit(struct JobQueue *q, Perturber *pt, const PerturbMask *mask, PerturbMode mode,
                                 const int *const *assign, int E, int draws, unsigned long long seed);

#endif
