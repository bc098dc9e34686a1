/* forward.h — ids → activations: one batched forward over all tokens of all sequences. */
#ifndef MODEX_FORWARD_H
#define MODEX_FORWARD_H
#include <stdint.h>
#include "modex/model.h"

/* Sequences concatenated, no padding: sequence s is ids[start[s] .. start[s+1]). */
typedef struct Batch {
    int n_seq;
    const int32_t *ids;
    const int *start;   /* n_seq + 1 offsets */
} Batch;

/* Orders sequences i = 0..n-1 (ids[i], n_ids[i] tokens) so that those sharing a token prefix
 * are adjacent (lexicographic by ids; equal sequences by index): packed into batches in this
 * order, a shared prefix lands in one forward call, where identical rows give identical
 * activations (see modex_linear_forward). */
void modex_batch_order(int *order, int n, int32_t *const *ids, const int *n_ids);

typedef struct ForwardHooks {
    void *ctx;
    /* FFN hidden activation of `layer` (input of the down projection), act [T x width]
     * row-major; may be modified in place before the down projection. width = d_ff, or for
     * MoE layers n_experts * d_ff (expert-major; experts a token did not use are 0).
     * Return non-zero to abort the forward (e.g. cancelled). */
    int (*ffn)(void *ctx, int layer, float *act, int T, int width, const Batch *b);
    /* Hidden state index i: 0 = embedding output, i = output of layer i (the last one after
     * the final norm when the model has one). x [T x D]. */
    void (*hidden)(void *ctx, int index, const float *x, int T, int D, const Batch *b);
    /* MoE router logits [T x E] and the chosen experts [T x top_k]. */
    void (*router)(void *ctx, int layer, const float *logits, const int *chosen, int T, int E, int k);
} ForwardHooks;

enum { LOGITS_NONE = 0, LOGITS_ALL = 1, LOGITS_ROWS = 2 };

typedef struct ForwardOpts {
    int logits;                 /* LOGITS_*; encoders write last_hidden_state instead */
    const int *rows; int n_rows;/* LOGITS_ROWS: token indices whose logits are wanted */
    int start_layer;            /* resume at this layer with start_x [T x D] as its input */
    const float *start_x;
    int stop_layer;             /* run layers < stop_layer (0 = all); no logits when it stops early */
    const unsigned char *expert_mask; /* MoE: [n_layer * n_experts], 1 = route around it */
    float *save_x; int save_layer;    /* if save_x: copy the input of layer save_layer [T x D] there */
    /* Called with hooks->ctx on each layer's FFN input x [T x D] (after its norm) before the
     * FFN runs (EMoE gating scores x . g_e need it). Here, not in ForwardHooks, so that
     * positional ForwardHooks initialisers stay complete. */
    void (*ffn_in)(void *ctx, int layer, const float *x, int T, int D, const Batch *b);
} ForwardOpts;

/* out: logits [T or n_rows, vocab] for causal LMs (when opts->logits), or last_hidden_state
 * [T, D] for encoders; may be NULL when nothing is wanted. 0 ok, -1 error, 1 aborted by a hook. */
int modex_forward(const Model *m, const Batch *b, const ForwardOpts *opts, const ForwardHooks *hooks,
                  float *out, Error *err);

/* Width of layer l's FFN activation as the hook sees it. */
int modex_ffn_width(const Model *m);

/* Kernels (exposed for the trainer and the tests). */
void modex_linear_forward(float *y, const float *x, const Linear *l, int T);
void modex_norm_forward(float *y, const float *x, const Norm *n, NormKind kind, float eps, int T, int D);
void modex_activation(float *x, int64_t n, Activation a);
/* T5 relative position bucket (bidirectional), as transformers computes it in float32. */
int  modex_t5_bucket(int rel, int num_buckets, int max_distance);

#endif
