/* train.h — the sample-model trainer: a synthetic multi-task corpus with probe sets, a
 * byte-level BPE trainer that writes Hugging Face tokenizer.json, and a GPT-2 (ReLU FFN)
 * trainer in C on OpenBLAS that saves Hugging Face folders. */
#ifndef MODEX_TRAIN_H
#define MODEX_TRAIN_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "modex/error.h"

// --- corpus ---------------------------------------------------------------------------
/* Writes n_lines of English text, one document per line, whose sub-functions are known by
 * construction (see corpus.c); probe_path (may be NULL) gets a held-out probe CSV
 * (text,function,subfunction,label,span,answer) of per_sub rows per sub-function.
 * Same seed -> same bytes. */
int modex_corpus_write(const char *path, const char *probe_path, uint64_t seed, long n_lines,
                       int per_sub, int force, Error *err);

// --- byte-level BPE -------------------------------------------------------------------
typedef struct BpeTokenizer {
    int vocab_size;      /* tokens: 0 = <|endoftext|>, 1..256 = bytes, then merges */
    char **tokens;       /* [vocab_size] token strings in GPT-2's byte-to-unicode alphabet */
    int n_merges;
    int32_t (*merges)[3]; /* [n_merges] (left id, right id, merged id), in rank order */
} BpeTokenizer;

/* Learns merges on text (GPT-2 pre-tokenizer regex, byte-level) until vocab_size tokens. */
int  modex_bpe_train(BpeTokenizer *tok, const char *text, size_t len, int vocab_size,
                     const char *name_for_errors, Error *err);
void modex_bpe_free(BpeTokenizer *tok);
/* Writes a Hugging Face tokenizer.json (BPE, ByteLevel pre-tokenizer and decoder). */
int  modex_bpe_save_json(const BpeTokenizer *tok, const char *path, int force, Error *err);
/* Reads a byte-level BPE tokenizer.json back (merges as "a b" strings or [a, b] pairs). */
int  modex_bpe_load_json(BpeTokenizer *tok, const char *path, Error *err);
/* Encodes text (no special tokens added); returns the number of ids, or -1. *ids malloc'd. */
long modex_bpe_encode(const BpeTokenizer *tok, const char *text, size_t len, int32_t **ids,
                      Error *err);

// --- GPT-2 (ReLU FFN) model maths ----------------------------------------------------------
typedef struct Gpt2Dims { int V, maxT, L, C, NH, F; } Gpt2Dims; /* vocab, n_positions, layers,
                                                                   d_model, heads, d_ff */
/* Parameter tensors, stacked over layers, Conv1D weights [in, out] as Hugging Face stores them. */
enum { P_WTE, P_WPE, P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPW, P_ATTPB, P_LN2W, P_LN2B,
       P_FCW, P_FCB, P_FCPW, P_FCPB, P_LNFW, P_LNFB, N_PARAM };
/* off[i] = first element of tensor i in the flat parameter array; off[N_PARAM] = total. */
void   modex_gpt2_offsets(const Gpt2Dims *d, size_t off[N_PARAM + 1]);
const char *modex_gpt2_param_name(int i);  /* e.g. "attn.c_attn.weight" */
/* GPT-2 initialisation: N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)), norms 1, biases 0. */
void   modex_gpt2_init(const Gpt2Dims *d, float *params, uint64_t seed);
/* Mean next-token cross-entropy of inputs/targets (B, T); grads (may be NULL) get its gradient.
 * The double version exists for finite-difference checks. */
double modex_gpt2_loss_grad_f32(const Gpt2Dims *d, const float *params, const int32_t *inputs,
                                const int32_t *targets, int B, int T, float *grads);
double modex_gpt2_loss_grad_f64(const Gpt2Dims *d, const double *params, const int32_t *inputs,
                                const int32_t *targets, int B, int T, double *grads);
/* Logits (T, V) of one sequence (out may be NULL); ffn (may be NULL) gets the FFN hidden
 * activations after ReLU, the input of mlp.c_proj, (L, T, F). */
void   modex_gpt2_logits_f32(const Gpt2Dims *d, const float *params, const int32_t *ids, int T,
                             float *out, float *ffn);
/* A Hugging Face folder: config.json + model.safetensors (F32, or BF16 when bf16) [+ tokenizer.json
 * copied from tokenizer_json when not NULL]. The folder is created if missing. */
int    modex_gpt2_save(const char *dir, const Gpt2Dims *d, const float *params, int bf16,
                       const char *tokenizer_json, int force, Error *err);
/* Reads a folder written by modex_gpt2_save (or transformers' GPT-2 with tied embeddings). */
int    modex_gpt2_load(const char *dir, Gpt2Dims *d, float **params, Error *err);

// --- GPT-2 trainer --------------------------------------------------------------------
typedef struct TrainOptions {
    const char *corpus, *out_dir;
    const char *init_dir; /* NULL, or a saved folder to continue from (its tokenizer and shape;
                             the optimiser starts afresh) */
    int layers, d_model, d_ff, n_head, vocab, ctx;
    int steps, batch, warmup, ckpt_every, threads;
    double lr, min_lr_frac, weight_decay, grad_clip;
    uint64_t seed;
    int force, quiet;
} TrainOptions;

void modex_train_defaults(TrainOptions *o);
/* Trains tokenizer + model and writes DIR (config.json, model.safetensors, tokenizer.json,
 * train_log.csv) and DIR/checkpoints/step-NNNNNN. Returns 0, -1 on error, 1 if stopped by
 * SIGINT (a checkpoint of the last step is saved). */
int modex_train_run(const TrainOptions *o, Error *err);

/* Logits [n, vocab] of the trainer's own forward on a saved folder (for cross-checks). */
int modex_train_logits(const char *model_dir, const int32_t *ids, int n, float *out,
                       Error *err);

#endif
